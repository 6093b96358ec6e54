/*
 * densefeed.c -- sx_aggregate's fast paths for counts and sums by at most
 * one key of few values.  A large table, by a key with a small direct table
 * (a project number, or the code of a column of a few distinct strings),
 * counts, sums and means: each selected row is a few adds into its key's
 * slot: no group lookup, no carry test per row (integer sums carry once
 * every SXD_CHUNK rows), and no unit work when the filter fixes the unit;
 * the slots become groups at the end (sxd_finish), and floats still go to
 * the group's exact sum as they come.  A table of one block (the embedded
 * data), a count or an integer sum in all or by project: made straight from
 * its rows, without the group machinery (sxd_small_total,
 * sxd_small_by_project).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "agg.h"

/* |lo| < 2^62 after a carry, and SXD_CHUNK adds of |v| <= 2^53 move it by
 * at most 2^61: lo never overflows between carries. */
#define LO_MASK ((uint64_t)TWO62 - 1)

int
sxd_usable(const agg *s, int64_t rows)
{
    return (s->func == SX_SUM || s->func == SX_MEAN || s->func == SX_COUNT) && s->nkeys == 1 &&
           s->keycol != NULL && !s->month && s->dense != NULL && s->span > 0 &&
           s->span <= SXD_SPAN && rows >= SXD_MIN_ROWS;
}

void
sxd_init(sxd_state *d, const agg *s)
{
    size_t span = s->span;
    memset(d->cnt, 0, span * sizeof d->cnt[0]);
    memset(d->lo, 0, span * sizeof d->lo[0]);
    memset(d->hi, 0, span * sizeof d->hi[0]);
    memset(d->nflt, 0, span * sizeof d->nflt[0]);
    for (size_t o = 0; o < span; o++)
        d->unit[o] = UNIT_UNSET;
    d->pending = 0;
}

/* Move each slot's integer sum above 2^62 into hi, exactly. */
static void
carry_all(sxd_state *d, uint32_t span)
{
    for (uint32_t o = 0; o < span; o++) {
        int64_t low = (int64_t)((uint64_t)d->lo[o] & LO_MASK);
        d->hi[o] += (d->lo[o] - low) / TWO62; /* exact */
        d->lo[o] = low;
    }
    d->pending = 0;
}

/* A row that is not an integer within 2^53: to its group's exact float sum. */
static int
float_row(agg *s, sxd_state *d, uint32_t o, double v)
{
    int32_t g = s->dense[o];
    acc *a;
    if (g < 0 && (g = sxa_lookup(s, s->base + (int32_t)o)) < 0)
        return 0;
    a = &s->accs[g];
    d->nflt[o]++;
    a->all_int = 0;
    if (a->sa >= 0) {
        sxs_add(&s->sas[a->sa], v);
        return 1;
    }
    return sxa_float_add(s, a, v);
}

/* A row the loops leave: a key outside the direct table (never, for a
 * table the parser made) takes the general path; a value that is not an
 * integer within 2^53 goes to its group's exact float sum. */
static int
slow_row(agg *s, sxd_state *d, int64_t start, const uint32_t *sel)
{
    int64_t r = start + *sel;
    int32_t key = sx_code_in(s->keycol, s->keywidth, r);
    uint32_t o = (uint32_t)key - (uint32_t)s->base;
    if (o >= s->span) {
        int32_t g = sxa_lookup(s, key);
        return g >= 0 && sxa_block_feed(s, start, sel, 1, &g);
    }
    d->cnt[o]++;
    if (s->fixed_unit == UNIT_UNSET) {
        const void *units = s->t->codes[SX_COL_UNIT];
        int32_t u = units ? sx_code_in(units, s->t->code_width[SX_COL_UNIT], r) : SX_NULL_CODE;
        if (d->unit[o] != u)
            d->unit[o] = d->unit[o] == UNIT_UNSET ? u : SX_MIXED_UNITS;
    }
    return float_row(s, d, o, s->t->value[r]);
}

/* One loop per key width, unit handling and function, so that each does
 * only its own work; it stops at a row for slow_row (no call inside, so
 * everything stays in registers).  k: the first row not done. */
