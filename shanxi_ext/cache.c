/*
 * cache.c -- the Dataset's lazy Python objects.  A str per dictionary code,
 * a Metric per row and a Project per project are made on first access and
 * kept, so lookups return the same object each time and a loaded file of
 * millions of rows costs no Python object until one is asked for.  Every
 * lazily made thing, here and elsewhere in the binding (objects, the
 * caches' arrays, the search view), is stored through publish, most through
 * cache_publish; only a grouping's kept keys are not, since there the larger
 * replaces the first (groups.c).  The caches' share of the Dataset's traverse, clear and
 * dealloc is here too, next to what they hold, and so is the casefolded
 * view of the table that search() reads.
 */
#include "binding.h"

#include <string.h>

/* Store made in the pointer at slot (the address of a pointer of any type)
 * unless the slot was filled meanwhile, and return what the slot holds; when
 * that is not made, the caller drops made.
 *
 * Making a thing may run other threads (an allocation can start a garbage
 * collection, whose finalizers may release the GIL), and one of them may
 * have filled the slot first: the first stays, so every caller sees the same
 * one, and the second is dropped.  Under the GIL the check and the store
 * cannot be interleaved; this is the single place that would take a lock (or
 * a compare-and-swap) to make the binding's caches safe under free-threaded
 * Python, which is why no cache stores by itself.  (memcpy: the slot's
 * pointer type is not void *.) */
static void *
publish(void *slot, void *made)
{
    void *held;
    memcpy(&held, slot, sizeof held);
    if (held == NULL) {
        memcpy(slot, &made, sizeof made);
        held = made;
    }
    return held;
}

/* Store made (a new reference, stolen) in *slot unless the slot was filled
 * meanwhile (publish), and return a new reference to what the slot holds. */
PyObject *
cache_publish(PyObject **slot, PyObject *made)
{
    PyObject *held = publish(slot, made);
    if (held != made) {
        Py_DECREF(made);
    }
    return Py_NewRef(held);
}

/* The array of n object slots at *slot, made (all NULL) on first use; NULL
 * with MemoryError set when it cannot be. */
static PyObject **
object_slots(PyObject ***slot, size_t n)
{
    PyObject **held = *slot;
    if (held == NULL) {
        PyObject **made = PyMem_Calloc(n, sizeof(PyObject *));
        if (made == NULL) {
            PyErr_NoMemory();
            return NULL;
        }
        held = publish(slot, made);
        if (held != made) {
            PyMem_Free(made);
        }
    }
    return held;
}

/* The str of a dictionary code, None for an empty field. */
PyObject *
dataset_str(DatasetObject *ds, sx_strcol col, int32_t code)
{
    if (code == SX_NULL_CODE) {
        Py_RETURN_NONE;
    }
    PyObject **cache = object_slots(&ds->str_cache[col], (size_t)ds->table->dicts[col].count);
    if (cache == NULL) {
        return NULL;
    }
    if (cache[code] != NULL) {
        return Py_NewRef(cache[code]);
    }
    size_t len;
    const char *s = sx_dict_str(&ds->table->dicts[col], code, &len);
    PyObject *str = PyUnicode_DecodeUTF8(s, (Py_ssize_t)len, "strict");
    if (str == NULL) {
        return NULL;
    }
    if (ds->table->dicts[col].count <= IDENTITY_CODES) {
        /* the one str of its text (a literal's own): lookup_code finds a
         * code by identity (code_of_same_str) */
        PyUnicode_InternInPlace(&str);
    }
    return cache_publish(&cache[code], str);
}

PyObject *
dataset_row_str(DatasetObject *ds, sx_strcol col, int64_t row)
{
    return dataset_str(ds, col, sx_code_at(ds->table, col, row));
}

