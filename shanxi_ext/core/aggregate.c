/*
 * aggregate.c -- sx_aggregate: one pass over the filtered rows, grouped by a
 * key, with exact integer sums, correctly rounded float sums (as math.fsum),
 * extremes and unit checks.
 *
 * Which fields of an sx_group are filled depends on the function, so a
 * count never pays for sums:
 *   every func:          key, count, unit
 *   SUM, MEAN:           all_int, isum, fsum
 *   MIN, MAX:            all_int, min, max, min_is_int, max_is_int
 * Fields a function does not need are zero (all_int is 1 for COUNT).
 * An empty group (only BY_NONE has one) has unit SX_NULL_CODE.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows from which a second thread pays off: it costs tens of microseconds to
 * start, and a million rows take milliseconds.  The C tests build with a
 * tiny value so every test runs through the merge too. */
#ifndef SX_AGG_PARALLEL_ROWS
#define SX_AGG_PARALLEL_ROWS ((int64_t)1 << 20)
#endif

#include "shanxi/core.h"
#include "platform.h"   /* SX_THREADS: large tables are aggregated as two halves */
#include "rowfilter.h"

const char *const sx_func_names[SX_NFUNCS] = {"sum", "count", "mean", "min", "max"};
const char *const sx_by_names[SX_NBYS] = {"none",   "project", "metric", "category",
                                          "unit",   "region",  "as_of",  "month"};

#define TWO62 ((int64_t)1 << 62)
#define TWO53 9007199254740992.0
#define UNIT_UNSET (-4)     /* a group that has seen no row yet */
#define NINLINE 4           /* partials kept inside the group before spilling */
#define NSMALL 16           /* groups kept inside the agg before going to the heap */
#define DENSE_SMALL 64      /* direct-table entries kept inside the agg */

/* malloc for n items of size bytes, failing cleanly instead of wrapping. */
static void *alloc_array(size_t n, size_t size)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX / size)
        return NULL;
    return malloc(n * size);
}

static void set_err(sx_error *err, sx_status st, const char *msg)
{
    if (err == NULL)
        return;
    err->status = st;
    err->line = 0;
    err->column = 0;
    snprintf(err->message, sizeof err->message, "%s", msg);
}

/* ------------------------------------------------------------------ exact float sums */

/* A float group sum is exact until the end and rounded once, so it equals
 * math.fsum of the group's values.  Three tools, cheapest first:
 *
 *  - integer values go to an exact 128-bit-range integer (acc.ihi/ilo);
 *  - other values go to Shewchuk's non-overlapping partials, a few kept
 *    inside the group: right for groups with a handful of floats;
 *  - a group whose partials outgrow that (many floats: decimal data needs
 *    5-8 partials and then every add walks them all) moves to a fixed-point
 *    accumulator over the whole double range, O(1) per add.  These cost
 *    ~580 bytes each, so past a budget (SA_BUDGET) groups spill partials to
 *    the heap instead.
 *
 * The fixed-point accumulator also recounts groups whose partials
 * overflowed (1e308 + 1e308 - 1e308 is 1e308 here, where math.fsum raises),
 * and tells a sum that really exceeds a double (SX_ERR_VALUE). */

/* Bit 0 of limb 0 weighs 2^-1074; each limb carries 32 bits plus headroom
 * for 2^28 adds between carry passes. */
#define SA_LIMBS 70
#define SA_M32 0xFFFFFFFFu
#define SA_BUDGET ((size_t)16 << 20)   /* bytes of accumulators per call: ~29000 */

typedef struct superacc {
    int64_t limb[SA_LIMBS];
    uint32_t adds;
    int nonfinite;
    double special;         /* the IEEE sum of the inf/nan inputs */
} superacc;

static void sa_carry(superacc *s)
{
    int k;
    for (k = 0; k < SA_LIMBS - 1; k++) {
        int64_t low = (int64_t)((uint64_t)s->limb[k] & SA_M32);
        s->limb[k + 1] += (s->limb[k] - low) / ((int64_t)1 << 32);  /* exact */
        s->limb[k] = low;
    }
    s->adds = 0;
}

/* x = m * 2^(ex - 1075) from its bits: the 53-bit significand lands at bit
 * ex - 1 of the accumulator, spread over three limbs, without branches on
 * the data. */
static inline void sa_add(superacc *s, double x)
{
    uint64_t bits, m, lo, hi;
    int64_t sign;
    int ex, k, sh;
    memcpy(&bits, &x, sizeof bits);
    ex = (int)((bits >> 52) & 0x7FF);
    if (ex == 0x7FF) {
        s->nonfinite = 1;
        s->special += x;
        return;
    }
    m = bits & (((uint64_t)1 << 52) - 1);
    if (ex != 0)
        m |= (uint64_t)1 << 52;
    else
        ex = 1;             /* subnormal: same scale as the smallest normal */
    k = (ex - 1) >> 5;
    sh = (ex - 1) & 31;
    lo = (m & SA_M32) << sh;
    hi = (m >> 32) << sh;
    sign = 1 - 2 * (int64_t)(bits >> 63);
    s->limb[k] += sign * (int64_t)(lo & SA_M32);
    s->limb[k + 1] += sign * (int64_t)((lo >> 32) + (hi & SA_M32));
    s->limb[k + 2] += sign * (int64_t)(hi >> 32);
    if (++s->adds >= (1u << 28))
        sa_carry(s);
}

static int sa_bit(const superacc *s, int64_t pos)
{
    return (int)(((uint64_t)s->limb[pos / 32] >> (pos % 32)) & 1u);
}

/* Round to the nearest double, ties to even.  Returns 0 when the exact sum
 * is too large for a double. */
