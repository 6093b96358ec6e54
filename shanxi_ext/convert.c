/*
 * convert.c -- conversions between the core's values and Python's: core
 * status codes to exceptions, days to datetime.date and back, figures to
 * int/float, and the argument side: the one keyword parser every
 * METH_FASTCALL|METH_KEYWORDS function uses, the lookup of a name argument
 * ("sum", "by='unit'") in a list of names, and integer arguments that may
 * be numpy or pandas scalars (__index__).
 */
#include "binding.h"

/* ------------------------------------------------------------ errors */

/* A ParseError whose str() reads like a compiler's "file:line:column:
 * message", with the parts as attributes too. */
static void
raise_parse_error(shanxi_state *st, const sx_error *err, const char *message, PyObject *source)
{
    unsigned long long line = err ? err->line : 0, column = err ? err->column : 0;
    PyObject *text = NULL, *exc = NULL, *number = NULL, *reason = NULL;
    text = PyUnicode_FromFormat("%S:%llu:%llu: %s", source, line, column, message);
    if (text == NULL) {
        goto error;
    }
    exc = PyObject_CallOneArg(st->ParseError, text);
    if (exc == NULL || PyObject_SetAttrString(exc, "source", source) < 0) {
        goto error;
    }
    number = PyLong_FromUnsignedLongLong(line);
    if (number == NULL || PyObject_SetAttrString(exc, "line", number) < 0) {
        goto error;
    }
    Py_SETREF(number, PyLong_FromUnsignedLongLong(column));
    if (number == NULL || PyObject_SetAttrString(exc, "column", number) < 0) {
        goto error;
    }
    reason = PyUnicode_FromString(message);
    if (reason == NULL || PyObject_SetAttrString(exc, "reason", reason) < 0) {
        goto error;
    }
    PyErr_SetObject(st->ParseError, exc);
error:
    Py_XDECREF(text);
    Py_XDECREF(exc);
    Py_XDECREF(number);
    Py_XDECREF(reason);
}

void
raise_core_error(shanxi_state *st, sx_status status, const sx_error *err, PyObject *source)
{
    const char *message = (err && err->message[0]) ? err->message : "internal error";
    switch (status) {
    case SX_ERR_NOMEM:
        PyErr_NoMemory();
        return;
    case SX_ERR_PARSE:
        raise_parse_error(st, err, message, source);
        return;
    case SX_ERR_LIMIT:
        PyErr_SetString(PyExc_OverflowError, message);
        return;
    default:
        PyErr_SetString(PyExc_ValueError, message);
        return;
    }
}

int
str_utf8(PyObject *s, const char **out, Py_ssize_t *len)
{
    *out = PyUnicode_AsUTF8AndSize(s, len);
    if (*out != NULL) {
        return 1;
    }
    /* Only the encoding error means "not a name"; a MemoryError stays. */
    if (PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
        PyErr_Clear();
        return 0;
    }
    return -1;
}

/* ------------------------------------------------------------ dates */

/* datetime.date (a new reference), imported on first use: most uses of the
 * package never need a date, and importing datetime is not free. */
static PyObject *
date_type(shanxi_state *st)
{
    if (st->date_type != NULL) {
        return Py_NewRef(st->date_type);
    }
    PyObject *datetime = PyImport_ImportModule("datetime");
    if (datetime == NULL) {
        return NULL;
    }
    PyObject *type = PyObject_GetAttrString(datetime, "date");
    Py_DECREF(datetime);
    if (type == NULL) {
        return NULL;
    }
    return cache_publish(&st->date_type, type);
}

PyObject *
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
    PyObject *date = PyObject_CallFunction(type, "iII", (int)y, m, d);
    Py_DECREF(type);
    return date;
}

/* date(1970, 1, 1).toordinal(): the core's day 0. */
#define ORDINAL_OF_EPOCH 719163
/* The days of 0001-01-01 and 9999-12-31: the dates the core holds. */
#define FIRST_DAY        (-719162)
#define LAST_DAY         2932896

/* The ValueError for a missing date (pandas.NaT, numpy's NaT). */
static int
raise_nat(const char *what)
{
    PyErr_Format(PyExc_ValueError, "%s must be a date, not NaT (a missing date)", what);
    return -1;
}

/* Whether obj is a numpy.datetime64, without importing numpy: one who has
 * such a value has imported it.  1, 0, or -1 with an exception. */
