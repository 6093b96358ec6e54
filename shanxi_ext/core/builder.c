/*
 * builder.c -- the parser fed in chunks (sx_builder, core.h): the complete
 * records of each chunk are parsed, the incomplete rest is presented again
 * with the next one, and line numbers count from the start of the whole
 * input.  sx_table_parse is one final feed of the whole buffer, so one
 * buffer and any chunking give the same table and the same errors.
 *
 * How a chunk is cut: a chunk that is not the last is parsed only up to its
 * last line break (never between the CR and LF of a CRLF, so a CRLF split
 * across chunks counts once), and a quoted field that runs past that point
 * is taken back with its record, to be parsed again whole.  The bytes after
 * the cut are checked for invalid UTF-8 as they arrive: an invalid byte
 * proves the input wrong whatever follows, so the chunk is then parsed as
 * if it were the last, which reports the first error exactly as one buffer
 * would.  Empty lines at the end of a chunk are consumed and remembered:
 * they may close the input, else the first is the error.
 *
 * A record longer than a chunk would be scanned again from its start with
 * every chunk added to it (quadratic in its length, as a pipe gives 64 KiB
 * a read).  So once a chunk is consumed not at all, the next ones are not
 * parsed until the bytes presented have doubled (only their UTF-8 is
 * checked as they arrive): the rescans of one record add up to linear
 * time, and what is parsed, and every error, is the same.
 */
#include <stdlib.h>
#include <string.h>

#include "parser.h"
#include "utf8.h"

enum { STAGE_HEADER, STAGE_ROWS, STAGE_FED, STAGE_DONE };

struct sx_builder {
    parser ps;
    sx_parse_options opts;
    int stage;
    int allocated;    /* the column arrays are reserved */
    int want_lines;   /* count the lines of a final chunk (a part to merge) */
    uint64_t offset;  /* of the next byte to be fed, in the whole input */
    uint64_t lines;   /* line breaks before it */
    uint64_t checked; /* the pending bytes are valid UTF-8 up to here */
    uint64_t expect;  /* bytes of the whole input, 0 when unknown */
    int blank;        /* the consumed input ends in empty lines ... */
    sx_pos blank_at;  /* ... the first of them here */
    size_t rescan_at; /* a chunk was consumed not at all: parse again from
                         this many bytes (0: at once) */
};

static const char BOM[3] = {'\xEF', '\xBB', '\xBF'};

sx_status
sx_builder_new(const sx_parse_options *opts, sx_builder **out)
{
    *out = NULL;
    sx_builder *b = calloc(1, sizeof *b);
    if (!b)
        return SX_ERR_NOMEM;
    if (opts)
        b->opts = *opts;
    sxp_parser_init(&b->ps, NULL, 0, &b->opts, NULL);
    if (!(b->ps.t = sxp_new_table())) {
        free(b);
        return SX_ERR_NOMEM;
    }
    *out = b;
    return SX_OK;
}

void
sx_builder_expect(sx_builder *b, uint64_t bytes)
{
    b->expect = bytes;
}

void
sx_builder_free(sx_builder *b)
{
    if (!b)
        return;
    sxp_parser_free(&b->ps);
    sx_table_decref(b->ps.t);
    free(b);
}

/* A part of an input whose header `whole` has parsed: rows only, its lines
 * counted from the part's start (sxp_shift_lines makes them absolute). */
sx_status
sxp_builder_new_part(const sx_builder *whole, uint64_t offset, uint64_t bytes, sx_builder **out)
{
    sx_builder *b;
    sx_status st = sx_builder_new(&whole->opts, &b);
    if (st != SX_OK)
        return st;
    parser *ps = &b->ps;
    if (!(ps->roles = malloc((size_t)whole->ps.nfields))) {
        sx_builder_free(b);
        return SX_ERR_NOMEM;
    }
    memcpy(ps->roles, whole->ps.roles, (size_t)whole->ps.nfields);
    ps->nfields = whole->ps.nfields;
    memcpy(ps->column_of, whole->ps.column_of, sizeof ps->column_of);
    b->stage = STAGE_ROWS;
    b->offset = offset;
    b->expect = bytes;
    b->want_lines = 1;
    *out = b;
    return SX_OK;
}

