/*
 * figures.c -- the Metric and Project types: immutable, hashable values
 * with equality by their fields, pickling, and repr.  The Dataset makes
 * them lazily (cache.c); users may also build them by hand.  Both are GC
 * types: each holds its heap type, and through it the module.
 */
#include "binding.h"

#include <math.h>
#include <structmember.h>

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
    static char *kwlist[] = {"key",     "project", "value",    "unit",         "as_of", "label",
                             "part_of", "region",  "category", "period_start", NULL};
    PyObject *key, *project, *value, *unit, *as_of;
    PyObject *label = Py_None, *part_of = Py_None, *region = Py_None, *category = Py_None;
    PyObject *period_start = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "UOOUO|OOOOO:Metric", kwlist, &key, &project,
                                     &value, &unit, &as_of, &label, &part_of, &region, &category,
                                     &period_start)) {
        return NULL;
    }
    shanxi_state *st = PyType_GetModuleState(type);
    PyObject *project_int = index_object(project); /* an int, or a numpy/pandas one */
    if (project_int == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_Format(PyExc_TypeError, "Metric project must be an int, not %.100s",
                         Py_TYPE(project)->tp_name);
        }
        return NULL;
    }
    int overflow;
    long number = PyLong_AsLongAndOverflow(project_int, &overflow);
    if (number == -1 && PyErr_Occurred()) {
        Py_DECREF(project_int);
        return NULL;
    }
    if (overflow || number < 1 || number > INT32_MAX) {
        /* out of range, however large: a ValueError, never OverflowError */
        PyErr_Format(PyExc_ValueError,
                     "Metric project must be a positive number up to 2147483647, not %R",
                     project_int);
        Py_DECREF(project_int);
        return NULL;
    }
    Py_DECREF(project_int);
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
    if (check_optional_str(label, "label") < 0 || check_optional_str(part_of, "part_of") < 0 ||
        check_optional_str(region, "region") < 0 || check_optional_str(category, "category") < 0 ||
        days_from_object(st, as_of, "as_of", 0, &as_of_days) < 0 ||
        days_from_object(st, period_start, "period_start", 1, &period_days) < 0) {
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

/* Visits the type too: it is a heap type, and with it the module (3.9+). */
static int
Metric_traverse(PyObject *op, visitproc visit, void *arg)
{
    MetricObject *m = Metric_CAST(op);
    Py_VISIT(Py_TYPE(op));
    /* A hand-made Metric may hold str subclasses, whose instances can
     * refer back to it. */
    Py_VISIT(m->key);
    Py_VISIT(m->label);
    Py_VISIT(m->value);
    Py_VISIT(m->unit);
    Py_VISIT(m->part_of);
    Py_VISIT(m->region);
    Py_VISIT(m->category);
    return 0;
}

/* No tp_clear: a Metric is immutable and never empty; a cycle through one
 * is broken at its other members (a str subclass's __dict__, the type). */
static void
Metric_dealloc(PyObject *op)
{
    MetricObject *m = Metric_CAST(op);
    PyTypeObject *tp = Py_TYPE(op);
    PyObject_GC_UnTrack(op);
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
    return Py_BuildValue("(OiOOiiOOOO)", m->key, (int)m->project, m->value, m->unit, (int)m->as_of,
                         (int)m->period_start, m->label, m->part_of, m->region, m->category);
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
        r = PyUnicode_FromFormat("<Metric %U: %R %U as of %U, %U>", m->key, m->value, m->unit, when,
                                 m->region);
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
    {"label", T_OBJECT, offsetof(MetricObject, label), READONLY, "A short description, or None."},
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
     "day of the period it counts over.",
     NULL},
    {"period_start", Metric_get_period_start, NULL,
     "The first day of the period a figure counts over, or None for a running\n"
     "total up to as_of.",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef Metric_methods[] = {
    {"__reduce__", Metric_reduce, METH_NOARGS,
     "__reduce__($self, /)\n--\n\nPickle support: a Metric is rebuilt from its fields."},
    {"_repr_html_", any_repr_html, METH_NOARGS,
     "_repr_html_($self, /)\n--\n\nAn HTML table of the figure, for notebooks."},
    {NULL, NULL, 0, NULL},
};

const char Metric_doc[] =
    PyDoc_STR("Metric(key, project, value, unit, as_of, label=None, part_of=None, "
              "region=None, category=None, period_start=None)\n"
              "--\n\n"
              "One figure: an immutable, hashable value.  Two figures with the same\n"
              "fields are equal whichever dataset they came from.");

static PyType_Slot Metric_Type_slots[] = {
    {Py_tp_doc, (void *)Metric_doc},
    {Py_tp_new, Metric_new},
    {Py_tp_dealloc, Metric_dealloc},
    {Py_tp_traverse, Metric_traverse},
    {Py_tp_repr, Metric_repr},
    {Py_tp_hash, Metric_hash},
    {Py_tp_richcompare, Metric_richcompare},
    {Py_tp_members, Metric_members},
    {Py_tp_getset, Metric_getset},
    {Py_tp_methods, Metric_methods},
    {0, NULL},
};

PyType_Spec Metric_Type_spec = {
    .name = "shanxi.Metric",
    .basicsize = sizeof(MetricObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = Metric_Type_slots,
};

/* ------------------------------------------------------------ Project type */

static PyObject *
Project_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"number", "key", "title", "category", "as_of", "metrics", NULL};
    PyObject *number, *key = Py_None, *title = Py_None, *category = Py_None, *as_of = Py_None;
    PyObject *metrics = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|OOOOO:Project", kwlist, &number, &key, &title,
                                     &category, &as_of, &metrics)) {
        return NULL;
    }
    shanxi_state *st = PyType_GetModuleState(type);
    PyObject *number_int = index_object(number); /* an int, or a numpy/pandas one */
    if (number_int == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_Format(PyExc_TypeError, "Project number must be an int, not %.100s",
                         Py_TYPE(number)->tp_name);
        }
        return NULL;
    }
    int overflow;
    long n = PyLong_AsLongAndOverflow(number_int, &overflow);
    if (n == -1 && PyErr_Occurred()) {
        Py_DECREF(number_int);
        return NULL;
    }
    if (overflow || n < 1 || n > INT32_MAX) {
        PyErr_Format(PyExc_ValueError,
                     "Project number must be a positive number up to 2147483647, not %R",
                     number_int);
        Py_DECREF(number_int);
        return NULL;
    }
    Py_DECREF(number_int);
    int32_t days;
    if (check_optional_str(key, "key") < 0 || check_optional_str(title, "title") < 0 ||
        check_optional_str(category, "category") < 0 ||
        days_from_object(st, as_of, "as_of", 1, &days) < 0) {
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
    Py_VISIT(p->key);
    Py_VISIT(p->title);
    Py_VISIT(p->category);
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
        return cache_publish(&p->metrics, metrics);
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
    {"key", T_OBJECT, offsetof(ProjectObject, key), READONLY, "A short stable slug, or None."},
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

const char Project_doc[] =
    PyDoc_STR("Project(number, key=None, title=None, category=None, as_of=None, metrics=())\n"
              "--\n\n"
              "One project and its figures: immutable and hashable.");

static PyType_Slot Project_Type_slots[] = {
    {Py_tp_doc, (void *)Project_doc}, {Py_tp_new, Project_new},
    {Py_tp_dealloc, Project_dealloc}, {Py_tp_traverse, Project_traverse},
    {Py_tp_clear, Project_clear},     {Py_tp_repr, Project_repr},
    {Py_tp_hash, Project_hash},       {Py_tp_richcompare, Project_richcompare},
    {Py_tp_members, Project_members}, {Py_tp_getset, Project_getset},
    {Py_tp_methods, Project_methods}, {0, NULL},
};

PyType_Spec Project_Type_spec = {
    .name = "shanxi.Project",
    .basicsize = sizeof(ProjectObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = Project_Type_slots,
};
