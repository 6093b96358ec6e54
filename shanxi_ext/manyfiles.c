/*
 * manyfiles.c -- load() of many files as one Dataset: a list or tuple of
 * paths, a directory or a glob pattern.  The package's paths() helper (see
 * _register) says which files, in which order.  Each file is opened as
 * load() opens one: a compressed file, or any file in an encoding other
 * than UTF-8, is fed through the package's chunks() (module.c's
 * feed_chunks) here, one after another; the core reads the plain UTF-8
 * ones in chunks with a reader of its own on its pool of threads and merges
 * them all (sx_table_read_many_fed), without the GIL but for a look for
 * signals every few milliseconds (Ctrl-C stops them all).  On Windows every
 * file goes through chunks(), whose io.open takes paths as Windows does.
 * The Dataset's source is the tuple of the paths; a ParseError's source is
 * the file it is in.
 */
#include "binding.h"

#include <errno.h>
#include <string.h>

/* The inputs of one load: per file its name in the file system's encoding,
 * its path as a str, its UTF-8 name for messages, and the builder it was
 * fed to when Python reads it. */
typedef struct {
    Py_ssize_t n;
    PyObject *encoded; /* tuple of bytes: the paths as the OS takes them */
    PyObject *sources; /* tuple of str: the Dataset's source */
    PyObject *names;   /* tuple of bytes: UTF-8 names for messages */
    const char **cnames;
    const char **cpaths; /* the encoded paths, for the core's readers */
    sx_builder **fed;    /* NULL, or the builder file i was fed to */
} many_inputs;

static void
many_free(many_inputs *m)
{
    for (Py_ssize_t i = 0; m->fed && i < m->n; i++) {
        sx_builder_free(m->fed[i]);
    }
    PyMem_Free(m->fed);
    PyMem_Free(m->cpaths);
    PyMem_Free(m->cnames);
    Py_XDECREF(m->encoded);
    Py_XDECREF(m->sources);
    Py_XDECREF(m->names);
}

/* The paths' three forms, from the list paths() gave; -1 on error. */
static int
many_names(many_inputs *m, PyObject *list)
{
    m->n = PyList_GET_SIZE(list);
    m->encoded = PyTuple_New(m->n);
    m->sources = PyTuple_New(m->n);
    m->names = PyTuple_New(m->n);
    m->cnames = PyMem_Calloc((size_t)m->n, sizeof *m->cnames);
    m->cpaths = PyMem_Calloc((size_t)m->n, sizeof *m->cpaths);
    /* an array of pointers: sizeof *p is meant */
    /* NOLINTNEXTLINE(bugprone-sizeof-expression) */
    m->fed = PyMem_Calloc((size_t)m->n, sizeof *m->fed);
    if (m->encoded == NULL || m->sources == NULL || m->names == NULL || m->cnames == NULL ||
        m->cpaths == NULL || m->fed == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_NoMemory();
        }
        return -1;
    }
    for (Py_ssize_t i = 0; i < m->n; i++) {
        PyObject *encoded = NULL;
        if (!PyUnicode_FSConverter(PyList_GET_ITEM(list, i), &encoded)) {
            return -1;
        }
        PyTuple_SET_ITEM(m->encoded, i, encoded);
        m->cpaths[i] = PyBytes_AS_STRING(encoded);
        PyObject *source = PyUnicode_DecodeFSDefault(PyBytes_AS_STRING(encoded));
        if (source == NULL) {
            return -1;
        }
        PyTuple_SET_ITEM(m->sources, i, source);
        /* as the Arrow export does: lone surrogates as backslash escapes */
        PyObject *name = PyUnicode_AsEncodedString(source, "utf-8", "backslashreplace");
        if (name == NULL) {
            return -1;
        }
        PyTuple_SET_ITEM(m->names, i, name);
        m->cnames[i] = PyBytes_AS_STRING(name);
    }
    return 0;
}

/* File i needs Python to read it: compressed, or not in UTF-8. */
static int
needs_python(const many_inputs *m, Py_ssize_t i, PyObject *encoding)
{
#ifdef _WIN32
    (void)m;
    (void)i;
    (void)encoding;
    return 1;
#else
    char head[8] = {0};
    return !is_utf8(encoding) ||
           looks_compressed(head, sx_file_peek(m->cpaths[i], head, sizeof head));
#endif
}

/* Feed the files that need Python, in order, each to a builder of its own
 * (a ParseError names its file); -1 on error. */
