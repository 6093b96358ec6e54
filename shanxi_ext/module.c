/*
 * shanxi._shanxi -- the Python binding of the shanxi C core.
 *
 * The core (include/shanxi/core.h, shanxi_ext/core/) parses and stores the
 * data in native columns and answers queries; this file only turns Python
 * arguments into core calls and core results and errors into Python objects.
 *
 * Layout follows CPython's Modules/xxlimited.c: multi-phase init, heap types
 * made with PyType_FromModuleAndSpec, everything per-interpreter in the module
 * state.  Python objects for rows are made on first access and cached on the
 * Dataset, so lookups return the same object each time and a loaded file of
 * millions of rows costs no Python object until one is asked for.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <errno.h>
#include <math.h>
#include <string.h>
#ifndef _WIN32
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

#include "shanxi/core.h"
#include "shanxi/arrow.h"
#include "shanxi_embedded_data.h"   /* generated at build time by tools/embed_data.py */

/* ------------------------------------------------------------ compatibility */

#if PY_VERSION_HEX < 0x030A0000
static inline PyObject *
Py_NewRef(PyObject *o)
{
    Py_INCREF(o);
    return o;
}
static inline PyObject *
Py_XNewRef(PyObject *o)
{
    Py_XINCREF(o);
    return o;
}
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

#ifndef Py_TPFLAGS_IMMUTABLETYPE
#define Py_TPFLAGS_IMMUTABLETYPE 0
#endif
#ifndef Py_TPFLAGS_DISALLOW_INSTANTIATION
#define Py_TPFLAGS_DISALLOW_INSTANTIATION 0
#define SHANXI_CLEAR_TP_NEW 1   /* 3.9: block instantiation by hand */
#endif

/* ------------------------------------------------------------ module state */

typedef struct {
    PyTypeObject *Dataset_Type;
    PyTypeObject *Project_Type;
    PyTypeObject *Metric_Type;
    PyObject *ParseError;
    PyObject *embedded;      /* the Dataset compiled into the extension */
    PyObject *date_type;     /* datetime.date, imported on first use */
} shanxi_state;

static inline shanxi_state *
module_state(PyObject *module)
{
    return (shanxi_state *)PyModule_GetState(module);
}

/* Every type here is final, so an instance's own type is the defining one. */
static inline shanxi_state *
object_state(PyObject *self)
{
    return (shanxi_state *)PyType_GetModuleState(Py_TYPE(self));
}

/* ------------------------------------------------------------ objects */

/* The key objects of one grouped result, to make later dicts with the same
 * keys by copying (see grouped_dict). */
typedef struct {
    PyObject *dict;                /* key -> None, in group order */
    PyObject *tuple;               /* the same key objects, in the same order */
    int64_t n;
    int64_t keys[];                /* the core's group keys, in the same order */
} group_keys;

typedef struct {
    PyObject_HEAD
    sx_table *table;
    PyObject *source;              /* str: path, "<string>" or the data file */
    PyObject **metric_cache;       /* nrows Metric objects, made on access */
    PyObject **project_cache;      /* nprojects Project objects */
    PyObject **str_cache[SX_NSTRCOLS];   /* a str per dictionary code */
    PyObject *metric_index;        /* dict: key -> Metric, for repeat lookups */
    PyObject *project_words;       /* dict: casefolded word -> index | tuple */
    PyObject *projects_tuple;
    PyObject *metrics_tuple;
    group_keys *kept_keys[SX_NBYS];    /* per by: see grouped_dict */
    int embedded;
} DatasetObject;

typedef struct {
    PyObject_HEAD
    PyObject *key, *label, *value, *unit, *part_of, *region, *category;
    int32_t project;
    int32_t as_of;
    int32_t period_start;          /* SX_NO_DATE when none */
    Py_hash_t hash;                /* -1 until computed */
} MetricObject;

typedef struct {
    PyObject_HEAD
    int32_t number;
    int32_t as_of;                 /* SX_NO_DATE when it has no figures */
    PyObject *key, *title, *category;
    PyObject *metrics;             /* tuple, or NULL until asked for */
    PyObject *dataset;             /* where metrics come from, or NULL */
    Py_hash_t hash;
} ProjectObject;

#define Dataset_CAST(op) ((DatasetObject *)(op))
#define Metric_CAST(op) ((MetricObject *)(op))
#define Project_CAST(op) ((ProjectObject *)(op))

/* ------------------------------------------------------------ errors */

/* Raise the Python exception for a failed core call. */
static void
raise_core_error(shanxi_state *st, sx_status status, const sx_error *err, PyObject *source)
{
    const char *message = (err && err->message[0]) ? err->message : "internal error";
    switch (status) {
    case SX_ERR_NOMEM:
        PyErr_NoMemory();
        return;
    case SX_ERR_PARSE: {
        /* str(e) reads like a compiler's "file:line:column: message". */
        PyObject *text = PyUnicode_FromFormat("%S:%llu:%llu: %s", source,
                                              (unsigned long long)err->line,
                                              (unsigned long long)err->column, message);
        PyObject *exc = text ? PyObject_CallOneArg(st->ParseError, text) : NULL;
        PyObject *line = PyLong_FromUnsignedLongLong(err->line);
        PyObject *column = PyLong_FromUnsignedLongLong(err->column);
        PyObject *reason = PyUnicode_FromString(message);
        if (exc != NULL && line != NULL && column != NULL && reason != NULL
            && PyObject_SetAttrString(exc, "source", source) == 0
            && PyObject_SetAttrString(exc, "line", line) == 0
            && PyObject_SetAttrString(exc, "column", column) == 0
            && PyObject_SetAttrString(exc, "reason", reason) == 0) {
            PyErr_SetObject(st->ParseError, exc);
        }
        Py_XDECREF(text);
        Py_XDECREF(exc);
        Py_XDECREF(line);
        Py_XDECREF(column);
        Py_XDECREF(reason);
        return;
    }
    case SX_ERR_LIMIT:
        PyErr_SetString(PyExc_OverflowError, message);
        return;
    default:
        PyErr_SetString(PyExc_ValueError, message);
        return;
    }
}

/* ------------------------------------------------------------ dates */

static PyObject *
date_type(shanxi_state *st)
{
    if (st->date_type == NULL) {
        /* Imported here, not at import time: most uses never need a date. */
        PyObject *datetime = PyImport_ImportModule("datetime");
        if (datetime == NULL) {
            return NULL;
        }
        PyObject *type = PyObject_GetAttrString(datetime, "date");
        Py_DECREF(datetime);
        if (type == NULL) {
            return NULL;
        }
        /* The import may have let another thread run and fill it. */
        if (st->date_type == NULL) {
            st->date_type = type;
        } else {
            Py_DECREF(type);
        }
    }
    return st->date_type;
}

static PyObject *
date_from_days(shanxi_state *st, int32_t days)
{
    if (days == SX_NO_DATE) {
        Py_RETURN_NONE;
    }
    PyObject *type = date_type(st);
    if (type == NULL) {
        return NULL;
    }
    int32_t y;
    unsigned m, d;
    sx_civil_from_days(days, &y, &m, &d);
    return PyObject_CallFunction(type, "iII", (int)y, m, d);
}

/* A date argument: a datetime.date (or datetime, whose date part counts) or
 * an ISO "YYYY-MM-DD" string.  None gives SX_NO_DATE when allow_none. */
static int
days_from_object(shanxi_state *st, PyObject *obj, const char *what, int allow_none, int32_t *days)
{
    if (obj == Py_None && allow_none) {
        *days = SX_NO_DATE;
        return 0;
    }
    if (PyUnicode_Check(obj)) {
        Py_ssize_t len;
        const char *s = PyUnicode_AsUTF8AndSize(obj, &len);
        if (s == NULL) {
            /* lone surrogates: not a date either, say so plainly */
            PyErr_Clear();
        }
        if (s == NULL || !sx_parse_iso_date(s, (size_t)len, days)) {
            PyErr_Format(PyExc_ValueError,
                         "%s must be a date as YYYY-MM-DD, not %R", what, obj);
            return -1;
        }
        return 0;
    }
    PyObject *type = date_type(st);
    if (type == NULL) {
        return -1;
    }
    int ok = PyObject_IsInstance(obj, type);
    if (ok < 0) {
        return -1;
    }
    if (!ok) {
        PyErr_Format(PyExc_TypeError, "%s must be a datetime.date or a 'YYYY-MM-DD' string, not %.100s",
                     what, Py_TYPE(obj)->tp_name);
        return -1;
    }
    /* datetime.date.toordinal(obj) reads the date's own fields, whatever a
     * subclass makes of .year, .month and .day. */
    PyObject *ordinal = PyObject_CallMethod(type, "toordinal", "O", obj);
    if (ordinal == NULL) {
        return -1;
    }
    long n = PyLong_AsLong(ordinal);
    Py_DECREF(ordinal);
    if (n == -1 && PyErr_Occurred()) {
        return -1;
    }
    *days = (int32_t)(n - 719163);   /* date(1970, 1, 1).toordinal() */
    return 0;
}

/* ------------------------------------------------------------ argument parsing */

/* s == ascii for a str s.  Keyword names at call sites and nearly all
 * argument strs are compact ASCII: those are compared in place, which costs
 * a few instructions where PyUnicode_CompareWithASCIIString costs a call and
 * a strlen per name tried. */
static int
str_equals_ascii(PyObject *s, const char *ascii)
{
    if (PyUnicode_IS_COMPACT_ASCII(s)) {
        const char *data = (const char *)PyUnicode_DATA(s);
        Py_ssize_t n = PyUnicode_GET_LENGTH(s), i = 0;
        while (i < n && ascii[i] != '\0' && ascii[i] == data[i]) {
            i++;
        }
        return i == n && ascii[i] == '\0';
    }
    return PyUnicode_CompareWithASCIIString(s, ascii) == 0;
}

/* One keyword parser for every METH_FASTCALL|METH_KEYWORDS function: names
 * lists every parameter; the first maxpos may come positionally and the
 * first required must be given.  out[i] is the borrowed argument or NULL. */
typedef struct {
    const char *fname;
    const char *const *names;
    int nnames;
    int maxpos;
    int required;
} argspec;

static int
parse_args(const argspec *spec, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
           PyObject **out)
{
    for (int i = 0; i < spec->nnames; i++) {
        out[i] = NULL;
    }
    if (nargs > spec->maxpos) {
        if (spec->maxpos == 0) {
            PyErr_Format(PyExc_TypeError, "%s() takes no positional arguments", spec->fname);
        } else {
            PyErr_Format(PyExc_TypeError, "%s() takes at most %d positional argument%s (%zd given)",
                         spec->fname, spec->maxpos, spec->maxpos == 1 ? "" : "s", nargs);
        }
        return -1;
    }
    for (Py_ssize_t i = 0; i < nargs; i++) {
        out[i] = args[i];
    }
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t k = 0; k < nkw; k++) {
        PyObject *name = PyTuple_GET_ITEM(kwnames, k);
        int found = -1;
        for (int i = 0; i < spec->nnames; i++) {
            if (str_equals_ascii(name, spec->names[i])) {
                found = i;
                break;
            }
        }
        if (found < 0) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'",
                         spec->fname, name);
            return -1;
        }
        if (out[found] != NULL) {
            PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'",
                         spec->fname, spec->names[found]);
            return -1;
        }
        out[found] = args[nargs + k];
    }
    for (int i = 0; i < spec->required; i++) {
        if (out[i] == NULL) {
            PyErr_Format(PyExc_TypeError, "%s() missing required argument '%s'",
                         spec->fname, spec->names[i]);
            return -1;
        }
    }
    return 0;
}

/* The filters every query takes, in this order after its own parameters. */
enum { F_PROJECT, F_METRIC, F_UNIT, F_CATEGORY, F_REGION, F_SINCE, F_UNTIL, F_COUNT };
#define FILTER_NAMES "project", "metric", "unit", "category", "region", "since", "until"

/* ------------------------------------------------------------ Dataset: caches */

static PyObject *
dataset_str(DatasetObject *ds, sx_strcol col, int32_t code)
{
    if (code == SX_NULL_CODE) {
        Py_RETURN_NONE;
    }
    PyObject **cache = ds->str_cache[col];
    if (cache == NULL) {
        cache = PyMem_Calloc((size_t)ds->table->dicts[col].count, sizeof(PyObject *));
        if (cache == NULL) {
            return PyErr_NoMemory();
        }
        ds->str_cache[col] = cache;
    }
    if (cache[code] == NULL) {
        size_t len;
        const char *s = sx_dict_str(&ds->table->dicts[col], code, &len);
        PyObject *str = PyUnicode_DecodeUTF8(s, (Py_ssize_t)len, "strict");
        if (str == NULL) {
            return NULL;
        }
        /* cppcheck-suppress knownConditionTrueFalse ; decoding may run other threads */
        if (cache[code] == NULL) {
            cache[code] = str;
        } else {
            Py_DECREF(str);   /* another thread made it meanwhile */
        }
    }
    return Py_NewRef(cache[code]);
}

