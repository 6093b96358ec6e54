/*
 * rowfilter.h -- private to the core: an sx_filter compiled against one table
 * into the few conditions that can reject a row, evaluated a block of rows at
 * a time.  Shared by query.c (sx_select) and aggregate.c (sx_aggregate) so
 * aggregation never has to materialize a row list; everything here is
 * static inline, so nothing leaks out of the translation units.
 */
#ifndef SHANXI_CORE_ROWFILTER_H
#define SHANXI_CORE_ROWFILTER_H

#include <stddef.h>
#include <stdint.h>

#include "shanxi/core.h"
#include "platform.h" /* SX_SSE2, sx_lowest_bit */

/* Rows per block: the selection vector fits comfortably in L1. */
#define SXF_BLOCK 1024

typedef struct sxf_compiled {
    int none;  /* no row can match */
    int all;   /* every row matches */
    int ncond; /* equality tests on integer columns */
    const void *col[SX_NSTRCOLS + 1];
    int width[SX_NSTRCOLS + 1]; /* bytes per value of col: 1, 2 or 4 */
    int32_t val[SX_NSTRCOLS + 1];
    const int32_t *as_of; /* non-NULL when the date range is tested */
    uint32_t since, span; /* as_of in range iff (as_of - since) <= span, unsigned */
} sxf_compiled;

/* Turn f into the conditions that actually test something on t.  A NULL f
 * matches everything.  A code the column cannot hold (out of the dictionary,
 * or a real code for an absent column) matches no row rather than failing:
 * it names a value no field has. */
static inline void
sxf_compile(sxf_compiled *q, const sx_table *t, const sx_filter *f)
{
    q->none = 0;
    q->all = 0;
    q->ncond = 0;
    q->as_of = NULL;
    q->since = 0;
    q->span = 0;
    if (t->nrows <= 0) {
        q->none = 1;
        return;
    }
    if (f == NULL) {
        q->all = 1;
        return;
    }
    if (f->project != 0) {
        if (f->project < 0) { /* project numbers are >= 1 */
            q->none = 1;
            return;
        }
        q->col[q->ncond] = t->project;
        q->width[q->ncond] = 4;
        q->val[q->ncond++] = f->project;
    }
    for (int c = 0; c < SX_NSTRCOLS; c++) {
        int32_t code = f->code[c];
        if (code == SX_ANY)
            continue;
        if (t->codes[c] == NULL) {
            /* an absent column is empty on every row */
            if (code == SX_NULL_CODE)
                continue;
            q->none = 1;
            return;
        }
        if (code < SX_NULL_CODE || code >= t->dicts[c].count) {
            q->none = 1;
            return;
        }
        q->col[q->ncond] = t->codes[c];
        q->width[q->ncond] = t->code_width[c];
        q->val[q->ncond++] = code;
    }
    if (f->since > f->until) {
        q->none = 1;
        return;
    }
    if (f->since != INT32_MIN || f->until != INT32_MAX) {
        q->as_of = t->as_of;
        q->since = (uint32_t)f->since;
        q->span = (uint32_t)f->until - (uint32_t)f->since;
    }
    q->all = q->ncond == 0 && q->as_of == NULL;
}

#ifdef SX_SSE2
/* The first condition on 8- or 16-bit codes, 16 rows per compare: the
 * offsets of the set bits of each match mask go to sel, so the work is per
 * vector plus per match (codes of a few distinct strings are the common
 * case, and the filter that decides how many rows the rest even looks at).
 * Returns how many rows it covered: a multiple of 16. */
static inline size_t
sxf_first_sse2(const void *col, int width, int32_t v, size_t len, uint32_t *sel, size_t *count)
{
    size_t j = 0, n = *count;
    if (width == 1) {
        const int8_t *c = col;
        __m128i want = _mm_set1_epi8((char)v);
        for (; j + 16 <= len; j += 16) {
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(c + j));
            unsigned bits = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, want));
            for (; bits != 0; bits &= bits - 1)
                sel[n++] = (uint32_t)(j + sx_lowest_bit(bits));
        }
    } else {
        const int16_t *c = col;
        __m128i want = _mm_set1_epi16((short)v);
        for (; j + 16 <= len; j += 16) {
            __m128i lo =
                _mm_cmpeq_epi16(_mm_loadu_si128((const __m128i *)(const void *)(c + j)), want);
            __m128i hi =
                _mm_cmpeq_epi16(_mm_loadu_si128((const __m128i *)(const void *)(c + j + 8)), want);
            unsigned bits = (unsigned)_mm_movemask_epi8(_mm_packs_epi16(lo, hi));
            for (; bits != 0; bits &= bits - 1)
                sel[n++] = (uint32_t)(j + sx_lowest_bit(bits));
        }
    }
    *count = n;
    return j;
}
#endif

