/*
 * test_partial.c -- partial aggregates (include/shanxi/partial.h): the
 * partials of contiguous pieces of a table, merged in random orders and
 * through their blobs, give sx_aggregate's result over the whole, bit for
 * bit, by one key or several; filter values found in some part or none;
 * decoding damaged blobs fails cleanly (under the sanitizers).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "shanxi/core.h"
#include "shanxi/partial.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static unsigned
rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static const char *const values[] = {
    "1e16",     "1",    "-1e16", "0.1",  "5", "5.0", "-0.0", "0", "9007199254740993",
    "2.5e-300", "7.25", "-2",    "1e300"};
#define HEADER "project,metric,value,unit,as_of,region\n"

static char *
make_rows(int n, int units)
{
    size_t cap = (size_t)n * 80 + 64, len = 0;
    char *s = malloc(cap);
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len, "%u,m%u,%s,%s,2022-0%u-1%u,%s\n", rnd(3) + 1,
                                rnd(4), values[rnd(sizeof values / sizeof *values)],
                                units > 1 && rnd(2) ? "people" : "CNY", rnd(3) + 1, rnd(9),
                                rnd(3) ? "" : "Taiyuan");
    s[len] = '\0';
    return s;
}

/* The table of the text lines [from, to) of rows (one row a line). */
static sx_table *
table_of(const char *rows, int from, int to)
{
    const char *p = rows;
    for (int i = 0; i < from; i++)
        p = strchr(p, '\n') + 1;
    const char *q = p;
    for (int i = from; i < to; i++)
        q = strchr(q, '\n') + 1;
    size_t n = (size_t)(q - p);
    char *text = malloc(sizeof HEADER + n);
    memcpy(text, HEADER, sizeof HEADER - 1);
    memcpy(text + sizeof HEADER - 1, p, n);
    sx_table *t = NULL;
    sx_error e;
    CHECK(sx_table_parse(text, sizeof HEADER - 1 + n, &t, &e) == SX_OK);
    free(text);
    return t;
}

