/*
 * fields.c -- the full field scanner, for what the fast path of parse.c
 * leaves: quoted fields (with "" unescaped into scratch), non-ASCII text
 * (UTF-8 checked on the way, so errors come out in file order), and the
 * count of fields in a record that has too many.
 */
#include <stdlib.h>
#include <string.h>

#include "parser.h"
#include "utf8.h"

static sx_status
ensure_scratch(parser *ps, size_t need)
{
    if (need <= ps->scratch_cap)
        return SX_OK;
    size_t cap = sx_grown_capacity(ps->scratch_cap, need, 256);
    char *s = realloc(ps->scratch, cap);
    if (!s)
        return sxp_fail_nomem(ps);
    ps->scratch = s;
    ps->scratch_cap = cap;
    return SX_OK;
}

/* A quoted field at ps->p.  With report == 0 it only skips the field (to
 * count fields after an error) and says nothing. */
static sx_status
scan_quoted(parser *ps, int report)
{
    const char *open = ps->p, *end = ps->end;
    const char *q = open + 1, *close;
    int escaped = 0;
    for (;;) {
        const char *r =
            (const char *)sxp_skip_to_quote((const unsigned char *)q, (const unsigned char *)end);
        if (r == end) {
            ps->truncated = 1;
            if (ps->partial) /* the field may close in the next chunk */
                return SX_ERR_PARSE;
            return report ? sxp_fail(ps, open,
                                     "expected a closing quote for the field that opens here, "
                                     "found the end of the input")
                          : SX_ERR_PARSE;
        }
        if (*r != '"') {
            size_t n = sxp_utf8_sequence((const unsigned char *)r, (const unsigned char *)end);
            if (!n)
                return report ? sxp_fail_utf8(ps, r) : SX_ERR_PARSE;
            q = r + n;
            continue;
        }
        if (r + 1 < end && r[1] == '"') {
            escaped = 1;
            q = r + 2;
            continue;
        }
        close = r;
        break;
    }
    const char *after = close + 1;
    if (after < end && *after != ',' && !sxp_is_line_break(*after)) {
        if (!report)
            return SX_ERR_PARSE;
        size_t n = 1;
        if ((unsigned char)*after >= 0x80) {
            n = sxp_utf8_sequence((const unsigned char *)after, (const unsigned char *)end);
            if (!n)
                return sxp_fail_utf8(ps, after);
        }
        char found[QUOTE_BUF];
        return sxp_fail(ps, after,
                        "expected a comma or a line break after the closing quote, found %s",
                        sxp_quote_text(found, after, n));
    }
    ps->p = after;
    ps->field_at = open;
    if (!report)
        return SX_OK;
    if (!escaped) {
        ps->text = open + 1;
        ps->len = (size_t)(close - open - 1);
        ps->text_in_input = 1;
        return SX_OK;
    }
    size_t max = (size_t)(close - open - 1);
    if (ensure_scratch(ps, max) != SX_OK)
        return SX_ERR_NOMEM;
    size_t o = 0;
    for (const char *s = open + 1; s < close;) {
        const char *r = memchr(s, '"', (size_t)(close - s));
        size_t n = r ? (size_t)(r - s) + 1 : (size_t)(close - s); /* keep one quote of "" */
        memcpy(ps->scratch + o, s, n);
        o += n;
        s += r ? n + 1 : n;
    }
    ps->text = ps->scratch;
    ps->len = o;
    ps->text_in_input = 0;
    return SX_OK;
}

/* Scans one field at ps->p and leaves ps->p on what ends it: a comma, a
 * line break or the end of the input. */
sx_status
sxp_scan_field(parser *ps, int report)
{
    const unsigned char *p = (const unsigned char *)ps->p;
    const unsigned char *end = (const unsigned char *)ps->end;
    if (p < end && *p == '"')
        return scan_quoted(ps, report);
    const unsigned char *q = p;
    for (;;) {
        q = sxp_skip_plain(q, end);
        if (q == end || sxp_byte_class(*q) == BYTE_STOP)
            break;
        if (*q == '"') {
            if (!report)
                return SX_ERR_PARSE;
            return sxp_fail(ps, (const char *)q,
                            "expected a field with no quote, or a quoted field, "
                            "found a quote inside an unquoted field");
        }
        size_t n = sxp_utf8_sequence(q, end);
        if (!n)
            return report ? sxp_fail_utf8(ps, (const char *)q) : SX_ERR_PARSE;
        q += n;
    }
    ps->field_at = (const char *)p;
    ps->text = (const char *)p;
    ps->len = (size_t)(q - p);
    ps->text_in_input = 1;
    ps->p = (const char *)q;
    return SX_OK;
}

/* A record with more fields than the header: say how many it has. */
sx_status
sxp_fail_too_many(parser *ps)
{
    const char *at = ps->p + 1;
    long long found = ps->nfields;
    ps->p = at;
    for (;;) {
        if (sxp_scan_field(ps, 0) != SX_OK) {
            found = -1;
            break;
        }
        found++;
        if (ps->p == ps->end || *ps->p != ',')
            break;
        ps->p++;
    }
    ps->stored_fields = ps->nfields;
    if (found < 0 && ps->partial && ps->truncated)
        return SX_ERR_PARSE; /* counted again with the next chunk */
    if (found < 0)
        return sxp_fail(ps, at, "expected %d fields, found more", ps->nfields);
    return sxp_fail(ps, at, "expected %d fields, found %lld", ps->nfields, found);
}
