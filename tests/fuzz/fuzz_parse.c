/*
 * fuzz_parse.c -- libFuzzer harness for the CSV parser, sx_table_parse.
 *
 * The input is the document, as is (libFuzzer's buffer is exactly `size`
 * bytes, so any read past it is an ASan report).  On failure the error must
 * be well formed (status, a 1-based position inside the input, a UTF-8
 * message) and nothing may leak.  On success the table must satisfy every
 * invariant of fz_check_table (codes within their dictionaries, real dates,
 * projects sorted and consistent with their rows, metric_rows summing to
 * nrows, ...), must write back to CSV and read again unchanged, and must
 * export to Arrow with the same contents and sound lifetimes.
 *
 * The same document fed to a builder in chunks, split at a point the input
 * picks, must give the same table or the same error.
 *
 * Two more oracles look at the first bytes on their own: as the `value` of a
 * one-row document (checked against strtod and the documented grammar) and
 * as its `as_of` (checked against a calendar computed here).
 *
 *   make -C tests/fuzz && tests/fuzz/build/fuzz_parse tests/fuzz/corpus/parse
 */
#include <stdlib.h>

#include "fuzz_common.h"

#define HEADER "project,metric,value,unit,as_of\n"

/* [+-]?(D+(.D*)?|.D+)([eE][+-]?D+)?, checked a character at a time. */
static int
number_grammar(const char *s, size_t n, int *has_point, int *has_exp)
{
    size_t i = 0, digits = 0;
    *has_point = *has_exp = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        i++;
        digits++;
    }
    if (i < n && s[i] == '.') {
        *has_point = 1;
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++;
            digits++;
        }
    }
    if (digits == 0)
        return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        size_t ed = 0;
        *has_exp = 1;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++;
            ed++;
        }
        if (ed == 0)
            return 0;
    }
    return i == n;
}

/* The first bytes, up to a comma, line break or quote, as the value of a
 * one-row document. */
static void
check_value_text(const uint8_t *data, size_t size)
{
    char doc[160], text[48];
    size_t n = 0;
    int point, exp;
    sx_table *t = NULL;
    while (n < size && n < 40 && data[n] != ',' && data[n] != '\n' && data[n] != '\r' &&
           data[n] != '"')
        n++;
    memcpy(text, data, n);
    text[n] = '\0';
    size_t len = (size_t)snprintf(doc, sizeof doc, "%s1,m,", HEADER);
    memcpy(doc + len, text, n);
    len += n;
    len += (size_t)snprintf(doc + len, sizeof doc - len, ",u,2020-01-01\n");
    sx_status st = sx_table_parse(doc, len, &t, NULL);

    int ok = number_grammar(text, n, &point, &exp) && strlen(text) == n;
    double want = ok ? strtod(text, NULL) : 0;
    if (!ok || !isfinite(want)) {
        FZ_CHECK(st == SX_ERR_PARSE && t == NULL);
        return;
    }
    FZ_CHECK(st == SX_OK && t->nrows == 1);
    /* an integer: no point, no exponent, magnitude at most 2^53 */
    int is_int = 0;
    if (!point && !exp) {
        uint64_t mag = 0;
        for (size_t i = 0; i < n; i++) {
            if (text[i] < '0' || text[i] > '9')
                continue;
            mag = mag > UINT64_C(1) << 54 ? mag : mag * 10 + (uint64_t)(text[i] - '0');
        }
        is_int = mag <= UINT64_C(1) << 53;
        if (is_int && mag == 0)
            want = 0.0; /* "-0" counts nothing: no sign */
    }
    FZ_CHECK(t->is_int[0] == is_int);
    FZ_CHECK(fz_same_double(t->value[0], want));
    sx_table_decref(t);
}

/* The first ten bytes as the as_of of a one-row document. */
static void
check_date_text(const uint8_t *data, size_t size)
{
    static const int before[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    char doc[128];
    sx_table *t = NULL;
    size_t n = 0;
    int valid = 1;
    while (n < size && n < 12 && data[n] != ',' && data[n] != '\n' && data[n] != '\r' &&
           data[n] != '"')
        n++;
    size_t len = (size_t)snprintf(doc, sizeof doc, "%s1,m,1,u,", HEADER);
    memcpy(doc + len, data, n);
    len += n;
    doc[len++] = '\n';
    sx_status st = sx_table_parse(doc, len, &t, NULL);

    if (n != 10 || data[4] != '-' || data[7] != '-')
        valid = 0;
    for (size_t i = 0; valid && i < 10; i++)
        if (i != 4 && i != 7 && (data[i] < '0' || data[i] > '9'))
            valid = 0;
    if (!valid) {
        FZ_CHECK(st == SX_ERR_PARSE);
        return;
    }
    int y = (data[0] - '0') * 1000 + (data[1] - '0') * 100 + (data[2] - '0') * 10 + (data[3] - '0');
    int m = (data[5] - '0') * 10 + (data[6] - '0');
    int d = (data[8] - '0') * 10 + (data[9] - '0');
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > dim[m - 1] + (m == 2 && fz_leap(y))) {
        FZ_CHECK(st == SX_ERR_PARSE);
        return;
    }
    /* days since 0001-01-01, counted plainly, moved to the 1970 epoch */
    int64_t py = y - 1;
    int64_t days = 365 * py + py / 4 - py / 100 + py / 400 + before[m - 1] + (m > 2 && fz_leap(y)) +
                   (d - 1) + FZ_MIN_DAY;
    FZ_CHECK(st == SX_OK && t->as_of[0] == days);
    sx_table_decref(t);
}

