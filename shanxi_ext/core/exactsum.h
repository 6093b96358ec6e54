/*
 * exactsum.h -- private to the aggregation: exact sums.  A fixed-point
 * accumulator over the whole double range (superacc), the correctly rounded
 * sum of Shewchuk partials, and integer sums kept as hi * 2^62 + lo.  The
 * add to an accumulator is inline (it runs for every float row); the rest
 * is in exactsum.c.
 */
#ifndef SHANXI_CORE_EXACTSUM_H
#define SHANXI_CORE_EXACTSUM_H

#include <stdint.h>
#include <string.h>

#include "internal.h" /* SX_INTERNAL_BEGIN */
#include "shanxi/core.h"

SX_INTERNAL_BEGIN

#define TWO62 ((int64_t)1 << 62)
#define TWO53 9007199254740992.0

/* Bit 0 of limb 0 weighs 2^-1074; each limb carries 32 bits plus headroom
 * for 2^28 adds between carry passes. */
#define SA_LIMBS  70
#define SA_M32    0xFFFFFFFFu
#define SA_BUDGET ((size_t)16 << 20) /* bytes of accumulators per call: ~29000 */

typedef struct superacc {
    int64_t limb[SA_LIMBS];
    uint32_t adds;
    int nonfinite;
    double special; /* the IEEE sum of the inf/nan inputs */
} superacc;

/* Carry every limb into the next (exact); sxs_add calls it before the
 * limbs could overflow. */
void sxs_carry(superacc *s);

/* x = m * 2^(ex - 1075) from its bits: the 53-bit significand lands at bit
 * ex - 1 of the accumulator, spread over three limbs, without branches on
 * the data. */
static inline void
sxs_add(superacc *s, double x)
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
        ex = 1; /* subnormal: same scale as the smallest normal */
    k = (ex - 1) >> 5;
    sh = (ex - 1) & 31;
    lo = (m & SA_M32) << sh;
    hi = (m >> 32) << sh;
    sign = 1 - 2 * (int64_t)(bits >> 63);
    s->limb[k] += sign * (int64_t)(lo & SA_M32);
    s->limb[k + 1] += sign * (int64_t)((lo >> 32) + (hi & SA_M32));
    s->limb[k + 2] += sign * (int64_t)(hi >> 32);
    if (++s->adds >= (1u << 28))
        sxs_carry(s);
}

/* Keep |lo| < 2^62 in the exact integer hi * 2^62 + lo, so the next add of
 * a value (|v| <= 2^53) or of another sum's lo cannot overflow. */
static inline void
sxs_carry_int(int64_t *hi, int64_t *lo)
{
    if (*lo >= TWO62) {
        *lo -= TWO62;
        (*hi)++;
    } else if (*lo <= -TWO62) {
        *lo += TWO62;
        (*hi)--;
    }
}

/* The exact integer hi * 2^62 + lo as four doubles, each exact (at most 33
 * significant bits), for a float sum to take in this order; their sum is
 * the integer. */
static inline void
sxs_int_doubles(int64_t hi, int64_t lo, double out[4])
{
    const double two31 = 2147483648.0, two62 = 4611686018427387904.0;
    int64_t qh = hi / ((int64_t)1 << 31), ql = lo / ((int64_t)1 << 31);
    int64_t rh = hi - qh * ((int64_t)1 << 31), rl = lo - ql * ((int64_t)1 << 31);
    out[0] = (double)rl;
    out[1] = (double)ql * two31;
    out[2] = (double)rh * two62;
    out[3] = (double)qh * two31 * two62;
}

/* Round to the nearest double, ties to even; 0 when the exact sum is too
 * large for a double. */
int sxs_round(superacc *s, double *out);
/* a += b, exactly. */
void sxs_merge(superacc *a, superacc *b);
/* The correctly rounded sum of n non-overlapping partials in ascending
 * magnitude. */
double sxs_partials_round(const double *p, int32_t n);
/* hi * 2^62 + lo with one sign for both halves. */
sx_bigint sxs_bigint_canon(int64_t hi, int64_t lo);

SX_INTERNAL_END

#endif
