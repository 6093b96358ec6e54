/*
 * error.c -- filling an sx_error, the one way every file of the core
 * reports a failure: status, position (0 when the failure has none) and a
 * message, cut at a UTF-8 character boundary when it does not fit.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* vsnprintf may cut the message inside a multi-byte character. */
static void
trim_partial_utf8(char *s)
{
    size_t n = strlen(s);
    size_t i = n;
    while (i > 0 && n - i < 4 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0)
        return;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t need = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    if (n - (i - 1) < need)
        s[i - 1] = '\0';
}

sx_status
sx_error_vset(sx_error *e, sx_status st, uint64_t line, uint64_t column, const char *fmt,
              va_list ap)
{
    if (e == NULL)
        return st;
    e->status = st;
    e->line = line;
    e->column = column;
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    trim_partial_utf8(e->message);
    return st;
}

sx_status
sx_error_set(sx_error *e, sx_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sx_error_vset(e, st, 0, 0, fmt, ap);
    va_end(ap);
    return st;
}