static PyObject *
dataset_row_str(DatasetObject *ds, sx_strcol col, int64_t row)
{
    return dataset_str(ds, col, sx_code_at(ds->table, col, row));
}

static PyObject *
value_object(double value, int is_int)
{
    if (is_int) {
        return PyLong_FromLongLong((long long)value);
    }
    return PyFloat_FromDouble(value);
}

/* The Metric of a row: made once, then the same object every time. */
static PyObject *
dataset_metric_at(DatasetObject *ds, int64_t row)
{
    const sx_table *t = ds->table;
    if (ds->metric_cache == NULL) {
        ds->metric_cache = PyMem_Calloc((size_t)t->nrows, sizeof(PyObject *));
        if (ds->metric_cache == NULL) {
            return PyErr_NoMemory();
        }
    }
    if (ds->metric_cache[row] != NULL) {
        return Py_NewRef(ds->metric_cache[row]);
    }
    shanxi_state *st = object_state((PyObject *)ds);
    MetricObject *m = PyObject_New(MetricObject, st->Metric_Type);
    if (m == NULL) {
        return NULL;
    }
    m->key = m->label = m->value = m->unit = m->part_of = m->region = m->category = NULL;
    m->project = t->project[row];
    m->as_of = t->as_of[row];
    m->period_start = t->period_start ? t->period_start[row] : SX_NO_DATE;
    m->hash = -1;
    if ((m->key = dataset_row_str(ds, SX_COL_METRIC, row)) == NULL
        || (m->label = dataset_row_str(ds, SX_COL_LABEL, row)) == NULL
        || (m->unit = dataset_row_str(ds, SX_COL_UNIT, row)) == NULL
        || (m->part_of = dataset_row_str(ds, SX_COL_PART_OF, row)) == NULL
        || (m->region = dataset_row_str(ds, SX_COL_REGION, row)) == NULL
        || (m->category = dataset_row_str(ds, SX_COL_CATEGORY, row)) == NULL
        || (m->value = value_object(t->value[row], t->is_int[row])) == NULL) {
        Py_DECREF(m);
        return NULL;
    }
    if (ds->metric_cache[row] != NULL) {
        /* Another thread made it while this one was allocating: keep the first. */
        Py_DECREF(m);
        return Py_NewRef(ds->metric_cache[row]);
    }
    ds->metric_cache[row] = Py_NewRef((PyObject *)m);
    return (PyObject *)m;
}

static PyObject *
metrics_tuple_of_rows(DatasetObject *ds, const int64_t *rows, int64_t n)
{
    PyObject *result = PyTuple_New((Py_ssize_t)n);
    if (result == NULL) {
        return NULL;
    }
    for (int64_t i = 0; i < n; i++) {
        PyObject *m = dataset_metric_at(ds, rows[i]);
        if (m == NULL) {
            Py_DECREF(result);
            return NULL;
        }
        PyTuple_SET_ITEM(result, (Py_ssize_t)i, m);
    }
    return result;
}

static PyObject *
dataset_project_at(DatasetObject *ds, int32_t index)
{
    const sx_table *t = ds->table;
    if (ds->project_cache == NULL) {
        ds->project_cache = PyMem_Calloc((size_t)t->nprojects + 1, sizeof(PyObject *));
        if (ds->project_cache == NULL) {
            return PyErr_NoMemory();
        }
    }
    if (ds->project_cache[index] != NULL) {
        return Py_NewRef(ds->project_cache[index]);
    }
    shanxi_state *st = object_state((PyObject *)ds);
    const sx_project *p = &t->projects[index];
    ProjectObject *obj = PyObject_GC_New(ProjectObject, st->Project_Type);
    if (obj == NULL) {
        return NULL;
    }
    obj->number = p->number;
    obj->as_of = p->as_of;
    obj->metrics = NULL;
    obj->dataset = Py_NewRef((PyObject *)ds);
    obj->hash = -1;
    obj->key = obj->title = obj->category = NULL;
    PyObject_GC_Track((PyObject *)obj);
    if ((obj->key = dataset_str(ds, SX_COL_PROJECT_KEY, p->key)) == NULL
        || (obj->title = dataset_str(ds, SX_COL_PROJECT_TITLE, p->title)) == NULL
        || (obj->category = dataset_str(ds, SX_COL_CATEGORY, p->category)) == NULL) {
        Py_DECREF(obj);
        return NULL;
    }
    if (ds->project_cache[index] != NULL) {
        /* Another thread made it while this one was allocating (a garbage
         * collection there may switch threads): keep the first. */
        Py_DECREF(obj);
        return Py_NewRef(ds->project_cache[index]);
    }
    ds->project_cache[index] = Py_NewRef((PyObject *)obj);
    return (PyObject *)obj;
}

/* ------------------------------------------------------------ suggestions */

/* ", did you mean 'a', 'b'?" for the strings of dict closest to s, or "". */
static PyObject *
suggestions(const sx_dict *dict, const char *s, size_t len)
{
    enum { KEEP = 3 };
    int32_t best[KEEP];
    size_t best_d[KEEP];
    int nbest = 0;
    size_t limit = len < 6 ? 2 : len / 3 + 1;
    for (int32_t code = 0; code < dict->count; code++) {
        size_t clen;
        const char *c = sx_dict_str(dict, code, &clen);
        size_t d = sx_edit_distance(s, len, c, clen, limit);
        /* A query that is a prefix or part of a longer name counts as close. */
        if (d > limit && len >= 3 && clen > len) {
            for (size_t i = 0; i + len <= clen; i++) {
                if (sx_edit_distance(s, len, c + i, len, 0) == 0) {
                    d = limit;
                    break;
                }
            }
        }
        if (d > limit) {
            continue;
        }
        int pos = nbest < KEEP ? nbest : KEEP;
        while (pos > 0 && best_d[pos - 1] > d) {
            pos--;
        }
        if (pos >= KEEP) {
            continue;
        }
        for (int j = (nbest < KEEP ? nbest : KEEP - 1); j > pos; j--) {
            best[j] = best[j - 1];
            best_d[j] = best_d[j - 1];
        }
        best[pos] = code;
        best_d[pos] = d;
        if (nbest < KEEP) {
            nbest++;
        }
    }
    if (nbest == 0) {
        return PyUnicode_FromString("");
    }
    PyObject *parts = PyList_New(0);
    if (parts == NULL) {
        return NULL;
    }
    for (int i = 0; i < nbest; i++) {
        size_t clen;
        const char *c = sx_dict_str(dict, best[i], &clen);
        PyObject *str = PyUnicode_DecodeUTF8(c, (Py_ssize_t)clen, "strict");
        PyObject *r = str ? PyObject_Repr(str) : NULL;
        Py_XDECREF(str);
        if (r == NULL || PyList_Append(parts, r) < 0) {
            Py_XDECREF(r);
            Py_DECREF(parts);
            return NULL;
        }
        Py_DECREF(r);
    }
    PyObject *sep = PyUnicode_FromString(", ");
    PyObject *joined = sep ? PyUnicode_Join(sep, parts) : NULL;
    Py_XDECREF(sep);
    Py_DECREF(parts);
    if (joined == NULL) {
        return NULL;
    }
    PyObject *result = PyUnicode_FromFormat("; did you mean %U?", joined);
    Py_DECREF(joined);
    return result;
}

/* KeyError: no <what> 'key' in <source>[; did you mean ...?] */
static void
raise_unknown(DatasetObject *ds, const char *what, sx_strcol col, PyObject *key)
{
    Py_ssize_t len;
    const char *s = PyUnicode_AsUTF8AndSize(key, &len);
    if (s == NULL) {
        return;
    }
    PyObject *hint = suggestions(&ds->table->dicts[col], s, (size_t)len);
    if (hint == NULL) {
        return;
    }
    PyObject *msg = PyUnicode_FromFormat("no %s %R in %U%U", what, key, ds->source, hint);
    Py_DECREF(hint);
    if (msg != NULL) {
        PyErr_SetObject(PyExc_KeyError, msg);
        Py_DECREF(msg);
    }
}

