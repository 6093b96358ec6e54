/*
 * partial.c -- shanxi.Partial, an exact partial aggregate (the core's
 * include/shanxi/partial.h): made by Dataset.partial(), merged with
 * merge()/merge_all(), turned into aggregate()'s answer by result(), and
 * pickled as a compact versioned blob (to_bytes()/from_bytes()).  A
 * Partial is immutable: merging makes a new one.
 */
#include "binding.h"

#include <string.h>

#include "shanxi/partial.h"

typedef struct {
    PyObject_HEAD sx_partial *partial;
} PartialObject;

#define Partial_CAST(op) ((PartialObject *)(op))

/* A new Partial owning p (also on failure, when p is freed). */
static PyObject *
partial_wrap(shanxi_state *st, sx_partial *p)
{
    PartialObject *self = PyObject_GC_New(PartialObject, st->Partial_Type);
    if (self == NULL) {
        sx_partial_free(p);
        return NULL;
    }
    self->partial = p;
    PyObject_GC_Track((PyObject *)self);
    return (PyObject *)self;
}

static void
raise_partial_error(shanxi_state *st, sx_status status, const sx_error *err)
{
    raise_core_error(st, status, err, Py_None);
}

static sx_error
no_error(void)
{
    sx_error err;
    err.status = SX_OK;
    err.line = err.column = 0;
    err.message[0] = '\0';
    return err;
}

/* ------------------------------------------------------------ Dataset.partial */

const char Dataset_partial_doc[] =
    PyDoc_STR("partial($self, /, func='sum', *, by=None, seq=0, project=None, metric=None, "
              "unit=None, category=None, region=None, since=None, until=None)\n"
              "--\n\n"
              "The exact partial aggregate of the figures the filters select: a\n"
              "shanxi.Partial whose result() is aggregate(func, by=by, ...) and which\n"
              "merges with the partials of other datasets (other files, other machines)\n"
              "into the aggregate of all their figures, bit for bit in any order.\n\n"
              "seq places these figures in the whole (e.g. the index of the file): when\n"
              "equal extremes differ only in being an int or a float, min and max keep\n"
              "the one first in (seq, row) order, as aggregate() over the whole keeps the\n"
              "first.  by is as aggregate() takes it: a str, or a tuple of several keys.\n"
              "A filter value this dataset lacks selects nothing here (another part may\n"
              "have it); result() raises aggregate()'s KeyError when no merged part had it.");

/* The message of the KeyError being raised, which is cleared; NULL with
 * any other exception left raised. */
static PyObject *
take_key_error(void)
{
    if (!PyErr_ExceptionMatches(PyExc_KeyError)) {
        return NULL;
    }
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *exc = PyErr_GetRaisedException();
#else
    PyObject *type, *exc, *tb;
    PyErr_Fetch(&type, &exc, &tb);
    PyErr_NormalizeException(&type, &exc, &tb);
    Py_XDECREF(type);
    Py_XDECREF(tb);
#endif
    if (exc == NULL) {
        return PyUnicode_FromString("");
    }
    PyObject *args = PyObject_GetAttrString(exc, "args"), *msg = NULL;
    if (args != NULL && PyTuple_Check(args) && PyTuple_GET_SIZE(args) == 1 &&
        PyUnicode_Check(PyTuple_GET_ITEM(args, 0))) {
        msg = Py_NewRef(PyTuple_GET_ITEM(args, 0));
    } else if (args != NULL) {
        msg = PyObject_Str(exc);
    }
    Py_XDECREF(args);
    Py_DECREF(exc);
    return msg;
}

/* What identifies a filter's value across parts: repr() of a str, of a
 * project's number (an int, a Project), or of anything else. */
static PyObject *
filter_value_text(shanxi_state *st, PyObject *value)
{
    if (Py_IS_TYPE(value, st->Project_Type)) {
        return PyUnicode_FromFormat("%ld", (long)Project_CAST(value)->number);
    }
    if (!PyUnicode_Check(value) && PyIndex_Check(value)) {
        PyObject *number = PyNumber_Index(value);
        PyObject *text = number ? PyObject_Repr(number) : NULL;
        Py_XDECREF(number);
        return text;
    }
    return PyObject_Repr(value);
}

