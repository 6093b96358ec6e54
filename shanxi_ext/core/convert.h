/*
 * convert.h -- private to the parser: field text to values.  Project
 * numbers, ISO dates to days and decimal numbers to correctly rounded
 * doubles, the common cases inline (they run for every row); what is rare
 * (the long decimals, through a C-locale strtod) is in convert.c.
 */
#ifndef SHANXI_CORE_CONVERT_H
#define SHANXI_CORE_CONVERT_H

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h" /* sx_days_in_month */
#include "shanxi/core.h"

SX_INTERNAL_BEGIN

/* Correctly rounded conversion of NUL-terminated text already checked to be
 * a decimal number, whatever the process locale (convert.c). */
double sxp_strtod_c(const char *z);

static inline int
sxp_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

enum { PROJECT_BAD = 0, PROJECT_OK = 1, PROJECT_TOO_LARGE = 2 };

/* ASCII digits only, 1..2147483647: PROJECT_OK; digits of a larger number:
 * PROJECT_TOO_LARGE (so the message can say the limit). */
static inline int
sxp_parse_project_number(const char *s, size_t n, int32_t *out)
{
    if (n == 0)
        return PROJECT_BAD;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!sxp_is_digit(s[i]))
            return PROJECT_BAD;
        if (v <= INT32_MAX) /* past it, only whether the rest are digits counts */
            v = v * 10 + (s[i] - '0');
    }
    if (v > INT32_MAX)
        return PROJECT_TOO_LARGE;
    if (v == 0)
        return PROJECT_BAD;
    *out = (int32_t)v;
    return PROJECT_OK;
}

enum { DATE_OK, DATE_FORMAT, DATE_UNREAL };

static inline int
sxp_parse_date(const char *s, size_t n, int32_t *days)
{
    if (n != 10 || s[4] != '-' || s[7] != '-')
        return DATE_FORMAT;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !sxp_is_digit(s[i]))
            return DATE_FORMAT;
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    if (y < 1 || m < 1 || m > 12 || d < 1)
        return DATE_UNREAL;
    if ((unsigned)d > sx_days_in_month(y, (unsigned)m))
        return DATE_UNREAL;
    *days = sx_days_from_civil(y, (unsigned)m, (unsigned)d);
    return DATE_OK;
}
enum { VALUE_OK, VALUE_BAD, VALUE_RANGE, VALUE_NOMEM }; /* RANGE: beyond a double */

/* The common value: D+, D+.D* or .D+ with at most 15 digits in all, so the
 * digits make an integer below 2^53 and, with a point, its one division by
 * an exact power of ten is the correct rounding (as in the general path
 * below, which gives the same double).  0 when s is not of that form. */
static inline int
sxp_parse_short_decimal(const char *s, size_t n, double *out, uint8_t *is_int)
{
    static const double powers_of_ten[16] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                             1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    if (n == 0 || n > 16)
        return 0;
    uint64_t v = 0;
    size_t i = 0, point = n;
    for (; i < n; i++) {
        unsigned d = (unsigned)(unsigned char)s[i] - '0';
        if (d > 9)
            break;
        v = v * 10 + d;
    }
    if (i < n) {
        if (s[i] != '.')
            return 0;
        point = i;
        for (i++; i < n; i++) {
            unsigned d = (unsigned)(unsigned char)s[i] - '0';
            if (d > 9)
                return 0;
            v = v * 10 + d;
        }
    }
    size_t digits = point == n ? n : n - 1;
    if (digits == 0 || digits > 15)
        return 0;
    if (point == n) {
        *out = (double)v;
        *is_int = 1;
    } else {
        *out = (double)v / powers_of_ten[n - 1 - point];
        *is_int = 0;
    }
    return 1;
}

#if defined(__SIZEOF_INT128__)
/* q * 2^scale correctly rounded to a double, q's bits beyond the 53 kept
 * rounding half to even; `inexact`: the true value is a little more than q
 * (less than one unit of its last bit, which is then below the kept ones).
 * The result must be a normal double. */
static inline double
sxp_round_scaled(unsigned __int128 q, int inexact, int scale)
{
    uint64_t hi = (uint64_t)(q >> 64);
    int bits = hi ? 128 - __builtin_clzll(hi) : 64 - __builtin_clzll((uint64_t)q);
    int shift = bits > 53 ? bits - 53 : 0;
    uint64_t top = (uint64_t)(q >> shift);
    if (shift > 0) {
        unsigned __int128 rest = q & (((unsigned __int128)1 << shift) - 1);
        unsigned __int128 half = (unsigned __int128)1 << (shift - 1);
        if (rest > half || (rest == half && (inexact || (top & 1))))
            top++; /* 2^53 at most, still exact */
    }
    /* times an exact power of two: no second rounding */
    uint64_t bits2 = (uint64_t)(1023 + scale + shift) << 52;
    double two;
    memcpy(&two, &bits2, sizeof two);
    return (double)top * two;
}

/* mantissa (not 0) * 10^e for |e| <= 19, correctly rounded: the product
 * exactly, or the quotient to 63 or 64 bits and whether a remainder is
 * left, then rounded once. */