/* The code of a str in column col, raising TypeError/KeyError. */
static int
lookup_code(DatasetObject *ds, sx_strcol col, const char *what, PyObject *key, int32_t *code)
{
    if (!PyUnicode_Check(key)) {
        PyErr_Format(PyExc_TypeError, "%s must be a str, not %.100s", what, Py_TYPE(key)->tp_name);
        return -1;
    }
    Py_ssize_t len;
    const char *s = PyUnicode_AsUTF8AndSize(key, &len);
    if (s == NULL) {
        /* A str with lone surrogates cannot name anything here. */
        PyErr_Clear();
        *code = -1;
    } else {
        *code = ds->table->codes[col] ? sx_dict_find(&ds->table->dicts[col], s, (size_t)len) : -1;
    }
    if (*code < 0) {
        if (s == NULL) {
            PyErr_Format(PyExc_KeyError, "no %s %R in %U", what, key, ds->source);
        } else {
            raise_unknown(ds, what, col, key);
        }
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ project lookup */

/* Build the casefolded lookup of project keys, titles and title words:
 * word -> index, or a tuple of indices when several projects share it. */
static int
add_project_word(PyObject *words, PyObject *word, int32_t index, int exclusive)
{
    PyObject *idx = PyLong_FromLong(index);
    if (idx == NULL) {
        return -1;
    }
    PyObject *old = PyDict_GetItemWithError(words, word);
    int rc;
    if (old == NULL) {
        rc = PyErr_Occurred() ? -1 : PyDict_SetItem(words, word, idx);
    } else if (exclusive || (PyLong_Check(old) && PyLong_AsLong(old) == index)) {
        rc = 0;   /* keys and whole titles win over words; repeats are one */
    } else {
        PyObject *one = PyTuple_Pack(1, idx), *both = NULL;
        if (one != NULL) {
            both = PyTuple_Check(old) ? PySequence_Concat(old, one) : PyTuple_Pack(2, old, idx);
            Py_DECREF(one);
        }
        rc = both ? PyDict_SetItem(words, word, both) : -1;
        Py_XDECREF(both);
    }
    Py_DECREF(idx);
    return rc;
}

static PyObject *
build_project_words(DatasetObject *ds)
{
    PyObject *words = PyDict_New();
    if (words == NULL) {
        return NULL;
    }
    /* Two passes: keys and whole titles first, so they win over words. */
    for (int pass = 0; pass < 2; pass++) {
        for (int32_t i = 0; i < ds->table->nprojects; i++) {
            const sx_project *p = &ds->table->projects[i];
            if (pass == 0) {
                for (int which = 0; which < 2; which++) {
                    PyObject *s = which == 0 ? dataset_str(ds, SX_COL_PROJECT_KEY, p->key)
                                             : dataset_str(ds, SX_COL_PROJECT_TITLE, p->title);
                    if (s == NULL) {
                        goto error;
                    }
                    if (s != Py_None) {
                        PyObject *folded = PyObject_CallMethod(s, "casefold", NULL);
                        int rc = folded ? add_project_word(words, folded, i, 1) : -1;
                        Py_XDECREF(folded);
                        if (rc < 0) {
                            Py_DECREF(s);
                            goto error;
                        }
                    }
                    Py_DECREF(s);
                }
                continue;
            }
            PyObject *title = dataset_str(ds, SX_COL_PROJECT_TITLE, p->title);
            if (title == NULL) {
                goto error;
            }
            if (title == Py_None) {
                Py_DECREF(title);
                continue;
            }
            PyObject *folded = PyObject_CallMethod(title, "casefold", NULL);
            Py_DECREF(title);
            if (folded == NULL) {
                goto error;
            }
            Py_ssize_t n = PyUnicode_GET_LENGTH(folded), start = -1;
            int kind = PyUnicode_KIND(folded);
            const void *data = PyUnicode_DATA(folded);
            for (Py_ssize_t j = 0; j <= n; j++) {
                int alnum = j < n && Py_UNICODE_ISALNUM(PyUnicode_READ(kind, data, j));
                if (alnum && start < 0) {
                    start = j;
                } else if (!alnum && start >= 0) {
                    PyObject *word = PyUnicode_Substring(folded, start, j);
                    int rc = word ? add_project_word(words, word, i, 0) : -1;
                    Py_XDECREF(word);
                    if (rc < 0) {
                        Py_DECREF(folded);
                        goto error;
                    }
                    start = -1;
                }
            }
            Py_DECREF(folded);
        }
    }
    return words;
error:
    Py_DECREF(words);
    return NULL;
}

/* The index in table->projects of what key names, or -1 with an exception. */
static int32_t
project_index_of(DatasetObject *ds, PyObject *key)
{
    shanxi_state *st = object_state((PyObject *)ds);
    if (Py_IS_TYPE(key, st->Project_Type)) {
        key = PyLong_FromLong(Project_CAST(key)->number);
        if (key == NULL) {
            return -1;
        }
        int32_t idx = project_index_of(ds, key);
        Py_DECREF(key);
        return idx;
    }
    if (PyLong_Check(key) && !PyBool_Check(key)) {
        int overflow;
        long number = PyLong_AsLongAndOverflow(key, &overflow);
        if (number == -1 && PyErr_Occurred()) {
            return -1;
        }
        int32_t idx = (overflow || number < 1 || number > INT32_MAX)
                      ? -1 : sx_project_index(ds->table, (int32_t)number);
        if (idx < 0) {
            const sx_table *t = ds->table;
            if (t->nprojects == 0) {
                PyErr_Format(PyExc_KeyError, "no project %R: %U has no projects", key, ds->source);
            } else {
                PyErr_Format(PyExc_KeyError, "no project %R in %U; projects are numbered %d to %d",
                             key, ds->source, (int)t->projects[0].number,
                             (int)t->projects[t->nprojects - 1].number);
            }
        }
        return idx;
    }
    if (!PyUnicode_Check(key)) {
        PyErr_Format(PyExc_TypeError,
                     "a project is named by its number (int), key or a word of its title (str), not %.100s",
                     Py_TYPE(key)->tp_name);
        return -1;
    }
    if (ds->project_words == NULL) {
        PyObject *words = build_project_words(ds);
        if (words == NULL) {
            return -1;
        }
        if (ds->project_words == NULL) {
            ds->project_words = words;
        } else {
            Py_DECREF(words);   /* another thread built it meanwhile */
        }
    }
    PyObject *folded = PyObject_CallMethod(key, "casefold", NULL);
    if (folded == NULL) {
        return -1;
    }
    PyObject *stripped = PyObject_CallMethod(folded, "strip", NULL);
    Py_DECREF(folded);
    if (stripped == NULL) {
        return -1;
    }
    PyObject *hit = PyDict_GetItemWithError(ds->project_words, stripped);
    Py_DECREF(stripped);
    if (hit != NULL && PyLong_Check(hit)) {
        return (int32_t)PyLong_AsLong(hit);
    }
    if (hit != NULL) {
        PyObject *numbers = PyList_New(0);
        if (numbers == NULL) {
            return -1;
        }
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(hit); i++) {
            long idx = PyLong_AsLong(PyTuple_GET_ITEM(hit, i));
            PyObject *num = PyLong_FromLong(ds->table->projects[idx].number);
            if (num == NULL || PyList_Append(numbers, num) < 0) {
                Py_XDECREF(num);
                Py_DECREF(numbers);
                return -1;
            }
            Py_DECREF(num);
        }
        PyErr_Format(PyExc_KeyError,
                     "%R names several projects (%S); use a number, a key or a rarer word",
                     key, numbers);
        Py_DECREF(numbers);
        return -1;
    }
    if (PyErr_Occurred()) {
        return -1;
    }
    /* Suggest from keys and title words, casefolded. */
    PyObject *candidates = PyDict_Keys(ds->project_words);
    if (candidates == NULL) {
        return -1;
    }
    Py_ssize_t qlen;
    const char *q = PyUnicode_AsUTF8AndSize(key, &qlen);
    PyObject *close = PyList_New(0);
    if (q == NULL || close == NULL) {
        PyErr_Clear();
        Py_XDECREF(close);
        Py_DECREF(candidates);
        PyErr_Format(PyExc_KeyError, "no project %R in %U", key, ds->source);
        return -1;
    }
    size_t limit = qlen < 6 ? 2 : (size_t)qlen / 3 + 1;
    for (size_t d = 0; d <= limit && PyList_GET_SIZE(close) < 3; d++) {
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(candidates) && PyList_GET_SIZE(close) < 3; i++) {
            PyObject *cand = PyList_GET_ITEM(candidates, i);
            Py_ssize_t clen;
            const char *c = PyUnicode_AsUTF8AndSize(cand, &clen);
            if (c == NULL) {
                PyErr_Clear();
                continue;
            }
            if (sx_edit_distance(q, (size_t)qlen, c, (size_t)clen, limit) == d
                && PyList_Append(close, cand) < 0) {
                Py_DECREF(close);
                Py_DECREF(candidates);
                return -1;
            }
        }
    }
    Py_DECREF(candidates);
    if (PyList_GET_SIZE(close) > 0) {
        PyErr_Format(PyExc_KeyError, "no project %R in %U; did you mean %S?", key, ds->source, close);
    } else {
        PyErr_Format(PyExc_KeyError, "no project %R in %U", key, ds->source);
    }
    Py_DECREF(close);
    return -1;
}

/* ------------------------------------------------------------ filters */

/* Fill f from the filter arguments (borrowed, NULL or None = no filter). */
static int
build_filter(DatasetObject *ds, PyObject *const *vals, sx_filter *f)
{
    static const struct { sx_strcol col; const char *what; } strfilters[] = {
        [F_METRIC] = {SX_COL_METRIC, "metric"},
        [F_UNIT] = {SX_COL_UNIT, "unit"},
        [F_CATEGORY] = {SX_COL_CATEGORY, "category"},
        [F_REGION] = {SX_COL_REGION, "region"},
    };
    sx_filter_init(f);
    if (vals[F_PROJECT] != NULL && vals[F_PROJECT] != Py_None) {
        int32_t idx = project_index_of(ds, vals[F_PROJECT]);
        if (idx < 0) {
            return -1;
        }
        f->project = ds->table->projects[idx].number;
    }
    for (int i = F_METRIC; i <= F_REGION; i++) {
        if (vals[i] != NULL && vals[i] != Py_None) {
            int32_t code;
            if (lookup_code(ds, strfilters[i].col, strfilters[i].what, vals[i], &code) < 0) {
                return -1;
            }
            f->code[strfilters[i].col] = code;
        }
    }
    if (vals[F_SINCE] != NULL && vals[F_SINCE] != Py_None
        && days_from_object(object_state((PyObject *)ds), vals[F_SINCE], "since", 0,
                            &f->since) < 0) {
        return -1;
    }
    if (vals[F_UNTIL] != NULL && vals[F_UNTIL] != Py_None
        && days_from_object(object_state((PyObject *)ds), vals[F_UNTIL], "until", 0,
                            &f->until) < 0) {
        return -1;
    }
    return 0;
}

static PyObject *
select_metrics(DatasetObject *ds, const sx_filter *f)
{
    int64_t *rows = NULL, n = 0;
    sx_status status = sx_select(ds->table, f, &rows, &n);
    if (status != SX_OK) {
        raise_core_error(object_state((PyObject *)ds), status, NULL, ds->source);
        return NULL;
    }
    PyObject *result = metrics_tuple_of_rows(ds, rows, n);
    free(rows);
    return result;
}

/* ------------------------------------------------------------ Dataset methods */

PyDoc_STRVAR(Dataset_projects_doc,
"projects($self, /)\n--\n\n"
"All projects, ordered by number, as a tuple of Project.");

static PyObject *
Dataset_projects(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    DatasetObject *ds = Dataset_CAST(op);
    if (ds->projects_tuple == NULL) {
        PyObject *tuple = PyTuple_New(ds->table->nprojects);
        if (tuple == NULL) {
            return NULL;
        }
        for (int32_t i = 0; i < ds->table->nprojects; i++) {
            PyObject *p = dataset_project_at(ds, i);
            if (p == NULL) {
                Py_DECREF(tuple);
                return NULL;
            }
            PyTuple_SET_ITEM(tuple, i, p);
        }
        if (ds->projects_tuple == NULL) {
            ds->projects_tuple = tuple;
        } else {
            Py_DECREF(tuple);   /* another thread made it meanwhile */
        }
    }
    return Py_NewRef(ds->projects_tuple);
}

PyDoc_STRVAR(Dataset_project_doc,
"project($self, key, /)\n--\n\n"
"One project, by its number (int), its key (str), or a case-insensitive\n"
"word of its title that picks exactly one project.\n\n"
"Returns the same Project object every time.  Unknown keys raise KeyError\n"
"naming close candidates; other types raise TypeError.");

static PyObject *
Dataset_project(PyObject *op, PyObject *key)
{
    DatasetObject *ds = Dataset_CAST(op);
    /* The common call, project(n) on projects numbered 1..N, made before:
     * one array index, as cheap as a dict lookup. */
    if (PyLong_CheckExact(key) && ds->project_cache != NULL) {
        long n = PyLong_AsLong(key);
        if (n >= 1 && n <= ds->table->nprojects && ds->table->projects[n - 1].number == n
            && ds->project_cache[n - 1] != NULL) {
            return Py_NewRef(ds->project_cache[n - 1]);
        }
        if (n == -1 && PyErr_Occurred()) {
            PyErr_Clear();   /* too large: the general path says so */
        }
    }
    int32_t idx = project_index_of(ds, key);
    if (idx < 0) {
        return NULL;
    }
    return dataset_project_at(ds, idx);
}

PyDoc_STRVAR(Dataset_metrics_doc,
"metrics($self, /, *, project=None, metric=None, unit=None, category=None, region=None, since=None, until=None)\n"
"--\n\n"
"The figures matching every given filter, in file order, as a tuple of Metric.\n\n"
"project is a number, key or title word as for project(); metric, unit,\n"
"category and region are exact strings; since and until are inclusive\n"
"datetime.date or 'YYYY-MM-DD' bounds on as_of.  A value the data never\n"
"has raises KeyError naming close candidates.");

static PyObject *
Dataset_metrics(PyObject *op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {FILTER_NAMES};
    static const argspec spec = {"metrics", names, F_COUNT, 0, 0};
    DatasetObject *ds = Dataset_CAST(op);
    PyObject *vals[F_COUNT];
    sx_filter f;
    if (parse_args(&spec, args, nargs, kwnames, vals) < 0 || build_filter(ds, vals, &f) < 0) {
        return NULL;
    }
    if (nargs == 0 && kwnames == NULL) {
        if (ds->metrics_tuple == NULL) {
            PyObject *all = select_metrics(ds, &f);
            if (all == NULL) {
                return NULL;
            }
            if (ds->metrics_tuple == NULL) {
                ds->metrics_tuple = all;
            } else {
                Py_DECREF(all);   /* another thread made it meanwhile */
            }
        }
        return Py_NewRef(ds->metrics_tuple);
    }
    return select_metrics(ds, &f);
}

/* The one row of a metric key, raising KeyError/TypeError/ValueError. */
static int64_t
metric_row(DatasetObject *ds, PyObject *key)
{
    int32_t code;
    if (lookup_code(ds, SX_COL_METRIC, "metric", key, &code) < 0) {
        return -1;
    }
    int64_t count = ds->table->metric_rows[code];
    if (count > 1) {
        PyErr_Format(PyExc_ValueError,
                     "metric %R names %lld figures in %U (one per region or date); "
                     "use metrics(metric=%R) to get them all",
                     key, (long long)count, ds->source, key);
        return -1;
    }
    return ds->table->metric_first[code];
}

PyDoc_STRVAR(Dataset_metric_doc,
"metric($self, key, /)\n--\n\n"
"One figure by its metric key.  In a panel where the key names several\n"
"figures (regions, dates) this raises ValueError: use metrics(metric=key).");