/* The consumed() callback must report ranges inside the input (the
 * Makefile builds the core with a tiny release step, row guess and split
 * size, so every path a large file takes runs on small inputs; two threads
 * may call it at once, so it only reads). */
typedef struct consumed_log {
    size_t size;
} consumed_log;

static void
on_consumed(void *ctx, size_t offset, size_t n)
{
    const consumed_log *log = ctx;
    FZ_CHECK(offset <= log->size && n <= log->size - offset);
}

/* The same document fed to a builder in two pieces, split where the fuzzer
 * says (its last byte picks the point), the second in chunks of 1 to 16
 * bytes (its first byte picks the size), each chunk a copy of exactly the
 * bytes presented: the same table, or the same error at the same place. */
static void
check_chunked(const uint8_t *data, size_t size, sx_status want, const sx_table *whole,
              const sx_error *want_err)
{
    size_t split = size ? data[size - 1] % (size + 1) : 0;
    size_t step = size ? 1 + data[0] % 16 : 1;
    sx_builder *b;
    FZ_CHECK(sx_builder_new(NULL, &b) == SX_OK);
    size_t done = 0, have = split;
    sx_status st;
    sx_error e;
    sx_table *t = NULL;
    for (;;) {
        int final = have == size;
        size_t n = have - done, used = 0;
        char *chunk = fz_malloc(n ? n : 1);
        if (n)
            memcpy(chunk, data + done, n);
        st = sx_builder_feed(b, chunk, n, final, &used, &e);
        free(chunk);
        if (st != SX_OK)
            break;
        FZ_CHECK(used <= n && (!final || used == n));
        done += used;
        if (final) {
            st = sx_builder_finish(b, &t, &e);
            break;
        }
        have = size - have < step ? size : have + step;
    }
    sx_builder_free(b);
    FZ_CHECK(st == want);
    if (st == SX_OK) {
        fz_check_same_table(whole, t);
        for (int c = 0; c < SX_NSTRCOLS; c++)
            FZ_CHECK(whole->null_count[c] == t->null_count[c]);
        FZ_CHECK(whole->period_start_nulls == t->period_start_nulls);
        sx_table_decref(t);
    } else {
        FZ_CHECK(e.line == want_err->line && e.column == want_err->column);
        FZ_CHECK(strcmp(e.message, want_err->message) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sx_table *t = (sx_table *)&t; /* must be overwritten either way */
    sx_error e;
    memset(&e, 0x5A, sizeof e);
    consumed_log log = {size};
    sx_parse_options opts = {on_consumed, &log, NULL, 0};
    sx_status st = sx_table_parse_with((const char *)data, size, &opts, &t, &e);
    FZ_CHECK(e.status == st);
    if (st != SX_OK) {
        uint64_t breaks = 0;
        FZ_CHECK(t == NULL);
        /* nothing this small runs out of memory or rows */
        FZ_CHECK(st == SX_ERR_PARSE);
        for (size_t i = 0; i < size; i++)
            breaks +=
                data[i] == '\n' || (data[i] == '\r' && (i + 1 == size || data[i + 1] != '\n'));
        FZ_CHECK(e.line >= 1 && e.line <= breaks + 1);
        FZ_CHECK(e.column >= 1 && e.column <= (uint64_t)size + 1);
        fz_check_message(&e);
        sx_table *t2 = NULL;
        FZ_CHECK(sx_table_parse((const char *)data, size, &t2, NULL) == st && t2 == NULL);
        check_chunked(data, size, st, NULL, &e);
    } else {
        FZ_CHECK(t != NULL && t->refcount == 1);
        FZ_CHECK(e.line == 0 && e.column == 0);
        check_chunked(data, size, st, t, &e);
        fz_check_table(t);
        fz_check_roundtrip(t);
        fz_check_arrow_and_drop(t);
    }
    check_value_text(data, size);
    check_date_text(data, size);
    return 0;
}