/* s as UTF-8 bytes (what cannot be encoded backslash-escaped). */
static PyObject *
utf8_bytes(PyObject *s)
{
    return PyUnicode_AsEncodedString(s, "utf-8", "backslashreplace");
}

/* Notes in p that filter i's value was found, or not (message). */
static int
note_filter(shanxi_state *st, sx_partial *p, int i, PyObject *value, PyObject *message, int64_t seq)
{
    PyObject *text = filter_value_text(st, value);
    PyObject *vbytes = text ? utf8_bytes(text) : NULL;
    PyObject *mbytes = vbytes && message ? utf8_bytes(message) : NULL;
    int ok = vbytes != NULL && (message == NULL || mbytes != NULL);
    if (ok &&
        sx_partial_note_filter(p, i, PyBytes_AS_STRING(vbytes), (size_t)PyBytes_GET_SIZE(vbytes),
                               message == NULL, seq, mbytes ? PyBytes_AS_STRING(mbytes) : NULL,
                               mbytes ? (size_t)PyBytes_GET_SIZE(mbytes) : 0) != SX_OK) {
        PyErr_NoMemory();
        ok = 0;
    }
    Py_XDECREF(text);
    Py_XDECREF(vbytes);
    Py_XDECREF(mbytes);
    return ok ? 0 : -1;
}

PyObject *
Dataset_partial(PyObject *op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    enum { P_FUNC, P_BY, P_SEQ, P_FILTERS, P_COUNT = P_FILTERS + F_COUNT };
    static const char *const names[] = {"func", "by", "seq", FILTER_NAMES};
    static const argspec spec = {"partial", names, P_COUNT, 1, 0};
    DatasetObject *ds = Dataset_CAST(op);
    shanxi_state *st = object_state(op);
    PyObject *vals[P_COUNT];
    if (parse_args(&spec, args, nargs, kwnames, vals) < 0) {
        return NULL;
    }
    int func = vals[P_FUNC]
                   ? name_index(vals[P_FUNC], "aggregation func", sx_func_names, SX_NFUNCS, 0)
                   : SX_SUM;
    if (func < 0) {
        return NULL;
    }
    sx_by keys[SX_PARTIAL_MAX_KEYS];
    int nby = 0, tuple = vals[P_BY] != NULL && PyTuple_Check(vals[P_BY]);
    if (tuple) {
        nby = by_keys(vals[P_BY], keys);
    } else if (vals[P_BY] != NULL && vals[P_BY] != Py_None) {
        if (!PyUnicode_Check(vals[P_BY])) {
            PyErr_Format(PyExc_TypeError, "by must be a str or a tuple of str, not %.100s",
                         Py_TYPE(vals[P_BY])->tp_name);
            return NULL;
        }
        int by = name_index(vals[P_BY], "by", sx_by_names, SX_NBYS, 1);
        keys[0] = (sx_by)by;
        nby = by < 0 ? -1 : 1;
    }
    if (nby < 0) {
        return NULL;
    }
    long long seq = 0;
    if (vals[P_SEQ] != NULL) {
        if (!PyLong_Check(vals[P_SEQ]) || PyBool_Check(vals[P_SEQ])) {
            PyErr_Format(PyExc_TypeError, "partial() seq must be an int, not %.100s",
                         Py_TYPE(vals[P_SEQ])->tp_name);
            return NULL;
        }
        seq = PyLong_AsLongLong(vals[P_SEQ]);
        if (seq == -1 && PyErr_Occurred()) {
            return NULL;
        }
    }
    /* Each value looked up on its own: a part may lack one another part
     * has, so a miss is noted (with aggregate()'s KeyError, which result()
     * raises if no part had it) and selects none of this part's figures. */
    PyObject **filters = vals + P_FILTERS, *missing[F_COUNT] = {NULL};
    PyObject *result = NULL;
    int nmissing = 0;
    sx_filter f;
    for (int i = F_PROJECT; i <= F_REGION; i++) {
        if (filters[i] == NULL || filters[i] == Py_None) {
            continue;
        }
        PyObject *one[F_COUNT] = {NULL};
        one[i] = filters[i];
        if (build_filter(ds, one, &f) < 0) {
            if ((missing[i] = take_key_error()) == NULL) {
                goto error;
            }
            nmissing++;
        }
    }
    PyObject *dates[F_COUNT] = {[F_SINCE] = filters[F_SINCE], [F_UNTIL] = filters[F_UNTIL]};
    if (build_filter(ds, nmissing ? dates : filters, &f) < 0) {
        goto error;
    }
    if (nmissing) {
        f.project = -1; /* no project: none of this part's figures */
    }
    sx_partial *p = NULL;
    sx_error err = no_error();
    sx_status status;
    Py_BEGIN_ALLOW_THREADS;
    status = sx_partial_new_keys(ds->table, &f, (sx_func)func, keys, nby, tuple, seq, &p, &err);
    Py_END_ALLOW_THREADS;
    if (status != SX_OK) {
        raise_partial_error(st, status, &err);
        goto error;
    }
    /* A part that has seen no projects (no rows, and no dictionaries kept
     * from rows) knows nothing of the values: its message ("... has no
     * projects") gives way to any other part's, whatever their seq. */
    int64_t note_seq = ds->table->nprojects == 0 ? INT64_MAX : seq;
    for (int i = F_PROJECT; i <= F_REGION; i++) {
        if (filters[i] != NULL && filters[i] != Py_None &&
            note_filter(st, p, i, filters[i], missing[i], note_seq) < 0) {
            sx_partial_free(p);
            goto error;
        }
    }
    result = partial_wrap(st, p);
error:
    for (int i = 0; i < F_COUNT; i++) {
        Py_XDECREF(missing[i]);
    }
    return result;
}