static int
same_double(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* The partial's result equals sx_aggregate's over t (groups by position:
 * both are in group order; keys compared through t's dictionary). */
static int
same_result(const sx_table *t, sx_func func, sx_by by, const sx_partial *p)
{
    sx_result r;
    sx_error e1, e2;
    sx_partial_row *rows = NULL;
    int64_t n = 0;
    sx_status s1 = sx_aggregate(t, NULL, func, by, &r, &e1);
    sx_status s2 = sx_partial_result(p, &rows, &n, &e2);
    int ok = s1 == s2;
    if (ok && s1 != SX_OK)
        ok = strcmp(e1.message, e2.message) == 0;
    if (ok && s1 == SX_OK) {
        ok = r.ngroups == n;
        for (int64_t i = 0; ok && i < n; i++) {
            const sx_group *a = &r.groups[i], *b = &rows[i].value;
            ok = a->count == b->count;
            if (func == SX_SUM || func == SX_MEAN)
                ok = ok && a->all_int == b->all_int &&
                     (a->all_int ? a->isum.hi == b->isum.hi && a->isum.lo == b->isum.lo
                                 : same_double(a->fsum, b->fsum));
            if (func == SX_MIN)
                ok = ok && same_double(a->min, b->min) && a->min_is_int == b->min_is_int;
            if (func == SX_MAX)
                ok = ok && same_double(a->max, b->max) && a->max_is_int == b->max_is_int;
        }
    }
    if (s1 == SX_OK)
        sx_result_free(&r);
    free(rows);
    return ok;
}

/* A blob's round trip: decode(encode(p)), which replaces p. */
static sx_partial *
through_blob(sx_partial *p)
{
    unsigned char *buf;
    size_t len;
    sx_partial *q = NULL;
    sx_error e;
    CHECK(sx_partial_encode(p, &buf, &len) == SX_OK);
    CHECK(sx_partial_decode(buf, len, &q, &e) == SX_OK && q != NULL);
    free(buf);
    sx_partial_free(p);
    return q;
}

static void
test_splits(void)
{
    for (int trial = 0; trial < 60; trial++) {
        int n = (int)rnd(120), k = (int)rnd(5) + 1;
        char *rows = make_rows(n, (int)rnd(2) + 1);
        sx_table *whole = table_of(rows, 0, n);
        int bounds[7];
        bounds[0] = 0;
        bounds[k] = n;
        for (int i = 1; i < k; i++)
            bounds[i] = bounds[i - 1] + (int)rnd((unsigned)(n - bounds[i - 1]) + 1);
        sx_table *pieces[6];
        for (int i = 0; i < k; i++)
            pieces[i] = table_of(rows, bounds[i], bounds[i + 1]);
        for (int func = 0; func < SX_NFUNCS; func++) {
            for (int by = 0; by < SX_NBYS; by++) {
                sx_partial *parts[6];
                sx_error e;
                for (int i = 0; i < k; i++)
                    CHECK(sx_partial_new(pieces[i], NULL, (sx_func)func, (sx_by)by, i, &parts[i],
                                         &e) == SX_OK);
                /* merged in a random order, some through their blobs */
                int order[6];
                for (int i = 0; i < k; i++)
                    order[i] = i;
                for (int i = k - 1; i > 0; i--) {
                    int j = (int)rnd((unsigned)i + 1), x = order[i];
                    order[i] = order[j];
                    order[j] = x;
                }
                sx_partial *acc = NULL;
                CHECK(sx_partial_empty((sx_func)func, (sx_by)by, &acc) == SX_OK);
                for (int i = 0; i < k; i++) {
                    sx_partial *p = rnd(2) ? through_blob(parts[order[i]]) : parts[order[i]];
                    CHECK(sx_partial_merge_into(acc, p, &e) == SX_OK);
                    sx_partial_free(p);
                }
                CHECK(same_result(whole, (sx_func)func, (sx_by)by, acc));
                sx_partial_free(acc);
            }
        }
        for (int i = 0; i < k; i++)
            sx_table_decref(pieces[i]);
        sx_table_decref(whole);
        free(rows);
    }
}

/* Key part j of a partial's row is part j of an aggregate's group. */
static int
same_key(const sx_table *t, sx_by by, int32_t code, const sx_pkey *k)
{
    int col = sx_by_column(by);
    if (col < 0)
        return k->num == code;
    if (code == SX_NULL_CODE)
        return k->str == NULL;
    size_t n;
    const char *s = sx_dict_str(&t->dicts[col], code, &n);
    return k->str != NULL && k->len == n && memcmp(k->str, s, n) == 0;
}

/* sx_aggregate_keys over t and the partial's result agree, keys and all. */
static int
same_result_keys(const sx_table *t, sx_func func, const sx_by *by, int nby, const sx_partial *p)
{
    sx_result r;
    sx_error e1, e2;
    sx_partial_row *rows = NULL;
    int64_t n = 0;
    sx_status s1 = sx_aggregate_keys(t, NULL, func, by, nby, &r, &e1);
    sx_status s2 = sx_partial_result(p, &rows, &n, &e2);
    int ok = s1 == s2 && (s1 == SX_OK || strcmp(e1.message, e2.message) == 0);
    if (ok && s1 == SX_OK) {
        ok = r.ngroups == n;
        for (int64_t i = 0; ok && i < n; i++) {
            const sx_group *a = &r.groups[i], *b = &rows[i].value;
            for (int j = 0; j < nby; j++)
                ok = ok && same_key(t, by[j], a->keys[j], &rows[i].key[j]);
            ok = ok && a->count == b->count;
            if (func == SX_SUM || func == SX_MEAN)
                ok = ok && a->all_int == b->all_int &&
                     (a->all_int ? a->isum.hi == b->isum.hi && a->isum.lo == b->isum.lo
                                 : same_double(a->fsum, b->fsum));
            if (func == SX_MIN)
                ok = ok && same_double(a->min, b->min) && a->min_is_int == b->min_is_int;
            if (func == SX_MAX)
                ok = ok && same_double(a->max, b->max) && a->max_is_int == b->max_is_int;
        }
    }
    sx_result_free(&r);
    free(rows);
    return ok;
}

/* Several keys (unit among them at times): the pieces' partials, merged in
 * a random order and through blobs, are sx_aggregate_keys of the whole. */
static void
test_split_keys(void)
{
    for (int trial = 0; trial < 80; trial++) {
        int n = (int)rnd(100), k = (int)rnd(4) + 1;
        char *rows = make_rows(n, (int)rnd(2) + 1);
        sx_table *whole = table_of(rows, 0, n);
        int bounds[6] = {0};
        bounds[k] = n;
        for (int i = 1; i < k; i++)
            bounds[i] = bounds[i - 1] + (int)rnd((unsigned)(n - bounds[i - 1]) + 1);
        sx_table *pieces[5];
        for (int i = 0; i < k; i++)
            pieces[i] = table_of(rows, bounds[i], bounds[i + 1]);
        sx_by by[SX_PARTIAL_MAX_KEYS];
        int nby = (int)rnd(4) + 1;
        for (int j = 0; j < nby; j++) {
            int again;
            do {
                by[j] = (sx_by)(rnd(SX_NBYS - 1) + 1);
                again = 0;
                for (int i = 0; i < j; i++)
                    again |= by[i] == by[j];
            } while (again);
        }
        for (int func = 0; func < SX_NFUNCS; func++) {
            sx_partial *acc = NULL;
            sx_error e;
            CHECK(sx_partial_empty_keys((sx_func)func, by, nby, 1, &acc) == SX_OK);
            for (int i = k - 1; i >= 0; i--) {
                sx_partial *p = NULL;
                CHECK(sx_partial_new_keys(pieces[i], NULL, (sx_func)func, by, nby, 1, i, &p, &e) ==
                      SX_OK);
                CHECK(sx_partial_tuple(p) == 1 && sx_partial_ngroups(p) >= 0);
                if (rnd(2))
                    p = through_blob(p);
                CHECK(sx_partial_merge_into(acc, p, &e) == SX_OK);
                sx_partial_free(p);
            }
            CHECK(same_result_keys(whole, (sx_func)func, by, nby, acc));
            sx_by got[SX_PARTIAL_MAX_KEYS];
            CHECK(sx_partial_keys(acc, got) == nby &&
                  memcmp(got, by, (size_t)nby * sizeof *by) == 0);
            sx_partial_free(acc);
        }
        for (int i = 0; i < k; i++)
            sx_table_decref(pieces[i]);
        sx_table_decref(whole);
        free(rows);
    }
    /* a tuple of one key and one key are different partials */
    sx_partial *a = NULL, *b = NULL;
    sx_by unit = SX_BY_UNIT;
    sx_error e;
    CHECK(sx_partial_empty_keys(SX_SUM, &unit, 1, 1, &a) == SX_OK);
    CHECK(sx_partial_empty(SX_SUM, SX_BY_UNIT, &b) == SX_OK);
    CHECK(!sx_partial_compatible(a, b) && sx_partial_merge_into(a, b, &e) == SX_ERR_VALUE);
    sx_by twice[2] = {SX_BY_UNIT, SX_BY_UNIT};
    sx_partial_free(b);
    CHECK(sx_partial_empty_keys(SX_SUM, twice, 2, 1, &b) == SX_ERR_VALUE && b == NULL);
    sx_partial_free(a);
}

/* Filter values: found in any part wins, else the message first by (seq,
 * message); the first miss by filter; all through blobs. */
static void
test_filter_notes(void)
{
    sx_partial *a = NULL, *b = NULL, *c = NULL;
    sx_error e;
    const char *msg;
    size_t len;
    CHECK(sx_partial_empty(SX_SUM, SX_BY_NONE, &a) == SX_OK);
    CHECK(sx_partial_empty(SX_SUM, SX_BY_NONE, &b) == SX_OK);
    CHECK(sx_partial_empty(SX_SUM, SX_BY_NONE, &c) == SX_OK);
    CHECK(sx_partial_note_filter(a, 2, "'X'", 3, 0, 5, "no unit 'X' in a", 16) == SX_OK);
    CHECK(sx_partial_note_filter(a, 4, "'R'", 3, 1, 5, NULL, 0) == SX_OK);
    CHECK(sx_partial_note_filter(b, 2, "'X'", 3, 0, 1, "no unit 'X' in b", 16) == SX_OK);
    CHECK(sx_partial_note_filter(b, 4, "'R'", 3, 0, 1, "no region 'R' in b", 18) == SX_OK);
    CHECK(sx_partial_missing(a, &msg, &len) && len == 16 &&
          memcmp(msg, "no unit 'X' in a", 16) == 0);
    CHECK(sx_partial_merge_into(a, b, &e) == SX_OK);
    a = through_blob(a);
    CHECK(sx_partial_missing(a, &msg, &len) && len == 16 &&
          memcmp(msg, "no unit 'X' in b", 16) == 0);
    CHECK(sx_partial_note_filter(c, 2, "'X'", 3, 1, 9, NULL, 0) == SX_OK);
    CHECK(sx_partial_merge_into(c, a, &e) == SX_OK);
    CHECK(!sx_partial_missing(c, &msg, &len));
    c = through_blob(c);
    CHECK(!sx_partial_missing(c, &msg, &len));
    sx_partial_free(a);
    sx_partial_free(b);
    sx_partial_free(c);
}

/* Every truncation and many mutations of real blobs decode or fail
 * cleanly; what decodes can be used. */
static void
test_damaged_blobs(void)
{
    char *rows = make_rows(50, 2);
    sx_table *t = table_of(rows, 0, 50);
    for (int func = 0; func < SX_NFUNCS; func++) {
        for (int by = 0; by < SX_NBYS; by++) {
            sx_partial *p = NULL, *q = NULL;
            sx_error e;
            unsigned char *buf;
            size_t len;
            CHECK(sx_partial_new(t, NULL, (sx_func)func, (sx_by)by, 0, &p, &e) == SX_OK);
            CHECK(sx_partial_encode(p, &buf, &len) == SX_OK);
            for (size_t cut = 0; cut < len; cut++) {
                CHECK(sx_partial_decode(buf, cut, &q, &e) == SX_ERR_VALUE && q == NULL);
            }
            for (int m = 0; m < 300; m++) {
                unsigned char *copy = malloc(len);
                memcpy(copy, buf, len);
                copy[rnd((unsigned)len)] ^= (unsigned char)(1u << rnd(8));
                sx_status st = sx_partial_decode(copy, len, &q, &e);
                CHECK(st == SX_ERR_VALUE || st == SX_OK);
                if (st == SX_OK) {
                    sx_partial_row *r = NULL;
                    int64_t n;
                    (void)sx_partial_result(q, &r, &n, &e);
                    free(r);
                    sx_partial_free(q);
                    q = NULL;
                }
                free(copy);
            }
            free(buf);
            sx_partial_free(p);
        }
    }
    sx_table_decref(t);
    free(rows);
}

int
main(void)
{
    test_splits();
    test_split_keys();
    test_filter_notes();
    test_damaged_blobs();
    return CHECK_DONE();
}