#define FEED_LOOP(type, per_row_unit, sum)                                                         \
    do {                                                                                           \
        const type *keys = (const type *)s->keycol;                                                \
        for (; k < m; k++) {                                                                       \
            int64_t r = start + sel[k];                                                            \
            uint32_t o = (uint32_t)keys[r] - base;                                                 \
            if (o >= span)                                                                         \
                break;                                                                             \
            if (sum) {                                                                             \
                double v = value[r];                                                               \
                if (!(is_int[r] & (fabs(v) <= TWO53)))                                             \
                    break;                                                                         \
                lo[o] += (int64_t)v;                                                               \
            }                                                                                      \
            cnt[o]++;                                                                              \
            if (per_row_unit) {                                                                    \
                int32_t u = units ? sx_code_in(units, uw, r) : SX_NULL_CODE;                       \
                if (unit[o] != u)                                                                  \
                    unit[o] = unit[o] == UNIT_UNSET ? u : SX_MIXED_UNITS;                          \
            }                                                                                      \
        }                                                                                          \
    } while (0)

#define FEED_WIDTHS(per_row_unit, sum)                                                             \
    do {                                                                                           \
        switch (s->keywidth) {                                                                     \
        case 1:                                                                                    \
            FEED_LOOP(int8_t, per_row_unit, sum);                                                  \
            break;                                                                                 \
        case 2:                                                                                    \
            FEED_LOOP(int16_t, per_row_unit, sum);                                                 \
            break;                                                                                 \
        default:                                                                                   \
            FEED_LOOP(int32_t, per_row_unit, sum);                                                 \
            break;                                                                                 \
        }                                                                                          \
    } while (0)

/* Rows start + sel[0..m), m <= SXD_CHUNK - d->pending. */
static int
feed_chunk(agg *s, sxd_state *d, int64_t start, const uint32_t *sel, size_t m)
{
    const sx_table *t = s->t;
    const double *value = t->value;
    const uint8_t *is_int = t->is_int;
    const void *units = t->codes[SX_COL_UNIT];
    int uw = t->code_width[SX_COL_UNIT];
    uint32_t base = (uint32_t)s->base, span = s->span;
    int64_t *cnt = d->cnt, *lo = d->lo;
    int32_t *unit = d->unit;
    int sum = s->func != SX_COUNT, fixed = s->fixed_unit != UNIT_UNSET;
    size_t k = 0;
    while (k < m) {
        if (fixed) {
            if (sum)
                FEED_WIDTHS(0, 1);
            else
                FEED_WIDTHS(0, 0);
        } else {
            if (sum)
                FEED_WIDTHS(1, 1);
            else
                FEED_WIDTHS(1, 0);
        }
        if (k < m && !slow_row(s, d, start, &sel[k++]))
            return 0;
    }
    return 1;
}

#undef FEED_WIDTHS
#undef FEED_LOOP

int
sxd_feed(agg *s, sxd_state *d, int64_t start, const uint32_t *sel, size_t n)
{
    while (n > 0) {
        size_t m = SXD_CHUNK - d->pending;
        if (m > n)
            m = n;
        if (!feed_chunk(s, d, start, sel, m))
            return 0;
        sel += m;
        n -= m;
        d->pending += m;
        if (d->pending == SXD_CHUNK)
            carry_all(d, s->span);
    }
    return 1;
}

int
sxd_finish(agg *s, sxd_state *d)
{
    carry_all(d, s->span);
    for (uint32_t o = 0; o < s->span; o++) {
        int32_t g;
        acc *a;
        if (d->cnt[o] == 0)
            continue;
        if ((g = sxa_lookup(s, s->base + (int32_t)o)) < 0)
            return 0;
        a = &s->accs[g];
        a->count += d->cnt[o];
        if (d->unit[o] != UNIT_UNSET && a->unit != d->unit[o])
            a->unit = a->unit == UNIT_UNSET ? d->unit[o] : SX_MIXED_UNITS;
        if (s->func == SX_COUNT)
            continue;
        if (d->cnt[o] > d->nflt[o])
            a->has_int = 1;
        a->ilo += d->lo[o]; /* both below 2^62 in magnitude */
        sxs_carry_int(&a->ihi, &a->ilo);
        a->ihi += d->hi[o];
    }
    return 1;
}

/* A group of the small paths: a count, or an integer sum below 2^62, with
 * the fields the general way would give it (key 0 for BY_NONE). */
static void
small_group(sx_group *g, int32_t key, int64_t count, int32_t unit, sx_func func, int64_t ilo)
{
    g->key = key;
    g->keys[0] = key;
    for (int i = 1; i < SX_MAX_KEYS; i++)
        g->keys[i] = 0;
    g->count = count;
    g->unit = unit;
    g->all_int = 1;
    g->isum = func == SX_SUM ? sxs_bigint_canon(0, ilo) : (sx_bigint){0, 0};
    g->fsum = func == SX_SUM ? (double)ilo : 0.0; /* as finish_sums rounds it */
    g->min = g->max = 0.0;
    g->min_is_int = g->max_is_int = 0;
}

