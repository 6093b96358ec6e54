/* Tests of sx_aggregate, sx_result_free, sx_bigint_format and the name
 * tables: hand-worked results on small tables parsed from CSV, the shipped
 * data file, math.fsum's hard cases (expected values checked against
 * CPython's math.fsum), exact integer sums past 2^63, unit errors, empty
 * selections, group order, and a random differential test against an exact
 * 128-bit fixed-point reference. */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "shanxi/core.h"

/* ------------------------------------------------------------------ helpers */

static sx_table *
parse_len(const char *csv, size_t len)
{
    sx_table *t = NULL;
    sx_error err;
    memset(&err, 0, sizeof err);
    if (sx_table_parse(csv, len, &t, &err) != SX_OK) {
        fprintf(stderr, "parse failed: line %llu col %llu: %s\n", (unsigned long long)err.line,
                (unsigned long long)err.column, err.message);
        return NULL;
    }
    return t;
}

static sx_table *
parse(const char *csv)
{
    return parse_len(csv, strlen(csv));
}

/* A growing text buffer for generated CSV. */
typedef struct text {
    char *s;
    size_t len, cap;
} text;

static void
put(text *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    for (;;) {
        size_t room = b->cap - b->len;
        va_start(ap, fmt);
        n = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        b->cap = b->cap * 2 + (size_t)n + 64;
        b->s = realloc(b->s, b->cap);
        if (b->s == NULL) {
            fprintf(stderr, "out of memory in test\n");
            exit(2);
        }
    }
}

static int32_t
code_of(const sx_table *t, sx_strcol c, const char *s)
{
    return sx_dict_find(&t->dicts[c], s, strlen(s));
}

static int
key_is(const sx_table *t, sx_strcol c, int64_t key, const char *s)
{
    size_t len;
    const char *k;
    if (key < 0 || key >= t->dicts[c].count)
        return 0;
    k = sx_dict_str(&t->dicts[c], (int32_t)key, &len);
    return len == strlen(s) && memcmp(k, s, len) == 0;
}

static int
isum_is(sx_bigint v, const char *want)
{
    char buf[48];
    sx_bigint_format(v, buf);
    if (strcmp(buf, want) != 0)
        fprintf(stderr, "  isum %s, expected %s\n", buf, want);
    return strcmp(buf, want) == 0;
}

static sx_status
agg(const sx_table *t, const sx_filter *f, sx_func func, sx_by by, sx_result *r, sx_error *err)
{
    memset(err, 0, sizeof *err);
    return sx_aggregate(t, f, func, by, r, err);
}

static const char small_csv[] =
    "project,project_key,project_title,category,metric,label,value,unit,as_of,period_start,"
    "part_of,region\n"
    "1,alpha,Alpha works,health,a_count,Alpha count,10,people,2022-01-31,,,North\n"
    "1,alpha,Alpha works,health,a_money,Alpha money,1500000,CNY,2022-02-28,,,North\n"
    "1,alpha,Alpha works,health,a_rate,Alpha rate,12.5,percent,2022-02-28,,,\n"
    "2,beta,Beta,,b_count,Beta count,7,people,2021-12-31,,,South\n"
    "2,beta,Beta,,b_money,,2500000,CNY,2022-01-15,,,\xc3\x84rzte\n"
    "3,gamma,Gamma plan,employment,g_count,Gamma count,-3,people,2022-01-31,,,North\n"
    "3,gamma,Gamma plan,employment,g_rate,Gamma RATE,87.25,percent,2022-01-31,,,south\n"
    "3,gamma,Gamma plan,employment,g_usd,,100.5,USD,2022-03-01,,,\n"
    "2,,,,b_extra,,1,people,2022-01-15,,,\n";

/* ------------------------------------------------------------------ small table */

static void
test_names(void)
{
    static const char *const funcs[] = {"sum", "count", "mean", "min", "max"};
    static const char *const bys[] = {"none", "project", "metric", "category",
                                      "unit", "region",  "as_of",  "month"};
    int i;
    for (i = 0; i < SX_NFUNCS; i++)
        CHECK(strcmp(sx_func_names[i], funcs[i]) == 0);
    for (i = 0; i < SX_NBYS; i++)
        CHECK(strcmp(sx_by_names[i], bys[i]) == 0);
}

static void
test_small(void)
{
    sx_table *t = parse(small_csv);
    sx_filter f;
    sx_result r;
    sx_error e;
    sx_group *g;
    CHECK(t != NULL);
    if (t == NULL)
        return;

    /* sum by unit: keys ordered by bytes, uppercase first */
    sx_filter_init(&f);
    CHECK(agg(t, &f, SX_SUM, SX_BY_UNIT, &r, &e) == SX_OK);
    CHECK(r.ngroups == 4);
    if (r.ngroups == 4) {
        g = r.groups;
        CHECK(key_is(t, SX_COL_UNIT, g[0].key, "CNY") && g[0].count == 2 && g[0].all_int &&
              isum_is(g[0].isum, "4000000") && g[0].fsum == 4000000.0 &&
              g[0].unit == (int32_t)g[0].key);
        CHECK(key_is(t, SX_COL_UNIT, g[1].key, "USD") && g[1].count == 1 && !g[1].all_int &&
              g[1].fsum == 100.5);
        CHECK(key_is(t, SX_COL_UNIT, g[2].key, "people") && g[2].count == 4 && g[2].all_int &&
              isum_is(g[2].isum, "15") && g[2].fsum == 15.0);
        CHECK(key_is(t, SX_COL_UNIT, g[3].key, "percent") && g[3].count == 2 && !g[3].all_int &&
              g[3].fsum == 99.75);
    }
    sx_result_free(&r);
    CHECK(r.groups == NULL && r.ngroups == 0);

    /* sum of people by project */
    f.code[SX_COL_UNIT] = code_of(t, SX_COL_UNIT, "people");
    CHECK(agg(t, &f, SX_SUM, SX_BY_PROJECT, &r, &e) == SX_OK);
    CHECK(r.ngroups == 3);
    if (r.ngroups == 3) {
        g = r.groups;
        CHECK(g[0].key == 1 && g[0].count == 1 && isum_is(g[0].isum, "10"));
        CHECK(g[1].key == 2 && g[1].count == 2 && isum_is(g[1].isum, "8") && g[1].fsum == 8.0);
        CHECK(g[2].key == 3 && g[2].count == 1 && isum_is(g[2].isum, "-3") && g[2].fsum == -3.0);
        CHECK(g[2].unit == f.code[SX_COL_UNIT]);
    }
    sx_result_free(&r);

    /* min and max keep is_int of the extreme row */
    CHECK(agg(t, &f, SX_MIN, SX_BY_NONE, &r, &e) == SX_OK);
    CHECK(r.ngroups == 1 && r.groups[0].min == -3.0 && r.groups[0].min_is_int &&
          r.groups[0].max == 10.0 && r.groups[0].max_is_int && r.groups[0].count == 4);
    sx_result_free(&r);
    f.code[SX_COL_UNIT] = code_of(t, SX_COL_UNIT, "percent");
    CHECK(agg(t, &f, SX_MAX, SX_BY_NONE, &r, &e) == SX_OK);
    CHECK(r.ngroups == 1 && r.groups[0].max == 87.25 && !r.groups[0].max_is_int &&
          r.groups[0].min == 12.5 && !r.groups[0].all_int);
    sx_result_free(&r);
    CHECK(agg(t, &f, SX_MEAN, SX_BY_NONE, &r, &e) == SX_OK);
    CHECK(r.ngroups == 1 && r.groups[0].count == 2 && r.groups[0].fsum == 99.75);
    sx_result_free(&r);

    /* money by project: only projects that have any */
    f.code[SX_COL_UNIT] = code_of(t, SX_COL_UNIT, "CNY");
    CHECK(agg(t, &f, SX_SUM, SX_BY_PROJECT, &r, &e) == SX_OK);
    CHECK(r.ngroups == 2 && r.groups[0].key == 1 && isum_is(r.groups[0].isum, "1500000") &&
          r.groups[1].key == 2 && isum_is(r.groups[1].isum, "2500000"));
    sx_result_free(&r);

    /* counts never mind units */
    sx_filter_init(&f);
    CHECK(agg(t, &f, SX_COUNT, SX_BY_NONE, &r, &e) == SX_OK);
    CHECK(r.ngroups == 1 && r.groups[0].key == 0 && r.groups[0].count == 9 &&
          r.groups[0].unit == SX_MIXED_UNITS);
    sx_result_free(&r);
    CHECK(agg(t, &f, SX_COUNT, SX_BY_PROJECT, &r, &e) == SX_OK);
    CHECK(r.ngroups == 3 && r.groups[0].count == 3 && r.groups[1].count == 3 &&
          r.groups[2].count == 3);
    sx_result_free(&r);

    /* string keys by UTF-8 bytes; empty fields last */
    CHECK(agg(t, &f, SX_COUNT, SX_BY_REGION, &r, &e) == SX_OK);
    CHECK(r.ngroups == 5);
    if (r.ngroups == 5) {
        g = r.groups;
        CHECK(key_is(t, SX_COL_REGION, g[0].key, "North") && g[0].count == 3);
        CHECK(key_is(t, SX_COL_REGION, g[1].key, "South") && g[1].count == 1);
        CHECK(key_is(t, SX_COL_REGION, g[2].key, "south") && g[2].count == 1);
        CHECK(key_is(t, SX_COL_REGION, g[3].key, "\xc3\x84rzte") && g[3].count == 1);
        CHECK(g[4].key == SX_NULL_CODE && g[4].count == 3);
    }
    sx_result_free(&r);
    CHECK(agg(t, &f, SX_COUNT, SX_BY_CATEGORY, &r, &e) == SX_OK);
    CHECK(r.ngroups == 3 && key_is(t, SX_COL_CATEGORY, r.groups[0].key, "employment") &&
          r.groups[0].count == 3 && key_is(t, SX_COL_CATEGORY, r.groups[1].key, "health") &&
          r.groups[1].count == 3 && r.groups[2].key == SX_NULL_CODE && r.groups[2].count == 3);
    sx_result_free(&r);
    CHECK(agg(t, &f, SX_COUNT, SX_BY_METRIC, &r, &e) == SX_OK);
    CHECK(r.ngroups == 9 && key_is(t, SX_COL_METRIC, r.groups[0].key, "a_count") &&
          key_is(t, SX_COL_METRIC, r.groups[3].key, "b_count") &&
          key_is(t, SX_COL_METRIC, r.groups[4].key, "b_extra") &&
          key_is(t, SX_COL_METRIC, r.groups[8].key, "g_usd"));
    sx_result_free(&r);

    /* dates and months */
    CHECK(agg(t, &f, SX_COUNT, SX_BY_AS_OF, &r, &e) == SX_OK);
    CHECK(r.ngroups == 5);
    if (r.ngroups == 5) {
        g = r.groups;
        CHECK(g[0].key == sx_days_from_civil(2021, 12, 31) && g[0].count == 1);
        CHECK(g[1].key == sx_days_from_civil(2022, 1, 15) && g[1].count == 2);
        CHECK(g[2].key == sx_days_from_civil(2022, 1, 31) && g[2].count == 3);
        CHECK(g[3].key == sx_days_from_civil(2022, 2, 28) && g[3].count == 2);
        CHECK(g[4].key == sx_days_from_civil(2022, 3, 1) && g[4].count == 1);
    }
    sx_result_free(&r);
    f.code[SX_COL_UNIT] = code_of(t, SX_COL_UNIT, "people");
    CHECK(agg(t, &f, SX_SUM, SX_BY_MONTH, &r, &e) == SX_OK);
    CHECK(r.ngroups == 2 && r.groups[0].key == 2021 * 12 + 11 && isum_is(r.groups[0].isum, "7") &&
          r.groups[1].key == 2022 * 12 && isum_is(r.groups[1].isum, "8") && r.groups[1].count == 3);
    sx_result_free(&r);

    /* a date window */
    sx_filter_init(&f);
    f.since = sx_days_from_civil(2022, 2, 1);
    f.until = sx_days_from_civil(2022, 2, 28);
    CHECK(agg(t, &f, SX_COUNT, SX_BY_UNIT, &r, &e) == SX_OK);
    CHECK(r.ngroups == 2 && key_is(t, SX_COL_UNIT, r.groups[0].key, "CNY") &&
          key_is(t, SX_COL_UNIT, r.groups[1].key, "percent"));
    sx_result_free(&r);
    sx_table_decref(t);
}

