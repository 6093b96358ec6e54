/*
 * convert.c -- the out-of-line part of convert.h: ISO dates for the binding
 * (sx_parse_iso_date), and a strtod that reads '.' whatever the process
 * locale, for the decimals the fast paths of convert.h cannot round.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strtod_l and newlocale in glibc */
#endif
#include <locale.h>
#include <stdlib.h>

#include "convert.h"
#include "platform.h" /* sx_atomic_ptr, sx_publish_ptr */
#if defined(__APPLE__)
#include <xlocale.h>
#endif

/* A locale-independent strtod exists on these; elsewhere plain strtod is
 * used, which reads '.' as long as nobody changed LC_NUMERIC (musl only has
 * the C locale for numbers). */
#if defined(_WIN32)
#define SX_STRTOD_WIN 1
#elif defined(__GLIBC__) || defined(__APPLE__) || defined(__FreeBSD__)
#define SX_STRTOD_L 1
#endif

int
sx_parse_iso_date(const char *s, size_t len, int32_t *days)
{
    return sxp_parse_date(s, len, days) == DATE_OK;
}

#if defined(SX_STRTOD_L)
typedef locale_t c_locale_t;
static c_locale_t
make_c_locale(void)
{
    return newlocale(LC_ALL_MASK, "C", (locale_t)0);
}
#define free_c_locale freelocale
#define strtod_in     strtod_l
#elif defined(SX_STRTOD_WIN)
typedef _locale_t c_locale_t;
static c_locale_t
make_c_locale(void)
{
    return _create_locale(LC_NUMERIC, "C");
}
#define free_c_locale _free_locale
#define strtod_in     _strtod_l
#endif

#if defined(SX_STRTOD_L) || defined(SX_STRTOD_WIN)
/* The "C" locale, made once and kept for the life of the process: threads
 * that race to make it each make one, the first to publish it wins and the
 * others free theirs. */
static c_locale_t
c_locale(void)
{
    static sx_atomic_ptr cached;
    void *loc = sx_atomic_load_ptr(&cached);
    if (loc)
        return (c_locale_t)loc;
    c_locale_t mine = make_c_locale();
    if (!mine)
        return (c_locale_t)0;
    loc = sx_publish_ptr(&cached, (void *)mine);
    if (loc != (void *)mine)
        free_c_locale(mine);
    return (c_locale_t)loc;
}
#endif

/* Correctly rounded conversion of text already checked to be a decimal
 * number, whatever the process locale. */
double
sxp_strtod_c(const char *z)
{
#if defined(SX_STRTOD_L) || defined(SX_STRTOD_WIN)
    c_locale_t loc = c_locale();
    if (loc)
        return strtod_in(z, NULL, loc);
#endif
    return strtod(z, NULL);
}
