/*
 * densefeed.c -- sx_aggregate's fast path for counts, sums and means by one
 * key with a small direct table (a project number, or the code of a column
 * of a few distinct strings).  Each selected row is a few adds into its
 * key's slot: no group lookup, no carry test per row (integer sums carry
 * once every SXD_CHUNK rows), and no unit work when the filter fixes the
 * unit.  The slots become groups at the end (sxd_finish); floats still go
 * to the group's exact sum as they come.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "agg.h"

/* |lo| < 2^62 after a carry, and SXD_CHUNK adds of |v| <= 2^53 move it by
 * at most 2^61: lo never overflows between carries. */
#define LO_MASK ((uint64_t)TWO62 - 1)

/* The key column's code of row r, of width bytes. */
static inline uint32_t
key_at(const void *keys, int width, int64_t r)
{
    return (uint32_t)sx_code_in(keys, width, r);
}

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
