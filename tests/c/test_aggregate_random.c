/* A random differential test of sx_aggregate against an exact 128-bit
 * fixed-point reference, and more float-heavy groups than get a fixed-point
 * accumulator. */
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
    textbuf b = {NULL, 0, 0};
    int nrows = round % 50 == 0 ? 200 + (int)rnd(2900) : (int)rnd(40), r, nproj = 1 + (int)rnd(6);
    int mixed = rnd(8) == 0, ties = rnd(2), nt = 0, k;
    int32_t day0 = sx_days_from_civil(2021, 12, 25);
    sx_table *t;
    sx_by bys[] = {SX_BY_NONE, SX_BY_PROJECT, SX_BY_UNIT, SX_BY_AS_OF};
    putf(&b, "project,metric,value,unit,as_of\n");
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
        putf(&b, "%d,m%d,%.17g%s,u%d,%04d-%02u-%02u\n", rows[r].project, r % 7, rows[r].v,
             !rows[r].is_int && floor(rows[r].v) == rows[r].v && fabs(rows[r].v) < 1e16 ? ".0" : "",
             rows[r].unit, (int)y, m, d);
    }
    t = parse_len(b.p, b.len);
    free(b.p);
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
    textbuf b = {NULL, 0, 0};
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
    putf(&b, "project,metric,value,unit,as_of\n");
    for (k = 1; k <= 2; k++)
        for (i = 0; i < n; i++)
            putf(&b, "%d,m,%.17e,u,2022-01-01\n", k, vals[i]);
    putf(&b, "2,m,1.7e308,u,2022-01-01\n2,m,1.7e308,u,2022-01-01\n"
             "2,m,-1.7e308,u,2022-01-01\n2,m,-1.7e308,u,2022-01-01\n");
    t = parse_len(b.p, b.len);
    free(b.p);
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
    textbuf b = {NULL, 0, 0};
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
    putf(&b, "project,metric,value,unit,as_of\n");
    for (g = 1; g <= NGROUPS; g++)
        for (k = 0; k < NV; k++)
            putf(&b, "%d,m,%.17e,u,2022-01-01\n", g, tv[g % NT][k]);
    t = parse_len(b.p, b.len);
    free(b.p);
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
    int stride = CHECK_STRIDE();
    for (round = 0; round < 3000 / stride; round++)
        random_round(round, rows, &mixed);
    CHECK(mixed); /* the unit error path was exercised */
    for (round = 0; round < 2000 / stride; round++)
        wide_round();
    free(rows);
}

int
main(void)
{
    test_partials_past_budget();
    test_random();
    return CHECK_DONE();
}
