/* Tests of sx_aggregate's sums and of sx_bigint_format: math.fsum's hard
 * cases (expected values checked against CPython's math.fsum), many
 * partials in one group, and exact integer sums past 2^63. */
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
    textbuf b = {NULL, 0, 0};
    sx_table *t;
    size_t c, k;
    sx_result r;
    sx_error e;
    sx_filter f;
    putf(&b, "project,metric,value,unit,as_of\n");
    for (c = 0; c < NFCASES; c++)
        for (k = 0; k < 12 && fcases[c].values[k]; k++)
            putf(&b, "%d,m,%s,u,2022-01-01\n", (int)c + 1, fcases[c].values[k]);
    t = parse_len(b.p, b.len);
    free(b.p);
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
    textbuf b = {NULL, 0, 0};
    sx_table *t;
    sx_result r;
    sx_error e;
    int k;
    putf(&b, "project,metric,value,unit,as_of\n");
    for (k = 0; k <= 33; k++) {
        putf(&b, "1,m,%.17g,u,2022-01-01\n", ldexp(1.0, 60 * k - 1000));
        putf(&b, "2,m,%.17g,u,2022-01-01\n", ldexp(1.0, 60 * k - 1000));
    }
    /* without the top term, the next one down is the sum */
    putf(&b, "2,m,%.17g,u,2022-01-01\n", -ldexp(1.0, 980));
    /* project 3: the same again, then all taken away: exactly zero */
    for (k = 0; k <= 33; k++)
        putf(&b, "3,m,%.17g,u,2022-01-01\n", ldexp(1.0, 60 * k - 1000));
    for (k = 33; k >= 0; k--)
        putf(&b, "3,m,%.17g,u,2022-01-01\n", -ldexp(1.0, 60 * k - 1000));
    t = parse_len(b.p, b.len);
    free(b.p);
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
    textbuf b = {NULL, 0, 0};
    sx_table *t;
    sx_result r;
    sx_error e;
    int k;
    putf(&b, "project,metric,value,unit,as_of\n");
    for (k = 0; k < 2048; k++) {
        putf(&b, "1,m,9007199254740992,u,2022-01-01\n");
        putf(&b, "2,m,-9007199254740992,u,2022-01-01\n");
        putf(&b, "3,m,%s9007199254740991,u,2022-01-01\n", k % 3 ? "" : "-");
    }
    putf(&b, "2,m,1,u,2022-01-01\n");
    t = parse_len(b.p, b.len);
    free(b.p);
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
    textbuf b = {NULL, 0, 0};
    sx_table *t;
    sx_result r;
    sx_error e;
    int rep;
    putf(&b, "project,metric,value,unit,as_of\n");
    for (c = 0; c < ncases; c++) {
        for (rep = 0; rep < cases[c].reps; rep++)
            putf(&b, "%d,m,%s,u,2022-01-01\n", (int)c + 1, cases[c].values[0]);
        for (k = 1; k < 4 && cases[c].values[k]; k++)
            putf(&b, "%d,m,%s,u,2022-01-01\n", (int)c + 1, cases[c].values[k]);
    }
    t = parse_len(b.p, b.len);
    free(b.p);
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

int
main(void)
{
    test_fsum_cases();
    test_many_partials();
    test_bigint_format();
    test_big_int_sums();
    test_int_only_sums();
    return CHECK_DONE();
}