static int sa_round(superacc *s, double *out)
{
    int64_t h, top, pos, q = 0;
    int neg, k;
    double r;
    if (s->nonfinite) {
        *out = s->special;
        return 1;
    }
    sa_carry(s);
    neg = s->limb[SA_LIMBS - 1] < 0;
    if (neg) {
        for (k = 0; k < SA_LIMBS; k++)
            s->limb[k] = -s->limb[k];
        sa_carry(s);
    }
    for (h = SA_LIMBS - 1; h >= 0 && s->limb[h] == 0; h--)
        ;
    if (h < 0) {
        *out = 0.0;
        return 1;
    }
    for (top = 32 * h + 31; !sa_bit(s, top); top--)
        ;
    if (top <= 52) {            /* at most 53 bits: exact, normal or not */
        for (pos = top; pos >= 0; pos--)
            q = (q << 1) | sa_bit(s, pos);
        r = ldexp((double)q, -1074);
    } else {
        int round, sticky = 0;
        int64_t low = top - 53;     /* the rounding bit */
        for (pos = top; pos > low; pos--)
            q = (q << 1) | sa_bit(s, pos);
        round = sa_bit(s, low);
        for (k = 0; k < low / 32 && !sticky; k++)
            sticky = s->limb[k] != 0;
        for (pos = (low / 32) * 32; pos < low && !sticky; pos++)
            sticky = sa_bit(s, pos);
        if (round && (sticky || (q & 1)))
            q++;
        r = ldexp((double)q, (int)(top - 52 - 1074));
        if (isinf(r))
            return 0;
    }
    *out = neg ? -r : r;
    return 1;
}

/* One group's running state. */
typedef struct acc {
    int64_t count;
    int64_t ihi, ilo;       /* exact sum of the integer values: ihi * 2^62 + ilo */
    double min, max;
    double fsum;            /* the rounded float sum, once finished */
    double *heap;           /* partials once they outgrow inl (cap > 0) */
    int32_t key, unit;
    int32_t npart, cap;
    int32_t sa;             /* index of its fixed-point accumulator, or -1 */
    uint8_t all_int, has_int, min_is_int, max_is_int;
    uint8_t overflow;       /* partials overflowed or saw inf/nan: recount */
    uint8_t fsum_done;      /* finish_sums set fsum without partials */
    double inl[NINLINE];    /* never read past npart: left uninitialised */
} acc;

/* The correctly rounded sum of non-overlapping partials (ascending
 * magnitude).  Summing from the top stops at the first inexact step; that
 * step rounded half-to-even, which is wrong when it was a tie and the
 * remaining partials lean the same way as the lost half: then round away. */
static double partials_round(const double *p, int32_t n)
{
    double hi, lo = 0.0, x, y, yr;
    if (n == 0)
        return 0.0;
    hi = p[--n];
    while (n > 0) {
        x = hi;
        y = p[--n];
        hi = x + y;
        yr = hi - x;
        lo = y - yr;
        if (lo != 0.0)
            break;
    }
    if (n > 0 && ((lo < 0.0 && p[n - 1] < 0.0) || (lo > 0.0 && p[n - 1] > 0.0))) {
        y = lo * 2.0;
        x = hi + y;
        yr = x - hi;
        if (y == yr)
            hi = x;
    }
    return hi;
}

/* ------------------------------------------------------------------ grouping */

typedef struct slot {
    int32_t key, g;         /* g < 0: empty */
} slot;

typedef struct agg {
    const sx_table *t;
    sx_func func;
    sx_by by;
    acc *accs;
    int32_t nacc, capacc;
    int32_t nheap;          /* groups whose partials are on the heap */
    superacc *sas;          /* the groups' fixed-point accumulators */
    int32_t nsa, capsa;
    /* key -> group: a direct table for keys base .. base + span - 1, an
     * open-addressing hash for anything else */
    int32_t *dense;
    int32_t base;
    uint32_t span;
    slot *hash;
    uint32_t hmask, hused;
    /* where keys come from: a column, or one constant key */
    const void *keycol;
    int keywidth;           /* bytes per key of keycol: 1, 2 or 4 */
    int32_t constkey;
    int month;              /* keycol is as_of, turned into months */
    int32_t *memo_day, *memo_key;   /* direct-mapped day -> month cache */
    /* a small aggregation never touches the heap: its groups and direct
     * table live here (accs and dense point at them until they outgrow it) */
    acc small_accs[NSMALL];
    int32_t small_dense[DENSE_SMALL];
} agg;

/* Give group a a fixed-point accumulator holding its partials; 0 when the
 * budget is spent or memory is short (the caller then keeps partials). */
static int to_superacc(agg *s, acc *a)
{
    const double *p = a->cap > 0 ? a->heap : a->inl;
    superacc *sa;
    int32_t j;
    if ((size_t)(s->nsa + 1) * sizeof *sa > SA_BUDGET)
        return 0;
    if (s->nsa == s->capsa) {
        int32_t ncap = s->capsa ? s->capsa * 2 : 4;
        superacc *ns = realloc(s->sas, (size_t)ncap * sizeof *ns);
        if (ns == NULL)
            return 0;
        s->sas = ns;
        s->capsa = ncap;
    }
    sa = &s->sas[s->nsa];
    memset(sa, 0, sizeof *sa);
    for (j = 0; j < a->npart; j++)
        sa_add(sa, p[j]);
    a->npart = 0;
    a->sa = s->nsa++;
    return 1;
}

/* Add x to a float group's sum.  Partials follow Shewchuk: each step splits
 * a + b exactly into a rounded sum and its error (Knuth's two-sum, which
 * needs no magnitude test), and zero errors are dropped without a branch.
 * Returns 0 on allocation failure.  Intermediate overflow marks the group
 * for a recount rather than failing as math.fsum does. */
static int float_add(agg *s, acc *a, double x)
{
    double *p;
    int32_t i = 0, j, n, room;
    if (a->sa >= 0) {
        sa_add(&s->sas[a->sa], x);
        return 1;
    }
    if (a->overflow)
        return 1;
    p = a->cap > 0 ? a->heap : a->inl;
    n = a->npart;
    room = a->cap > 0 ? a->cap : NINLINE;
    for (j = 0; j < n; j++) {
        double y = p[j], hi = x + y, yin = hi - x;
        double lo = (x - (hi - yin)) + (y - yin);
        p[i] = lo;              /* i <= j: overwrites only what was read */
        i += lo != 0.0;
        x = hi;
    }
    a->npart = i;
    if (!isfinite(x)) {
        a->overflow = 1;
        a->npart = 0;
        return 1;
    }
    /* like math.fsum, never keep a zero: a sum of zeros is +0.0 */
    if (x == 0.0)
        return 1;
    if (i == room) {
        int32_t ncap = room * 2;
        double *np;
        if (a->cap == 0 && to_superacc(s, a)) {
            sa_add(&s->sas[a->sa], x);
            return 1;
        }
        np = a->cap > 0 ? realloc(a->heap, (size_t)ncap * sizeof *np)
                        : malloc((size_t)ncap * sizeof *np);
        if (np == NULL)
            return 0;           /* the caller gives up on the whole result */
        if (a->cap == 0) {
            memcpy(np, a->inl, sizeof a->inl);
            s->nheap++;
        }
        a->heap = np;
        a->cap = ncap;
        p = np;
    }
    p[i++] = x;
    a->npart = i;
    return 1;
}