/* One number (BY_NONE), a count or a sum of integers, of a table of at most
 * one block (the embedded data's total()): the group made straight from
 * the block's selected rows, without the group machinery, whose setup is
 * most of the cost of so few rows.  Fills o as the general way does and
 * returns 1; returns 0 where the general way must decide (a float value, a
 * sum past 2^62, units that mix in a sum: the errors stay its own). */
int
sxd_small_total(const sx_table *t, const sxf_compiled *q, sx_func func, sx_group *o)
{
    uint32_t sel[SXF_BLOCK];
    size_t identity = 0;
    size_t n = q->none ? 0 : sxf_select_block(q, 0, (size_t)t->nrows, sel, &identity);
    const void *units = t->codes[SX_COL_UNIT];
    int uw = t->code_width[SX_COL_UNIT];
    int32_t unit = UNIT_UNSET;
    int64_t ihi = 0, ilo = 0;
    for (size_t k = 0; k < n; k++) {
        int32_t u = units ? sx_code_in(units, uw, sel[k]) : SX_NULL_CODE;
        if (unit != u)
            unit = unit == UNIT_UNSET ? u : SX_MIXED_UNITS;
        if (func == SX_SUM) {
            double v = t->value[sel[k]];
            if (!sxa_exact_int(t, sel[k], v))
                return 0;
            ilo += (int64_t)v;
            sxs_carry_int(&ihi, &ilo);
        }
    }
    if (ihi != 0 || (func == SX_SUM && unit == SX_MIXED_UNITS))
        return 0;
    small_group(o, 0, (int64_t)n, unit == UNIT_UNSET ? SX_NULL_CODE : unit, func, ilo);
    return 1;
}

/* By project, a count or a sum of integers, of a table of at most one block
 * whose project numbers span at most DENSE_SMALL (the embedded data's
 * aggregate("count", by="project")): counted straight into an array over
 * the numbers, the groups then read out in number order, which is the
 * result's order.  As sxd_small_total: 1 with out filled as the general way
 * fills it, 0 where the general way must decide. */
int
sxd_small_by_project(const sx_table *t, const sxf_compiled *q, sx_func func, sx_result *out)
{
    int32_t base = 0;
    uint32_t span = sx_dense_project_span(t, &base);
    if (span == 0 || span > DENSE_SMALL)
        return 0;
    uint32_t sel[SXF_BLOCK];
    size_t identity = 0;
    size_t n = q->none ? 0 : sxf_select_block(q, 0, (size_t)t->nrows, sel, &identity);
    const void *units = t->codes[SX_COL_UNIT];
    int uw = t->code_width[SX_COL_UNIT];
    /* Only span entries are set: zeroing all DENSE_SMALL of them was a
     * sixth of a small call's time. */
    int64_t count[DENSE_SMALL], ilo[DENSE_SMALL];
    int32_t unit[DENSE_SMALL];
    for (uint32_t o = 0; o < span; o++) {
        count[o] = ilo[o] = 0;
        unit[o] = UNIT_UNSET;
    }
    for (size_t k = 0; k < n; k++) {
        uint32_t o = (uint32_t)t->project[sel[k]] - (uint32_t)base;
        if (o >= span) /* never: the projects list every number */
            return 0;
        int32_t u = units ? sx_code_in(units, uw, sel[k]) : SX_NULL_CODE;
        count[o]++;
        if (unit[o] != u)
            unit[o] = unit[o] == UNIT_UNSET ? u : SX_MIXED_UNITS;
        if (func == SX_SUM) {
            double v = t->value[sel[k]];
            if (!sxa_exact_int(t, sel[k], v))
                return 0;
            ilo[o] += (int64_t)v;
            if (ilo[o] >= TWO62 || ilo[o] <= -TWO62) /* the general way carries it */
                return 0;
        }
    }
    int64_t ngroups = 0;
    for (uint32_t o = 0; o < span; o++) {
        if (count[o] == 0)
            continue;
        /* mixed units in a sum are the general way's error */
        if (ngroups == SX_RESULT_INLINE || (func == SX_SUM && unit[o] == SX_MIXED_UNITS))
            return 0;
        ngroups++;
    }
    sx_group *g = out->inline_groups;
    for (uint32_t o = 0; o < span; o++) {
        if (count[o] == 0)
            continue;
        small_group(g++, base + (int32_t)o, count[o], unit[o], func, ilo[o]);
    }
    out->nkeys = 1;
    out->groups = ngroups > 0 ? out->inline_groups : NULL;
    out->ngroups = ngroups;
    return 1;
}
