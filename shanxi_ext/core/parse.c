/*
 * parse.c -- the CSV reader: one pass over a strict RFC 4180 UTF-8 document
 * into a table of native columns (see data/README.md for the format).
 *
 * Design:
 * - The number of line breaks bounds the number of records, so the column
 *   arrays are allocated once (malloc, so untouched pages cost nothing) and
 *   trimmed at the end, never grown by doubling.
 * - Plain fields are found from a bitmap of the special bytes (comma, line
 *   break, quote, non-ASCII) of each 64-byte block, so a field costs a few
 *   bit operations; quoted and non-ASCII fields take a byte-exact scanner
 *   that also validates UTF-8, so errors come out in file order.
 * - Line and column numbers are not tracked while parsing: the error path
 *   recomputes them from the start of the input, which costs nothing when the
 *   input is valid.
 * - Strings are interned into the table's dictionaries; before hashing, each
 *   column tries its previous code and the code that followed it last time,
 *   because panels repeat keys in runs and cycles.  Dates likewise reuse the
 *   last one parsed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* strtod_l and newlocale in glibc */
#endif
#include "shanxi/core.h"

#include <float.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform.h"   /* SX_SSE2, SX_THREADS (see parse_in_halves), sx_lowest_bit */
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

#if defined(__GNUC__) || defined(__clang__)
#define SX_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define SX_PRINTF(f, a)
#endif

/* What each header column is: string columns use their sx_strcol number. */
enum {
    ROLE_PROJECT = SX_NSTRCOLS,
    ROLE_VALUE,
    ROLE_AS_OF,
    ROLE_PERIOD_START,
    ROLE_IGNORE,
    NROLES = ROLE_IGNORE
};
static const char *const fixed_names[] = {"project", "value", "as_of", "period_start"};

/* The per-project attributes that must agree across a project's rows. */
#define NATTRS 3
#define ATTR_COL(a) ((sx_strcol)(SX_COL_CATEGORY + (a)))
#define ATTR_KEY (SX_COL_PROJECT_KEY - SX_COL_CATEGORY)

#define MAX_ROWS INT32_MAX
/* Bytes read to guess the row count, and how much input is handed to
 * opts->consumed at a time.  The fuzzers build with tiny ones. */
#ifndef SX_PARSE_SAMPLE_BYTES
#define SX_PARSE_SAMPLE_BYTES ((size_t)64 << 10)
#endif
#ifndef SX_PARSE_RELEASE_STEP
#define SX_PARSE_RELEASE_STEP ((size_t)8 << 20)
#endif
/* Inputs from this size are parsed in two halves (the tests use tiny ones). */
#ifndef SX_PARSE_PARALLEL_BYTES
#define SX_PARSE_PARALLEL_BYTES ((size_t)32 << 20)
#endif
#ifndef SX_PARSE_MIN_GROWTH
#define SX_PARSE_MIN_GROWTH 1024   /* rows added to a guess, and at least per growth */
#endif
#define SAMPLE_BYTES ((size_t)(SX_PARSE_SAMPLE_BYTES))
#define RELEASE_STEP ((size_t)(SX_PARSE_RELEASE_STEP))
#define QUOTED_CHARS 40     /* code points of a field shown in a message */
#define QUOTE_BUF 192

typedef struct project_state {
    int32_t number;
    int32_t attr[NATTRS];      /* first non-empty category, key, title codes */
    size_t attr_at[NATTRS];    /* input offset of the field that gave each */
    int32_t as_of;
    int64_t nrows;
} project_state;

/* Panels repeat keys in runs (a region's rows) and in cycles (the same
 * metrics for every region and date), so before hashing a string column
 * tries the code of its previous field and the code that followed that code
 * last time. */
#define MAX_PREDICTED 65536   /* codes with a remembered successor */
typedef struct column_cache {
    int32_t code;       /* code of the column's last non-empty field, or -1 */
    int32_t *next;      /* next[c]: the code that last followed code c, or -1 */
    int32_t next_cap;
} column_cache;

/* The bitmap of special bytes (see special_mask) of the 64-byte block that
 * holds the parse position.  Fields are short, so most fields just take the
 * next bit of a block already looked at, instead of rescanning per field. */
typedef struct block_cursor {
    size_t base;      /* input offset of the block */
    uint64_t bits;    /* special_mask of it */
    int valid;
} block_cursor;

typedef struct parser {
    const char *buf;           /* the whole input, to count lines from */
    const char *start;         /* after the BOM: column 1 of line 1 */
    const char *end;
    const char *p;             /* next unread byte */
    const char *stop;          /* stop at the first record starting here or later */
    sx_error *err;
    sx_table *t;

    /* the field just scanned */
    const char *field_at;      /* its first byte, the opening quote if quoted */
    const char *text;          /* its content, in the input or in scratch */
    size_t len;
    int text_in_input;
    char *scratch;             /* unescaped content of fields with "" */
    size_t scratch_cap;

    /* header */
    int nfields;
    unsigned char *roles;      /* per field of a record */
    int column_of[NROLES];     /* 0-based field of each known column, or -1 */
    int64_t cap_rows;          /* rows the column arrays have room for */
    const sx_parse_options *opts;
    size_t released;           /* input offset up to which opts->consumed was told */
    size_t next_release;       /* input offset at which to tell it again */

    block_cursor cursor;           /* for the fast scan of records */
    column_cache cache[SX_NSTRCOLS];
    struct {
        const char *text;      /* the last date text of the column, or NULL */
        int32_t days;
    } last_date[2];
    const char *attr_at[NATTRS];   /* this row's category/key/title fields */

    project_state *projects;
    size_t nprojects, projects_cap;
    uint32_t *project_slots;       /* index + 1, 0 = empty */
    uint32_t project_mask;
    size_t last_project;

    uint32_t *key_owner;           /* project_key code -> project index + 1 */
    size_t key_owner_cap;
    size_t *part_of_at;            /* part_of code -> offset of first use */
    size_t part_of_cap;
} parser;

/* ------------------------------------------------------------------ errors */

/* Counts the line breaks in [p, limit): LF, CRLF and a lone CR each once.
 * A CR is judged by the byte after it even when that is past limit. */
static uint64_t count_line_breaks(const char *p, const char *limit, const char *end)
{
    uint64_t n = 0;
    for (const char *q = p; (q = memchr(q, '\n', (size_t)(limit - q))) != NULL; q++)
        n++;
    for (const char *q = p; (q = memchr(q, '\r', (size_t)(limit - q))) != NULL; q++)
        if (q + 1 == end || q[1] != '\n')
            n++;
    return n;
}

static void locate(const parser *ps, const char *at, uint64_t *line, uint64_t *column)
{
    *line = 1 + count_line_breaks(ps->buf, at, ps->end);
    const char *q = at;
    while (q > ps->start && q[-1] != '\n' && q[-1] != '\r')
        q--;
    uint64_t col = 1;
    for (; q < at; q++)
        col += ((unsigned char)*q & 0xC0) != 0x80;   /* count lead bytes only */
    *column = col;
}

/* vsnprintf may cut the message inside a multi-byte character. */
static void trim_partial_utf8(char *s)
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

static SX_PRINTF(3, 4) sx_status fail(parser *ps, const char *at, const char *fmt, ...)
{
    sx_error *e = ps->err;
    e->status = SX_ERR_PARSE;
    locate(ps, at, &e->line, &e->column);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    trim_partial_utf8(e->message);
    return SX_ERR_PARSE;
}

static SX_PRINTF(2, 3) sx_status fail_limit(parser *ps, const char *fmt, ...)
{
    sx_error *e = ps->err;
    e->status = SX_ERR_LIMIT;
    e->line = e->column = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return SX_ERR_LIMIT;
}