#define MONTH_MEMO 1024     /* a power of two: dates within ~3 years never collide */

/* Days since 1970-01-01 to year * 12 + (month - 1), by counting in 400-year
 * eras of 146097 days from 0000-03-01 (a leap day is then a year's last). */
static int32_t month_of_days(int32_t days)
{
    int64_t z = (int64_t)days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;       /* 0 = March */
    int64_t y = yoe + era * 400 + (mp >= 10);
    return (int32_t)(y * 12 + (mp < 10 ? mp + 2 : mp - 10));
}

static uint32_t hash_key(int32_t key)
{
    uint32_t h = (uint32_t)key * 0x9E3779B1u;
    return h ^ (h >> 16);
}

/* Double the room for groups, moving them off the inline storage the first
 * time; 0 on allocation failure. */
static int grow_accs(agg *s)
{
    int32_t ncap;
    acc *na;
    if (s->capacc >= INT32_MAX / 2)
        return 0;
    ncap = s->capacc * 2;     /* capacc starts at NSMALL */
    if (s->accs == s->small_accs) {
        na = alloc_array((size_t)ncap, sizeof *na);
        if (na != NULL)
            memcpy(na, s->small_accs, sizeof s->small_accs);
    } else {
        na = realloc(s->accs, (size_t)ncap * sizeof *na);
    }
    if (na == NULL)
        return 0;
    s->accs = na;
    s->capacc = ncap;
    return 1;
}

static inline int32_t new_group(agg *s, int32_t key)
{
    acc *a;
    if (s->nacc == s->capacc && !grow_accs(s))
        return -1;
    /* field by field: the partials need no zeros, and most calls make only
     * a few groups, where a memset of the whole struct costs more */
    a = &s->accs[s->nacc];
    a->count = 0;
    a->ihi = a->ilo = 0;
    a->min = a->max = a->fsum = 0.0;
    a->heap = NULL;
    a->key = key;
    a->unit = UNIT_UNSET;
    a->npart = a->cap = 0;
    a->sa = -1;
    a->all_int = 1;
    a->has_int = a->min_is_int = a->max_is_int = a->overflow = a->fsum_done = 0;
    return s->nacc++;
}

static int hash_grow(agg *s)
{
    uint32_t ncap = s->hash ? (s->hmask + 1) * 2 : 64, i;
    slot *nh;
    if (ncap == 0)
        return 0;
    nh = alloc_array(ncap, sizeof *nh);
    if (nh == NULL)
        return 0;
    for (i = 0; i < ncap; i++)
        nh[i].g = -1;
    if (s->hash != NULL) {
        for (i = 0; i <= s->hmask; i++) {
            uint32_t h;
            if (s->hash[i].g < 0)
                continue;
            /* every nh[].g was set to -1 above (the analyzer loses that) */
            /* NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult) */
            for (h = hash_key(s->hash[i].key) & (ncap - 1); nh[h].g >= 0; h = (h + 1) & (ncap - 1))
                ;
            nh[h] = s->hash[i];
        }
        free(s->hash);
    }
    s->hash = nh;
    s->hmask = ncap - 1;
    return 1;
}

/* The group of a key outside the direct table, made if new; -1 on
 * allocation failure. */
static int32_t lookup_hash(agg *s, int32_t key)
{
    uint32_t h;
    int32_t g;
    if (s->hash != NULL) {
        for (h = hash_key(key) & s->hmask; s->hash[h].g >= 0; h = (h + 1) & s->hmask)
            if (s->hash[h].key == key)
                return s->hash[h].g;
    }
    /* keep the load at most 1/2 so probes stay short */
    if (s->hash == NULL || (s->hused + 1) * 2 > s->hmask + 1)
        if (!hash_grow(s))
            return -1;
    if ((g = new_group(s, key)) < 0)
        return -1;
    for (h = hash_key(key) & s->hmask; s->hash[h].g >= 0; h = (h + 1) & s->hmask)
        ;
    s->hash[h].key = key;
    s->hash[h].g = g;
    s->hused++;
    return g;
}

/* The group of key, made if new; -1 on allocation failure (a failed
 * new_group leaves the direct-table entry empty). */
static inline int32_t lookup(agg *s, int32_t key)
{
    uint32_t o = (uint32_t)key - (uint32_t)s->base;
    if (o < s->span) {
        int32_t g = s->dense[o];
        return g >= 0 ? g : (s->dense[o] = new_group(s, key));
    }
    return lookup_hash(s, key);
}

/* Decide where keys come from and size the direct table. */
static int agg_setup(agg *s)
{
    const sx_table *t = s->t;
    int col = -1;
    int32_t day;
    s->keycol = NULL;
    s->constkey = 0;
    s->base = 0;
    s->span = 0;
    switch (s->by) {
    case SX_BY_NONE:
        s->span = 1;
        break;
    case SX_BY_PROJECT:
        s->keycol = t->project;
        s->keywidth = 4;
        if (t->nprojects > 0) {
            int32_t lo = t->projects[0].number, hi = t->projects[t->nprojects - 1].number;
            uint32_t span = (uint32_t)hi - (uint32_t)lo + 1;
            if (span <= (uint32_t)t->nprojects * 8u + 4096u) {
                s->base = lo;
                s->span = span;
            }
        }
        break;
    case SX_BY_METRIC: col = SX_COL_METRIC; break;
    case SX_BY_CATEGORY: col = SX_COL_CATEGORY; break;
    case SX_BY_UNIT: col = SX_COL_UNIT; break;
    case SX_BY_REGION: col = SX_COL_REGION; break;
    case SX_BY_AS_OF:
        s->keycol = t->as_of;
        s->keywidth = 4;
        break;
    case SX_BY_MONTH:
        s->keycol = t->as_of;
        s->keywidth = 4;
        s->month = 1;
        s->memo_day = alloc_array(2 * MONTH_MEMO, sizeof *s->memo_day);
        if (s->memo_day == NULL)
            return 0;
        s->memo_key = s->memo_day + MONTH_MEMO;
        /* every slot starts as a true pair, so no "empty" value is needed */
        for (day = 0; day < MONTH_MEMO; day++) {
            s->memo_day[day] = day;
            s->memo_key[day] = month_of_days(day);
        }
        break;
    default:
        break;
    }
    if (col >= 0) {
        /* codes are SX_NULL_CODE .. count - 1: always a direct table */
        s->base = SX_NULL_CODE;
        if (t->codes[col] != NULL) {
            s->keycol = t->codes[col];
            s->keywidth = t->code_width[col];
            s->span = (uint32_t)t->dicts[col].count + 1;
        } else {
            s->constkey = SX_NULL_CODE;     /* an absent column is all empty */
            s->span = 1;
        }
    }
    if (s->span > 0) {
        s->dense = s->span <= DENSE_SMALL ? s->small_dense
                                          : alloc_array(s->span, sizeof *s->dense);
        if (s->dense == NULL)
            return 0;
        memset(s->dense, 0xff, (size_t)s->span * sizeof *s->dense);   /* all -1 */
    }
    return 1;
}

