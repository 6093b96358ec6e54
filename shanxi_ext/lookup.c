/*
 * lookup.c -- what a key argument names: a project by number, key or title
 * word (through the Dataset's casefolded word index), a code of a string
 * column, a metric's row, and the row filter built from the arguments every
 * query takes.  An unknown key raises KeyError with the closest names, as
 * the core ranks them (sx_suggest_*), in one message format.
 */
#include "binding.h"

#include <string.h>

/* ------------------------------------------------------------ suggestions */

/* "; did you mean 'a', 'b'?" for a list of str, "" for an empty one: the one
 * format of every suggestion. */
static PyObject *
did_you_mean(PyObject *names)
{
    if (PyList_GET_SIZE(names) == 0) {
        return PyUnicode_FromString("");
    }
    PyObject *reprs = PyList_New(0), *r = NULL, *sep = NULL, *joined = NULL, *result = NULL;
    if (reprs == NULL) {
        goto error;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(names); i++) {
        r = PyObject_Repr(PyList_GET_ITEM(names, i));
        if (r == NULL || PyList_Append(reprs, r) < 0) {
            goto error;
        }
        Py_CLEAR(r);
    }
    sep = PyUnicode_FromString(", ");
    if (sep == NULL) {
        goto error;
    }
    joined = PyUnicode_Join(sep, reprs);
    if (joined == NULL) {
        goto error;
    }
    result = PyUnicode_FromFormat("; did you mean %U?", joined);
error:
    Py_XDECREF(reprs);
    Py_XDECREF(r);
    Py_XDECREF(sep);
    Py_XDECREF(joined);
    return result;
}

/* "; did you mean 'a', 'b'?" for the strings of dict closest to s, or "". */
static PyObject *
suggestions(const sx_dict *dict, const char *s, size_t len)
{
    sx_suggestions best;
    sx_suggest_init(&best, s, len);
    for (int32_t code = 0; code < dict->count; code++) {
        size_t clen;
        const char *c = sx_dict_str(dict, code, &clen);
        sx_suggest_offer(&best, code, c, clen);
    }
    PyObject *names = PyList_New(0), *str = NULL, *result = NULL;
    if (names == NULL) {
        goto error;
    }
    for (int i = 0; i < best.n; i++) {
        size_t clen;
        const char *c = sx_dict_str(dict, (int32_t)best.id[i], &clen);
        str = PyUnicode_DecodeUTF8(c, (Py_ssize_t)clen, "strict");
        if (str == NULL || PyList_Append(names, str) < 0) {
            goto error;
        }
        Py_CLEAR(str);
    }
    result = did_you_mean(names);
error:
    Py_XDECREF(names);
    Py_XDECREF(str);
    return result;
}

