/* The fast path of counts, sums and means by one key (densefeed.c) against
 * the general path: each group of a table large enough for the fast path
 * must equal, bit for bit, the same rows aggregated with no key (which
 * never takes it), with integer sums past 2^63 (carries), floats mixed in,
 * cancellation and huge and tiny magnitudes; and a unit error where the
 * units mix. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "shanxi/core.h"
#include "testutil.h"

#define NROWS 20000

/* Project 1: integers near 2^53 of both signs, mostly positive (the sum
 * passes 2^63); 2: small integers; 3: integers with some decimals;
 * 4: huge and tiny floats that cancel; 5: like 2, in two units; 6: tiny
 * integers with a float of 17 digits now and then. */
static void
put_row(textbuf *b, int r)
{
    int p = 1 + (int)rand_below(6);
    const char *unit = p == 5 && rand_below(2) ? "u1" : "u0";
    putf(b, "%d,m%d,", p, r % 5);
    switch (p) {
    case 1:
        putf(b, "%s%llu", rand_below(8) == 0 ? "-" : "",
             (unsigned long long)(9007199254740992ull - rand_below(1000)));
        break;
    case 2:
    case 5:
        putf(b, "%d", (int)rand_below(2000000) - 1000000);
        break;
    case 3:
        if (rand_below(4) == 0)
            putf(b, "%d.%02d", (int)rand_below(1000), (int)rand_below(100));
        else
            putf(b, "%d", (int)rand_below(1000));
        break;
    case 4: {
        static const char *const vals[] = {"1e300",     "-1e300", "1e-300",           "3.5e-310",
                                           "-2.5e-308", "123e-3", "9007199254740993", "0.1"};
        putf(b, "%s", vals[rand_below(8)]);
        break;
    }
    default:
        if (rand_below(50) == 0)
            putf(b, "0.%u%u", (unsigned)rand_below(100000000), (unsigned)rand_below(100000000));
        else
            putf(b, "%d", (int)rand_below(10));
        break;
    }
    putf(b, ",%s,2022-0%d-15\n", unit, 1 + (int)rand_below(9));
}

static int
same_group(const sx_group *a, const sx_group *b)
{
    return a->count == b->count && a->unit == b->unit && a->all_int == b->all_int &&
           a->isum.hi == b->isum.hi && a->isum.lo == b->isum.lo &&
           memcmp(&a->fsum, &b->fsum, sizeof a->fsum) == 0;
}

/* Every group of func by key (filtered by f) against the rows of its key
 * aggregated with no key; expect: the status of the grouped call. */
static void
check_groups(sx_table *t, const sx_filter *f, sx_func func, sx_by by, sx_status expect)
{
    sx_result r, one;
    sx_error e;
    sx_status st = agg(t, f, func, by, &r, &e);
    CHECK(st == expect);
    if (st != SX_OK)
        return;
    CHECK(r.ngroups > 0);
    for (int64_t k = 0; k < r.ngroups; k++) {
        sx_filter g = *f;
        if (by == SX_BY_PROJECT)
            g.project = (int32_t)r.groups[k].key;
        else
            g.code[sx_by_column(by)] = (int32_t)r.groups[k].key;
        CHECK(agg(t, &g, func, SX_BY_NONE, &one, &e) == SX_OK);
        CHECK(one.ngroups == 1 && same_group(&r.groups[k], &one.groups[0]));
        if (!(one.ngroups == 1 && same_group(&r.groups[k], &one.groups[0])))
            fprintf(stderr, "func %d by %d group %lld differs\n", (int)func, (int)by,
                    (long long)r.groups[k].key);
        sx_result_free(&one);
    }
    sx_result_free(&r);
}

static void
test_against_general(void)
{
    textbuf b = {NULL, 0, 0};
    putf(&b, "project,metric,value,unit,as_of\n");
    for (int r = 0; r < NROWS; r++)
        put_row(&b, r);
    sx_table *t = parse_len(b.p, b.len);
    CHECK(t != NULL);
    free(b.p);
    if (t == NULL)
        return;
    sx_filter all, u0, u1;
    sx_filter_init(&all);
    sx_filter_init(&u0);
    sx_filter_init(&u1);
    u0.code[SX_COL_UNIT] = sx_dict_find(&t->dicts[SX_COL_UNIT], "u0", 2);
    u1.code[SX_COL_UNIT] = sx_dict_find(&t->dicts[SX_COL_UNIT], "u1", 2);
    CHECK(u0.code[SX_COL_UNIT] >= 0 && u1.code[SX_COL_UNIT] >= 0);
    /* with a unit fixed by the filter, and without (project 5 mixes them) */
    check_groups(t, &u0, SX_SUM, SX_BY_PROJECT, SX_OK);
    check_groups(t, &u1, SX_SUM, SX_BY_PROJECT, SX_OK);
    check_groups(t, &u0, SX_MEAN, SX_BY_PROJECT, SX_OK);
    check_groups(t, &u0, SX_COUNT, SX_BY_PROJECT, SX_OK);
    check_groups(t, &all, SX_COUNT, SX_BY_PROJECT, SX_OK);
    check_groups(t, &all, SX_SUM, SX_BY_PROJECT, SX_ERR_UNITS);
    /* keys of one-byte codes */
    check_groups(t, &all, SX_SUM, SX_BY_UNIT, SX_OK);
    check_groups(t, &all, SX_SUM, SX_BY_METRIC, SX_ERR_UNITS);
    check_groups(t, &u0, SX_SUM, SX_BY_METRIC, SX_OK);
    check_groups(t, &u0, SX_MEAN, SX_BY_METRIC, SX_OK);

    /* project 1's integer sum is past 2^63: the carries were needed */
    sx_result r;
    sx_error e;
    sx_filter p1 = u0;
    p1.project = 1;
    CHECK(agg(t, &p1, SX_SUM, SX_BY_PROJECT, &r, &e) == SX_OK);
    CHECK(r.ngroups == 1 && r.groups[0].all_int && r.groups[0].isum.hi > 0);
    sx_result_free(&r);
    sx_table_decref(t);
}

int
main(void)
{
    test_against_general();
    return CHECK_DONE();
}