/* Everything empty, with the inline storage in use; nothing to free yet.
 * (No memset of the whole struct: the inline groups are most of it.) */
static void agg_init(agg *s, const sx_table *t, sx_func func, sx_by by)
{
    s->t = t;
    s->func = func;
    s->by = by;
    s->accs = s->small_accs;
    s->nacc = 0;
    s->capacc = NSMALL;
    s->nheap = 0;
    s->sas = NULL;
    s->nsa = s->capsa = 0;
    s->dense = NULL;
    s->base = 0;
    s->span = 0;
    s->hash = NULL;
    s->hmask = s->hused = 0;
    s->keycol = NULL;
    s->keywidth = 4;
    s->constkey = 0;
    s->month = 0;
    s->memo_day = s->memo_key = NULL;
}

/* (Each free is behind a test: most calls have nothing to free.) */
static void agg_free(agg *s)
{
    int32_t g;
    for (g = 0; g < s->nacc && s->nheap > 0; g++)
        if (s->accs[g].cap > 0)
            free(s->accs[g].heap);
    if (s->accs != s->small_accs)
        free(s->accs);
    if (s->sas != NULL)
        free(s->sas);
    if (s->memo_day != NULL)
        free(s->memo_day);
    if (s->dense != s->small_dense)
        free(s->dense);
    if (s->hash != NULL)
        free(s->hash);
}

/* The group of each selected row of a block; 0 on allocation failure. */
static int block_groups(agg *s, int64_t start, const uint32_t *sel, size_t n, int32_t *gidx)
{
    size_t k;
    int32_t lastkey = 0, lastg = -1;
    if (s->keycol == NULL) {
        int32_t g = lookup(s, s->constkey);
        if (g < 0)
            return 0;
        for (k = 0; k < n; k++)
            gidx[k] = g;
        return 1;
    }
    if (s->month) {
        for (k = 0; k < n; k++) {
            int32_t d = ((const int32_t *)s->keycol)[start + sel[k]], mkey;
            uint32_t m = (uint32_t)d & (MONTH_MEMO - 1);
            if (s->memo_day[m] != d) {
                s->memo_day[m] = d;
                s->memo_key[m] = month_of_days(d);
            }
            mkey = s->memo_key[m];
            if (lastg < 0 || mkey != lastkey) {
                lastkey = mkey;
                if ((lastg = lookup(s, mkey)) < 0)
                    return 0;
            }
            gidx[k] = lastg;
        }
        return 1;
    }
    if (n == 0)
        return 1;
    /* One loop per key width, so each compiles to plain loads of it.  Rows
     * of a group often come together: look up only on a change. */
#define GROUP_LOOP(type)                                            \
    do {                                                            \
        const type *keys = (const type *)s->keycol + start;         \
        lastkey = keys[sel[0]];                                     \
        if ((lastg = lookup(s, lastkey)) < 0)                       \
            return 0;                                               \
        for (k = 0; k < n; k++) {                                   \
            int32_t key = keys[sel[k]];                             \
            if (key != lastkey) {                                   \
                lastkey = key;                                      \
                if ((lastg = lookup(s, key)) < 0)                   \
                    return 0;                                       \
            }                                                       \
            gidx[k] = lastg;                                        \
        }                                                           \
    } while (0)
    switch (s->keywidth) {
    case 1:
        /* int8 codes are small signed numbers, not characters (-1: empty) */
        GROUP_LOOP(int8_t);   /* NOLINT(bugprone-signed-char-misuse,cert-str34-c) */
        break;
    case 2:
        GROUP_LOOP(int16_t);
        break;
    default:
        GROUP_LOOP(int32_t);
        break;
    }
#undef GROUP_LOOP
    return 1;
}

/* Keep |ilo| < 2^62 so the next add of a value (|v| <= 2^53) or of another
 * group's ilo cannot overflow. */
static inline void carry_ilo(acc *a)
{
    if (a->ilo >= TWO62) {
        a->ilo -= TWO62;
        a->ihi++;
    } else if (a->ilo <= -TWO62) {
        a->ilo += TWO62;
        a->ihi--;
    }
}

static inline void merge_unit(acc *a, int32_t u)
{
    if (a->unit != u)
        a->unit = a->unit == UNIT_UNSET ? u : SX_MIXED_UNITS;
}

/* Integers within 2^53 go to the exact sum; the magnitude test also keeps a
 * mislabelled value from making the conversion undefined. */
static inline int exact_int(const sx_table *t, int64_t i, double v)
{
    return t->is_int[i] & (fabs(v) <= TWO53);
}

/* Feed one block's selected rows into their groups.  One loop per kind of
 * work so each inner loop does only what the function needs. */
