/*
 * fuzz_common.h -- shared by the libFuzzer harnesses (fuzz_parse.c,
 * fuzz_query.c): the invariants every parsed table must satisfy, each
 * recomputed naively from the columns, the table written back as CSV (which
 * must parse to the very same table), and a walk over its Arrow export.
 *
 * A failed invariant prints what failed and aborts, which libFuzzer reports
 * as a crash and saves as crash-<sha1>.  Everything is static: each harness
 * is one translation unit linked with the core (static inline, so a harness
 * that uses only some of them compiles without warnings).
 */
#ifndef SHANXI_FUZZ_COMMON_H
#define SHANXI_FUZZ_COMMON_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shanxi/arrow.h"
#include "shanxi/core.h"

#define FZ_CHECK(cond)                                                                             \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define FZ_MIN_DAY (-719162) /* 0001-01-01 */
#define FZ_MAX_DAY 2932896   /* 9999-12-31 */

/* ------------------------------------------------------------------ small helpers */

static inline void *
fz_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    FZ_CHECK(p != NULL);
    return p;
}

static inline void *
fz_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    FZ_CHECK(p != NULL);
    return p;
}

/* UTF-8 as Unicode defines it: no overlong forms, no surrogates, nothing
 * past U+10FFFF.  Decodes each sequence the slow way on purpose. */
static inline int
fz_valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        uint32_t cp;
        size_t k, j;
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xE0) == 0xC0) {
            k = 2;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            k = 3;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            k = 4;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (n - i < k)
            return 0;
        for (j = 1; j < k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000))
            return 0;
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += k;
    }
    return 1;
}

/* A message an sx_error carries: NUL-terminated inside the buffer, not
 * empty, valid UTF-8. */
static inline void
fz_check_message(const sx_error *e)
{
    size_t n = strnlen(e->message, sizeof e->message);
    FZ_CHECK(n < sizeof e->message);
    FZ_CHECK(n > 0);
    FZ_CHECK(fz_valid_utf8((const unsigned char *)e->message, n));
}

static inline int
fz_leap(int32_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* A day count that names a real date from 0001-01-01 to 9999-12-31, and
 * converts back and forth. */
static inline int
fz_valid_day(int32_t days)
{
    static const unsigned dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int32_t y;
    unsigned m, d;
    if (days < FZ_MIN_DAY || days > FZ_MAX_DAY)
        return 0;
    sx_civil_from_days(days, &y, &m, &d);
    if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 || d > dim[m - 1] + (m == 2 && fz_leap(y)))
        return 0;
    return sx_days_from_civil(y, m, d) == days;
}