static void
test_units_error(void)
{
    sx_table *t = parse(small_csv);
    sx_filter f;
    sx_result r;
    sx_error e;
    CHECK(t != NULL);
    if (t == NULL)
        return;
    sx_filter_init(&f);
    CHECK(agg(t, &f, SX_SUM, SX_BY_NONE, &r, &e) == SX_ERR_UNITS);
    CHECK(e.status == SX_ERR_UNITS && r.groups == NULL && r.ngroups == 0);
    CHECK(strcmp(e.message, "cannot sum figures in different units (CNY, USD, people, percent); "
                            "pass unit=... or by=\"unit\"") == 0);
    /* the first mixed group in key order is named: project 1 */
    CHECK(agg(t, &f, SX_MEAN, SX_BY_PROJECT, &r, &e) == SX_ERR_UNITS);
    CHECK(strcmp(e.message, "in project 1: cannot average figures in different units (CNY, "
                            "people, percent); pass unit=... or by=\"unit\"") == 0);
    CHECK(agg(t, &f, SX_MIN, SX_BY_METRIC, &r, &e) == SX_OK);
    sx_result_free(&r);
    f.project = 2;
    CHECK(agg(t, &f, SX_MAX, SX_BY_NONE, &r, &e) == SX_ERR_UNITS);
    CHECK(strstr(e.message, "cannot take the max of figures in different units (CNY, people)") ==
          e.message);
    /* no error without a err to fill, just the status */
    CHECK(sx_aggregate(t, &f, SX_SUM, SX_BY_NONE, &r, NULL) == SX_ERR_UNITS);
    CHECK(agg(t, &f, SX_COUNT, SX_BY_NONE, &r, &e) == SX_OK && r.groups[0].count == 3);
    sx_result_free(&r);
    CHECK(agg(t, &f, SX_SUM, SX_BY_UNIT, &r, &e) == SX_OK && r.ngroups == 2);
    sx_result_free(&r);
    sx_table_decref(t);
}

/* Many long units: the message is cut to fit, stays valid UTF-8 and ends
 * with the advice. */
static void
test_units_message_long(void)
{
    text b = {NULL, 0, 0};
    sx_table *t;
    sx_result r;
    sx_error e;
    int i;
    size_t len;
    const unsigned char *m;
    put(&b, "project,metric,value,unit,as_of\n");
    for (i = 0; i < 30; i++)
        put(&b, "1,m%d,1,\xe5\x8d\x95\xe4\xbd\x8d%02d_%s,2022-01-01\n", i, i,
            "\xe6\x9e\x81\xe9\x95\xbf\xe7\x9a\x84\xe5\x90\x8d\xe5\xad\x97\xe6\x9e\x81\xe9\x95\xbf"
            "\xe7\x9a\x84\xe5\x90\x8d\xe5\xad\x97\xe6\x9e\x81\xe9\x95\xbf");
    t = parse_len(b.s, b.len);
    free(b.s);
    CHECK(t != NULL);
    if (t == NULL)
        return;
    CHECK(agg(t, NULL, SX_SUM, SX_BY_NONE, &r, &e) == SX_ERR_UNITS);
    len = strlen(e.message);
    CHECK(len < sizeof e.message);
    CHECK(strncmp(e.message, "cannot sum figures in different units (", 39) == 0);
    CHECK(len > 29 && strcmp(e.message + len - 29, "); pass unit=... or by=\"unit\"") == 0);
    CHECK(strstr(e.message, ", ...)") != NULL);
    /* every multi-byte sequence is whole */
    for (m = (const unsigned char *)e.message; *m;) {
        int n = *m < 0x80 ? 1 : *m >= 0xf0 ? 4 : *m >= 0xe0 ? 3 : 2, k;
        CHECK(*m < 0x80 || *m >= 0xc0);
        for (k = 1; k < n; k++)
            CHECK((m[k] & 0xc0) == 0x80);
        m += n;
    }
    sx_table_decref(t);
}