parser *
sxp_builder_parser(sx_builder *b)
{
    return &b->ps;
}

uint64_t
sxp_builder_lines(const sx_builder *b)
{
    return b->lines;
}

uint64_t
sxp_builder_offset(const sx_builder *b)
{
    return b->offset;
}

int
sxp_builder_fed(const sx_builder *b)
{
    return b->stage >= STAGE_FED;
}

int
sxp_builder_in_rows(const sx_builder *b)
{
    return b->stage == STAGE_ROWS && b->allocated;
}

int
sxp_builder_ends_blank(const sx_builder *b)
{
    return b->blank;
}

void
sxp_builder_count_lines(sx_builder *b)
{
    b->want_lines = 1;
}

/* A merged part's remembered lines, counted from its start, made counts
 * from the start of the input: `lines` line breaks come before it. */
void
sxp_shift_lines(parser *ps, uint64_t lines)
{
    for (size_t i = 0; i < ps->nprojects; i++)
        for (int a = 0; a < NATTRS; a++)
            if (ps->projects[i].attr[a] != SX_NULL_CODE)
                ps->projects[i].attr_line[a] += lines;
    if (ps->t->codes[SX_COL_PART_OF])
        for (int32_t k = 0; k < ps->t->dicts[SX_COL_PART_OF].count; k++)
            ps->part_of_at[k].line += lines;
}

/* Where a chunk that is not the last is parsed up to: after its last line
 * break whose end is known (a CR as the last byte may be half a CRLF). */
static size_t
cut_point(const char *buf, size_t len)
{
    if (len == 0)
        return 0;
    if (buf[len - 1] == '\n')
        return len;
    for (size_t i = len - 1; i-- > 0;)
        if (buf[i] == '\n' || buf[i] == '\r')
            return i + 1;
    return 0;
}

/* The first invalid UTF-8 byte in [p, end), or NULL with *valid_to set to
 * where checking stopped (before a sequence that end cuts short). */
static const char *
first_invalid(const char *p, const char *end, const char **valid_to)
{
    const unsigned char *q = (const unsigned char *)p, *e = (const unsigned char *)end;
    while (q < e) {
        q = sxp_skip_to_quote(q, e);
        if (q == e)
            break;
        if (*q < 0x80) { /* a quote */
            q++;
            continue;
        }
        size_t n = sxp_utf8_sequence(q, e);
        if (n) {
            q += n;
            continue;
        }
        /* invalid, or valid so far and cut short by the end */
        unsigned lo, hi;
        size_t want = sxp_utf8_lead(*q, &lo, &hi), have = (size_t)(e - q);
        if (want == 0 || have >= want)
            return (const char *)q;
        for (size_t i = 1; i < have; i++) {
            unsigned c = q[i];
            if (i == 1 ? (c < lo || c > hi) : (c & 0xC0) != 0x80)
                return (const char *)q;
        }
        break;
    }
    *valid_to = (const char *)q;
    return NULL;
}

/* The first NUL byte of the header line, unless invalid UTF-8 comes first
 * (which the header's own scan reports), or NULL. */
const char *
sxp_header_nul(const char *p, const char *end)
{
    for (const char *q = p; q < end; q++) {
        unsigned char c = (unsigned char)*q;
        if (c == 0)
            return q;
        if (c == '\n' || c == '\r')
            return NULL;
        if (c >= 0x80) {
            size_t n = sxp_utf8_sequence((const unsigned char *)q, (const unsigned char *)end);
            if (!n)
                return NULL;
            q += n - 1;
        }
    }
    return NULL;
}

