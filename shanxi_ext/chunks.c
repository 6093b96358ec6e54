/*
 * chunks.c -- files read as a run of small tables (core/chunker.c), for
 * shanxi.aggregate_files: each file is parsed once, in order, and every
 * chunk_size bytes of it the rows parsed so far become a Dataset of their
 * own, handed to a Python callable (which reduces it to a Partial) and
 * dropped.  A plain UTF-8 file is read and parsed without the GIL, a
 * look for signals between reads (Ctrl-C stops it); a compressed or
 * transcoded one goes through the package's chunks() as load() reads it.
 * At the end the files' parsers, which kept every string and project but
 * no rows, are checked and joined as load() joins files: the result is
 * load()'s Dataset without its rows, with load()'s errors.
 */
#include "binding.h"

#include <errno.h>
#include <string.h>

const char read_chunked_doc[] = PyDoc_STR(
    "_read_chunks($module, files, many, on_chunk, chunk_size, /, *, encoding=None, seed=None)\n"
    "--\n\n"
    "Read files (paths, expanded, or binary file objects) in chunks of about\n"
    "chunk_size bytes: on_chunk(dataset, seq) for each chunk's rows, seq\n"
    "ordering them as load() orders rows.  Returns (dataset, late): load()'s\n"
    "Dataset of the files without their rows (many: labelled as many files\n"
    "are), and the numbers of the projects some of whose chunked rows had no\n"
    "category yet (sx_chunker_late).  seed: a Dataset giving projects their\n"
    "categories.  Private: shanxi.aggregate_files uses it.");

/* One run: what every chunk needs. */
typedef struct {
    shanxi_state *st;
    sx_chunker *c;
    PyObject *on_chunk;
    PyObject *label; /* each chunk's Dataset's source */
    PyObject *late;  /* a set of project numbers */
    sx_table *seed;  /* categories of a first pass, or NULL */
    uint64_t chunk_size;
    int64_t seq; /* the next chunk's */
} run;

/* The rows parsed so far handed to on_chunk as a Dataset; 0, or -1 with
 * an exception. */
static int
take(run *r)
{
    sx_table *t = NULL;
    sx_error err;
    memset(&err, 0, sizeof err);
    sx_status status;
    Py_BEGIN_ALLOW_THREADS;
    status = sx_chunker_take(r->c, &t, &err);
    Py_END_ALLOW_THREADS;
    if (status != SX_OK) {
        raise_core_error(r->st, status, &err, r->label);
        return -1;
    }
    const int32_t *late;
    size_t nlate;
    sx_chunker_late(r->c, &late, &nlate);
    for (size_t i = 0; i < nlate; i++) {
        PyObject *number = PyLong_FromLong(late[i]);
        if (number == NULL || PySet_Add(r->late, number) < 0) {
            Py_XDECREF(number);
            sx_table_decref(t);
            return -1;
        }
        Py_DECREF(number);
    }
    if (t == NULL) {
        return 0; /* no rows */
    }
    PyObject *ds = dataset_new(r->st, t, r->label, 0);
    PyObject *seq = ds ? PyLong_FromLongLong(r->seq++) : NULL;
    PyObject *args[] = {ds, seq};
    PyObject *res = seq ? PyObject_Vectorcall(r->on_chunk, args, 2, NULL) : NULL;
    Py_XDECREF(ds);
    Py_XDECREF(seq);
    Py_XDECREF(res);
    return res ? 0 : -1;
}

/* feed_chunks_each's hook: a take once a chunk's worth is parsed. */
static int
take_if_ready(void *ctx)
{
    run *r = ctx;
    return sx_chunker_ready(r->c) >= r->chunk_size ? take(r) : 0;
}