static void
test_empty(void)
{
    sx_table *t = parse(small_csv);
    sx_filter f;
    sx_result r;
    sx_error e;
    int fn;
    CHECK(t != NULL);
    if (t == NULL)
        return;
    sx_filter_init(&f);
    f.project = 99;
    CHECK(agg(t, &f, SX_SUM, SX_BY_NONE, &r, &e) == SX_OK);
    CHECK(r.ngroups == 1 && r.groups[0].count == 0 && r.groups[0].all_int &&
          isum_is(r.groups[0].isum, "0") && r.groups[0].fsum == 0.0 && !signbit(r.groups[0].fsum) &&
          r.groups[0].key == 0 && r.groups[0].unit == SX_NULL_CODE);
    sx_result_free(&r);
    CHECK(agg(t, &f, SX_COUNT, SX_BY_NONE, &r, &e) == SX_OK);
    CHECK(r.ngroups == 1 && r.groups[0].count == 0);
    sx_result_free(&r);
    CHECK(agg(t, &f, SX_SUM, SX_BY_PROJECT, &r, &e) == SX_OK);
    CHECK(r.ngroups == 0 && r.groups == NULL);
    sx_result_free(&r);
    for (fn = SX_MEAN; fn <= SX_MAX; fn++) {
        char want[32];
        snprintf(want, sizeof want, "%s of no figures", sx_func_names[fn]);
        CHECK(agg(t, &f, (sx_func)fn, SX_BY_NONE, &r, &e) == SX_ERR_EMPTY);
        CHECK(e.status == SX_ERR_EMPTY && strcmp(e.message, want) == 0 && r.groups == NULL);
        CHECK(agg(t, &f, (sx_func)fn, SX_BY_MONTH, &r, &e) == SX_ERR_EMPTY);
    }
    /* a since after until selects nothing */
    sx_filter_init(&f);
    f.since = 10;
    f.until = 9;
    CHECK(agg(t, &f, SX_COUNT, SX_BY_NONE, &r, &e) == SX_OK && r.groups[0].count == 0);
    sx_result_free(&r);
    sx_table_decref(t);
}

static void
test_bad_args(void)
{
    sx_table *t = parse(small_csv);
    sx_result r;
    sx_error e;
    CHECK(t != NULL);
    if (t == NULL)
        return;
    CHECK(agg(t, NULL, SX_NFUNCS, SX_BY_NONE, &r, &e) == SX_ERR_VALUE && e.status == SX_ERR_VALUE);
    CHECK(agg(t, NULL, (sx_func)-1, SX_BY_NONE, &r, &e) == SX_ERR_VALUE);
    CHECK(agg(t, NULL, SX_SUM, SX_NBYS, &r, &e) == SX_ERR_VALUE && r.groups == NULL);
    CHECK(agg(NULL, NULL, SX_SUM, SX_BY_NONE, &r, &e) == SX_ERR_VALUE);
    CHECK(sx_aggregate(t, NULL, SX_SUM, SX_BY_NONE, NULL, &e) == SX_ERR_VALUE);
    sx_result_free(NULL);
    sx_table_decref(t);
}

/* Ties for min and max: the first row with the extreme value decides
 * whether it is an int. */
static void
test_extreme_ties(void)
{
    sx_table *t = parse("project,metric,value,unit,as_of\n"
                        "1,a,5.0,u,2022-01-01\n"
                        "1,b,7,u,2022-01-01\n"
                        "1,c,5,u,2022-01-01\n"
                        "1,d,7.0,u,2022-01-01\n"
                        "2,e,-2,u,2022-01-01\n"
                        "2,f,-2.0,u,2022-01-01\n");
    sx_result r;
    sx_error e;
    CHECK(t != NULL);
    if (t == NULL)
        return;
    CHECK(agg(t, NULL, SX_MIN, SX_BY_PROJECT, &r, &e) == SX_OK && r.ngroups == 2);
    if (r.ngroups == 2) {
        CHECK(r.groups[0].min == 5.0 && !r.groups[0].min_is_int);
        CHECK(r.groups[0].max == 7.0 && r.groups[0].max_is_int && !r.groups[0].all_int);
        CHECK(r.groups[1].min == -2.0 && r.groups[1].min_is_int && r.groups[1].max_is_int);
    }
    sx_result_free(&r);
    sx_table_decref(t);

    /* the tied rows in different halves of the table (which the threaded
     * build aggregates apart and merges): still the first row's wins */
    t = parse("project,metric,value,unit,as_of\n"
              "1,a,5.0,u,2022-01-01\n"
              "1,b,9,u,2022-01-01\n"
              "1,c,5,u,2022-01-01\n"
              "1,d,9.0,u,2022-01-01\n");
    CHECK(t != NULL);
    if (t == NULL)
        return;
    CHECK(agg(t, NULL, SX_MIN, SX_BY_NONE, &r, &e) == SX_OK && r.ngroups == 1);
    CHECK(r.ngroups == 1 && r.groups[0].min == 5.0 && !r.groups[0].min_is_int);
    sx_result_free(&r);
    CHECK(agg(t, NULL, SX_MAX, SX_BY_PROJECT, &r, &e) == SX_OK && r.ngroups == 1);
    CHECK(r.ngroups == 1 && r.groups[0].max == 9.0 && r.groups[0].max_is_int);
    sx_result_free(&r);
    sx_table_decref(t);
}

/* Absent optional columns: grouping on them gives one empty-key group;
 * filters naming a real code match nothing. */
static void
test_absent_columns(void)
{
    sx_table *t = parse("project,metric,value,unit,as_of\n"
                        "2,x,1.5,kg,2022-01-01\n"
                        "1,y,2,kg,2022-01-02\n");
    sx_filter f;
    sx_result r;
    sx_error e;
    CHECK(t != NULL);
    if (t == NULL)
        return;
    CHECK(agg(t, NULL, SX_SUM, SX_BY_REGION, &r, &e) == SX_OK);
    CHECK(r.ngroups == 1 && r.groups[0].key == SX_NULL_CODE && r.groups[0].fsum == 3.5 &&
          r.groups[0].count == 2 && !r.groups[0].all_int && isum_is(r.groups[0].isum, "2"));
    sx_result_free(&r);
    CHECK(agg(t, NULL, SX_COUNT, SX_BY_CATEGORY, &r, &e) == SX_OK && r.ngroups == 1);
    sx_result_free(&r);
    sx_filter_init(&f);
    f.code[SX_COL_REGION] = 0;
    CHECK(agg(t, &f, SX_SUM, SX_BY_NONE, &r, &e) == SX_OK && r.groups[0].count == 0);
    sx_result_free(&r);
    f.code[SX_COL_REGION] = SX_NULL_CODE;
    f.code[SX_COL_LABEL] = SX_NULL_CODE;
    CHECK(agg(t, &f, SX_SUM, SX_BY_PROJECT, &r, &e) == SX_OK && r.ngroups == 2 &&
          r.groups[0].key == 1 && r.groups[0].fsum == 2.0 && r.groups[0].all_int &&
          r.groups[1].key == 2 && r.groups[1].fsum == 1.5);
    sx_result_free(&r);
    f.code[SX_COL_CATEGORY] = 5;
    CHECK(agg(t, &f, SX_MEAN, SX_BY_NONE, &r, &e) == SX_ERR_EMPTY);
    sx_table_decref(t);
}

/* ------------------------------------------------------------------ result storage */

/* Up to SX_RESULT_INLINE groups live inside the sx_result and up to 16
 * inside the aggregation; past that both go to the heap.  Results around
 * those sizes, with rows in reverse key order (so the groups need sorting),
 * number and string keys, and int, float and mixed groups. */
