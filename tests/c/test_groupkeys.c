/* Tests of sx_aggregate_keys, the aggregation by several keys: a small
 * hand-worked table (order of the parts, empty last, the named mixed
 * group, bad arguments), and random tables where every group of every
 * combination of keys is checked against sx_aggregate over the rows that
 * a filter for just that group selects (exact sums, extremes, counts), the
 * group order against the documented one, and a mixed-unit error against
 * the first mixed group.  Tables have many days and sparse project
 * numbers now and then, so the direct table, its growth, the switch to the
 * hash and the hash from the start are all taken. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "shanxi/core.h"
#include "testutil.h"

static int32_t
month_key(int y, int m)
{
    return y * 12 + m - 1;
}

/* ------------------------------------------------------------------ small table */

static const char small_csv[] = "project,category,metric,value,unit,as_of,region\n"
                                "1,health,a_count,10,people,2022-01-31,North\n"
                                "1,health,a_money,1500000,CNY,2022-02-28,North\n"
                                "1,health,a_rate,12.5,percent,2022-02-28,\n"
                                "2,,b_count,7,people,2021-12-31,South\n"
                                "2,,b_money,2500000,CNY,2022-01-15,\xc3\x84rzte\n"
                                "3,employment,g_count,-3,people,2022-01-31,North\n"
                                "3,employment,g_rate,87.25,percent,2022-01-31,south\n"
                                "3,employment,g_usd,100.5,USD,2022-03-01,\n"
                                "2,,b_extra,1,people,2022-01-15,\n";

static int
str_is(const sx_table *t, sx_strcol c, int32_t code, const char *s)
{
    size_t len;
    const char *k;
    if (s == NULL)
        return code == SX_NULL_CODE;
    if (code < 0 || code >= t->dicts[c].count)
        return 0;
    k = sx_dict_str(&t->dicts[c], code, &len);
    return len == strlen(s) && memcmp(k, s, len) == 0;
}