static int
is_datetime64(PyObject *obj)
{
    PyObject *name = PyUnicode_FromString("numpy");
    if (name == NULL) {
        return -1;
    }
    PyObject *numpy = PyImport_GetModule(name);
    Py_DECREF(name);
    if (numpy == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    PyObject *type = PyObject_GetAttrString(numpy, "datetime64");
    Py_DECREF(numpy);
    if (type == NULL) {
        return -1;
    }
    int is = PyObject_IsInstance(obj, type);
    Py_DECREF(type);
    return is;
}

/* Whether a date subclass's obj is missing: pandas.NaT subclasses datetime
 * and, as NaN, is not equal to itself.  1, 0, or -1 with an exception. */
static int
is_missing(PyObject *obj)
{
    PyObject *ne = PyObject_RichCompare(obj, obj, Py_NE);
    if (ne == NULL) {
        return -1;
    }
    int missing = PyObject_IsTrue(ne);
    Py_DECREF(ne);
    return missing;
}

/* A numpy.datetime64 of days or a finer unit as days: its date part, as
 * for a datetime (numpy floors to days).  NaT and coarser units (months,
 * years, weeks) are ValueErrors. */
static int
days_from_datetime64(PyObject *obj, const char *what, int32_t *days)
{
    static const char *const fine[] = {"D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as"};
    PyObject *dtype = NULL, *numpy = NULL, *data = NULL, *day = NULL, *n = NULL;
    int rc = -1, ok = 0;
    int missing = is_missing(obj); /* NaT is not itself */
    if (missing != 0) {
        if (missing > 0) {
            raise_nat(what);
        }
        goto error;
    }
    numpy = PyImport_ImportModule("numpy");
    dtype = numpy ? PyObject_GetAttrString(obj, "dtype") : NULL;
    data = dtype ? PyObject_CallMethod(numpy, "datetime_data", "O", dtype) : NULL;
    if (data == NULL) {
        goto error;
    }
    PyObject *unit =
        PyTuple_Check(data) && PyTuple_GET_SIZE(data) == 2 ? PyTuple_GET_ITEM(data, 0) : NULL;
    for (size_t i = 0; unit && PyUnicode_Check(unit) && i < sizeof fine / sizeof fine[0]; i++) {
        ok |= str_equals_ascii(unit, fine[i]);
    }
    if (!ok) {
        PyErr_Format(PyExc_ValueError,
                     "%s must be a date: a datetime64 of days or a finer unit, "
                     "not %R",
                     what, obj);
        goto error;
    }
    /* numpy overflows computing its factor from days to ps, fs or as:
     * those floor to days in Python's ints (count is the unit's multiple) */
    int zeros = str_equals_ascii(unit, "ps")   ? 12
                : str_equals_ascii(unit, "fs") ? 15
                : str_equals_ascii(unit, "as") ? 18
                                               : 0;
    if (zeros) {
        char per_day[32];
        snprintf(per_day, sizeof per_day, "86400%0*d", zeros, 0);
        PyObject *raw = PyObject_CallMethod(obj, "astype", "s", "int64");
        PyObject *big = raw ? PyNumber_Long(raw) : NULL; /* numpy's int64 would wrap */
        PyObject *ticks = big ? PyNumber_Multiply(big, PyTuple_GET_ITEM(data, 1)) : NULL;
        PyObject *divisor = ticks ? PyLong_FromString(per_day, NULL, 10) : NULL;
        n = divisor ? PyNumber_FloorDivide(ticks, divisor) : NULL;
        Py_XDECREF(raw);
        Py_XDECREF(big);
        Py_XDECREF(ticks);
        Py_XDECREF(divisor);
    } else {
        day = PyObject_CallMethod(obj, "astype", "s", "datetime64[D]");
        n = day ? PyObject_CallMethod(day, "astype", "s", "int64") : NULL;
    }
    if (n == NULL) {
        goto error;
    }
    long long d = PyLong_AsLongLong(n);
    if (d == -1 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError)) {
            goto error;
        }
        PyErr_Clear();
        d = LAST_DAY + 1; /* out of range, said below */
    }
    if (d < FIRST_DAY || d > LAST_DAY) {
        PyErr_Format(PyExc_ValueError, "%s must be a date of the years 1 to 9999, not %R", what,
                     obj);
        goto error;
    }
    *days = (int32_t)d;
    rc = 0;
error:
    Py_XDECREF(numpy);
    Py_XDECREF(dtype);
    Py_XDECREF(data);
    Py_XDECREF(day);
    Py_XDECREF(n);
    return rc;
}

/* A date argument: a datetime.date (or datetime, whose date part counts:
 * pandas.Timestamp too), a numpy.datetime64 of days or finer, or an ISO
 * "YYYY-MM-DD" string.  None gives SX_NO_DATE when allow_none; NaT, of
 * pandas or numpy, is a ValueError naming the argument. */