static void
test_group_storage(void)
{
    static const int sizes[] = {1, 2, 15, 16, 17, 32, 33, 70};
    size_t si;
    for (si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        int n = sizes[si], p, k, ok, sorted;
        text b = {NULL, 0, 0};
        sx_table *t;
        sx_result r;
        sx_error e;
        put(&b, "project,metric,value,unit,as_of\n");
        /* project p: the int p, then 2p or, for p a multiple of 3, p + 0.5 */
        for (p = n; p >= 1; p--)
            put(&b, "%d,m%d,%d,u,2022-01-01\n", p, p, p);
        for (p = n; p >= 1; p--) {
            if (p % 3 == 0)
                put(&b, "%d,m%d,%d.5,u,2022-01-02\n", p, p, p);
            else
                put(&b, "%d,m%d,%d,u,2022-01-02\n", p, p, 2 * p);
        }
        t = parse_len(b.s, b.len);
        free(b.s);
        CHECK(t != NULL);
        if (t == NULL)
            return;

        CHECK(agg(t, NULL, SX_COUNT, SX_BY_PROJECT, &r, &e) == SX_OK && r.ngroups == n);
        CHECK((r.groups == r.inline_groups) == (n <= SX_RESULT_INLINE));
        for (k = 0, ok = 1; k < n && r.ngroups == n; k++)
            ok &= r.groups[k].key == k + 1 && r.groups[k].count == 2 && r.groups[k].all_int &&
                  r.groups[k].unit == 0;
        CHECK(ok);
        sx_result_free(&r);
        CHECK(r.groups == NULL && r.ngroups == 0);

        CHECK(agg(t, NULL, SX_SUM, SX_BY_PROJECT, &r, &e) == SX_OK && r.ngroups == n);
        for (k = 0, ok = 1; k < n && r.ngroups == n; k++) {
            const sx_group *g = &r.groups[k];
            char want[24];
            p = k + 1;
            snprintf(want, sizeof want, "%d", p % 3 ? 3 * p : p);
            ok &= g->key == p && g->all_int == (p % 3 != 0) && isum_is(g->isum, want) &&
                  g->fsum == (p % 3 ? 3.0 * p : 2.0 * p + 0.5);
        }
        CHECK(ok);
        sx_result_free(&r);

        CHECK(agg(t, NULL, SX_MAX, SX_BY_PROJECT, &r, &e) == SX_OK && r.ngroups == n);
        for (k = 0, ok = 1; k < n && r.ngroups == n; k++) {
            p = k + 1;
            ok &= r.groups[k].min == p && r.groups[k].min_is_int &&
                  r.groups[k].max == (p % 3 ? 2.0 * p : p + 0.5) &&
                  r.groups[k].max_is_int == (p % 3 != 0);
        }
        CHECK(ok);
        sx_result_free(&r);

        /* "m10" sorts before "m2": string keys by bytes */
        CHECK(agg(t, NULL, SX_SUM, SX_BY_METRIC, &r, &e) == SX_OK && r.ngroups == n);
        CHECK((r.groups == r.inline_groups) == (n <= SX_RESULT_INLINE));
        for (k = 0, ok = 1, sorted = 1; k < n && r.ngroups == n; k++) {
            size_t len, j;
            const char *key = sx_dict_str(&t->dicts[SX_COL_METRIC], (int32_t)r.groups[k].key, &len);
            /* "m<p>", not NUL-terminated */
            for (j = 1, p = 0; j < len; j++)
                p = p * 10 + (key[j] - '0');
            ok &= r.groups[k].count == 2 && r.groups[k].fsum == (p % 3 ? 3.0 * p : 2.0 * p + 0.5);
            if (k > 0) {
                size_t plen;
                const char *prev =
                    sx_dict_str(&t->dicts[SX_COL_METRIC], (int32_t)r.groups[k - 1].key, &plen);
                int c = memcmp(prev, key, plen < len ? plen : len);
                sorted &= c < 0 || (c == 0 && plen < len);
            }
        }
        CHECK(ok && sorted);
        sx_result_free(&r);

        /* one group, whatever the size */
        CHECK(agg(t, NULL, SX_SUM, SX_BY_NONE, &r, &e) == SX_OK && r.ngroups == 1 &&
              r.groups == r.inline_groups && r.groups[0].count == 2 * n);
        sx_result_free(&r);
        /* an error after a result was read leaves none */
        {
            sx_filter f;
            sx_filter_init(&f);
            f.project = n + 1;
            CHECK(agg(t, &f, SX_MEAN, SX_BY_PROJECT, &r, &e) == SX_ERR_EMPTY && r.groups == NULL &&
                  r.ngroups == 0);
            sx_result_free(&r);
        }
        sx_table_decref(t);
    }
}

/* The direct key table is inline up to 64 entries (dictionary codes plus
 * the empty one, or a span of project numbers); sparse project numbers go
 * to the hash table. */
static void
test_key_tables(void)
{
    static const int nunits[] = {62, 63, 64, 65, 80};
    static const int32_t sparse[] = {5000000,    3,  4000000, 7, 123456, 99, 1,
                                     2000000000, 42, 77777,   8, 650000, 31, 17,
                                     900,        2,  64000,   5, 6,      4};
    size_t ni, i;
    text b;
    sx_table *t;
    sx_result r;
    sx_error e;
    for (ni = 0; ni < sizeof nunits / sizeof nunits[0]; ni++) {
        int n = nunits[ni], k, ok;
        b.s = NULL;
        b.len = b.cap = 0;
        put(&b, "project,metric,value,unit,as_of\n");
        /* units "u99", "u98", ...: codes in reverse byte order */
        for (k = 0; k < n; k++)
            put(&b, "1,m,%d,u%d,2022-01-01\n", k, 99 - k);
        put(&b, "1,m,1000,u99,2022-01-01\n");
        t = parse_len(b.s, b.len);
        free(b.s);
        CHECK(t != NULL);
        if (t == NULL)
            return;
        CHECK(agg(t, NULL, SX_SUM, SX_BY_UNIT, &r, &e) == SX_OK && r.ngroups == n);
        for (k = 0, ok = 1; k < n && r.ngroups == n; k++) {
            /* the k-th unit in byte order is u(100 - n + k), written at row 99 - that */
            int u = 100 - n + k, row = 99 - u;
            char name[8];
            snprintf(name, sizeof name, "u%d", u);
            ok &= key_is(t, SX_COL_UNIT, r.groups[k].key, name) &&
                  r.groups[k].fsum == row + (u == 99 ? 1000.0 : 0.0) &&
                  r.groups[k].count == (u == 99 ? 2 : 1) && r.groups[k].unit == r.groups[k].key;
        }
        CHECK(ok);
        sx_result_free(&r);
        sx_table_decref(t);
    }

    b.s = NULL;
    b.len = b.cap = 0;
    put(&b, "project,metric,value,unit,as_of\n");
    for (i = 0; i < sizeof sparse / sizeof sparse[0]; i++)
        put(&b, "%ld,m,%zu,u,2022-01-01\n%ld,m,0.25,u,2022-01-01\n", (long)sparse[i], i,
            (long)sparse[i]);
    t = parse_len(b.s, b.len);
    free(b.s);
    CHECK(t != NULL);
    if (t == NULL)
        return;
    CHECK(agg(t, NULL, SX_SUM, SX_BY_PROJECT, &r, &e) == SX_OK &&
          r.ngroups == (int64_t)(sizeof sparse / sizeof sparse[0]));
    for (i = 1; i < (size_t)r.ngroups; i++)
        CHECK(r.groups[i - 1].key < r.groups[i].key);
    for (i = 0; i < (size_t)r.ngroups; i++) {
        size_t j;
        for (j = 0; j < sizeof sparse / sizeof sparse[0] && sparse[j] != r.groups[i].key; j++)
            ;
        CHECK(j < sizeof sparse / sizeof sparse[0] && r.groups[i].count == 2 &&
              r.groups[i].fsum == (double)j + 0.25 && !r.groups[i].all_int);
    }
    sx_result_free(&r);
    sx_table_decref(t);
}

/* ------------------------------------------------------------------ the shipped file */

static char *
read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf;
    long n;
    if (fp == NULL)
        return NULL;
    if (fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) != 0 ||
        (buf = malloc((size_t)n + 1)) == NULL) {
        fclose(fp);
        return NULL;
    }
    *len = fread(buf, 1, (size_t)n, fp);
    fclose(fp);
    return buf;
}

static void
test_shipped_data(void)
{
    static const char *const paths[] = {"../../data/shanxi_2022.csv", "data/shanxi_2022.csv"};
    size_t len = 0, i;
    char *buf = NULL;
    sx_table *t;
    sx_filter f;
    sx_result r;
    sx_error e;
    for (i = 0; i < 2 && buf == NULL; i++)
        buf = read_file(paths[i], &len);
    CHECK(buf != NULL);
    if (buf == NULL)
        return;
    t = parse_len(buf, len);
    free(buf);
    CHECK(t != NULL);
    if (t == NULL)
        return;
    CHECK(agg(t, NULL, SX_COUNT, SX_BY_NONE, &r, &e) == SX_OK && r.groups[0].count == 33);
    sx_result_free(&r);
    sx_filter_init(&f);
    f.code[SX_COL_UNIT] = code_of(t, SX_COL_UNIT, "CNY");
    CHECK(agg(t, &f, SX_SUM, SX_BY_NONE, &r, &e) == SX_OK);
    CHECK(r.groups[0].count == 2 && r.groups[0].all_int && isum_is(r.groups[0].isum, "47230000") &&
          r.groups[0].fsum == 47230000.0);
    sx_result_free(&r);
    CHECK(agg(t, &f, SX_SUM, SX_BY_PROJECT, &r, &e) == SX_OK);
    CHECK(r.ngroups == 2 && r.groups[0].key == 6 && isum_is(r.groups[0].isum, "26580000") &&
          r.groups[1].key == 12 && isum_is(r.groups[1].isum, "20650000"));
    sx_result_free(&r);
    CHECK(agg(t, NULL, SX_SUM, SX_BY_NONE, &r, &e) == SX_ERR_UNITS);
    CHECK(strstr(e.message, "(CNY, USD, activities, ") != NULL);
    CHECK(agg(t, NULL, SX_COUNT, SX_BY_PROJECT, &r, &e) == SX_OK && r.ngroups == 12);
    sx_result_free(&r);
    sx_table_decref(t);
}

/* ------------------------------------------------------------------ float sums */

/* Each case is one project's values; the expected sums were checked against
 * CPython's math.fsum (which raises for the intermediate overflows we
 * resolve exactly). */
