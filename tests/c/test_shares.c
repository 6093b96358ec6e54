/* Tests of sx_shares_compute, sx_table_shares and sx_share_whole: the
 * per-row share column and each row's whole, with hand-worked expectations
 * for each case of the rule (region and date must match, no whole, an
 * ambiguous whole, a zero whole, empty regions) and a comparison against a
 * naive per-row search on a generated panel. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "shanxi/core.h"
#include "testutil.h"

static int
valid_at(const sx_shares *s, int64_t i)
{
    return (s->valid[i >> 3] >> (i & 7)) & 1;
}

/* s has a share only at the rows of want (share, or NAN for none) */
static int
shares_are(const sx_shares *s, const double *want, int64_t n)
{
    int64_t count = 0;
    for (int64_t i = 0; i < n; i++) {
        if (isnan(want[i])) {
            if (!isnan(s->value[i]) || valid_at(s, i))
                return 0;
        } else {
            if (s->value[i] != want[i] || !valid_at(s, i))
                return 0;
            count++;
        }
    }
    return s->count == count;
}

static const char PANEL[] = "project,metric,value,unit,as_of,region,part_of\n"
                            "1,started,10,x,2022-01-31,North,\n"
                            "1,done,4,x,2022-01-31,North,started\n"
                            "1,started,20,x,2022-01-31,South,\n"
                            "1,done,5,x,2022-01-31,South,started\n"
                            "1,started,40,x,2022-02-28,North,\n"
                            "1,done,30,x,2022-02-28,North,started\n"
                            "1,done,7,x,2022-03-31,North,started\n"
                            "2,whole,0,x,2022-01-31,North,\n"
                            "2,part,1,x,2022-01-31,North,whole\n"
                            "2,twice,1,x,2022-01-31,East,\n"
                            "2,twice,2,x,2022-01-31,East,\n"
                            "2,half,1.5,x,2022-01-31,East,twice\n"
                            "3,done,1,x,2022-01-31,North,started\n"
                            "1,done,2,x,2022-01-31,,started\n"
                            "1,started,8,x,2022-01-31,,\n";

static void
test_panel(void)
{
    sx_table *t = parse(PANEL);
    CHECK(t != NULL);
    if (!t)
        return;
    const double want[] = {
        NAN,     4.0 / 10, NAN, 5.0 / 20, NAN, 30.0 / 40, NAN, /* no whole in March */
        NAN,     NAN,                                          /* the whole is zero */
        NAN,     NAN,      NAN,                                /* two wholes: ambiguous */
        NAN,                                                   /* project 3 has no "started" */
        2.0 / 8, /* an empty region matches an empty one */
        NAN,
    };
    sx_shares s;
    CHECK(sx_shares_compute(t, &s) == SX_OK);
    CHECK(shares_are(&s, want, 15));
    sx_shares_free(&s);
    CHECK(s.value == NULL && s.valid == NULL && s.count == 0);
    sx_shares_free(&s); /* twice is harmless */

    const sx_shares *cached = sx_table_shares(t);
    CHECK(cached != NULL && shares_are(cached, want, 15));
    CHECK(sx_table_shares(t) == cached); /* computed once */

    /* each row's whole and how many there are, as the share column says */
    static const struct {
        int64_t whole, n;
    } wholes[] = {{-1, 0}, {0, 1},  {-1, 0}, {2, 1},  {-1, 0}, {4, 1},  {-1, 0}, {-1, 0},
                  {7, 1},  {-1, 0}, {-1, 0}, {-1, 2}, {-1, 0}, {14, 1}, {-1, 0}};
    for (int64_t i = 0; i < 15; i++) {
        int64_t n = -1;
        CHECK(sx_share_whole(t, i, &n) == wholes[i].whole && n == wholes[i].n);
    }
    sx_table_decref(t); /* frees the cache: ASan checks */
}