static PyObject *
Dataset_metric(PyObject *op, PyObject *key)
{
    DatasetObject *ds = Dataset_CAST(op);
    if (ds->metric_index != NULL && PyUnicode_CheckExact(key)) {
        PyObject *hit = PyDict_GetItemWithError(ds->metric_index, key);
        if (hit != NULL) {
            return Py_NewRef(hit);
        }
        if (PyErr_Occurred()) {
            return NULL;
        }
    }
    int64_t row = metric_row(ds, key);
    if (row < 0) {
        return NULL;
    }
    PyObject *m = dataset_metric_at(ds, row);
    if (m == NULL) {
        return NULL;
    }
    /* Remember it, so the next lookup of this key is one dict probe.  Only
     * exact str keys: a str subclass's own __eq__/__hash__ must not get into
     * the index and answer (or fail) later lookups of plain str. */
    if (!PyUnicode_CheckExact(key)) {
        return m;
    }
    if (ds->metric_index == NULL) {
        PyObject *index = PyDict_New();
        if (index == NULL) {
            Py_DECREF(m);
            return NULL;
        }
        /* cppcheck-suppress knownConditionTrueFalse ; PyDict_New may run other threads */
        if (ds->metric_index == NULL) {
            ds->metric_index = index;
        } else {
            Py_DECREF(index);   /* another thread made it meanwhile */
        }
    }
    if (PyDict_SetItem(ds->metric_index, key, m) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}

PyDoc_STRVAR(Dataset_search_doc,
"search($self, text, /)\n--\n\n"
"The figures whose metric key, label or project title contains every word\n"
"of text (case-insensitive), as a tuple of Metric.");

static PyObject *
Dataset_search(PyObject *op, PyObject *text)
{
    DatasetObject *ds = Dataset_CAST(op);
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "search() text must be a str, not %.100s",
                     Py_TYPE(text)->tp_name);
        return NULL;
    }
    PyObject *words = PyUnicode_Split(text, NULL, -1);
    if (words == NULL) {
        return NULL;
    }
    Py_ssize_t nwords = PyList_GET_SIZE(words);
    const char **ptrs = PyMem_Calloc((size_t)nwords + 1, sizeof(char *));
    size_t *lens = PyMem_Calloc((size_t)nwords + 1, sizeof(size_t));
    PyObject *result = NULL;
    int64_t *rows = NULL, n = 0;
    if (ptrs == NULL || lens == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < nwords; i++) {
        Py_ssize_t len;
        ptrs[i] = PyUnicode_AsUTF8AndSize(PyList_GET_ITEM(words, i), &len);
        if (ptrs[i] == NULL) {
            /* lone surrogates match nothing */
            PyErr_Clear();
            result = PyTuple_New(0);
            goto done;
        }
        lens[i] = (size_t)len;
    }
    sx_status status = sx_search(ds->table, ptrs, lens, (size_t)nwords, &rows, &n);
    if (status != SX_OK) {
        raise_core_error(object_state(op), status, NULL, ds->source);
        goto done;
    }
    result = metrics_tuple_of_rows(ds, rows, n);
done:
    free(rows);
    PyMem_Free(ptrs);
    PyMem_Free(lens);
    Py_DECREF(words);
    return result;
}

/* ------------------------------------------------------------ aggregation */

static int
name_index(PyObject *obj, const char *what, const char *const *names, int n, int first)
{
    if (PyUnicode_Check(obj)) {
        for (int i = first; i < n; i++) {
            if (str_equals_ascii(obj, names[i])) {
                return i;
            }
        }
    } else if (obj != Py_None || first == 0) {
        PyErr_Format(PyExc_TypeError, "%s must be a str, not %.100s", what, Py_TYPE(obj)->tp_name);
        return -1;
    }
    PyObject *valid = PyList_New(0);
    if (valid == NULL) {
        return -1;
    }
    for (int i = first; i < n; i++) {
        PyObject *s = PyUnicode_FromString(names[i]);
        if (s == NULL || PyList_Append(valid, s) < 0) {
            Py_XDECREF(s);
            Py_DECREF(valid);
            return -1;
        }
        Py_DECREF(s);
    }
    PyErr_Format(PyExc_ValueError, "unknown %s %R; expected one of %S", what, obj, valid);
    Py_DECREF(valid);
    return -1;
}

static PyObject *
bigint_object(sx_bigint v)
{
    if (v.hi == 0) {
        return PyLong_FromLongLong(v.lo);
    }
    char buf[48];
    sx_bigint_format(v, buf);
    return PyLong_FromString(buf, NULL, 10);
}

static PyObject *
group_value(const sx_group *g, sx_func func)
{
    switch (func) {
    case SX_COUNT:
        return PyLong_FromLongLong(g->count);
    case SX_SUM:
        return g->all_int ? bigint_object(g->isum) : PyFloat_FromDouble(g->fsum);
    case SX_MEAN: {
        /* int / int in Python is correctly rounded; fsum / n is what
         * math.fsum(values) / len(values) gives. */
        if (!g->all_int) {
            return PyFloat_FromDouble(g->fsum / (double)g->count);
        }
        PyObject *sum = bigint_object(g->isum);
        PyObject *count = PyLong_FromLongLong(g->count);
        PyObject *mean = (sum && count) ? PyNumber_TrueDivide(sum, count) : NULL;
        Py_XDECREF(sum);
        Py_XDECREF(count);
        return mean;
    }
    case SX_MIN:
        return value_object(g->min, g->min_is_int);
    case SX_MAX:
        return value_object(g->max, g->max_is_int);
    default:
        PyErr_SetString(PyExc_SystemError, "bad aggregation function");
        return NULL;
    }
}

static PyObject *
group_key(DatasetObject *ds, sx_by by, int64_t key)
{
    switch (by) {
    case SX_BY_PROJECT:
        return PyLong_FromLongLong(key);
    case SX_BY_METRIC:
        return dataset_str(ds, SX_COL_METRIC, (int32_t)key);
    case SX_BY_CATEGORY:
        return dataset_str(ds, SX_COL_CATEGORY, (int32_t)key);
    case SX_BY_UNIT:
        return dataset_str(ds, SX_COL_UNIT, (int32_t)key);
    case SX_BY_REGION:
        return dataset_str(ds, SX_COL_REGION, (int32_t)key);
    case SX_BY_AS_OF:
        return date_from_days(object_state((PyObject *)ds), (int32_t)key);
    case SX_BY_MONTH: {
        long long y = key >= 0 ? key / 12 : -((-key + 11) / 12);
        long long m = key - y * 12 + 1;
        char buf[32];
        PyOS_snprintf(buf, sizeof buf, "%04lld-%02lld", y, m);
        return PyUnicode_FromString(buf);
    }
    default:
        Py_RETURN_NONE;
    }
}

/* Results with more groups than this are not kept as group_keys: what that
 * saves is per call, while its memory grows with the groups. */
#define GROUP_KEYS_MAX 1024

static void
group_keys_free(group_keys *gk)
{
    if (gk != NULL) {
        Py_XDECREF(gk->dict);
        Py_XDECREF(gk->tuple);
        PyMem_Free(gk);
    }
}

/* The keys of r (at most GROUP_KEYS_MAX groups), or NULL with an exception. */
static group_keys *
group_keys_new(DatasetObject *ds, sx_by by, const sx_result *r)
{
    group_keys *gk = PyMem_Malloc(sizeof *gk + (size_t)r->ngroups * sizeof gk->keys[0]);
    if (gk == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    gk->n = r->ngroups;
    gk->dict = PyDict_New();
    gk->tuple = PyTuple_New((Py_ssize_t)r->ngroups);
    if (gk->dict == NULL || gk->tuple == NULL) {
        group_keys_free(gk);
        return NULL;
    }
    for (int64_t i = 0; i < r->ngroups; i++) {
        gk->keys[i] = r->groups[i].key;
        PyObject *k = group_key(ds, by, r->groups[i].key);
        if (k == NULL || PyDict_SetItem(gk->dict, k, Py_None) < 0) {
            Py_XDECREF(k);
            group_keys_free(gk);
            return NULL;
        }
        PyTuple_SET_ITEM(gk->tuple, (Py_ssize_t)i, k);
    }
    return gk;
}

/* The dict of a grouped result: key -> value, in group order.
 *
 * Inserting keys one by one into a new dict hashes them into a table that
 * resizes as it grows, and that is most of the cost of a small result.  So
 * the Dataset keeps, per grouping, the keys of the largest result it has
 * made (usually the one without filters, which calls repeat most) as a dict
 * of key -> None; a result with exactly those keys starts from a copy of it
 * (CPython copies such a table whole, without rehashing) and only sets the
 * values.  Only keys are kept: every value is computed afresh. */
static PyObject *
grouped_dict(DatasetObject *ds, sx_by by, sx_func func, const sx_result *r)
{
    group_keys *gk = ds->kept_keys[by];
    PyObject *keys = NULL, *tuple = NULL;
    if (gk != NULL && gk->n == r->ngroups) {
        int64_t i = 0;
        while (i < r->ngroups && gk->keys[i] == r->groups[i].key) {
            i++;
        }
        if (i == r->ngroups) {
            keys = Py_NewRef(gk->dict);
            tuple = Py_NewRef(gk->tuple);
        }
    }
    if (keys == NULL && r->ngroups > 0 && r->ngroups <= GROUP_KEYS_MAX
        && (gk == NULL || gk->n < r->ngroups)) {
        group_keys *made = group_keys_new(ds, by, r);
        if (made == NULL) {
            return NULL;
        }
        keys = Py_NewRef(made->dict);
        tuple = Py_NewRef(made->tuple);
        /* Making it may have let another thread keep keys: the larger stays. */
        gk = ds->kept_keys[by];
        if (gk == NULL || gk->n < made->n) {
            ds->kept_keys[by] = made;
            group_keys_free(gk);
        } else {
            group_keys_free(made);
        }
    }
    if (keys == NULL) {
        PyObject *out = PyDict_New();
        if (out == NULL) {
            return NULL;
        }
        for (int64_t i = 0; i < r->ngroups; i++) {
            PyObject *k = group_key(ds, by, r->groups[i].key);
            PyObject *v = k ? group_value(&r->groups[i], func) : NULL;
            if (v == NULL || PyDict_SetItem(out, k, v) < 0) {
                Py_XDECREF(k);
                Py_XDECREF(v);
                Py_DECREF(out);
                return NULL;
            }
            Py_DECREF(k);
            Py_DECREF(v);
        }
        return out;
    }
    /* keys and tuple are our own references: copying and making values may
     * run other threads (a GC pass), which may replace the Dataset's kept
     * keys and drop its references. */
    PyObject *out = PyDict_Copy(keys);
    Py_DECREF(keys);
    for (int64_t i = 0; out != NULL && i < r->ngroups; i++) {
        PyObject *v = group_value(&r->groups[i], func);
        if (v == NULL || PyDict_SetItem(out, PyTuple_GET_ITEM(tuple, (Py_ssize_t)i), v) < 0) {
            Py_CLEAR(out);
        }
        Py_XDECREF(v);
    }
    Py_DECREF(tuple);
    return out;
}

static PyObject *
run_aggregate(DatasetObject *ds, sx_func func, sx_by by, const sx_filter *f)
{
    sx_result result;   /* sx_aggregate initialises it */
    sx_error err;
    /* what raise_core_error reads when the core says nothing (the message
     * is 512 bytes: no memset of it on every call) */
    err.status = SX_OK;
    err.line = err.column = 0;
    err.message[0] = '\0';
    sx_status status = sx_aggregate(ds->table, f, func, by, &result, &err);
    if (status == SX_ERR_EMPTY && by != SX_BY_NONE) {
        return PyDict_New();   /* grouped: no rows is no groups */
    }
    if (status != SX_OK) {
        raise_core_error(object_state((PyObject *)ds), status, &err, ds->source);
        return NULL;
    }
    PyObject *out = by == SX_BY_NONE ? group_value(&result.groups[0], func)
                                     : grouped_dict(ds, by, func, &result);
    sx_result_free(&result);
    return out;
}

PyDoc_STRVAR(Dataset_aggregate_doc,
"aggregate($self, /, func='sum', *, by=None, project=None, metric=None, unit=None, category=None, region=None, since=None, until=None)\n"
"--\n\n"
"Aggregate the figures the filters select (as for metrics()).\n\n"
"func is 'sum', 'count', 'mean', 'min' or 'max'.  by is None (one number)\n"
"or 'project', 'metric', 'category', 'unit', 'region', 'as_of' or 'month'\n"
"(a dict ordered by group).  Units never mix: sum, mean, min and max over\n"
"figures of several units raise ValueError unless unit= or by='unit' is\n"
"given.  Sums of integers are exact ints; float sums are correctly rounded.");

static PyObject *
Dataset_aggregate(PyObject *op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"func", "by", FILTER_NAMES};
    static const argspec spec = {"aggregate", names, 2 + F_COUNT, 1, 0};
    DatasetObject *ds = Dataset_CAST(op);
    PyObject *vals[2 + F_COUNT];
    sx_filter f;
    if (parse_args(&spec, args, nargs, kwnames, vals) < 0) {
        return NULL;
    }
    int func = vals[0] ? name_index(vals[0], "aggregation func", sx_func_names, SX_NFUNCS, 0) : SX_SUM;
    if (func < 0) {
        return NULL;
    }
    int by = (vals[1] && vals[1] != Py_None) ? name_index(vals[1], "by", sx_by_names, SX_NBYS, 1)
                                             : SX_BY_NONE;
    if (by < 0 || build_filter(ds, vals + 2, &f) < 0) {
        return NULL;
    }
    return run_aggregate(ds, (sx_func)func, (sx_by)by, &f);
}