static inline int
fz_same_double(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

static inline int
fz_dict_eq(const sx_dict *d, int32_t code, const char *s, size_t n)
{
    size_t m;
    const char *t = sx_dict_str(d, code, &m);
    return m == n && (n == 0 || memcmp(t, s, n) == 0);
}

/* ------------------------------------------------------------------ table invariants */

static inline void
fz_check_dict(const sx_table *t, int c)
{
    const sx_dict *d = &t->dicts[c];
    const void *codes = t->codes[c];
    int32_t i, next = 0;
    if (codes == NULL) {
        FZ_CHECK(d->count == 0 && t->null_count[c] == 0 && t->code_width[c] == 0);
        return;
    }
    /* the narrowest width that holds every code */
    FZ_CHECK(t->code_width[c] == (d->count <= 128 ? 1 : d->count <= 32768 ? 2 : 4));
    FZ_CHECK(d->count >= 0);
    FZ_CHECK(d->offsets != NULL);
    FZ_CHECK(d->offsets[0] == 0);
    for (i = 0; i < d->count; i++) {
        size_t n;
        const char *s;
        FZ_CHECK(d->offsets[i + 1] >= d->offsets[i]);
        s = sx_dict_str(d, i, &n);
        /* an empty field is SX_NULL_CODE, never a string */
        FZ_CHECK(n > 0);
        FZ_CHECK(fz_valid_utf8((const unsigned char *)s, n));
        FZ_CHECK(sx_dict_find(d, s, n) == i);
    }
    /* codes in range, metric and unit never empty, and codes numbered in
     * order of first appearance.  Not so in the rows of category: a row that
     * leaves it empty takes its project's, which may be named further on. */
    uint8_t *seen = fz_calloc((size_t)d->count, 1);
    int64_t nulls = 0;
    for (int64_t r = 0; r < t->nrows; r++) {
        int32_t code = sx_code_in(codes, t->code_width[c], r);
        FZ_CHECK(code >= SX_NULL_CODE && code < d->count);
        nulls += code == SX_NULL_CODE;
        if (c == SX_COL_METRIC || c == SX_COL_UNIT)
            FZ_CHECK(code >= 0);
        if (code >= 0 && !seen[code]) {
            seen[code] = 1;
            next++;
            if (c != SX_COL_CATEGORY)
                FZ_CHECK(code == next - 1);
        }
    }
    FZ_CHECK(next == d->count); /* every string is some row's */
    FZ_CHECK(t->null_count[c] == nulls);
    free(seen);
}

/* Every documented property of a parsed table, recomputed from the rows. */
static inline void
fz_check_table(const sx_table *t)
{
    int64_t r, total = 0;
    int32_t p;
    int c;

    FZ_CHECK(t->refcount >= 1);
    FZ_CHECK(t->nrows >= 0 && t->nrows <= INT32_MAX);
    FZ_CHECK(t->project && t->value && t->is_int && t->as_of);
    FZ_CHECK(t->codes[SX_COL_METRIC] && t->codes[SX_COL_UNIT]);
    for (c = 0; c < SX_NSTRCOLS; c++)
        fz_check_dict(t, c);

    int64_t no_dates = 0;
    for (r = 0; r < t->nrows; r++) {
        double v = t->value[r];
        no_dates += t->period_start && t->period_start[r] == SX_NO_DATE;
        FZ_CHECK(t->project[r] >= 1);
        FZ_CHECK(isfinite(v));
        FZ_CHECK(t->is_int[r] == 0 || t->is_int[r] == 1);
        if (t->is_int[r]) {
            FZ_CHECK(v == trunc(v) && fabs(v) <= 9007199254740992.0);
            FZ_CHECK(!(v == 0 && signbit(v))); /* an integer zero has no sign */
        }
        FZ_CHECK(fz_valid_day(t->as_of[r]));
        if (t->period_start)
            FZ_CHECK(t->period_start[r] == SX_NO_DATE || fz_valid_day(t->period_start[r]));
    }
    FZ_CHECK(t->period_start_nulls == no_dates);

    /* projects: sorted, and each one's counts and attributes as the rows say;
     * a row's empty category is its project's */
    FZ_CHECK(t->nprojects >= 0 && t->nprojects <= t->nrows);
    FZ_CHECK(t->projects != NULL);
    for (p = 0; p < t->nprojects; p++) {
        FZ_CHECK(t->projects[p].number >= 1);
        if (p > 0)
            FZ_CHECK(t->projects[p - 1].number < t->projects[p].number);
        FZ_CHECK(sx_project_index(t, t->projects[p].number) == p);
        if (t->projects[p].number > 1 &&
            (p == 0 || t->projects[p - 1].number != t->projects[p].number - 1))
            FZ_CHECK(sx_project_index(t, t->projects[p].number - 1) == -1);
    }
    FZ_CHECK(sx_project_index(t, 0) == -1 && sx_project_index(t, -1) == -1);
    {
        int64_t *nrows = fz_calloc((size_t)t->nprojects, sizeof *nrows);
        int32_t *as_of = fz_malloc((size_t)t->nprojects * sizeof *as_of);
        int32_t *attr = fz_malloc((size_t)t->nprojects * 3 * sizeof *attr);
        static const int attr_col[3] = {SX_COL_CATEGORY, SX_COL_PROJECT_KEY, SX_COL_PROJECT_TITLE};
        for (p = 0; p < t->nprojects; p++) {
            as_of[p] = INT32_MIN;
            attr[3 * p] = attr[3 * p + 1] = attr[3 * p + 2] = SX_NULL_CODE;
        }
        for (r = 0; r < t->nrows; r++) {
            int32_t k = sx_project_index(t, t->project[r]);
            FZ_CHECK(k >= 0 && t->projects[k].number == t->project[r]);
            if (t->codes[SX_COL_CATEGORY])
                FZ_CHECK(sx_code_at(t, SX_COL_CATEGORY, r) == t->projects[k].category);
            nrows[k]++;
            if (t->as_of[r] > as_of[k])
                as_of[k] = t->as_of[r];
            for (int a = 0; a < 3; a++) {
                int32_t code = sx_code_at(t, attr_col[a], r);
                if (code == SX_NULL_CODE)
                    continue;
                /* the same on every row of a project that gives it */
                FZ_CHECK(attr[3 * k + a] == SX_NULL_CODE || attr[3 * k + a] == code);
                attr[3 * k + a] = code;
            }
        }
        for (p = 0; p < t->nprojects; p++) {
            const sx_project *pj = &t->projects[p];
            FZ_CHECK(pj->nrows == nrows[p] && nrows[p] > 0);
            FZ_CHECK(pj->as_of == as_of[p]);
            FZ_CHECK(pj->category == attr[3 * p]);
            FZ_CHECK(pj->key == attr[3 * p + 1]);
            FZ_CHECK(pj->title == attr[3 * p + 2]);
            total += pj->nrows;
        }
        FZ_CHECK(total == t->nrows);
        /* a project_key names one project: the dictionary holds each key
         * once, so two projects with the same code would be a violation */
        if (t->codes[SX_COL_PROJECT_KEY]) {
            int32_t nk = t->dicts[SX_COL_PROJECT_KEY].count;
            uint8_t *seen = fz_calloc((size_t)nk, 1);
            for (p = 0; p < t->nprojects; p++) {
                int32_t k = t->projects[p].key;
                if (k < 0)
                    continue;
                FZ_CHECK(k < nk && !seen[k]);
                seen[k] = 1;
            }
            free(seen);
        }
        free(nrows);
        free(as_of);
        free(attr);
    }

    /* the metric index */
    {
        int32_t nm = t->dicts[SX_COL_METRIC].count;
        int64_t *count = fz_calloc((size_t)nm, sizeof *count), sum = 0;
        FZ_CHECK(t->metric_rows && t->metric_first);
        for (r = t->nrows - 1; r >= 0; r--) {
            int32_t m = sx_code_at(t, SX_COL_METRIC, r);
            count[m]++;
            if (t->metric_first[m] == r)
                continue;
            FZ_CHECK(t->metric_first[m] < r);
        }
        for (int32_t m = 0; m < nm; m++) {
            FZ_CHECK(t->metric_rows[m] == count[m]);
            FZ_CHECK(count[m] > 0);
            FZ_CHECK(sx_code_at(t, SX_COL_METRIC, t->metric_first[m]) == m);
            sum += t->metric_rows[m];
        }
        FZ_CHECK(sum == t->nrows);
        free(count);
    }

    /* part_of names metrics of the file */
    if (t->codes[SX_COL_PART_OF]) {
        const sx_dict *d = &t->dicts[SX_COL_PART_OF];
        for (int32_t k = 0; k < d->count; k++) {
            size_t n;
            const char *s = sx_dict_str(d, k, &n);
            FZ_CHECK(sx_dict_find(&t->dicts[SX_COL_METRIC], s, n) >= 0);
        }
    }
}

/* ------------------------------------------------------------------ write back as CSV */

typedef struct fz_buf {
    char *p;
    size_t len, cap;
} fz_buf;

static inline void
fz_put(fz_buf *b, const char *s, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        FZ_CHECK(b->p != NULL);
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static inline void
fz_puts(fz_buf *b, const char *s)
{
    fz_put(b, s, strlen(s));
}

static inline void
fz_put_quoted(fz_buf *b, const char *s, size_t n)
{
    fz_put(b, "\"", 1);
    for (size_t i = 0; i < n; i++)
        fz_put(b, s[i] == '"' ? "\"\"" : s + i, s[i] == '"' ? 2 : 1);
    fz_put(b, "\"", 1);
}

static inline void
fz_put_date(fz_buf *b, int32_t days)
{
    char tmp[16];
    int32_t y;
    unsigned m, d;
    sx_civil_from_days(days, &y, &m, &d);
    snprintf(tmp, sizeof tmp, "%04d-%02u-%02u", (int)y, m, d);
    fz_puts(b, tmp);
}

/* The table as a CSV document in the documented format: every present
 * column (ignored ones dropped), strings quoted, integers as integers and
 * other values with an exponent and 17 digits, so they read back exactly. */
static inline void
fz_write_csv(const sx_table *t, fz_buf *b)
{
    static const int order[] = {SX_COL_REGION,   SX_COL_LABEL,       SX_COL_PART_OF,
                                SX_COL_CATEGORY, SX_COL_PROJECT_KEY, SX_COL_PROJECT_TITLE};
    const int norder = (int)(sizeof order / sizeof order[0]);
    b->len = 0;
    fz_puts(b, "project,metric,value,unit,as_of");
    for (int i = 0; i < norder; i++)
        if (t->codes[order[i]]) {
            fz_puts(b, ",");
            fz_puts(b, sx_strcol_names[order[i]]);
        }
    if (t->period_start)
        fz_puts(b, ",period_start");
    fz_puts(b, "\r\n");
    for (int64_t r = 0; r < t->nrows; r++) {
        char num[64];
        size_t n;
        const char *s;
        snprintf(num, sizeof num, "%ld,", (long)t->project[r]);
        fz_puts(b, num);
        s = sx_dict_str(&t->dicts[SX_COL_METRIC], sx_code_at(t, SX_COL_METRIC, r), &n);
        fz_put_quoted(b, s, n);
        if (t->is_int[r])
            snprintf(num, sizeof num, ",%.0f,", t->value[r]);
        else
            snprintf(num, sizeof num, ",%.17e,", t->value[r]);
        fz_puts(b, num);
        s = sx_dict_str(&t->dicts[SX_COL_UNIT], sx_code_at(t, SX_COL_UNIT, r), &n);
        fz_put_quoted(b, s, n);
        fz_puts(b, ",");
        fz_put_date(b, t->as_of[r]);
        for (int i = 0; i < norder; i++) {
            int32_t code = sx_code_at(t, order[i], r);
            if (!t->codes[order[i]])
                continue;
            fz_puts(b, ",");
            if (code != SX_NULL_CODE) {
                s = sx_dict_str(&t->dicts[order[i]], code, &n);
                fz_put_quoted(b, s, n);
            }
        }
        if (t->period_start) {
            fz_puts(b, ",");
            if (t->period_start[r] != SX_NO_DATE)
                fz_put_date(b, t->period_start[r]);
        }
        fz_puts(b, r % 2 ? "\n" : "\r\n");
    }
}

/* Code x of a's column c and code y of b's name the same string (or are
 * both SX_NULL_CODE). */
static inline int
fz_same_code_text(const sx_table *a, const sx_table *b, int c, int32_t x, int32_t y)
{
    size_t len;
    const char *s;
    if (x == SX_NULL_CODE || y == SX_NULL_CODE)
        return x == y;
    s = sx_dict_str(&a->dicts[c], x, &len);
    return fz_dict_eq(&b->dicts[c], y, s, len);
}

/* Two tables hold the same data, code for code (category: string for
 * string). */
static inline void
fz_check_same_table(const sx_table *a, const sx_table *b)
{
    FZ_CHECK(a->nrows == b->nrows);
    size_t n = (size_t)a->nrows;
    FZ_CHECK(n == 0 || memcmp(a->project, b->project, n * sizeof *a->project) == 0);
    FZ_CHECK(n == 0 || memcmp(a->value, b->value, n * sizeof *a->value) == 0);
    FZ_CHECK(n == 0 || memcmp(a->is_int, b->is_int, n) == 0);
    FZ_CHECK(n == 0 || memcmp(a->as_of, b->as_of, n * sizeof *a->as_of) == 0);
    FZ_CHECK(!a->period_start == !b->period_start);
    if (a->period_start && n)
        FZ_CHECK(memcmp(a->period_start, b->period_start, n * sizeof *a->period_start) == 0);
    for (int c = 0; c < SX_NSTRCOLS; c++) {
        FZ_CHECK(!a->codes[c] == !b->codes[c]);
        if (!a->codes[c])
            continue;
        FZ_CHECK(a->dicts[c].count == b->dicts[c].count);
        if (c == SX_COL_CATEGORY) {
            /* rows carry their project's category, so the write-back names
             * categories in another order: compare the strings */
            for (size_t r = 0; r < n; r++)
                FZ_CHECK(fz_same_code_text(a, b, c, sx_code_at(a, c, r), sx_code_at(b, c, r)));
            continue;
        }
        FZ_CHECK(a->code_width[c] == b->code_width[c]);
        FZ_CHECK(n == 0 || memcmp(a->codes[c], b->codes[c], n * a->code_width[c]) == 0);
        for (int32_t k = 0; k < a->dicts[c].count; k++) {
            size_t len;
            const char *s = sx_dict_str(&a->dicts[c], k, &len);
            FZ_CHECK(fz_dict_eq(&b->dicts[c], k, s, len));
        }
    }
    FZ_CHECK(a->nprojects == b->nprojects);
    for (int32_t p = 0; p < a->nprojects; p++) {
        const sx_project *x = &a->projects[p], *y = &b->projects[p];
        FZ_CHECK(x->number == y->number && x->key == y->key && x->title == y->title &&
                 x->as_of == y->as_of && x->nrows == y->nrows);
        FZ_CHECK(fz_same_code_text(a, b, SX_COL_CATEGORY, x->category, y->category));
    }
    for (int32_t m = 0; m < a->dicts[SX_COL_METRIC].count; m++)
        FZ_CHECK(a->metric_rows[m] == b->metric_rows[m] &&
                 a->metric_first[m] == b->metric_first[m]);
}

/* Written back and read again, the table is unchanged. */
static inline void
fz_check_roundtrip(const sx_table *t)
{
    fz_buf b = {NULL, 0, 0};
    sx_table *u = NULL;
    sx_error e;
    fz_write_csv(t, &b);
    sx_status st = sx_table_parse(b.p, b.len, &u, &e);
    if (st != SX_OK)
        fprintf(stderr, "write-back rejected at %llu:%llu: %s\n", (unsigned long long)e.line,
                (unsigned long long)e.column, e.message);
    FZ_CHECK(st == SX_OK && u != NULL);
    fz_check_same_table(t, u);
    sx_table_decref(u);
    free(b.p);
}

/* ------------------------------------------------------------------ Arrow */

/* The Arrow C data interface metadata: int32 count, then (int32 len, bytes)
 * key/value pairs.  Finds key; returns its value and length, or NULL. */
static inline const char *
fz_metadata(const char *md, const char *key, int32_t *vlen)
{
    int32_t count, len;
    const char *p = md;
    if (md == NULL)
        return NULL;
    memcpy(&count, p, 4);
    p += 4;
    FZ_CHECK(count >= 0);
    for (int32_t i = 0; i < count; i++) {
        const char *k;
        int32_t klen;
        memcpy(&klen, p, 4);
        FZ_CHECK(klen >= 0);
        k = p + 4;
        p = k + klen;
        memcpy(&len, p, 4);
        FZ_CHECK(len >= 0);
        p += 4;
        if ((size_t)klen == strlen(key) && memcmp(k, key, (size_t)klen) == 0) {
            *vlen = len;
            return p;
        }
        p += len;
    }
    return NULL;
}

static inline int
fz_bit(const void *bitmap, int64_t i)
{
    return bitmap == NULL || ((((const uint8_t *)bitmap)[i >> 3] >> (i & 7)) & 1);
}

/* The export of t, checked against t itself: schema names and formats,
 * every value, every dictionary index and string.  Then the ownership
 * rules: this takes over the caller's reference to t, and drops it together
 * with the stream and the schema; then one column is moved out of the batch,
 * the batch released, and the moved column (by then the table's last owner)
 * read again and released, which frees the table. */
/* The index width a string column is exported with: its own, or int8 for
 * a column the file lacks (all null). */
static inline int
fz_export_width(const sx_table *t, int strcol)
{
    return t->code_width[strcol] ? t->code_width[strcol] : 1;
}

static inline void
fz_check_arrow_and_drop(sx_table *t)
{
    static const struct {
        const char *name;
        int strcol; /* -1: not a string column */
        int per_project;
    } cols[] = {
        {"project", -1, 0},
        {"project_key", SX_COL_PROJECT_KEY, 1},
        {"project_title", SX_COL_PROJECT_TITLE, 1},
        {"category", SX_COL_CATEGORY, 0},
        {"metric", SX_COL_METRIC, 0},
        {"label", SX_COL_LABEL, 0},
        {"value", -1, 0},
        {"unit", SX_COL_UNIT, 0},
        {"as_of", -1, 0},
        {"period_start", -1, 0},
        {"part_of", SX_COL_PART_OF, 0},
        {"region", SX_COL_REGION, 0},
        {"share", -1, 0},
    };
    const int ncols = (int)(sizeof cols / sizeof cols[0]);
    struct ArrowArrayStream s;
    struct ArrowSchema schema;
    struct ArrowArray batch, end, moved;
    int present[sizeof cols / sizeof cols[0]], np = 0;
    int64_t n = t->nrows;
    int32_t vlen;
    const char *v;

    FZ_CHECK(sx_arrow_export(t, "fuzz", &s) == SX_OK);
    FZ_CHECK(s.get_schema(&s, &schema) == 0);
    FZ_CHECK(strcmp(schema.format, "+s") == 0);
    v = fz_metadata(schema.metadata, "shanxi.source", &vlen);
    FZ_CHECK(v != NULL && vlen == 4 && memcmp(v, "fuzz", 4) == 0);
    for (int i = 0; i < ncols; i++) {
        /* one schema: every column is exported, an absent one as all nulls */
        present[np++] = i;
    }
    FZ_CHECK(schema.n_children == np);
    for (int j = 0; j < np; j++) {
        const struct ArrowSchema *f = schema.children[j];
        int i = present[j];
        FZ_CHECK(strcmp(f->name, cols[i].name) == 0);
        if (cols[i].strcol >= 0) {
            /* every string column's indices go out at the width the table
             * keeps its codes (the per-project ones too: the table's own
             * codes, or built at that width) */
            int w = fz_export_width(t, cols[i].strcol);
            FZ_CHECK(strcmp(f->format, w == 1 ? "c" : w == 2 ? "s" : "i") == 0);
            FZ_CHECK(f->dictionary != NULL);
            FZ_CHECK(strcmp(f->dictionary->format, "u") == 0);
        } else {
            FZ_CHECK(f->dictionary == NULL);
        }
        if (strcmp(f->name, "value") == 0) {
            /* the distinct units in order of first appearance, joined by "," */
            fz_buf units = {NULL, 0, 0};
            const sx_dict *d = &t->dicts[SX_COL_UNIT];
            for (int32_t k = 0; k < d->count; k++) {
                size_t len;
                const char *u = sx_dict_str(d, k, &len);
                if (k)
                    fz_put(&units, ",", 1);
                fz_put(&units, u, len);
            }
            v = fz_metadata(f->metadata, "shanxi.units", &vlen);
            FZ_CHECK(v != NULL && (size_t)vlen == units.len);
            FZ_CHECK(units.len == 0 || memcmp(v, units.p, units.len) == 0);
            free(units.p);
        }
    }

    FZ_CHECK(s.get_next(&s, &batch) == 0);
    if (n == 0) {
        FZ_CHECK(batch.release == NULL);
        schema.release(&schema);
        s.release(&s);
        FZ_CHECK(s.release == NULL && schema.release == NULL);
        sx_table_decref(t);
        return;
    }
    FZ_CHECK(batch.release != NULL);
    FZ_CHECK(s.get_next(&s, &end) == 0 && end.release == NULL);
    FZ_CHECK(batch.length == n && batch.n_children == np && batch.null_count == 0);
    for (int j = 0; j < np; j++) {
        const struct ArrowArray *a = batch.children[j];
        int i = present[j];
        FZ_CHECK(a->length == n && a->offset == 0 && a->n_buffers == 2);
        if (cols[i].strcol >= 0) {
            const void *idx = a->buffers[1];
            int w = fz_export_width(t, cols[i].strcol);
            const struct ArrowArray *d = a->dictionary;
            const sx_dict *sd = &t->dicts[cols[i].strcol];
            const int32_t *off;
            const char *data;
            int64_t nulls = 0;
            FZ_CHECK(d != NULL && d->n_buffers == 3 && d->length == sd->count &&
                     d->null_count == 0);
            off = d->buffers[1];
            data = d->buffers[2];
            FZ_CHECK(off != NULL && data != NULL && off[0] == 0);
            for (int64_t k = 0; k < d->length; k++) {
                FZ_CHECK(off[k + 1] >= off[k]);
                FZ_CHECK(fz_dict_eq(sd, (int32_t)k, data + off[k], (size_t)(off[k + 1] - off[k])));
            }
            for (int64_t r = 0; r < n; r++) {
                int32_t want;
                if (cols[i].per_project) {
                    const sx_project *pj = &t->projects[sx_project_index(t, t->project[r])];
                    want = cols[i].strcol == SX_COL_PROJECT_KEY ? pj->key : pj->title;
                } else {
                    want = sx_code_at(t, cols[i].strcol, r);
                }
                if (want == SX_NULL_CODE) {
                    FZ_CHECK(!fz_bit(a->buffers[0], r));
                    nulls++;
                } else {
                    FZ_CHECK(fz_bit(a->buffers[0], r) && sx_code_in(idx, w, r) == want);
                }
            }
            FZ_CHECK(a->null_count == nulls);
            FZ_CHECK((nulls == 0) == (a->buffers[0] == NULL));
        } else if (strcmp(cols[i].name, "project") == 0) {
            FZ_CHECK(a->null_count == 0 && a->buffers[0] == NULL);
            FZ_CHECK(memcmp(a->buffers[1], t->project, (size_t)n * sizeof *t->project) == 0);
        } else if (strcmp(cols[i].name, "value") == 0) {
            FZ_CHECK(a->null_count == 0 && a->buffers[0] == NULL);
            FZ_CHECK(memcmp(a->buffers[1], t->value, (size_t)n * sizeof *t->value) == 0);
        } else if (strcmp(cols[i].name, "as_of") == 0) {
            FZ_CHECK(a->null_count == 0 && a->buffers[0] == NULL);
            FZ_CHECK(memcmp(a->buffers[1], t->as_of, (size_t)n * sizeof *t->as_of) == 0);
        } else if (strcmp(cols[i].name, "share") == 0) {
            /* the values are shares.c's; here only their shape */
            FZ_CHECK(a->buffers[1] != NULL && a->null_count >= 0 && a->null_count <= n);
        } else { /* period_start */
            const int32_t *days = a->buffers[1];
            int64_t nulls = 0;
            for (int64_t r = 0; r < n; r++) {
                int valid = t->period_start != NULL && t->period_start[r] != SX_NO_DATE;
                nulls += !valid;
                FZ_CHECK(fz_bit(a->buffers[0], r) == valid);
                FZ_CHECK(!valid || days[r] == t->period_start[r]);
            }
            FZ_CHECK(a->null_count == nulls);
        }
    }

    /* Ownership: only the exported nodes keep the table alive from here. */
    s.release(&s);
    schema.release(&schema);
    sx_table_decref(t); /* the caller's */
    {
        int j = np - 1; /* the last column: a dictionary one or period_start */
        moved = *batch.children[j];
        batch.children[j]->release = NULL;
        batch.release(&batch);
        FZ_CHECK(batch.release == NULL);
        /* read every buffer of the moved column again */
        for (int64_t k = 0; k < moved.n_buffers; k++)
            if (moved.buffers[k])
                FZ_CHECK(((const volatile uint8_t *)moved.buffers[k])[0] ==
                         ((const uint8_t *)moved.buffers[k])[0]);
        if (moved.dictionary) {
            const int32_t *off = moved.dictionary->buffers[1];
            const volatile char *data = moved.dictionary->buffers[2];
            unsigned sum = 0;
            for (int32_t k = 0; k < off[moved.dictionary->length]; k++)
                sum += (unsigned char)data[k];
            (void)sum;
        }
        moved.release(&moved);
        FZ_CHECK(moved.release == NULL);
    }
}

#endif
