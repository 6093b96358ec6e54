/*
 * parseerr.c -- the parser's errors: line and column of a position (counted
 * only when an error needs them, so valid input pays nothing), and messages
 * that quote the offending text.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "parser.h"
#include "utf8.h"

#define QUOTED_CHARS 40 /* code points of a field shown in a message */

/* Counts the line breaks in [p, limit): LF, CRLF and a lone CR each once.
 * A CR is judged by the byte after it even when that is past limit. */
uint64_t
sxp_count_line_breaks(const char *p, const char *limit, const char *end)
{
    uint64_t n = 0;
    for (const char *q = p; (q = memchr(q, '\n', (size_t)(limit - q))) != NULL; q++)
        n++;
    for (const char *q = p; (q = memchr(q, '\r', (size_t)(limit - q))) != NULL; q++)
        if (q + 1 == end || q[1] != '\n')
            n++;
    return n;
}

/* Code points from the start of at's line to at.  A chunk always starts
 * a line (a builder consumes whole records), so the line start is in it. */
static uint64_t
column_of(const parser *ps, const char *at)
{
    const char *q = at;
    while (q > ps->start && q[-1] != '\n' && q[-1] != '\r')
        q--;
    uint64_t col = 1;
    for (; q < at; q++)
        col += ((unsigned char)*q & 0xC0) != 0x80; /* count lead bytes only */
    return col;
}

void
sxp_locate(const parser *ps, const char *at, uint64_t *line, uint64_t *column)
{
    *line = 1 + ps->line_base + sxp_count_line_breaks(ps->buf, at, ps->end);
    *column = column_of(ps, at);
}

uint64_t
sxp_line_of(parser *ps, const char *at)
{
    if (at < ps->line_mark) /* a field left of one remembered in the same record */
        return 1 + ps->mark_lines - sxp_count_line_breaks(at, ps->line_mark, ps->end);
    ps->mark_lines += sxp_count_line_breaks(ps->line_mark, at, ps->end);
    ps->line_mark = at;
    return 1 + ps->mark_lines;
}

sx_pos
sxp_pos_of(parser *ps, const char *at)
{
    sx_pos pos;
    pos.line = sxp_line_of(ps, at);
    pos.column = column_of(ps, at);
    return pos;
}

sx_status
sxp_fail_pos(parser *ps, sx_pos at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sx_error_vset(ps->err, SX_ERR_PARSE, at.line, at.column, fmt, ap);
    va_end(ap);
    return SX_ERR_PARSE;
}

sx_status
sxp_fail(parser *ps, const char *at, const char *fmt, ...)
{
    uint64_t line, column;
    sxp_locate(ps, at, &line, &column);
    va_list ap;
    va_start(ap, fmt);
    sx_error_vset(ps->err, SX_ERR_PARSE, line, column, fmt, ap);
    va_end(ap);
    return SX_ERR_PARSE;
}

sx_status
sxp_fail_limit(parser *ps, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sx_error_vset(ps->err, SX_ERR_LIMIT, 0, 0, fmt, ap);
    va_end(ap);
    return SX_ERR_LIMIT;
}

sx_status
sxp_fail_nomem(parser *ps)
{
    return sx_error_set(ps->err, SX_ERR_NOMEM, "out of memory while parsing");
}

/* Code points that show as nothing, or as a plain space, so that a message
 * quoting them would look as if they were not there: the C1 controls, every
 * format character (Cf: the byte order mark, zero-width spaces and joiners,
 * bidirectional marks, the soft hyphen, tags), every space separator but
 * the ASCII space (Zs: the no-break spaces, the en, em and thin spaces, the
 * ideographic space), the line and paragraph separators, and the
 * invisible fillers and variation selectors.  Sorted ranges, inclusive. */
static const uint32_t invisible[][2] = {
    {0x0080, 0x00A0},   {0x00AD, 0x00AD},   {0x034F, 0x034F},   {0x0600, 0x0605},
    {0x061C, 0x061C},   {0x06DD, 0x06DD},   {0x070F, 0x070F},   {0x0890, 0x0891},
    {0x08E2, 0x08E2},   {0x115F, 0x1160},   {0x1680, 0x1680},   {0x17B4, 0x17B5},
    {0x180B, 0x180F},   {0x2000, 0x200F},   {0x2028, 0x202F},   {0x205F, 0x206F},
    {0x3000, 0x3000},   {0x3164, 0x3164},   {0xFE00, 0xFE0F},   {0xFEFF, 0xFEFF},
    {0xFFA0, 0xFFA0},   {0xFFF9, 0xFFFB},   {0x110BD, 0x110BD}, {0x110CD, 0x110CD},
    {0x13430, 0x1343F}, {0x1BCA0, 0x1BCA3}, {0x1D173, 0x1D17A}, {0xE0000, 0xE0FFF},
};