PyDoc_STRVAR(Dataset_total_doc,
"total($self, /, unit, *, project=None, metric=None, category=None, region=None, since=None, until=None)\n"
"--\n\n"
"The sum of the figures in unit that the filters select: the same as\n"
"aggregate('sum', unit=unit, ...).  Exact for integer figures; 0 when\n"
"nothing matches.");

static PyObject *
Dataset_total(PyObject *op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"unit", "project", "metric", "category", "region",
                                        "since", "until"};
    static const argspec spec = {"total", names, 7, 1, 1};
    DatasetObject *ds = Dataset_CAST(op);
    PyObject *given[7];
    sx_filter f;
    if (parse_args(&spec, args, nargs, kwnames, given) < 0) {
        return NULL;
    }
    if (given[0] == Py_None) {
        PyErr_SetString(PyExc_TypeError, "total() unit must be a str, not None");
        return NULL;
    }
    PyObject *vals[F_COUNT] = {
        [F_PROJECT] = given[1], [F_METRIC] = given[2], [F_UNIT] = given[0],
        [F_CATEGORY] = given[3], [F_REGION] = given[4], [F_SINCE] = given[5],
        [F_UNTIL] = given[6],
    };
    if (build_filter(ds, vals, &f) < 0) {
        return NULL;
    }
    return run_aggregate(ds, SX_SUM, SX_BY_NONE, &f);
}

PyDoc_STRVAR(Dataset_share_doc,
"share($self, key, /)\n--\n\n"
"The figure key as a fraction of the whole it is part_of (e.g. elevators\n"
"completed of those started), a float.  ValueError for a figure that is\n"
"not part of another.");

static PyObject *
Dataset_share(PyObject *op, PyObject *key)
{
    DatasetObject *ds = Dataset_CAST(op);
    const sx_table *t = ds->table;
    int64_t row = metric_row(ds, key);
    if (row < 0) {
        return NULL;
    }
    int32_t whole_code = sx_code_at(t, SX_COL_PART_OF, row);
    if (whole_code == SX_NULL_CODE) {
        PyErr_Format(PyExc_ValueError,
                     "figure %R is not part of another figure (its part_of is empty), "
                     "so it has no share", key);
        return NULL;
    }
    /* The whole is the figure with that key for the same project, region and
     * date, as to_frame()'s share column pairs them. */
    size_t wlen;
    const char *wkey = sx_dict_str(&t->dicts[SX_COL_PART_OF], whole_code, &wlen);
    sx_filter f;
    sx_filter_init(&f);
    f.project = t->project[row];
    f.code[SX_COL_METRIC] = sx_dict_find(&t->dicts[SX_COL_METRIC], wkey, wlen);
    if (t->codes[SX_COL_REGION]) {
        f.code[SX_COL_REGION] = sx_code_at(t, SX_COL_REGION, row);
    }
    f.since = f.until = t->as_of[row];
    int64_t *rows = NULL, n = 0;
    sx_status status = sx_select(t, &f, &rows, &n);
    if (status != SX_OK) {
        raise_core_error(object_state(op), status, NULL, ds->source);
        return NULL;
    }
    int64_t whole = n == 1 ? rows[0] : -1;
    free(rows);
    if (whole < 0) {
        PyObject *whole_key = dataset_str(ds, SX_COL_PART_OF, whole_code);
        if (whole_key != NULL) {
            PyErr_Format(PyExc_ValueError,
                         "figure %R is part of %R, but %U has %lld figures %R for its project, "
                         "region and date, not one", key, whole_key, ds->source, (long long)n,
                         whole_key);
            Py_DECREF(whole_key);
        }
        return NULL;
    }
    if (t->value[whole] == 0.0) {
        PyErr_Format(PyExc_ValueError, "the whole of %R is zero, so it has no share", key);
        return NULL;
    }
    return PyFloat_FromDouble(t->value[row] / t->value[whole]);
}

/* Columns of to_dicts(), in the data file's order. */
static PyObject *
row_dict(DatasetObject *ds, int64_t row)
{
    const sx_table *t = ds->table;
    shanxi_state *st = object_state((PyObject *)ds);
    int32_t pidx = sx_project_index(t, t->project[row]);
    const sx_project *p = &t->projects[pidx];
    PyObject *d = PyDict_New();
    if (d == NULL) {
        return NULL;
    }
    struct { const char *name; PyObject *value; } items[] = {
        {"project", PyLong_FromLong(t->project[row])},
        {"project_key", dataset_str(ds, SX_COL_PROJECT_KEY, p->key)},
        {"project_title", dataset_str(ds, SX_COL_PROJECT_TITLE, p->title)},
        {"category", dataset_row_str(ds, SX_COL_CATEGORY, row)},
        {"metric", dataset_row_str(ds, SX_COL_METRIC, row)},
        {"label", dataset_row_str(ds, SX_COL_LABEL, row)},
        {"value", value_object(t->value[row], t->is_int[row])},
        {"unit", dataset_row_str(ds, SX_COL_UNIT, row)},
        {"as_of", date_from_days(st, t->as_of[row])},
        {"period_start", date_from_days(st, t->period_start ? t->period_start[row] : SX_NO_DATE)},
        {"part_of", dataset_row_str(ds, SX_COL_PART_OF, row)},
        {"region", dataset_row_str(ds, SX_COL_REGION, row)},
    };
    int failed = 0;
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
        if (!failed && (items[i].value == NULL
                        || PyDict_SetItemString(d, items[i].name, items[i].value) < 0)) {
            failed = 1;
        }
        Py_XDECREF(items[i].value);
    }
    if (failed) {
        Py_DECREF(d);
        return NULL;
    }
    return d;
}

PyDoc_STRVAR(Dataset_to_dicts_doc,
"to_dicts($self, /)\n--\n\n"
"One plain dict per figure, in file order, with the data file's columns:\n"
"project, project_key, project_title, category, metric, label, value, unit,\n"
"as_of, period_start, part_of, region.");

static PyObject *
Dataset_to_dicts(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    DatasetObject *ds = Dataset_CAST(op);
    PyObject *list = PyList_New((Py_ssize_t)ds->table->nrows);
    if (list == NULL) {
        return NULL;
    }
    for (int64_t row = 0; row < ds->table->nrows; row++) {
        PyObject *d = row_dict(ds, row);
        if (d == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)row, d);
    }
    return list;
}

/* Call shanxi.<module>.<function>(*args): the parts of the API that are
 * easier and no slower in Python (pandas frames, HTML). */
static PyObject *
call_python_helper(const char *module, const char *function, PyObject *args)
{
    PyObject *mod = PyImport_ImportModule(module);
    if (mod == NULL) {
        return NULL;
    }
    PyObject *fn = PyObject_GetAttrString(mod, function);
    Py_DECREF(mod);
    if (fn == NULL) {
        return NULL;
    }
    PyObject *result = PyObject_Call(fn, args, NULL);
    Py_DECREF(fn);
    return result;
}

PyDoc_STRVAR(Dataset_to_frame_doc,
"to_frame($self, /, kind='metrics')\n--\n\n"
"A pandas DataFrame: one row per figure (kind='metrics') or per project\n"
"(kind='projects').  Needs pandas: pip install pandas.");

static PyObject *
Dataset_to_frame(PyObject *op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"kind"};
    static const argspec spec = {"to_frame", names, 1, 1, 0};
    PyObject *vals[1];
    if (parse_args(&spec, args, nargs, kwnames, vals) < 0) {
        return NULL;
    }
    PyObject *kind = vals[0] ? Py_NewRef(vals[0]) : PyUnicode_FromString("metrics");
    if (kind == NULL) {
        return NULL;
    }
    PyObject *call_args = PyTuple_Pack(2, op, kind);
    Py_DECREF(kind);
    if (call_args == NULL) {
        return NULL;
    }
    PyObject *result = call_python_helper("shanxi._frame", "to_frame", call_args);
    Py_DECREF(call_args);
    return result;
}

static PyObject *
html_of(PyObject *self)
{
    PyObject *call_args = PyTuple_Pack(1, self);
    if (call_args == NULL) {
        return NULL;
    }
    PyObject *result = call_python_helper("shanxi._render", "html", call_args);
    Py_DECREF(call_args);
    return result;
}

static PyObject *
any_repr_html(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    return html_of(self);
}

PyDoc_STRVAR(Dataset_arrow_c_stream_doc,
"__arrow_c_stream__($self, /, requested_schema=None)\n--\n\n"
"Export the figures as an Arrow C stream (the Arrow PyCapsule interface),\n"
"so pyarrow.table(ds), polars.DataFrame(ds) and duckdb read it.  A fresh\n"
"stream on every call; numeric columns are not copied.");

static void
release_stream_capsule(PyObject *capsule)
{
    struct ArrowArrayStream *stream =
        PyCapsule_GetPointer(capsule, "arrow_array_stream");
    if (stream == NULL) {
        PyErr_Clear();
        return;
    }
    if (stream->release != NULL) {
        stream->release(stream);
    }
    PyMem_Free(stream);
}

static PyObject *
Dataset_arrow_c_stream(PyObject *op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"requested_schema"};
    static const argspec spec = {"__arrow_c_stream__", names, 1, 1, 0};
    DatasetObject *ds = Dataset_CAST(op);
    PyObject *vals[1];
    if (parse_args(&spec, args, nargs, kwnames, vals) < 0) {
        return NULL;
    }
    /* requested_schema is a hint (the interface lets a producer ignore it):
     * the consumer casts if it wants other types. */
    struct ArrowArrayStream *stream = PyMem_Calloc(1, sizeof *stream);
    if (stream == NULL) {
        return PyErr_NoMemory();
    }
    Py_ssize_t srclen;
    const char *src = PyUnicode_AsUTF8AndSize(ds->source, &srclen);
    if (src == NULL) {
        PyMem_Free(stream);
        return NULL;
    }
    sx_status status = sx_arrow_export(ds->table, src, stream);
    if (status != SX_OK) {
        PyMem_Free(stream);
        raise_core_error(object_state(op), status, NULL, ds->source);
        return NULL;
    }
    PyObject *capsule = PyCapsule_New(stream, "arrow_array_stream", release_stream_capsule);
    if (capsule == NULL) {
        stream->release(stream);
        PyMem_Free(stream);
    }
    return capsule;
}

static PyObject *
Dataset_ipython_key_completions(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    DatasetObject *ds = Dataset_CAST(op);
    const sx_dict *dict = &ds->table->dicts[SX_COL_METRIC];
    PyObject *list = PyList_New(dict->count);
    if (list == NULL) {
        return NULL;
    }
    for (int32_t code = 0; code < dict->count; code++) {
        PyObject *s = dataset_str(ds, SX_COL_METRIC, code);
        if (s == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, code, s);
    }
    return list;
}

static PyObject *
Dataset_reduce(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    DatasetObject *ds = Dataset_CAST(op);
    if (!ds->embedded) {
        PyErr_SetString(PyExc_TypeError,
                        "a loaded Dataset is not picklable: pickle the file's text, or "
                        "to_dicts(), and load it again");
        return NULL;
    }
    /* A str tells pickle to store a reference to the global shanxi.data, so
     * the embedded dataset unpickles to itself. */
    return PyUnicode_FromString("data");
}

/* ------------------------------------------------------------ Dataset type */

static PyObject *
Dataset_repr(PyObject *op)
{
    DatasetObject *ds = Dataset_CAST(op);
    long long n = (long long)ds->table->nrows;
    int np = (int)ds->table->nprojects;
    return PyUnicode_FromFormat("<shanxi.Dataset %R: %lld figure%s, %d project%s>", ds->source,
                                n, n == 1 ? "" : "s", np, np == 1 ? "" : "s");
}

static Py_ssize_t
Dataset_len(PyObject *op)
{
    return (Py_ssize_t)Dataset_CAST(op)->table->nrows;
}

static PyObject *
Dataset_iter(PyObject *op)
{
    PyObject *all = Dataset_metrics(op, NULL, 0, NULL);
    if (all == NULL) {
        return NULL;
    }
    PyObject *it = PyObject_GetIter(all);
    Py_DECREF(all);
    return it;
}

static PyObject *
Dataset_getitem(PyObject *op, PyObject *key)
{
    return Dataset_metric(op, key);
}