static int block_feed(agg *s, int64_t start, const uint32_t *sel, size_t n, const int32_t *gidx)
{
    const sx_table *t = s->t;
    const void *units = t->codes[SX_COL_UNIT];
    int uw = t->code_width[SX_COL_UNIT];
    acc *accs = s->accs;
    size_t k;
    if (accs == NULL)   /* block_groups made the rows' groups: never here */
        return n == 0;
    switch (s->func) {
    case SX_COUNT:
        for (k = 0; k < n; k++) {
            acc *a = &accs[gidx[k]];
            a->count++;
            merge_unit(a, units ? sx_code_in(units, uw, start + sel[k]) : SX_NULL_CODE);
        }
        break;
    case SX_SUM:
    case SX_MEAN:
        for (k = 0; k < n; k++) {
            int64_t i = start + sel[k];
            acc *a = &accs[gidx[k]];
            double v = t->value[i];
            a->count++;
            merge_unit(a, units ? sx_code_in(units, uw, i) : SX_NULL_CODE);
            if (exact_int(t, i, v)) {
                a->has_int = 1;
                a->ilo += (int64_t)v;
                carry_ilo(a);
            } else {
                a->all_int = 0;
                /* the common float-heavy case stays inline */
                if (a->sa >= 0)
                    sa_add(&s->sas[a->sa], v);
                else if (!float_add(s, a, v))
                    return 0;
            }
        }
        break;
    default:    /* SX_MIN, SX_MAX */
        for (k = 0; k < n; k++) {
            int64_t i = start + sel[k];
            acc *a = &accs[gidx[k]];
            double v = t->value[i];
            int isint = exact_int(t, i, v);
            merge_unit(a, units ? sx_code_in(units, uw, i) : SX_NULL_CODE);
            if (a->count++ == 0) {
                a->min = a->max = v;
                a->min_is_int = a->max_is_int = (uint8_t)isint;
            } else {
                /* strict tests: on ties the first row stays */
                if (v < a->min) {
                    a->min = v;
                    a->min_is_int = (uint8_t)isint;
                }
                if (v > a->max) {
                    a->max = v;
                    a->max_is_int = (uint8_t)isint;
                }
            }
            a->all_int &= (uint8_t)isint;
        }
        break;
    }
    return 1;
}

/* Run fn over every selected row with its group (used for the rare second
 * looks: naming mixed units, recounting overflowed sums). */
typedef void (*row_fn)(agg *s, int32_t g, int64_t i, void *ctx);

/* The rows of the block [start, start + len) that q selects, as offsets
 * into sel; how many.  With no filter sel is the identity, built once per
 * pass (*identity is how far) and only as far as a block needs it (small
 * tables are common).  Not for a filter that selects nothing. */
static size_t select_block(const sxf_compiled *q, int64_t start, size_t len, uint32_t *sel,
                           size_t *identity)
{
    if (!q->all)
        return sxf_block(q, start, len, sel);
    for (; *identity < len; (*identity)++)
        sel[*identity] = (uint32_t)*identity;
    return len;
}

static int rescan(agg *s, const sxf_compiled *q, row_fn fn, void *ctx)
{
    uint32_t sel[SXF_BLOCK];
    int32_t gidx[SXF_BLOCK];
    int64_t start;
    size_t k, identity = 0;
    if (q->none)        /* no rows; and sxf_block is not for such a filter */
        return 1;
    for (start = 0; start < s->t->nrows; start += SXF_BLOCK) {
        size_t len = s->t->nrows - start < SXF_BLOCK ? (size_t)(s->t->nrows - start) : SXF_BLOCK;
        size_t n = select_block(q, start, len, sel, &identity);
        if (!block_groups(s, start, sel, n, gidx))
            return 0;
        for (k = 0; k < n; k++)
            fn(s, gidx[k], start + sel[k], ctx);
    }
    return 1;
}

/* ------------------------------------------------------------------ ordering */

typedef int (*less_fn)(const void *ctx, int32_t a, int32_t b);

/* Stable bottom-up merge sort of v[0..n) (qsort has no context pointer and
 * the order depends on the table).  Returns 0 on allocation failure. */
static int merge_sort(int32_t *v, size_t n, less_fn less, const void *ctx)
{
    int32_t small[NSMALL], *tmp, *src = v, *dst;
    size_t w, i;
    if (n < 2)
        return 1;
    /* Groups usually come in key order already (panels are written sorted,
     * and small keys fill in order): one pass finds that, with no malloc. */
    for (i = 1; i < n && !less(ctx, v[i], v[i - 1]); i++)
        ;
    if (i == n)
        return 1;
    if (n <= NSMALL)
        tmp = small;
    else if (n > SIZE_MAX / sizeof *tmp || (tmp = malloc(n * sizeof *tmp)) == NULL)
        return 0;
    dst = tmp;
    for (w = 1; w < n; w *= 2) {
        for (i = 0; i < n; i += 2 * w) {
            size_t l = i, mid = i + w < n ? i + w : n, r = mid, end = i + 2 * w < n ? i + 2 * w : n,
                   o = i;
            while (l < mid && r < end)
                dst[o++] = less(ctx, src[r], src[l]) ? src[r++] : src[l++];
            while (l < mid)
                dst[o++] = src[l++];
            while (r < end)
                dst[o++] = src[r++];
        }
        {
            int32_t *sw = src;
            src = dst;
            dst = sw;
        }
    }
    if (src != v)
        memcpy(v, src, n * sizeof *v);
    if (tmp != small)
        free(tmp);
    return 1;
}

/* Dictionary strings by UTF-8 bytes, shorter first on a common prefix, with
 * SX_NULL_CODE after every string. */
static int code_less(const sx_dict *d, int32_t a, int32_t b)
{
    size_t la, lb;
    const char *sa, *sb;
    int c;
    if (a == b)
        return 0;
    if (a == SX_NULL_CODE)
        return 0;
    if (b == SX_NULL_CODE)
        return 1;
    sa = sx_dict_str(d, a, &la);
    sb = sx_dict_str(d, b, &lb);
    c = memcmp(sa, sb, la < lb ? la : lb);
    return c < 0 || (c == 0 && la < lb);
}

static int group_less_num(const void *ctx, int32_t a, int32_t b)
{
    const agg *s = ctx;
    return s->accs[a].key < s->accs[b].key;
}

static int group_less_str(const void *ctx, int32_t a, int32_t b)
{
    const agg *s = ctx;
    int col = s->by == SX_BY_METRIC     ? SX_COL_METRIC
              : s->by == SX_BY_CATEGORY ? SX_COL_CATEGORY
              : s->by == SX_BY_UNIT     ? SX_COL_UNIT
                                        : SX_COL_REGION;
    return code_less(&s->t->dicts[col], s->accs[a].key, s->accs[b].key);
}

static int unit_less(const void *ctx, int32_t a, int32_t b)
{
    return code_less(ctx, a, b);
}