/* KeyError: no <what> 'key' in <source>[; did you mean ...?] */
static void
raise_unknown(DatasetObject *ds, const char *what, sx_strcol col, PyObject *key, const char *s,
              Py_ssize_t len)
{
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

/* The code whose cached str is key itself, or -1.  Only for dictionaries
 * of at most IDENTITY_CODES strings, whose str objects cache.c interns: a
 * literal argument (the "CNY" of total("CNY")) is then the very object the
 * cache holds, and a few pointer compares find it without encoding,
 * hashing or comparing bytes.  The same code the dictionary gives, since a
 * dictionary's strings are distinct. */
static int32_t
code_of_same_str(const DatasetObject *ds, sx_strcol col, const PyObject *key)
{
    PyObject *const *cache = ds->str_cache[col];
    int32_t n = ds->table->dicts[col].count;
    if (cache == NULL || n > IDENTITY_CODES) {
        return -1;
    }
    for (int32_t c = 0; c < n; c++) {
        if (cache[c] == key) {
            return c;
        }
    }
    return -1;
}

/* The code of a str in column col, raising TypeError/KeyError. */
int
lookup_code(DatasetObject *ds, sx_strcol col, const char *what, PyObject *key, int32_t *code)
{
    if (!PyUnicode_Check(key)) {
        PyErr_Format(PyExc_TypeError, "%s must be a str, not %.100s", what, Py_TYPE(key)->tp_name);
        return -1;
    }
    if ((*code = code_of_same_str(ds, col, key)) >= 0) {
        return 0;
    }
    Py_ssize_t len;
    const char *s;
    int ok = str_utf8(key, &s, &len);
    if (ok < 0) {
        return -1;
    }
    if (ok == 0) {
        /* A str with lone surrogates cannot name anything here. */
        PyErr_Format(PyExc_KeyError, "no %s %R in %U", what, key, ds->source);
        return -1;
    }
    *code = ds->table->codes[col] ? sx_dict_find(&ds->table->dicts[col], s, (size_t)len) : -1;
    if (*code < 0) {
        raise_unknown(ds, what, col, key, s, len);
        return -1;
    }
    if (ds->table->dicts[col].count <= IDENTITY_CODES) {
        /* the code's (interned) str made now, for code_of_same_str next time */
        PyObject *made = dataset_str(ds, col, *code);
        if (made == NULL) {
            return -1;
        }
        Py_DECREF(made);
    }
    return 0;
}

/* The one row of a metric key, raising KeyError/TypeError/ValueError. */
int64_t
metric_row(DatasetObject *ds, PyObject *key)
{
    int32_t code;
    if (lookup_code(ds, SX_COL_METRIC, "metric", key, &code) < 0) {
        return -1;
    }
    int64_t count = ds->table->metric_rows[code];
    if (count == 0) { /* in a chunk's dictionary only: not in this table */
        PyErr_Format(PyExc_KeyError, "no metric %R in %U", key, ds->source);
        return -1;
    }
    if (count > 1) {
        PyErr_Format(PyExc_ValueError,
                     "metric %R names %lld figures in %U (one per region or date); "
                     "use metrics(metric=%R) to get them all",
                     key, (long long)count, ds->source, key);
        return -1;
    }
    return ds->table->metric_first[code];
}

/* ------------------------------------------------------------ project words */

/* Add word -> index to the casefolded lookup of project keys, titles and
 * title words, or make it a tuple of indices when several projects share
 * the word. */
static int
add_project_word(PyObject *words, PyObject *word, int32_t index, int exclusive)
{
    PyObject *idx = PyLong_FromLong(index), *one = NULL, *both = NULL;
    int rc = -1;
    if (idx == NULL) {
        goto error;
    }
    PyObject *old = PyDict_GetItemWithError(words, word);
    if (old == NULL) {
        rc = PyErr_Occurred() ? -1 : PyDict_SetItem(words, word, idx);
        goto error;
    }
    if (exclusive || (PyLong_Check(old) && PyLong_AsLong(old) == index)) {
        rc = 0; /* keys and whole titles win over words; repeats are one */
        goto error;
    }
    one = PyTuple_Pack(1, idx);
    if (one == NULL) {
        goto error;
    }
    both = PyTuple_Check(old) ? PySequence_Concat(old, one) : PyTuple_Pack(2, old, idx);
    if (both == NULL) {
        goto error;
    }
    rc = PyDict_SetItem(words, word, both);
error:
    Py_XDECREF(idx);
    Py_XDECREF(one);
    Py_XDECREF(both);
    return rc;
}

/* s.casefold() added as one entry (keys and whole titles). */
static int
add_whole(PyObject *words, PyObject *s, int32_t index)
{
    if (s == Py_None) {
        return 0;
    }
    PyObject *folded = PyObject_CallMethod(s, "casefold", NULL);
    if (folded == NULL) {
        return -1;
    }
    int rc = add_project_word(words, folded, index, 1);
    Py_DECREF(folded);
    return rc;
}

/* Every alphanumeric run of title.casefold() added as a word. */
static int
add_title_words(PyObject *words, PyObject *title, int32_t index)
{
    if (title == Py_None) {
        return 0;
    }
    PyObject *folded = PyObject_CallMethod(title, "casefold", NULL);
    if (folded == NULL) {
        return -1;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(folded), start = -1;
    int kind = PyUnicode_KIND(folded);
    const void *data = PyUnicode_DATA(folded);
    int rc = 0;
    for (Py_ssize_t j = 0; j <= n && rc == 0; j++) {
        int alnum = j < n && Py_UNICODE_ISALNUM(PyUnicode_READ(kind, data, j));
        if (alnum && start < 0) {
            start = j;
        } else if (!alnum && start >= 0) {
            PyObject *word = PyUnicode_Substring(folded, start, j);
            rc = word ? add_project_word(words, word, index, 0) : -1;
            Py_XDECREF(word);
            start = -1;
        }
    }
    Py_DECREF(folded);
    return rc;
}

static PyObject *
build_project_words(DatasetObject *ds)
{
    PyObject *words = PyDict_New(), *title_words = NULL, *s = NULL;
    if (words == NULL) {
        return NULL;
    }
    /* Keys and whole titles first; then the words of titles, apart, so a
     * word that is also a key or a title leaves that entry alone. */
    for (int32_t i = 0; i < ds->table->nprojects; i++) {
        const sx_project *p = &ds->table->projects[i];
        s = dataset_str(ds, SX_COL_PROJECT_KEY, p->key);
        if (s == NULL || add_whole(words, s, i) < 0) {
            goto error;
        }
        Py_SETREF(s, dataset_str(ds, SX_COL_PROJECT_TITLE, p->title));
        if (s == NULL || add_whole(words, s, i) < 0) {
            goto error;
        }
        Py_CLEAR(s);
    }
    title_words = PyDict_New();
    if (title_words == NULL) {
        goto error;
    }
    for (int32_t i = 0; i < ds->table->nprojects; i++) {
        s = dataset_str(ds, SX_COL_PROJECT_TITLE, ds->table->projects[i].title);
        if (s == NULL || add_title_words(title_words, s, i) < 0) {
            goto error;
        }
        Py_CLEAR(s);
    }
    PyObject *word, *where;
    Py_ssize_t pos = 0;
    while (PyDict_Next(title_words, &pos, &word, &where)) {
        int known = PyDict_Contains(words, word);
        if (known < 0 || (!known && PyDict_SetItem(words, word, where) < 0)) {
            goto error;
        }
    }
    Py_DECREF(title_words);
    return words;
error:
    Py_XDECREF(s);
    Py_XDECREF(title_words);
    Py_DECREF(words);
    return NULL;
}

/* The KeyError for a word that names several projects (a tuple of indices). */
static void
raise_ambiguous(DatasetObject *ds, PyObject *key, PyObject *hit)
{
    PyObject *numbers = PyList_New(0), *num = NULL;
    if (numbers == NULL) {
        goto error;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(hit); i++) {
        long idx = PyLong_AsLong(PyTuple_GET_ITEM(hit, i));
        num = PyLong_FromLong(ds->table->projects[idx].number);
        if (num == NULL || PyList_Append(numbers, num) < 0) {
            goto error;
        }
        Py_CLEAR(num);
    }
    PyErr_Format(PyExc_KeyError,
                 "%R names several projects (%S); use a number, a key or a rarer word", key,
                 numbers);
error:
    Py_XDECREF(num);
    Py_XDECREF(numbers);
}

/* The number a str such as "7" or " 12 " writes, or -1 when it writes none. */
static long
number_in_str(PyObject *key)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(key), i = 0, end = n;
    int kind = PyUnicode_KIND(key);
    const void *data = PyUnicode_DATA(key);
    while (i < end && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, i))) {
        i++;
    }
    Py_ssize_t i0 = i;
    while (end > i && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, end - 1))) {
        end--;
    }
    long number = 0;
    for (; i < end; i++) {
        int dec = Py_UNICODE_TODECIMAL(PyUnicode_READ(kind, data, i));
        if (dec < 0 || number > (INT32_MAX - dec) / 10) {
            return -1;
        }
        number = number * 10 + dec;
    }
    return end > i0 ? number : -1;
}