static int
Dataset_contains(PyObject *op, PyObject *key)
{
    DatasetObject *ds = Dataset_CAST(op);
    if (!PyUnicode_Check(key)) {
        return 0;
    }
    Py_ssize_t len;
    const char *s = PyUnicode_AsUTF8AndSize(key, &len);
    if (s == NULL) {
        PyErr_Clear();
        return 0;
    }
    return sx_dict_find(&ds->table->dicts[SX_COL_METRIC], s, (size_t)len) >= 0;
}

static PyObject *
Dataset_get_source(PyObject *op, void *Py_UNUSED(closure))
{
    return Py_NewRef(Dataset_CAST(op)->source);
}

static int
Dataset_traverse(PyObject *op, visitproc visit, void *arg)
{
    DatasetObject *ds = Dataset_CAST(op);
    Py_VISIT(Py_TYPE(op));
    if (ds->project_cache != NULL) {
        for (int32_t i = 0; i < ds->table->nprojects; i++) {
            Py_VISIT(ds->project_cache[i]);
        }
    }
    Py_VISIT(ds->projects_tuple);
    return 0;
}

static int
Dataset_clear(PyObject *op)
{
    DatasetObject *ds = Dataset_CAST(op);
    if (ds->project_cache != NULL) {
        for (int32_t i = 0; i < ds->table->nprojects; i++) {
            Py_CLEAR(ds->project_cache[i]);
        }
    }
    Py_CLEAR(ds->projects_tuple);
    return 0;
}

static void
Dataset_dealloc(PyObject *op)
{
    DatasetObject *ds = Dataset_CAST(op);
    PyTypeObject *tp = Py_TYPE(op);
    PyObject_GC_UnTrack(op);
    (void)Dataset_clear(op);
    if (ds->table != NULL) {
        if (ds->metric_cache != NULL) {
            for (int64_t i = 0; i < ds->table->nrows; i++) {
                Py_XDECREF(ds->metric_cache[i]);
            }
        }
        for (int c = 0; c < SX_NSTRCOLS; c++) {
            if (ds->str_cache[c] != NULL) {
                for (int32_t i = 0; i < ds->table->dicts[c].count; i++) {
                    Py_XDECREF(ds->str_cache[c][i]);
                }
                PyMem_Free(ds->str_cache[c]);
            }
        }
    }
    PyMem_Free(ds->metric_cache);
    PyMem_Free(ds->project_cache);
    Py_XDECREF(ds->metric_index);
    Py_XDECREF(ds->project_words);
    Py_XDECREF(ds->metrics_tuple);
    for (int b = 0; b < SX_NBYS; b++) {
        group_keys_free(ds->kept_keys[b]);
    }
    Py_XDECREF(ds->source);
    sx_table_decref(ds->table);
    tp->tp_free(op);
    Py_DECREF(tp);
}

/* A new Dataset owning table (its reference is taken over, also on error). */
static PyObject *
dataset_new(shanxi_state *st, sx_table *table, PyObject *source, int embedded)
{
    DatasetObject *ds = PyObject_GC_New(DatasetObject, st->Dataset_Type);
    if (ds == NULL) {
        sx_table_decref(table);
        return NULL;
    }
    ds->table = table;
    ds->source = Py_NewRef(source);
    ds->metric_cache = NULL;
    ds->project_cache = NULL;
    for (int c = 0; c < SX_NSTRCOLS; c++) {
        ds->str_cache[c] = NULL;
    }
    ds->metric_index = ds->project_words = ds->projects_tuple = ds->metrics_tuple = NULL;
    for (int b = 0; b < SX_NBYS; b++) {
        ds->kept_keys[b] = NULL;
    }
    ds->embedded = embedded;
    PyObject_GC_Track((PyObject *)ds);
    return (PyObject *)ds;
}