/* The Metric of a row: made once, then the same object every time. */
PyObject *
dataset_metric_at(DatasetObject *ds, int64_t row)
{
    const sx_table *t = ds->table;
    PyObject **cache = object_slots(&ds->metric_cache, (size_t)t->nrows);
    if (cache == NULL) {
        return NULL;
    }
    if (cache[row] != NULL) {
        return Py_NewRef(cache[row]);
    }
    shanxi_state *st = object_state((PyObject *)ds);
    MetricObject *m = PyObject_GC_New(MetricObject, st->Metric_Type);
    if (m == NULL) {
        return NULL;
    }
    m->key = m->label = m->value = m->unit = m->part_of = m->region = m->category = NULL;
    m->project = t->project[row];
    m->as_of = t->as_of[row];
    m->period_start = t->period_start ? t->period_start[row] : SX_NO_DATE;
    m->hash = -1;
    PyObject_GC_Track((PyObject *)m);
    if ((m->key = dataset_row_str(ds, SX_COL_METRIC, row)) == NULL ||
        (m->label = dataset_row_str(ds, SX_COL_LABEL, row)) == NULL ||
        (m->unit = dataset_row_str(ds, SX_COL_UNIT, row)) == NULL ||
        (m->part_of = dataset_row_str(ds, SX_COL_PART_OF, row)) == NULL ||
        (m->region = dataset_row_str(ds, SX_COL_REGION, row)) == NULL ||
        (m->category = dataset_row_str(ds, SX_COL_CATEGORY, row)) == NULL ||
        (m->value = value_object(t->value[row], t->is_int[row])) == NULL) {
        Py_DECREF(m);
        return NULL;
    }
    return cache_publish(&cache[row], (PyObject *)m);
}

/* Tuples of more Metrics than this are made with the collector paused. */
#define BULK_METRICS 4096

PyObject *
metrics_tuple_of_rows(DatasetObject *ds, const int64_t *rows, int64_t n)
{
    PyObject *result = PyTuple_New((Py_ssize_t)n);
    if (result == NULL) {
        return NULL;
    }
#if PY_VERSION_HEX >= 0x030A0000
    /* Each Metric is a GC object (it holds its type): made by the hundred
     * thousand they would set off one full collection after another, each
     * over all of them, for objects that cannot be garbage yet.  Paused, the
     * collector sees them once, later.  Nothing here runs Python code or
     * releases the GIL, so no other thread sees the pause. */
    int paused = n > BULK_METRICS ? PyGC_Disable() : 0;
#endif
    for (int64_t i = 0; i < n; i++) {
        PyObject *m = dataset_metric_at(ds, rows[i]);
        if (m == NULL) {
            Py_CLEAR(result);
            break;
        }
        PyTuple_SET_ITEM(result, (Py_ssize_t)i, m);
    }
#if PY_VERSION_HEX >= 0x030A0000
    if (paused) {
        PyGC_Enable();
    }
#endif
    return as_figures(ds, result, rows, n);
}

PyObject *
as_figures(DatasetObject *ds, PyObject *tuple, const int64_t *rows, int64_t n)
{
    shanxi_state *st = object_state((PyObject *)ds);
    if (tuple == NULL || st->figures_type == NULL) {
        return tuple;
    }
    /* the subclass's own tuple of the same items (tuple.__new__ copies the
     * pointers: a memcpy's worth, next to making the Metric objects) */
    PyObject *figures = PyObject_CallOneArg(st->figures_type, tuple);
    Py_DECREF(tuple);
    if (figures == NULL) {
        return NULL;
    }
    /* Each figure's share as the core computed it for its row (NaN for
     * none), so the notebook table shows a part's share even when its whole
     * is not among the figures.  Doubles in a bytes object: no reference
     * back to the dataset, whose cache may hold this tuple. */
    const sx_shares *shares = sx_table_shares(ds->table);
    if (shares == NULL) {
        Py_DECREF(figures);
        return PyErr_NoMemory();
    }
    int64_t parts = 0;
    for (int64_t i = 0; i < n && ds->table->codes[SX_COL_PART_OF] != NULL; i++) {
        parts += sx_code_at(ds->table, SX_COL_PART_OF, rows[i]) != SX_NULL_CODE;
    }
    if (parts == 0) {
        return figures; /* no part among them, so no share: spare the attribute */
    }
    PyObject *values = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)n * (Py_ssize_t)sizeof(double));
    if (values == NULL) {
        Py_DECREF(figures);
        return NULL;
    }
    double *out = (double *)PyBytes_AS_STRING(values);
    for (int64_t i = 0; i < n; i++) {
        out[i] = shares->value[rows[i]];
    }
    int rc = PyObject_SetAttrString(figures, "_shares", values);
    Py_DECREF(values);
    if (rc < 0) {
        Py_DECREF(figures);
        return NULL;
    }
    return figures;
}

