/*
 * utf8.h -- private to the core: the UTF-8 rules the parser checks text
 * against (RFC 3629: no overlong forms, no surrogates, nothing past
 * U+10FFFF).  Everything here is static inline.
 */
#ifndef SHANXI_CORE_UTF8_H
#define SHANXI_CORE_UTF8_H

#include <stddef.h>

/* The length (2-4) of a sequence led by c and the range of its second
 * byte (which excludes overlong forms, surrogates and code points past
 * U+10FFFF), or 0 when c cannot lead one. */
static inline size_t
sxp_utf8_lead(unsigned c, unsigned *lo, unsigned *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        return 2;
    if (c >= 0xE0 && c <= 0xEF) {
        if (c == 0xE0)
            *lo = 0xA0;
        else if (c == 0xED)
            *hi = 0x9F;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (c == 0xF0)
            *lo = 0x90;
        else if (c == 0xF4)
            *hi = 0x8F;
        return 4;
    }
    return 0;
}

/* Length (2-4) of the valid multi-byte sequence at p, or 0 if it is not
 * one. */
static inline size_t
sxp_utf8_sequence(const unsigned char *p, const unsigned char *end)
{
    unsigned lo, hi;
    size_t n = sxp_utf8_lead(p[0], &lo, &hi);
    if (n == 0 || (size_t)(end - p) < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

#endif
