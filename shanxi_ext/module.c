/*
 * module.c -- the shanxi._shanxi module: multi-phase init, its state and
 * the state's traverse/clear/free, the embedded dataset, load()/loads(),
 * and _register, through which the Python package hands over the helpers
 * that to_frame() and _repr_html_ call.
 *
 * The binding follows CPython's Modules/xxlimited.c: heap types made with
 * PyType_FromModuleAndSpec, everything per-interpreter in the module state.
 * The C core (include/shanxi/core.h, shanxi_ext/core/) parses, stores and
 * queries; the binding's other files (listed in binding.h) turn Python
 * arguments into core calls and core results into Python objects.
 */
#include "binding.h"
#include "shanxi/arrow.h" /* sx_arrow_free_spares */

#include <errno.h>
#include <string.h>

#include "shanxi_embedded_data.h" /* generated at build time by tools/embed_data.py */

#if PY_VERSION_HEX < 0x030A0000
static int
PyModule_AddObjectRef(PyObject *mod, const char *name, PyObject *value)
{
    int rc = PyModule_AddObject(mod, name, value);
    if (rc == 0) {
        Py_INCREF(value);
    }
    return rc;
}
#endif

/* ------------------------------------------------------------ the package's helpers */

/* pandas frames and HTML are easier and no slower in Python, so the package
 * (shanxi/__init__.py) registers its functions here once, at import.  The
 * calls go one way, C -> the registered function; nothing here imports a
 * Python module by name. */
static PyObject *
call_registered(PyObject *helper, const char *what, PyObject *const *args, size_t nargs)
{
    if (helper == NULL) {
        PyErr_Format(PyExc_RuntimeError,
                     "%s needs the shanxi package's helpers; import shanxi rather than "
                     "shanxi._shanxi alone",
                     what);
        return NULL;
    }
    return PyObject_Vectorcall(helper, args, nargs, NULL);
}

PyObject *
any_repr_html(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    PyObject *args[] = {self};
    return call_registered(object_state(self)->html_maker, "_repr_html_()", args, 1);
}

PyObject *
make_frame(PyObject *ds, PyObject *kind)
{
    PyObject *args[] = {ds, kind};
    return call_registered(object_state(ds)->frame_maker, "to_frame()", args, 2);
}

PyDoc_STRVAR(
    register_doc,
    "_register($module, /, *, frame, html, figures, chunks, hint, expanduser, paths)\n--\n\n"
    "Private: the package's to_frame(ds, kind) and html(obj), which\n"
    "Dataset.to_frame() and the _repr_html_ methods call; the tuple\n"
    "subclass metrics() and search() return; chunks(source, encoding,\n"
    "name) and hint(head), which load() and loads() call for file\n"
    "objects, compressed files and other encodings; os.path.expanduser;\n"
    "paths(arg), which says what files load(arg) reads.");

