/*
 * groups.c -- the results of aggregate() and total() as Python objects: one
 * number, or a dict of group key -> value in group order, with exact ints
 * for integer sums; by several keys, a dict keyed by tuples.  Keeps, per
 * grouping by one key, the key objects of the largest result made, so
 * repeat calls copy a dict instead of building it.
 */
#include "binding.h"

/* The core's exact integer as a Python int. */
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

PyObject *
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
        PyObject *sum = bigint_object(g->isum), *count = NULL, *mean = NULL;
        if (sum == NULL) {
            goto error;
        }
        count = PyLong_FromLongLong(g->count);
        if (count == NULL) {
            goto error;
        }
        mean = PyNumber_TrueDivide(sum, count);
    error:
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

/* A BY_MONTH key (year * 12 + month - 1) as "YYYY-MM". */
PyObject *
month_object(int64_t key)
{
    char buf[32];
    sx_month_format(key, buf, sizeof buf);
    return PyUnicode_FromString(buf);
}

static PyObject *
group_key(DatasetObject *ds, sx_by by, int64_t key)
{
    int col = sx_by_column(by);
    if (col >= 0) {
        return dataset_str(ds, (sx_strcol)col, (int32_t)key);
    }
    switch (by) {
    case SX_BY_PROJECT:
        return PyLong_FromLongLong(key);
    case SX_BY_AS_OF:
        return date_from_days(object_state((PyObject *)ds), (int32_t)key);
    case SX_BY_MONTH:
        return month_object(key);
    default:
        Py_RETURN_NONE;
    }
}

/* Results with more groups than this are not kept as group_keys: what that
 * saves is per call, while its memory grows with the groups. */
#define GROUP_KEYS_MAX 1024

void
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
    gk->tuple = NULL;
    gk->dict = PyDict_New();
    if (gk->dict == NULL) {
        goto error;
    }
    gk->tuple = PyTuple_New((Py_ssize_t)r->ngroups);
    if (gk->tuple == NULL) {
        goto error;
    }
    for (int64_t i = 0; i < r->ngroups; i++) {
        gk->keys[i] = r->groups[i].key;
        PyObject *k = group_key(ds, by, r->groups[i].key);
        if (k == NULL) {
            goto error;
        }
        PyTuple_SET_ITEM(gk->tuple, (Py_ssize_t)i, k);
        if (PyDict_SetItem(gk->dict, k, Py_None) < 0) {
            goto error;
        }
    }
    return gk;
error:
    group_keys_free(gk);
    return NULL;
}

/* A new dict of r, key by key (for results whose keys are not kept). */
static PyObject *
grouped_dict_fresh(DatasetObject *ds, sx_by by, sx_func func, const sx_result *r)
{
    PyObject *out = PyDict_New(), *k = NULL, *v = NULL;
    if (out == NULL) {
        return NULL;
    }
    for (int64_t i = 0; i < r->ngroups; i++) {
        k = group_key(ds, by, r->groups[i].key);
        if (k == NULL) {
            goto error;
        }
        v = group_value(&r->groups[i], func);
        if (v == NULL || PyDict_SetItem(out, k, v) < 0) {
            goto error;
        }
        Py_CLEAR(k);
        Py_CLEAR(v);
    }
    return out;
error:
    Py_XDECREF(k);
    Py_XDECREF(v);
    Py_DECREF(out);
    return NULL;
}

/* The dict of a grouped result: key -> value, in group order.
 *
 * Inserting keys one by one into a new dict hashes them into a table that
 * resizes as it grows, and that is most of the cost of a small result.  So
 * the Dataset keeps, per grouping, the keys of the largest result it has
 * made (usually the one without filters, which calls repeat most) as a dict
 * of key -> None; a result with exactly those keys starts from a copy of it
 * (CPython copies such a table whole, without rehashing) and only sets the
 * values.  Only keys are kept: every value is computed afresh.
 *
 * (Kept keys are not stored with cache_publish: a later, larger result
 * replaces them, so the rule is "the larger stays", not "the first".) */
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
    if (keys == NULL && r->ngroups > 0 && r->ngroups <= GROUP_KEYS_MAX &&
        (gk == NULL || gk->n < r->ngroups)) {
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
        return grouped_dict_fresh(ds, by, func, r);
    }
    /* keys and tuple are our own references: copying and making values may
     * run other threads (a GC pass), which may replace the Dataset's kept
     * keys and drop its references. */
    PyObject *out = PyDict_Copy(keys), *v = NULL;
    if (out == NULL) {
        goto error;
    }
    for (int64_t i = 0; i < r->ngroups; i++) {
        v = group_value(&r->groups[i], func);
        if (v == NULL || PyDict_SetItem(out, PyTuple_GET_ITEM(tuple, (Py_ssize_t)i), v) < 0) {
            goto error;
        }
        Py_CLEAR(v);
    }
    Py_DECREF(keys);
    Py_DECREF(tuple);
    return out;