static sx_status fail_nomem(parser *ps)
{
    sx_error *e = ps->err;
    e->status = SX_ERR_NOMEM;
    e->line = e->column = 0;
    snprintf(e->message, sizeof e->message, "out of memory while parsing");
    return SX_ERR_NOMEM;
}

/* s[0..n) as a short, printable, double-quoted string for a message.  The
 * text is valid UTF-8 (it was validated when scanned). */
static const char *quote_text(char out[QUOTE_BUF], const char *s, size_t n)
{
    size_t o = 0, i = 0;
    int chars = 0;
    out[o++] = '"';
    while (i < n && chars < QUOTED_CHARS) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7F || c == '"' || c == '\\') {
            const char *esc = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t"
                            : c == '"' ? "\\\"" : c == '\\' ? "\\\\" : NULL;
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
            memcpy(out + o, s + i, k);
            o += k;
            i += k;
        }
        chars++;
    }
    if (i < n) {
        memcpy(out + o, "\xE2\x80\xA6", 3);   /* U+2026 HORIZONTAL ELLIPSIS */
        o += 3;
    }
    out[o++] = '"';
    out[o] = '\0';
    return out;
}

/* "found ..." for a field's content. */
static const char *describe_field(char out[QUOTE_BUF], const char *s, size_t n)
{
    if (n == 0) {
        snprintf(out, QUOTE_BUF, "an empty field");
        return out;
    }
    return quote_text(out, s, n);
}

static sx_status fail_field(parser *ps, const char *expected, int role)
{
    char found[QUOTE_BUF];
    const char *column = role < SX_NSTRCOLS ? sx_strcol_names[role] : fixed_names[role - ROLE_PROJECT];
    return fail(ps, ps->field_at, "expected %s in column \"%s\", found %s", expected, column,
                describe_field(found, ps->text, ps->len));
}

/* ------------------------------------------------------------------ UTF-8 */

/* The length (2-4) of a sequence led by c and the range of its second
 * byte (which excludes overlong forms, surrogates and code points past
 * U+10FFFF), or 0 when c cannot lead one. */
static size_t utf8_lead(unsigned c, unsigned *lo, unsigned *hi)
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
static size_t utf8_sequence(const unsigned char *p, const unsigned char *end)
{
    unsigned lo, hi;
    size_t n = utf8_lead(p[0], &lo, &hi);
    if (n == 0 || (size_t)(end - p) < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

static sx_status fail_utf8(parser *ps, const char *at)
{
    /* Show the bytes of the broken sequence, up to the first wrong one. */
    const unsigned char *p = (const unsigned char *)at;
    size_t avail = (size_t)(ps->end - at);
    unsigned lo, hi;
    size_t want = utf8_lead(p[0], &lo, &hi), n = 1;
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
    return fail(ps, at, "expected UTF-8 text, found the invalid byte%s %s", n > 1 ? "s" : "", hex);
}

/* ------------------------------------------------------------------ fields */

enum { BYTE_TEXT = 0, BYTE_STOP, BYTE_QUOTE, BYTE_HIGH };
#define HIGH4 BYTE_HIGH, BYTE_HIGH, BYTE_HIGH, BYTE_HIGH
#define HIGH16 HIGH4, HIGH4, HIGH4, HIGH4
#define HIGH64 HIGH16, HIGH16, HIGH16, HIGH16
static const unsigned char byte_class[256] = {
    ['\n'] = BYTE_STOP, ['\r'] = BYTE_STOP, [','] = BYTE_STOP, ['"'] = BYTE_QUOTE,
    [0x80] = HIGH64, HIGH64,
};

/* Bit i set where p[i] (i < n <= 64) is a comma, line break, quote or
 * non-ASCII byte. */
static uint64_t special_mask(const unsigned char *p, size_t n)
{
    uint64_t bits = 0;
#if defined(SX_SSE2)
    if (n == 64) {
        const __m128i comma = _mm_set1_epi8(','), lf = _mm_set1_epi8('\n');
        const __m128i cr = _mm_set1_epi8('\r'), quote = _mm_set1_epi8('"');
        for (int k = 0; k < 4; k++) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * k));
            __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, comma), _mm_cmpeq_epi8(v, lf)),
                                       _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, quote)));
            /* the sign bit of v itself marks the non-ASCII bytes */
            bits |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_or_si128(hit, v)) << (16 * k);
        }
        return bits;
    }
#endif
    for (size_t i = 0; i < n; i++)
        bits |= (uint64_t)(byte_class[p[i]] != BYTE_TEXT) << i;
    return bits;
}

/* Where the next special byte is: see next_special. */
static size_t next_special(block_cursor *bc, const unsigned char *buf, size_t pos, size_t len)
{
    for (;;) {
        if (bc->valid && pos - bc->base < 64) {   /* pos never goes back */
            uint64_t rest = bc->bits & (~UINT64_C(0) << (pos - bc->base));
            if (rest)
                return bc->base + sx_lowest_bit(rest);
            pos = bc->base + 64;
        }
        if (pos >= len)
            return len;
        bc->base = pos;
        bc->bits = special_mask(buf + pos, len - pos < 64 ? len - pos : 64);
        bc->valid = 1;
    }
}

/* The first byte at or after q that is not plain ASCII text (a comma, line
 * break, quote or non-ASCII byte), or end, 16 bytes per step where SSE2 is
 * there.  For the header and fields that left the fast path. */
static const unsigned char *skip_plain(const unsigned char *q, const unsigned char *end)
{
#if defined(SX_SSE2)
    const __m128i comma = _mm_set1_epi8(','), lf = _mm_set1_epi8('\n');
    const __m128i cr = _mm_set1_epi8('\r'), quote = _mm_set1_epi8('"');
    while (end - q >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)q);
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, comma), _mm_cmpeq_epi8(v, lf)),
                                   _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, quote)));
        /* the sign bit of v itself marks the non-ASCII bytes */
        unsigned bits = (unsigned)_mm_movemask_epi8(_mm_or_si128(hit, v));
        if (bits)
            return q + sx_lowest_bit(bits);
        q += 16;
    }
#endif
    while (q < end && byte_class[*q] == BYTE_TEXT)
        q++;
    return q;
}

/* The first quote or non-ASCII byte at or after q, or end: the scan of a
 * quoted field, which validates ASCII content on the way. */
static const unsigned char *skip_to_quote(const unsigned char *q, const unsigned char *end)
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

static int is_line_break(char c)
{
    return c == '\n' || c == '\r';
}

static int only_line_breaks(const char *p, const char *end)
{
    while (p < end && is_line_break(*p))
        p++;
    return p == end;
}

static void skip_line_break(parser *ps)
{
    if (ps->p < ps->end && *ps->p == '\r')
        ps->p++;
    if (ps->p < ps->end && *ps->p == '\n')
        ps->p++;
}

static sx_status ensure_scratch(parser *ps, size_t need)
{
    if (need <= ps->scratch_cap)
        return SX_OK;
    size_t cap = ps->scratch_cap ? ps->scratch_cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *s = realloc(ps->scratch, cap);
    if (!s)
        return fail_nomem(ps);
    ps->scratch = s;
    ps->scratch_cap = cap;
    return SX_OK;
}

/* A quoted field at ps->p.  With report == 0 it only skips the field (to
 * count fields after an error) and says nothing. */
