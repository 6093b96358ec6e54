/* Helpers several C tests share: tables parsed from CSV text, and a growing
 * text buffer for generated inputs.  All static inline, so a test that uses
 * none of them is not warned about unused functions. */
#ifndef SHANXI_TESTS_TESTUTIL_H
#define SHANXI_TESTS_TESTUTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shanxi/core.h"

/* The table parsed from len bytes of CSV, or NULL with the error on stderr. */
static inline sx_table *
parse_len(const char *csv, size_t len)
{
    sx_table *t = NULL;
    sx_error err;
    memset(&err, 0, sizeof err);
    sx_status st = sx_table_parse(csv, len, &t, &err);
    if (st != SX_OK) {
        fprintf(stderr, "parse failed (%d): line %llu col %llu: %s\n", (int)st,
                (unsigned long long)err.line, (unsigned long long)err.column, err.message);
        return NULL;
    }
    return t;
}

static inline sx_table *
parse(const char *csv)
{
    return parse_len(csv, strlen(csv));
}

/* A growing text buffer for generated CSV; start it as {NULL, 0, 0}.  p
 * stays NUL-terminated once anything is put. */
typedef struct textbuf {
    char *p;
    size_t len, cap;
} textbuf;

static inline void
text_room(textbuf *b, size_t n)
{
    if (b->len + n + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap * 2 : 4096;
    while (cap < b->len + n + 1)
        cap *= 2;
    char *q = realloc(b->p, cap);
    if (!q) {
        fprintf(stderr, "out of memory in test\n");
        exit(2);
    }
    b->p = q;
    b->cap = cap;
}

/* Appends s. */
static inline void
put(textbuf *b, const char *s)
{
    size_t n = strlen(s);
    text_room(b, n);
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

/* Appends what printf would print. */
static inline void
putf(textbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        fprintf(stderr, "bad format in test: %s\n", fmt);
        exit(2);
    }
    text_room(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Table and aggregation helpers of the aggregation tests and test_query. */
static inline int32_t
code_of(const sx_table *t, sx_strcol c, const char *s)
{
    return sx_dict_find(&t->dicts[c], s, strlen(s));
}

static inline int
key_is(const sx_table *t, sx_strcol c, int64_t key, const char *s)
{
    size_t len;
    const char *k;
    if (key < 0 || key >= t->dicts[c].count)
        return 0;
    k = sx_dict_str(&t->dicts[c], (int32_t)key, &len);
    return len == strlen(s) && memcmp(k, s, len) == 0;
}

static inline int
isum_is(sx_bigint v, const char *want)
{
    char buf[48];
    sx_bigint_format(v, buf);
    if (strcmp(buf, want) != 0)
        fprintf(stderr, "  isum %s, expected %s\n", buf, want);
    return strcmp(buf, want) == 0;
}

static inline sx_status
agg(const sx_table *t, const sx_filter *f, sx_func func, sx_by by, sx_result *r, sx_error *err)
{
    memset(err, 0, sizeof *err);
    return sx_aggregate(t, f, func, by, r, err);
}

/* Days since 1970-01-01 of a date. */
static inline int32_t
days(int y, unsigned m, unsigned d)
{
    return sx_days_from_civil(y, m, d);
}

/* A reproducible random number below n (xorshift64*, no libc state): one
 * sequence per test program, the same on every run. */
static inline uint32_t
rand_below(uint32_t n)
{
    static uint64_t rng = 0x9E3779B97F4A7C15u;
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t)(((rng * 0x2545F4914F6CDD1Du) >> 33) % n);
}

#endif
