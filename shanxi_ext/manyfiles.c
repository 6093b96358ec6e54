/*
 * manyfiles.c -- load() of many files as one Dataset: a list or tuple of
 * paths, a directory or a glob pattern.  The package's paths() helper (see
 * _register) says which files, in which order; the core reads each in
 * chunks with a reader of its own on its pool of threads and merges them
 * (sx_table_read_many), all without the GIL but for a look for signals
 * every few milliseconds (Ctrl-C stops them all).  The Dataset's source is the
 * tuple of the paths; a ParseError's source is the file it is in.
 */
#include "binding.h"

#include <errno.h>
#include <string.h>

/* The inputs of one load: per file its name in the file system's encoding,
 * its path as a str, its UTF-8 name for messages, and its bytes. */
typedef struct {
    Py_ssize_t n;
    PyObject *encoded; /* tuple of bytes: the paths as the OS takes them */
    PyObject *sources; /* tuple of str: the Dataset's source */
    PyObject *names;   /* tuple of bytes: UTF-8 names for messages */
    sx_input *inputs;
    const char **cnames;
#ifdef _WIN32
    PyObject *data; /* tuple of bytes: each file's content */
#else
    const char **cpaths; /* the encoded paths, for the core's readers */
#endif
} many_inputs;

static void
many_free(many_inputs *m)
{
#ifndef _WIN32
    PyMem_Free(m->cpaths);
#else
    Py_XDECREF(m->data);
#endif
    PyMem_Free(m->inputs);
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
    m->inputs = PyMem_Calloc((size_t)m->n, sizeof *m->inputs);
    m->cnames = PyMem_Calloc((size_t)m->n, sizeof *m->cnames);
#ifndef _WIN32
    m->cpaths = PyMem_Calloc((size_t)m->n, sizeof *m->cpaths);
    if (m->cpaths == NULL) {
        PyErr_NoMemory();
        return -1;
    }
#endif
    if (m->encoded == NULL || m->sources == NULL || m->names == NULL || m->inputs == NULL ||
        m->cnames == NULL) {
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
#ifndef _WIN32
        m->cpaths[i] = PyBytes_AS_STRING(encoded);
#endif
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

#ifdef _WIN32
/* Each file's bytes through io.open, which takes paths as Windows does. */
static int
many_read(many_inputs *m)
{
    PyObject *io = PyImport_ImportModule("io");
    if (io == NULL || (m->data = PyTuple_New(m->n)) == NULL) {
        Py_XDECREF(io);
        return -1;
    }
    for (Py_ssize_t i = 0; i < m->n; i++) {
        PyObject *f = PyObject_CallMethod(io, "open", "Os", PyTuple_GET_ITEM(m->sources, i), "rb");
        PyObject *data = f ? PyObject_CallMethod(f, "read", NULL) : NULL;
        PyObject *closed = f ? PyObject_CallMethod(f, "close", NULL) : NULL;
        Py_XDECREF(f);
        if (closed == NULL || data == NULL || !PyBytes_Check(data)) {
            Py_XDECREF(closed);
            Py_XDECREF(data);
            Py_DECREF(io);
            return -1;
        }
        Py_DECREF(closed);
        PyTuple_SET_ITEM(m->data, i, data);
        m->inputs[i] = (sx_input){PyBytes_AS_STRING(data), (size_t)PyBytes_GET_SIZE(data), NULL};
    }
    Py_DECREF(io);
    return 0;
}
#endif

#ifndef _WIN32
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
#endif

/* What messages call many files: "3 files: a.csv, b.csv, c.csv", or with
 * more, the first and the last. */
static PyObject *
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
load_many(shanxi_state *st, PyObject *path, int *handled)
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
#ifdef _WIN32
    if (many_read(&m) < 0) {
        goto error;
    }
    Py_BEGIN_ALLOW_THREADS;
    status = sx_table_parse_many(m.inputs, (size_t)m.n, m.cnames, 0, &table, &err, &failed);
    Py_END_ALLOW_THREADS;
#else
    PyThreadState *thread = PyEval_SaveThread();
    status = sx_table_read_many(m.cpaths, (size_t)m.n, m.cnames, 0, look_for_signals, &thread,
                                &table, &err, &failed, &os_error);
    PyEval_RestoreThread(thread);
#endif
    if (status != SX_OK && PyErr_Occurred()) {
        goto error; /* KeyboardInterrupt, or what a signal handler raised */
    }
    if (status != SX_OK) {
        PyObject *source = PyTuple_GET_ITEM(m.sources, (Py_ssize_t)failed);
        if (status == SX_ERR_IO && os_error != 0) {
            errno = os_error;
            PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, source);
        } else {
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
