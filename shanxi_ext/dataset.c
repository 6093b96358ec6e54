/*
 * dataset.c -- the Dataset type: a parsed table in native columns, its query
 * methods (projects, metrics, search, aggregate, total, share, to_dicts),
 * the mapping and sequence protocols, and its export as an Arrow C stream.
 * Lookups go through lookup.c, results through cache.c and groups.c.
 */
#include "binding.h"
#include "shanxi/arrow.h"

#include <math.h>

PyDoc_STRVAR(Dataset_projects_doc, "projects($self, /)\n--\n\n"
                                   "All projects, ordered by number, as a tuple of Project.");

static PyObject *
Dataset_projects(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    DatasetObject *ds = Dataset_CAST(op);
    if (ds->projects_tuple != NULL) {
        return Py_NewRef(ds->projects_tuple);
    }
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
    return cache_publish(&ds->projects_tuple, tuple);
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
        if (n >= 1 && n <= ds->table->nprojects && ds->table->projects[n - 1].number == n &&
            ds->project_cache[n - 1] != NULL) {
            return Py_NewRef(ds->project_cache[n - 1]);
        }
        if (n == -1 && PyErr_Occurred()) {
            PyErr_Clear(); /* too large (OverflowError): the general path says so */
        }
    }
    int32_t idx = project_index_of(ds, key);
    if (idx < 0) {
        return NULL;
    }
    return dataset_project_at(ds, idx);
}

PyDoc_STRVAR(Dataset_metrics_doc,
             "metrics($self, /, *, project=None, metric=None, unit=None, category=None, "
             "region=None, since=None, until=None)\n"
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
    if (nargs != 0 || kwnames != NULL) {
        return select_metrics(ds, &f);
    }
    if (ds->metrics_tuple != NULL) {
        return Py_NewRef(ds->metrics_tuple);
    }
    PyObject *all = select_metrics(ds, &f);
    if (all == NULL) {
        return NULL;
    }
    return cache_publish(&ds->metrics_tuple, all);
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
            goto error;
        }
        Py_DECREF(cache_publish(&ds->metric_index, index));
    }
    if (PyDict_SetItem(ds->metric_index, key, m) < 0) {
        goto error;
    }
    return m;
error:
    Py_DECREF(m);
    return NULL;
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
    /* The words casefolded, as the searched text is (and as project()
     * folds its key): one rule of case for every lookup by words. */
    const sx_table *view = dataset_search_view(ds);
    if (view == NULL) {
        return NULL;
    }
    PyObject *folded = PyObject_CallMethod(text, "casefold", NULL);
    if (folded == NULL) {
        return NULL;
    }
    PyObject *words = PyUnicode_Split(folded, NULL, -1);
    Py_DECREF(folded);
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
        goto error;
    }
    for (Py_ssize_t i = 0; i < nwords; i++) {
        Py_ssize_t len;
        int ok = str_utf8(PyList_GET_ITEM(words, i), &ptrs[i], &len);
        if (ok < 0) {
            goto error;
        }
        if (ok == 0) {
            /* lone surrogates match nothing */
            result = as_figures(ds, PyTuple_New(0), NULL, 0);
            goto error;
        }
        lens[i] = (size_t)len;
    }
    sx_status status = sx_search(view, ptrs, lens, (size_t)nwords, &rows, &n);
    if (status != SX_OK) {
        raise_core_error(object_state(op), status, NULL, ds->source);
        goto error;
    }
    result = metrics_tuple_of_rows(ds, rows, n);
error:
    free(rows);
    PyMem_Free(ptrs);
    PyMem_Free(lens);
    Py_DECREF(words);
    return result;
}

PyDoc_STRVAR(Dataset_aggregate_doc,
             "aggregate($self, /, func='sum', *, by=None, project=None, metric=None, unit=None, "
             "category=None, region=None, since=None, until=None)\n"
             "--\n\n"
             "Aggregate the figures the filters select (as for metrics()).\n\n"
             "func is 'sum', 'count', 'mean', 'min' or 'max'.  by is None (one number)\n"
             "or 'project', 'metric', 'category', 'unit', 'region', 'as_of' or 'month'\n"
             "(a dict ordered by group), or a tuple of those, e.g. ('region', 'month')\n"
             "(a dict keyed by tuples, ordered by each key in turn; a 1-tuple gives\n"
             "1-tuple keys).  Units never mix: sum, mean, min and max over figures of\n"
             "several units raise ValueError, naming the group, unless unit= is given\n"
             "or 'unit' is among the keys.  Sums of integers are exact ints; float sums\n"
             "are correctly rounded.");