/* ------------------------------------------------------------------ errors */

typedef struct unit_seen {
    int32_t group;
    uint8_t *seen;          /* index code + 1 */
} unit_seen;

static void mark_unit(agg *s, int32_t g, int64_t i, void *ctx)
{
    unit_seen *u = ctx;
    if (g == u->group)
        u->seen[sx_code_at(s->t, SX_COL_UNIT, i) + 1] = 1;
}

/* Append up to max bytes of s (cut at a UTF-8 boundary, "..." marking a
 * cut; control bytes, NUL included, shown as '?') to buf at *pos, never
 * past lim. */
static void put_text(char *buf, size_t *pos, size_t lim, const char *s, size_t len, size_t max)
{
    size_t i, n = len;
    int cut = 0;
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
        cut = 1;
    }
    for (i = 0; i < n && *pos < lim; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[(*pos)++] = (char)(c < 0x20 || c == 0x7f ? '?' : c);
    }
    if (cut)
        for (i = 0; i < 3 && *pos < lim; i++)
            buf[(*pos)++] = '.';
}

/* "cannot sum figures in different units (CNY, USD); pass unit=... or
 * by=\"unit\"", naming the units of group g, sorted, shortened to fit. */
static int units_error(agg *s, const sxf_compiled *q, int32_t g, sx_error *err)
{
    static const char suffix[] = "); pass unit=... or by=\"unit\"";
    static const char more[] = ", ...";
    const sx_dict *d = &s->t->dicts[SX_COL_UNIT];
    const char *verb = s->func == SX_SUM    ? "sum"
                       : s->func == SX_MEAN ? "average"
                       : s->func == SX_MIN  ? "take the min of"
                                            : "take the max of";
    unit_seen u;
    int32_t *codes, n = 0, c, nu = s->t->codes[SX_COL_UNIT] ? d->count : 0;
    char msg[sizeof err->message];
    size_t pos, lim;

    u.group = g;
    u.seen = calloc((size_t)nu + 1, 1);
    codes = malloc(((size_t)nu + 1) * sizeof *codes);
    if (u.seen == NULL || codes == NULL || !rescan(s, q, mark_unit, &u)) {
        free(u.seen);
        free(codes);
        return 0;
    }
    for (c = -1; c < nu; c++)
        if (u.seen[c + 1])
            codes[n++] = c;
    if (!merge_sort(codes, (size_t)n, unit_less, d)) {
        free(u.seen);
        free(codes);
        return 0;
    }
    pos = (size_t)snprintf(msg, sizeof msg, "cannot %s figures in different units (", verb);
    lim = sizeof msg - 1 - (sizeof suffix - 1);
    for (c = 0; c < n; c++) {
        size_t len = 0, need;
        const char *str = codes[c] == SX_NULL_CODE ? "" : sx_dict_str(d, codes[c], &len);
        /* room for this unit (as shortened) plus ", ..." if more follow */
        need = (c > 0 ? 2 : 0) + (len > 40 ? 43 : len) + (c + 1 < n ? sizeof more - 1 : 0);
        if (pos + need > lim) {
            put_text(msg, &pos, lim, more + (c > 0 ? 0 : 2), sizeof more - 1 - (c > 0 ? 0 : 2),
                     sizeof more);
            break;
        }
        if (c > 0)
            put_text(msg, &pos, lim, ", ", 2, 2);
        put_text(msg, &pos, lim, str, len, 40);
    }
    memcpy(msg + pos, suffix, sizeof suffix);
    free(u.seen);
    free(codes);
    if (err != NULL) {
        err->status = SX_ERR_UNITS;
        err->line = err->column = 0;
        memcpy(err->message, msg, sizeof msg);
    }
    return 1;
}

/* ------------------------------------------------------------------ sums */

typedef struct recount {
    int32_t *slot_of;       /* per group: index into sums, or -1 */
    superacc *sums;
} recount;

static void recount_row(agg *s, int32_t g, int64_t i, void *ctx)
{
    recount *r = ctx;
    if (r->slot_of[g] >= 0)
        sa_add(&r->sums[r->slot_of[g]], s->t->value[i]);
}

/* Add the exact integer hi * 2^62 + lo to a group's float sum as a few
 * doubles that are each exact (at most 33 significant bits). */
static int add_exact_int(agg *s, acc *a, int64_t hi, int64_t lo)
{
    const double two31 = 2147483648.0, two62 = 4611686018427387904.0;
    int64_t qh = hi / ((int64_t)1 << 31), ql = lo / ((int64_t)1 << 31);
    int64_t rh = hi - qh * ((int64_t)1 << 31), rl = lo - ql * ((int64_t)1 << 31);
    if (rl != 0 && !float_add(s, a, (double)rl))
        return 0;
    if (ql != 0 && !float_add(s, a, (double)ql * two31))
        return 0;
    if (rh != 0 && !float_add(s, a, (double)rh * two62))
        return 0;
    if (qh != 0 && !float_add(s, a, (double)qh * two31 * two62))
        return 0;
    return 1;
}

/* Fill every group's fsum; SX_ERR_VALUE when a sum does not fit a double. */
static sx_status finish_sums(agg *s, const sxf_compiled *q, sx_error *err)
{
    int32_t g, nover = 0;
    recount r = {NULL, NULL};
    sx_status st = SX_OK;
    for (g = 0; g < s->nacc; g++) {
        acc *a = &s->accs[g];
        if (a->overflow) {
            nover++;
        } else if (a->npart == 0 && a->sa < 0 && a->ihi == 0) {
            /* no floats (or none left): the sum is the integer ilo, and
             * converting it rounds it once, as the partials would */
            a->fsum = (double)a->ilo;
            a->fsum_done = 1;
        } else if (a->has_int && !add_exact_int(s, a, a->ihi, a->ilo)) {
            goto nomem;
        }
    }
    if (nover > 0) {
        int32_t k = 0;
        r.slot_of = malloc((size_t)s->nacc * sizeof *r.slot_of);
        r.sums = calloc((size_t)nover, sizeof *r.sums);
        if (r.slot_of == NULL || r.sums == NULL)
            goto nomem;
        for (g = 0; g < s->nacc; g++)
            r.slot_of[g] = s->accs[g].overflow ? k++ : -1;
        if (!rescan(s, q, recount_row, &r))
            goto nomem;
    }
    for (g = 0; g < s->nacc; g++) {
        acc *a = &s->accs[g];
        double v;
        if (a->fsum_done)
            continue;
        if (a->overflow || a->sa >= 0) {
            /* slot_of[] is made, and set for every group, when any overflowed */
            /* NOLINTNEXTLINE(clang-analyzer-core.uninitialized.ArraySubscript,clang-analyzer-core.NullDereference) */
            superacc *sa = a->overflow ? &r.sums[r.slot_of[g]] : &s->sas[a->sa];
            if (!sa_round(sa, &v)) {
                set_err(err, SX_ERR_VALUE, "sum overflows a double");
                st = SX_ERR_VALUE;
                goto out;
            }
        } else {
            v = partials_round(a->cap > 0 ? a->heap : a->inl, a->npart);
        }
        a->fsum = v;
    }
    goto out;
nomem:
    st = SX_ERR_NOMEM;
    set_err(err, st, "out of memory");
out:
    free(r.slot_of);
    free(r.sums);
    return st;
}