/* The grouping as by= gave it: None, a str, or a tuple of str. */
static PyObject *
by_object(const sx_partial *p)
{
    sx_by by[SX_PARTIAL_MAX_KEYS];
    int n = sx_partial_keys(p, by);
    if (!sx_partial_tuple(p)) {
        if (n == 0) {
            Py_RETURN_NONE;
        }
        return PyUnicode_FromString(sx_by_names[by[0]]);
    }
    PyObject *names = PyTuple_New(n);
    for (int k = 0; names != NULL && k < n; k++) {
        PyObject *name = PyUnicode_FromString(sx_by_names[by[k]]);
        if (name == NULL) {
            Py_CLEAR(names);
            break;
        }
        PyTuple_SET_ITEM(names, k, name);
    }
    return names;
}

/* The grouping in a message: "none", "unit" or "('region', 'month')". */
static PyObject *
by_text(const sx_partial *p)
{
    PyObject *by = by_object(p);
    PyObject *text = by == Py_None ? PyUnicode_FromString("none") : by ? PyObject_Str(by) : NULL;
    Py_XDECREF(by);
    return text;
}

/* ------------------------------------------------------------ merging */

/* a + b for two Partials; TypeError for another kind of object or for
 * partials of different aggregations. */
static int
check_partner(shanxi_state *st, const sx_partial *a, PyObject *other, const char *what)
{
    if (!Py_IS_TYPE(other, st->Partial_Type)) {
        PyErr_Format(PyExc_TypeError, "%s takes shanxi.Partial objects, not %.100s", what,
                     Py_TYPE(other)->tp_name);
        return -1;
    }
    const sx_partial *b = Partial_CAST(other)->partial;
    if (a != NULL && !sx_partial_compatible(a, b)) {
        PyObject *ba = by_text(a), *bb = by_text(b);
        if (ba != NULL && bb != NULL) {
            PyErr_Format(
                PyExc_TypeError, "%s: cannot merge a partial %s by %U with a partial %s by %U",
                what, sx_func_names[sx_partial_func(a)], ba, sx_func_names[sx_partial_func(b)], bb);
        }
        Py_XDECREF(ba);
        Py_XDECREF(bb);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(Partial_merge_doc, "merge($self, other, /)\n--\n\n"
                                "A new Partial of both partials' figures (exact: the order of\n"
                                "merging never changes a result).  TypeError for partials of\n"
                                "another func or by.");

static PyObject *
Partial_merge(PyObject *op, PyObject *other)
{
    shanxi_state *st = object_state(op);
    const sx_partial *a = Partial_CAST(op)->partial;
    if (check_partner(st, a, other, "merge()") < 0) {
        return NULL;
    }
    const sx_partial *b = Partial_CAST(other)->partial;
    sx_partial *out = NULL;
    sx_error err = no_error();
    sx_status status;
    Py_BEGIN_ALLOW_THREADS;
    status = sx_partial_copy(a, &out);
    if (status == SX_OK && (status = sx_partial_merge_into(out, b, &err)) != SX_OK) {
        sx_partial_free(out);
    }
    Py_END_ALLOW_THREADS;
    if (status != SX_OK) {
        raise_partial_error(st, status, &err);
        return NULL;
    }
    return partial_wrap(st, out);
}

PyDoc_STRVAR(Partial_merge_all_doc,
             "merge_all(partials, /)\n--\n\n"
             "One Partial of all the partials an iterable gives (at least one), merged\n"
             "in one pass.");

static PyObject *
Partial_merge_all(PyObject *type, PyObject *iterable)
{
    shanxi_state *st = (shanxi_state *)PyType_GetModuleState((PyTypeObject *)type);
    PyObject *it = PyObject_GetIter(iterable), *item = NULL;
    sx_partial *acc = NULL;
    if (it == NULL) {
        return NULL;
    }
    while ((item = PyIter_Next(it)) != NULL) {
        if (check_partner(st, acc, item, "merge_all()") < 0) {
            goto error;
        }
        const sx_partial *b = Partial_CAST(item)->partial;
        sx_error err = no_error();
        sx_status status;
        Py_BEGIN_ALLOW_THREADS;
        status = acc == NULL ? sx_partial_copy(b, &acc) : sx_partial_merge_into(acc, b, &err);
        Py_END_ALLOW_THREADS;
        if (status != SX_OK) {
            raise_partial_error(st, status, &err);
            goto error;
        }
        Py_CLEAR(item);
    }
    if (PyErr_Occurred()) {
        goto error;
    }
    Py_DECREF(it);
    if (acc == NULL) {
        PyErr_SetString(PyExc_ValueError, "merge_all() of no partials");
        return NULL;
    }
    return partial_wrap(st, acc);
error:
    Py_XDECREF(item);
    Py_DECREF(it);
    sx_partial_free(acc);
    return NULL;
}

/* ------------------------------------------------------------ result */

static PyObject *
key_object(shanxi_state *st, sx_by by, const sx_pkey *k)
{
    switch (by) {
    case SX_BY_PROJECT:
        return PyLong_FromLongLong(k->num);
    case SX_BY_AS_OF:
        return date_from_days(st, (int32_t)k->num);
    case SX_BY_MONTH:
        return month_object(k->num);
    default:
        if (k->str == NULL) {
            Py_RETURN_NONE;
        }
        return PyUnicode_DecodeUTF8(k->str, (Py_ssize_t)k->len, "strict");
    }
}

PyDoc_STRVAR(Partial_result_doc,
             "result($self, /)\n--\n\n"
             "What aggregate(func, by=by, ...) over all the merged figures gives: one\n"
             "number, or a dict ordered by group (keyed by tuples when by was a tuple);\n"
             "exact ints for integer sums, float sums correctly rounded.  Raises as\n"
             "aggregate() does (a filter value no merged part had, units that mix, the\n"
             "mean, min or max of no figures).");

static PyObject *
Partial_result(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    shanxi_state *st = object_state(op);
    const sx_partial *p = Partial_CAST(op)->partial;
    sx_func func = sx_partial_func(p);
    sx_by by[SX_PARTIAL_MAX_KEYS];
    int nby = sx_partial_keys(p, by), tuple = sx_partial_tuple(p);
    const char *missing;
    size_t missing_len;
    if (sx_partial_missing(p, &missing, &missing_len)) {
        /* aggregate() looks its filters up first */
        PyObject *msg = PyUnicode_DecodeUTF8(missing, (Py_ssize_t)missing_len, "replace");
        if (msg != NULL) {
            PyErr_SetObject(PyExc_KeyError, msg);
            Py_DECREF(msg);
        }
        return NULL;
    }
    sx_partial_row *rows = NULL;
    int64_t n = 0;
    sx_error err = no_error();
    sx_status status;
    Py_BEGIN_ALLOW_THREADS;
    status = sx_partial_result(p, &rows, &n, &err);
    Py_END_ALLOW_THREADS;
    if (status == SX_ERR_EMPTY && nby > 0) {
        return PyDict_New(); /* grouped: no figures is no groups */
    }
    if (status != SX_OK) {
        raise_partial_error(st, status, &err);
        return NULL;
    }
    PyObject *result = NULL, *out = NULL, *k = NULL, *v = NULL;
    if (nby == 0) {
        result = group_value(&rows[0].value, func);
        goto error;
    }
    if ((out = PyDict_New()) == NULL) {
        goto error;
    }
    for (int64_t i = 0; i < n; i++) {
        k = tuple ? PyTuple_New(nby) : key_object(st, by[0], &rows[i].key[0]);
        for (int j = 0; tuple && k != NULL && j < nby; j++) {
            PyObject *part = key_object(st, by[j], &rows[i].key[j]);
            if (part == NULL) {
                Py_CLEAR(k);
                break;
            }
            PyTuple_SET_ITEM(k, j, part);
        }
        v = k ? group_value(&rows[i].value, func) : NULL;
        if (v == NULL || PyDict_SetItem(out, k, v) < 0) {
            goto error;
        }
        Py_CLEAR(k);
        Py_CLEAR(v);
    }
    result = Py_NewRef(out);
error:
    Py_XDECREF(out);
    Py_XDECREF(k);
    Py_XDECREF(v);
    free(rows);
    return result;
}

/* ------------------------------------------------------------ bytes and pickle */

PyDoc_STRVAR(Partial_to_bytes_doc,
             "to_bytes($self, /)\n--\n\n"
             "The partial as a compact, versioned blob (a few bytes per group), for\n"
             "Partial.from_bytes(); pickling uses it too.");

static PyObject *
Partial_to_bytes(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    unsigned char *buf = NULL;
    size_t len = 0;
    if (sx_partial_encode(Partial_CAST(op)->partial, &buf, &len) != SX_OK) {
        return PyErr_NoMemory();
    }
    PyObject *blob = PyBytes_FromStringAndSize((const char *)buf, (Py_ssize_t)len);
    free(buf);
    return blob;
}

PyDoc_STRVAR(Partial_from_bytes_doc,
             "from_bytes(blob, /)\n--\n\n"
             "The Partial that to_bytes() gave blob for.  ValueError for bytes that are\n"
             "not one (foreign, truncated or corrupted).");

static PyObject *
Partial_from_bytes(PyObject *type, PyObject *blob)
{
    shanxi_state *st = (shanxi_state *)PyType_GetModuleState((PyTypeObject *)type);
    Py_buffer view;
    if (PyObject_GetBuffer(blob, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    sx_partial *p = NULL;
    sx_error err = no_error();
    sx_status status = sx_partial_decode(view.buf, (size_t)view.len, &p, &err);
    PyBuffer_Release(&view);
    if (status != SX_OK) {
        raise_partial_error(st, status, &err);
        return NULL;
    }
    return partial_wrap(st, p);
}

static PyObject *
Partial_reduce(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    PyObject *maker = PyObject_GetAttrString((PyObject *)Py_TYPE(op), "from_bytes");
    PyObject *blob = maker ? Partial_to_bytes(op, NULL) : NULL;
    PyObject *out = blob ? Py_BuildValue("(O(O))", maker, blob) : NULL;
    Py_XDECREF(maker);
    Py_XDECREF(blob);
    return out;
}

/* ------------------------------------------------------------ the type */

static PyObject *
Partial_get_func(PyObject *op, void *Py_UNUSED(closure))
{
    return PyUnicode_FromString(sx_func_names[sx_partial_func(Partial_CAST(op)->partial)]);
}

static PyObject *
Partial_get_by(PyObject *op, void *Py_UNUSED(closure))
{
    return by_object(Partial_CAST(op)->partial);
}

static PyObject *
Partial_get_rows(PyObject *op, void *Py_UNUSED(closure))
{
    return PyLong_FromLongLong(sx_partial_rows(Partial_CAST(op)->partial));
}

static Py_ssize_t
Partial_len(PyObject *op)
{
    return (Py_ssize_t)sx_partial_ngroups(Partial_CAST(op)->partial);
}

static PyObject *
Partial_repr(PyObject *op)
{
    const sx_partial *p = Partial_CAST(op)->partial;
    sx_by by[SX_PARTIAL_MAX_KEYS];
    PyObject *text = sx_partial_keys(p, by) > 0 ? by_text(p) : PyUnicode_FromString("");
    if (text == NULL) {
        return NULL;
    }
    long long ng = (long long)sx_partial_ngroups(p), nr = (long long)sx_partial_rows(p);
    PyObject *r = PyUnicode_FromFormat("<shanxi.Partial %s%s%U: %lld group%s, %lld figure%s>",
                                       sx_func_names[sx_partial_func(p)],
                                       PyUnicode_GET_LENGTH(text) ? " by " : "", text, ng,
                                       ng == 1 ? "" : "s", nr, nr == 1 ? "" : "s");
    Py_DECREF(text);
    return r;
}

static int
Partial_traverse(PyObject *op, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(op));
    return 0;
}

static void
Partial_dealloc(PyObject *op)
{
    PyTypeObject *tp = Py_TYPE(op);
    PyObject_GC_UnTrack(op);
    sx_partial_free(Partial_CAST(op)->partial);
    tp->tp_free(op);
    Py_DECREF(tp);
}

static PyMethodDef Partial_methods[] = {
    {"merge", Partial_merge, METH_O, Partial_merge_doc},
    {"merge_all", Partial_merge_all, METH_O | METH_CLASS, Partial_merge_all_doc},
    {"result", Partial_result, METH_NOARGS, Partial_result_doc},
    {"to_bytes", Partial_to_bytes, METH_NOARGS, Partial_to_bytes_doc},
    {"from_bytes", Partial_from_bytes, METH_O | METH_CLASS, Partial_from_bytes_doc},
    {"__reduce__", Partial_reduce, METH_NOARGS,
     "__reduce__($self, /)\n--\n\nPickles as Partial.from_bytes(self.to_bytes())."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Partial_getset[] = {
    {"func", Partial_get_func, NULL, "The aggregation: 'sum', 'count', 'mean', 'min' or 'max'.",
     NULL},
    {"by", Partial_get_by, NULL, "The grouping as by= gave it (a str or a tuple), or None.", NULL},
    {"rows", Partial_get_rows, NULL, "How many figures the partial aggregates.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyDoc_STRVAR(Partial_doc,
             "An exact partial aggregate, from Dataset.partial(); immutable.\n\n"
             "a.merge(b) and Partial.merge_all(parts) combine partials; result() gives\n"
             "what aggregate() over all their figures gives; len() is the number of\n"
             "groups.  Pickles compactly (to_bytes()).");

static PyType_Slot Partial_Type_slots[] = {
    {Py_tp_doc, (void *)Partial_doc},
    {Py_tp_repr, Partial_repr},
    {Py_tp_methods, Partial_methods},
    {Py_tp_getset, Partial_getset},
    {Py_tp_traverse, Partial_traverse},
    {Py_tp_dealloc, Partial_dealloc},
    {Py_sq_length, Partial_len},
    {Py_mp_length, Partial_len},
    {0, NULL},
};

PyType_Spec Partial_Type_spec = {
    .name = "shanxi.Partial",
    .basicsize = sizeof(PartialObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
             Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = Partial_Type_slots,
};