typedef struct fcase {
    const char *values[12];
    double want;
    int overflows; /* expect SX_ERR_VALUE "sum overflows a double" */
} fcase;

static const fcase fcases[] = {
    {{"1e100", "1.0", "-1e100", "1e-100", "1e50", "-1.0", "-1e50"}, 1e-100, 0},
    {{"0.1", "0.1", "0.1", "0.1", "0.1", "0.1", "0.1", "0.1", "0.1", "0.1"}, 1.0, 0},
    {{"1e16", "1.0", "1e-16"}, 10000000000000002.0, 0},
    /* 2^53 - 0.5 - 2^-54: just under a tie, so down */
    {{"9007199254740992.0", "-0.5", "-5.5511151231257827e-17"}, 9007199254740991.0, 0},
    /* 2^53 + 1 + 2^-100: just over a tie, so up */
    {{"9007199254740992.0", "1.0", "7.888609052210118e-31"}, 9007199254740994.0, 0},
    /* an exact tie goes to even; here 2^53 is an integer row */
    {{"9007199254740992", "1.0"}, 9007199254740992.0, 0},
    {{"9007199254740994", "1.0"}, 9007199254740996.0, 0},
    {{"1", "2", "3.5"}, 6.5, 0},
    {{"1e308", "1e308", "-1e308"}, 1e308, 0},
    {{"1e308", "1e308", "-1e308", "1e-300"}, 1e308, 0},
    {{"5e-324", "5e-324", "1e308", "1e308", "-1e308", "-1e308"}, 1e-323, 0},
    {{"1e308", "1e308", "-1e308", "-1e308", "1.0", "1.1102230246251565e-16"}, 1.0, 0},
    {{"1e308", "1e308", "-1e308", "-1e308", "1.0", "1.1102230246251565e-16",
      "2.465190328815662e-32"},
     1.0000000000000002,
     0},
    {{"1.7976931348623157e308", "4.9896007738368e291"}, 1.7976931348623157e308, 0},
    {{"1e308", "1e308"}, 0, 1},
    {{"-1e308", "-1e308", "1e307"}, 0, 1},
    {{"-1e308", "-1e308", "5e307"}, -1.5e308, 0},
    /* DBL_MAX plus half its ulp ties to 2^1024, which is too large */
    {{"1.7976931348623157e308", "9.9792015476736e291"}, 0, 1},
    /* math.fsum never gives -0.0 */
    {{"-0.0"}, 0.0, 0},
    {{"-0.0", "0"}, 0.0, 0},
    {{"-0.0", "-0.0"}, 0.0, 0},
    {{"-1e-320", "1e-320"}, 0.0, 0},
    {{"0.1", "0.2", "-0.3"}, 2.7755575615628914e-17, 0},
};
#define NFCASES (sizeof fcases / sizeof fcases[0])

static int
same_double(double a, double b)
{
    return a == b && signbit(a) == signbit(b);
}

static void
test_fsum_cases(void)
{
    text b = {NULL, 0, 0};
    sx_table *t;
    size_t c, k;
    sx_result r;
    sx_error e;
    sx_filter f;
    put(&b, "project,metric,value,unit,as_of\n");
    for (c = 0; c < NFCASES; c++)
        for (k = 0; k < 12 && fcases[c].values[k]; k++)
            put(&b, "%d,m,%s,u,2022-01-01\n", (int)c + 1, fcases[c].values[k]);
    t = parse_len(b.s, b.len);
    free(b.s);
    CHECK(t != NULL);
    if (t == NULL)
        return;
    /* one project at a time, so an overflow in one does not hide others */
    for (c = 0; c < NFCASES; c++) {
        sx_filter_init(&f);
        f.project = (int32_t)c + 1;
        if (fcases[c].overflows) {
            CHECK(agg(t, &f, SX_SUM, SX_BY_NONE, &r, &e) == SX_ERR_VALUE);
            CHECK(strcmp(e.message, "sum overflows a double") == 0 && r.groups == NULL);
            CHECK(agg(t, &f, SX_MEAN, SX_BY_PROJECT, &r, &e) == SX_ERR_VALUE);
            CHECK(agg(t, &f, SX_MAX, SX_BY_NONE, &r, &e) == SX_OK);
            sx_result_free(&r);
            continue;
        }
        CHECK(agg(t, &f, SX_SUM, SX_BY_NONE, &r, &e) == SX_OK);
        CHECK(r.ngroups == 1 && same_double(r.groups[0].fsum, fcases[c].want));
        if (r.ngroups == 1 && !same_double(r.groups[0].fsum, fcases[c].want))
            fprintf(stderr, "  case %d: got %.17g want %.17g\n", (int)c, r.groups[0].fsum,
                    fcases[c].want);
        sx_result_free(&r);
    }
    /* the same sums grouped in one pass */
    sx_filter_init(&f);
    CHECK(agg(t, &f, SX_SUM, SX_BY_PROJECT, &r, &e) == SX_ERR_VALUE);
    sx_table_decref(t);
}

/* Partials far apart in magnitude: more of them than fit inside a group. */
static void
test_many_partials(void)
{
    text b = {NULL, 0, 0};
    sx_table *t;
    sx_result r;
    sx_error e;
    int k;
    put(&b, "project,metric,value,unit,as_of\n");
    for (k = 0; k <= 33; k++) {
        put(&b, "1,m,%.17g,u,2022-01-01\n", ldexp(1.0, 60 * k - 1000));
        put(&b, "2,m,%.17g,u,2022-01-01\n", ldexp(1.0, 60 * k - 1000));
    }
    /* without the top term, the next one down is the sum */
    put(&b, "2,m,%.17g,u,2022-01-01\n", -ldexp(1.0, 980));
    /* project 3: the same again, then all taken away: exactly zero */
    for (k = 0; k <= 33; k++)
        put(&b, "3,m,%.17g,u,2022-01-01\n", ldexp(1.0, 60 * k - 1000));
    for (k = 33; k >= 0; k--)
        put(&b, "3,m,%.17g,u,2022-01-01\n", -ldexp(1.0, 60 * k - 1000));
    t = parse_len(b.s, b.len);
    free(b.s);
    CHECK(t != NULL);
    if (t == NULL)
        return;
    CHECK(agg(t, NULL, SX_SUM, SX_BY_PROJECT, &r, &e) == SX_OK && r.ngroups == 3);
    if (r.ngroups == 3) {
        CHECK(r.groups[0].fsum == ldexp(1.0, 980));
        CHECK(r.groups[1].fsum == ldexp(1.0, 920));
        CHECK(same_double(r.groups[2].fsum, 0.0));
    }
    sx_result_free(&r);
    sx_table_decref(t);
}

/* ------------------------------------------------------------------ exact integers */

static void
test_bigint_format(void)
{
    static const struct {
        int64_t hi, lo;
        const char *want;
    } cases[] = {
        {0, 0, "0"},
        {0, 1, "1"},
        {0, -1, "-1"},
        {0, 999999999, "999999999"},
        {0, 1000000000, "1000000000"},
        {0, 1000000001, "1000000001"},
        {0, INT64_C(4611686018427387903), "4611686018427387903"},
        {1, 0, "4611686018427387904"},
        {-1, 0, "-4611686018427387904"},
        {1, -1, "4611686018427387903"},
        {-1, 1, "-4611686018427387903"},
        {4, 0, "18446744073709551616"},
        {2, 5, "9223372036854775813"},
        {INT64_MAX, INT64_C(4611686018427387903), "42535295865117307932921825928971026431"},
        {INT64_MIN, -INT64_C(4611686018427387903), "-42535295865117307937533511947398414335"},
        {INT64_MIN, 0, "-42535295865117307932921825928971026432"},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[40];
        sx_bigint v;
        v.hi = cases[i].hi;
        v.lo = cases[i].lo;
        sx_bigint_format(v, buf);
        CHECK(strcmp(buf, cases[i].want) == 0);
        if (strcmp(buf, cases[i].want) != 0)
            fprintf(stderr, "  %s != %s\n", buf, cases[i].want);
    }
}