static void
test_small(void)
{
    static const struct {
        const char *region;
        int y, m;
        int64_t count;
    } want[] = {
        {"North", 2022, 1, 2}, {"North", 2022, 2, 1},        {"South", 2021, 12, 1},
        {"south", 2022, 1, 1}, {"\xc3\x84rzte", 2022, 1, 1}, {NULL, 2022, 1, 1},
        {NULL, 2022, 2, 1},    {NULL, 2022, 3, 1},
    };
    sx_by rm[] = {SX_BY_REGION, SX_BY_MONTH}, cm[] = {SX_BY_CATEGORY, SX_BY_MONTH};
    sx_by cmu[] = {SX_BY_CATEGORY, SX_BY_MONTH, SX_BY_UNIT};
    sx_by pa[] = {SX_BY_PROJECT, SX_BY_AS_OF}, bad[] = {SX_BY_REGION, SX_BY_MONTH, SX_BY_REGION};
    sx_by all[] = {SX_BY_MONTH,  SX_BY_AS_OF, SX_BY_PROJECT,  SX_BY_METRIC,
                   SX_BY_REGION, SX_BY_UNIT,  SX_BY_CATEGORY, SX_BY_NONE};
    sx_table *t = parse_len(small_csv, sizeof small_csv - 1);
    sx_result r;
    sx_error e;
    size_t i;
    CHECK(t != NULL);
    if (t == NULL)
        return;
    CHECK(sx_aggregate_keys(t, NULL, SX_COUNT, rm, 2, &r, &e) == SX_OK);
    CHECK(r.nkeys == 2 && r.ngroups == (int64_t)(sizeof want / sizeof want[0]));
    for (i = 0; i < sizeof want / sizeof want[0] && (int64_t)i < r.ngroups; i++) {
        CHECK(str_is(t, SX_COL_REGION, r.groups[i].keys[0], want[i].region));
        CHECK(r.groups[i].keys[1] == month_key(want[i].y, want[i].m));
        CHECK(r.groups[i].key == r.groups[i].keys[0]);
        CHECK(r.groups[i].count == want[i].count);
        CHECK(r.groups[i].keys[2] == 0); /* unused parts are 0 */
    }
    sx_result_free(&r);
    /* no group mixes units: sums, exact for integers */
    CHECK(sx_aggregate_keys(t, NULL, SX_SUM, rm, 2, &r, &e) == SX_OK && r.ngroups == 8);
    if (r.ngroups == 8) {
        CHECK(r.groups[0].all_int && r.groups[0].isum.hi == 0 && r.groups[0].isum.lo == 7);
        CHECK(!r.groups[3].all_int && r.groups[3].fsum == 87.25);
    }
    sx_result_free(&r);
    /* the first mixed group in order is named, then the units */
    CHECK(sx_aggregate_keys(t, NULL, SX_SUM, cm, 2, &r, &e) == SX_ERR_UNITS);
    CHECK(r.groups == NULL && r.ngroups == 0);
    CHECK(strcmp(e.message,
                 "in category employment, month 2022-01: cannot sum figures in "
                 "different units (people, percent); pass unit=... or by=\"unit\"") == 0);
    CHECK(sx_aggregate_keys(t, NULL, SX_MAX, cmu, 3, &r, &e) == SX_OK && r.ngroups == 9);
    sx_result_free(&r);
    /* one key: sx_aggregate's result, and its error names the group too */
    CHECK(sx_aggregate_keys(t, NULL, SX_MEAN, pa, 1, &r, &e) == SX_ERR_UNITS);
    CHECK(strncmp(e.message, "in project 1: cannot average figures in different units (", 57) == 0);
    CHECK(sx_aggregate_keys(t, NULL, SX_COUNT, pa, 2, &r, &e) == SX_OK && r.ngroups == 6);
    if (r.ngroups == 6) {
        CHECK(r.groups[0].keys[0] == 1 && r.groups[0].keys[1] == sx_days_from_civil(2022, 1, 31));
        CHECK(r.groups[1].count == 2 && r.groups[3].count == 2);
        CHECK(r.groups[5].keys[0] == 3 && r.groups[5].keys[1] == sx_days_from_civil(2022, 3, 1));
    }
    sx_result_free(&r);
    /* every key: one group per row here */
    CHECK(sx_aggregate_keys(t, NULL, SX_COUNT, all, 7, &r, &e) == SX_OK && r.ngroups == 9);
    if (r.ngroups == 9) {
        CHECK(r.groups[0].keys[0] == month_key(2021, 12));
        CHECK(r.groups[0].keys[1] == sx_days_from_civil(2021, 12, 31));
    }
    sx_result_free(&r);
    /* bad arguments */
    CHECK(sx_aggregate_keys(t, NULL, SX_SUM, bad, 3, &r, &e) == SX_ERR_VALUE);
    CHECK(strcmp(e.message, "grouping by region twice") == 0);
    CHECK(sx_aggregate_keys(t, NULL, SX_SUM, all, 8, &r, &e) == SX_ERR_VALUE);
    CHECK(sx_aggregate_keys(t, NULL, SX_SUM, all + 7, 1, &r, &e) == SX_ERR_VALUE);
    CHECK(strcmp(e.message, "unknown grouping") == 0);
    CHECK(sx_aggregate_keys(t, NULL, SX_SUM, NULL, 2, &r, &e) == SX_ERR_VALUE);
    CHECK(sx_aggregate_keys(t, NULL, SX_SUM, rm, -1, &r, &e) == SX_ERR_VALUE);
    CHECK(r.groups == NULL && r.ngroups == 0);
    /* no keys is BY_NONE */
    CHECK(sx_aggregate_keys(t, NULL, SX_COUNT, NULL, 0, &r, &e) == SX_OK && r.ngroups == 1 &&
          r.groups[0].count == 9 && r.nkeys == 0);
    sx_result_free(&r);
    sx_table_decref(t);
}

/* ------------------------------------------------------------------ random tables */

static int
by_column(sx_by by)
{
    switch (by) {
    case SX_BY_METRIC:
        return SX_COL_METRIC;
    case SX_BY_CATEGORY:
        return SX_COL_CATEGORY;
    case SX_BY_UNIT:
        return SX_COL_UNIT;
    case SX_BY_REGION:
        return SX_COL_REGION;
    default:
        return -1;
    }
}

/* The documented order of one part: numbers ascending, strings by UTF-8
 * bytes (shorter first on a common prefix), empty last. */
static int
part_cmp(const sx_table *t, sx_by by, int32_t a, int32_t b)
{
    int col = by_column(by), c;
    size_t la, lb;
    const char *sa, *sb;
    if (a == b)
        return 0;
    if (col < 0)
        return a < b ? -1 : 1;
    if (a == SX_NULL_CODE || b == SX_NULL_CODE)
        return a == SX_NULL_CODE ? 1 : -1;
    sa = sx_dict_str(&t->dicts[col], a, &la);
    sb = sx_dict_str(&t->dicts[col], b, &lb);
    c = memcmp(sa, sb, la < lb ? la : lb);
    return c != 0 ? c : la < lb ? -1 : 1;
}

/* f narrowed to the rows of one group; 0 when the group's key contradicts
 * f (it never should). */