/* The KeyError for a word no project has, naming the closest words, or the
 * project a str of digits numbers. */
static void
raise_unknown_project(DatasetObject *ds, PyObject *key)
{
    /* A number written as a str: words of titles are no help there. */
    long number = number_in_str(key);
    const sx_table *t = ds->table;
    if (number >= 0 && sx_project_index(t, (int32_t)number) >= 0) {
        PyErr_Format(PyExc_KeyError,
                     "no project %R in %U; did you mean project %ld? (a number is an int)", key,
                     ds->source, number);
        return;
    }
    if (number >= 0 && t->nprojects > 0) {
        PyErr_Format(PyExc_KeyError,
                     "no project %R in %U; projects are numbered %d to %d (a number is an int)",
                     key, ds->source, (int)t->projects[0].number,
                     (int)t->projects[t->nprojects - 1].number);
        return;
    }
    Py_ssize_t qlen;
    const char *q;
    int ok = str_utf8(key, &q, &qlen);
    if (ok <= 0) {
        if (ok == 0) {
            PyErr_Format(PyExc_KeyError, "no project %R in %U", key, ds->source);
        }
        return;
    }
    /* Suggest from keys and title words, casefolded, ranked as metrics are
     * ranked among their keys. */
    PyObject *candidates = PyDict_Keys(ds->project_words), *close = NULL, *hint = NULL;
    if (candidates == NULL) {
        goto error;
    }
    sx_suggestions best;
    sx_suggest_init(&best, q, (size_t)qlen);
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(candidates); i++) {
        Py_ssize_t clen;
        const char *c;
        /* (casefolded text of the file: never lone surrogates) */
        if (str_utf8(PyList_GET_ITEM(candidates, i), &c, &clen) <= 0) {
            goto error;
        }
        /* a whole title is suggested by its words, which are shorter */
        if (memchr(c, ' ', (size_t)clen) == NULL) {
            sx_suggest_offer(&best, i, c, (size_t)clen);
        }
    }
    close = PyList_New(0);
    if (close == NULL) {
        goto error;
    }
    for (int i = 0; i < best.n; i++) {
        if (PyList_Append(close, PyList_GET_ITEM(candidates, best.id[i])) < 0) {
            goto error;
        }
    }
    hint = did_you_mean(close);
    if (hint != NULL) {
        PyErr_Format(PyExc_KeyError, "no project %R in %U%U", key, ds->source, hint);
    }
