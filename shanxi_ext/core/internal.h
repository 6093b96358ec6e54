/*
 * internal.h -- private to the core: the small rules more than one of its
 * files needs, written once.  Everything here is static inline or declared
 * for one core file to define.
 */
#ifndef SHANXI_CORE_INTERNAL_H
#define SHANXI_CORE_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "shanxi/core.h"

/* What the core's files share is hidden: the extension exports only its
 * init function and the public sx_* API, and calls between core files go
 * direct, not through the PLT.  Private headers put their declarations
 * between SX_INTERNAL_BEGIN and SX_INTERNAL_END. */
#if defined(__GNUC__) || defined(__clang__)
#define SX_INTERNAL_BEGIN _Pragma("GCC visibility push(hidden)")
#define SX_INTERNAL_END   _Pragma("GCC visibility pop")
#else
#define SX_INTERNAL_BEGIN
#define SX_INTERNAL_END
#endif

/* SX_PRINTF: check a format's arguments.  SX_COLD: a function only error
 * paths call, so the compiler lays out and allocates registers for the
 * loops that call it as if the call never happened (the parser's inner loop
 * runs ~1% more instructions without it). */
#if defined(__GNUC__) || defined(__clang__)
#define SX_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define SX_COLD         __attribute__((cold))
#else
#define SX_PRINTF(f, a)
#define SX_COLD
#endif

SX_INTERNAL_BEGIN

/* error.c: fill e (when not NULL) with status st, no position and the
 * formatted message; returns st.  The v form takes a position (line and
 * column, 1-based; 0 for none). */
SX_COLD SX_PRINTF(3, 4) sx_status sx_error_set(sx_error *e, sx_status st, const char *fmt, ...);
SX_COLD sx_status sx_error_vset(sx_error *e, sx_status st, uint64_t line, uint64_t column,
                                const char *fmt, va_list ap);

/* The capacity an array of cap items grows to so that it holds need:
 * doubled (from min when it has none) until it does, or need itself where
 * doubling would overflow. */
static inline size_t
sx_grown_capacity(size_t cap, size_t need, size_t min)
{
    size_t grown = cap ? cap : min;
    while (grown < need)
        grown = grown > SIZE_MAX / 2 ? need : grown * 2;
    return grown;
}

/* malloc for n items of size bytes (n == 0 counts as 1), failing cleanly
 * instead of wrapping. */
static inline void *
sx_alloc_array(size_t n, size_t size)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX / size)
        return NULL;
    return malloc(n * size);
}

/* bigalloc.c: the large arrays of a load.  A table's column arrays
 * (project, value, is_int, as_of, period_start and the codes) are
 * allocated, grown and freed only through these; large ones are mappings
 * of their own.  sx_big_alloc's bytes are not zeroed; sx_big_realloc keeps
 * the first bytes, as realloc does (on failure it returns NULL and p stays
 * valid); sx_big_release says the bytes [from, to) of p are done with (a
 * merge has copied them) and may be dropped before p is freed: they read as
 * zeros, or anything, after. */
#define SX_BIG_HEADER 64
void *sx_big_alloc(size_t size);
void *sx_big_realloc(void *p, size_t size);
void sx_big_free(void *p);
void sx_big_release(void *p, size_t from, size_t to);

/* Project numbers are looked up through a direct table, one entry per
 * number from the lowest to the highest, when that range holds at most 8
 * numbers per project plus 4096 (so the table costs little more than the
 * projects themselves); through another way when they are sparser.  The
 * range's length, with *base its lowest number; 0 for sparse numbers or no
 * projects. */
static inline uint32_t
sx_dense_project_span(const sx_table *t, int32_t *base)
{
    if (t->nprojects <= 0)
        return 0;
    int32_t lo = t->projects[0].number, hi = t->projects[t->nprojects - 1].number;
    uint32_t span = (uint32_t)hi - (uint32_t)lo + 1;
    if (span > (uint32_t)t->nprojects * 8u + 4096u)
        return 0;
    *base = lo;
    return span;
}

/* The days in a month (1-12) of a proleptic Gregorian year (inline: the
 * parser checks every new date with it). */
static inline unsigned
sx_days_in_month(int32_t year, unsigned month)
{
    static const unsigned char days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return days[month - 1] + (month == 2 && leap);
}

/* A table's list of ignored header fields (table.c): add one more (a copy
 * of name; SX_ERR_NOMEM), or free them all. */
sx_status sxp_add_ignored(sx_table *t, const char *name, size_t len, const char *near);
void sxp_clear_ignored(sx_table *t);

/* What the Arrow export keeps with a table (arrow.c), freed with it. */
typedef struct sxp_arrow_cache sxp_arrow_cache;
void sxp_arrow_cache_free(sxp_arrow_cache *c);

SX_INTERNAL_END

#endif