static int
group_filter(const sx_filter *f, const sx_by *by, int nby, const sx_group *g, sx_filter *out)
{
    int k;
    *out = *f;
    for (k = 0; k < nby; k++) {
        int32_t v = g->keys[k], lo, hi;
        int col = by_column(by[k]);
        if (col >= 0) {
            if (out->code[col] != SX_ANY && out->code[col] != v)
                return 0;
            out->code[col] = v;
            continue;
        }
        switch (by[k]) {
        case SX_BY_PROJECT:
            if (out->project != 0 && out->project != v)
                return 0;
            out->project = v;
            continue;
        case SX_BY_AS_OF:
            lo = hi = v;
            break;
        default: /* SX_BY_MONTH */
            lo = sx_days_from_civil(v / 12, (unsigned)(v % 12 + 1), 1);
            hi = sx_days_from_civil(v / 12 + (v % 12 == 11), (unsigned)((v + 1) % 12 + 1), 1) - 1;
            break;
        }
        if (lo > out->since)
            out->since = lo;
        if (hi < out->until)
            out->until = hi;
    }
    return out->since <= out->until;
}

static int
same_group(const sx_group *a, const sx_group *b, sx_func func)
{
    if (a->count != b->count || a->all_int != b->all_int)
        return 0;
    switch (func) {
    case SX_SUM:
    case SX_MEAN:
        return a->isum.hi == b->isum.hi && a->isum.lo == b->isum.lo &&
               memcmp(&a->fsum, &b->fsum, sizeof a->fsum) == 0;
    case SX_MIN:
    case SX_MAX:
        return a->min == b->min && a->max == b->max && a->min_is_int == b->min_is_int &&
               a->max_is_int == b->max_is_int;
    default:
        return 1;
    }
}

static const char *const regions[] = {"Taiyuan", "Datong",        "", "\xe5\xa4\xaa\xe5\x8e\x9f",
                                      "Lu",      "L\xc3\xbcliang"};
static const char *const units[] = {"people", "CNY", "percent"};
static const char *const cats[] = {"health", "", "jobs"};

static sx_table *
random_table(void)
{
    textbuf b = {NULL, 0, 0};
    char line[256];
    int nrows = rand_below(10) == 0 ? 500 + (int)rand_below(4000) : 1 + (int)rand_below(80), r;
    int has_region = rand_below(5) != 0, has_cat = rand_below(4) != 0, sparse = rand_below(5) == 0;
    /* now and then keys too wide to pack in 64 bits: projects up to 2^31,
     * dates over the years 1..9999 */
    int wide = rand_below(8) == 0;
    int nproj = 1 + (int)rand_below(5), ndays = 1 + (int)rand_below(rand_below(3) == 0 ? 900 : 60);
    int nunits = 1 + (int)rand_below(3), mixed = rand_below(3) == 0;
    /* sometimes int16 codes, and too many combinations for a direct table */
    int nmetrics = nrows > 500 && rand_below(3) == 0 ? 300 : 4;
    int32_t day0 = sx_days_from_civil(2020, 1, 1) + (int32_t)rand_below(400);
    sx_table *t;
    put(&b, "project,metric,value,unit,as_of");
    put(&b, has_region ? ",region" : "");
    put(&b, has_cat ? ",category\n" : "\n");
    for (r = 0; r < nrows; r++) {
        int p = 1 + (int)rand_below((uint32_t)nproj), m = (int)rand_below((uint32_t)nmetrics);
        int32_t y;
        unsigned mo, d;
        if (wide)
            sx_civil_from_days(sx_days_from_civil(1, 1, 1) + (int32_t)rand_below(3652000), &y, &mo,
                               &d);
        else
            sx_civil_from_days(day0 + (int32_t)rand_below((uint32_t)ndays), &y, &mo, &d);
        /* without mixing, the metric decides the unit */
        const char *unit =
            units[mixed ? rand_below((uint32_t)nunits) : (unsigned)m % (unsigned)nunits];
        char value[64];
        switch (rand_below(3)) {
        case 0:
            snprintf(value, sizeof value, "%d", (int)rand_below(2000000) - 1000000);
            break;
        case 1:
            snprintf(value, sizeof value, "%lld", (long long)rand_below(1u << 30) << 23);
            break;
        default:
            snprintf(value, sizeof value, "%.17g", ((double)rand_below(1u << 30) - 5e8) / 977.0);
            break;
        }
        snprintf(line, sizeof line, "%d,m%d,%s,%s,%04d-%02u-%02u",
                 wide     ? (p == 1 ? 1 : p * 400000000)
                 : sparse ? p * 100003
                          : p,
                 m, value, unit, (int)y, mo, d);
        put(&b, line);
        if (has_region) {
            put(&b, ",");
            put(&b, regions[rand_below(sizeof regions / sizeof regions[0])]);
        }
        if (has_cat) {
            put(&b, ",");
            put(&b, cats[p % 3]); /* a project has one category */
        }
        put(&b, "\n");
    }
    t = parse_len(b.p, b.len);
    free(b.p);
    return t;
}

