/*
 * columns.c -- Dataset._columns(): the table's native columns as read-only
 * buffers, so to_frame() and the notebook HTML read them with numpy (or a
 * memoryview) without a Python object per row, and without pyarrow.
 *
 * Each buffer is exported by a small object of the private type
 * shanxi._shanxi._Buffer that holds a reference to the table (not to the
 * Dataset), so a memoryview or numpy array over it stays valid after the
 * Dataset is gone, as an Arrow stream does.
 */
#include "binding.h"

typedef struct {
    PyObject_HEAD sx_table *table; /* a reference of its own */
    const void *data;
    Py_ssize_t length;   /* items */
    Py_ssize_t itemsize; /* also the stride */
    char format[2];      /* a struct module code: "i", "d", "b", "h" or "B" */
} BufferObject;

#define Buffer_CAST(op) ((BufferObject *)(op))

/* Where an empty column points: a buffer's address must not be NULL. */
static const double empty_column[1] = {0.0};

static int
Buffer_getbuffer(PyObject *op, Py_buffer *view, int flags)
{
    BufferObject *b = Buffer_CAST(op);
    if (flags & PyBUF_WRITABLE) {
        PyErr_SetString(PyExc_BufferError, "shanxi's native columns are read-only");
        view->obj = NULL;
        return -1;
    }
    view->buf = (void *)(b->length ? b->data : (const void *)empty_column);
    view->obj = Py_NewRef(op);
    view->len = b->length * b->itemsize;
    view->itemsize = b->itemsize;
    view->readonly = 1;
    view->ndim = 1;
    view->format = (flags & PyBUF_FORMAT) ? b->format : NULL;
    view->shape = (flags & PyBUF_ND) ? &b->length : NULL;
    view->strides = (flags & PyBUF_STRIDES) == PyBUF_STRIDES ? &b->itemsize : NULL;
    view->suboffsets = NULL;
    view->internal = NULL;
    return 0;
}

static void
Buffer_dealloc(PyObject *op)
{
    PyTypeObject *tp = Py_TYPE(op);
    sx_table_decref(Buffer_CAST(op)->table);
    tp->tp_free(op);
    Py_DECREF(tp);
}

static PyType_Slot Buffer_Type_slots[] = {
    {Py_tp_doc, (void *)"A read-only buffer over one native column of a shanxi table."},
    {Py_tp_dealloc, Buffer_dealloc},
    {Py_bf_getbuffer, Buffer_getbuffer},
    {0, NULL},
};

PyType_Spec Buffer_Type_spec = {
    .name = "shanxi._shanxi._Buffer",
    .basicsize = sizeof(BufferObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = Buffer_Type_slots,
};

/* A memoryview over n items of itemsize bytes at data, kept alive by t. */
static PyObject *
column_view(shanxi_state *st, sx_table *t, const void *data, Py_ssize_t itemsize, char format)
{
    BufferObject *b = PyObject_New(BufferObject, st->Buffer_Type);
    if (b == NULL) {
        return NULL;
    }
    sx_table_incref(t);
    b->table = t;
    b->data = data;
    b->length = (Py_ssize_t)t->nrows;
    b->itemsize = itemsize;
    b->format[0] = format;
    b->format[1] = '\0';
    PyObject *view = PyMemoryView_FromObject((PyObject *)b);
    Py_DECREF(b);
    return view;
}

/* (codes, strings) of a text column: its codes at their width and its
 * dictionary as a tuple of str; None for a column the file lacks. */
static PyObject *
text_column(DatasetObject *ds, shanxi_state *st, sx_strcol col)
{
    sx_table *t = ds->table;
    if (t->codes[col] == NULL) {
        Py_RETURN_NONE;
    }
    int width = t->code_width[col];
    char format = 'i'; /* the struct module's codes of int8, int16, int32 */
    if (width == 1) {
        format = 'b';
    } else if (width == 2) {
        format = 'h';
    }
    PyObject *codes = column_view(st, t, t->codes[col], width, format);
    PyObject *strings = PyTuple_New(t->dicts[col].count);
    PyObject *result = NULL;
    if (codes == NULL || strings == NULL) {
        goto error;
    }
    for (int32_t k = 0; k < t->dicts[col].count; k++) {
        PyObject *s = dataset_str(ds, col, k);
        if (s == NULL) {
            goto error;
        }
        PyTuple_SET_ITEM(strings, k, s);
    }
    result = PyTuple_Pack(2, codes, strings);
error:
    Py_XDECREF(codes);
    Py_XDECREF(strings);
    return result;
}

PyObject *
Dataset_columns(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    DatasetObject *ds = Dataset_CAST(op);
    shanxi_state *st = object_state(op);
    sx_table *t = ds->table;
    const sx_shares *shares = sx_table_shares(t);
    if (shares == NULL) {
        return PyErr_NoMemory();
    }
    PyObject *out = PyDict_New(), *item = NULL;
    if (out == NULL) {
        return NULL;
    }
    struct {
        const char *name;
        const void *data;
        Py_ssize_t itemsize;
        char format;
        int absent; /* the file has no such column: None */
    } numeric[] = {
        {"project", t->project, sizeof(int32_t), 'i', 0},
        {"value", t->value, sizeof(double), 'd', 0},
        {"is_int", t->is_int, sizeof(uint8_t), 'B', 0},
        {"as_of", t->as_of, sizeof(int32_t), 'i', 0},
        {"period_start", t->period_start, sizeof(int32_t), 'i', t->period_start == NULL},
        {"share", shares->value, sizeof(double), 'd', 0},
    };
    for (size_t i = 0; i < sizeof numeric / sizeof numeric[0]; i++) {
        item = numeric[i].absent
                   ? Py_NewRef(Py_None)
                   : column_view(st, t, numeric[i].data, numeric[i].itemsize, numeric[i].format);
        if (item == NULL || PyDict_SetItemString(out, numeric[i].name, item) < 0) {
            goto error;
        }
        Py_CLEAR(item);
    }
    for (int c = 0; c < SX_NSTRCOLS; c++) {
        item = text_column(ds, st, (sx_strcol)c);
        if (item == NULL || PyDict_SetItemString(out, sx_strcol_names[c], item) < 0) {
            goto error;
        }
        Py_CLEAR(item);
    }
    return out;
error:
    Py_XDECREF(item);
    Py_DECREF(out);
    return NULL;
}
