/*
 * parse.c -- the CSV reader's driver: one pass over a strict RFC 4180 UTF-8
 * document into a table of native columns (see data/README.md for the
 * format): the header, each record's fields stored in their columns, the
 * column arrays' room, and the finished table.  parser.h lists the other
 * files of the parser.
 *
 * Design:
 * - The column arrays are sized by a guess from the first bytes' line
 *   length, grown by half when it falls short and trimmed at the end; large
 *   ones are mappings of their own (bigalloc.c), so spare room costs address
 *   space only and growing moves pages, not bytes.
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
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "parser.h"

const char *const sxp_fixed_names[NROLES - ROLE_PROJECT] = {"project", "value", "as_of",
                                                            "period_start"};

static void
skip_line_break(parser *ps)
{
    if (ps->p < ps->end && *ps->p == '\r')
        ps->p++;
    if (ps->p < ps->end && *ps->p == '\n')
        ps->p++;
}

/* Equality of two byte strings, in 16- or 8-byte words (the last one
 * overlapping) instead of a call to memcmp: keys are short and usually
 * equal here, and titles and labels run to 60 bytes. */
static inline int
same_bytes(const char *a, const char *b, size_t n)
{
#if defined(SX_SSE2)
    if (n >= 16) {
        __m128i diff = _mm_setzero_si128();
        for (size_t i = 0; i + 16 < n; i += 16)
            diff = _mm_or_si128(diff, _mm_xor_si128(_mm_loadu_si128((const void *)(a + i)),
                                                    _mm_loadu_si128((const void *)(b + i))));
        diff = _mm_or_si128(diff, _mm_xor_si128(_mm_loadu_si128((const void *)(a + n - 16)),
                                                _mm_loadu_si128((const void *)(b + n - 16))));
        return _mm_movemask_epi8(_mm_cmpeq_epi8(diff, _mm_setzero_si128())) == 0xFFFF;
    }
#endif
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

static inline int
is_code_of(const sx_dict *d, int32_t code, const char *s, size_t n)
{
    size_t m;
    const char *t = sx_dict_str(d, code, &m);
    return m == n && same_bytes(t, s, n);
}

/* Remembers that `code` followed `prev`; only a speed-up, so running out of
 * memory here just means no prediction. */
static void
remember_successor(column_cache *cc, int32_t prev, int32_t code)
{
    if (prev < 0 || prev >= MAX_PREDICTED)
        return;
    if (prev >= cc->next_cap) {
        int32_t cap = (int32_t)sx_grown_capacity((size_t)cc->next_cap, (size_t)prev + 1, 64);
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

/* A column's dictionary outgrew its code width (codes start as int8): move
 * the codes of rows [0, rows) to the next width, in place, from the last row
 * down so no code is overwritten before it is read. */
static sx_status
widen_codes(parser *ps, sx_strcol c, int64_t rows)
{
    sx_table *t = ps->t;
    int width = t->code_width[c], wider = width == 1 ? 2 : 4;
    void *codes = sx_big_realloc(t->codes[c], (size_t)ps->cap_rows * (size_t)wider);
    if (!codes)
        return sxp_fail_nomem(ps);
    sxp_widen_in_place(codes, width, wider, rows);
    t->codes[c] = codes;
    t->code_width[c] = (uint8_t)wider;
    return SX_OK;
}

/* Where column_cache.recent keeps text s[0..n), n > 0: a mix of its length
 * and three of its bytes, cheap next to the keyed hash of all of it. */
static inline unsigned
recent_slot(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    uint32_t x =
        (uint32_t)u[0] | (uint32_t)u[n - 1] << 8 | (uint32_t)u[n / 2] << 16 | (uint32_t)n << 24;
    return (unsigned)((x * UINT32_C(0x9E3779B1)) >> (32 - RECENT_BITS));
}

/* The code of the text of column c's field when neither the previous code
 * nor its successor was it: a recent one with the same slot, or the
 * dictionary's (a new one widening the codes when it must). */
static sx_status
intern_string(parser *ps, sx_strcol c, int64_t row, int32_t *out)
{
    sx_dict *d = &ps->t->dicts[c];
    column_cache *cc = &ps->cache[c];
    int32_t prev = cc->code, code;
    uint32_t *recent = &cc->recent[recent_slot(ps->text, ps->len)];
    int32_t seen = (int32_t)*recent - 1;
    if (seen >= 0 && seen < d->count && is_code_of(d, seen, ps->text, ps->len)) {
        remember_successor(cc, prev, seen);
        *out = seen;
        return SX_OK;
    }
    int32_t before = d->count;
    sx_status st = sx_dict_intern(d, ps->text, ps->len, &code);
    if (st != SX_OK)
        return sxp_intern_failed(ps, st, c);
    if (c == SX_COL_PART_OF && code == before &&
        (st = sxp_note_part_of(ps, code, sxp_pos_of(ps, ps->field_at))) != SX_OK)
        return st;
    remember_successor(cc, prev, code);
    *recent = (uint32_t)code + 1;
    /* strings come one at a time, so one step wider is enough */
    if (code == before && sxp_code_width_for(d->count) > ps->t->code_width[c] &&
        (st = widen_codes(ps, c, row)) != SX_OK)
        return st;
    *out = code;
    return SX_OK;
}

static sx_status
store_string(parser *ps, sx_strcol c, int64_t row)
{
    int32_t code = SX_NULL_CODE; /* set on every path; -O1 cannot tell */
    sx_dict *d = &ps->t->dicts[c];
    column_cache *cc = &ps->cache[c];
    int32_t prev = cc->code;
    if (ps->len == 0) {
        if (c == SX_COL_METRIC || c == SX_COL_UNIT)
            return sxp_fail_field(ps, "a non-empty text", (int)c);
        code = SX_NULL_CODE;
        ps->t->null_count[c]++;
    } else if (prev >= 0 && is_code_of(d, prev, ps->text, ps->len)) {
        code = prev;
    } else {
        int32_t guess = prev >= 0 && prev < cc->next_cap ? cc->next[prev] : -1;
        sx_status st;
        if (guess >= 0 && is_code_of(d, guess, ps->text, ps->len)) {
            code = guess;
        } else if ((st = intern_string(ps, c, row, &code)) != SX_OK) {
            return st;
        }
        cc->code = code;
    }
    sxp_put_code(ps->t->codes[c], ps->t->code_width[c], row, code);
    if (c >= SX_COL_CATEGORY)
        ps->attr_at[c - SX_COL_CATEGORY] = ps->field_at;
    return SX_OK;
}

static sx_status
store_field(parser *ps, int role, int64_t row)
{
    sx_table *t = ps->t;
    switch (role) {
    case ROLE_IGNORE:
        return SX_OK;
    case ROLE_PROJECT:
        switch (sxp_parse_project_number(ps->text, ps->len, &t->project[row])) {
        case PROJECT_OK:
            return SX_OK;
        case PROJECT_TOO_LARGE:
            return sxp_fail_field(ps, "a positive integer up to 2147483647", role);
        default:
            return sxp_fail_field(ps, "a positive integer", role);
        }
    case ROLE_VALUE:
        switch (sxp_parse_value(ps->text, ps->len, &t->value[row], &t->is_int[row])) {
        case VALUE_OK:
            return SX_OK;
        case VALUE_NOMEM:
            return sxp_fail_nomem(ps);
        case VALUE_RANGE:
            return sxp_fail_field(ps, "a number within the range of a double (up to about 1.8e308)",
                                  role);
        default:
            return sxp_fail_field(ps, "a finite number", role);
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
        switch (sxp_parse_date(ps->text, ps->len, &column[row])) {
        case DATE_OK:
            ps->last_date[which].text = ps->text_in_input ? ps->text : NULL;
            ps->last_date[which].days = column[row];
            return SX_OK;
        case DATE_FORMAT:
            return sxp_fail_field(ps, "a date written YYYY-MM-DD", role);
        default:
            return sxp_fail_field(ps, "a real calendar date from 0001-01-01 to 9999-12-31", role);
        }
    }
    default:
        return store_string(ps, (sx_strcol)role, row);
    }
}

static sx_status
parse_record(parser *ps, int64_t row)
{
    /* The position lives in a local: storing it in *ps and reading it back
     * at once stalls store forwarding on every field. */
    const unsigned char *buf = (const unsigned char *)ps->buf;
    size_t len = (size_t)(ps->end - ps->buf);
    size_t pos = (size_t)(ps->p - ps->buf);
    block_cursor bc = ps->cursor;
    sx_status st;
    for (int i = 0;; i++) {
        size_t stop = sxp_next_special(&bc, buf, pos, len);
        if (stop == len || sxp_byte_class(buf[stop]) == BYTE_STOP) {
            /* the common case: plain ASCII without quotes */
            ps->field_at = ps->text = (const char *)buf + pos;
            ps->len = stop - pos;
            ps->text_in_input = 1;
            pos = stop;
        } else {
            /* quoted, non-ASCII or malformed: the full scanner */
            ps->p = (const char *)buf + pos;
            if ((st = sxp_scan_field(ps, 1)) != SX_OK) {
                ps->stored_fields = i; /* for a builder to take the row back */
                return st;
            }
            /* only a quoted field holds line breaks (see record_line_breaks) */
            if (buf[pos] == '"' && sxp_has_line_break(buf + pos, (const unsigned char *)ps->p))
                ps->quoted_breaks += sxp_count_line_breaks((const char *)buf + pos, ps->p, ps->end);
            pos = (size_t)(ps->p - ps->buf);
        }
        if ((st = store_field(ps, ps->roles[i], row)) != SX_OK)
            return st;
        if (i == ps->nfields - 1)
            break;
        if (pos == len || buf[pos] != ',')
            return sxp_fail(ps, (const char *)buf + pos, "expected %d fields, found %d",
                            ps->nfields, i + 1);
        pos++;
    }
    ps->cursor = bc;
    ps->p = (const char *)buf + pos;
    if (pos < len && buf[pos] == ',')
        return sxp_fail_too_many(ps);
    skip_line_break(ps);
    return sxp_finish_row(ps, row);
}

/* ------------------------------------------------------------------ header */

static int
role_of_name(const char *s, size_t n)
{
    for (int c = 0; c < SX_NSTRCOLS; c++)
        if (strlen(sx_strcol_names[c]) == n && memcmp(sx_strcol_names[c], s, n) == 0)
            return c;
    for (int r = ROLE_PROJECT; r < NROLES; r++) {
        const char *name = sxp_fixed_names[r - ROLE_PROJECT];
        if (strlen(name) == n && memcmp(name, s, n) == 0)
            return r;
    }
    return ROLE_IGNORE;
}

static const char *
role_name(int r)
{
    return r < SX_NSTRCOLS ? sx_strcol_names[r] : sxp_fixed_names[r - ROLE_PROJECT];
}

/* The absent column a header field that names none looks like a slip for:
 * the same but for case or surrounding spaces, or close by the suggestion
 * engine's rule (suggest.c), the first in column order among the closest;
 * or NULL.  Only absent columns: a file may well have a "Region" beside its
 * "region". */
static const char *
near_miss(const parser *ps, const char *s, size_t n)
{
    while (n && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    sx_suggestions sg;
    sx_suggest_init(&sg, s, n);
    for (int r = 0; r < NROLES; r++) {
        if (ps->column_of[r] < 0) {
            const char *name = role_name(r);
            sx_suggest_offer(&sg, r, name, strlen(name));
        }
    }
    return sg.n ? role_name((int)sg.id[0]) : NULL;
}

/* Each field that names no column into the table's list, with its near
 * miss; then, when a required column is missing, the error, naming a field
 * that looks like a slip for it. */
static sx_status
check_columns(parser *ps, const sx_dict *names)
{
    static const int required[] = {ROLE_PROJECT, SX_COL_METRIC, ROLE_VALUE, SX_COL_UNIT,
                                   ROLE_AS_OF};
    enum { NREQUIRED = sizeof required / sizeof *required };
    const char *near_of[NREQUIRED] = {0}; /* the field taken for each missing one */
    size_t near_len[NREQUIRED] = {0};
    sx_status st;
    for (int i = 0; i < ps->nfields; i++) {
        if (ps->roles[i] != ROLE_IGNORE)
            continue;
        size_t len;
        const char *name = sx_dict_str(names, i, &len); /* names are distinct: code i */
        const char *near = near_miss(ps, name, len);
        if ((st = sxp_add_ignored(ps->t, name, len, near)) != SX_OK)
            return st == SX_ERR_NOMEM ? sxp_fail_nomem(ps)
                                      : sxp_fail_limit(ps, "the header row is too large");
        for (int k = 0; near && k < NREQUIRED; k++) {
            if (!near_of[k] && strcmp(near, role_name(required[k])) == 0) {
                near_of[k] = name;
                near_len[k] = len;
            }
        }
    }

    char missing[128] = "", hints[2 * QUOTE_BUF] = "", found[QUOTE_BUF];
    size_t o = 0, h = 0;
    int nmissing = 0, nhints = 0;
    for (int k = 0; k < NREQUIRED; k++) {
        if (ps->column_of[required[k]] >= 0)
            continue;
        const char *name = role_name(required[k]);
        nmissing++;
        o += (size_t)snprintf(missing + o, sizeof missing - o, "%s\"%s\"", o ? ", " : "", name);
        if (near_of[k] && h < sizeof hints) {
            h +=
                (size_t)snprintf(hints + h, sizeof hints - h, "%s%s for \"%s\"", nhints ? ", " : "",
                                 sxp_quote_text(found, near_of[k], near_len[k]), name);
            nhints++;
        }
    }
    if (!nmissing)
        return SX_OK;
    if (nmissing == 1 && nhints == 1) {
        for (int k = 0; k < NREQUIRED; k++)
            if (near_of[k] && ps->column_of[required[k]] < 0)
                return sxp_fail(ps, ps->start,
                                "expected a header with the columns project, metric, value, "
                                "unit and as_of, found no \"%s\" column; did you mean %s?",
                                role_name(required[k]),
                                sxp_quote_text(found, near_of[k], near_len[k]));
    }
    return sxp_fail(ps, ps->start,
                    "expected a header with the columns project, metric, value, unit and as_of, "
                    "found none named %s%s%s%s",
                    missing, nhints ? "; did you mean " : "", hints, nhints ? "?" : "");
}

sx_status
sxp_parse_header(parser *ps)
{
    sx_dict names = {0}; /* to find a repeated name in any size of header */
    int cap = 0;
    sx_status st = SX_OK;
    for (int r = 0; r < NROLES; r++)
        ps->column_of[r] = -1;
    sxp_clear_ignored(ps->t); /* a header cut by a chunk's end is read again */
    if (sxp_only_line_breaks(ps->p, ps->end)) {
        st = sxp_fail(ps, ps->p, "expected a header row, found %s",
                      ps->p == ps->end ? "an empty input" : "only empty lines");
        goto done;
    }
    for (;;) {
        if ((st = sxp_scan_field(ps, 1)) != SX_OK)
            goto done;
        int32_t before = names.count, code;
        if ((st = sx_dict_intern(&names, ps->text, ps->len, &code)) != SX_OK) {
            st = st == SX_ERR_NOMEM ? sxp_fail_nomem(ps)
                                    : sxp_fail_limit(ps, "the header row is too large");
            goto done;
        }
        if (code < before) {
            char found[QUOTE_BUF];
            st = sxp_fail(ps, ps->field_at,
                          "expected distinct column names, found %s again (column %d)",
                          sxp_quote_text(found, ps->text, ps->len), (int)code + 1);
            goto done;
        }
        if (ps->nfields == cap) {
            if (cap > INT_MAX / 2) {
                st = sxp_fail_limit(ps, "the header row has too many columns");
                goto done;
            }
            cap = cap ? cap * 2 : 16;
            unsigned char *roles = realloc(ps->roles, (size_t)cap);
            if (!roles) {
                st = sxp_fail_nomem(ps);
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
    st = check_columns(ps, &names);
done:
    sx_dict_free(&names);
    return st;
}

/* ------------------------------------------------------------------ table */

/* Give every column array room for rows rows.  A large array is a mapping
 * of its own (bigalloc.c), which grows by moving pages, not bytes, so growing
 * does not double the peak.  On failure the arrays that did move stay
 * owned by the table, which frees them. */
static int
resize_columns(sx_table *t, size_t rows)
{
    void *p;
#define RESIZE(field)                                                                              \
    do {                                                                                           \
        if (t->field) {                                                                            \
            if (!(p = sx_big_realloc(t->field, rows * sizeof *t->field)))                          \
                return 0;                                                                          \
            t->field = p;                                                                          \
        }                                                                                          \
    } while (0)
    RESIZE(project);
    RESIZE(value);
    RESIZE(is_int);
    RESIZE(as_of);
    RESIZE(period_start);
#undef RESIZE
    for (int c = 0; c < SX_NSTRCOLS; c++) {
        if (t->codes[c]) {
            if (!(p = sx_big_realloc(t->codes[c], rows * t->code_width[c])))
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
 * address space only, and shrink_columns gives it back.  The guess never
 * exceeds the rows the bytes can hold: a sample of one quoted field full of
 * line breaks would otherwise reserve 2^31 rows for a small file. */
sx_status
sxp_allocate_columns(parser *ps)
{
    sx_table *t = ps->t;
    size_t avail = (size_t)(ps->stop - ps->p), rows;
    /* fed in chunks, the input may go on past this one */
    uint64_t left = ps->expect_bytes > avail ? ps->expect_bytes : avail;
    if (left <= SAMPLE_BYTES && left == avail) {
        rows = (size_t)sxp_count_line_breaks(ps->p, ps->stop, ps->end) + 1;
    } else {
        size_t sample = avail < SAMPLE_BYTES ? avail : SAMPLE_BYTES;
        uint64_t lines = sxp_count_line_breaks(ps->p, ps->p + sample, ps->end);
        /* sample > 0 here: avail > 0 whenever left > SAMPLE_BYTES or left != avail */
        double guess = lines ? (double)left / (double)sample * (double)lines * 1.05 : 0.0;
        rows = SX_PARSE_MIN_GROWTH + (guess < (double)MAX_ROWS ? (size_t)guess : (size_t)MAX_ROWS);
    }
    /* a row holds at least the five required fields (as_of 10 bytes, the
     * rest 1) and a separator after each field */
    uint64_t min_row = 14 + (uint64_t)ps->nfields, most = left / min_row + 1;
    if (rows > most)
        rows = (size_t)most;
    if (rows > MAX_ROWS)
        rows = MAX_ROWS;
    if (rows > SIZE_MAX / sizeof(double)) /* only on 32-bit platforms */
        rows = SIZE_MAX / sizeof(double);
    ps->cap_rows = (int64_t)rows;
    t->project = sx_big_alloc(rows * sizeof *t->project);
    t->value = sx_big_alloc(rows * sizeof *t->value);
    t->is_int = sx_big_alloc(rows * sizeof *t->is_int);
    t->as_of = sx_big_alloc(rows * sizeof *t->as_of);
    if (!t->project || !t->value || !t->is_int || !t->as_of)
        return sxp_fail_nomem(ps);
    if (ps->column_of[ROLE_PERIOD_START] >= 0 &&
        !(t->period_start = sx_big_alloc(rows * sizeof *t->period_start)))
        return sxp_fail_nomem(ps);
    for (int c = 0; c < SX_NSTRCOLS; c++) {
        if (ps->column_of[c] < 0)
            continue;
        if (!(t->codes[c] = sx_big_alloc(rows))) /* int8 until the dictionary outgrows it */
            return sxp_fail_nomem(ps);
        t->code_width[c] = 1;
        /* A present column's dictionary always has its offsets[0], even
         * when it holds no string, so it exports as an Arrow array. */
        if (!(t->dicts[c].offsets = calloc(1, sizeof *t->dicts[c].offsets)))
            return sxp_fail_nomem(ps);
    }
    ps->attr_mask = 0;
    for (int a = 0; a < NATTRS; a++)
        if (t->codes[ATTR_COL(a)])
            ps->attr_mask |= 1u << a;
    return SX_OK;
}

/* Room for more rows than the guess: half as many again. */
static sx_status
grow_columns(parser *ps)
{
    int64_t cap = ps->cap_rows,
            more = cap / 2 > SX_PARSE_MIN_GROWTH ? cap / 2 : SX_PARSE_MIN_GROWTH;
    if (cap >= MAX_ROWS)
        return sxp_fail_limit(ps, "the input has more than %ld rows", (long)MAX_ROWS);
    cap = cap > MAX_ROWS - more ? MAX_ROWS : cap + more;
    if ((uint64_t)cap > SIZE_MAX / sizeof(double))
        return sxp_fail_limit(ps, "the input has too many rows for this platform");
    if (!resize_columns(ps->t, (size_t)cap))
        return sxp_fail_nomem(ps);
    ps->cap_rows = cap;
    return SX_OK;
}

/* Tell the caller which bytes of the input are done with, a step at a
 * time: those since the last call, up to the next record. */
static void
release_input(parser *ps)
{
    size_t done = (size_t)(ps->p - ps->buf);
    if (done >= ps->next_release) {
        ps->opts->consumed(ps->opts->ctx, ps->released, done - ps->released);
        ps->released = done;
        ps->next_release = done + RELEASE_STEP;
    }
}

/* Undo the counts of the fields of a record stored before it was cut off
 * by the end of a chunk (its codes are simply overwritten). */
static void
unstore_row(parser *ps, int64_t row)
{
    sx_table *t = ps->t;
    for (int i = 0; i < ps->stored_fields; i++) {
        int role = ps->roles[i];
        if (role < SX_NSTRCOLS && sx_code_at(t, (sx_strcol)role, row) == SX_NULL_CODE)
            t->null_count[role]--;
        else if (role == ROLE_PERIOD_START && t->period_start[row] == SX_NO_DATE)
            t->period_start_nulls--;
    }
}

/* The line breaks in a record just parsed, [record, ps->p): those inside
 * its quoted fields (a line break ends any other field) and the one after
 * it, which p[-1] shows.  Counted as the records go, the builder need not
 * scan each chunk again for its lines (a memchr per line took 8% of a
 * short row's parse). */
static uint64_t
record_line_breaks(parser *ps, const char *record)
{
    uint64_t n = ps->quoted_breaks + (ps->p > record && sxp_is_line_break(ps->p[-1]));
    ps->quoted_breaks = 0;
    return n;
}

sx_status
sxp_parse_records(parser *ps)
{
    sx_table *t = ps->t;
    /* the mark moved to p as the records are read (see parser.h) */
    uint64_t lines = sxp_line_of(ps, ps->p) - 1;
    ps->quoted_breaks = 0;
    for (;;) {
        if (ps->p >= ps->stop)
            break;
        if (sxp_is_line_break(*ps->p)) {
            /* blank lines may only close the file */
            if (sxp_only_line_breaks(ps->p, ps->end))
                break;
            return sxp_fail(ps, ps->p, "expected %d fields, found an empty line", ps->nfields);
        }
        sx_status st;
        if (t->nrows == ps->cap_rows && (st = grow_columns(ps)) != SX_OK)
            return st;
        const char *record = ps->p;
        if ((st = parse_record(ps, t->nrows)) != SX_OK) {
            if (!(ps->partial && ps->truncated))
                return st;
            /* the record goes on in the next chunk: parse it again then */
            unstore_row(ps, t->nrows);
            ps->p = record;
            break;
        }
        lines += record_line_breaks(ps, record);
        t->nrows++;
        if (ps->opts && ps->opts->consumed)
            release_input(ps);
    }
    /* a field remembered for a later error may have moved the mark past
     * the record it was in, never past p */
    ps->line_mark = ps->p;
    ps->mark_lines = lines;
    return SX_OK;
}

/* Gives back the room the guess over-reserved.  Shrinking in place cannot
 * fail on glibc; where it does, the arrays simply keep their room. */
static void
shrink_columns(sx_table *t)
{
    (void)resize_columns(t, t->nrows > 0 ? (size_t)t->nrows : 1);
}

static sx_status
build_metric_index(parser *ps)
{
    sx_table *t = ps->t;
    size_t n = (size_t)t->dicts[SX_COL_METRIC].count;
    t->metric_rows = calloc(n ? n : 1, sizeof *t->metric_rows);
    t->metric_first = malloc((n ? n : 1) * sizeof *t->metric_first);
    if (!t->metric_rows || !t->metric_first)
        return sxp_fail_nomem(ps);
    /* a chunk's dictionary has metrics without rows: -1, never garbage */
    for (size_t k = 0; k < (n ? n : 1); k++)
        t->metric_first[k] = -1;
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
void
sxp_parser_init(parser *ps, const char *buf, size_t len, const sx_parse_options *opts,
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
    ps->line_mark = ps->buf;
    ps->next_release = RELEASE_STEP;
    for (int c = 0; c < SX_NSTRCOLS; c++)
        ps->cache[c].code = -1;
}

/* Frees what the parser owns (not its table). */
void
sxp_parser_free(parser *ps)
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

sx_table *
sxp_new_table(void)
{
    sx_table *t = calloc(1, sizeof *t);
    if (t)
        sx_refcount_init(&t->refcount, 1);
    return t;
}

/* After the rows: the checks and indexes that need all of them. */
sx_status
sxp_finish_table(parser *ps)
{
    sx_status st;
    shrink_columns(ps->t);
    if ((st = sxp_check_part_of(ps)) != SX_OK || (st = sxp_build_projects(ps)) != SX_OK)
        return st;
    return build_metric_index(ps);
}

void
sxp_shrink_columns(parser *ps)
{
    shrink_columns(ps->t);
    ps->cap_rows = ps->t->nrows > 0 ? ps->t->nrows : 1;
}

sx_status
sxp_finish_chunk(parser *ps)
{
    sx_status st = sxp_build_projects(ps);
    return st != SX_OK ? st : build_metric_index(ps);
}

/* One buffer is one final chunk (builder.c). */
static sx_status
parse_whole(const char *buf, size_t len, const sx_parse_options *opts, sx_table **out,
            sx_error *err)
{
    sx_builder *b;
    sx_status st = sx_builder_new(opts, &b);
    if (st != SX_OK)
        return sx_error_set(err, st, "out of memory while parsing");
    size_t used;
    sx_builder_expect(b, len);
    if ((st = sx_builder_feed(b, buf, len, 1, &used, err)) == SX_OK)
        st = sx_builder_finish(b, out, err);
    sx_builder_free(b);
    return st;
}

sx_status
sx_table_parse(const char *buf, size_t len, sx_table **out, sx_error *err)
{
    return sx_table_parse_with(buf, len, NULL, out, err);
}

sx_status
sx_table_parse_with(const char *buf, size_t len, const sx_parse_options *opts, sx_table **out,
                    sx_error *err)
{
    sx_error local;
    /* cppcheck-suppress uninitvar ; only its address is taken here */
    sx_error *e = err ? err : &local;
    e->status = SX_OK;
    e->line = e->column = 0;
    e->message[0] = '\0';
    *out = NULL;
#ifdef SX_THREADS
    if (buf != NULL && sxp_parse_in_parts(buf, len, opts, out))
        return SX_OK;
#endif
    return parse_whole(buf, len, opts, out, e);
}