/* The groupings a tuple of names gives, into keys: how many (at least
 * one, none twice), or -1 with an exception.  Dataset.partial's too. */
int
by_keys(PyObject *names, sx_by *keys)
{
    Py_ssize_t n = PyTuple_GET_SIZE(names);
    if (n == 0) {
        PyErr_SetString(PyExc_ValueError, "by must name at least one key, not none");
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *name = PyTuple_GET_ITEM(names, i);
        if (!PyUnicode_Check(name)) {
            PyErr_Format(PyExc_TypeError,
                         "by must be a str or a tuple of str, not a tuple of %.100s",
                         Py_TYPE(name)->tp_name);
            return -1;
        }
        int by = name_index(name, "by", sx_by_names, SX_NBYS, 1);
        if (by < 0) {
            return -1;
        }
        for (Py_ssize_t j = 0; j < i; j++) {
            if (keys[j] == (sx_by)by) {
                PyErr_Format(PyExc_ValueError, "by names %R twice", name);
                return -1;
            }
        }
        keys[i] = (sx_by)by; /* distinct, so at most SX_MAX_KEYS of them */
    }
    return (int)n;
}

static PyObject *
Dataset_aggregate(PyObject *op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    enum { A_FUNC, A_BY, A_FILTERS, A_COUNT = A_FILTERS + F_COUNT };
    static const char *const names[] = {"func", "by", FILTER_NAMES};
    static const argspec spec = {"aggregate", names, A_COUNT, 1, 0};
    DatasetObject *ds = Dataset_CAST(op);
    PyObject *vals[A_COUNT];
    sx_filter f;
    if (parse_args(&spec, args, nargs, kwnames, vals) < 0) {
        return NULL;
    }
    int func = vals[A_FUNC]
                   ? name_index(vals[A_FUNC], "aggregation func", sx_func_names, SX_NFUNCS, 0)
                   : SX_SUM;
    if (func < 0) {
        return NULL;
    }
    if (vals[A_BY] != NULL && PyTuple_Check(vals[A_BY])) {
        sx_by keys[SX_MAX_KEYS];
        int nby = by_keys(vals[A_BY], keys);
        if (nby < 0 || build_filter(ds, vals + A_FILTERS, &f) < 0) {
            return NULL;
        }
        return run_aggregate_keys(ds, (sx_func)func, keys, nby, &f);
    }
    if (vals[A_BY] != NULL && vals[A_BY] != Py_None && !PyUnicode_Check(vals[A_BY])) {
        PyErr_Format(PyExc_TypeError, "by must be a str or a tuple of str, not %.100s",
                     Py_TYPE(vals[A_BY])->tp_name);
        return NULL;
    }
    int by = (vals[A_BY] && vals[A_BY] != Py_None)
                 ? name_index(vals[A_BY], "by", sx_by_names, SX_NBYS, 1)
                 : SX_BY_NONE;
    if (by < 0 || build_filter(ds, vals + A_FILTERS, &f) < 0) {
        return NULL;
    }
    return run_aggregate(ds, (sx_func)func, (sx_by)by, &f);
}

PyDoc_STRVAR(Dataset_total_doc,
             "total($self, /, unit, *, project=None, metric=None, category=None, region=None, "
             "since=None, until=None)\n"
             "--\n\n"
             "The sum of the figures in unit that the filters select: the same as\n"
             "aggregate('sum', unit=unit, ...).  Exact for integer figures; 0 when\n"
             "nothing matches.");