error:
    Py_XDECREF(v);
    Py_XDECREF(out);
    Py_DECREF(keys);
    Py_DECREF(tuple);
    return NULL;
}

/* aggregate(func, by=by) over the rows f selects. */
PyObject *
run_aggregate(DatasetObject *ds, sx_func func, sx_by by, const sx_filter *f)
{
    sx_result result; /* sx_aggregate initialises it */
    sx_error err;
    /* what raise_core_error reads when the core says nothing (the message
     * is 512 bytes: no memset of it on every call) */
    err.status = SX_OK;
    err.line = err.column = 0;
    err.message[0] = '\0';
    sx_status status = sx_aggregate(ds->table, f, func, by, &result, &err);
    if (status == SX_ERR_EMPTY && by != SX_BY_NONE) {
        return PyDict_New(); /* grouped: no rows is no groups */
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

/* The key objects of one part of a result's keys, made once per distinct
 * value: a day or month repeats across the other parts' groups, and making
 * a date is the slow part of a large result.  Kept in an array over the
 * part's range of values when that is not much wider than the groups. */
typedef struct part_memo {
    PyObject **obj; /* NULL: no memo for this part */
    int32_t lo;
    uint32_t span;
} part_memo;

static void
memo_free(part_memo *memo, int nby)
{
    for (int i = 0; i < nby; i++) {
        for (uint32_t j = 0; memo[i].obj != NULL && j < memo[i].span; j++) {
            Py_XDECREF(memo[i].obj[j]);
        }
        PyMem_Free(memo[i].obj);
    }
}

static int
memo_init(part_memo *memo, const sx_result *r, int nby)
{
    for (int i = 0; i < nby; i++) {
        memo[i].obj = NULL;
    }
    for (int i = 0; i < nby; i++) {
        int32_t lo = INT32_MAX, hi = INT32_MIN;
        for (int64_t g = 0; g < r->ngroups; g++) {
            int32_t v = r->groups[g].keys[i];
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        uint64_t span = r->ngroups > 0 ? (uint64_t)((int64_t)hi - lo) + 1 : 0;
        if (span == 0 || span > 2 * (uint64_t)r->ngroups + 64) {
            continue;
        }
        memo[i].obj = PyMem_Calloc((size_t)span, sizeof(PyObject *));
        if (memo[i].obj == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        memo[i].lo = lo;
        memo[i].span = (uint32_t)span;
    }
    return 0;
}

/* The tuple key of a group by several keys: each part as for one key. */
static PyObject *
tuple_key(DatasetObject *ds, const sx_by *by, int nby, const sx_group *g, part_memo *memo)
{
    PyObject *key = PyTuple_New(nby);
    if (key == NULL) {
        return NULL;
    }
    for (int i = 0; i < nby; i++) {
        PyObject **slot =
            memo[i].obj != NULL ? &memo[i].obj[(int64_t)g->keys[i] - memo[i].lo] : NULL;
        PyObject *part =
            slot != NULL && *slot != NULL ? Py_NewRef(*slot) : group_key(ds, by[i], g->keys[i]);
        if (part == NULL) {
            Py_DECREF(key);
            return NULL;
        }
        if (slot != NULL && *slot == NULL) {
            *slot = Py_NewRef(part);
        }
        PyTuple_SET_ITEM(key, i, part);
    }
    return key;
}

/* aggregate(func, by=(...)) over the rows f selects: a dict keyed by tuples,
 * in group order (kept keys are for one key only: these are made afresh). */
PyObject *
run_aggregate_keys(DatasetObject *ds, sx_func func, const sx_by *by, int nby, const sx_filter *f)
{
    sx_result result; /* sx_aggregate_keys initialises it */
    sx_error err;
    part_memo memo[SX_MAX_KEYS];
    err.status = SX_OK;
    err.line = err.column = 0;
    err.message[0] = '\0';
    sx_status status = sx_aggregate_keys(ds->table, f, func, by, nby, &result, &err);
    if (status == SX_ERR_EMPTY) {
        return PyDict_New(); /* grouped: no rows is no groups */
    }
    if (status != SX_OK) {
        raise_core_error(object_state((PyObject *)ds), status, &err, ds->source);
        return NULL;
    }
    PyObject *out = NULL, *k = NULL, *v = NULL;
    if (memo_init(memo, &result, nby) < 0 || (out = PyDict_New()) == NULL) {
        goto error;
    }
    for (int64_t i = 0; i < result.ngroups; i++) {
        k = tuple_key(ds, by, nby, &result.groups[i], memo);
        if (k == NULL) {
            goto error;
        }
        v = group_value(&result.groups[i], func);
        if (v == NULL || PyDict_SetItem(out, k, v) < 0) {
            goto error;
        }
        Py_CLEAR(k);
        Py_CLEAR(v);
    }
    memo_free(memo, nby);
    sx_result_free(&result);
    return out;
error:
    Py_XDECREF(k);
    Py_XDECREF(v);
    Py_XDECREF(out);
    memo_free(memo, nby);
    sx_result_free(&result);
    return NULL;
}