static sx_status scan_quoted(parser *ps, int report)
{
    const char *open = ps->p, *end = ps->end;
    const char *q = open + 1, *close;
    int escaped = 0;
    for (;;) {
        const char *r = (const char *)skip_to_quote((const unsigned char *)q, (const unsigned char *)end);
        if (r == end)
            return report ? fail(ps, open, "expected a closing quote for the field that opens here, "
                                           "found the end of the input") : SX_ERR_PARSE;
        if (*r != '"') {
            size_t n = utf8_sequence((const unsigned char *)r, (const unsigned char *)end);
            if (!n)
                return report ? fail_utf8(ps, r) : SX_ERR_PARSE;
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
    if (after < end && *after != ',' && !is_line_break(*after)) {
        if (!report)
            return SX_ERR_PARSE;
        size_t n = 1;
        if ((unsigned char)*after >= 0x80) {
            n = utf8_sequence((const unsigned char *)after, (const unsigned char *)end);
            if (!n)
                return fail_utf8(ps, after);
        }
        char found[QUOTE_BUF];
        return fail(ps, after, "expected a comma or a line break after the closing quote, found %s",
                    quote_text(found, after, n));
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
        size_t n = r ? (size_t)(r - s) + 1 : (size_t)(close - s);   /* keep one quote of "" */
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
static sx_status scan_field(parser *ps, int report)
{
    const unsigned char *p = (const unsigned char *)ps->p;
    const unsigned char *end = (const unsigned char *)ps->end;
    if (p < end && *p == '"')
        return scan_quoted(ps, report);
    const unsigned char *q = p;
    for (;;) {
        q = skip_plain(q, end);
        if (q == end || byte_class[*q] == BYTE_STOP)
            break;
        if (*q == '"') {
            if (!report)
                return SX_ERR_PARSE;
            return fail(ps, (const char *)q, "expected a field with no quote, or a quoted field, "
                        "found a quote inside an unquoted field");
        }
        size_t n = utf8_sequence(q, end);
        if (!n)
            return report ? fail_utf8(ps, (const char *)q) : SX_ERR_PARSE;
        q += n;
    }
    ps->field_at = (const char *)p;
    ps->text = (const char *)p;
    ps->len = (size_t)(q - p);
    ps->text_in_input = 1;
    ps->p = (const char *)q;
    return SX_OK;
}

/* ------------------------------------------------------------------ values */

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* ASCII digits only, 1..2147483647. */
static int parse_project_number(const char *s, size_t n, int32_t *out)
{
    if (n == 0)
        return 0;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return 0;
        v = v * 10 + (s[i] - '0');
        if (v > INT32_MAX)
            return 0;
    }
    if (v == 0)
        return 0;
    *out = (int32_t)v;
    return 1;
}

static int is_leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

enum { DATE_OK, DATE_FORMAT, DATE_UNREAL };

static int parse_date(const char *s, size_t n, int32_t *days)
{
    static const unsigned char month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (n != 10 || s[4] != '-' || s[7] != '-')
        return DATE_FORMAT;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !is_digit(s[i]))
            return DATE_FORMAT;
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    if (y < 1 || m < 1 || m > 12 || d < 1)
        return DATE_UNREAL;
    int dim = month_days[m - 1] + (m == 2 && is_leap_year(y));
    if (d > dim)
        return DATE_UNREAL;
    *days = sx_days_from_civil(y, (unsigned)m, (unsigned)d);
    return DATE_OK;
}

int sx_parse_iso_date(const char *s, size_t len, int32_t *days)
{
    return parse_date(s, len, days) == DATE_OK;
}

#if defined(SX_STRTOD_L)
/* The "C" locale, made once and kept for the life of the process (racing
 * threads may each make one; the loser frees its own). */
static locale_t c_locale(void)
{
    static locale_t cached;
#if defined(__GNUC__) || defined(__clang__)
    locale_t loc = __atomic_load_n(&cached, __ATOMIC_ACQUIRE);
    if (loc)
        return loc;
    loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (!loc)
        return (locale_t)0;
    locale_t expected = (locale_t)0;
    if (!__atomic_compare_exchange_n(&cached, &expected, loc, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        freelocale(loc);
        loc = expected;
    }
    return loc;
#else
    if (!cached)
        cached = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    return cached;
#endif
}
#endif

/* Correctly rounded conversion of text already checked to be a decimal
 * number, whatever the process locale. */
static double strtod_c(const char *z)
{
#if defined(SX_STRTOD_L)
    locale_t loc = c_locale();
    if (loc)
        return strtod_l(z, NULL, loc);
    return strtod(z, NULL);
#elif defined(SX_STRTOD_WIN)
    static _locale_t loc;
    if (!loc)
        loc = _create_locale(LC_NUMERIC, "C");
    return loc ? _strtod_l(z, NULL, loc) : strtod(z, NULL);
#else
    return strtod(z, NULL);
#endif
}

enum { VALUE_OK, VALUE_BAD, VALUE_NOMEM };

static const double exact_powers_of_ten[23] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* [+-]?(D+(.D*)?|.D+)([eE][+-]?D+)?, finite.  is_int: no point, no exponent
 * and |v| <= 2^53, so the double holds the integer exactly. */
static int parse_value(const char *s, size_t n, double *out, uint8_t *is_int)
{
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
    for (; p < end && is_digit(*p); p++) {
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
        for (; p < end && is_digit(*p); p++) {
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
        if (p == end || !is_digit(*p))
            return VALUE_BAD;
        for (; p < end && is_digit(*p); p++)
            if (exponent < 100000000)   /* saturate: far past any double */
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
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
    /* Clinger's fast path: both operands are exact doubles, so the one
     * rounding of the multiply or divide is the correct rounding.  (Not on
     * x87, where double rounding through extended precision would spoil it.) */
    int64_t e = exp10 + exponent;
    if (significant <= 15 && e >= -22 && e <= 22) {
        double d = (double)mantissa;
        d = e < 0 ? d / exact_powers_of_ten[-e] : d * exact_powers_of_ten[e];
        *out = negative ? -d : d;
        return VALUE_OK;
    }
#else
    (void)exact_powers_of_ten;
#endif
    char small[64];
    char *z = n < sizeof small ? small : malloc(n + 1);
    if (!z)
        return VALUE_NOMEM;
    memcpy(z, s, n);
    z[n] = '\0';
    double d = strtod_c(z);
    if (z != small)
        free(z);
    /* Overflow gives inf; underflow gives a subnormal or zero, which is a
     * correctly rounded finite value and is accepted. */
    if (!isfinite(d))
        return VALUE_BAD;
    *out = d;
    return VALUE_OK;
}

/* ------------------------------------------------------------------ projects */

static uint32_t hash_number(int32_t number, uint32_t mask)
{
    return (uint32_t)(((uint64_t)(uint32_t)number * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

static sx_status grow_project_slots(parser *ps)
{
    size_t size = ps->project_slots ? (size_t)ps->project_mask + 1 : 0;
    size_t new_size = size ? size * 2 : 64;
    uint32_t *slots = calloc(new_size, sizeof *slots);
    if (!slots)
        return fail_nomem(ps);
    uint32_t mask = (uint32_t)(new_size - 1);
    for (size_t i = 0; i < ps->nprojects; i++) {
        uint32_t h = hash_number(ps->projects[i].number, mask);
        while (slots[h])
            h = (h + 1) & mask;
        slots[h] = (uint32_t)i + 1;
    }
    free(ps->project_slots);
    ps->project_slots = slots;
    ps->project_mask = mask;
    return SX_OK;
}

/* The state of project `number`, made on first sight. */
static sx_status find_project(parser *ps, int32_t number, size_t *index)
{
    if (ps->nprojects && ps->projects[ps->last_project].number == number) {
        *index = ps->last_project;
        return SX_OK;
    }
    if (!ps->project_slots || (ps->nprojects + 1) * 2 > (size_t)ps->project_mask + 1) {
        sx_status st = grow_project_slots(ps);
        if (st != SX_OK)
            return st;
    }
    uint32_t h = hash_number(number, ps->project_mask);
    uint32_t entry;
    while ((entry = ps->project_slots[h]) != 0) {
        if (ps->projects[entry - 1].number == number) {
            *index = ps->last_project = entry - 1;
            return SX_OK;
        }
        h = (h + 1) & ps->project_mask;
    }
    if (ps->nprojects == ps->projects_cap) {
        size_t cap = ps->projects_cap ? ps->projects_cap * 2 : 16;
        project_state *a = realloc(ps->projects, cap * sizeof *a);
        if (!a)
            return fail_nomem(ps);
        ps->projects = a;
        ps->projects_cap = cap;
    }
    project_state *st = &ps->projects[ps->nprojects];
    st->number = number;
    for (int a = 0; a < NATTRS; a++) {
        st->attr[a] = SX_NULL_CODE;
        st->attr_at[a] = 0;
    }
    st->as_of = INT32_MIN;
    st->nrows = 0;
    ps->project_slots[h] = (uint32_t)ps->nprojects + 1;
    *index = ps->last_project = ps->nprojects++;
    return SX_OK;
}

/* A project_key may name only one project. */
static sx_status claim_project_key(parser *ps, size_t index, int32_t code, const char *at)
{
    size_t need = (size_t)code + 1;
    if (need > ps->key_owner_cap) {
        size_t cap = ps->key_owner_cap ? ps->key_owner_cap : 16;
        while (cap < need)
            cap *= 2;
        uint32_t *a = realloc(ps->key_owner, cap * sizeof *a);
        if (!a)
            return fail_nomem(ps);
        memset(a + ps->key_owner_cap, 0, (cap - ps->key_owner_cap) * sizeof *a);
        ps->key_owner = a;
        ps->key_owner_cap = cap;
    }
    uint32_t owner = ps->key_owner[code];
    if (owner == 0) {
        ps->key_owner[code] = (uint32_t)index + 1;
        return SX_OK;
    }
    const project_state *other = &ps->projects[owner - 1];
    uint64_t line, column;
    locate(ps, ps->buf + other->attr_at[ATTR_KEY], &line, &column);
    size_t n;
    const char *s = sx_dict_str(&ps->t->dicts[SX_COL_PROJECT_KEY], code, &n);
    char found[QUOTE_BUF];
    return fail(ps, at, "expected a project_key of its own for project %ld, found %s, which "
                "project %ld has on line %llu", (long)ps->projects[index].number,
                quote_text(found, s, n), (long)other->number, (unsigned long long)line);
}

/* Per-row bookkeeping once all fields are stored: the project's counts and
 * the agreement of its key, title and category across rows. */
static sx_status finish_row(parser *ps, int64_t row)
{
    sx_table *t = ps->t;
    size_t index = 0;
    sx_status st = find_project(ps, t->project[row], &index);
    if (st != SX_OK)
        return st;
    project_state *pj = &ps->projects[index];
    pj->nrows++;
    if (t->as_of[row] > pj->as_of)
        pj->as_of = t->as_of[row];
    for (int a = 0; a < NATTRS; a++) {
        sx_strcol c = ATTR_COL(a);
        if (!t->codes[c])
            continue;
        int32_t code = sx_code_in(t->codes[c], t->code_width[c], row);
        if (code == SX_NULL_CODE || code == pj->attr[a])
            continue;
        if (pj->attr[a] == SX_NULL_CODE) {
            if (a == ATTR_KEY && (st = claim_project_key(ps, index, code, ps->attr_at[a])) != SX_OK)
                return st;
            pj = &ps->projects[index];
            pj->attr[a] = code;
            pj->attr_at[a] = (size_t)(ps->attr_at[a] - ps->buf);
            continue;
        }
        uint64_t line, column;
        locate(ps, ps->buf + pj->attr_at[a], &line, &column);
        size_t n1, n2;
        const char *s1 = sx_dict_str(&t->dicts[c], pj->attr[a], &n1);
        const char *s2 = sx_dict_str(&t->dicts[c], code, &n2);
        char was[QUOTE_BUF], found[QUOTE_BUF];
        return fail(ps, ps->attr_at[a], "project %ld has %s %s on line %llu, found %s",
                    (long)pj->number, sx_strcol_names[c], quote_text(was, s1, n1),
                    (unsigned long long)line, quote_text(found, s2, n2));
    }
    return SX_OK;
}

/* ------------------------------------------------------------------ records */

static sx_status intern_failed(parser *ps, sx_status st, sx_strcol c)
{
    if (st == SX_ERR_NOMEM)
        return fail_nomem(ps);
    return fail_limit(ps, "column \"%s\" has more distinct text than a table can hold (2 GiB)",
                      sx_strcol_names[c]);
}

static sx_status note_part_of(parser *ps, int32_t code)
{
    size_t need = (size_t)code + 1;
    if (need > ps->part_of_cap) {
        size_t cap = ps->part_of_cap ? ps->part_of_cap * 2 : 16;
        size_t *a = realloc(ps->part_of_at, cap * sizeof *a);
        if (!a)
            return fail_nomem(ps);
        ps->part_of_at = a;
        ps->part_of_cap = cap;
    }
    ps->part_of_at[code] = (size_t)(ps->field_at - ps->buf);
    return SX_OK;
}

/* Equality of two byte strings, in 8-byte words (the last one overlapping)
 * instead of a call to memcmp: keys are short and usually equal here. */
static int same_bytes(const char *a, const char *b, size_t n)
{
    if (n >= 8) {
        uint64_t x, y, diff = 0;
        for (size_t i = 0; i + 8 < n; i += 8) {
            memcpy(&x, a + i, 8);
            memcpy(&y, b + i, 8);
            diff |= x ^ y;
        }
        memcpy(&x, a + n - 8, 8);
        memcpy(&y, b + n - 8, 8);
        return (diff | (x ^ y)) == 0;
    }
    if (n >= 4) {
        uint32_t a0, a1, b0, b1;
        memcpy(&a0, a, 4);
        memcpy(&b0, b, 4);
        memcpy(&a1, a + n - 4, 4);
        memcpy(&b1, b + n - 4, 4);
        return ((a0 ^ b0) | (a1 ^ b1)) == 0;
    }
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

static int is_code_of(const sx_dict *d, int32_t code, const char *s, size_t n)
{
    size_t m;
    const char *t = sx_dict_str(d, code, &m);
    return m == n && same_bytes(t, s, n);
}

/* Remembers that `code` followed `prev`; only a speed-up, so running out of
 * memory here just means no prediction. */
static void remember_successor(column_cache *cc, int32_t prev, int32_t code)
{
    if (prev < 0 || prev >= MAX_PREDICTED)
        return;
    if (prev >= cc->next_cap) {
        int32_t cap = cc->next_cap ? cc->next_cap : 64;
        while (cap <= prev)
            cap *= 2;
        int32_t *next = realloc(cc->next, (size_t)cap * sizeof *next);
        if (!next)
            return;
        for (int32_t i = cc->next_cap; i < cap; i++)
            next[i] = -1;
        cc->next = next;
        cc->next_cap = cap;
    }
    cc->next[prev] = code;
}

/* The narrowest code width, in bytes, for a dictionary of count strings:
 * int8 holds codes -1 .. 127, int16 up to 32767. */
static int code_width_for(int32_t count)
{
    return count <= 128 ? 1 : count <= 32768 ? 2 : 4;
}

static void put_code(void *codes, int width, int64_t i, int32_t code)
{
    switch (width) {
    case 1:
        ((int8_t *)codes)[i] = (int8_t)code;
        break;
    case 2:
        ((int16_t *)codes)[i] = (int16_t)code;
        break;
    default:
        ((int32_t *)codes)[i] = code;
        break;
    }
}

/* Codes of rows [0, rows) stored at width `from` rewritten at the wider
 * `to` in the same array (which has room for them), from the last row down
 * so no code is overwritten before it is read. */
static void widen_in_place(void *codes, int from, int to, int64_t rows)
{
    for (int64_t i = rows - 1; i >= 0; i--) {
        int32_t code = from == 1 ? ((const int8_t *)codes)[i]     /* NOLINT(clang-analyzer-unix.Malloc) */
                                 : ((const int16_t *)codes)[i];   /* NOLINT(clang-analyzer-unix.Malloc) */
        put_code(codes, to, i, code);
    }
}

/* A column's dictionary outgrew its code width (codes start as int8): move
 * the codes of rows [0, rows) to the next width, in place, from the last row
 * down so no code is overwritten before it is read. */
static sx_status widen_codes(parser *ps, sx_strcol c, int64_t rows)
{
    sx_table *t = ps->t;
    int width = t->code_width[c], wider = width == 1 ? 2 : 4;
    void *codes = realloc(t->codes[c], (size_t)ps->cap_rows * (size_t)wider);
    if (!codes)
        return fail_nomem(ps);
    widen_in_place(codes, width, wider, rows);
    t->codes[c] = codes;
    t->code_width[c] = (uint8_t)wider;
    return SX_OK;
}

static sx_status store_string(parser *ps, sx_strcol c, int64_t row)
{
    int32_t code;
    sx_dict *d = &ps->t->dicts[c];
    column_cache *cc = &ps->cache[c];
    int32_t prev = cc->code;
    if (ps->len == 0) {
        if (c == SX_COL_METRIC || c == SX_COL_UNIT)
            return fail_field(ps, "a non-empty text", (int)c);
        code = SX_NULL_CODE;
        ps->t->null_count[c]++;
    } else if (prev >= 0 && is_code_of(d, prev, ps->text, ps->len)) {
        code = prev;
    } else {
        int32_t guess = prev >= 0 && prev < cc->next_cap ? cc->next[prev] : -1;
        if (guess >= 0 && is_code_of(d, guess, ps->text, ps->len)) {
            code = guess;
        } else {
            int32_t before = d->count;
            sx_status st = sx_dict_intern(d, ps->text, ps->len, &code);
            if (st != SX_OK)
                return intern_failed(ps, st, c);
            if (c == SX_COL_PART_OF && code == before && (st = note_part_of(ps, code)) != SX_OK)
                return st;
            remember_successor(cc, prev, code);
            /* strings come one at a time, so one step wider is enough */
            if (code == before && code_width_for(d->count) > ps->t->code_width[c] &&
                (st = widen_codes(ps, c, row)) != SX_OK)
                return st;
        }
        cc->code = code;
    }
    put_code(ps->t->codes[c], ps->t->code_width[c], row, code);
    if (c >= SX_COL_CATEGORY)
        ps->attr_at[c - SX_COL_CATEGORY] = ps->field_at;
    return SX_OK;
}

static sx_status store_field(parser *ps, int role, int64_t row)
{
    sx_table *t = ps->t;
    switch (role) {
    case ROLE_IGNORE:
        return SX_OK;
    case ROLE_PROJECT:
        if (!parse_project_number(ps->text, ps->len, &t->project[row]))
            return fail_field(ps, "a positive integer", role);
        return SX_OK;
    case ROLE_VALUE:
        switch (parse_value(ps->text, ps->len, &t->value[row], &t->is_int[row])) {
        case VALUE_OK:
            return SX_OK;
        case VALUE_NOMEM:
            return fail_nomem(ps);
        default:
            return fail_field(ps, "a finite number", role);
        }
    case ROLE_AS_OF:
    case ROLE_PERIOD_START: {
        int32_t *column = role == ROLE_AS_OF ? t->as_of : t->period_start;
        if (ps->len == 0 && role == ROLE_PERIOD_START) {
            column[row] = SX_NO_DATE;
            t->period_start_nulls++;
            return SX_OK;
        }
        /* dates repeat in runs: reuse the last one's days */
        int which = role == ROLE_AS_OF ? 0 : 1;
        const char *last = ps->last_date[which].text;
        if (last && ps->len == 10 && same_bytes(last, ps->text, 10)) {
            column[row] = ps->last_date[which].days;
            return SX_OK;
        }
        switch (parse_date(ps->text, ps->len, &column[row])) {
        case DATE_OK:
            ps->last_date[which].text = ps->text_in_input ? ps->text : NULL;
            ps->last_date[which].days = column[row];
            return SX_OK;
        case DATE_FORMAT:
            return fail_field(ps, "a date written YYYY-MM-DD", role);
        default:
            return fail_field(ps, "a real calendar date from 0001-01-01 to 9999-12-31", role);
        }
    }
    default:
        return store_string(ps, (sx_strcol)role, row);
    }
}

/* A record with more fields than the header: say how many it has. */
static sx_status fail_too_many(parser *ps)
{
    const char *at = ps->p + 1;
    long long found = ps->nfields;
    ps->p = at;
    for (;;) {
        if (scan_field(ps, 0) != SX_OK) {
            found = -1;
            break;
        }
        found++;
        if (ps->p == ps->end || *ps->p != ',')
            break;
        ps->p++;
    }
    if (found < 0)
        return fail(ps, at, "expected %d fields, found more", ps->nfields);
    return fail(ps, at, "expected %d fields, found %lld", ps->nfields, found);
}

static sx_status parse_record(parser *ps, int64_t row)
{
    /* The position lives in a local: storing it in *ps and reading it back
     * at once stalls store forwarding on every field. */
    const unsigned char *buf = (const unsigned char *)ps->buf;
    size_t len = (size_t)(ps->end - ps->buf);
    size_t pos = (size_t)(ps->p - ps->buf);
    block_cursor bc = ps->cursor;
    sx_status st;
    for (int i = 0;; i++) {
        size_t stop = next_special(&bc, buf, pos, len);
        if (stop == len || byte_class[buf[stop]] == BYTE_STOP) {
            /* the common case: plain ASCII without quotes */
            ps->field_at = ps->text = (const char *)buf + pos;
            ps->len = stop - pos;
            ps->text_in_input = 1;
            pos = stop;
        } else {
            /* quoted, non-ASCII or malformed: the full scanner */
            ps->p = (const char *)buf + pos;
            if ((st = scan_field(ps, 1)) != SX_OK)
                return st;
            pos = (size_t)(ps->p - ps->buf);
        }
        if ((st = store_field(ps, ps->roles[i], row)) != SX_OK)
            return st;
        if (i == ps->nfields - 1)
            break;
        if (pos == len || buf[pos] != ',')
            return fail(ps, (const char *)buf + pos, "expected %d fields, found %d", ps->nfields, i + 1);
        pos++;
    }
    ps->cursor = bc;
    ps->p = (const char *)buf + pos;
    if (pos < len && buf[pos] == ',')
        return fail_too_many(ps);
    skip_line_break(ps);
    return finish_row(ps, row);
}

/* ------------------------------------------------------------------ header */

static int role_of_name(const char *s, size_t n)
{
    for (int c = 0; c < SX_NSTRCOLS; c++)
        if (strlen(sx_strcol_names[c]) == n && memcmp(sx_strcol_names[c], s, n) == 0)
            return c;
    for (int r = ROLE_PROJECT; r < NROLES; r++) {
        const char *name = fixed_names[r - ROLE_PROJECT];
        if (strlen(name) == n && memcmp(name, s, n) == 0)
            return r;
    }
    return ROLE_IGNORE;
}

static sx_status parse_header(parser *ps)
{
    static const int required[] = {ROLE_PROJECT, SX_COL_METRIC, ROLE_VALUE, SX_COL_UNIT, ROLE_AS_OF};
    sx_dict names = {0};   /* to find a repeated name in any size of header */
    int cap = 0;
    sx_status st = SX_OK;
    for (int r = 0; r < NROLES; r++)
        ps->column_of[r] = -1;
    if (only_line_breaks(ps->p, ps->end)) {
        st = fail(ps, ps->p, "expected a header row, found %s",
                  ps->p == ps->end ? "an empty input" : "only empty lines");
        goto done;
    }
    for (;;) {
        if ((st = scan_field(ps, 1)) != SX_OK)
            goto done;
        int32_t before = names.count, code;
        if ((st = sx_dict_intern(&names, ps->text, ps->len, &code)) != SX_OK) {
            st = st == SX_ERR_NOMEM ? fail_nomem(ps) : fail_limit(ps, "the header row is too large");
            goto done;
        }
        if (code < before) {
            char found[QUOTE_BUF];
            st = fail(ps, ps->field_at, "expected distinct column names, found %s again (column %d)",
                      quote_text(found, ps->text, ps->len), (int)code + 1);
            goto done;
        }
        if (ps->nfields == cap) {
            if (cap > INT_MAX / 2) {
                st = fail_limit(ps, "the header row has too many columns");
                goto done;
            }
            cap = cap ? cap * 2 : 16;
            unsigned char *roles = realloc(ps->roles, (size_t)cap);
            if (!roles) {
                st = fail_nomem(ps);
                goto done;
            }
            ps->roles = roles;
        }
        int role = role_of_name(ps->text, ps->len);
        ps->roles[ps->nfields] = (unsigned char)role;
        if (role != ROLE_IGNORE)
            ps->column_of[role] = ps->nfields;
        ps->nfields++;
        if (ps->p == ps->end || *ps->p != ',')
            break;
        ps->p++;
    }
    skip_line_break(ps);

    char missing[128] = "";
    size_t o = 0;
    for (size_t i = 0; i < sizeof required / sizeof *required; i++) {
        int r = required[i];
        if (ps->column_of[r] >= 0)
            continue;
        const char *name = r < SX_NSTRCOLS ? sx_strcol_names[r] : fixed_names[r - ROLE_PROJECT];
        o += (size_t)snprintf(missing + o, sizeof missing - o, "%s\"%s\"", o ? ", " : "", name);
    }
    if (o)
        st = fail(ps, ps->start, "expected a header with the columns project, metric, value, unit "
                  "and as_of, found none named %s", missing);
done:
    sx_dict_free(&names);
    return st;
}

/* ------------------------------------------------------------------ table */

/* Give every column array room for rows rows.  realloc of a large block
 * moves page mappings rather than copying (glibc uses mremap), so growing
 * does not double the peak.  On failure the arrays that did move stay
 * owned by the table, which frees them. */
static int resize_columns(sx_table *t, size_t rows)
{
    void *p;
#define RESIZE(field)                                                   \
    do {                                                                \
        if (t->field) {                                                 \
            if (!(p = realloc(t->field, rows * sizeof *t->field)))      \
                return 0;                                               \
            t->field = p;                                               \
        }                                                               \
    } while (0)
    RESIZE(project);
    RESIZE(value);
    RESIZE(is_int);
    RESIZE(as_of);
    RESIZE(period_start);
#undef RESIZE
    for (int c = 0; c < SX_NSTRCOLS; c++) {
        if (t->codes[c]) {
            if (!(p = realloc(t->codes[c], rows * t->code_width[c])))
                return 0;
            t->codes[c] = p;
        }
    }
    return 1;
}

/* Column arrays sized by a guess at the row count, from the line length of
 * the first SAMPLE_BYTES (exact when the input is no longer than that): the
 * old way, counting every line break first, made a second pass over the
 * whole input and, for a mapped file, brought all of it into memory before
 * the first row was parsed.  parse_records grows the arrays when the guess
 * was short; the spare room of a long guess is never touched, so it costs
 * address space only, and shrink_columns gives it back. */
static sx_status allocate_columns(parser *ps)
{
    sx_table *t = ps->t;
    size_t left = (size_t)(ps->stop - ps->p), rows;
    if (left <= SAMPLE_BYTES) {
        rows = (size_t)count_line_breaks(ps->p, ps->stop, ps->end) + 1;
    } else {
        uint64_t lines = count_line_breaks(ps->p, ps->p + SAMPLE_BYTES, ps->end);
        double guess = lines ? (double)left / (double)SAMPLE_BYTES * (double)lines * 1.05 : 0.0;
        rows = SX_PARSE_MIN_GROWTH + (guess < (double)MAX_ROWS ? (size_t)guess : (size_t)MAX_ROWS);
    }
    if (rows > MAX_ROWS)
        rows = MAX_ROWS;
    if (rows > SIZE_MAX / sizeof(double))   /* only on 32-bit platforms */
        rows = SIZE_MAX / sizeof(double);
    ps->cap_rows = (int64_t)rows;
    t->project = malloc(rows * sizeof *t->project);
    t->value = malloc(rows * sizeof *t->value);
    t->is_int = malloc(rows * sizeof *t->is_int);
    t->as_of = malloc(rows * sizeof *t->as_of);
    if (!t->project || !t->value || !t->is_int || !t->as_of)
        return fail_nomem(ps);
    if (ps->column_of[ROLE_PERIOD_START] >= 0 && !(t->period_start = malloc(rows * sizeof *t->period_start)))
        return fail_nomem(ps);
    for (int c = 0; c < SX_NSTRCOLS; c++) {
        if (ps->column_of[c] < 0)
            continue;
        if (!(t->codes[c] = malloc(rows)))   /* int8 until the dictionary outgrows it */
            return fail_nomem(ps);
        t->code_width[c] = 1;
        /* A present column's dictionary always has its offsets[0], even
         * when it holds no string, so it exports as an Arrow array. */
        if (!(t->dicts[c].offsets = calloc(1, sizeof *t->dicts[c].offsets)))
            return fail_nomem(ps);
    }
    return SX_OK;
}

/* Room for more rows than the guess: half as many again. */
static sx_status grow_columns(parser *ps)
{
    int64_t cap = ps->cap_rows, more = cap / 2 > SX_PARSE_MIN_GROWTH ? cap / 2 : SX_PARSE_MIN_GROWTH;
    if (cap >= MAX_ROWS)
        return fail_limit(ps, "the input has more than %ld rows", (long)MAX_ROWS);
    cap = cap > MAX_ROWS - more ? MAX_ROWS : cap + more;
    if ((uint64_t)cap > SIZE_MAX / sizeof(double))
        return fail_limit(ps, "the input has too many rows for this platform");
    if (!resize_columns(ps->t, (size_t)cap))
        return fail_nomem(ps);
    ps->cap_rows = cap;
    return SX_OK;
}

/* Tell the caller which bytes of the input are done with, a step at a
 * time: those since the last call, up to the next record. */
static void release_input(parser *ps)
{
    size_t done = (size_t)(ps->p - ps->buf);
    if (done >= ps->next_release) {
        ps->opts->consumed(ps->opts->ctx, ps->released, done - ps->released);
        ps->released = done;
        ps->next_release = done + RELEASE_STEP;
    }
}

static sx_status parse_records(parser *ps)
{
    sx_table *t = ps->t;
    for (;;) {
        if (ps->p >= ps->stop)
            return SX_OK;
        if (is_line_break(*ps->p)) {
            /* blank lines may only close the file */
            if (only_line_breaks(ps->p, ps->end))
                return SX_OK;
            return fail(ps, ps->p, "expected %d fields, found an empty line", ps->nfields);
        }
        sx_status st;
        if (t->nrows == ps->cap_rows && (st = grow_columns(ps)) != SX_OK)
            return st;
        if ((st = parse_record(ps, t->nrows)) != SX_OK)
            return st;
        t->nrows++;
        if (ps->opts && ps->opts->consumed)
            release_input(ps);
    }
}

/* Gives back the room the guess over-reserved.  Shrinking in place cannot
 * fail on glibc; where it does, the arrays simply keep their room. */
static void shrink_columns(sx_table *t)
{
    (void)resize_columns(t, t->nrows > 0 ? (size_t)t->nrows : 1);
}

/* Every part_of must name a metric of the file; the first row naming a
 * missing one is reported (codes are in order of first use). */
static sx_status check_part_of(parser *ps)
{
    sx_table *t = ps->t;
    if (!t->codes[SX_COL_PART_OF])
        return SX_OK;
    const sx_dict *parts = &t->dicts[SX_COL_PART_OF];
    for (int32_t code = 0; code < parts->count; code++) {
        size_t n;
        const char *s = sx_dict_str(parts, code, &n);
        if (sx_dict_find(&t->dicts[SX_COL_METRIC], s, n) >= 0)
            continue;
        char found[QUOTE_BUF];
        return fail(ps, ps->buf + ps->part_of_at[code],
                    "expected part_of to name a metric of this file, found %s", quote_text(found, s, n));
    }
    return SX_OK;
}

static int compare_projects(const void *a, const void *b)
{
    int32_t x = ((const sx_project *)a)->number, y = ((const sx_project *)b)->number;
    return (x > y) - (x < y);
}

static sx_status build_projects(parser *ps)
{
    sx_table *t = ps->t;
    size_t n = ps->nprojects;
    t->projects = malloc((n ? n : 1) * sizeof *t->projects);
    if (!t->projects)
        return fail_nomem(ps);
    for (size_t i = 0; i < n; i++) {
        const project_state *s = &ps->projects[i];
        sx_project *pj = &t->projects[i];
        pj->number = s->number;
        pj->category = s->attr[0];
        pj->key = s->attr[ATTR_KEY];
        pj->title = s->attr[2];
        pj->as_of = s->as_of;
        pj->nrows = s->nrows;
    }
    qsort(t->projects, n, sizeof *t->projects, compare_projects);
    t->nprojects = (int32_t)n;
    /* A category belongs to the project: a row that leaves it empty takes its
     * project's, so filters, groups and exports agree with projects(). */
    void *category = t->codes[SX_COL_CATEGORY];
    int width = t->code_width[SX_COL_CATEGORY];
    if (category && t->null_count[SX_COL_CATEGORY] > 0) {
        int64_t nulls = 0;
        for (int64_t r = 0; r < t->nrows; r++) {
            if (sx_code_in(category, width, r) == SX_NULL_CODE) {
                int32_t code = t->projects[sx_project_index(t, t->project[r])].category;
                put_code(category, width, r, code);
                nulls += code == SX_NULL_CODE;
            }
        }
        t->null_count[SX_COL_CATEGORY] = nulls;
    }
    return SX_OK;
}

static sx_status build_metric_index(parser *ps)
{
    sx_table *t = ps->t;
    size_t n = (size_t)t->dicts[SX_COL_METRIC].count;
    t->metric_rows = calloc(n ? n : 1, sizeof *t->metric_rows);
    t->metric_first = malloc((n ? n : 1) * sizeof *t->metric_first);
    if (!t->metric_rows || !t->metric_first)
        return fail_nomem(ps);
    const void *codes = t->codes[SX_COL_METRIC];
    int width = t->code_width[SX_COL_METRIC];
    for (int64_t r = 0; r < t->nrows; r++) {
        int32_t code = sx_code_in(codes, width, r);
        if (t->metric_rows[code]++ == 0)
            t->metric_first[code] = r;
    }
    return SX_OK;
}

/* A parser at the start of buf, with nothing parsed yet. */
static void parser_init(parser *ps, const char *buf, size_t len, const sx_parse_options *opts,
                        sx_error *err)
{
    memset(ps, 0, sizeof *ps);
    ps->opts = opts;
    ps->err = err;
    ps->buf = buf ? buf : "";
    ps->end = ps->buf + (buf ? len : 0);
    ps->start = ps->buf;
    if (ps->end - ps->start >= 3 && memcmp(ps->start, "\xEF\xBB\xBF", 3) == 0)
        ps->start += 3;
    ps->p = ps->start;
    ps->stop = ps->end;
    ps->next_release = RELEASE_STEP;
    for (int c = 0; c < SX_NSTRCOLS; c++)
        ps->cache[c].code = -1;
}

/* Frees what the parser owns (not its table). */
static void parser_free(parser *ps)
{
    free(ps->scratch);
    free(ps->roles);
    free(ps->projects);
    free(ps->project_slots);
    free(ps->key_owner);
    free(ps->part_of_at);
    for (int c = 0; c < SX_NSTRCOLS; c++)
        free(ps->cache[c].next);
}

static sx_table *new_table(void)
{
    sx_table *t = calloc(1, sizeof *t);
    if (t)
        t->refcount = 1;
    return t;
}

/* After the rows: the checks and indexes that need all of them. */
static sx_status finish_table(parser *ps)
{
    sx_status st;
    shrink_columns(ps->t);
    if ((st = check_part_of(ps)) != SX_OK || (st = build_projects(ps)) != SX_OK)
        return st;
    return build_metric_index(ps);
}

static sx_status parse_whole(const char *buf, size_t len, const sx_parse_options *opts,
                             sx_table **out, sx_error *err)
{
    parser ps;
    sx_status st;
    parser_init(&ps, buf, len, opts, err);
    if (!(ps.t = new_table())) {
        st = fail_nomem(&ps);
        goto done;
    }
    if ((st = parse_header(&ps)) != SX_OK || (st = allocate_columns(&ps)) != SX_OK ||
        (st = parse_records(&ps)) != SX_OK || (st = finish_table(&ps)) != SX_OK)
        goto done;
    *out = ps.t;
done:
    parser_free(&ps);
    if (st != SX_OK)
        sx_table_decref(ps.t);
    return st;
}

#ifdef SX_THREADS
/* dst (na rows of size bytes) grown to hold nb more, with src's nb rows
 * after its own: the grown array, or NULL when out of memory (dst is then
 * as it was). */
static void *append_rows(void *dst, const void *src, int64_t na, int64_t nb, size_t size)
{
    size_t total = (size_t)(na + nb) * size;
    void *grown = realloc(dst, total ? total : 1);
    if (grown && nb > 0)
        memcpy((char *)grown + (size_t)na * size, src, (size_t)nb * size);
    return grown;
}

/* Append b's rows to a's, as if a had parsed them: b's strings join a's
 * dictionaries (codes stay in order of first appearance), its projects
 * join a's.  SX_OK, or SX_ERR_PARSE when the halves disagree about a
 * project (its key, title or category, or who owns a key): then the caller
 * parses the whole input again in one piece, which says where. */
static sx_status merge_halves(parser *a, parser *b)
{
    sx_table *ta = a->t, *tb = b->t;
    int64_t na = ta->nrows, nb = tb->nrows;
    int32_t *maps[SX_NSTRCOLS] = {NULL};
    sx_status st = SX_ERR_LIMIT;
    if (na + nb > MAX_ROWS)     /* each half fits, the whole does not */
        goto done;
    st = SX_ERR_NOMEM;
    /* column by column, each of b's freed once copied, to keep the peak low */
#define APPEND(field)                                                             \
    do {                                                                          \
        if (ta->field) {                                                          \
            void *grown = append_rows(ta->field, tb->field, na, nb, sizeof *ta->field); \
            if (!grown)                                                           \
                goto done;                                                        \
            ta->field = grown;                                                    \
            free(tb->field);                                                      \
            tb->field = NULL;                                                     \
        }                                                                         \
    } while (0)
    APPEND(project);
    APPEND(value);
    APPEND(is_int);
    APPEND(as_of);
    APPEND(period_start);
#undef APPEND
    ta->period_start_nulls += tb->period_start_nulls;
    for (int c = 0; c < SX_NSTRCOLS; c++) {
        sx_dict *da = &ta->dicts[c];
        const sx_dict *db = &tb->dicts[c];
        if (!ta->codes[c])
            continue;
        if (!(maps[c] = malloc((size_t)(db->count > 0 ? db->count : 1) * sizeof *maps[c])))
            goto done;
        for (int32_t k = 0; k < db->count; k++) {
            size_t n;
            const char *str = sx_dict_str(db, k, &n);
            int32_t before = da->count;
            if ((st = sx_dict_intern(da, str, n, &maps[c][k])) != SX_OK)
                goto done;
            if (c == SX_COL_PART_OF && maps[c][k] == before) {
                /* where a part_of is first used, for check_part_of */
                size_t need = (size_t)before + 1;
                if (need > a->part_of_cap) {
                    size_t *grown = realloc(a->part_of_at, need * 2 * sizeof *grown);
                    if (!grown) {
                        st = SX_ERR_NOMEM;
                        goto done;
                    }
                    a->part_of_at = grown;
                    a->part_of_cap = need * 2;
                }
                a->part_of_at[before] = b->part_of_at[k];
            }
        }
        st = SX_ERR_NOMEM;
        int width = ta->code_width[c];
        int wide = code_width_for(da->count);
        if (wide < width)
            wide = width;
        size_t total = (size_t)(na + nb) * (size_t)wide;
        void *codes = realloc(ta->codes[c], total ? total : 1);
        if (!codes)
            goto done;
        ta->codes[c] = codes;
        if (wide != width)
            widen_in_place(codes, width, wide, na);
        ta->code_width[c] = (uint8_t)wide;
        const void *from = tb->codes[c];
        int from_width = tb->code_width[c];
        for (int64_t i = 0; i < nb; i++) {
            /* b's column has a code for each of its nb rows (the analyzer
             * takes the allocation for one of no size) */
            int32_t code = from_width == 1   ? ((const int8_t *)from)[i]    /* NOLINT(clang-analyzer-unix.Malloc) */
                           : from_width == 2 ? ((const int16_t *)from)[i]   /* NOLINT(clang-analyzer-unix.Malloc) */
                                             : ((const int32_t *)from)[i];  /* NOLINT(clang-analyzer-unix.Malloc) */
            put_code(codes, wide, na + i, code < 0 ? code : maps[c][code]);
        }
        free(tb->codes[c]);
        tb->codes[c] = NULL;
        ta->null_count[c] += tb->null_count[c];
    }
    ta->nrows = na + nb;
    a->cap_rows = ta->nrows;

    for (size_t i = 0; i < b->nprojects; i++) {
        const project_state *q = &b->projects[i];
        size_t index;
        if ((st = find_project(a, q->number, &index)) != SX_OK)
            goto done;
        project_state *pj = &a->projects[index];
        pj->nrows += q->nrows;
        if (q->as_of > pj->as_of)
            pj->as_of = q->as_of;
        for (int x = 0; x < NATTRS; x++) {
            if (q->attr[x] == SX_NULL_CODE)
                continue;
            int32_t code = maps[ATTR_COL(x)][q->attr[x]];
            if (pj->attr[x] != SX_NULL_CODE) {
                if (pj->attr[x] != code) {
                    st = SX_ERR_PARSE;
                    goto done;
                }
                continue;
            }
            if (x == ATTR_KEY) {
                if ((size_t)code < a->key_owner_cap && a->key_owner[code] != 0 &&
                    a->key_owner[code] != (uint32_t)index + 1) {
                    st = SX_ERR_PARSE;
                    goto done;
                }
                if ((st = claim_project_key(a, index, code, a->buf + q->attr_at[x])) != SX_OK)
                    goto done;
                pj = &a->projects[index];
            }
            pj->attr[x] = code;
            pj->attr_at[x] = q->attr_at[x];
        }
    }
    st = SX_OK;
done:
    for (int c = 0; c < SX_NSTRCOLS; c++)
        free(maps[c]);
    return st;
}

typedef struct half_job {
    parser *ps;
    sx_status st;
} half_job;

static void *parse_half(void *arg)
{
    half_job *job = arg;
    job->st = allocate_columns(job->ps);
    if (job->st == SX_OK)
        job->st = parse_records(job->ps);
    return NULL;
}

/* Parse a large input on two threads: the first half on this one, up to the
 * first record that starts at or after a line break near the middle, and the
 * rest on another, then merge.  Returns 1 with *out set when that worked;
 * 0 when the input is better parsed in one piece: the split fell inside a
 * quoted field (the first half's last record does not end where the second
 * half began), either half found an error (so that errors are reported
 * exactly as one pass finds them, with their line), or memory or a thread
 * was short.  Nothing is left allocated and err is not touched then. */
static int parse_in_halves(const char *buf, size_t len, const sx_parse_options *opts,
                           sx_table **out)
{
    parser a, b;
    sx_error ea, eb;
    half_job job = {&b, SX_ERR_PARSE};
    pthread_t thread;
    int ok = 0, started = 0;
    parser_init(&a, buf, len, opts, &ea);
    parser_init(&b, buf, len, opts, &eb);
    if (!(a.t = new_table()) || !(b.t = new_table()) || parse_header(&a) != SX_OK)
        goto done;
    const char *middle = a.p + (a.end - a.p) / 2;
    const char *nl = memchr(middle, '\n', (size_t)(a.end - middle));
    if (!nl || nl + 1 >= a.end)
        goto done;
    a.stop = b.p = nl + 1;
    b.released = (size_t)(b.p - b.buf);
    b.next_release = b.released + RELEASE_STEP;
    b.nfields = a.nfields;
    memcpy(b.column_of, a.column_of, sizeof b.column_of);
    if (!(b.roles = malloc((size_t)a.nfields)))
        goto done;
    memcpy(b.roles, a.roles, (size_t)a.nfields);
    started = pthread_create(&thread, NULL, parse_half, &job) == 0;
    if (!started)
        goto done;
    sx_status sa = allocate_columns(&a);
    if (sa == SX_OK)
        sa = parse_records(&a);
    pthread_join(thread, NULL);
    if (sa != SX_OK || job.st != SX_OK || a.p != a.stop)
        goto done;
    if (merge_halves(&a, &b) != SX_OK || finish_table(&a) != SX_OK)
        goto done;
    *out = a.t;
    a.t = NULL;
    ok = 1;
done:
    parser_free(&a);
    parser_free(&b);
    sx_table_decref(a.t);
    sx_table_decref(b.t);
    return ok;
}
#endif

sx_status sx_table_parse(const char *buf, size_t len, sx_table **out, sx_error *err)
{
    return sx_table_parse_with(buf, len, NULL, out, err);
}

sx_status sx_table_parse_with(const char *buf, size_t len, const sx_parse_options *opts,
                              sx_table **out, sx_error *err)
{
    sx_error local;
    /* cppcheck-suppress uninitvar ; only its address is taken here */
    sx_error *e = err ? err : &local;
    e->status = SX_OK;
    e->line = e->column = 0;
    e->message[0] = '\0';
    *out = NULL;
#ifdef SX_THREADS
    if (buf != NULL && len >= SX_PARSE_PARALLEL_BYTES && parse_in_halves(buf, len, opts, out))
        return SX_OK;
#endif
    return parse_whole(buf, len, opts, out, e);
}