/* ------------------------------------------------------------------ entry */

static sx_bigint bigint_canon(int64_t hi, int64_t lo)
{
    sx_bigint v;
    /* one sign for both halves, so equal values look equal */
    if (hi > 0 && lo < 0) {
        hi--;
        lo += TWO62;
    } else if (hi < 0 && lo > 0) {
        hi++;
        lo -= TWO62;
    }
    v.hi = hi;
    v.lo = lo;
    return v;
}

/* Feed rows [from, to) that q selects into s; 0 on allocation failure. */
static int feed_range(agg *s, const sxf_compiled *q, int64_t from, int64_t to)
{
    uint32_t sel[SXF_BLOCK];
    int32_t gidx[SXF_BLOCK];
    size_t identity = 0;
    int64_t start;
    if (q->none)
        return 1;
    for (start = from; start < to; start += SXF_BLOCK) {
        size_t len = to - start < SXF_BLOCK ? (size_t)(to - start) : SXF_BLOCK;
        size_t n = select_block(q, start, len, sel, &identity);
        if (n == 0)
            continue;
        if (!block_groups(s, start, sel, n, gidx) || !block_feed(s, start, sel, n, gidx))
            return 0;
    }
    return 1;
}

/* Add the fixed-point accumulator b into a (both exact: limb by limb). */
static void sa_merge(superacc *a, superacc *b)
{
    int k;
    sa_carry(a);
    sa_carry(b);
    for (k = 0; k < SA_LIMBS; k++)
        a->limb[k] += b->limb[k];
    sa_carry(a);
    a->nonfinite |= b->nonfinite;
    a->special += b->special;
}

/* Fold group b of the other half (s2, the later rows) into s's group of the
 * same key; 0 on allocation failure.  Everything stays exact: integer sums
 * add, partials are added one by one, accumulators limb by limb; a group
 * that cannot get an accumulator within the budget is recounted instead,
 * as an overflowed one is.  On equal extremes the earlier rows' stays. */
static int merge_group(agg *s, agg *s2, const acc *b)
{
    int32_t g = lookup(s, b->key);
    acc *a;
    if (g < 0)
        return 0;
    a = &s->accs[g];
    if (b->unit != UNIT_UNSET)
        merge_unit(a, b->unit);
    switch (s->func) {
    case SX_COUNT:
        break;
    case SX_SUM:
    case SX_MEAN:
        a->has_int |= b->has_int;
        a->all_int &= b->all_int;
        a->ihi += b->ihi;
        a->ilo += b->ilo;       /* each |ilo| < 2^62: no overflow */
        carry_ilo(a);
        if (a->overflow || b->overflow) {
            a->overflow = 1;
        } else if (b->sa >= 0) {
            if (a->sa < 0 && !to_superacc(s, a))
                a->overflow = 1;
            else
                sa_merge(&s->sas[a->sa], &s2->sas[b->sa]);
        } else {
            const double *p = b->cap > 0 ? b->heap : b->inl;
            int32_t j;
            for (j = 0; j < b->npart; j++) {
                if (a->sa >= 0)
                    sa_add(&s->sas[a->sa], p[j]);
                else if (!float_add(s, a, p[j]))
                    return 0;
            }
        }
        break;
    default:    /* SX_MIN, SX_MAX */
        if (b->count == 0)
            break;
        if (a->count == 0 || b->min < a->min) {
            a->min = b->min;
            a->min_is_int = b->min_is_int;
        }
        if (a->count == 0 || b->max > a->max) {
            a->max = b->max;
            a->max_is_int = b->max_is_int;
        }
        a->all_int = a->count == 0 ? b->all_int : (uint8_t)(a->all_int & b->all_int);
        break;
    }
    a->count += b->count;
    return 1;
}

#ifdef SX_THREADS
typedef struct half_job {
    agg *s;
    const sxf_compiled *q;
    int64_t from, to;
    int ok;
} half_job;

static void *run_half(void *arg)
{
    half_job *job = arg;
    job->ok = feed_range(job->s, job->q, job->from, job->to);
    return NULL;
}
#endif

/* Feed every row q selects into s: on two threads for a large table. */
static int feed_all(agg *s, const sxf_compiled *q)
{
    const sx_table *t = s->t;
#ifdef SX_THREADS
    if (t->nrows >= SX_AGG_PARALLEL_ROWS && t->nrows >= 2 && !q->none) {
        agg s2;
        pthread_t thread;
        int32_t g;
        int ok;
        /* the later half to a second thread */
        half_job job = {&s2, q, t->nrows / 2, t->nrows, 0};
        agg_init(&s2, t, s->func, s->by);
        if (!agg_setup(&s2)) {
            agg_free(&s2);
            return 0;
        }
        int started = pthread_create(&thread, NULL, run_half, &job) == 0;
        ok = feed_range(s, q, 0, job.from);
        if (started)
            pthread_join(thread, NULL);
        else
            run_half(&job);     /* no thread to be had: this one does it */
        ok = ok && job.ok;
        for (g = 0; ok && g < s2.nacc; g++)
            ok = merge_group(s, &s2, &s2.accs[g]);
        agg_free(&s2);
        return ok;
    }
#endif
    return feed_range(s, q, 0, t->nrows);
}