static int
is_invisible(uint32_t cp)
{
    size_t lo = 0, hi = sizeof invisible / sizeof invisible[0];
    if (cp < 0x80)
        return 0;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < invisible[mid][0])
            hi = mid;
        else if (cp > invisible[mid][1])
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

/* s[0..n) as a short, printable, double-quoted string for a message.  The
 * text is valid UTF-8 (it was validated when scanned).  Control and
 * invisible characters are escaped as Python writes them (\n, \x00,
 * \ufeff, \U000e0001), so that "\ufeff1" does not look like "1". */
const char *
sxp_quote_text(char out[QUOTE_BUF], const char *s, size_t n)
{
    size_t o = 0, i = 0;
    int chars = 0;
    out[o++] = '"';
    while (i < n && chars < QUOTED_CHARS) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7F || c == '"' || c == '\\') {
            const char *esc = c == '\n'   ? "\\n"
                              : c == '\r' ? "\\r"
                              : c == '\t' ? "\\t"
                              : c == '"'  ? "\\\""
                              : c == '\\' ? "\\\\"
                                          : NULL;
            if (esc) {
                memcpy(out + o, esc, 2);
                o += 2;
            } else {
                o += (size_t)snprintf(out + o, 5, "\\x%02x", c);
            }
            i++;
        } else {
            size_t k = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
            if (k > n - i)
                k = n - i;
            uint32_t cp = k == 1 ? c : c & (0x7Fu >> k);
            for (size_t j = 1; j < k; j++)
                cp = cp << 6 | ((unsigned char)s[i + j] & 0x3Fu);
            if (is_invisible(cp) && cp < 0x100) {
                o += (size_t)snprintf(out + o, 5, "\\x%02x", (unsigned)cp);
            } else if (is_invisible(cp) && cp < 0x10000) {
                o += (size_t)snprintf(out + o, 7, "\\u%04x", (unsigned)cp);
            } else if (is_invisible(cp)) {
                o += (size_t)snprintf(out + o, 11, "\\U%08x", (unsigned)cp);
            } else {
                memcpy(out + o, s + i, k);
                o += k;
            }
            i += k;
        }
        chars++;
    }
    if (i < n) {
        memcpy(out + o, "\xE2\x80\xA6", 3); /* U+2026 HORIZONTAL ELLIPSIS */
        o += 3;
    }
    out[o++] = '"';
    out[o] = '\0';
    return out;
}

_Static_assert(SX_QUOTE_BUF == QUOTE_BUF, "one buffer size for quoted text");

const char *
sx_quote_text(char out[SX_QUOTE_BUF], const char *s, size_t n)
{
    return sxp_quote_text(out, s, n);
}

/* "found ..." for a field's content. */
static const char *
describe_field(char out[QUOTE_BUF], const char *s, size_t n)
{
    if (n == 0) {
        snprintf(out, QUOTE_BUF, "an empty field");
        return out;
    }
    return sxp_quote_text(out, s, n);
}

sx_status
sxp_fail_field(parser *ps, const char *expected, int role)
{
    char found[QUOTE_BUF];
    const char *column =
        role < SX_NSTRCOLS ? sx_strcol_names[role] : sxp_fixed_names[role - ROLE_PROJECT];
    return sxp_fail(ps, ps->field_at, "expected %s in column \"%s\", found %s", expected, column,
                    describe_field(found, ps->text, ps->len));
}

sx_status
sxp_fail_utf8(parser *ps, const char *at)
{
    /* Show the bytes of the broken sequence, up to the first wrong one. */
    const unsigned char *p = (const unsigned char *)at;
    size_t avail = (size_t)(ps->end - at);
    unsigned lo, hi;
    size_t want = sxp_utf8_lead(p[0], &lo, &hi), n = 1;
    for (; n < want && n < avail; n++) {
        unsigned b = p[n];
        if (n > 1) {
            lo = 0x80;
            hi = 0xBF;
        }
        if (b < lo || b > hi) {
            n++;
            break;
        }
    }
    char hex[16];
    size_t o = 0;
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(hex + o, sizeof hex - o, i ? " %02X" : "%02X", p[i]);
    return sxp_fail(ps, at, "expected UTF-8 text, found the invalid byte%s %s", n > 1 ? "s" : "",
                    hex);
}

sx_status
sxp_intern_failed(parser *ps, sx_status st, sx_strcol c)
{
    if (st == SX_ERR_NOMEM)
        return sxp_fail_nomem(ps);
    /* a parse error, so that it says on which line the text ran out */
    return sxp_fail(ps, ps->field_at,
                    "column \"%s\" has more distinct text than a table can hold (2 GiB)",
                    sx_strcol_names[c]);
}