static inline double
sxp_decimal_exact(uint64_t mantissa, int e)
{
    static const uint64_t powers[20] = {
        UINT64_C(1),
        UINT64_C(10),
        UINT64_C(100),
        UINT64_C(1000),
        UINT64_C(10000),
        UINT64_C(100000),
        UINT64_C(1000000),
        UINT64_C(10000000),
        UINT64_C(100000000),
        UINT64_C(1000000000),
        UINT64_C(10000000000),
        UINT64_C(100000000000),
        UINT64_C(1000000000000),
        UINT64_C(10000000000000),
        UINT64_C(100000000000000),
        UINT64_C(1000000000000000),
        UINT64_C(10000000000000000),
        UINT64_C(100000000000000000),
        UINT64_C(1000000000000000000),
        UINT64_C(10000000000000000000),
    };
    if (e >= 0)
        return sxp_round_scaled((unsigned __int128)mantissa * powers[e], 0, 0);
    uint64_t d = powers[-e];
    /* mantissa at the top of 64 bits and shifted by one bit less than d
     * has: the quotient is then in [2^62, 2^64) */
    int up = __builtin_clzll(mantissa), dbits = 64 - __builtin_clzll(d);
    unsigned __int128 n = (unsigned __int128)(mantissa << up) << (dbits - 1);
    uint64_t q = (uint64_t)(n / d);
    int inexact = n % d != 0;
    return sxp_round_scaled(q, inexact, -(up + dbits - 1));
}
#endif

/* [+-]?(D+(.D*)?|.D+)([eE][+-]?D+)?, finite.  is_int: no point, no exponent
 * and |v| <= 2^53, so the double holds the integer exactly. */
static inline int
sxp_parse_value(const char *s, size_t n, double *out, uint8_t *is_int)
{
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
    if (sxp_parse_short_decimal(s, n, out, is_int))
        return VALUE_OK;
#endif
    const char *p = s, *end = s + n;
    int negative = 0;
    if (p < end && (*p == '+' || *p == '-')) {
        negative = *p == '-';
        p++;
    }
    uint64_t mantissa = 0;   /* the first 19 significant digits */
    int kept = 0;            /* how many digits mantissa holds */
    int64_t significant = 0; /* digits after leading zeros */
    int64_t exp10 = 0;       /* value = mantissa * 10^(exp10 + exponent) */
    const char *digits = p;
    for (; p < end && sxp_is_digit(*p); p++) {
        if (significant == 0 && *p == '0')
            continue;
        significant++;
        if (kept < 19) {
            mantissa = mantissa * 10 + (uint64_t)(*p - '0');
            kept++;
        } else {
            exp10++;
        }
    }
    size_t ndigits = (size_t)(p - digits);
    int has_point = 0, has_exponent = 0;
    if (p < end && *p == '.') {
        has_point = 1;
        const char *fraction = ++p;
        for (; p < end && sxp_is_digit(*p); p++) {
            if (significant == 0 && *p == '0') {
                exp10--;
                continue;
            }
            significant++;
            if (kept < 19) {
                mantissa = mantissa * 10 + (uint64_t)(*p - '0');
                kept++;
                exp10--;
            }
        }
        ndigits += (size_t)(p - fraction);
    }
    if (ndigits == 0)
        return VALUE_BAD;
    int64_t exponent = 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        has_exponent = 1;
        p++;
        int exp_negative = 0;
        if (p < end && (*p == '+' || *p == '-')) {
            exp_negative = *p == '-';
            p++;
        }
        if (p == end || !sxp_is_digit(*p))
            return VALUE_BAD;
        for (; p < end && sxp_is_digit(*p); p++)
            if (exponent < 100000000) /* saturate: far past any double */
                exponent = exponent * 10 + (*p - '0');
        if (exp_negative)
            exponent = -exponent;
    }
    if (p != end)
        return VALUE_BAD;

    if (!has_point && !has_exponent && significant <= 16 && mantissa <= (UINT64_C(1) << 53)) {
        /* An integer count; its sign is dropped for zero, which has none. */
        *out = negative ? -(double)mantissa : (double)mantissa;
        if (mantissa == 0)
            *out = 0.0;
        *is_int = 1;
        return VALUE_OK;
    }
    *is_int = 0;
    if (mantissa == 0) {
        *out = negative ? -0.0 : 0.0;
        return VALUE_OK;
    }
    int64_t e = exp10 + exponent;
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
    /* Clinger's fast path: both operands are exact doubles, so the one
     * rounding of the multiply or divide is the correct rounding.  (Not on
     * x87, where double rounding through extended precision would spoil it.) */
    static const double exact_powers_of_ten[23] = {
        1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    };
    if (significant <= 15 && e >= -22 && e <= 22) {
        double d = (double)mantissa;
        d = e < 0 ? d / exact_powers_of_ten[-e] : d * exact_powers_of_ten[e];
        *out = negative ? -d : d;
        return VALUE_OK;
    }
#endif
#if defined(__SIZEOF_INT128__)
    /* Up to 19 digits, all kept, scaled by at most 10^19 (the floats that
     * print with 16 or 17 digits): exact in 128-bit integers. */
    if (significant <= 19 && e >= -19 && e <= 19) {
        double d = sxp_decimal_exact(mantissa, (int)e);
        *out = negative ? -d : d;
        return VALUE_OK;
    }
#endif
    char small[64];
    char *z = n < sizeof small ? small : malloc(n + 1);
    if (!z)
        return VALUE_NOMEM;
    memcpy(z, s, n);
    z[n] = '\0';
    double d = sxp_strtod_c(z);
    if (z != small)
        free(z);
    /* Overflow gives inf; underflow gives a subnormal or zero, which is a
     * correctly rounded finite value and is accepted. */
    if (!isfinite(d))
        return VALUE_RANGE;
    *out = d;
    return VALUE_OK;
}

SX_INTERNAL_END

#endif