sx_status sx_aggregate(const sx_table *t, const sx_filter *f, sx_func func, sx_by by,
                       sx_result *out, sx_error *err)
{
    agg s;
    sxf_compiled q;
    int32_t small_order[NSMALL], *order = NULL, g;
    int64_t total = 0;
    sx_status st = SX_OK;
    size_t k;

    if (out != NULL) {
        out->ngroups = 0;
        out->groups = NULL;
    }
    if (t == NULL || out == NULL) {
        set_err(err, SX_ERR_VALUE, "no table or no result to fill");
        return SX_ERR_VALUE;
    }
    if ((unsigned)func >= SX_NFUNCS) {
        set_err(err, SX_ERR_VALUE, "unknown aggregation function");
        return SX_ERR_VALUE;
    }
    if ((unsigned)by >= SX_NBYS) {
        set_err(err, SX_ERR_VALUE, "unknown grouping");
        return SX_ERR_VALUE;
    }
    agg_init(&s, t, func, by);
    if (!agg_setup(&s))
        goto nomem;
    if (by == SX_BY_NONE && lookup(&s, 0) < 0)    /* always one group */
        goto nomem;

    sxf_compile(&q, t, f);
    if (!feed_all(&s, &q))
        goto nomem;

    if (func == SX_MEAN || func == SX_MIN || func == SX_MAX)
        for (g = 0; g < s.nacc; g++)
            total += s.accs[g].count;
    if (total == 0 && (func == SX_MEAN || func == SX_MIN || func == SX_MAX)) {
        char msg[32];
        snprintf(msg, sizeof msg, "%s of no figures", sx_func_names[func]);
        set_err(err, SX_ERR_EMPTY, msg);
        st = SX_ERR_EMPTY;
        goto out;
    }

    order = s.nacc <= NSMALL ? small_order : alloc_array((size_t)s.nacc, sizeof *order);
    if (order == NULL)
        goto nomem;
    for (g = 0; g < s.nacc; g++)
        order[g] = g;
    if (by == SX_BY_METRIC || by == SX_BY_CATEGORY || by == SX_BY_UNIT || by == SX_BY_REGION) {
        if (!merge_sort(order, (size_t)s.nacc, group_less_str, &s))
            goto nomem;
    } else {
        /* numeric keys usually come in order: check that inline first */
        const acc *accs = s.accs;
        int32_t nacc = s.nacc;
        for (g = 1; g < nacc && accs[g - 1].key < accs[g].key; g++)
            ;
        if (g < nacc && !merge_sort(order, (size_t)nacc, group_less_num, &s))
            goto nomem;
    }

    if (func != SX_COUNT && by != SX_BY_UNIT) {
        for (k = 0; k < (size_t)s.nacc; k++) {
            if (s.accs[order[k]].unit == SX_MIXED_UNITS) {
                if (!units_error(&s, &q, order[k], err))
                    goto nomem;
                st = SX_ERR_UNITS;
                goto out;
            }
        }
    }
    if ((func == SX_SUM || func == SX_MEAN) && (st = finish_sums(&s, &q, err)) != SX_OK)
        goto out;

    if (s.nacc > 0) {
        sx_group *gs = s.nacc <= SX_RESULT_INLINE ? out->inline_groups
                                                  : malloc((size_t)s.nacc * sizeof *gs);
        if (gs == NULL)
            goto nomem;
        for (k = 0; k < (size_t)s.nacc; k++) {
            const acc *a = &s.accs[order[k]];
            sx_group *o = &gs[k];
            memset(o, 0, sizeof *o);
            o->key = a->key;
            o->count = a->count;
            o->unit = a->unit == UNIT_UNSET ? SX_NULL_CODE : a->unit;
            o->all_int = func == SX_COUNT ? 1 : a->all_int;
            if (func == SX_SUM || func == SX_MEAN) {
                o->isum = bigint_canon(a->ihi, a->ilo);
                o->fsum = a->fsum;
            } else if (func == SX_MIN || func == SX_MAX) {
                o->min = a->min;
                o->max = a->max;
                o->min_is_int = a->min_is_int;
                o->max_is_int = a->max_is_int;
            }
        }
        out->groups = gs;
        out->ngroups = s.nacc;
    }
    goto out;
nomem:
    st = SX_ERR_NOMEM;
    set_err(err, st, "out of memory");
out:
    if (order != small_order)
        free(order);
    agg_free(&s);
    return st;
}

void sx_result_free(sx_result *r)
{
    if (r == NULL)
        return;
    if (r->groups != r->inline_groups)
        free(r->groups);
    r->groups = NULL;
    r->ngroups = 0;
}

/* ------------------------------------------------------------------ bigint */

void sx_bigint_format(sx_bigint v, char *buf)
{
    /* v = hi * 2^62 + lo as a 128-bit two's complement (H, L), then its
     * magnitude in base-2^32 limbs, divided down by 10^9 */
    uint64_t uh = (uint64_t)v.hi, ul = (uint64_t)v.lo, L, H, lo2;
    uint32_t limb[4];
    char digits[48];
    int nd = 0, neg, i;

    L = uh << 62;
    H = (uh >> 2) | (v.hi < 0 ? (uint64_t)3 << 62 : 0);
    lo2 = L + ul;
    H += (lo2 < L) + (v.lo < 0 ? UINT64_MAX : 0);
    L = lo2;
    neg = (H >> 63) != 0;
    if (neg) {
        L = ~L + 1;
        H = ~H + (L == 0);
    }
    limb[0] = (uint32_t)(H >> 32);
    limb[1] = (uint32_t)H;
    limb[2] = (uint32_t)(L >> 32);
    limb[3] = (uint32_t)L;
    do {
        uint64_t rem = 0;
        int j, zero = 1;
        for (i = 0; i < 4; i++) {
            uint64_t cur = (rem << 32) | limb[i];
            limb[i] = (uint32_t)(cur / 1000000000u);
            rem = cur % 1000000000u;
            zero &= limb[i] == 0;
        }
        /* nine digits per chunk, the last (most significant) unpadded */
        for (j = 0; j < 9 && (!zero || rem != 0 || j == 0); j++) {
            digits[nd++] = (char)('0' + rem % 10);
            rem /= 10;
        }
        if (zero)
            break;
    } while (1);
    i = 0;
    if (neg)
        buf[i++] = '-';
    while (nd > 0)
        buf[i++] = digits[--nd];
    buf[i] = '\0';
}
