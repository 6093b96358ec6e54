/*
 * agg.h -- private to the aggregation's files: the state of one
 * sx_aggregate call and the functions they share.
 *
 *   aggregate.c  the entry: feeding rows, the two-thread split, results
 *   group.c      key -> group tables, and the order of the groups
 *   groupkeys.c  the same for several keys: composite keys -> groups
 *   densefeed.c  the fast path of counts and sums by one key of few values
 *   exactsum.c   exact float and integer sums (exactsum.h)
 */
#ifndef SHANXI_CORE_AGG_H
#define SHANXI_CORE_AGG_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h" /* SX_INTERNAL_BEGIN */
#include "shanxi/core.h"
#include "exactsum.h"
#include "rowfilter.h" /* sxf_compiled */

SX_INTERNAL_BEGIN

#define UNIT_UNSET  (-4) /* a group that has seen no row yet */
#define NINLINE     4    /* partials kept inside the group before spilling */
#define NSMALL      16   /* groups kept inside the agg before going to the heap */
#define DENSE_SMALL 64   /* direct-table entries kept inside the agg */

/* One group's running state. */
typedef struct acc {
    int64_t count;
    int64_t ihi, ilo; /* exact sum of the integer values: ihi * 2^62 + ilo */
    double min, max;
    double fsum;              /* the rounded float sum, once finished */
    double *heap;             /* partials once they outgrow inl (cap > 0) */
    int32_t key[SX_MAX_KEYS]; /* the key's parts (only key[0] with one key) */
    int32_t unit;
    int32_t npart, cap;
    int32_t sa; /* index of its fixed-point accumulator, or -1 */
    uint8_t all_int, has_int, min_is_int, max_is_int;
    uint8_t overflow;    /* partials overflowed or saw inf/nan: recount */
    uint8_t fsum_done;   /* finish_sums set fsum without partials */
    double inl[NINLINE]; /* never read past npart: left uninitialised */
} acc;

/* One part of a key of several parts: where its values come from and,
 * when the groups are a direct table, its place in the composite index. */
typedef struct keypart {
    sx_by by;
    const void *col; /* codes, project numbers or as_of; NULL: all empty */
    int width;       /* bytes per value of col */
    int32_t base;    /* direct table: value - base is in [0, card) */
    uint32_t card, stride;
} keypart;

typedef struct agg {
    const sx_table *t;
    sx_func func;
    sx_by by;  /* the grouping, with one key; the first with several */
    int nkeys; /* 0 for BY_NONE, else how many parts keys have */
    sx_by keyby[SX_MAX_KEYS];
    acc *accs;
    int32_t nacc, capacc;
    int32_t nheap; /* groups whose partials are on the heap */
    superacc *sas; /* the groups' fixed-point accumulators */
    int32_t nsa, capsa;
    /* key -> group: a direct table for keys base .. base + span - 1, an
     * open-addressing hash for anything else */
    int32_t *dense;
    int32_t base;
    uint32_t span;
    uint32_t *hash; /* hashtab.h: group index + 1 */
    uint32_t hmask, hused;
    int32_t probe_key; /* the key lookup_hash looks for */
    /* where keys come from: a column, or one constant key */
    const void *keycol;
    int keywidth; /* bytes per key of keycol: 1, 2 or 4 */
    int32_t constkey;
    /* the unit of every row fed, when the filter fixes it (or the file has
     * no unit column): no unit work per row; else UNIT_UNSET */
    int32_t fixed_unit;
    int month;                    /* keycol is as_of, turned into months */
    int32_t *memo_day, *memo_key; /* direct-mapped day -> month cache */
    /* several keys (groupkeys.c): the parts, and either a direct table over
     * the composite index (dense: the static parts' product sspan, times
     * the distinct time keys seen so far) or the hash over all parts */
    keypart parts[SX_MAX_KEYS];
    int multi_dense;
    uint32_t sspan, dcap; /* dcap: entries of dense */
    int tpart;            /* the part whose keys number the time keys; -1 */
    int tmonth;           /* time keys are months (else days) */
    int32_t *tkeys;       /* time key of each time number */
    uint32_t ntime, captime;
    uint32_t *thash, tmask; /* time key -> its number + 1 */
    int32_t probe_tkey;
    const int32_t *probe_parts;
    int32_t *memo_tday, *memo_tid; /* direct-mapped day -> time number */
    /* a small aggregation never touches the heap: its groups and direct
     * table live here (accs and dense point at them until they outgrow it) */
    acc small_accs[NSMALL];
    int32_t small_dense[DENSE_SMALL];
} agg;