static void
test_without_parts(void)
{
    const char *texts[] = {
        "project,metric,value,unit,as_of\n1,a,1,x,2022-01-01\n1,b,2,x,2022-01-01\n",
        "project,metric,value,unit,as_of,part_of\n1,a,1,x,2022-01-01,\n1,b,2,x,2022-01-01,\n",
    };
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
        sx_table *t = parse(texts[k]);
        CHECK(t != NULL);
        if (!t)
            continue;
        const sx_shares *s = sx_table_shares(t);
        CHECK(s != NULL && s->count == 0);
        for (int64_t i = 0; s && i < t->nrows; i++) {
            CHECK(isnan(s->value[i]) && !valid_at(s, i));
            int64_t n = -1;
            CHECK(sx_share_whole(t, i, &n) == -1 && n == 0);
        }
        sx_table_decref(t);
    }
}

static void
test_empty_table(void)
{
    sx_table *t = parse("project,metric,value,unit,as_of,part_of\n");
    CHECK(t != NULL);
    if (!t)
        return;
    const sx_shares *s = sx_table_shares(t);
    CHECK(s != NULL && s->count == 0 && s->value != NULL && s->valid != NULL);
    sx_table_decref(t);
}

/* The rule row by row, by linear search, on a generated panel where some
 * (project, region, date) blocks lack the whole or hold it twice. */
static void
test_against_naive(void)
{
    const int nrows = 3000;
    size_t cap = (size_t)nrows * 64 + 128;
    char *csv = malloc(cap);
    CHECK(csv != NULL);
    if (!csv)
        return;
    size_t len = (size_t)sprintf(csv, "project,metric,value,unit,as_of,region,part_of\n");
    unsigned seed = 12345;
    for (int i = 0; i < nrows; i++) {
        seed = seed * 1103515245u + 12345u;
        int r = (int)((seed >> 16) % 1000);
        int project = 1 + r % 3, region = (r / 3) % 4, day = 1 + (r / 12) % 28;
        int is_part = (r / 336) % 2;
        int value = (int)((seed >> 8) % 7); /* zeros included */
        const char *regions[] = {"A", "B", "", "D"};
        len += (size_t)sprintf(csv + len, "%d,%s,%d,x,2022-01-%02d,%s,%s\n", project,
                               is_part ? "part" : "whole", value, day, regions[region],
                               is_part ? "whole" : "");
    }
    sx_table *t = NULL;
    sx_error err;
    CHECK(sx_table_parse(csv, len, &t, &err) == SX_OK);
    free(csv);
    if (!t)
        return;
    double *want = malloc((size_t)nrows * sizeof *want);
    CHECK(want != NULL);
    int32_t whole_code = sx_dict_find(&t->dicts[SX_COL_METRIC], "whole", 5);
    for (int64_t i = 0; want && i < t->nrows; i++) {
        want[i] = NAN;
        if (sx_code_at(t, SX_COL_PART_OF, i) < 0)
            continue;
        int64_t found = -1, n = 0;
        for (int64_t j = 0; j < t->nrows; j++)
            if (sx_code_at(t, SX_COL_METRIC, j) == whole_code && t->project[j] == t->project[i] &&
                t->as_of[j] == t->as_of[i] &&
                sx_code_at(t, SX_COL_REGION, j) == sx_code_at(t, SX_COL_REGION, i)) {
                found = j;
                n++;
            }
        if (n == 1 && t->value[found] != 0.0)
            want[i] = t->value[i] / t->value[found];
        int64_t counted = -1;
        CHECK(sx_share_whole(t, i, &counted) == (n == 1 ? found : -1) && counted == n);
    }
    const sx_shares *s = sx_table_shares(t);
    CHECK(s != NULL && want != NULL && shares_are(s, want, t->nrows));
    CHECK(s != NULL && s->count > 0);
    free(want);
    sx_table_decref(t);
}

int
main(void)
{
    test_panel();
    test_without_parts();
    test_empty_table();
    test_against_naive();
    return CHECK_DONE();
}