#ifndef _WIN32
/* A plain file read and parsed a step at a time without the GIL. */
static int
read_plain(run *r, const char *cpath, PyObject *source, int many)
{
    sx_error err;
    memset(&err, 0, sizeof err);
    int os_error = 0, done = 0;
    sx_status status;
    /* opening a FIFO waits for a writer: a signal interrupts that too, and
     * the open is tried again unless its handler raised */
    do {
        Py_BEGIN_ALLOW_THREADS;
        status = sx_chunker_open(cpath, NULL, r->seed, r->chunk_size, &r->c, &os_error);
        Py_END_ALLOW_THREADS;
    } while (status == SX_ERR_IO && os_error == EINTR && PyErr_CheckSignals() == 0);
    while (status == SX_OK && !done) {
        Py_BEGIN_ALLOW_THREADS;
        status = sx_chunker_step(r->c, &done, &err, &os_error);
        Py_END_ALLOW_THREADS;
        if (status == SX_OK && (PyErr_CheckSignals() < 0 || take_if_ready(r) < 0)) {
            return -1;
        }
    }
    if (status == SX_OK) {
        return take(r);
    }
    if (PyErr_Occurred()) {
        return -1;
    }
    if (status == SX_ERR_IO && many) { /* as load() of many files says it */
        errno = os_error;
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, source);
    } else if (status == SX_ERR_IO) {
        raise_read_error(os_error, &err, source);
    } else {
        if (status == SX_ERR_PARSE) {
            char head[4096];
            add_hint(r->st, &err, head, sx_file_peek(cpath, head, sizeof head));
        }
        raise_core_error(r->st, status, &err, source);
    }
    return -1;
}
#endif

/* A file that load() reads through Python (compressed, transcoded, a file
 * object, or anything on Windows), fed a chunk at a time. */
static int
read_fed(run *r, PyObject *src, PyObject *encoding, PyObject *source, int hint)
{
    if (sx_chunker_new(NULL, r->seed, r->chunk_size, &r->c) != SX_OK) {
        PyErr_NoMemory();
        return -1;
    }
    if (feed_chunks_each(r->st, sx_chunker_builder(r->c), src, encoding, source, hint,
                         take_if_ready, r) < 0) {
        return -1;
    }
    return take(r);
}

/* How file i is read: 1 through Python, 0 in C. */
static int
through_python(const char *cpath, PyObject *encoding)
{
#ifdef _WIN32
    (void)cpath;
    (void)encoding;
    return 1;
#else
    char head[8] = {0};
    return cpath == NULL || !is_utf8(encoding) ||
           looks_compressed(head, sx_file_peek(cpath, head, sizeof head));
#endif
}

/* What names file i: its path, or a file object's str .name, or "<file>". */
static PyObject *
source_of(PyObject *file)
{
    if (PyUnicode_Check(file)) {
        return Py_NewRef(file);
    }
    PyObject *name = PyObject_GetAttrString(file, "name");
    if (name == NULL || !PyUnicode_Check(name)) {
        PyErr_Clear();
        Py_XSETREF(name, PyUnicode_FromString("<file>"));
    }
    return name;
}