static PyMethodDef Dataset_methods[] = {
    {"projects", Dataset_projects, METH_NOARGS, Dataset_projects_doc},
    {"project", Dataset_project, METH_O, Dataset_project_doc},
    {"metrics", (PyCFunction)(void (*)(void))Dataset_metrics, METH_FASTCALL | METH_KEYWORDS,
     Dataset_metrics_doc},
    {"metric", Dataset_metric, METH_O, Dataset_metric_doc},
    {"search", Dataset_search, METH_O, Dataset_search_doc},
    {"aggregate", (PyCFunction)(void (*)(void))Dataset_aggregate, METH_FASTCALL | METH_KEYWORDS,
     Dataset_aggregate_doc},
    {"total", (PyCFunction)(void (*)(void))Dataset_total, METH_FASTCALL | METH_KEYWORDS,
     Dataset_total_doc},
    {"share", Dataset_share, METH_O, Dataset_share_doc},
    {"to_dicts", Dataset_to_dicts, METH_NOARGS, Dataset_to_dicts_doc},
    {"to_frame", (PyCFunction)(void (*)(void))Dataset_to_frame, METH_FASTCALL | METH_KEYWORDS,
     Dataset_to_frame_doc},
    {"__arrow_c_stream__", (PyCFunction)(void (*)(void))Dataset_arrow_c_stream,
     METH_FASTCALL | METH_KEYWORDS, Dataset_arrow_c_stream_doc},
    {"_repr_html_", any_repr_html, METH_NOARGS,
     "_repr_html_($self, /)\n--\n\nAn HTML table of the projects, for notebooks."},
    {"_ipython_key_completions_", Dataset_ipython_key_completions, METH_NOARGS,
     "_ipython_key_completions_($self, /)\n--\n\nThe metric keys, for ds[<TAB>."},
    {"__reduce__", Dataset_reduce, METH_NOARGS,
     "__reduce__($self, /)\n--\n\nThe embedded dataset pickles by name."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Dataset_getset[] = {
    {"source", Dataset_get_source, NULL, "Where the data was read from.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyDoc_STRVAR(Dataset_doc,
"A table of figures in native columns: the embedded shanxi.data, or one\n"
"made by shanxi.load(path) / shanxi.loads(text).\n\n"
"len(ds) is the number of figures; ds[key] is ds.metric(key); iterating\n"
"gives the figures in file order.");

static PyType_Slot Dataset_Type_slots[] = {
    {Py_tp_doc, (void *)Dataset_doc},
    {Py_tp_repr, Dataset_repr},
    {Py_tp_iter, Dataset_iter},
    {Py_tp_methods, Dataset_methods},
    {Py_tp_getset, Dataset_getset},
    {Py_tp_traverse, Dataset_traverse},
    {Py_tp_clear, Dataset_clear},
    {Py_tp_dealloc, Dataset_dealloc},
    {Py_mp_subscript, Dataset_getitem},
    {Py_mp_length, Dataset_len},
    {Py_sq_length, Dataset_len},
    {Py_sq_contains, Dataset_contains},
    {0, NULL},
};

static PyType_Spec Dataset_Type_spec = {
    .name = "shanxi.Dataset",
    .basicsize = sizeof(DatasetObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE
             | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = Dataset_Type_slots,
};

/* ------------------------------------------------------------ Metric type */

static int
check_optional_str(PyObject *obj, const char *what)
{
    if (obj != Py_None && !PyUnicode_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "Metric %s must be a str or None, not %.100s", what,
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    return 0;
}

static PyObject *
Metric_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"key", "project", "value", "unit", "as_of", "label", "part_of",
                             "region", "category", "period_start", NULL};
    PyObject *key, *project, *value, *unit, *as_of;
    PyObject *label = Py_None, *part_of = Py_None, *region = Py_None, *category = Py_None;
    PyObject *period_start = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "UOOUO|OOOOO:Metric", kwlist, &key, &project,
                                     &value, &unit, &as_of, &label, &part_of, &region,
                                     &category, &period_start)) {
        return NULL;
    }
    shanxi_state *st = PyType_GetModuleState(type);
    if (!PyLong_Check(project) || PyBool_Check(project)) {
        PyErr_Format(PyExc_TypeError, "Metric project must be an int, not %.100s",
                     Py_TYPE(project)->tp_name);
        return NULL;
    }
    int overflow;
    long number = PyLong_AsLongAndOverflow(project, &overflow);
    if (number == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (overflow || number < 1 || number > INT32_MAX) {
        /* out of range, however large: a ValueError, never OverflowError */
        PyErr_Format(PyExc_ValueError,
                     "Metric project must be a positive number up to 2147483647, not %R", project);
        return NULL;
    }
    if (PyBool_Check(value) || !(PyLong_CheckExact(value) || PyFloat_CheckExact(value))) {
        PyErr_Format(PyExc_TypeError, "Metric value must be an int or a float, not %.100s",
                     Py_TYPE(value)->tp_name);
        return NULL;
    }
    if (PyFloat_CheckExact(value) && !isfinite(PyFloat_AS_DOUBLE(value))) {
        PyErr_Format(PyExc_ValueError, "Metric value must be finite, not %R", value);
        return NULL;
    }
    int32_t as_of_days, period_days;
    if (check_optional_str(label, "label") < 0 || check_optional_str(part_of, "part_of") < 0
        || check_optional_str(region, "region") < 0
        || check_optional_str(category, "category") < 0
        || days_from_object(st, as_of, "as_of", 0, &as_of_days) < 0
        || days_from_object(st, period_start, "period_start", 1, &period_days) < 0) {
        return NULL;
    }
    MetricObject *m = (MetricObject *)type->tp_alloc(type, 0);
    if (m == NULL) {
        return NULL;
    }
    m->key = Py_NewRef(key);
    m->project = (int32_t)number;
    m->value = Py_NewRef(value);
    m->unit = Py_NewRef(unit);
    m->as_of = as_of_days;
    m->label = Py_NewRef(label);
    m->part_of = Py_NewRef(part_of);
    m->region = Py_NewRef(region);
    m->category = Py_NewRef(category);
    m->period_start = period_days;
    m->hash = -1;
    return (PyObject *)m;
}

static void
Metric_dealloc(PyObject *op)
{
    MetricObject *m = Metric_CAST(op);
    PyTypeObject *tp = Py_TYPE(op);
    Py_XDECREF(m->key);
    Py_XDECREF(m->label);
    Py_XDECREF(m->value);
    Py_XDECREF(m->unit);
    Py_XDECREF(m->part_of);
    Py_XDECREF(m->region);
    Py_XDECREF(m->category);
    tp->tp_free(op);
    Py_DECREF(tp);
}

/* The fields that make two figures equal, as a tuple (dates as days). */
static PyObject *
metric_fields(MetricObject *m)
{
    return Py_BuildValue("(OiOOiiOOOO)", m->key, (int)m->project, m->value, m->unit,
                         (int)m->as_of, (int)m->period_start, m->label, m->part_of, m->region,
                         m->category);
}

static Py_hash_t
Metric_hash(PyObject *op)
{
    MetricObject *m = Metric_CAST(op);
    if (m->hash == -1) {
        PyObject *fields = metric_fields(m);
        if (fields == NULL) {
            return -1;
        }
        m->hash = PyObject_Hash(fields);
        Py_DECREF(fields);
    }
    return m->hash;
}

static PyObject *
Metric_richcompare(PyObject *a, PyObject *b, int op)
{
    if ((op != Py_EQ && op != Py_NE) || Py_TYPE(a) != Py_TYPE(b)) {
        Py_RETURN_NOTIMPLEMENTED;
    }
    if (a == b) {
        return PyBool_FromLong(op == Py_EQ);
    }
    PyObject *fa = metric_fields(Metric_CAST(a));
    PyObject *fb = fa ? metric_fields(Metric_CAST(b)) : NULL;
    PyObject *result = fb ? PyObject_RichCompare(fa, fb, op) : NULL;
    Py_XDECREF(fa);
    Py_XDECREF(fb);
    return result;
}

static PyObject *
Metric_repr(PyObject *op)
{
    MetricObject *m = Metric_CAST(op);
    shanxi_state *st = object_state(op);
    PyObject *as_of = date_from_days(st, m->as_of);
    if (as_of == NULL) {
        return NULL;
    }
    PyObject *when = PyObject_Str(as_of);
    Py_DECREF(as_of);
    if (when == NULL) {
        return NULL;
    }
    PyObject *r;
    if (m->region != Py_None) {
        r = PyUnicode_FromFormat("<Metric %U: %R %U as of %U, %U>", m->key, m->value, m->unit,
                                 when, m->region);
    } else {
        r = PyUnicode_FromFormat("<Metric %U: %R %U as of %U>", m->key, m->value, m->unit, when);
    }
    Py_DECREF(when);
    return r;
}

static PyObject *
Metric_reduce(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    MetricObject *m = Metric_CAST(op);
    shanxi_state *st = object_state(op);
    PyObject *as_of = date_from_days(st, m->as_of);
    PyObject *period = as_of ? date_from_days(st, m->period_start) : NULL;
    PyObject *r = period ? Py_BuildValue("(O(OiOOOOOOOO))", (PyObject *)Py_TYPE(op), m->key,
                                         (int)m->project, m->value, m->unit, as_of, m->label,
                                         m->part_of, m->region, m->category, period)
                         : NULL;
    Py_XDECREF(as_of);
    Py_XDECREF(period);
    return r;
}

static PyObject *
Metric_get_as_of(PyObject *op, void *Py_UNUSED(closure))
{
    return date_from_days(object_state(op), Metric_CAST(op)->as_of);
}

static PyObject *
Metric_get_period_start(PyObject *op, void *Py_UNUSED(closure))
{
    return date_from_days(object_state(op), Metric_CAST(op)->period_start);
}

static PyObject *
Metric_get_project(PyObject *op, void *Py_UNUSED(closure))
{
    return PyLong_FromLong(Metric_CAST(op)->project);
}

static PyMemberDef Metric_members[] = {
    {"key", T_OBJECT, offsetof(MetricObject, key), READONLY, "The figure's snake_case key."},
    {"label", T_OBJECT, offsetof(MetricObject, label), READONLY,
     "A short description, or None."},
    {"value", T_OBJECT, offsetof(MetricObject, value), READONLY,
     "The figure in base units: an int for counts, else a float."},
    {"unit", T_OBJECT, offsetof(MetricObject, unit), READONLY,
     "What the value counts: 'people', 'CNY', 'percent', ..."},
    {"part_of", T_OBJECT, offsetof(MetricObject, part_of), READONLY,
     "The key of the figure this one is a part of, or None."},
    {"region", T_OBJECT, offsetof(MetricObject, region), READONLY,
     "The region the figure is for, or None."},
    {"category", T_OBJECT, offsetof(MetricObject, category), READONLY,
     "The category of its project, or None."},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef Metric_getset[] = {
    {"project", Metric_get_project, NULL, "The number of the project it belongs to.", NULL},
    {"as_of", Metric_get_as_of, NULL,
     "The date the figure stands at (a datetime.date): the cut-off, or the last\n"
     "day of the period it counts over.", NULL},
    {"period_start", Metric_get_period_start, NULL,
     "The first day of the period a figure counts over, or None for a running\n"
     "total up to as_of.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef Metric_methods[] = {
    {"__reduce__", Metric_reduce, METH_NOARGS,
     "__reduce__($self, /)\n--\n\nPickle support: a Metric is rebuilt from its fields."},
    {"_repr_html_", any_repr_html, METH_NOARGS,
     "_repr_html_($self, /)\n--\n\nAn HTML table of the figure, for notebooks."},
    {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(Metric_doc,
"Metric(key, project, value, unit, as_of, label=None, part_of=None, region=None, category=None, period_start=None)\n"
"--\n\n"
"One figure: an immutable, hashable value.  Two figures with the same\n"
"fields are equal whichever dataset they came from.");

static PyType_Slot Metric_Type_slots[] = {
    {Py_tp_doc, (void *)Metric_doc},
    {Py_tp_new, Metric_new},
    {Py_tp_dealloc, Metric_dealloc},
    {Py_tp_repr, Metric_repr},
    {Py_tp_hash, Metric_hash},
    {Py_tp_richcompare, Metric_richcompare},
    {Py_tp_members, Metric_members},
    {Py_tp_getset, Metric_getset},
    {Py_tp_methods, Metric_methods},
    {0, NULL},
};

/* Not GC: a Metric holds only str, int, float and None, so no cycles. */
static PyType_Spec Metric_Type_spec = {
    .name = "shanxi.Metric",
    .basicsize = sizeof(MetricObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = Metric_Type_slots,
};

/* ------------------------------------------------------------ Project type */

static PyObject *
Project_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"number", "key", "title", "category", "as_of", "metrics", NULL};
    PyObject *number, *key = Py_None, *title = Py_None, *category = Py_None, *as_of = Py_None;
    PyObject *metrics = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|OOOOO:Project", kwlist, &number, &key,
                                     &title, &category, &as_of, &metrics)) {
        return NULL;
    }
    shanxi_state *st = PyType_GetModuleState(type);
    if (!PyLong_Check(number) || PyBool_Check(number)) {
        PyErr_Format(PyExc_TypeError, "Project number must be an int, not %.100s",
                     Py_TYPE(number)->tp_name);
        return NULL;
    }
    int overflow;
    long n = PyLong_AsLongAndOverflow(number, &overflow);
    if (n == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (overflow || n < 1 || n > INT32_MAX) {
        PyErr_Format(PyExc_ValueError,
                     "Project number must be a positive number up to 2147483647, not %R", number);
        return NULL;
    }
    int32_t days;
    if (check_optional_str(key, "key") < 0 || check_optional_str(title, "title") < 0
        || check_optional_str(category, "category") < 0
        || days_from_object(st, as_of, "as_of", 1, &days) < 0) {
        return NULL;
    }
    PyObject *tuple = metrics ? PySequence_Tuple(metrics) : PyTuple_New(0);
    if (tuple == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(tuple); i++) {
        if (!Py_IS_TYPE(PyTuple_GET_ITEM(tuple, i), st->Metric_Type)) {
            PyErr_Format(PyExc_TypeError, "Project metrics must be Metric objects, not %.100s",
                         Py_TYPE(PyTuple_GET_ITEM(tuple, i))->tp_name);
            Py_DECREF(tuple);
            return NULL;
        }
    }
    ProjectObject *p = (ProjectObject *)type->tp_alloc(type, 0);
    if (p == NULL) {
        Py_DECREF(tuple);
        return NULL;
    }
    p->number = (int32_t)n;
    p->as_of = days;
    p->key = Py_NewRef(key);
    p->title = Py_NewRef(title);
    p->category = Py_NewRef(category);
    p->metrics = tuple;
    p->dataset = NULL;
    p->hash = -1;
    return (PyObject *)p;
}

static int
Project_traverse(PyObject *op, visitproc visit, void *arg)
{
    ProjectObject *p = Project_CAST(op);
    Py_VISIT(Py_TYPE(op));
    Py_VISIT(p->metrics);
    Py_VISIT(p->dataset);
    return 0;
}

static int
Project_clear(PyObject *op)
{
    ProjectObject *p = Project_CAST(op);
    Py_CLEAR(p->metrics);
    Py_CLEAR(p->dataset);
    return 0;
}

static void
Project_dealloc(PyObject *op)
{
    ProjectObject *p = Project_CAST(op);
    PyTypeObject *tp = Py_TYPE(op);
    PyObject_GC_UnTrack(op);
    (void)Project_clear(op);
    Py_XDECREF(p->key);
    Py_XDECREF(p->title);
    Py_XDECREF(p->category);
    tp->tp_free(op);
    Py_DECREF(tp);
}

static PyObject *
Project_get_metrics(PyObject *op, void *Py_UNUSED(closure))
{
    ProjectObject *p = Project_CAST(op);
    if (p->metrics == NULL) {
        if (p->dataset == NULL) {
            return PyTuple_New(0);
        }
        sx_filter f;
        sx_filter_init(&f);
        f.project = p->number;
        PyObject *metrics = select_metrics(Dataset_CAST(p->dataset), &f);
        if (metrics == NULL) {
            return NULL;
        }
        if (p->metrics == NULL) {
            p->metrics = metrics;
        } else {
            Py_DECREF(metrics);   /* another thread made it meanwhile */
        }
    }
    return Py_NewRef(p->metrics);
}

static PyObject *
Project_get_number(PyObject *op, void *Py_UNUSED(closure))
{
    return PyLong_FromLong(Project_CAST(op)->number);
}

static PyObject *
Project_get_as_of(PyObject *op, void *Py_UNUSED(closure))
{
    return date_from_days(object_state(op), Project_CAST(op)->as_of);
}

static PyObject *
project_fields(ProjectObject *p)
{
    return Py_BuildValue("(iOOOi)", (int)p->number, p->key, p->title, p->category, (int)p->as_of);
}

static Py_hash_t
Project_hash(PyObject *op)
{
    ProjectObject *p = Project_CAST(op);
    if (p->hash == -1) {
        PyObject *fields = project_fields(p);
        if (fields == NULL) {
            return -1;
        }
        p->hash = PyObject_Hash(fields);
        Py_DECREF(fields);
    }
    return p->hash;
}

static PyObject *
Project_richcompare(PyObject *a, PyObject *b, int op)
{
    if ((op != Py_EQ && op != Py_NE) || Py_TYPE(a) != Py_TYPE(b)) {
        Py_RETURN_NOTIMPLEMENTED;
    }
    if (a == b) {
        return PyBool_FromLong(op == Py_EQ);
    }
    PyObject *fa = project_fields(Project_CAST(a));
    PyObject *fb = fa ? project_fields(Project_CAST(b)) : NULL;
    int same = fb ? PyObject_RichCompareBool(fa, fb, Py_EQ) : -1;
    Py_XDECREF(fa);
    Py_XDECREF(fb);
    if (same == 1) {
        /* Same heading: equal when they hold the same figures too. */
        PyObject *ma = Project_get_metrics(a, NULL);
        PyObject *mb = ma ? Project_get_metrics(b, NULL) : NULL;
        same = mb ? PyObject_RichCompareBool(ma, mb, Py_EQ) : -1;
        Py_XDECREF(ma);
        Py_XDECREF(mb);
    }
    if (same < 0) {
        return NULL;
    }
    return PyBool_FromLong(op == Py_EQ ? same : !same);
}

static PyObject *
Project_repr(PyObject *op)
{
    ProjectObject *p = Project_CAST(op);
    if (p->key != Py_None && p->title != Py_None) {
        return PyUnicode_FromFormat("<Project %d %U: %U>", (int)p->number, p->key, p->title);
    }
    if (p->key != Py_None || p->title != Py_None) {
        return PyUnicode_FromFormat("<Project %d: %U>", (int)p->number,
                                    p->key != Py_None ? p->key : p->title);
    }
    return PyUnicode_FromFormat("<Project %d>", (int)p->number);
}

static PyObject *
Project_reduce(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    ProjectObject *p = Project_CAST(op);
    PyObject *metrics = Project_get_metrics(op, NULL);
    PyObject *as_of = metrics ? date_from_days(object_state(op), p->as_of) : NULL;
    PyObject *r = as_of ? Py_BuildValue("(O(iOOOOO))", (PyObject *)Py_TYPE(op), (int)p->number,
                                        p->key, p->title, p->category, as_of, metrics)
                        : NULL;
    Py_XDECREF(metrics);
    Py_XDECREF(as_of);
    return r;
}

static PyMemberDef Project_members[] = {
    {"key", T_OBJECT, offsetof(ProjectObject, key), READONLY,
     "A short stable slug, or None."},
    {"title", T_OBJECT, offsetof(ProjectObject, title), READONLY,
     "The project's heading, or None."},
    {"category", T_OBJECT, offsetof(ProjectObject, category), READONLY,
     "Its category (see data/README.md), or None."},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef Project_getset[] = {
    {"number", Project_get_number, NULL, "Its number (1-12 in the article's order).", NULL},
    {"as_of", Project_get_as_of, NULL, "The latest as_of of its figures.", NULL},
    {"metrics", Project_get_metrics, NULL, "Its figures, a tuple of Metric.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef Project_methods[] = {
    {"__reduce__", Project_reduce, METH_NOARGS,
     "__reduce__($self, /)\n--\n\nPickle support: rebuilt from its fields and figures."},
    {"_repr_html_", any_repr_html, METH_NOARGS,
     "_repr_html_($self, /)\n--\n\nAn HTML table of its figures, for notebooks."},
    {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(Project_doc,
"Project(number, key=None, title=None, category=None, as_of=None, metrics=())\n"
"--\n\n"
"One project and its figures: immutable and hashable.");

static PyType_Slot Project_Type_slots[] = {
    {Py_tp_doc, (void *)Project_doc},
    {Py_tp_new, Project_new},
    {Py_tp_dealloc, Project_dealloc},
    {Py_tp_traverse, Project_traverse},
    {Py_tp_clear, Project_clear},
    {Py_tp_repr, Project_repr},
    {Py_tp_hash, Project_hash},
    {Py_tp_richcompare, Project_richcompare},
    {Py_tp_members, Project_members},
    {Py_tp_getset, Project_getset},
    {Py_tp_methods, Project_methods},
    {0, NULL},
};

static PyType_Spec Project_Type_spec = {
    .name = "shanxi.Project",
    .basicsize = sizeof(ProjectObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = Project_Type_slots,
};

/* ------------------------------------------------------------ load / loads */

/* Parse len bytes at buf without the GIL; a new Dataset or NULL. */
static PyObject *
parse_to_dataset(shanxi_state *st, const char *buf, size_t len, const sx_parse_options *opts,
                 PyObject *source)
{
    sx_table *table = NULL;
    sx_error err;
    sx_status status;
    memset(&err, 0, sizeof err);
    Py_BEGIN_ALLOW_THREADS
    status = sx_table_parse_with(buf, len, opts, &table, &err);
    Py_END_ALLOW_THREADS
    if (status != SX_OK) {
        raise_core_error(st, status, &err, source);
        return NULL;
    }
    return dataset_new(st, table, source, 0);
}

PyDoc_STRVAR(loads_doc,
"loads($module, text, /)\n--\n\n"
"A Dataset parsed from CSV text (str) or UTF-8 bytes in the data/ format.\n"
"Malformed input raises shanxi.ParseError with .line and .column.");

static PyObject *
shanxi_loads(PyObject *module, PyObject *text)
{
    shanxi_state *st = module_state(module);
    PyObject *source = PyUnicode_FromString("<string>");
    if (source == NULL) {
        return NULL;
    }
    PyObject *result = NULL;
    if (PyUnicode_Check(text)) {
        Py_ssize_t len;
        const char *buf = PyUnicode_AsUTF8AndSize(text, &len);
        if (buf != NULL) {
            result = parse_to_dataset(st, buf, (size_t)len, NULL, source);
        } else if (PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
            /* Lone surrogates are the str form of invalid UTF-8: parse the
             * bytes surrogateescape gives back (else those surrogatepass
             * writes), so the parser reports them as a ParseError with
             * their line and column like any other malformed input. */
            PyErr_Clear();
            PyObject *bytes = PyUnicode_AsEncodedString(text, "utf-8", "surrogateescape");
            if (bytes == NULL && PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
                PyErr_Clear();
                bytes = PyUnicode_AsEncodedString(text, "utf-8", "surrogatepass");
            }
            if (bytes != NULL) {
                result = parse_to_dataset(st, PyBytes_AS_STRING(bytes),
                                          (size_t)PyBytes_GET_SIZE(bytes), NULL, source);
                Py_DECREF(bytes);
            }
        }
    } else if (PyObject_CheckBuffer(text)) {
        Py_buffer view;
        if (PyObject_GetBuffer(text, &view, PyBUF_SIMPLE) == 0) {
            result = parse_to_dataset(st, view.buf, (size_t)view.len, NULL, source);
            PyBuffer_Release(&view);
        } else if (PyErr_ExceptionMatches(PyExc_BufferError)) {
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError,
                         "loads() takes a str or a contiguous bytes-like object; this %.100s "
                         "is not contiguous (pass bytes(obj))", Py_TYPE(text)->tp_name);
        }
    } else {
        PyErr_Format(PyExc_TypeError, "loads() takes a str or bytes-like object, not %.100s",
                     Py_TYPE(text)->tp_name);
    }
    Py_DECREF(source);
    return result;
}

#ifndef _WIN32
/* Map (or, for pipes and the like, read) a whole file without the GIL.
 * Returns 0, or an errno value. */
static int
read_whole_file(const char *path, char **buf, size_t *len, int *mapped)
{
    int err = 0;
    *buf = NULL;
    *len = 0;
    *mapped = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno;
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0) {
        err = errno;
        goto done;
    }
    if (S_ISDIR(sb.st_mode)) {
        err = EISDIR;
        goto done;
    }
    if (S_ISREG(sb.st_mode)) {
        if (sb.st_size == 0) {
            goto done;
        }
        void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED) {
            /* read once, front to back: ask for early, large read-ahead */
#ifdef MADV_SEQUENTIAL
            (void)madvise(p, (size_t)sb.st_size, MADV_SEQUENTIAL);
#endif
            *buf = p;
            *len = (size_t)sb.st_size;
            *mapped = 1;
            goto done;
        }
    }
    size_t cap = 1 << 16, n = 0;
    char *data = malloc(cap);
    if (data == NULL) {
        err = ENOMEM;
        goto done;
    }
    for (;;) {
        if (n == cap) {
            char *bigger = realloc(data, cap * 2);
            if (bigger == NULL) {
                free(data);
                err = ENOMEM;
                goto done;
            }
            data = bigger;
            cap *= 2;
        }
        ssize_t got = read(fd, data + n, cap - n);
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            err = errno;
            free(data);
            goto done;
        }
        if (got == 0) {
            break;
        }
        n += (size_t)got;
    }
    *buf = data;
    *len = n;
done:
    close(fd);
    return err;
}

/* The parser's consumed() callback for a mapped file: drop the pages it is
 * done with, so a load needs about the table's memory rather than the
 * table's plus the whole file's.  The mapping is private and never written,
 * so a page dropped here reads back from the file if the parser looks at it
 * again.  Two parsing threads may call it at once: it keeps no state, and
 * only whole pages inside the range go (a page shared with the next range
 * stays until the file is unmapped). */
typedef struct mapped_input {
    /* (cppcheck, without the system headers, sees only the #else below) */
    /* cppcheck-suppress unusedStructMember */
    char *base;
    size_t page;
} mapped_input;

static void
release_consumed(void *ctx, size_t offset, size_t n)
{
    const mapped_input *m = ctx;
    size_t from = (offset + m->page - 1) / m->page * m->page;
    size_t to = (offset + n) / m->page * m->page;
#ifdef MADV_DONTNEED
    if (to > from) {
        (void)madvise(m->base + from, to - from, MADV_DONTNEED);
    }
#else
    (void)from;
    (void)to;
#endif
}

static void
release_file(char *buf, size_t len, int mapped)
{
    if (mapped) {
        munmap(buf, len);
    } else {
        free(buf);
    }
}
#endif

PyDoc_STRVAR(load_doc,
"load($module, path, /)\n--\n\n"
"A Dataset read from a CSV file in the data/ format (see data/README.md).\n"
"Malformed input raises shanxi.ParseError with .source, .line and .column;\n"
"a missing file raises FileNotFoundError.");

static PyObject *
shanxi_load(PyObject *module, PyObject *path)
{
    shanxi_state *st = module_state(module);
    PyObject *encoded = NULL, *source = NULL, *result = NULL;
    if (!PyUnicode_FSConverter(path, &encoded)) {
        return NULL;
    }
    source = PyUnicode_DecodeFSDefault(PyBytes_AS_STRING(encoded));
    if (source == NULL) {
        goto done;
    }
#ifdef _WIN32
    {
        PyObject *io = PyImport_ImportModule("io");
        PyObject *f = io ? PyObject_CallMethod(io, "open", "Os", source, "rb") : NULL;
        PyObject *data = f ? PyObject_CallMethod(f, "read", NULL) : NULL;
        if (f) {
            PyObject *r = PyObject_CallMethod(f, "close", NULL);
            Py_XDECREF(r);
        }
        Py_XDECREF(io);
        Py_XDECREF(f);
        if (data != NULL) {
            result = parse_to_dataset(st, PyBytes_AS_STRING(data),
                                      (size_t)PyBytes_GET_SIZE(data), NULL, source);
            Py_DECREF(data);
        }
    }
#else
    {
        char *buf;
        size_t len;
        int mapped, err;
        const char *cpath = PyBytes_AS_STRING(encoded);
        Py_BEGIN_ALLOW_THREADS
        err = read_whole_file(cpath, &buf, &len, &mapped);
        Py_END_ALLOW_THREADS
        if (err != 0) {
            errno = err;
            PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, source);
            goto done;
        }
        long page = sysconf(_SC_PAGESIZE);
        mapped_input input = {buf, page > 0 ? (size_t)page : 4096};
        sx_parse_options opts = {release_consumed, &input};
        result = parse_to_dataset(st, buf ? buf : "", len, mapped ? &opts : NULL, source);
        if (buf != NULL) {
            release_file(buf, len, mapped);
        }
    }
#endif
done:
    Py_XDECREF(encoded);
    Py_XDECREF(source);
    return result;
}

/* ------------------------------------------------------------ module */

static PyMethodDef shanxi_methods[] = {
    {"loads", shanxi_loads, METH_O, loads_doc},
    {"load", shanxi_load, METH_O, load_doc},
    {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(ParseError_doc,
"Malformed input to shanxi.load/loads: a ValueError with .source (the path\n"
"or '<string>'), .line and .column (1-based, as an editor counts) and\n"
".reason (what was expected).");

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

static int
shanxi_exec(PyObject *module)
{
    shanxi_state *st = module_state(module);
    st->Dataset_Type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &Dataset_Type_spec, NULL);
    if (st->Dataset_Type == NULL) {
        return -1;
    }
    st->Project_Type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &Project_Type_spec, NULL);
    if (st->Project_Type == NULL) {
        return -1;
    }
    st->Metric_Type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &Metric_Type_spec, NULL);
    if (st->Metric_Type == NULL) {
        return -1;
    }
#ifdef SHANXI_CLEAR_TP_NEW
    st->Dataset_Type->tp_new = NULL;
#endif
#if PY_VERSION_HEX < 0x030A0000
    /* 3.9 drops the "Name(...)\n--\n\n" signature from a spec's tp_doc, which
     * inspect.signature() needs: put the full docstring back. */
    if (restore_type_doc(st->Metric_Type, Metric_doc) < 0
        || restore_type_doc(st->Project_Type, Project_doc) < 0) {
        return -1;
    }
#endif
    st->ParseError = PyErr_NewExceptionWithDoc("shanxi.ParseError", ParseError_doc,
                                               PyExc_ValueError, NULL);
    if (st->ParseError == NULL) {
        return -1;
    }
    if (PyModule_AddObjectRef(module, "Dataset", (PyObject *)st->Dataset_Type) < 0
        || PyModule_AddObjectRef(module, "Project", (PyObject *)st->Project_Type) < 0
        || PyModule_AddObjectRef(module, "Metric", (PyObject *)st->Metric_Type) < 0
        || PyModule_AddObjectRef(module, "ParseError", st->ParseError) < 0) {
        return -1;
    }

    /* The embedded data is parsed by the same parser users' files go through. */
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
    st->embedded = dataset_new(st, table, source, 1);
    Py_DECREF(source);
    if (st->embedded == NULL || PyModule_AddObjectRef(module, "data", st->embedded) < 0) {
        return -1;
    }
    return 0;
}

static int
shanxi_traverse(PyObject *module, visitproc visit, void *arg)
{
    shanxi_state *st = module_state(module);
    Py_VISIT(st->Dataset_Type);
    Py_VISIT(st->Project_Type);
    Py_VISIT(st->Metric_Type);
    Py_VISIT(st->ParseError);
    Py_VISIT(st->embedded);
    Py_VISIT(st->date_type);
    return 0;
}

static int
shanxi_clear(PyObject *module)
{
    shanxi_state *st = module_state(module);
    Py_CLEAR(st->Dataset_Type);
    Py_CLEAR(st->Project_Type);
    Py_CLEAR(st->Metric_Type);
    Py_CLEAR(st->ParseError);
    Py_CLEAR(st->embedded);
    Py_CLEAR(st->date_type);
    return 0;
}

static void
shanxi_free(void *module)
{
    (void)shanxi_clear((PyObject *)module);
}

static PyModuleDef_Slot shanxi_slots[] = {
    {Py_mod_exec, shanxi_exec},
#if PY_VERSION_HEX >= 0x030C0000
    /* Safe in interpreters with their own GIL: everything mutable lives in
     * the module state or in objects; the only process-wide state is the
     * parser's "C" locale, made once and published atomically (parse.c).
     * Tested by tests/test_threads.py.  Py_mod_gil is left undeclared: the
     * Dataset's lazy caches are filled without locks, so free-threaded
     * builds must keep the GIL on for this module. */
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
    {0, NULL},
};

PyDoc_STRVAR(shanxi_doc,
"The C core of shanxi: native storage, lookups and aggregation.  Use the\n"
"shanxi package, which re-exports everything public from here.");

static struct PyModuleDef shanxi_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "shanxi._shanxi",
    .m_doc = shanxi_doc,
    .m_size = sizeof(shanxi_state),
    .m_methods = shanxi_methods,
    .m_slots = shanxi_slots,
    .m_traverse = shanxi_traverse,
    .m_clear = shanxi_clear,
    .m_free = shanxi_free,
};

PyMODINIT_FUNC
PyInit__shanxi(void)
{
    return PyModuleDef_Init(&shanxi_module);
}
