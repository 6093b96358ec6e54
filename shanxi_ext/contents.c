/*
 * contents.c -- what is in a Dataset, without a Python object per row: the
 * distinct values of a column (from its dictionary, ordered as group keys
 * are), the range of its dates, its row count and the columns its file
 * had, and the header fields it ignored (with a ParseWarning at load for
 * one that looks like a slip for an absent column).  Each answer is made
 * once and kept (cache_publish).
 */
#include "binding.h"

/* The columns unique() takes: the text columns, then project. */
#define UNIQUE_PROJECT SX_NSTRCOLS

/* The columns of the data format, in the shipped file's order (as
 * to_dicts() gives them). */
enum {
    C_PROJECT,
    C_PROJECT_KEY,
    C_PROJECT_TITLE,
    C_CATEGORY,
    C_METRIC,
    C_LABEL,
    C_VALUE,
    C_UNIT,
    C_AS_OF,
    C_PERIOD_START,
    C_PART_OF,
    C_REGION,
    C_COUNT
};
static const char *const column_names[C_COUNT] = {
    "project", "project_key", "project_title", "category",     "metric",  "label",
    "value",   "unit",        "as_of",         "period_start", "part_of", "region",
};
/* The string column of each, or -1. */
static const int column_strcol[C_COUNT] = {
    -1,
    SX_COL_PROJECT_KEY,
    SX_COL_PROJECT_TITLE,
    SX_COL_CATEGORY,
    SX_COL_METRIC,
    SX_COL_LABEL,
    -1,
    SX_COL_UNIT,
    -1,
    -1,
    SX_COL_PART_OF,
    SX_COL_REGION,
};

/* The distinct values of a text column: its dictionary's strings (every
 * code is some row's), sorted by code point, which is UTF-8 byte order,
 * then None when some row has the field empty (an absent column is empty
 * on every row) -- the keys aggregate(by=...) gives, in the same order. */
static PyObject *
unique_strings(DatasetObject *ds, sx_strcol col)
{
    const sx_table *t = ds->table;
    int32_t count = t->codes[col] != NULL ? t->dicts[col].count : 0;
    int empty = t->nrows > 0 && (t->codes[col] == NULL || t->null_count[col] > 0);
    PyObject *list = PyList_New(count), *tuple = NULL;
    if (list == NULL) {
        return NULL;
    }
    for (int32_t code = 0; code < count; code++) {
        PyObject *s = dataset_str(ds, col, code);
        if (s == NULL) {
            goto error;
        }
        PyList_SET_ITEM(list, code, s);
    }
    if (PyList_Sort(list) < 0 || (empty && PyList_Append(list, Py_None) < 0)) {
        goto error;
    }
    tuple = PyList_AsTuple(list);
error:
    Py_DECREF(list);
    return tuple;
}

static PyObject *
unique_projects(const sx_table *t)
{
    PyObject *tuple = PyTuple_New(t->nprojects);
    if (tuple == NULL) {
        return NULL;
    }
    for (int32_t i = 0; i < t->nprojects; i++) { /* projects are sorted by number */
        PyObject *n = PyLong_FromLong(t->projects[i].number);
        if (n == NULL) {
            Py_DECREF(tuple);
            return NULL;
        }
        PyTuple_SET_ITEM(tuple, i, n);
    }
    return tuple;
}

/* unique(column) for column UNIQUE_PROJECT or an sx_strcol: made once. */
static PyObject *
unique_of(DatasetObject *ds, int which)
{
    if (ds->unique_cache[which] != NULL) {
        return Py_NewRef(ds->unique_cache[which]);
    }
    PyObject *made =
        which == UNIQUE_PROJECT ? unique_projects(ds->table) : unique_strings(ds, (sx_strcol)which);
    if (made == NULL) {
        return NULL;
    }
    return cache_publish(&ds->unique_cache[which], made);
}

PyObject *
Dataset_unique(PyObject *op, PyObject *column)
{
    static const char *const names[] = {"project",  "metric",      "unit",
                                        "category", "region",      "label",
                                        "part_of",  "project_key", "project_title"};
    static const int which[] = {UNIQUE_PROJECT,  SX_COL_METRIC,      SX_COL_UNIT,
                                SX_COL_CATEGORY, SX_COL_REGION,      SX_COL_LABEL,
                                SX_COL_PART_OF,  SX_COL_PROJECT_KEY, SX_COL_PROJECT_TITLE};
    int i = name_index(column, "column", names, (int)(sizeof names / sizeof names[0]), 0);
    if (i < 0) {
        return NULL;
    }
    return unique_of(Dataset_CAST(op), which[i]);
}