static int
many_feed(shanxi_state *st, many_inputs *m, PyObject *encoding)
{
    for (Py_ssize_t i = 0; i < m->n; i++) {
        if (!needs_python(m, i, encoding)) {
            continue;
        }
        if (sx_builder_new(NULL, &m->fed[i]) != SX_OK) {
            PyErr_NoMemory();
            return -1;
        }
        PyObject *source = PyTuple_GET_ITEM(m->sources, i);
        if (feed_chunks(st, m->fed[i], source, encoding, source, is_utf8(encoding)) < 0) {
            return -1;
        }
    }
    return 0;
}

/* sx_table_read_many's poll, on the calling thread, whose state is at ctx
 * while it runs without the GIL: Ctrl-C (or any signal whose handler
 * raises) stops the load of every file. */
static int
look_for_signals(void *ctx)
{
    PyThreadState **thread = ctx;
    PyEval_RestoreThread(*thread);
    int stop = PyErr_CheckSignals() < 0;
    *thread = PyEval_SaveThread();
    return stop;
}

/* What messages call many files: "3 files: a.csv, b.csv, c.csv", or with
 * more, the first and the last. */
PyObject *
files_label(PyObject *sources)
{
    Py_ssize_t n = PyTuple_GET_SIZE(sources);
    if (n <= 3) {
        PyObject *sep = PyUnicode_FromString(", ");
        PyObject *joined = sep ? PyUnicode_Join(sep, sources) : NULL;
        Py_XDECREF(sep);
        PyObject *label =
            joined ? PyUnicode_FromFormat("%zd file%s: %U", n, n == 1 ? "" : "s", joined) : NULL;
        Py_XDECREF(joined);
        return label;
    }
    return PyUnicode_FromFormat("%zd files: %U, ..., %U", n, PyTuple_GET_ITEM(sources, 0),
                                PyTuple_GET_ITEM(sources, n - 1));
}

PyObject *
load_many(shanxi_state *st, PyObject *path, PyObject *encoding, int threads, int *handled)
{
    *handled = 0;
    if (st->paths_maker == NULL) {
        return NULL; /* _shanxi alone: one file only */
    }
    PyObject *list = PyObject_CallOneArg(st->paths_maker, path);
    if (list == NULL) {
        *handled = 1;
        return NULL;
    }
    if (list == Py_None) {
        Py_DECREF(list);
        return NULL;
    }
    *handled = 1;
    if (!PyList_Check(list) || PyList_GET_SIZE(list) == 0) {
        PyErr_SetString(PyExc_TypeError, "the package's paths() must give a non-empty list");
        Py_DECREF(list);
        return NULL;
    }
    many_inputs m;
    memset(&m, 0, sizeof m);
    PyObject *result = NULL;
    if (many_names(&m, list) < 0) {
        goto error;
    }
    sx_table *table = NULL;
    sx_error err;
    memset(&err, 0, sizeof err);
    size_t failed = 0;
    int os_error = 0;
    sx_status status;
    if (many_feed(st, &m, encoding) < 0) {
        goto error;
    }
    PyThreadState *thread = PyEval_SaveThread();
    status = sx_table_read_many_fed(m.cpaths, m.fed, (size_t)m.n, m.cnames, threads,
                                    look_for_signals, &thread, &table, &err, &failed, &os_error);
    PyEval_RestoreThread(thread);
    /* the core freed every fed builder */
    PyMem_Free(m.fed);
    m.fed = NULL;
    if (status != SX_OK && PyErr_Occurred()) {
        goto error; /* KeyboardInterrupt, or what a signal handler raised */
    }
    if (status != SX_OK) {
        PyObject *source = PyTuple_GET_ITEM(m.sources, (Py_ssize_t)failed);
        if (status == SX_ERR_IO && os_error != 0) {
            errno = os_error;
            PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, source);
        } else {
#ifndef _WIN32
            if (status == SX_ERR_PARSE) { /* what the file looks like, as for one file */
                char head[4096];
                add_hint(st, &err, head, sx_file_peek(m.cpaths[failed], head, sizeof head));
            }
#endif
            raise_core_error(st, status, &err, source);
        }
        goto error;
    }
    PyObject *label = files_label(m.sources);
    if (label == NULL) {
        sx_table_decref(table);
        goto error;
    }
    result = dataset_new(st, table, label, 0);
    Py_DECREF(label);
    if (result != NULL) {
        Dataset_CAST(result)->files = Py_NewRef(m.sources);
    }
error:
    many_free(&m);
    Py_DECREF(list);
    return result;
}