static void
test_big_int_sums(void)
{
    text b = {NULL, 0, 0};
    sx_table *t;
    sx_result r;
    sx_error e;
    int k;
    put(&b, "project,metric,value,unit,as_of\n");
    for (k = 0; k < 2048; k++) {
        put(&b, "1,m,9007199254740992,u,2022-01-01\n");
        put(&b, "2,m,-9007199254740992,u,2022-01-01\n");
        put(&b, "3,m,%s9007199254740991,u,2022-01-01\n", k % 3 ? "" : "-");
    }
    put(&b, "2,m,1,u,2022-01-01\n");
    t = parse_len(b.s, b.len);
    free(b.s);
    CHECK(t != NULL);
    if (t == NULL)
        return;
    CHECK(agg(t, NULL, SX_SUM, SX_BY_PROJECT, &r, &e) == SX_OK && r.ngroups == 3);
    if (r.ngroups == 3) {
        CHECK(r.groups[0].all_int && isum_is(r.groups[0].isum, "18446744073709551616") &&
              r.groups[0].fsum == 18446744073709551616.0 && r.groups[0].count == 2048);
        CHECK(r.groups[1].all_int && isum_is(r.groups[1].isum, "-18446744073709551615") &&
              r.groups[1].fsum == -18446744073709551616.0);
        /* 2048 rows, 683 negative: (1365 - 683) * (2^53 - 1) */
        CHECK(r.groups[2].all_int && isum_is(r.groups[2].isum, "6142909891733355862") &&
              r.groups[2].fsum == 6142909891733355862.0);
    }
    sx_result_free(&r);
    CHECK(agg(t, NULL, SX_SUM, SX_BY_NONE, &r, &e) == SX_OK);
    CHECK(isum_is(r.groups[0].isum, "6142909891733355863"));
    sx_result_free(&r);
    sx_table_decref(t);
}

/* Groups of integers only take their float sum from the exact integer sum
 * directly; it must round as the partials do (ties to even), and groups that
 * had floats must not take that road. */
static void
test_int_only_sums(void)
{
    static const struct {
        const char *values[4];
        int reps; /* the first value this many times */
        const char *isum;
        double fsum;
        int all_int;
    } cases[] = {
        {{"9007199254740992", "1"}, 1, "9007199254740993", 9007199254740992.0, 1},
        {{"9007199254740992", "3"}, 1, "9007199254740995", 9007199254740996.0, 1},
        {{"-9007199254740992", "-1"}, 1, "-9007199254740993", -9007199254740992.0, 1},
        {{"-9007199254740992", "-3"}, 1, "-9007199254740995", -9007199254740996.0, 1},
        /* 511 * 2^53 + 1, just under 2^62 */
        {{"9007199254740992", "1"}, 511, "4602678819172646913", 4602678819172646912.0, 1},
        {{"0", "-0"}, 1, "0", 0.0, 1},
        /* a float that cancels the ints: the sum is 0, not the ints' 2 */
        {{"-2.0", "2"}, 1, "2", 0.0, 0},
        {{"-2.0", "2", "5"}, 1, "7", 5.0, 0},
        {{"0.5", "1"}, 1, "1", 1.5, 0},
        {{"-0.0"}, 1, "0", 0.0, 0},
    };
    size_t ncases = sizeof cases / sizeof cases[0], c, k;
    text b = {NULL, 0, 0};
    sx_table *t;
    sx_result r;
    sx_error e;
    int rep;
    put(&b, "project,metric,value,unit,as_of\n");
    for (c = 0; c < ncases; c++) {
        for (rep = 0; rep < cases[c].reps; rep++)
            put(&b, "%d,m,%s,u,2022-01-01\n", (int)c + 1, cases[c].values[0]);
        for (k = 1; k < 4 && cases[c].values[k]; k++)
            put(&b, "%d,m,%s,u,2022-01-01\n", (int)c + 1, cases[c].values[k]);
    }
    t = parse_len(b.s, b.len);
    free(b.s);
    CHECK(t != NULL);
    if (t == NULL)
        return;
    CHECK(agg(t, NULL, SX_SUM, SX_BY_PROJECT, &r, &e) == SX_OK && r.ngroups == (int64_t)ncases);
    for (c = 0; c < ncases && r.ngroups == (int64_t)ncases; c++) {
        const sx_group *g = &r.groups[c];
        CHECK(g->all_int == cases[c].all_int && isum_is(g->isum, cases[c].isum) &&
              same_double(g->fsum, cases[c].fsum));
        if (!same_double(g->fsum, cases[c].fsum))
            fprintf(stderr, "  case %d: fsum %.17g, expected %.17g\n", (int)c, g->fsum,
                    cases[c].fsum);
    }
    sx_result_free(&r);
    /* the same one at a time, BY_NONE */
    for (c = 0; c < ncases; c++) {
        sx_filter f;
        sx_filter_init(&f);
        f.project = (int32_t)c + 1;
        CHECK(agg(t, &f, SX_MEAN, SX_BY_NONE, &r, &e) == SX_OK &&
              same_double(r.groups[0].fsum, cases[c].fsum));
        sx_result_free(&r);
    }
    sx_table_decref(t);
}

/* ------------------------------------------------------------------ months */

static void
test_month_keys(void)
{
    static const struct {
        const char *date;
        int64_t key;
    } d[] = {
        {"0001-01-01", 12},
        {"1600-02-29", 1600 * 12 + 1},
        {"1969-12-31", 1969 * 12 + 11},
        {"1970-01-01", 1970 * 12},
        {"2000-02-29", 2000 * 12 + 1},
        {"2000-03-01", 2000 * 12 + 2},
        {"2100-12-31", 2100 * 12 + 11},
        {"9999-12-31", 9999 * 12 + 11},
    };
    text b = {NULL, 0, 0};
    sx_table *t;
    sx_result r;
    sx_error e;
    size_t i, n = sizeof d / sizeof d[0];
    put(&b, "project,metric,value,unit,as_of\n");
    for (i = n; i-- > 0;)
        put(&b, "1,m,%d,u,%s\n", (int)i, d[i].date);
    t = parse_len(b.s, b.len);
    free(b.s);
    CHECK(t != NULL);
    if (t == NULL)
        return;
    CHECK(agg(t, NULL, SX_SUM, SX_BY_MONTH, &r, &e) == SX_OK && r.ngroups == (int64_t)n);
    for (i = 0; i < n && r.ngroups == (int64_t)n; i++)
        CHECK(r.groups[i].key == d[i].key && r.groups[i].fsum == (double)i);
    sx_result_free(&r);
    sx_table_decref(t);

    /* every day of four centuries against the table's own calendar */
    {
        int32_t day0 = sx_days_from_civil(1899, 1, 1), day;
        int bad = 0;
        b.s = NULL;
        b.len = b.cap = 0;
        put(&b, "project,metric,value,unit,as_of\n");
        for (day = day0; day < day0 + 146097 + 800; day += 7) {
            int32_t y;
            unsigned m, dd;
            sx_civil_from_days(day, &y, &m, &dd);
            put(&b, "1,m,1,u,%04d-%02u-%02u\n", (int)y, m, dd);
        }
        t = parse_len(b.s, b.len);
        free(b.s);
        CHECK(t != NULL);
        if (t == NULL)
            return;
        CHECK(agg(t, NULL, SX_COUNT, SX_BY_MONTH, &r, &e) == SX_OK);
        /* months come out in order, each counted by its own days */
        {
            int64_t g, total = 0;
            for (g = 0; g < r.ngroups; g++) {
                int64_t key = r.groups[g].key, want = 0;
                int32_t y = (int32_t)(key / 12);
                unsigned m = (unsigned)(key % 12) + 1;
                int32_t first = sx_days_from_civil(y, m, 1),
                        next = m == 12 ? sx_days_from_civil(y + 1, 1, 1)
                                       : sx_days_from_civil(y, m + 1, 1);
                for (day = first; day < next; day++)
                    want += day >= day0 && day < day0 + 146097 + 800 && (day - day0) % 7 == 0;
                bad += want != r.groups[g].count || (g > 0 && key != r.groups[g - 1].key + 1);
                total += r.groups[g].count;
            }
            CHECK(bad == 0 && total == t->nrows);
        }
        sx_result_free(&r);
        sx_table_decref(t);
    }
}

/* ------------------------------------------------------------------ random differential */

static uint64_t rng = 0x243F6A8885A308D3u;

static uint64_t
rnd64(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1Du;
}

static uint32_t
rnd(uint32_t n)
{
    return (uint32_t)((rnd64() >> 33) % n);
}

/* a random integer below 2^53 of a random bit length (one draw after the
 * other: argument order is unspecified, and runs must not depend on it) */
static int64_t
rnd_int53(void)
{
    int sh = 11 + (int)rnd(53);
    return (int64_t)(rnd64() >> sh);
}

/* A 128-bit two's complement integer: the exact reference. */
typedef struct i128 {
    uint64_t hi, lo;
} i128;

static void
i128_add(i128 *a, int64_t x)
{
    uint64_t l = a->lo + (uint64_t)x;
    a->hi += (uint64_t)(l < a->lo) + (x < 0 ? UINT64_MAX : 0);
    a->lo = l;
}

static int
i128_bit(i128 a, int k)
{
    return (int)((k < 64 ? a.lo >> k : a.hi >> (k - 64)) & 1);
}

