/*
 * shanxi/partial.h -- exact partial aggregates: the state of an aggregation
 * over some rows, keyed by group VALUES (strings, numbers, days) rather
 * than by one table's dictionary codes, so that partials made from
 * different tables (files, chunks, machines) merge.  Merging is exact,
 * associative and commutative; the result of a merge of partials is what
 * sx_aggregate over all their rows gives, bit for bit.
 *
 * Plain C like core.h: no Python.h.  A partial is immutable to its users
 * except through sx_partial_merge_into, which the owner of a fresh one
 * calls before sharing it.
 */
#ifndef SHANXI_PARTIAL_H
#define SHANXI_PARTIAL_H

#include <stddef.h>
#include <stdint.h>

#include "shanxi/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Key parts per group: 0 (SX_BY_NONE) up to as many as sx_aggregate_keys
 * takes. */
#define SX_PARTIAL_MAX_KEYS SX_MAX_KEYS

typedef struct sx_partial sx_partial;

/* One part of a group's key: a number (a project number, days since
 * 1970-01-01, or year * 12 + month - 1) or a string (str == NULL: the
 * empty field of an optional column). */
typedef struct sx_pkey {
    int64_t num;
    const char *str;
    size_t len;
} sx_pkey;

/* One group of a result: its key and its values as sx_aggregate fills an
 * sx_group for the same function (value.key is 0). */
typedef struct sx_partial_row {
    sx_pkey key[SX_PARTIAL_MAX_KEYS];
    sx_group value;
} sx_partial_row;

/* The partial aggregate of the rows of t that f selects.  seq places these
 * rows in the whole (e.g. the index of the file): when extremes tie (equal
 * values that differ only in being an integer or a float, or in the sign of
 * zero), the row first in (seq, row) order wins, as sx_aggregate keeps the
 * first row.  On success *out is a new partial (sx_partial_free). */
sx_status sx_partial_new(const sx_table *t, const sx_filter *f, sx_func func, sx_by by, int64_t seq,
                         sx_partial **out, sx_error *err);
/* sx_partial_new by several keys, as sx_aggregate_keys groups: by[0..nby)
 * distinct, none BY_NONE, nby <= SX_PARTIAL_MAX_KEYS (0: no grouping).
 * tuple marks a grouping given as a tuple (a binding keys its result by
 * tuples then, even of one part): partials differing in it do not merge. */
sx_status sx_partial_new_keys(const sx_table *t, const sx_filter *f, sx_func func, const sx_by *by,
                              int nby, int tuple, int64_t seq, sx_partial **out, sx_error *err);
/* A partial of no rows (for merging into). */
sx_status sx_partial_empty(sx_func func, sx_by by, sx_partial **out);
sx_status sx_partial_empty_keys(sx_func func, const sx_by *by, int nby, int tuple,
                                sx_partial **out);
sx_status sx_partial_copy(const sx_partial *p, sx_partial **out);
/* 1 when a and b aggregate the same function by the same keys. */
int sx_partial_compatible(const sx_partial *a, const sx_partial *b);
/* a += b (compatible, else SX_ERR_VALUE).  On failure a is unusable: free it. */
sx_status sx_partial_merge_into(sx_partial *a, const sx_partial *b, sx_error *err);
/* The result, as sx_aggregate would give it over the same rows: *rows (n
 * of them, malloc'd: free()) in group order, their strings pointing into p.
 * The same errors as sx_aggregate: SX_ERR_EMPTY, SX_ERR_UNITS (message
 * naming the units), SX_ERR_VALUE (a sum that overflows a double). */
sx_status sx_partial_result(const sx_partial *p, sx_partial_row **rows, int64_t *n, sx_error *err);
/* The partial as a compact, versioned blob (*buf malloc'd: free()) and
 * back.  Decoding checks everything: a foreign, truncated or corrupted
 * blob is SX_ERR_VALUE with a message, never undefined behaviour. */
sx_status sx_partial_encode(const sx_partial *p, unsigned char **buf, size_t *len);
sx_status sx_partial_decode(const void *buf, size_t len, sx_partial **out, sx_error *err);

/* Whether a filter's value was found: a part may lack a value another part
 * has, so a partial records, per filter value asked for, whether its data
 * had it and else the message of the lookup that failed (the message of
 * the part first in (seq, message) order is kept).  filter numbers the
 * filter (the caller's, e.g. its argument's index: what orders the
 * misses), value identifies the value; both texts UTF-8.  Merging keeps a
 * value found when any part found it. */
sx_status sx_partial_note_filter(sx_partial *p, int filter, const char *value, size_t value_len,
                                 int found, int64_t seq, const char *message, size_t message_len);
/* The message of the first value (by filter, then value bytes) that no
 * merged part found: 1 and *message (pointing into p), or 0 when every
 * value was found somewhere.  What sx_aggregate's caller would have raised
 * before aggregating. */
int sx_partial_missing(const sx_partial *p, const char **message, size_t *message_len);

sx_func sx_partial_func(const sx_partial *p);
sx_by sx_partial_by(const sx_partial *p); /* the first key part, or SX_BY_NONE */
/* The key parts into by (SX_PARTIAL_MAX_KEYS of room): how many. */
int sx_partial_keys(const sx_partial *p, sx_by *by);
int sx_partial_tuple(const sx_partial *p); /* the grouping was a tuple */
int64_t sx_partial_ngroups(const sx_partial *p);
int64_t sx_partial_rows(const sx_partial *p); /* rows aggregated */
void sx_partial_free(sx_partial *p);          /* NULL is a no-op */

#ifdef __cplusplus
}
#endif

#endif /* SHANXI_PARTIAL_H */