PyObject *
Dataset_get_metric_keys(PyObject *op, void *Py_UNUSED(closure))
{
    return unique_of(Dataset_CAST(op), SX_COL_METRIC);
}

PyObject *
Dataset_get_units(PyObject *op, void *Py_UNUSED(closure))
{
    return unique_of(Dataset_CAST(op), SX_COL_UNIT);
}

PyObject *
Dataset_get_regions(PyObject *op, void *Py_UNUSED(closure))
{
    return unique_of(Dataset_CAST(op), SX_COL_REGION);
}

PyObject *
Dataset_get_categories(PyObject *op, void *Py_UNUSED(closure))
{
    return unique_of(Dataset_CAST(op), SX_COL_CATEGORY);
}

PyObject *
Dataset_get_date_range(PyObject *op, void *Py_UNUSED(closure))
{
    DatasetObject *ds = Dataset_CAST(op);
    if (ds->date_range != NULL) {
        return Py_NewRef(ds->date_range);
    }
    int32_t first, last;
    if (!sx_date_range(ds->table, &first, &last)) {
        Py_RETURN_NONE; /* no rows, no dates */
    }
    shanxi_state *st = object_state(op);
    PyObject *a = date_from_days(st, first), *b = NULL, *range = NULL;
    if (a == NULL || (b = date_from_days(st, last)) == NULL) {
        goto error;
    }
    range = PyTuple_Pack(2, a, b);
error:
    Py_XDECREF(a);
    Py_XDECREF(b);
    return range == NULL ? NULL : cache_publish(&ds->date_range, range);
}

PyObject *
Dataset_get_nrows(PyObject *op, void *Py_UNUSED(closure))
{
    return PyLong_FromLongLong((long long)Dataset_CAST(op)->table->nrows);
}

PyObject *
Dataset_get_columns(PyObject *op, void *Py_UNUSED(closure))
{
    DatasetObject *ds = Dataset_CAST(op);
    if (ds->columns != NULL) {
        return Py_NewRef(ds->columns);
    }
    const sx_table *t = ds->table;
    PyObject *list = PyList_New(0), *name = NULL, *tuple = NULL;
    if (list == NULL) {
        return NULL;
    }
    for (int c = 0; c < C_COUNT; c++) {
        int col = column_strcol[c];
        int present =
            col >= 0 ? t->codes[col] != NULL : c != C_PERIOD_START || t->period_start != NULL;
        if (!present) {
            continue;
        }
        name = PyUnicode_FromString(column_names[c]);
        if (name == NULL || PyList_Append(list, name) < 0) {
            goto error;
        }
        Py_CLEAR(name);
    }
    tuple = PyList_AsTuple(list);
error:
    Py_XDECREF(name);
    Py_DECREF(list);
    return tuple == NULL ? NULL : cache_publish(&ds->columns, tuple);
}

/* ------------------------------------------------------------ ignored columns */

PyObject *
Dataset_get_ignored_columns(PyObject *op, void *Py_UNUSED(closure))
{
    const sx_table *t = Dataset_CAST(op)->table;
    PyObject *names = PyTuple_New(t->nignored);
    if (names == NULL) {
        return NULL;
    }
    for (int32_t i = 0; i < t->nignored; i++) {
        PyObject *name = PyUnicode_DecodeUTF8(t->ignored[i].name, (Py_ssize_t)t->ignored[i].len,
                                              "surrogateescape");
        if (name == NULL) {
            Py_DECREF(names);
            return NULL;
        }
        PyTuple_SET_ITEM(names, i, name);
    }
    return names;
}

/* A ParseWarning for each ignored header field that looks like a slip for
 * an absent column: without it the column is silently empty in every row,
 * and the first filter on it finds nothing. */
int
dataset_warn_near_misses(shanxi_state *st, const sx_table *t, PyObject *source)
{
    for (int32_t i = 0; i < t->nignored; i++) {
        const sx_ignored *g = &t->ignored[i];
        char quoted[SX_QUOTE_BUF]; /* escaped as a ParseError quotes a field */
        if (g->near != NULL &&
            PyErr_WarnFormat(st->ParseWarning, 1,
                             "%S: the header field %s names no column and is ignored; "
                             "did you mean \"%s\"?",
                             source, sx_quote_text(quoted, g->name, g->len), g->near) < 0) {
            return -1;
        }
    }
    return 0;
}