/* The Project at an index of table->projects: made once, then the same. */
PyObject *
dataset_project_at(DatasetObject *ds, int32_t index)
{
    const sx_table *t = ds->table;
    PyObject **cache = object_slots(&ds->project_cache, (size_t)t->nprojects + 1);
    if (cache == NULL) {
        return NULL;
    }
    if (cache[index] != NULL) {
        return Py_NewRef(cache[index]);
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
    if ((obj->key = dataset_str(ds, SX_COL_PROJECT_KEY, p->key)) == NULL ||
        (obj->title = dataset_str(ds, SX_COL_PROJECT_TITLE, p->title)) == NULL ||
        (obj->category = dataset_str(ds, SX_COL_CATEGORY, p->category)) == NULL) {
        Py_DECREF(obj);
        return NULL;
    }
    return cache_publish(&cache[index], (PyObject *)obj);
}

/* ------------------------------------------------------------ search */

/* The columns search() reads. */
static const sx_strcol searched[] = {SX_COL_METRIC, SX_COL_LABEL, SX_COL_PROJECT_TITLE};

static int
is_ascii(const sx_dict *d)
{
    const unsigned char *s = (const unsigned char *)d->data;
    for (int32_t i = 0; i < d->offsets[d->count]; i++) {
        if (s[i] >= 0x80) {
            return 0;
        }
    }
    return 1;
}

/* *out: the strings of d casefolded, under the same codes.  Only offsets
 * and data are filled: search reads strings by code, never looks one up. */
static int
fold_dict(const sx_dict *d, sx_dict *out)
{
    memset(out, 0, sizeof *out);
    size_t cap = (size_t)d->offsets[d->count] + 64, len = 0;
    int32_t *offsets = PyMem_Malloc(((size_t)d->count + 1) * sizeof *offsets);
    char *data = PyMem_Malloc(cap);
    PyObject *str = NULL, *folded = NULL;
    if (offsets == NULL || data == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    offsets[0] = 0;
    for (int32_t code = 0; code < d->count; code++) {
        size_t n;
        const char *s = sx_dict_str(d, code, &n);
        str = PyUnicode_DecodeUTF8(s, (Py_ssize_t)n, "strict");
        if (str == NULL) {
            goto error;
        }
        folded = PyObject_CallMethod(str, "casefold", NULL);
        if (folded == NULL) {
            goto error;
        }
        Py_ssize_t flen;
        const char *f = PyUnicode_AsUTF8AndSize(folded, &flen);
        if (f == NULL) {
            goto error;
        }
        if ((size_t)flen > (size_t)INT32_MAX - len) {
            PyErr_SetString(PyExc_OverflowError, "search: the casefolded text is too large");
            goto error;
        }
        if (len + (size_t)flen > cap) {
            size_t bigger = (len + (size_t)flen) * 2;
            char *p = PyMem_Realloc(data, bigger);
            if (p == NULL) {
                PyErr_NoMemory();
                goto error;
            }
            data = p;
            cap = bigger;
        }
        memcpy(data + len, f, (size_t)flen);
        len += (size_t)flen;
        offsets[code + 1] = (int32_t)len;
        Py_CLEAR(str);
        Py_CLEAR(folded);
    }
    out->count = d->count;
    out->offsets = offsets;
    out->data = data;
    return 0;
error:
    Py_XDECREF(str);
    Py_XDECREF(folded);
    PyMem_Free(offsets);
    PyMem_Free(data);
    return -1;
}

static void
search_view_free(DatasetObject *ds, sx_table *view)
{
    for (size_t i = 0; i < sizeof searched / sizeof searched[0]; i++) {
        sx_dict *d = &view->dicts[searched[i]];
        if (d->data != ds->table->dicts[searched[i]].data) {
            PyMem_Free(d->offsets);
            PyMem_Free(d->data);
        }
    }
    PyMem_Free(view);
}

/* The table as search() reads it: the same columns, but with the metric,
 * label and project title dictionaries casefolded (str.casefold, as
 * project() folds), so search is case-insensitive beyond ASCII.  The core
 * ignores ASCII case only, which for ASCII text is the same thing: a
 * dictionary of ASCII strings is used as it is.  Made on the first search;
 * a copy of the table's header, so it must not be reference counted (it
 * shares every array with the table, which outlives it). */
const sx_table *
dataset_search_view(DatasetObject *ds)
{
    if (ds->search_view != NULL) {
        return ds->search_view;
    }
    sx_table *view = PyMem_Malloc(sizeof *view);
    if (view == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    memcpy(view, ds->table, sizeof *view);
    for (size_t i = 0; i < sizeof searched / sizeof searched[0]; i++) {
        const sx_dict *d = &ds->table->dicts[searched[i]];
        if (d->count > 0 && !is_ascii(d) && fold_dict(d, &view->dicts[searched[i]]) < 0) {
            /* the dictionaries not yet folded are still the table's */
            for (size_t j = i; j < sizeof searched / sizeof searched[0]; j++) {
                view->dicts[searched[j]] = ds->table->dicts[searched[j]];
            }
            search_view_free(ds, view);
            return NULL;
        }
    }
    /* (folding made objects, which may have let another thread do this) */
    sx_table *held = publish(&ds->search_view, view);
    if (held != view) {
        search_view_free(ds, view);
    }
    return held;
}

/* ------------------------------------------------------------ the Dataset's GC */

/* Every object the caches hold: a Metric holds its type, the type its
 * module, the module its embedded Dataset, so the collector must see them
 * all to free a module instance. */
int
dataset_caches_traverse(DatasetObject *ds, visitproc visit, void *arg)
{
    const sx_table *t = ds->table;
    if (ds->metric_cache != NULL) {
        for (int64_t i = 0; i < t->nrows; i++) {
            Py_VISIT(ds->metric_cache[i]);
        }
    }
    if (ds->project_cache != NULL) {
        for (int32_t i = 0; i < t->nprojects; i++) {
            Py_VISIT(ds->project_cache[i]);
        }
    }
    /* The strs hold no references, but a str never has a cycle to break:
     * visiting them only costs time (a loaded file has a str per code). */
    Py_VISIT(ds->metric_index);
    Py_VISIT(ds->project_words);
    Py_VISIT(ds->projects_tuple);
    Py_VISIT(ds->metrics_tuple);
    for (int c = 0; c <= SX_NSTRCOLS; c++) {
        Py_VISIT(ds->unique_cache[c]);
    }
    Py_VISIT(ds->date_range);
    Py_VISIT(ds->columns);
    for (int b = 0; b < SX_NBYS; b++) {
        if (ds->kept_keys[b] != NULL) {
            Py_VISIT(ds->kept_keys[b]->dict);
            Py_VISIT(ds->kept_keys[b]->tuple);
        }
    }
    return 0;
}

/* Drop every cached object: they are all made again on demand. */
void
dataset_caches_clear(DatasetObject *ds)
{
    const sx_table *t = ds->table;
    if (ds->metric_cache != NULL) {
        for (int64_t i = 0; i < t->nrows; i++) {
            Py_CLEAR(ds->metric_cache[i]);
        }
    }
    if (ds->project_cache != NULL) {
        for (int32_t i = 0; i < t->nprojects; i++) {
            Py_CLEAR(ds->project_cache[i]);
        }
    }
    Py_CLEAR(ds->metric_index);
    Py_CLEAR(ds->project_words);
    Py_CLEAR(ds->projects_tuple);
    Py_CLEAR(ds->metrics_tuple);
    for (int c = 0; c <= SX_NSTRCOLS; c++) {
        Py_CLEAR(ds->unique_cache[c]);
    }
    Py_CLEAR(ds->date_range);
    Py_CLEAR(ds->columns);
    for (int b = 0; b < SX_NBYS; b++) {
        group_keys *gk = ds->kept_keys[b];
        ds->kept_keys[b] = NULL;
        group_keys_free(gk);
    }
}

/* dataset_caches_clear, then the strs and the arrays themselves. */
void
dataset_caches_free(DatasetObject *ds)
{
    dataset_caches_clear(ds);
    for (int c = 0; c < SX_NSTRCOLS; c++) {
        if (ds->str_cache[c] != NULL) {
            for (int32_t i = 0; i < ds->table->dicts[c].count; i++) {
                Py_XDECREF(ds->str_cache[c][i]);
            }
            PyMem_Free(ds->str_cache[c]);
            ds->str_cache[c] = NULL;
        }
    }
    PyMem_Free(ds->metric_cache);
    ds->metric_cache = NULL;
    PyMem_Free(ds->project_cache);
    ds->project_cache = NULL;
    if (ds->search_view != NULL) {
        search_view_free(ds, ds->search_view);
        ds->search_view = NULL;
    }
}