/* The direct-mapped day caches (memo_day/memo_key, memo_tday/memo_tid):
 * a power of two, so dates within ~3 years never collide. */
#define SXA_MEMO 1024

/* The month of day d, through the day -> month cache (memo_day, memo_key):
 * rows of a day come together, and the calendar costs divisions. */
static inline int32_t
sxa_month_of(agg *s, int32_t d)
{
    uint32_t m = (uint32_t)d & (SXA_MEMO - 1);
    if (s->memo_day[m] != d) {
        s->memo_day[m] = d;
        s->memo_key[m] = sx_month_from_days(d);
    }
    return s->memo_key[m];
}

/* Strings by their UTF-8 bytes, the shorter first on a common prefix: the
 * order of every string key and unit. */
static inline int
sxa_bytes_less(const char *a, size_t la, const char *b, size_t lb)
{
    size_t n = la < lb ? la : lb;
    int c = n > 0 ? memcmp(a, b, n) : 0;
    return c < 0 || (c == 0 && la < lb);
}

/* Integers within 2^53 go to the exact sum; the magnitude test also keeps a
 * mislabelled value from making the conversion undefined. */
static inline int
sxa_exact_int(const sx_table *t, int64_t i, double v)
{
    return t->is_int[i] & (fabs(v) <= TWO53);
}

/* ------------------------------------------------------------------ group.c */

/* An empty aggregation with its inline storage in use (nothing to free
 * yet); sxa_free frees what it came to own.  by[0..nkeys) are the
 * groupings (none for BY_NONE). */
void sxa_init(agg *s, const sx_table *t, sx_func func, const sx_by *by, int nkeys);
/* Decide where keys come from and size the direct table; 0 when out of
 * memory. */
int sxa_setup(agg *s);
void sxa_free(agg *s);
/* The group of key, made if new; -1 on allocation failure. */
int32_t sxa_lookup(agg *s, int32_t key);
/* The group of a key of s->nkeys parts (one key: parts[0]), made if new;
 * -1 on allocation failure. */
int32_t sxa_lookup_parts(agg *s, const int32_t *parts);
/* The group of each selected row of a block; 0 on allocation failure. */
int sxa_block_groups(agg *s, int64_t start, const uint32_t *sel, size_t n, int32_t *gidx);

typedef int (*less_fn)(const void *ctx, int32_t a, int32_t b);
/* Stable sort of v[0..n) by less; 0 on allocation failure. */
int sxa_merge_sort(int32_t *v, size_t n, less_fn less, const void *ctx);
/* Group order (ctx: the agg) by number, or by string for the string keys;
 * unit codes (ctx: the unit dictionary) by string, SX_NULL_CODE last. */
int sxa_group_less_num(const void *ctx, int32_t a, int32_t b);
int sxa_group_less_str(const void *ctx, int32_t a, int32_t b);
int sxa_unit_less(const void *ctx, int32_t a, int32_t b);
/* Group order with several keys: by each part in turn, as for one key;
 * order[0..nacc) is filled.  0 on allocation failure. */
int sxa_order_parts(const agg *s, int32_t *order);
/* A new group with key parts[0..s->nkeys) (group.c); -1 on allocation
 * failure. */
int32_t sxa_new_group(agg *s, const int32_t *parts);

/* ------------------------------------------------------------------ groupkeys.c */

/* sxa_setup for several keys. */
int sxk_setup(agg *s);
void sxk_free(agg *s);
int sxk_block_groups(agg *s, int64_t start, const uint32_t *sel, size_t n, int32_t *gidx);
int32_t sxk_lookup(agg *s, const int32_t *parts);