static PyObject *
Dataset_total(PyObject *op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    enum { T_UNIT, T_PROJECT, T_METRIC, T_CATEGORY, T_REGION, T_SINCE, T_UNTIL, T_COUNT };
    static const char *const names[] = {"unit",   "project", "metric", "category",
                                        "region", "since",   "until"};
    static const argspec spec = {"total", names, T_COUNT, 1, 1};
    DatasetObject *ds = Dataset_CAST(op);
    PyObject *given[T_COUNT];
    sx_filter f;
    if (parse_args(&spec, args, nargs, kwnames, given) < 0) {
        return NULL;
    }
    if (given[T_UNIT] == Py_None) {
        PyErr_SetString(PyExc_TypeError, "total() unit must be a str, not None");
        return NULL;
    }
    PyObject *vals[F_COUNT] = {
        [F_PROJECT] = given[T_PROJECT],   [F_METRIC] = given[T_METRIC], [F_UNIT] = given[T_UNIT],
        [F_CATEGORY] = given[T_CATEGORY], [F_REGION] = given[T_REGION], [F_SINCE] = given[T_SINCE],
        [F_UNTIL] = given[T_UNTIL],
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
                     "so it has no share",
                     key);
        return NULL;
    }
    /* the core's share column, as to_frame() and to_dicts() have it */
    const sx_shares *shares = sx_table_shares(ds->table);
    if (shares == NULL) {
        return PyErr_NoMemory();
    }
    if ((shares->valid[row >> 3] >> (row & 7)) & 1) {
        return PyFloat_FromDouble(shares->value[row]);
    }
    /* no share: its whole is missing, not one figure, or zero */
    int64_t n;
    if (sx_share_whole(t, row, &n) < 0) {
        PyObject *whole_key = dataset_str(ds, SX_COL_PART_OF, whole_code);
        if (whole_key != NULL) {
            PyErr_Format(PyExc_ValueError,
                         "figure %R is part of %R, but %U has %lld figures %R for its project, "
                         "region and date, not one",
                         key, whole_key, ds->source, (long long)n, whole_key);
            Py_DECREF(whole_key);
        }
        return NULL;
    }
    PyErr_Format(PyExc_ValueError, "the whole of %R is zero, so it has no share", key);
    return NULL;
}

/* One row of to_dicts(): the data file's columns, in its order. */
static PyObject *
row_dict(DatasetObject *ds, const sx_shares *shares, int64_t row)
{
    enum {
        R_PROJECT,
        R_PROJECT_KEY,
        R_PROJECT_TITLE,
        R_CATEGORY,
        R_METRIC,
        R_LABEL,
        R_VALUE,
        R_UNIT,
        R_AS_OF,
        R_PERIOD_START,
        R_PART_OF,
        R_REGION,
        R_SHARE,
        R_COUNT
    };
    static const char *const columns[R_COUNT] = {
        "project", "project_key", "project_title", "category", "metric", "label", "value",
        "unit",    "as_of",       "period_start",  "part_of",  "region", "share",
    };
    const sx_table *t = ds->table;
    shanxi_state *st = object_state((PyObject *)ds);
    const sx_project *p = &t->projects[sx_project_index(t, t->project[row])];
    PyObject *d = PyDict_New(), *value = NULL;
    if (d == NULL) {
        return NULL;
    }
    /* Each value is made and stored before the next: no C API call runs
     * with an exception set. */
    for (int c = 0; c < R_COUNT; c++) {
        switch (c) {
        case R_PROJECT:
            value = PyLong_FromLong(t->project[row]);
            break;
        case R_PROJECT_KEY:
            value = dataset_str(ds, SX_COL_PROJECT_KEY, p->key);
            break;
        case R_PROJECT_TITLE:
            value = dataset_str(ds, SX_COL_PROJECT_TITLE, p->title);
            break;
        case R_CATEGORY:
            value = dataset_row_str(ds, SX_COL_CATEGORY, row);
            break;
        case R_METRIC:
            value = dataset_row_str(ds, SX_COL_METRIC, row);
            break;
        case R_LABEL:
            value = dataset_row_str(ds, SX_COL_LABEL, row);
            break;
        case R_VALUE:
            value = value_object(t->value[row], t->is_int[row]);
            break;
        case R_UNIT:
            value = dataset_row_str(ds, SX_COL_UNIT, row);
            break;
        case R_AS_OF:
            value = date_from_days(st, t->as_of[row]);
            break;
        case R_PERIOD_START:
            value = date_from_days(st, t->period_start ? t->period_start[row] : SX_NO_DATE);
            break;
        case R_PART_OF:
            value = dataset_row_str(ds, SX_COL_PART_OF, row);
            break;
        case R_REGION:
            value = dataset_row_str(ds, SX_COL_REGION, row);
            break;
        default:
            /* the core's one share column: None where a figure has none */
            value = isnan(shares->value[row]) ? Py_NewRef(Py_None)
                                              : PyFloat_FromDouble(shares->value[row]);
            break;
        }
        if (value == NULL || PyDict_SetItemString(d, columns[c], value) < 0) {
            goto error;
        }
        Py_CLEAR(value);
    }
    return d;
error:
    Py_XDECREF(value);
    Py_DECREF(d);
    return NULL;
}