/* The parser set up on a new chunk, buf[0..len), parsed up to end. */
static void
set_chunk(sx_builder *b, const char *buf, size_t len, size_t end, int final, sx_error *err)
{
    parser *ps = &b->ps;
    ps->buf = buf ? buf : "";
    ps->start = ps->buf;
    if (b->offset == 0 && len >= 3 && memcmp(ps->buf, BOM, 3) == 0)
        ps->start += 3;
    ps->end = ps->buf + end;
    if (ps->end < ps->start) /* a chunk cut before the BOM's end: nothing to parse yet */
        ps->end = ps->start;
    ps->p = ps->start;
    ps->stop = ps->end;
    ps->err = err;
    ps->line_base = ps->mark_lines = b->lines;
    ps->line_mark = ps->buf;
    ps->cursor.valid = 0;
    ps->last_date[0].text = ps->last_date[1].text = NULL;
    ps->partial = !final;
    ps->truncated = 0;
    /* opts->consumed takes offsets in one whole buffer */
    ps->opts = b->offset == 0 && final ? &b->opts : NULL;
    ps->released = 0;
    ps->next_release = RELEASE_STEP;
}

static sx_status
allocate(sx_builder *b)
{
    parser *ps = &b->ps;
    uint64_t at = b->offset + (uint64_t)(ps->p - ps->buf);
    ps->expect_bytes = b->expect > at ? b->expect - at : 0;
    sx_status st = sxp_allocate_columns(ps);
    b->allocated = st == SX_OK;
    return st;
}

/* The header row, or SX_OK with b still at STAGE_HEADER when it goes on in
 * the next chunk. */
static sx_status
feed_header(sx_builder *b, size_t len)
{
    parser *ps = &b->ps;
    const char *nul = sxp_header_nul(ps->start, ps->buf + len);
    if (nul)
        return sxp_fail(ps, nul, "expected a header row of column names, found a NUL byte");
    if (ps->partial && (ps->p == ps->end || sxp_only_line_breaks(ps->p, ps->end)))
        return SX_OK; /* no line yet (empty lines first are an error: see feed) */
    sx_status st = sxp_parse_header(ps);
    if (st != SX_OK) {
        if (!(ps->partial && ps->truncated))
            return st;
        /* a quoted name goes on in the next chunk: read the header again */
        ps->nfields = 0;
        ps->p = ps->start;
        return SX_OK;
    }
    if ((st = allocate(b)) != SX_OK)
        return st;
    b->stage = STAGE_ROWS;
    return SX_OK;
}

static sx_status
feed_rows(sx_builder *b, size_t len)
{
    parser *ps = &b->ps;
    sx_status st;
    if (!b->allocated && (st = allocate(b)) != SX_OK)
        return st;
    if (b->blank && !sxp_only_line_breaks(ps->p, ps->buf + len))
        return sxp_fail_pos(ps, b->blank_at, "expected %d fields, found an empty line",
                            ps->nfields);
    if ((st = sxp_parse_records(ps)) != SX_OK)
        return st;
    if (ps->p < ps->end && !(ps->partial && ps->truncated)) {
        /* empty lines up to the end of what is here */
        if (!b->blank) {
            b->blank = 1;
            b->blank_at = sxp_pos_of(ps, ps->p);
        }
        if (ps->partial) {
            if (!sxp_only_line_breaks(ps->end, ps->buf + len))
                return sxp_fail_pos(ps, b->blank_at, "expected %d fields, found an empty line",
                                    ps->nfields);
            ps->p = ps->end;
        }
    }
    return SX_OK;
}

/* The input is wrong whatever follows: the rest of this chunk (len bytes)
 * parsed as the last one says where, exactly as one buffer would. */
static sx_status
feed_rest_as_final(sx_builder *b, size_t len, size_t *used, sx_error *e)
{
    parser *ps = &b->ps;
    size_t at = b->stage == STAGE_HEADER ? 0 : (size_t)(ps->p - ps->buf);
    b->lines = sxp_line_of(ps, ps->buf + at) - 1;
    b->offset += at;
    size_t rest;
    sx_status st = sx_builder_feed(b, ps->buf + at, len - at, 1, &rest, e);
    *used = at + rest;
    return st;
}