PyObject *
read_chunked(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    enum { A_FILES, A_MANY, A_ON_CHUNK, A_SIZE, A_ENCODING, A_SEED, A_COUNT };
    static const char *const names[] = {"", "", "", "", "encoding", "seed"};
    static const argspec spec = {"_read_chunks", names, A_COUNT, 4, 4};
    shanxi_state *st = module_state(module);
    PyObject *vals[A_COUNT];
    if (parse_args(&spec, args, nargs, kwnames, vals) < 0) {
        return NULL;
    }
    PyObject *files = vals[A_FILES], *encoding = vals[A_ENCODING], *seed = vals[A_SEED];
    if (encoding == Py_None) {
        encoding = NULL;
    }
    if (!PyList_Check(files) || PyList_GET_SIZE(files) == 0 || !PyLong_Check(vals[A_SIZE]) ||
        (encoding != NULL && !PyUnicode_Check(encoding)) ||
        (seed != NULL && seed != Py_None && !Py_IS_TYPE(seed, st->Dataset_Type))) {
        PyErr_SetString(PyExc_TypeError, "_read_chunks() takes a non-empty list, an int size, "
                                         "a str encoding and a Dataset seed");
        return NULL;
    }
    int overflow;
    long long size = PyLong_AsLongLongAndOverflow(vals[A_SIZE], &overflow);
    if (overflow > 0) {
        size = LLONG_MAX; /* larger than any file: one chunk */
    }
    if (size < 1) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "chunk_size must be at least 1");
        }
        return NULL;
    }
    sx_table *seed_table = seed != NULL && seed != Py_None ? Dataset_CAST(seed)->table : NULL;
    int many = PyObject_IsTrue(vals[A_MANY]);
    Py_ssize_t n = PyList_GET_SIZE(files);
    run r = {st, NULL, vals[A_ON_CHUNK], NULL, PySet_New(NULL), seed_table, (uint64_t)size, 0};
    /* an array of pointers to structs: sizeof *done is meant */
    /* NOLINTNEXTLINE(bugprone-sizeof-expression) */
    sx_chunker **done = PyMem_Calloc((size_t)n, sizeof *done);
    const char **cnames = PyMem_Calloc((size_t)n, sizeof *cnames);
    char *python = PyMem_Calloc((size_t)n, 1);
    PyObject *sources = PyTuple_New(n), *encoded = PyTuple_New(n), *utf8 = PyTuple_New(n);
    PyObject *result = NULL, *ds = NULL;
    if (many < 0 || r.late == NULL || done == NULL || cnames == NULL || python == NULL ||
        sources == NULL || encoded == NULL || utf8 == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_NoMemory();
        }
        goto error;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *file = PyList_GET_ITEM(files, i), *source = source_of(file), *bytes = NULL;
        if (source == NULL) {
            goto error;
        }
        PyTuple_SET_ITEM(sources, i, source);
        if (PyUnicode_Check(file) && !PyUnicode_FSConverter(file, &bytes)) {
            goto error;
        }
        PyTuple_SET_ITEM(encoded, i, bytes ? bytes : Py_NewRef(Py_None));
        /* decided once: a file changing between the passes is still read once */
        python[i] = (char)through_python(bytes ? PyBytes_AS_STRING(bytes) : NULL, encoding);
        PyObject *name = PyUnicode_AsEncodedString(source, "utf-8", "backslashreplace");
        if (name == NULL) {
            goto error;
        }
        PyTuple_SET_ITEM(utf8, i, name);
        cnames[i] = PyBytes_AS_STRING(name);
    }
    r.label = many ? files_label(sources) : Py_NewRef(PyTuple_GET_ITEM(sources, 0));
    if (r.label == NULL) {
        goto error;
    }
    /* seq: the file's index, then the chunk's, so ties go as load()'s rows;
     * files read through Python first, as load() reads them first, so the
     * same error is met first */
    for (int pass = 0; pass < 2; pass++) {
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *file = PyList_GET_ITEM(files, i), *bytes = PyTuple_GET_ITEM(encoded, i);
            const char *cpath = bytes == Py_None ? NULL : PyBytes_AS_STRING(bytes);
            if (python[i] != (pass == 0)) {
                continue;
            }
            r.seq = (int64_t)i << 32;
            PyObject *source = PyTuple_GET_ITEM(sources, i);
            int ok =
#ifndef _WIN32
                !python[i] ? read_plain(&r, cpath, source, many) :
#endif
                           read_fed(&r, file, encoding, source, is_utf8(encoding));
            done[i] = r.c;
            r.c = NULL;
            if (ok < 0) {
                goto error;
            }
        }
    }
    sx_table *table = NULL;
    sx_error err;
    memset(&err, 0, sizeof err);
    size_t failed = 0;
    sx_status status;
    Py_BEGIN_ALLOW_THREADS;
    status = sx_chunkers_finish(done, (size_t)n, cnames, &table, &err, &failed);
    Py_END_ALLOW_THREADS;
    if (status != SX_OK) {
        PyObject *bytes = PyTuple_GET_ITEM(encoded, (Py_ssize_t)failed);
#ifndef _WIN32
        if (status == SX_ERR_PARSE && bytes != Py_None) {
            char head[4096];
            add_hint(st, &err, head, sx_file_peek(PyBytes_AS_STRING(bytes), head, sizeof head));
        }
#else
        (void)bytes;
#endif
        raise_core_error(st, status, &err, PyTuple_GET_ITEM(sources, (Py_ssize_t)failed));
        goto error;
    }
    ds = dataset_new(st, table, r.label, 0);
    if (ds == NULL) {
        goto error;
    }
    if (many) {
        Dataset_CAST(ds)->files = Py_NewRef(sources);
    }
    PyObject *late = PySequence_List(r.late);
    if (late == NULL || PyList_Sort(late) < 0) {
        Py_XDECREF(late);
        goto error;
    }
    result = PyTuple_Pack(2, ds, late);
    Py_DECREF(late);
error:
    sx_chunker_free(r.c);
    for (Py_ssize_t i = 0; done != NULL && i < n; i++) {
        sx_chunker_free(done[i]);
    }
    PyMem_Free(done);
    PyMem_Free(cnames);
    PyMem_Free(python);
    Py_XDECREF(ds);
    Py_XDECREF(r.label);
    Py_XDECREF(r.late);
    Py_XDECREF(sources);
    Py_XDECREF(encoded);
    Py_XDECREF(utf8);
    return result;
}