PyDoc_STRVAR(Dataset_to_dicts_doc,
             "to_dicts($self, /)\n--\n\n"
             "One plain dict per figure, in file order, with the data file's columns:\n"
             "project, project_key, project_title, category, metric, label, value, unit,\n"
             "as_of, period_start, part_of, region, and share: the figure's share of\n"
             "the whole it is part_of (None where it has none), as to_frame() and the\n"
             "Arrow export carry it.");

static PyObject *
Dataset_to_dicts(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    DatasetObject *ds = Dataset_CAST(op);
    const sx_shares *shares = sx_table_shares(ds->table);
    if (shares == NULL) {
        return PyErr_NoMemory();
    }
    PyObject *list = PyList_New((Py_ssize_t)ds->table->nrows);
    if (list == NULL) {
        return NULL;
    }
    for (int64_t row = 0; row < ds->table->nrows; row++) {
        PyObject *d = row_dict(ds, shares, row);
        if (d == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)row, d);
    }
    return list;
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
    PyObject *frame = make_frame(op, kind);
    Py_DECREF(kind);
    return frame;
}

/* ------------------------------------------------------------ Arrow export */

PyDoc_STRVAR(Dataset_arrow_c_stream_doc,
             "__arrow_c_stream__($self, /, requested_schema=None)\n--\n\n"
             "Export the figures as an Arrow C stream (the Arrow PyCapsule interface),\n"
             "so pyarrow.table(ds), polars.DataFrame(ds) and duckdb read it.  A fresh\n"
             "stream on every call; numeric columns are not copied.");