/* One loop per code width, so each compiles to plain loads of that width. */
#define SXF_FIRST(type)                                                                            \
    do {                                                                                           \
        const type *col = (const type *)q->col[0] + start;                                         \
        for (; j < len; j++) {                                                                     \
            sel[n] = (uint32_t)j;                                                                  \
            n += col[j] == v;                                                                      \
        }                                                                                          \
    } while (0)
#define SXF_NARROW(type)                                                                           \
    do {                                                                                           \
        const type *col = (const type *)q->col[c] + start;                                         \
        m = 0;                                                                                     \
        for (size_t k = 0; k < n; k++) {                                                           \
            uint32_t o = sel[k];                                                                   \
            sel[m] = o;                                                                            \
            m += col[o] == v;                                                                      \
        }                                                                                          \
    } while (0)

/* The offsets j in [0, len) of rows start + j that pass, ascending, into sel;
 * returns how many.  Only for a filter that is neither none nor all.  Each
 * condition is one branch-free pass that narrows the selection, so the cost
 * is a few instructions per row and condition with no mispredictions. */
static inline size_t
sxf_block(const sxf_compiled *q, int64_t start, size_t len, uint32_t *sel)
{
    size_t n = 0, j = 0, m;
    if (q->ncond > 0) {
        int32_t v = q->val[0];
#ifdef SX_SSE2
        if (q->width[0] < 4)
            j = sxf_first_sse2((const char *)q->col[0] + (size_t)start * (size_t)q->width[0],
                               q->width[0], v, len, sel, &n);
#endif
        switch (q->width[0]) {
        case 1:
            SXF_FIRST(int8_t);
            break;
        case 2:
            SXF_FIRST(int16_t);
            break;
        default:
            SXF_FIRST(int32_t);
            break;
        }
    } else {
        const int32_t *d = q->as_of + start;
        uint32_t lo = q->since, span = q->span;
        for (size_t i = 0; i < len; i++) {
            sel[n] = (uint32_t)i;
            n += (uint32_t)d[i] - lo <= span;
        }
        return n;
    }
    /* sel[0, n) was written by the first condition: the analyzer loses
     * track of that through the SIMD loop, hence the NOLINTs */
    for (int c = 1; c < q->ncond && n > 0; c++) {
        int32_t v = q->val[c];
        switch (q->width[c]) {
        case 1:
            SXF_NARROW(int8_t); /* NOLINT(clang-analyzer-core.uninitialized.Assign) */
            break;
        case 2:
            SXF_NARROW(int16_t); /* NOLINT(clang-analyzer-core.uninitialized.Assign) */
            break;
        default:
            SXF_NARROW(int32_t); /* NOLINT(clang-analyzer-core.uninitialized.Assign) */
            break;
        }
        n = m;
    }
    if (q->as_of != NULL && n > 0) {
        const int32_t *d = q->as_of + start;
        uint32_t lo = q->since, span = q->span;
        m = 0;
        for (size_t k = 0; k < n; k++) {
            uint32_t o = sel[k]; /* NOLINT(clang-analyzer-core.uninitialized.Assign) */
            sel[m] = o;
            m += (uint32_t)d[o] - lo <= span;
        }
        n = m;
    }
    return n;
}

#undef SXF_FIRST
#undef SXF_NARROW

/* The rows of the block [start, start + len) that q selects, as offsets
 * into sel; how many.  With no filter sel is the identity, built once per
 * pass (*identity is how far) and only as far as a block needs it (small
 * tables are common).  Not for a filter that selects nothing. */
static inline size_t
sxf_select_block(const sxf_compiled *q, int64_t start, size_t len, uint32_t *sel, size_t *identity)
{
    if (!q->all)
        return sxf_block(q, start, len, sel);
    for (; *identity < len; (*identity)++)
        sel[*identity] = (uint32_t)*identity;
    return len;
}

#endif