sx_status
sx_builder_feed(sx_builder *b, const char *buf, size_t len, int final, size_t *used, sx_error *err)
{
    sx_error local;
    /* cppcheck-suppress uninitvar ; only its address is taken here */
    sx_error *e = err ? err : &local;
    e->status = SX_OK;
    e->line = e->column = 0;
    e->message[0] = '\0';
    *used = 0;
    if (b->stage >= STAGE_FED)
        return sx_error_set(e, SX_ERR_VALUE, "the input was complete: no more can be fed");
    if (b->opts.cancel && sx_refcount_get(b->opts.cancel)) {
        b->stage = STAGE_DONE;
        return sx_error_set(e, SX_ERR_CANCELLED, "cancelled");
    }
    parser *ps = &b->ps;
    int defer = !final && len < b->rescan_at;
    size_t end = final ? len : defer ? 0 : cut_point(buf, len);
    set_chunk(b, buf, len, end, final, e);
    sx_status st = SX_OK;
    if (b->stage == STAGE_HEADER && !defer) {
        /* empty lines before the header are an error whatever follows:
         * once anything else arrives, say which as one buffer would */
        if (!final && ps->start < ps->buf + len && sxp_is_line_break(*ps->start) &&
            !sxp_only_line_breaks(ps->start, ps->buf + len))
            return feed_rest_as_final(b, len, used, e);
        if ((st = feed_header(b, len)) != SX_OK)
            goto error;
    }
    if (b->stage == STAGE_ROWS && !defer && (st = feed_rows(b, len)) != SX_OK)
        goto error;
    if (final) {
        if (b->want_lines)
            b->lines = sxp_line_of(ps, ps->buf + len) - 1;
        b->offset += len;
        b->stage = STAGE_FED;
        *used = len;
        return SX_OK;
    }
    /* consume what was parsed; check the rest as far as it goes */
    size_t u = b->stage == STAGE_HEADER ? 0 : (size_t)(ps->p - ps->buf);
    size_t from = end;
    if (b->checked > b->offset && b->checked - b->offset > from)
        from = (size_t)(b->checked - b->offset);
    const char *valid_to = ps->buf + from;
    if (from < len && first_invalid(ps->buf + from, ps->buf + len, &valid_to))
        return feed_rest_as_final(b, len, used, e);
    b->checked = b->offset + (uint64_t)(valid_to - ps->buf);
    if (!defer)
        b->rescan_at = u > 0 ? 0 : len > SIZE_MAX / 2 ? SIZE_MAX : len * 2;
    b->lines = sxp_line_of(ps, ps->buf + u) - 1;
    b->offset += u;
    *used = u;
    return SX_OK;

error:
    b->stage = STAGE_DONE;
    return st;
}

sx_status
sx_builder_finish(sx_builder *b, sx_table **out, sx_error *err)
{
    sx_error local;
    /* cppcheck-suppress uninitvar ; only its address is taken here */
    sx_error *e = err ? err : &local;
    e->status = SX_OK;
    e->line = e->column = 0;
    e->message[0] = '\0';
    *out = NULL;
    if (b->stage != STAGE_FED)
        return sx_error_set(e, SX_ERR_VALUE, "the input is not complete: feed its end first");
    b->stage = STAGE_DONE;
    b->ps.err = e;
    sx_status st = sxp_finish_table(&b->ps);
    if (st != SX_OK)
        return st;
    *out = b->ps.t;
    b->ps.t = NULL;
    return SX_OK;
}

void
sx_builder_position(const sx_builder *b, const char *rest, size_t n, uint64_t *line,
                    uint64_t *column)
{
    if (rest == NULL) /* nothing left over: the position after what was fed */
        n = 0;
    const char *p = rest ? rest : "";
    /* cppcheck-suppress pointerOutOfBoundsCond ; n is 0 when p is the empty literal */
    const char *end = p + n;
    if (b->offset == 0 && n >= 3 && memcmp(p, BOM, 3) == 0)
        p += 3;
    *line = 1 + b->lines + sxp_count_line_breaks(p, end, end);
    const char *q = end;
    while (q > p && q[-1] != '\n' && q[-1] != '\r')
        q--;
    uint64_t col = 1;
    for (; q < end; q++)
        col += ((unsigned char)*q & 0xC0) != 0x80;
    *column = col;
}