static PyObject *
shanxi_register(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    enum { R_FRAME, R_HTML, R_FIGURES, R_CHUNKS, R_HINT, R_EXPAND, R_PATHS, R_COUNT };
    static const char *const names[] = {"frame", "html",       "figures", "chunks",
                                        "hint",  "expanduser", "paths"};
    static const argspec spec = {"_register", names, R_COUNT, 0, R_COUNT};
    PyObject *vals[R_COUNT];
    if (parse_args(&spec, args, nargs, kwnames, vals) < 0) {
        return NULL;
    }
    for (int i = 0; i < R_COUNT; i++) {
        if (!PyCallable_Check(vals[i])) {
            PyErr_Format(PyExc_TypeError, "_register() %s must be callable, not %.100s", names[i],
                         Py_TYPE(vals[i])->tp_name);
            return NULL;
        }
    }
    if (!PyType_Check(vals[R_FIGURES]) ||
        !PyType_IsSubtype((PyTypeObject *)vals[R_FIGURES], &PyTuple_Type)) {
        PyErr_Format(PyExc_TypeError, "_register() figures must be a subclass of tuple, not %R",
                     vals[R_FIGURES]);
        return NULL;
    }
    shanxi_state *st = module_state(module);
    Py_XSETREF(st->frame_maker, Py_NewRef(vals[R_FRAME]));
    Py_XSETREF(st->html_maker, Py_NewRef(vals[R_HTML]));
    Py_XSETREF(st->figures_type, Py_NewRef(vals[R_FIGURES]));
    Py_XSETREF(st->chunks_maker, Py_NewRef(vals[R_CHUNKS]));
    Py_XSETREF(st->hint_maker, Py_NewRef(vals[R_HINT]));
    Py_XSETREF(st->expanduser, Py_NewRef(vals[R_EXPAND]));
    Py_XSETREF(st->paths_maker, Py_NewRef(vals[R_PATHS]));
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------ load / loads */

/* Bytes of the input shown to the package's hint(), which says what an
 * undecodable input looks like (UTF-16, GB18030, compressed). */
#define HINT_BYTES 4096

/* After "expected UTF-8 text ..." or a NUL in the header: the package's
 * guess at what the input is, appended to the message.  Only a nicety, so
 * a failing hint() leaves the message as it was. */
void
add_hint(shanxi_state *st, sx_error *err, const char *head, size_t n)
{
    if (err->status != SX_ERR_PARSE || st->hint_maker == NULL || n == 0 ||
        (strncmp(err->message, "expected UTF-8 text", 19) != 0 &&
         strstr(err->message, "found a NUL byte") == NULL)) {
        return;
    }
    PyObject *bytes =
        PyBytes_FromStringAndSize(head, (Py_ssize_t)(n < HINT_BYTES ? n : HINT_BYTES));
    PyObject *hint = bytes ? PyObject_CallOneArg(st->hint_maker, bytes) : NULL;
    const char *text = hint && PyUnicode_Check(hint) ? PyUnicode_AsUTF8(hint) : NULL;
    if (text != NULL) {
        size_t len = strlen(err->message);
        snprintf(err->message + len, sizeof err->message - len, "; %s", text);
    }
    PyErr_Clear();
    Py_XDECREF(hint);
    Py_XDECREF(bytes);
}

/* Parse len bytes at buf without the GIL; a new Dataset or NULL. */
static PyObject *
parse_to_dataset(shanxi_state *st, const char *buf, size_t len, const sx_parse_options *opts,
                 PyObject *source)
{
    sx_table *table = NULL;
    sx_error err;
    sx_status status;
    memset(&err, 0, sizeof err);
    Py_BEGIN_ALLOW_THREADS;
    status = sx_table_parse_with(buf, len, opts, &table, &err);
    Py_END_ALLOW_THREADS;
    if (status != SX_OK) {
        add_hint(st, &err, buf, len);
        raise_core_error(st, status, &err, source);
        return NULL;
    }
    return dataset_new(st, table, source, 0);
}

/* loads() of a str that is not valid UTF-8 (lone surrogates). */
static PyObject *
loads_surrogates(shanxi_state *st, PyObject *text, PyObject *source)
{
    /* Lone surrogates are the str form of invalid UTF-8: parse the bytes
     * surrogateescape gives back (else those surrogatepass writes), so the
     * parser reports them as a ParseError with their line and column like
     * any other malformed input. */
    PyObject *bytes = PyUnicode_AsEncodedString(text, "utf-8", "surrogateescape");
    if (bytes == NULL && PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
        PyErr_Clear();
        bytes = PyUnicode_AsEncodedString(text, "utf-8", "surrogatepass");
    }
    if (bytes == NULL) {
        return NULL;
    }
    PyObject *result = parse_to_dataset(st, PyBytes_AS_STRING(bytes),
                                        (size_t)PyBytes_GET_SIZE(bytes), NULL, source);
    Py_DECREF(bytes);
    return result;
}

/* The core's error of feed_chunks; a parse error of an input to hint
 * about (rest, the rest of its chunks, given) first says what it looks
 * like: the guess looks at the same first bytes however the input was cut,
 * so rest is read on up to HINT_BYTES (the input is wrong anyway). */
static void
raise_chunks_error(shanxi_state *st, sx_status status, sx_error *err, PyObject *source,
                   PyObject *rest, char *head, size_t nhead)
{
    if (rest != NULL && status == SX_ERR_PARSE) {
        PyObject *item;
        while (nhead < HINT_BYTES && (item = PyIter_Next(rest)) != NULL) {
            Py_buffer view;
            if (PyUnicode_Check(item) || PyObject_GetBuffer(item, &view, PyBUF_SIMPLE) < 0) {
                Py_DECREF(item);
                break;
            }
            size_t k =
                (size_t)view.len < HINT_BYTES - nhead ? (size_t)view.len : HINT_BYTES - nhead;
            memcpy(head + nhead, view.buf, k);
            nhead += k;
            PyBuffer_Release(&view);
            Py_DECREF(item);
        }
        PyErr_Clear();
        add_hint(st, err, head, nhead);
    }
    raise_core_error(st, status, err, source);
}

/* Feed b, to its end, what the package's chunks(src, encoding, name)
 * yields: UTF-8 bytes a chunk at a time (from a file object, a
 * decompressor, a transcoder), as they come; a str it yields is why the
 * text stops there (undecodable bytes, corrupt or truncated compressed
 * data), reported at that line and column.  With hint set, invalid UTF-8
 * says what the input looks like.  0, or -1 with an exception set. */
int
feed_chunks(shanxi_state *st, sx_builder *b, PyObject *src, PyObject *encoding, PyObject *source,
            int hint)
{
    return feed_chunks_each(st, b, src, encoding, source, hint, NULL, NULL);
}

int
feed_chunks_each(shanxi_state *st, sx_builder *b, PyObject *src, PyObject *encoding,
                 PyObject *source, int hint, int (*each)(void *ctx), void *ctx)
{
    PyObject *args[] = {src, encoding ? encoding : Py_None, source};
    PyObject *gen = call_registered(st->chunks_maker, "load()", args, 3);
    PyObject *iter = NULL, *item = NULL;
    char *buf = NULL, head[HINT_BYTES];
    size_t n = 0, cap = 0, nhead = 0, used;
    sx_error err;
    sx_status status = SX_OK;
    int result = -1;
    memset(&err, 0, sizeof err);
    if (gen == NULL || (iter = PyObject_GetIter(gen)) == NULL) {
        goto error;
    }
    while ((item = PyIter_Next(iter)) != NULL) {
        if (PyUnicode_Check(item)) {
            const char *reason = PyUnicode_AsUTF8(item);
            if (reason == NULL) {
                goto error;
            }
            status = err.status = SX_ERR_PARSE;
            sx_builder_position(b, buf, n, &err.line, &err.column);
            snprintf(err.message, sizeof err.message, "%s", reason);
            raise_chunks_error(st, status, &err, source, hint ? iter : NULL, head, nhead);
            goto error;
        }
        Py_buffer view;
        if (PyObject_GetBuffer(item, &view, PyBUF_SIMPLE) < 0) {
            goto error;
        }
        size_t len = (size_t)view.len;
        if (len == 0) {
            /* chunks() yields b"" for an empty input: nothing to add (and
             * buf may still be NULL, which memcpy must not be given) */
            PyBuffer_Release(&view);
            Py_CLEAR(item);
            continue;
        }
        if (nhead < HINT_BYTES) {
            size_t k = len < HINT_BYTES - nhead ? len : HINT_BYTES - nhead;
            memcpy(head + nhead, view.buf, k);
            nhead += k;
        }
        if (n + len > cap) {
            size_t grown = cap * 2 > n + len ? cap * 2 : n + len;
            char *bigger = realloc(buf, grown ? grown : 1);
            if (bigger == NULL) {
                PyBuffer_Release(&view);
                PyErr_NoMemory();
                goto error;
            }
            buf = bigger;
            cap = grown;
        }
        memcpy(buf + n, view.buf, len);
        n += len;
        PyBuffer_Release(&view);
        Py_CLEAR(item);
        Py_BEGIN_ALLOW_THREADS;
        status = sx_builder_feed(b, buf, n, 0, &used, &err);
        Py_END_ALLOW_THREADS;
        if (status != SX_OK) {
            raise_chunks_error(st, status, &err, source, hint ? iter : NULL, head, nhead);
            goto error;
        }
        memmove(buf, buf + used, n - used);
        n -= used;
        if (PyErr_CheckSignals() < 0 || (each != NULL && each(ctx) < 0)) {
            goto error;
        }
    }
    if (PyErr_Occurred()) {
        goto error;
    }
    Py_BEGIN_ALLOW_THREADS;
    /* buf is still NULL when every chunk was empty */
    status = sx_builder_feed(b, buf ? buf : "", n, 1, &used, &err);
    Py_END_ALLOW_THREADS;
    if (status != SX_OK) {
        raise_chunks_error(st, status, &err, source, hint ? iter : NULL, head, nhead);
        goto error;
    }
    result = 0;
error:
    Py_XDECREF(item);
    Py_XDECREF(iter);
    Py_XDECREF(gen); /* closes the file the generator opened */
    free(buf);
    return result;
}

/* A Dataset of what feed_chunks() reads. */
static PyObject *
read_chunks(shanxi_state *st, PyObject *src, PyObject *encoding, PyObject *source, int hint)
{
    sx_builder *b = NULL;
    sx_table *table = NULL;
    sx_error err;
    sx_status status = SX_OK;
    memset(&err, 0, sizeof err);
    if (sx_builder_new(NULL, &b) != SX_OK) {
        return PyErr_NoMemory();
    }
    if (feed_chunks(st, b, src, encoding, source, hint) < 0) {
        sx_builder_free(b);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS;
    status = sx_builder_finish(b, &table, &err);
    Py_END_ALLOW_THREADS;
    sx_builder_free(b);
    if (status != SX_OK) {
        raise_core_error(st, status, &err, source);
        return NULL;
    }
    return dataset_new(st, table, source, 0);
}

/* encoding is None or names UTF-8, which the parser reads as it is. */
int
is_utf8(PyObject *encoding)
{
    return encoding == NULL || encoding == Py_None || str_equals_ascii(encoding, "utf-8") ||
           str_equals_ascii(encoding, "utf8") || str_equals_ascii(encoding, "UTF-8");
}

static int
check_encoding(const char *fname, PyObject *encoding)
{
    if (encoding != NULL && encoding != Py_None && !PyUnicode_Check(encoding)) {
        PyErr_Format(PyExc_TypeError, "%s() encoding must be a str or None, not %.100s", fname,
                     Py_TYPE(encoding)->tp_name);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(loads_doc,
             "loads($module, text, /, *, encoding=None)\n--\n\n"
             "A Dataset parsed from CSV text (str) or bytes in the data/ format.\n"
             "Bytes are UTF-8 unless encoding names another codec Python knows\n"
             "(\"gb18030\", \"utf-16\", ...), transcoded in chunks.  Malformed input raises\n"
             "shanxi.ParseError with .line and .column (counted in the decoded text).");

static PyObject *
shanxi_loads(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    enum { A_TEXT, A_ENCODING, A_COUNT };
    static const char *const names[] = {"", "encoding"};
    static const argspec spec = {"loads", names, A_COUNT, 1, 0};
    PyObject *vals[A_COUNT];
    if (parse_args(&spec, args, nargs, kwnames, vals) < 0 ||
        check_encoding("loads", vals[A_ENCODING]) < 0) {
        return NULL;
    }
    PyObject *text = vals[A_TEXT], *encoding = vals[A_ENCODING];
    if (text == NULL) {
        PyErr_SetString(PyExc_TypeError, "loads() missing required argument 'text' (pos 1)");
        return NULL;
    }
    shanxi_state *st = module_state(module);
    PyObject *source = PyUnicode_FromString("<string>");
    if (source == NULL) {
        return NULL;
    }
    PyObject *result = NULL;
    if (PyUnicode_Check(text)) {
        const char *buf;
        Py_ssize_t len;
        int ok;
        if (!is_utf8(encoding)) {
            PyErr_SetString(PyExc_TypeError,
                            "loads() takes encoding= with bytes; a str is already decoded");
        } else if ((ok = str_utf8(text, &buf, &len)) > 0) {
            result = parse_to_dataset(st, buf, (size_t)len, NULL, source);
        } else if (ok == 0) {
            result = loads_surrogates(st, text, source);
        }
    } else if (PyObject_CheckBuffer(text)) {
        Py_buffer view;
        if (PyObject_GetBuffer(text, &view, PyBUF_SIMPLE) == 0) {
            if (is_utf8(encoding)) {
                result = parse_to_dataset(st, view.buf, (size_t)view.len, NULL, source);
            } else {
                PyObject *memory = PyMemoryView_FromObject(text);
                if (memory != NULL) {
                    result = read_chunks(st, memory, encoding, source, 0);
                    Py_DECREF(memory);
                }
            }
            PyBuffer_Release(&view);
        } else if (PyErr_ExceptionMatches(PyExc_BufferError)) {
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError,
                         "loads() takes a str or a contiguous bytes-like object; this %.100s "
                         "is not contiguous (pass bytes(obj))",
                         Py_TYPE(text)->tp_name);
        }
    } else {
        PyErr_Format(PyExc_TypeError, "loads() takes a str or bytes-like object, not %.100s",
                     Py_TYPE(text)->tp_name);
    }
    Py_DECREF(source);
    return result;
}

#ifndef _WIN32
/* Starts with the magic bytes of gzip, bzip2, xz or zstd (the ones the
 * package's _sources.MAGIC decompresses). */
int
looks_compressed(const char *head, size_t n)
{
    static const struct {
        const char *magic;
        size_t len;
    } kinds[] = {{"\x1f\x8b", 2},
                 {"BZh", 3},
                 {"\xfd"
                  "7zXZ\x00",
                  6},
                 {"\x28\xb5\x2f\xfd", 4}};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        if (n >= kinds[i].len && memcmp(head, kinds[i].magic, kinds[i].len) == 0) {
            return 1;
        }
    }
    return 0;
}

/* An OSError for what a reader could not do: errno's text, or the reader's
 * own message (a file that shrank) with the errno it chose. */
void
raise_read_error(int os_error, const sx_error *err, PyObject *source)
{
    if (err->message[0] && os_error == EIO) {
        PyObject *exc = PyObject_CallFunction(PyExc_OSError, "isO", os_error, err->message, source);
        if (exc != NULL) {
            PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
            Py_DECREF(exc);
        }
        return;
    }
    errno = os_error;
    PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, source);
}

/* A Dataset of the file at path, read a chunk per step with the GIL
 * released, looking for signals between steps: Ctrl-C during a long parse
 * or on a silent FIFO raises KeyboardInterrupt at once (a read blocked on
 * a FIFO returns EINTR when the signal arrives). */
static PyObject *
read_path(shanxi_state *st, const char *cpath, PyObject *source, int threads)
{
    sx_reader *reader = NULL;
    sx_table *table = NULL;
    sx_error err;
    sx_status status;
    int os_error = 0, done = 0;
    sx_parse_options opts = {NULL, NULL, NULL, threads};
    memset(&err, 0, sizeof err);
    for (;;) {
        /* opening a FIFO waits for a writer: a signal interrupts that too */
        Py_BEGIN_ALLOW_THREADS;
        status = sx_reader_open(cpath, &opts, &reader, &os_error);
        Py_END_ALLOW_THREADS;
        if (status != SX_ERR_IO || os_error != EINTR) {
            break;
        }
        if (PyErr_CheckSignals() < 0) {
            return NULL;
        }
    }
    if (status == SX_ERR_IO) {
        raise_read_error(os_error, &err, source);
        return NULL;
    }
    if (status != SX_OK) {
        raise_core_error(st, status, NULL, source);
        return NULL;
    }
    while (!done) {
        Py_BEGIN_ALLOW_THREADS;
        status = sx_reader_step(reader, &done, &err, &os_error);
        Py_END_ALLOW_THREADS;
        if (status != SX_OK) {
            goto error;
        }
        if (PyErr_CheckSignals() < 0) {
            goto error;
        }
    }
    Py_BEGIN_ALLOW_THREADS;
    status = sx_reader_finish(reader, &table, &err);
    sx_reader_free(reader);
    Py_END_ALLOW_THREADS;
    reader = NULL;
    if (status != SX_OK) {
        goto error;
    }
    return dataset_new(st, table, source, 0);
error:
    if (reader != NULL) {
        /* joins a second parsing thread, which stops within a chunk */
        Py_BEGIN_ALLOW_THREADS;
        sx_reader_free(reader);
        Py_END_ALLOW_THREADS;
    }
    if (PyErr_Occurred()) {
        return NULL;
    }
    if (status == SX_ERR_IO) {
        raise_read_error(os_error, &err, source);
        return NULL;
    }
    if (status == SX_ERR_PARSE) {
        char head[HINT_BYTES];
        add_hint(st, &err, head, sx_file_peek(cpath, head, sizeof head));
    }
    raise_core_error(st, status, &err, source);
    return NULL;
}
#endif

PyDoc_STRVAR(load_doc, "load($module, path, /, *, encoding=None, threads=None)\n--\n\n"
                       "A Dataset read from a CSV file in the data/ format (see data/README.md).\n"
                       "path is a path (\"~\" expanded) or a binary file object.  A gzip, bzip2,\n"
                       "xz (or, on Python 3.14+, zstd) file is decompressed as it is read; text\n"
                       "is UTF-8 unless encoding names another codec Python knows (\"gb18030\",\n"
                       "\"utf-16\", ...).  Malformed input raises shanxi.ParseError with .source,\n"
                       ".line and .column (counted in the decoded text); a missing file raises\n"
                       "FileNotFoundError.  Many files are read as one: a list or tuple of paths,\n"
                       "a directory (its *.csv and *.csv.gz/.bz2/.xz/.zst files by name) or a\n"
                       "glob pattern (sorted), each opened as one file is; those are parsed on a\n"
                       "thread per core and their .source is the tuple of their paths.\n"
                       "threads=None uses the machine's cores (a file of 32 MiB or more split\n"
                       "in parts of at least 16 MiB, one a thread); an int n >= 1 uses at most\n"
                       "n threads, and threads=1 does all the work on the calling thread.  The\n"
                       "Dataset is the same either way.");

/* load()'s threads: 0 for None (the machine's cores), else the cap n >= 1
 * (a cap past INT_MAX is no cap); -1 with an exception set. */
static int
threads_arg(PyObject *obj)
{
    if (obj == NULL || obj == Py_None) {
        return 0;
    }
    if (PyBool_Check(obj) || !PyIndex_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "load() threads must be an int or None, not %.100s",
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    PyObject *n = PyNumber_Index(obj);
    if (n == NULL) {
        return -1;
    }
    int overflow;
    long value = PyLong_AsLongAndOverflow(n, &overflow);
    Py_DECREF(n);
    if (value == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (overflow < 0 || (overflow == 0 && value < 1)) {
        PyErr_Format(PyExc_ValueError, "load() threads must be at least 1, not %R", obj);
        return -1;
    }
    return overflow > 0 || value > INT_MAX ? INT_MAX : (int)value;
}

static PyObject *
shanxi_load(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    enum { A_PATH, A_ENCODING, A_THREADS, A_COUNT };
    static const char *const names[] = {"", "encoding", "threads"};
    static const argspec spec = {"load", names, A_COUNT, 1, 0};
    PyObject *vals[A_COUNT];
    int threads;
    if (parse_args(&spec, args, nargs, kwnames, vals) < 0 ||
        check_encoding("load", vals[A_ENCODING]) < 0 ||
        (threads = threads_arg(vals[A_THREADS])) < 0) {
        return NULL;
    }
    PyObject *path = vals[A_PATH], *encoding = vals[A_ENCODING];
    if (path == NULL) {
        PyErr_SetString(PyExc_TypeError, "load() missing required argument 'path' (pos 1)");
        return NULL;
    }
    shanxi_state *st = module_state(module);
    int many;
    PyObject *result = load_many(st, path, encoding, threads, &many);
    if (many) {
        return result;
    }
    PyObject *expanded = NULL, *encoded = NULL, *source = NULL;
    if (!PyUnicode_Check(path) && !PyBytes_Check(path) &&
        !PyObject_HasAttrString(path, "__fspath__")) {
        if (!PyObject_HasAttrString(path, "readinto") && !PyObject_HasAttrString(path, "read")) {
            PyErr_Format(PyExc_TypeError, "load() takes a path or a binary file object, not %.100s",
                         Py_TYPE(path)->tp_name);
            return NULL;
        }
        /* a file object: named by its .name when it has a str one */
        PyObject *name = PyObject_GetAttrString(path, "name");
        if (name == NULL || !PyUnicode_Check(name)) {
            PyErr_Clear();
            Py_XSETREF(name, PyUnicode_FromString("<file>"));
        }
        if (name != NULL) {
            result = read_chunks(st, path, encoding, name, is_utf8(encoding));
            Py_DECREF(name);
        }
        return result;
    }
    PyObject *args1[] = {path};
    expanded = call_registered(st->expanduser, "load()", args1, 1);
    if (expanded == NULL || !PyUnicode_FSConverter(expanded, &encoded)) {
        goto error;
    }
    if ((source = PyUnicode_DecodeFSDefault(PyBytes_AS_STRING(encoded))) == NULL) {
        goto error;
    }
#ifdef _WIN32
    /* Python's io.open takes the path as Windows does (one thread) */
    (void)threads;
    result = read_chunks(st, expanded, encoding, source, is_utf8(encoding));
#else
    char head[8] = {0};
    if (!is_utf8(encoding)) {
        result = read_chunks(st, expanded, encoding, source, 0);
    } else if (looks_compressed(head,
                                sx_file_peek(PyBytes_AS_STRING(encoded), head, sizeof head))) {
        result = read_chunks(st, expanded, NULL, source, 1);
    } else {
        result = read_path(st, PyBytes_AS_STRING(encoded), source, threads);
    }
#endif
error:
    Py_XDECREF(expanded);
    Py_XDECREF(encoded);
    Py_XDECREF(source);
    return result;
}

/* ------------------------------------------------------------ module */

static PyMethodDef shanxi_methods[] = {
    {"loads", FASTCALL_METH(shanxi_loads), METH_FASTCALL | METH_KEYWORDS, loads_doc},
    {"load", FASTCALL_METH(shanxi_load), METH_FASTCALL | METH_KEYWORDS, load_doc},
    {"_register", FASTCALL_METH(shanxi_register), METH_FASTCALL | METH_KEYWORDS, register_doc},
    {"_read_chunks", FASTCALL_METH(read_chunked), METH_FASTCALL | METH_KEYWORDS, read_chunked_doc},
    {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(ParseError_doc,
             "Malformed input to shanxi.load/loads: a ValueError with .source (the path\n"
             "or '<string>'), .line and .column (1-based, as an editor counts) and\n"
             ".reason (what was expected).");

PyDoc_STRVAR(
    ParseWarning_doc,
    "A UserWarning from shanxi.load/loads: a header field that names no column\n"
    "but looks like a slip for an absent optional one (\"regoin\", \"Unit\", \" region\")\n"
    "is ignored, so that column is empty in every row.  Dataset.ignored_columns\n"
    "lists every field that was ignored.");

#if PY_VERSION_HEX < 0x030A0000
static int
restore_type_doc(PyTypeObject *type, const char *doc)
{
    size_t size = strlen(doc) + 1;
    char *copy = PyObject_Malloc(size);
    if (copy == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memcpy(copy, doc, size);
    PyObject_Free((void *)type->tp_doc);
    type->tp_doc = copy;
    PyType_Modified(type);
    return 0;
}
#endif

static PyTypeObject *
new_type(PyObject *module, PyType_Spec *spec)
{
    return (PyTypeObject *)PyType_FromModuleAndSpec(module, spec, NULL);
}

/* What messages and reprs call the embedded data: a user has the package,
 * not the data/ file it was built from. */
#define EMBEDDED_SOURCE "the embedded 2022 dataset"

/* The embedded data, parsed by the same parser users' files go through. */
static int
add_embedded(PyObject *module, shanxi_state *st)
{
    /* (its file's name, shanxi_embedded_name, only for a ParseError, which
     * a build of good data never raises) */
    PyObject *source = PyUnicode_FromString(shanxi_embedded_name);
    if (source == NULL) {
        return -1;
    }
    sx_table *table = NULL;
    sx_error err;
    memset(&err, 0, sizeof err);
    sx_status status = sx_table_parse(shanxi_embedded_csv, shanxi_embedded_len, &table, &err);
    if (status != SX_OK) {
        raise_core_error(st, status, &err, source);
        Py_DECREF(source);
        return -1;
    }
    Py_SETREF(source, PyUnicode_FromString(EMBEDDED_SOURCE));
    if (source == NULL) {
        sx_table_decref(table);
        return -1;
    }
    st->embedded = dataset_new(st, table, source, 1);
    Py_DECREF(source);
    if (st->embedded == NULL) {
        return -1;
    }
    return PyModule_AddObjectRef(module, "data", st->embedded);
}

static int
shanxi_exec(PyObject *module)
{
    shanxi_state *st = module_state(module);
    if ((st->Dataset_Type = new_type(module, &Dataset_Type_spec)) == NULL ||
        (st->Project_Type = new_type(module, &Project_Type_spec)) == NULL ||
        (st->Metric_Type = new_type(module, &Metric_Type_spec)) == NULL ||
        (st->Partial_Type = new_type(module, &Partial_Type_spec)) == NULL ||

        (st->Buffer_Type = new_type(module, &Buffer_Type_spec)) == NULL) {
        return -1;
    }
#ifdef SHANXI_CLEAR_TP_NEW
    st->Dataset_Type->tp_new = NULL;
    st->Partial_Type->tp_new = NULL;
#endif
#if PY_VERSION_HEX < 0x030A0000
    /* 3.9 drops the "Name(...)\n--\n\n" signature from a spec's tp_doc, which
     * inspect.signature() needs: put the full docstring back. */
    if (restore_type_doc(st->Metric_Type, Metric_doc) < 0 ||
        restore_type_doc(st->Project_Type, Project_doc) < 0) {
        return -1;
    }
#endif
    st->ParseError =
        PyErr_NewExceptionWithDoc("shanxi.ParseError", ParseError_doc, PyExc_ValueError, NULL);
    if (st->ParseError == NULL) {
        return -1;
    }
    st->ParseWarning =
        PyErr_NewExceptionWithDoc("shanxi.ParseWarning", ParseWarning_doc, PyExc_UserWarning, NULL);
    if (st->ParseWarning == NULL) {
        return -1;
    }
    if (PyModule_AddObjectRef(module, "Dataset", (PyObject *)st->Dataset_Type) < 0 ||
        PyModule_AddObjectRef(module, "Project", (PyObject *)st->Project_Type) < 0 ||
        PyModule_AddObjectRef(module, "Metric", (PyObject *)st->Metric_Type) < 0 ||
        PyModule_AddObjectRef(module, "Partial", (PyObject *)st->Partial_Type) < 0 ||
        PyModule_AddObjectRef(module, "ParseError", st->ParseError) < 0 ||
        PyModule_AddObjectRef(module, "ParseWarning", st->ParseWarning) < 0) {
        return -1;
    }
    return add_embedded(module, st);
}

static int
shanxi_traverse(PyObject *module, visitproc visit, void *arg)
{
    shanxi_state *st = module_state(module);
    Py_VISIT(st->Dataset_Type);
    Py_VISIT(st->Project_Type);
    Py_VISIT(st->Metric_Type);
    Py_VISIT(st->Partial_Type);
    Py_VISIT(st->ParseError);
    Py_VISIT(st->ParseWarning);
    Py_VISIT(st->embedded);
    Py_VISIT(st->date_type);
    Py_VISIT(st->frame_maker);
    Py_VISIT(st->html_maker);
    Py_VISIT(st->figures_type);
    Py_VISIT(st->Buffer_Type);
    Py_VISIT(st->chunks_maker);
    Py_VISIT(st->hint_maker);
    Py_VISIT(st->expanduser);
    Py_VISIT(st->paths_maker);
    return 0;
}

static int
shanxi_clear(PyObject *module)
{
    shanxi_state *st = module_state(module);
    Py_CLEAR(st->Dataset_Type);
    Py_CLEAR(st->Project_Type);
    Py_CLEAR(st->Metric_Type);
    Py_CLEAR(st->Partial_Type);
    Py_CLEAR(st->ParseError);
    Py_CLEAR(st->ParseWarning);
    Py_CLEAR(st->embedded);
    Py_CLEAR(st->date_type);
    Py_CLEAR(st->frame_maker);
    Py_CLEAR(st->html_maker);
    Py_CLEAR(st->figures_type);
    Py_CLEAR(st->Buffer_Type);
    Py_CLEAR(st->chunks_maker);
    Py_CLEAR(st->hint_maker);
    Py_CLEAR(st->expanduser);
    Py_CLEAR(st->paths_maker);
    return 0;
}

static void
shanxi_free(void *module)
{
    (void)shanxi_clear((PyObject *)module);
    /* the export's kept blocks (process-wide: another interpreter's next
     * export allocates afresh) */
    sx_arrow_free_spares();
}

static PyModuleDef_Slot shanxi_slots[] = {
    {Py_mod_exec, shanxi_exec},
#if PY_VERSION_HEX >= 0x030C0000
    /* Safe in interpreters with their own GIL: everything mutable lives in
     * the module state or in objects; the only process-wide state is the
     * parser's "C" locale, made once and published atomically (core/convert.c).
     * Tested by tests/test_threads.py.  Py_mod_gil is left undeclared: the
     * Dataset's lazy caches are filled without locks (see cache_publish),
     * so free-threaded builds must keep the GIL on for this module. */
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
    {0, NULL},
};

PyDoc_STRVAR(shanxi_doc, "The C core of shanxi: native storage, lookups and aggregation.  Use the\n"
                         "shanxi package, which re-exports everything public from here.");

static struct PyModuleDef shanxi_module = {
    PyModuleDef_HEAD_INIT,          .m_name = "shanxi._shanxi",  .m_doc = shanxi_doc,
    .m_size = sizeof(shanxi_state), .m_methods = shanxi_methods, .m_slots = shanxi_slots,
    .m_traverse = shanxi_traverse,  .m_clear = shanxi_clear,     .m_free = shanxi_free,
};

PyMODINIT_FUNC
PyInit__shanxi(void)
{
    return PyModuleDef_Init(&shanxi_module);
}