/* a * 2^-scale rounded to nearest, ties to even, by plain bit picking */
static double
i128_round(i128 a, int scale)
{
    int neg = (int)(a.hi >> 63), top, k;
    uint64_t q = 0;
    if (neg) {
        a.lo = ~a.lo + 1;
        a.hi = ~a.hi + (a.lo == 0);
    }
    for (top = 127; top >= 0 && !i128_bit(a, top); top--)
        ;
    if (top < 0)
        return 0.0;
    if (top <= 52) {
        q = a.lo;
        top = 52;
    } else {
        int sticky = 0, low = top - 52;
        for (k = top; k >= low; k--)
            q = q << 1 | (uint64_t)i128_bit(a, k);
        for (k = 0; k < low - 1; k++)
            sticky |= i128_bit(a, k);
        if (i128_bit(a, low - 1) && (sticky || (q & 1)))
            q++;
    }
    return (neg ? -1.0 : 1.0) * ldexp((double)q, top - 52 - scale);
}

/* a += x * 2^sh for 0 <= sh < 64 */
static void
i128_add_shifted(i128 *a, int64_t x, int sh)
{
    uint64_t ux = (uint64_t)x, lo = ux << sh, hi, l;
    hi = sh ? ux >> (64 - sh) : 0;
    if (x < 0)
        hi |= sh ? UINT64_MAX << sh : UINT64_MAX;
    l = a->lo + lo;
    a->hi += hi + (l < a->lo);
    a->lo = l;
}

/* a += v * 2^RSCALE, v being an integer or a multiple of 2^-RSCALE below 2^33 */
static void
i128_add_scaled(i128 *a, double v, int scale)
{
    if (fabs(v) < 8589934592.0)
        i128_add(a, (int64_t)ldexp(v, scale));
    else
        i128_add_shifted(a, (int64_t)v, scale);
}

static i128
bigint_to_i128(sx_bigint v)
{
    i128 r = {0, 0};
    r.lo = (uint64_t)v.hi << 62;
    r.hi = (uint64_t)v.hi >> 2;
    if (v.hi < 0)
        r.hi |= (uint64_t)3 << 62;
    i128_add(&r, v.lo);
    return r;
}

#define RSCALE  20 /* float rows are m * 2^-20 */
#define MAXROWS 3200

typedef struct rrow {
    int project, unit, date, quartet;
    double v;
    int is_int;
} rrow;

typedef struct rgroup {
    int64_t key, count;
    i128 scaled, ints;
    int all_int, unit, seen, min_is_int, max_is_int;
    double min, max;
} rgroup;

static int64_t
key_of(const rrow *w, sx_by by)
{
    switch (by) {
    case SX_BY_PROJECT:
        return w->project;
    case SX_BY_UNIT:
        return w->unit;
    case SX_BY_AS_OF:
        return w->date;
    default:
        return 0;
    }
}

/* One random table: integer rows, float rows of the form m * 2^-20 (so the
 * exact sum is an integer times 2^-20), some rows crafted to land a group's
 * sum on or right next to a rounding tie, and some groups with a
 * +-1.7e308 quartet that cancels exactly but overflows the partials, so the
 * fixed-point recount is checked against the same reference. */
static void
random_round(int round, rrow *rows, char *units_mixed)
{
    text b = {NULL, 0, 0};
    int nrows = round % 50 == 0 ? 200 + (int)rnd(2900) : (int)rnd(40), r, nproj = 1 + (int)rnd(6);
    int mixed = rnd(8) == 0, ties = rnd(2), nt = 0, k;
    int32_t day0 = sx_days_from_civil(2021, 12, 25);
    sx_table *t;
    sx_by bys[] = {SX_BY_NONE, SX_BY_PROJECT, SX_BY_UNIT, SX_BY_AS_OF};
    put(&b, "project,metric,value,unit,as_of\n");
    for (r = 0; r < nrows; r++) {
        rrow *w = &rows[r];
        w->project = 1 + (int)rnd((uint32_t)nproj);
        w->unit = mixed ? (int)rnd(2) : w->project % 2;
        w->date = day0 + (int)rnd(20);
        w->quartet = 0;
        switch (rnd(4)) {
        case 0: /* integers of every size up to 2^53 */
            w->v = (double)rnd_int53();
            if (rnd(2))
                w->v = -w->v;
            w->is_int = 1;
            break;
        case 1:
            w->v = (double)(int64_t)rnd(1000) - 500;
            w->is_int = 1;
            break;
        default: /* floats m * 2^-20 with |m| < 2^53 */
            w->v = ldexp((double)rnd_int53(), -RSCALE);
            if (rnd(2))
                w->v = -w->v;
            w->is_int = 0;
            break;
        }
    }
    /* land some groups on ties: add a row so the scaled sum is
     * q * u + u/2 (+-0 or 1) for u its rounding unit */
    if (ties) {
        for (k = 1; k <= nproj && nrows < MAXROWS - 4; k++) {
            i128 s = {0, 0};
            int top, delta = (int)rnd(3) - 1;
            for (r = 0; r < nrows; r++)
                if (rows[r].project == k)
                    i128_add_scaled(&s, rows[r].v, RSCALE);
            if (s.hi >> 63)
                continue; /* positive sums are enough */
            for (top = 127; top >= 0 && !i128_bit(s, top); top--)
                ;
            if (top < 54 || top > 100)
                continue;
            {
                /* the bits below the rounding unit, as an int64 */
                int ub = top - 52; /* u = 2^ub */
                uint64_t below = s.lo & (((uint64_t)1 << ub) - 1);
                int64_t want = ((int64_t)1 << (ub - 1)) + delta, add;

                add = want - (int64_t)below;
                rows[nrows].project = k;
                rows[nrows].unit = mixed ? 0 : k % 2;
                rows[nrows].date = day0;
                rows[nrows].quartet = 0;
                rows[nrows].v = ldexp((double)add, -RSCALE);
                rows[nrows].is_int = 0;
                nrows++;
                nt++;
            }
        }
    }
    if (rnd(3) == 0) {
        int p = 1 + (int)rnd((uint32_t)nproj);
        static const double q4[] = {1.7e308, 1.7e308, -1.7e308, -1.7e308};
        for (k = 0; k < 4 && nrows < MAXROWS; k++) {
            rrow *w = &rows[nrows++];
            w->project = p;
            w->unit = mixed ? 0 : p % 2;
            w->date = day0 + 3;
            w->quartet = 1;
            w->v = q4[k];
            w->is_int = 0;
        }
    }
    for (r = 0; r < nrows; r++) {
        int32_t y;
        unsigned m, d;
        sx_civil_from_days(rows[r].date, &y, &m, &d);
        put(&b, "%d,m%d,%.17g%s,u%d,%04d-%02u-%02u\n", rows[r].project, r % 7, rows[r].v,
            !rows[r].is_int && floor(rows[r].v) == rows[r].v && fabs(rows[r].v) < 1e16 ? ".0" : "",
            rows[r].unit, (int)y, m, d);
    }
    t = parse_len(b.s, b.len);
    free(b.s);
    CHECK(t != NULL);
    if (t == NULL)
        return;
    for (r = 0; r < nrows; r++) {
        if (t->value[r] != rows[r].v || t->is_int[r] != rows[r].is_int) {
            CHECK(!"the parser gave back the value written");
            sx_table_decref(t);
            return;
        }
    }
    for (k = 0; k < 4; k++) {
        sx_by by = bys[rnd(4)];
        sx_func func = (sx_func)rnd(SX_NFUNCS);
        sx_filter f;
        rgroup groups[64];
        int ng = 0, g, want_units = 0, any = 0, unit_filter = -1, since = -1, until = 99;
        sx_result res;
        sx_error e;
        sx_status st;
        sx_filter_init(&f);
        if (rnd(3) == 0) {
            char u[4] = {'u', (char)('0' + rnd(2)), 0, 0};
            unit_filter = u[1] - '0';
            f.code[SX_COL_UNIT] = code_of(t, SX_COL_UNIT, u);
            if (f.code[SX_COL_UNIT] < 0)
                f.code[SX_COL_UNIT] = 77;
        }
        if (rnd(3) == 0) {
            since = (int)rnd(20);
            until = since + (int)rnd(15);
            f.since = day0 + since;
            f.until = day0 + until;
        }
        memset(groups, 0, sizeof groups);
        for (r = 0; r < nrows; r++) {
            const rrow *w = &rows[r];
            int64_t key = key_of(w, by);
            if ((unit_filter >= 0 && w->unit != unit_filter) ||
                (since >= 0 && (w->date - day0 < since || w->date - day0 > until)))
                continue;
            for (g = 0; g < ng && groups[g].key != key; g++)
                ;
            if (g == ng) {
                /* insert keeping key order */
                for (g = ng; g > 0 && groups[g - 1].key > key; g--)
                    groups[g] = groups[g - 1];
                memset(&groups[g], 0, sizeof groups[g]);
                groups[g].key = key;
                groups[g].all_int = 1;
                groups[g].unit = w->unit;
                ng++;
            }
            any = 1;
            groups[g].count++;
            if (groups[g].unit != w->unit)
                groups[g].unit = -3;
            if (w->is_int)
                i128_add(&groups[g].ints, (int64_t)w->v);
            else
                groups[g].all_int = 0;
            if (!w->quartet)
                i128_add_scaled(&groups[g].scaled, w->v, RSCALE);
            if (!groups[g].seen || w->v < groups[g].min) {
                groups[g].min = w->v;
                groups[g].min_is_int = w->is_int;
            }
            if (!groups[g].seen || w->v > groups[g].max) {
                groups[g].max = w->v;
                groups[g].max_is_int = w->is_int;
            }
            groups[g].seen = 1;
        }
        if (by == SX_BY_NONE && ng == 0) {
            groups[0].all_int = 1;
            ng = 1;
        }
        for (g = 0; g < ng; g++)
            want_units |= groups[g].unit == -3;
        st = agg(t, &f, func, by, &res, &e);
        if (!any && (func == SX_MEAN || func == SX_MIN || func == SX_MAX)) {
            CHECK(st == SX_ERR_EMPTY);
            continue;
        }
        if (want_units && func != SX_COUNT && by != SX_BY_UNIT) {
            CHECK(st == SX_ERR_UNITS);
            *units_mixed = 1;
            continue;
        }
        CHECK(st == SX_OK && res.ngroups == ng);
        if (st != SX_OK || res.ngroups != ng) {
            fprintf(stderr, "  round %d: status %d (%s), %lld groups for %d\n", round, st,
                    e.message, (long long)res.ngroups, ng);
            sx_result_free(&res);
            continue;
        }
        for (g = 0; g < ng; g++) {
            const sx_group *o = &res.groups[g];
            const rgroup *w = &groups[g];
            int ok = o->count == w->count;
            if (by != SX_BY_UNIT)
                ok &= o->key == w->key;
            else
                ok &= key_is(t, SX_COL_UNIT, o->key, w->key ? "u1" : "u0");
            if (w->count > 0)
                ok &= (o->unit == SX_MIXED_UNITS) == (w->unit == -3);
            if (func == SX_SUM || func == SX_MEAN) {
                double want = i128_round(w->scaled, RSCALE);
                i128 got = bigint_to_i128(o->isum);
                ok &= o->all_int == w->all_int && o->fsum == want;
                ok &= got.hi == w->ints.hi && got.lo == w->ints.lo;
                if (o->fsum != want)
                    fprintf(stderr, "  round %d group %d: fsum %.17g, expected %.17g\n", round, g,
                            o->fsum, want);
            } else if (func == SX_MIN || func == SX_MAX) {
                ok &= o->min == w->min && o->max == w->max && o->min_is_int == w->min_is_int &&
                      o->max_is_int == w->max_is_int && o->all_int == w->all_int;
            }
            CHECK(ok);
        }
        sx_result_free(&res);
    }
    (void)nt;
    sx_table_decref(t);
}

