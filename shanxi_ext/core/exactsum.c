/*
 * exactsum.c -- exact sums for sx_aggregate.
 *
 * A float group sum is exact until the end and rounded once, so it equals
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
 * and tells a sum that really exceeds a double (SX_ERR_VALUE).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"

void
sxs_carry(superacc *s)
{
    for (int k = 0; k < SA_LIMBS - 1; k++) {
        int64_t low = (int64_t)((uint64_t)s->limb[k] & SA_M32);
        s->limb[k + 1] += (s->limb[k] - low) / ((int64_t)1 << 32); /* exact */
        s->limb[k] = low;
    }
    s->adds = 0;
}

static int
sa_bit(const superacc *s, int64_t pos)
{
    return (int)(((uint64_t)s->limb[pos / 32] >> (pos % 32)) & 1u);
}

/* Round to the nearest double, ties to even.  Returns 0 when the exact sum
 * is too large for a double. */
int
sxs_round(superacc *s, double *out)
{
    int64_t h, top, q = 0;
    int neg;
    double r;
    if (s->nonfinite) {
        *out = s->special;
        return 1;
    }
    sxs_carry(s);
    neg = s->limb[SA_LIMBS - 1] < 0;
    if (neg) {
        for (int k = 0; k < SA_LIMBS; k++)
            s->limb[k] = -s->limb[k];
        sxs_carry(s);
    }
    for (h = SA_LIMBS - 1; h >= 0 && s->limb[h] == 0; h--)
        ;
    if (h < 0) {
        *out = 0.0;
        return 1;
    }
    for (top = 32 * h + 31; !sa_bit(s, top); top--)
        ;
    if (top <= 52) { /* at most 53 bits: exact, normal or not */
        for (int64_t pos = top; pos >= 0; pos--)
            q = (q << 1) | sa_bit(s, pos);
        r = ldexp((double)q, -1074);
    } else {
        int round, sticky = 0;
        int64_t low = top - 53; /* the rounding bit */
        for (int64_t pos = top; pos > low; pos--)
            q = (q << 1) | sa_bit(s, pos);
        round = sa_bit(s, low);
        for (int k = 0; k < low / 32 && !sticky; k++)
            sticky = s->limb[k] != 0;
        for (int64_t pos = (low / 32) * 32; pos < low && !sticky; pos++)
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

/* Add the fixed-point accumulator b into a (both exact: limb by limb). */
void
sxs_merge(superacc *a, superacc *b)
{
    sxs_carry(a);
    sxs_carry(b);
    for (int k = 0; k < SA_LIMBS; k++)
        a->limb[k] += b->limb[k];
    sxs_carry(a);
    a->nonfinite |= b->nonfinite;
    a->special += b->special;
}

/* The correctly rounded sum of non-overlapping partials (ascending
 * magnitude).  Summing from the top stops at the first inexact step; that
 * step rounded half-to-even, which is wrong when it was a tie and the
 * remaining partials lean the same way as the lost half: then round away. */
double
sxs_partials_round(const double *p, int32_t n)
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

/* Give group a a fixed-point accumulator holding its partials; 0 when the
 * budget is spent or memory is short (the caller then keeps partials). */
int
sxa_to_superacc(agg *s, acc *a)
{
    const double *p = a->cap > 0 ? a->heap : a->inl;
    superacc *sa;
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
    for (int32_t j = 0; j < a->npart; j++)
        sxs_add(sa, p[j]);
    a->npart = 0;
    a->sa = s->nsa++;
    return 1;
}

/* Add x to a float group's sum.  Partials follow Shewchuk: each step splits
 * a + b exactly into a rounded sum and its error (Knuth's two-sum, which
 * needs no magnitude test), and zero errors are dropped without a branch.
 * Returns 0 on allocation failure.  Intermediate overflow marks the group
 * for a recount rather than failing as math.fsum does. */
int
sxa_float_add(agg *s, acc *a, double x)
{
    double *p;
    int32_t i = 0, n, room;
    if (a->sa >= 0) {
        sxs_add(&s->sas[a->sa], x);
        return 1;
    }
    if (a->overflow)
        return 1;
    p = a->cap > 0 ? a->heap : a->inl;
    n = a->npart;
    room = a->cap > 0 ? a->cap : NINLINE;
    for (int32_t j = 0; j < n; j++) {
        double y = p[j], hi = x + y, yin = hi - x;
        double lo = (x - (hi - yin)) + (y - yin);
        p[i] = lo; /* i <= j: overwrites only what was read */
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
        if (a->cap == 0 && sxa_to_superacc(s, a)) {
            sxs_add(&s->sas[a->sa], x);
            return 1;
        }
        np = a->cap > 0 ? realloc(a->heap, (size_t)ncap * sizeof *np)
                        : malloc((size_t)ncap * sizeof *np);
        if (np == NULL)
            return 0; /* the caller gives up on the whole result */
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

/* Add the exact integer hi * 2^62 + lo to a group's float sum as a few
 * doubles that are each exact (zeros left out: an add walks the partials). */
int
sxa_add_exact_int(agg *s, acc *a, int64_t hi, int64_t lo)
{
    double parts[4];
    sxs_int_doubles(hi, lo, parts);
    for (int i = 0; i < 4; i++)
        if (parts[i] != 0.0 && !sxa_float_add(s, a, parts[i]))
            return 0;
    return 1;
}

sx_bigint
sxs_bigint_canon(int64_t hi, int64_t lo)
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

/* ------------------------------------------------------------------ bigint */

void
sx_bigint_format(sx_bigint v, char *buf)
{
    /* v = hi * 2^62 + lo as a 128-bit two's complement (H, L), then its
     * magnitude in base-2^32 limbs, divided down by 10^9 */
    uint64_t uh = (uint64_t)v.hi, ul = (uint64_t)v.lo, L, H, lo2;
    uint32_t limb[4];
    char digits[48];
    int nd = 0, neg;

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
        int zero = 1;
        for (int i = 0; i < 4; i++) {
            uint64_t cur = (rem << 32) | limb[i];
            limb[i] = (uint32_t)(cur / 1000000000u);
            rem = cur % 1000000000u;
            zero &= limb[i] == 0;
        }
        /* nine digits per chunk, the last (most significant) unpadded */
        for (int j = 0; j < 9 && (!zero || rem != 0 || j == 0); j++) {
            digits[nd++] = (char)('0' + rem % 10);
            rem /= 10;
        }
        if (zero)
            break;
    } while (1);
    int i = 0;
    if (neg)
        buf[i++] = '-';
    while (nd > 0)
        buf[i++] = digits[--nd];
    buf[i] = '\0';
}