error:
    Py_XDECREF(candidates);
    Py_XDECREF(close);
    Py_XDECREF(hint);
}

/* The index of the project numbered by an int, or -1 with a KeyError. */
static int32_t
project_index_of_number(DatasetObject *ds, PyObject *key)
{
    int overflow;
    long number = PyLong_AsLongAndOverflow(key, &overflow);
    if (number == -1 && PyErr_Occurred()) {
        return -1;
    }
    int32_t idx = (overflow || number < 1 || number > INT32_MAX)
                      ? -1
                      : sx_project_index(ds->table, (int32_t)number);
    if (idx < 0) {
        const sx_table *t = ds->table;
        if (t->nprojects == 0) {
            PyErr_Format(PyExc_KeyError, "no project %R: %U has no projects", key, ds->source);
        } else {
            PyErr_Format(PyExc_KeyError, "no project %R in %U; projects are numbered %d to %d", key,
                         ds->source, (int)t->projects[0].number,
                         (int)t->projects[t->nprojects - 1].number);
        }
    }
    return idx;
}

/* The index in table->projects of what key names, or -1 with an exception. */
int32_t
project_index_of(DatasetObject *ds, PyObject *key)
{
    shanxi_state *st = object_state((PyObject *)ds);
    if (Py_IS_TYPE(key, st->Project_Type)) {
        PyObject *number = PyLong_FromLong(Project_CAST(key)->number);
        if (number == NULL) {
            return -1;
        }
        int32_t idx = project_index_of_number(ds, number);
        Py_DECREF(number);
        return idx;
    }
    PyObject *number = index_object(key); /* an int, or a numpy/pandas one */
    if (number != NULL) {
        int32_t idx = project_index_of_number(ds, number);
        Py_DECREF(number);
        return idx;
    }
    if (PyErr_Occurred()) {
        return -1;
    }
    if (!PyUnicode_Check(key)) {
        PyErr_Format(
            PyExc_TypeError,
            "a project is named by its number (int), key or a word of its title (str), not %.100s",
            Py_TYPE(key)->tp_name);
        return -1;
    }
    if (ds->project_words == NULL) {
        PyObject *words = build_project_words(ds);
        if (words == NULL) {
            return -1;
        }
        Py_DECREF(cache_publish(&ds->project_words, words));
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
    if (hit == NULL) {
        if (!PyErr_Occurred()) {
            raise_unknown_project(ds, key);
        }
        return -1;
    }
    if (PyLong_Check(hit)) {
        return (int32_t)PyLong_AsLong(hit);
    }
    raise_ambiguous(ds, key, hit);
    return -1;
}

/* ------------------------------------------------------------ filters */

/* Fill f from the filter arguments (borrowed, NULL or None = no filter). */
int
build_filter(DatasetObject *ds, PyObject *const *vals, sx_filter *f)
{
    static const struct {
        sx_strcol col;
        const char *what;
    } strfilters[] = {
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
    if (vals[F_SINCE] != NULL && vals[F_SINCE] != Py_None &&
        days_from_object(object_state((PyObject *)ds), vals[F_SINCE], "since", 0, &f->since) < 0) {
        return -1;
    }
    if (vals[F_UNTIL] != NULL && vals[F_UNTIL] != Py_None &&
        days_from_object(object_state((PyObject *)ds), vals[F_UNTIL], "until", 0, &f->until) < 0) {
        return -1;
    }
    return 0;
}

/* The Metrics of the rows f selects, in file order, as a tuple. */
PyObject *
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