int
days_from_object(shanxi_state *st, PyObject *obj, const char *what, int allow_none, int32_t *days)
{
    if (obj == Py_None && allow_none) {
        *days = SX_NO_DATE;
        return 0;
    }
    if (PyUnicode_Check(obj)) {
        Py_ssize_t len;
        const char *s;
        int ok = str_utf8(obj, &s, &len);
        if (ok < 0) {
            return -1;
        }
        /* lone surrogates: not a date either, say so plainly */
        if (ok == 0 || !sx_parse_iso_date(s, (size_t)len, days)) {
            PyErr_Format(PyExc_ValueError, "%s must be a date as YYYY-MM-DD, not %R", what, obj);
            return -1;
        }
        return 0;
    }
    PyObject *type = date_type(st), *ordinal = NULL;
    int rc = -1;
    if (type == NULL) {
        goto error;
    }
    int ok = PyObject_IsInstance(obj, type);
    if (ok < 0) {
        goto error;
    }
    if (!ok) {
        ok = is_datetime64(obj);
        if (ok != 0) {
            rc = ok < 0 ? -1 : days_from_datetime64(obj, what, days);
            goto error;
        }
        PyErr_Format(PyExc_TypeError,
                     "%s must be a datetime.date or a 'YYYY-MM-DD' string, not %.100s", what,
                     Py_TYPE(obj)->tp_name);
        goto error;
    }
    if (!Py_IS_TYPE(obj, (PyTypeObject *)type)) {
        int missing = is_missing(obj);
        if (missing != 0) {
            if (missing > 0) {
                raise_nat(what);
            }
            goto error;
        }
    }
    /* datetime.date.toordinal(obj) reads the date's own fields, whatever a
     * subclass makes of .year, .month and .day. */
    ordinal = PyObject_CallMethod(type, "toordinal", "O", obj);
    if (ordinal == NULL) {
        goto error;
    }
    long n = PyLong_AsLong(ordinal);
    if (n == -1 && PyErr_Occurred()) {
        goto error;
    }
    *days = (int32_t)(n - ORDINAL_OF_EPOCH);
    rc = 0;
error:
    Py_XDECREF(type);
    Py_XDECREF(ordinal);
    return rc;
}

/* numpy's bool scalar: before numpy 2 it had __index__ (deprecated), but a
 * bool is no number here, as Python's is not. */
static int
is_numpy_bool(PyObject *obj)
{
    const char *name = Py_TYPE(obj)->tp_name;
    return strcmp(name, "numpy.bool_") == 0 || strcmp(name, "numpy.bool") == 0;
}

PyObject *
index_object(PyObject *obj)
{
    if (PyBool_Check(obj)) {
        return NULL;
    }
    if (PyLong_Check(obj)) {
        return Py_NewRef(obj);
    }
    if (!PyIndex_Check(obj) || is_numpy_bool(obj)) {
        return NULL;
    }
    return PyNumber_Index(obj);
}

/* A figure as Python has it: an int for counts, else a float. */
PyObject *
value_object(double value, int is_int)
{
    if (is_int) {
        return PyLong_FromLongLong((long long)value);
    }
    return PyFloat_FromDouble(value);
}

/* ------------------------------------------------------------ argument parsing */

/* s == ascii for a str s.  Keyword names at call sites and nearly all
 * argument strs are compact ASCII: those are compared in place, which costs
 * a few instructions where PyUnicode_CompareWithASCIIString costs a call and
 * a strlen per name tried. */
int
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

int
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
            PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'", spec->fname,
                         spec->names[found]);
            return -1;
        }
        out[found] = args[nargs + k];
    }
    for (int i = 0; i < spec->required; i++) {
        if (out[i] == NULL) {
            PyErr_Format(PyExc_TypeError, "%s() missing required argument '%s'", spec->fname,
                         spec->names[i]);
            return -1;
        }
    }
    return 0;
}

/* The index of obj in names[first..n), else TypeError or a ValueError that
 * lists the names.  None counts as a name not given when first > 0. */
int
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
    PyObject *valid = PyList_New(0), *s = NULL;
    if (valid == NULL) {
        goto error;
    }
    for (int i = first; i < n; i++) {
        s = PyUnicode_FromString(names[i]);
        if (s == NULL || PyList_Append(valid, s) < 0) {
            goto error;
        }
        Py_CLEAR(s);
    }
    PyErr_Format(PyExc_ValueError, "unknown %s %R; expected one of %S", what, obj, valid);
error:
    Py_XDECREF(s);
    Py_XDECREF(valid);
    return -1;
}
