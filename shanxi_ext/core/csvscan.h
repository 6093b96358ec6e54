/*
 * csvscan.h -- private to the parser: where fields end.  A bitmap of the
 * special bytes (comma, line break, quote, non-ASCII) of each 64-byte block
 * finds plain fields in a few bit operations; the skips below serve the
 * header and the fields that leave that fast path.  Everything here is
 * static inline: it is the parser's inner loop.
 */
#ifndef SHANXI_CORE_CSVSCAN_H
#define SHANXI_CORE_CSVSCAN_H

#include <stddef.h>
#include <stdint.h>

#include "platform.h" /* SX_SSE2, sx_lowest_bit */

/* The bitmap of special bytes (see special_mask) of the 64-byte block that
 * holds the parse position.  Fields are short, so most fields just take the
 * next bit of a block already looked at, instead of rescanning per field. */
typedef struct block_cursor {
    size_t base;   /* input offset of the block */
    uint64_t bits; /* special_mask of it */
    int valid;
} block_cursor;

enum { BYTE_TEXT = 0, BYTE_STOP, BYTE_QUOTE, BYTE_HIGH };
#define HIGH4  BYTE_HIGH, BYTE_HIGH, BYTE_HIGH, BYTE_HIGH
#define HIGH16 HIGH4, HIGH4, HIGH4, HIGH4
#define HIGH64 HIGH16, HIGH16, HIGH16, HIGH16

/* What byte c is to the scanner: one of BYTE_*. */
static inline unsigned
sxp_byte_class(unsigned char c)
{
    static const unsigned char classes[256] = {
        ['\n'] = BYTE_STOP, ['\r'] = BYTE_STOP, [','] = BYTE_STOP,
        ['"'] = BYTE_QUOTE, [0x80] = HIGH64,    HIGH64,
    };
    return classes[c];
}
#undef HIGH4
#undef HIGH16
#undef HIGH64

#if defined(SX_SSE2)
/* Bit i set where p[i] (i < 16) is a comma, line break, quote or non-ASCII
 * byte. */
static inline unsigned
sxp_special16(const unsigned char *p)
{
    const __m128i comma = _mm_set1_epi8(','), lf = _mm_set1_epi8('\n');
    const __m128i cr = _mm_set1_epi8('\r'), quote = _mm_set1_epi8('"');
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, comma), _mm_cmpeq_epi8(v, lf)),
                               _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, quote)));
    /* the sign bit of v itself marks the non-ASCII bytes */
    return (unsigned)_mm_movemask_epi8(_mm_or_si128(hit, v));
}
#endif

/* Bit i set where p[i] (i < n <= 64) is a comma, line break, quote or
 * non-ASCII byte. */
static inline uint64_t
sxp_special_mask(const unsigned char *p, size_t n)
{
    uint64_t bits = 0;
#if defined(SX_SSE2)
    if (n == 64) {
        for (int k = 0; k < 4; k++)
            bits |= (uint64_t)sxp_special16(p + 16 * k) << (16 * k);
        return bits;
    }
#endif
    for (size_t i = 0; i < n; i++)
        bits |= (uint64_t)(sxp_byte_class(p[i]) != BYTE_TEXT) << i;
    return bits;
}

/* The first special byte at or after pos (which never goes back), or len:
 * the next set bit of the cursor's block, or of the next block with one. */
static inline size_t
sxp_next_special(block_cursor *bc, const unsigned char *buf, size_t pos, size_t len)
{
    for (;;) {
        if (bc->valid && pos - bc->base < 64) { /* pos never goes back */
            uint64_t rest = bc->bits & (~UINT64_C(0) << (pos - bc->base));
            if (rest)
                return bc->base + sx_lowest_bit(rest);
            pos = bc->base + 64;
        }
        if (pos >= len)
            return len;
        bc->base = pos;
        bc->bits = sxp_special_mask(buf + pos, len - pos < 64 ? len - pos : 64);
        bc->valid = 1;
    }
}

/* The first byte at or after q that is not plain ASCII text (a comma, line
 * break, quote or non-ASCII byte), or end, 16 bytes per step where SSE2 is
 * there.  For the header and fields that left the fast path. */
static inline const unsigned char *
sxp_skip_plain(const unsigned char *q, const unsigned char *end)
{
#if defined(SX_SSE2)
    while (end - q >= 16) {
        unsigned bits = sxp_special16(q);
        if (bits)
            return q + sx_lowest_bit(bits);
        q += 16;
    }
#endif
    while (q < end && sxp_byte_class(*q) == BYTE_TEXT)
        q++;
    return q;
}

/* The first quote or non-ASCII byte at or after q, or end: the scan of a
 * quoted field, which validates ASCII content on the way. */
static inline const unsigned char *
sxp_skip_to_quote(const unsigned char *q, const unsigned char *end)
{
#if defined(SX_SSE2)
    const __m128i quote = _mm_set1_epi8('"');
    while (end - q >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)q);
        unsigned bits = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, quote), v));
        if (bits)
            return q + sx_lowest_bit(bits);
        q += 16;
    }
#endif
    while (q < end && *q != '"' && *q < 0x80)
        q++;
    return q;
}

static inline int
sxp_is_line_break(char c)
{
    return c == '\n' || c == '\r';
}

/* Whether [q, end) holds a line break (a quoted field seldom does). */
static inline int
sxp_has_line_break(const unsigned char *q, const unsigned char *end)
{
#if defined(SX_SSE2)
    const __m128i lf = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r');
    for (; end - q >= 16; q += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)q);
        if (_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, lf), _mm_cmpeq_epi8(v, cr))))
            return 1;
    }
#endif
    for (; q < end; q++)
        if (sxp_is_line_break((char)*q))
            return 1;
    return 0;
}

static inline int
sxp_only_line_breaks(const char *p, const char *end)
{
    while (p < end && sxp_is_line_break(*p))
        p++;
    return p == end;
}

#endif