static void
release_stream_capsule(PyObject *capsule)
{
    struct ArrowArrayStream *stream = PyCapsule_GetPointer(capsule, "arrow_array_stream");
    if (stream == NULL) {
        PyErr_Clear(); /* a destructor has no one to report to */
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
    /* Arrow metadata is UTF-8, but a path's name need not be: decoded with
     * the file system encoding it may hold lone surrogates (one per byte
     * that is not UTF-8).  Those are written as backslash escapes ("\udcff"),
     * so the export never fails and the metadata still tells such names
     * apart; every other source goes over unchanged. */
    /* many files: their paths, one a line */
    PyObject *text = Py_NewRef(ds->source);
    if (ds->files != NULL) {
        PyObject *newline = PyUnicode_FromString("\n");
        Py_SETREF(text, newline ? PyUnicode_Join(newline, ds->files) : NULL);
        Py_XDECREF(newline);
    }
    PyObject *source = text ? PyUnicode_AsEncodedString(text, "utf-8", "backslashreplace") : NULL;
    Py_XDECREF(text);
    if (source == NULL) {
        return NULL;
    }
    PyObject *capsule = NULL;
    struct ArrowArrayStream *stream = PyMem_Calloc(1, sizeof *stream);
    if (stream == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    sx_status status = sx_arrow_export(ds->table, PyBytes_AS_STRING(source), stream);
    if (status != SX_OK) {
        raise_core_error(object_state(op), status, NULL, ds->source);
        goto error;
    }
    capsule = PyCapsule_New(stream, "arrow_array_stream", release_stream_capsule);
    if (capsule == NULL) {
        stream->release(stream);
        goto error;
    }
    Py_DECREF(source);
    return capsule;
error:
    PyMem_Free(stream);
    Py_DECREF(source);
    return NULL;
}

/* ------------------------------------------------------------ small protocols */

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

static PyObject *
Dataset_repr(PyObject *op)
{
    DatasetObject *ds = Dataset_CAST(op);
    long long n = (long long)ds->table->nrows;
    int np = (int)ds->table->nprojects;
    if (ds->files != NULL) {
        Py_ssize_t nf = PyTuple_GET_SIZE(ds->files);
        return PyUnicode_FromFormat("<shanxi.Dataset %zd file%s: %lld figure%s, %d project%s>", nf,
                                    nf == 1 ? "" : "s", n, n == 1 ? "" : "s", np,
                                    np == 1 ? "" : "s");
    }
    /* a path or "<string>" quoted; the embedded data named in words */
    return PyUnicode_FromFormat(ds->embedded ? "<shanxi.Dataset %S: %lld figure%s, %d project%s>"
                                             : "<shanxi.Dataset %R: %lld figure%s, %d project%s>",
                                ds->source, n, n == 1 ? "" : "s", np, np == 1 ? "" : "s");
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
    const char *s;
    int ok = str_utf8(key, &s, &len);
    if (ok <= 0) {
        return ok; /* lone surrogates: not a key; -1: an error */
    }
    return sx_dict_find(&ds->table->dicts[SX_COL_METRIC], s, (size_t)len) >= 0;
}

static PyObject *
Dataset_get_source(PyObject *op, void *Py_UNUSED(closure))
{
    DatasetObject *ds = Dataset_CAST(op);
    return Py_NewRef(ds->files ? ds->files : ds->source);
}

/* ------------------------------------------------------------ the type */

static int
Dataset_traverse(PyObject *op, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(op));
    Py_VISIT(Dataset_CAST(op)->source);
    Py_VISIT(Dataset_CAST(op)->files);
    return dataset_caches_traverse(Dataset_CAST(op), visit, arg);
}

static int
Dataset_clear(PyObject *op)
{
    dataset_caches_clear(Dataset_CAST(op));
    return 0;
}

static void
Dataset_dealloc(PyObject *op)
{
    DatasetObject *ds = Dataset_CAST(op);
    PyTypeObject *tp = Py_TYPE(op);
    PyObject_GC_UnTrack(op);
    dataset_caches_free(ds);
    Py_XDECREF(ds->source);
    Py_XDECREF(ds->files);
    sx_table_decref(ds->table);
    tp->tp_free(op);
    Py_DECREF(tp);
}

/* A new Dataset owning table (its reference is taken over, also on error). */
PyObject *
dataset_new(shanxi_state *st, sx_table *table, PyObject *source, int embedded)
{
    DatasetObject *ds = PyObject_GC_New(DatasetObject, st->Dataset_Type);
    if (ds == NULL) {
        sx_table_decref(table);
        return NULL;
    }
    ds->table = table;
    ds->source = Py_NewRef(source);
    ds->files = NULL;
    ds->metric_cache = NULL;
    ds->project_cache = NULL;
    for (int c = 0; c < SX_NSTRCOLS; c++) {
        ds->str_cache[c] = NULL;
    }
    ds->metric_index = ds->project_words = ds->projects_tuple = ds->metrics_tuple = NULL;
    for (int b = 0; b < SX_NBYS; b++) {
        ds->kept_keys[b] = NULL;
    }
    ds->search_view = NULL;
    for (int c = 0; c <= SX_NSTRCOLS; c++) {
        ds->unique_cache[c] = NULL;
    }
    ds->date_range = ds->columns = NULL;
    ds->embedded = embedded;
    PyObject_GC_Track((PyObject *)ds);
    if (!embedded && dataset_warn_near_misses(st, table, source) < 0) {
        Py_DECREF(ds); /* a filter turned the warning into an error */
        return NULL;
    }
    return (PyObject *)ds;
}

static PyMethodDef Dataset_methods[] = {
    {"projects", Dataset_projects, METH_NOARGS, Dataset_projects_doc},
    {"project", Dataset_project, METH_O, Dataset_project_doc},
    {"metrics", FASTCALL_METH(Dataset_metrics), METH_FASTCALL | METH_KEYWORDS, Dataset_metrics_doc},
    {"metric", Dataset_metric, METH_O, Dataset_metric_doc},
    {"search", Dataset_search, METH_O, Dataset_search_doc},
    {"aggregate", FASTCALL_METH(Dataset_aggregate), METH_FASTCALL | METH_KEYWORDS,
     Dataset_aggregate_doc},
    {"total", FASTCALL_METH(Dataset_total), METH_FASTCALL | METH_KEYWORDS, Dataset_total_doc},
    {"partial", FASTCALL_METH(Dataset_partial), METH_FASTCALL | METH_KEYWORDS, Dataset_partial_doc},
    {"share", Dataset_share, METH_O, Dataset_share_doc},
    {"unique", Dataset_unique, METH_O,
     "unique($self, column, /)\n--\n\n"
     "The distinct values of a column as a tuple, made from its dictionary\n"
     "(no object per row): 'metric', 'unit', 'category', 'region', 'label',\n"
     "'part_of', 'project_key' or 'project_title' (str, ordered by their UTF-8\n"
     "bytes, then None when some figure leaves the field empty: the keys of\n"
     "aggregate(by=column), in the same order), or 'project' (the numbers)."},
    {"to_dicts", Dataset_to_dicts, METH_NOARGS, Dataset_to_dicts_doc},
    {"to_frame", FASTCALL_METH(Dataset_to_frame), METH_FASTCALL | METH_KEYWORDS,
     Dataset_to_frame_doc},
    {"__arrow_c_stream__", FASTCALL_METH(Dataset_arrow_c_stream), METH_FASTCALL | METH_KEYWORDS,
     Dataset_arrow_c_stream_doc},
    {"_repr_html_", any_repr_html, METH_NOARGS,
     "_repr_html_($self, /)\n--\n\nWhat the dataset holds, its projects and a preview of its\n"
     "figures, as HTML for notebooks."},
    {"_columns", Dataset_columns, METH_NOARGS,
     "_columns($self, /)\n--\n\nPrivate: the native columns as read-only buffers, for\n"
     "to_frame() and the notebook HTML."},
    {"_ipython_key_completions_", Dataset_ipython_key_completions, METH_NOARGS,
     "_ipython_key_completions_($self, /)\n--\n\nThe metric keys, for ds[<TAB>."},
    {"__reduce__", Dataset_reduce, METH_NOARGS,
     "__reduce__($self, /)\n--\n\nThe embedded dataset pickles by name."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Dataset_getset[] = {
    {"source", Dataset_get_source, NULL,
     "Where the data was read from: a path, \"<string>\", or for load() of many\n"
     "files the tuple of their paths.",
     NULL},
    {"nrows", Dataset_get_nrows, NULL, "The number of figures (rows): len(ds).", NULL},
    {"columns", Dataset_get_columns, NULL,
     "The columns of the data format the file had, in the order to_dicts() gives them.", NULL},
    {"metric_keys", Dataset_get_metric_keys, NULL, "unique('metric'): the distinct metric keys.",
     NULL},
    {"units", Dataset_get_units, NULL, "unique('unit'): the distinct units.", NULL},
    {"regions", Dataset_get_regions, NULL,
     "unique('region'): the distinct regions, None last when some figure has none.", NULL},
    {"categories", Dataset_get_categories, NULL,
     "unique('category'): the distinct categories, None last when some figure has none.", NULL},
    {"ignored_columns", Dataset_get_ignored_columns, NULL,
     "The header fields that name no column, in header order (of many files:\n"
     "each once, in file order): tuple of str.  Their fields are not read.",
     NULL},
    {"date_range", Dataset_get_date_range, NULL,
     "(first, last): the earliest and latest as_of, datetime.date; None with no figures.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyDoc_STRVAR(Dataset_doc, "A table of figures in native columns: the embedded shanxi.data, or one\n"
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

PyType_Spec Dataset_Type_spec = {
    .name = "shanxi.Dataset",
    .basicsize = sizeof(DatasetObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
             Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = Dataset_Type_slots,
};
