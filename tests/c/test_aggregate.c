/* Tests of sx_aggregate, sx_result_free and the name tables: hand-worked
 * results on small tables parsed from CSV, unit errors, empty selections,
 * group order and storage, the shipped data file and month keys.  Sums
 * (test_exactsum.c) and the random differential test
 * (test_aggregate_random.c) have files of their own. */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "shanxi/core.h"
#include "testutil.h"

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
    textbuf b = {NULL, 0, 0};
    sx_table *t;
    sx_result r;
    sx_error e;
    int i;
    size_t len;
    const unsigned char *m;
    putf(&b, "project,metric,value,unit,as_of\n");
    for (i = 0; i < 30; i++)
        putf(&b, "1,m%d,1,\xe5\x8d\x95\xe4\xbd\x8d%02d_%s,2022-01-01\n", i, i,
             "\xe6\x9e\x81\xe9\x95\xbf\xe7\x9a\x84\xe5\x90\x8d\xe5\xad\x97\xe6\x9e\x81\xe9\x95\xbf"
             "\xe7\x9a\x84\xe5\x90\x8d\xe5\xad\x97\xe6\x9e\x81\xe9\x95\xbf");
    t = parse_len(b.p, b.len);
    free(b.p);
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
        textbuf b = {NULL, 0, 0};
        sx_table *t;
        sx_result r;
        sx_error e;
        putf(&b, "project,metric,value,unit,as_of\n");
        /* project p: the int p, then 2p or, for p a multiple of 3, p + 0.5 */
        for (p = n; p >= 1; p--)
            putf(&b, "%d,m%d,%d,u,2022-01-01\n", p, p, p);
        for (p = n; p >= 1; p--) {
            if (p % 3 == 0)
                putf(&b, "%d,m%d,%d.5,u,2022-01-02\n", p, p, p);
            else
                putf(&b, "%d,m%d,%d,u,2022-01-02\n", p, p, 2 * p);
        }
        t = parse_len(b.p, b.len);
        free(b.p);
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
    textbuf b;
    sx_table *t;
    sx_result r;
    sx_error e;
    for (ni = 0; ni < sizeof nunits / sizeof nunits[0]; ni++) {
        int n = nunits[ni], k, ok;
        b.p = NULL;
        b.len = b.cap = 0;
        putf(&b, "project,metric,value,unit,as_of\n");
        /* units "u99", "u98", ...: codes in reverse byte order */
        for (k = 0; k < n; k++)
            putf(&b, "1,m,%d,u%d,2022-01-01\n", k, 99 - k);
        putf(&b, "1,m,1000,u99,2022-01-01\n");
        t = parse_len(b.p, b.len);
        free(b.p);
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

    b.p = NULL;
    b.len = b.cap = 0;
    putf(&b, "project,metric,value,unit,as_of\n");
    for (i = 0; i < sizeof sparse / sizeof sparse[0]; i++)
        putf(&b, "%ld,m,%zu,u,2022-01-01\n%ld,m,0.25,u,2022-01-01\n", (long)sparse[i], i,
             (long)sparse[i]);
    t = parse_len(b.p, b.len);
    free(b.p);
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
    textbuf b = {NULL, 0, 0};
    sx_table *t;
    sx_result r;
    sx_error e;
    size_t i, n = sizeof d / sizeof d[0];
    putf(&b, "project,metric,value,unit,as_of\n");
    for (i = n; i-- > 0;)
        putf(&b, "1,m,%d,u,%s\n", (int)i, d[i].date);
    t = parse_len(b.p, b.len);
    free(b.p);
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
        b.p = NULL;
        b.len = b.cap = 0;
        putf(&b, "project,metric,value,unit,as_of\n");
        for (day = day0; day < day0 + 146097 + 800; day += 7) {
            int32_t y;
            unsigned m, dd;
            sx_civil_from_days(day, &y, &m, &dd);
            putf(&b, "1,m,1,u,%04d-%02u-%02u\n", (int)y, m, dd);
        }
        t = parse_len(b.p, b.len);
        free(b.p);
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
    test_month_keys();
    return CHECK_DONE();
}