/* Wide-range doubles (subnormal to ~2^1000, with cancelling pairs): the
 * partials (project 1) and the fixed-point recount (project 2, the same
 * values plus an overflowing quartet that cancels) must agree. */
static void
wide_round(void)
{
    text b = {NULL, 0, 0};
    double vals[64];
    int n = 1 + (int)rnd(40), i, k;
    sx_table *t;
    sx_result r;
    sx_error e;
    for (i = 0; i < n; i++) {
        int e2 = rnd(4) == 0 ? -1074 + (int)rnd(60) : (int)rnd(2000) - 1000;
        double m = (double)(int64_t)(rnd64() >> 11);
        if (rnd(4) == 0 && i > 0) {
            /* near-cancel an earlier value */
            int j = (int)rnd((uint32_t)i), d = (int)rnd(5) - 2;
            vals[i] = -vals[j] * (1.0 + ldexp((double)d, -52));
            continue;
        }
        vals[i] = ldexp(m, e2 - 52);
        if (rnd(2))
            vals[i] = -vals[i];
    }
    put(&b, "project,metric,value,unit,as_of\n");
    for (k = 1; k <= 2; k++)
        for (i = 0; i < n; i++)
            put(&b, "%d,m,%.17e,u,2022-01-01\n", k, vals[i]);
    put(&b, "2,m,1.7e308,u,2022-01-01\n2,m,1.7e308,u,2022-01-01\n"
            "2,m,-1.7e308,u,2022-01-01\n2,m,-1.7e308,u,2022-01-01\n");
    t = parse_len(b.s, b.len);
    free(b.s);
    CHECK(t != NULL);
    if (t == NULL)
        return;
    for (i = 0; i < n; i++)
        if (t->value[i] != vals[i])
            break;
    CHECK(i == n);
    CHECK(agg(t, NULL, SX_SUM, SX_BY_PROJECT, &r, &e) == SX_OK && r.ngroups == 2);
    if (r.ngroups == 2) {
        CHECK(r.groups[0].fsum == r.groups[1].fsum);
        if (r.groups[0].fsum != r.groups[1].fsum)
            fprintf(stderr, "  partials %.17g, fixed point %.17g\n", r.groups[0].fsum,
                    r.groups[1].fsum);
    }
    sx_result_free(&r);
    sx_table_decref(t);
}

/* More float-heavy groups than get a fixed-point accumulator (about 29000):
 * the later ones keep heap partials.  Groups repeating the same values must
 * agree whichever way they were summed; template 0 has a known sum. */
static void
test_partials_past_budget(void)
{
    enum { NGROUPS = 32000, NT = 7, NV = 9 };
    static double tv[NT][NV];
    text b = {NULL, 0, 0};
    sx_table *t;
    sx_result r;
    sx_error e;
    int g, k, bad = 0;
    /* template 0: 2^-240 .. 2^240 sixty bits apart, then take the top
     * away: the next one down is the sum, 2^120 */
    for (k = 0; k < NV - 1; k++)
        tv[0][k] = ldexp(1.0, 60 * k - 240);
    tv[0][NV - 1] = -ldexp(1.0, 180);
    for (g = 1; g < NT; g++)
        for (k = 0; k < NV; k++) {
            double m = (double)(int64_t)(rnd64() >> 11);
            int ex = (int)rnd(600) - 300;
            tv[g][k] = ldexp(m, ex) * (rnd(2) ? 1 : -1);
        }
    put(&b, "project,metric,value,unit,as_of\n");
    for (g = 1; g <= NGROUPS; g++)
        for (k = 0; k < NV; k++)
            put(&b, "%d,m,%.17e,u,2022-01-01\n", g, tv[g % NT][k]);
    t = parse_len(b.s, b.len);
    free(b.s);
    CHECK(t != NULL);
    if (t == NULL)
        return;
    CHECK(agg(t, NULL, SX_SUM, SX_BY_PROJECT, &r, &e) == SX_OK && r.ngroups == NGROUPS);
    /* group index g is project g + 1, template (g + 1) % NT; each against
     * the first group of its template, and template 0 against its sum */
    for (g = 0; g < NGROUPS && r.ngroups == NGROUPS; g++) {
        int tmpl = (g + 1) % NT, first = (tmpl ? tmpl : NT) - 1;
        bad += r.groups[g].fsum != r.groups[first].fsum;
        if (tmpl == 0)
            bad += r.groups[g].fsum != ldexp(1.0, 120);
    }
    CHECK(bad == 0);
    sx_result_free(&r);
    sx_table_decref(t);
}

static void
test_random(void)
{
    rrow *rows = malloc(MAXROWS * sizeof *rows);
    char mixed = 0;
    int round;
    CHECK(rows != NULL);
    if (rows == NULL)
        return;
    for (round = 0; round < 3000; round++)
        random_round(round, rows, &mixed);
    CHECK(mixed); /* the unit error path was exercised */
    for (round = 0; round < 2000; round++)
        wide_round();
    free(rows);
}

int
main(void)
{
    test_names();
    test_small();
    test_units_error();
    test_units_message_long();
    test_empty();
    test_bad_args();
    test_extreme_ties();
    test_absent_columns();
    test_group_storage();
    test_key_tables();
    test_shipped_data();
    test_fsum_cases();
    test_many_partials();
    test_partials_past_budget();
    test_bigint_format();
    test_big_int_sums();
    test_int_only_sums();
    test_month_keys();
    test_random();
    return CHECK_DONE();
}