/* ------------------------------------------------------------------ densefeed.c */

#define SXD_SPAN  256 /* direct-table slots the fast path takes */
#define SXD_CHUNK 256 /* rows between carries of the integer sums */
/* Fewer rows than this take the general path: the fast path's setup would
 * cost more than it saves.  The C tests' threads build sets 1, so that
 * every test runs through the fast path too. */
#ifndef SXD_MIN_ROWS
#define SXD_MIN_ROWS 4096
#endif

/* The fast path's per-key slots (one per direct-table entry), folded into
 * the groups by sxd_finish.  ~9 KB: on the feeding thread's stack. */
typedef struct sxd_state {
    int64_t cnt[SXD_SPAN];
    int64_t lo[SXD_SPAN], hi[SXD_SPAN]; /* exact integer sums: hi * 2^62 + lo */
    int64_t nflt[SXD_SPAN];             /* rows that went to the float sums */
    int32_t unit[SXD_SPAN];             /* as acc.unit, unless fixed_unit */
    size_t pending;                     /* rows since the last carry */
} sxd_state;

/* Whether s (set up) takes the fast path for a range of rows rows. */
int sxd_usable(const agg *s, int64_t rows);
void sxd_init(sxd_state *d, const agg *s);
/* Feed rows start + sel[0..n); 0 on allocation failure. */
int sxd_feed(agg *s, sxd_state *d, int64_t start, const uint32_t *sel, size_t n);
/* Fold the slots into their groups; 0 on allocation failure. */
int sxd_finish(agg *s, sxd_state *d);
/* For tables of one block (the embedded data), without the group machinery,
 * whose setup costs more than so few rows: a count or a sum of integers in
 * all (sxd_small_total, one group into o) or by project
 * (sxd_small_by_project, out's inline groups).  1 when done, 0 where the
 * general way must decide (a float, a sum past 2^62, units that mix). */
int sxd_small_total(const sx_table *t, const sxf_compiled *q, sx_func func, sx_group *o);
int sxd_small_by_project(const sx_table *t, const sxf_compiled *q, sx_func func, sx_result *out);

/* ------------------------------------------------------------------ aggregate.c */

/* The general feed: rows start + sel[0..n) into groups gidx[0..n); 0 on
 * allocation failure. */
int sxa_block_feed(agg *s, int64_t start, const uint32_t *sel, size_t n, const int32_t *gidx);

/* s (len bytes, at most max of them, "..." when cut; control bytes as
 * '?') at *pos in buf, never past lim. */
void sxa_put_text(char *buf, size_t *pos, size_t lim, const char *s, size_t len, size_t max);
/* One part of a group's key as a message shows it: a string part's text
 * (str NULL: the empty field), or a number part's num. */
typedef struct sxa_keytext {
    int64_t num;
    const char *str;
    size_t len;
} sxa_keytext;
/* "in region Taiyuan, month 2022-10: " for a group of the groupings
 * by[0..nkeys) with key parts (long strings shortened) into buf of cap
 * bytes, leaving room for the units message's suffix; "" with no keys.
 * aggregate.c and partial.c name a group the same way with it. */
void sxa_group_prefix(const sx_by *by, int nkeys, const sxa_keytext *parts, char *buf, size_t cap);
/* The mixed-units error naming the n units given (in that order) into err,
 * after prefix. */
void sxa_units_message(sx_error *err, sx_func func, const char *const *strs, const size_t *lens,
                       int32_t n, const char *prefix);

/* ------------------------------------------------------------------ exactsum.c */

/* Add x to a float group's sum; 0 on allocation failure. */
int sxa_float_add(agg *s, acc *a, double x);
/* Move group a's partials to a fixed-point accumulator; 0 when the budget
 * is spent or memory is short. */
int sxa_to_superacc(agg *s, acc *a);
/* Add the exact integer hi * 2^62 + lo to a group's float sum. */
int sxa_add_exact_int(agg *s, acc *a, int64_t hi, int64_t lo);

SX_INTERNAL_END

#endif