static int
check_round(const sx_table *t)
{
    static const sx_by every[] = {SX_BY_PROJECT, SX_BY_METRIC, SX_BY_CATEGORY, SX_BY_UNIT,
                                  SX_BY_REGION,  SX_BY_AS_OF,  SX_BY_MONTH};
    sx_by by[SX_MAX_KEYS];
    int nby = 1 + (int)rand_below(rand_below(4) == 0 ? SX_MAX_KEYS : 3), k, j, bad = 0;
    sx_func func = (sx_func)rand_below(SX_NFUNCS);
    sx_filter f;
    sx_result r, one, all;
    sx_error e, e1;
    sx_status st;
    int64_t i, total = 0;
    /* distinct keys in a random order */
    for (k = 0; k < nby; k++) {
        do {
            by[k] = every[rand_below(SX_MAX_KEYS)];
            for (j = 0; j < k && by[j] != by[k]; j++)
                ;
        } while (j < k);
    }
    sx_filter_init(&f);
    if (rand_below(4) == 0)
        f.code[SX_COL_METRIC] = (int32_t)rand_below((uint32_t)t->dicts[SX_COL_METRIC].count);
    if (rand_below(4) == 0)
        f.since = t->as_of[rand_below((uint32_t)t->nrows)];
    if (sx_aggregate(t, &f, SX_COUNT, SX_BY_NONE, &all, &e) != SX_OK)
        return 1;
    st = sx_aggregate_keys(t, &f, func, by, nby, &r, &e);
    if (st == SX_ERR_EMPTY) {
        if (all.groups[0].count != 0)
            fprintf(stderr, "  empty, but %lld rows\n", (long long)all.groups[0].count);
        return all.groups[0].count == 0 ? 0 : 1;
    }
    if (st == SX_ERR_UNITS) {
        /* the first group in order whose rows mix units is the one named */
        if (sx_aggregate_keys(t, &f, SX_COUNT, by, nby, &r, &e1) != SX_OK)
            return 1;
        st = SX_OK;
        for (i = 0; i < r.ngroups && st == SX_OK; i++) {
            sx_filter gf;
            if (!group_filter(&f, by, nby, &r.groups[i], &gf))
                return 1;
            st = sx_aggregate(t, &gf, func, SX_BY_NONE, &one, &e1);
            sx_result_free(&one);
        }
        sx_result_free(&r);
        if (st != SX_ERR_UNITS || strncmp(e.message, "in ", 3) != 0 ||
            strlen(e.message) <= strlen(e1.message) ||
            strcmp(e.message + strlen(e.message) - strlen(e1.message), e1.message) != 0) {
            fprintf(stderr, "  multi: %s\n  one:   %s\n", e.message, e1.message);
            return 1;
        }
        return 0;
    }
    if (st != SX_OK || r.nkeys != nby) {
        fprintf(stderr, "  status %d: %s\n", (int)st, e.message);
        return 1;
    }
    for (i = 0; i < r.ngroups; i++) {
        sx_filter gf;
        const sx_group *g = &r.groups[i];
        total += g->count;
        if (i > 0) { /* strictly increasing in the documented order */
            int c = 0;
            for (k = 0; k < nby && c == 0; k++)
                c = part_cmp(t, by[k], r.groups[i - 1].keys[k], g->keys[k]);
            bad += c >= 0;
            if (c >= 0)
                fprintf(stderr, "  order: group %lld\n", (long long)i);
        }
        if (!group_filter(&f, by, nby, g, &gf)) {
            bad++;
            continue;
        }
        if (sx_aggregate(t, &gf, func, SX_BY_NONE, &one, &e1) != SX_OK) {
            bad++;
            continue;
        }
        if (!same_group(g, &one.groups[0], func)) {
            fprintf(stderr, "  group %lld of %d keys (%d, ...), func %d: count %lld / %lld\n",
                    (long long)i, nby, (int)by[0], (int)func, (long long)g->count,
                    (long long)one.groups[0].count);
            bad++;
        }
        bad += g->count == 0 || g->key != g->keys[0];
        sx_result_free(&one);
    }
    if (total != all.groups[0].count)
        fprintf(stderr, "  %lld rows in groups, %lld in all\n", (long long)total,
                (long long)all.groups[0].count);
    bad += total != all.groups[0].count;
    sx_result_free(&r);
    return bad;
}

static void
test_random(void)
{
    int round, q, bad = 0;
    for (round = 0; round < 400; round++) {
        sx_table *t = random_table();
        CHECK(t != NULL);
        if (t == NULL)
            continue;
        for (q = 0; q < 12; q++) {
            int b = check_round(t);
            if (b && bad < 5)
                fprintf(stderr, "  round %d query %d: %d bad\n", round, q, b);
            bad += b;
        }
        sx_table_decref(t);
    }
    CHECK(bad == 0);
}

int
main(void)
{
    test_small();
    test_random();
    return CHECK_DONE();
}
