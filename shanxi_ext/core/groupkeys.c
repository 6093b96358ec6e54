/*
 * groupkeys.c -- which group each row of an aggregation by several keys
 * goes to (group.c does one key).  A row's key is its parts: the code,
 * number, day or month of each grouping, kept in the group (acc.key).
 *
 * When every part but the time has few values (dictionary codes, densely
 * numbered projects) and their product is small, as in a panel of regions x
 * months, the parts make one index into a direct table: the static parts
 * have a fixed place in it, and each time key (a day, or a month when there
 * is no as_of part) is numbered when first seen, growing the table by a
 * slice.  Otherwise, or once the table would grow too large, groups are
 * found through the open-addressing hash (hashtab.h) over all the parts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "hashtab.h"
#include "internal.h"
#include "rowfilter.h" /* SXF_BLOCK */

#define DENSE_MIN_LIMIT  ((uint64_t)1 << 12)
#define DENSE_MAX_LIMIT  ((uint64_t)1 << 22) /* 16 MiB of direct table at most */
#define TIME_INITIAL_CAP 16u

/* ------------------------------------------------------------------ a row's parts */

static inline int32_t
row_part(agg *s, const keypart *p, int64_t i)
{
    switch (p->by) {
    case SX_BY_MONTH:
        return sxa_month_of(s, ((const int32_t *)p->col)[i]);
    case SX_BY_PROJECT:
    case SX_BY_AS_OF:
        return ((const int32_t *)p->col)[i];
    default:
        return p->col != NULL ? sx_code_in(p->col, p->width, i) : SX_NULL_CODE;
    }
}

static inline void
row_parts(agg *s, int64_t i, int32_t *parts)
{
    for (int k = 0; k < s->nkeys; k++)
        parts[k] = row_part(s, &s->parts[k], i);
}

/* ------------------------------------------------------------------ the hash */

static int
same_parts(const void *ctx, uint32_t g)
{
    const agg *s = ctx;
    return memcmp(s->accs[g].key, s->probe_parts, (size_t)s->nkeys * sizeof(int32_t)) == 0;
}

static uint32_t
group_parts_hash(const void *ctx, uint32_t g)
{
    const agg *s = ctx;
    return sx_hash_ints(s->accs[g].key, s->nkeys);
}

static int32_t
hash_lookup(agg *s, const int32_t *parts)
{
    uint32_t h = sx_hash_ints(parts, s->nkeys), slot = 0;
    int32_t g;
    s->probe_parts = parts;
    if (s->hash != NULL) {
        g = sx_hash_find(s->hash, s->hmask, h, same_parts, s, &slot);
        if (g >= 0)
            return g;
    }
    if (sx_hash_full(s->hash, s->hmask, s->hused)) {
        if (sx_hash_grow(&s->hash, &s->hmask, group_parts_hash, s) != SX_OK)
            return -1;
        slot = sx_hash_free_slot(s->hash, s->hmask, h);
    }
    g = sxa_new_group(s, parts);
    if (g < 0)
        return -1;
    s->hash[slot] = (uint32_t)g + 1;
    s->hused++;
    return g;
}

/* Leave the direct table for the hash, putting every group made so far in
 * it; 0 on allocation failure. */
static int
to_hash(agg *s)
{
    s->multi_dense = 0;
    if (s->dense != s->small_dense)
        free(s->dense);
    s->dense = NULL;
    for (int32_t g = 0; g < s->nacc; g++) {
        uint32_t h = group_parts_hash(s, (uint32_t)g);
        if (sx_hash_full(s->hash, s->hmask, s->hused) &&
            sx_hash_grow(&s->hash, &s->hmask, group_parts_hash, s) != SX_OK)
            return 0;
        s->hash[sx_hash_free_slot(s->hash, s->hmask, h)] = (uint32_t)g + 1;
        s->hused++;
    }
    return 1;
}

/* ------------------------------------------------------------------ the direct table */

static int
same_time(const void *ctx, uint32_t n)
{
    const agg *s = ctx;
    return s->tkeys[n] == s->probe_tkey;
}

static uint32_t
time_hash(const void *ctx, uint32_t n)
{
    const agg *s = ctx;
    return sx_hash_int(s->tkeys[n]);
}

/* The direct table's limit in entries: a small one for any table, else
 * about one entry per row, so it never costs much more than the rows. */
static uint64_t
dense_limit(const sx_table *t)
{
    uint64_t n = t->nrows > 0 ? (uint64_t)t->nrows : 0;
    return n < DENSE_MIN_LIMIT ? DENSE_MIN_LIMIT : n > DENSE_MAX_LIMIT ? DENSE_MAX_LIMIT : n;
}

/* Room for captime * 2 time keys: a slice of empty entries per new time
 * key.  1; 0 on allocation failure; -1 when past the limit. */
static int
grow_time(agg *s)
{
    uint32_t ncap = s->captime * 2;
    uint64_t entries = (uint64_t)ncap * s->sspan;
    int32_t *keys, *dense;
    if (entries > dense_limit(s->t))
        return -1;
    keys = realloc(s->tkeys, (size_t)ncap * sizeof *keys);
    if (keys == NULL)
        return 0;
    s->tkeys = keys;
    if (s->dense == s->small_dense) {
        dense = sx_alloc_array((size_t)entries, sizeof *dense);
        if (dense != NULL)
            memcpy(dense, s->small_dense, (size_t)s->dcap * sizeof *dense);
    } else {
        dense = realloc(s->dense, (size_t)entries * sizeof *dense);
    }
    if (dense == NULL)
        return 0;
    memset(dense + s->dcap, 0xff, (size_t)(entries - s->dcap) * sizeof *dense); /* all -1 */
    s->dense = dense;
    s->dcap = (uint32_t)entries;
    s->captime = ncap;
    return 1;
}

/* The number of time key tk, given it if new: >= 0; -1 on allocation
 * failure; -2 when the direct table would grow past its limit. */
static int64_t
time_number(agg *s, int32_t tk)
{
    uint32_t h = sx_hash_int(tk), slot = 0;
    s->probe_tkey = tk;
    if (s->thash != NULL) {
        int32_t n = sx_hash_find(s->thash, s->tmask, h, same_time, s, &slot);
        if (n >= 0)
            return n;
    }
    if (s->ntime == s->captime) {
        int grown = grow_time(s);
        if (grown <= 0)
            return grown == 0 ? -1 : -2;
    }
    if (sx_hash_full(s->thash, s->tmask, s->ntime)) {
        if (sx_hash_grow(&s->thash, &s->tmask, time_hash, s) != SX_OK)
            return -1;
        slot = sx_hash_free_slot(s->thash, s->tmask, h);
    }
    s->tkeys[s->ntime] = tk;
    s->thash[slot] = s->ntime + 1;
    return s->ntime++;
}

/* The direct-table entry of a key: >= 0; -1 on allocation failure; -2 when
 * the table is past its limit (the caller goes to the hash). */
static int64_t
dense_index(agg *s, const int32_t *parts)
{
    uint64_t e = 0;
    for (int k = 0; k < s->nkeys; k++) {
        const keypart *p = &s->parts[k];
        if (p->card > 0)
            e += (uint64_t)((uint32_t)parts[k] - (uint32_t)p->base) * p->stride;
    }
    if (s->tpart >= 0) {
        int64_t n = time_number(s, parts[s->tpart]);
        if (n < 0)
            return n;
        e += (uint64_t)n * s->sspan;
    }
    return (int64_t)e;
}

/* ------------------------------------------------------------------ blocks */

static int
hash_block(agg *s, int64_t start, const uint32_t *sel, size_t n, int32_t *gidx)
{
    int32_t parts[SX_MAX_KEYS], last[SX_MAX_KEYS];
    size_t bytes = (size_t)s->nkeys * sizeof *parts;
    int32_t lastg = -1;
    /* rows of a group often come together: probe only on a change */
    for (size_t k = 0; k < n; k++) {
        row_parts(s, start + sel[k], parts);
        if (lastg < 0 || memcmp(parts, last, bytes) != 0) {
            if ((lastg = hash_lookup(s, parts)) < 0)
                return 0;
            memcpy(last, parts, bytes);
        }
        gidx[k] = lastg;
    }
    return 1;
}

/* The composite index of each row, one pass per part (so each is a plain
 * loop over one column), then one load from the direct table per row. */
static int
dense_block(agg *s, int64_t start, const uint32_t *sel, size_t n, int32_t *gidx)
{
    uint32_t idx[SXF_BLOCK];
    for (size_t k = 0; k < n; k++)
        idx[k] = 0;
    for (int p = 0; p < s->nkeys; p++) {
        const keypart *kp = &s->parts[p];
        uint32_t base = (uint32_t)kp->base, stride = kp->stride;
        if (kp->card <= 1) /* the time, or one value: nothing to add */
            continue;
#define PART_LOOP(type)                                                                            \
    do {                                                                                           \
        const type *col = (const type *)kp->col + start;                                           \
        for (size_t k = 0; k < n; k++)                                                             \
            idx[k] += ((uint32_t)(int32_t)col[sel[k]] - base) * stride;                            \
    } while (0)
        switch (kp->width) {
        case 1:
            PART_LOOP(int8_t); /* NOLINT(bugprone-signed-char-misuse,cert-str34-c) */
            break;
        case 2:
            PART_LOOP(int16_t);
            break;
        default:
            PART_LOOP(int32_t);
            break;
        }
#undef PART_LOOP
    }
    if (s->tpart >= 0) {
        const int32_t *days = s->t->as_of + start;
        for (size_t k = 0; k < n; k++) {
            int32_t d = days[sel[k]];
            uint32_t m = (uint32_t)d & (SXA_MEMO - 1);
            if (s->memo_tday[m] != d) {
                int64_t num = time_number(s, s->tmonth ? sx_month_from_days(d) : d);
                if (num == -1)
                    return 0;
                if (num == -2) /* too many time keys: nothing of this block is fed yet */
                    return to_hash(s) && hash_block(s, start, sel, n, gidx);
                s->memo_tday[m] = d;
                s->memo_tid[m] = (int32_t)num;
            }
            idx[k] += (uint32_t)s->memo_tid[m] * s->sspan;
        }
    }
    for (size_t k = 0; k < n; k++) {
        int32_t g = s->dense[idx[k]];
        if (g < 0) {
            int32_t parts[SX_MAX_KEYS];
            row_parts(s, start + sel[k], parts);
            if ((g = sxa_new_group(s, parts)) < 0)
                return 0;
            s->dense[idx[k]] = g;
        }
        gidx[k] = g;
    }
    return 1;
}

int
sxk_block_groups(agg *s, int64_t start, const uint32_t *sel, size_t n, int32_t *gidx)
{
    if (n == 0)
        return 1;
    return s->multi_dense ? dense_block(s, start, sel, n, gidx)
                          : hash_block(s, start, sel, n, gidx);
}

int32_t
sxk_lookup(agg *s, const int32_t *parts)
{
    if (s->multi_dense) {
        int64_t e = dense_index(s, parts);
        if (e == -1)
            return -1;
        if (e >= 0) {
            int32_t g = s->dense[e];
            return g >= 0 ? g : (s->dense[e] = sxa_new_group(s, parts));
        }
        if (!to_hash(s))
            return -1;
    }
    return hash_lookup(s, parts);
}

/* ------------------------------------------------------------------ setup */

/* Where each part comes from, and the direct table when the static parts'
 * product is small; 0 when out of memory. */
int
sxk_setup(agg *s)
{
    const sx_table *t = s->t;
    uint64_t span = 1, limit = dense_limit(t);
    int dense = 1, has_as_of = 0, has_time = 0;
    for (int k = 0; k < s->nkeys; k++) {
        has_as_of |= s->keyby[k] == SX_BY_AS_OF;
        has_time |= s->keyby[k] == SX_BY_AS_OF || s->keyby[k] == SX_BY_MONTH;
    }
    if (has_time) {
        s->memo_day = sx_alloc_array(4 * SXA_MEMO, sizeof *s->memo_day);
        if (s->memo_day == NULL)
            return 0;
        s->memo_key = s->memo_day + SXA_MEMO;
        s->memo_tday = s->memo_day + 2 * SXA_MEMO;
        s->memo_tid = s->memo_day + 3 * SXA_MEMO;
        /* d + 1 is never a day of slot d: every slot starts empty (and no
         * month is computed for a day no row has) */
        for (int32_t d = 0; d < SXA_MEMO; d++) {
            s->memo_day[d] = s->memo_tday[d] = d + 1;
            s->memo_key[d] = s->memo_tid[d] = 0;
        }
    }
    s->tpart = -1;
    for (int k = 0; k < s->nkeys; k++) {
        keypart *p = &s->parts[k];
        int col = sx_by_column(s->keyby[k]);
        p->by = s->keyby[k];
        p->col = NULL;
        p->width = 4;
        p->base = 0;
        p->card = 0; /* not in the static index */
        p->stride = 0;
        switch (p->by) {
        case SX_BY_PROJECT:
            p->col = t->project;
            p->card = sx_dense_project_span(t, &p->base);
            dense &= p->card > 0;
            break;
        case SX_BY_AS_OF:
            p->col = t->as_of;
            s->tpart = k;
            s->tmonth = 0;
            break;
        case SX_BY_MONTH:
            p->col = t->as_of;
            if (!has_as_of) { /* else the day decides the month */
                s->tpart = k;
                s->tmonth = 1;
            }
            break;
        default: /* a string column: col */
            break;
        }
        if (col >= 0) {
            p->base = SX_NULL_CODE;
            p->card = 1; /* an absent column is all empty */
            if (t->codes[col] != NULL) {
                p->col = t->codes[col];
                p->width = t->code_width[col];
                p->card = (uint32_t)t->dicts[col].count + 1;
            }
        }
        if (p->card > 0) {
            p->stride = (uint32_t)(span <= limit ? span : 0);
            span *= p->card;
            if (span > limit) {
                dense = 0;
                span = limit + 1; /* no overflow on later parts */
            }
        }
    }
    if (!dense)
        return 1; /* the hash, made on the first group */
    s->multi_dense = 1;
    s->sspan = (uint32_t)span;
    s->captime = 1;
    if (s->tpart >= 0) {
        s->captime = TIME_INITIAL_CAP;
        while (s->captime > 1 && (uint64_t)s->captime * span > limit)
            s->captime /= 2;
        s->tkeys = sx_alloc_array(s->captime, sizeof *s->tkeys);
        if (s->tkeys == NULL)
            return 0;
    }
    s->dcap = s->captime * s->sspan;
    s->dense = s->dcap <= DENSE_SMALL ? s->small_dense : sx_alloc_array(s->dcap, sizeof *s->dense);
    if (s->dense == NULL)
        return 0;
    memset(s->dense, 0xff, (size_t)s->dcap * sizeof *s->dense); /* all -1 */
    return 1;
}

/* What sxa_free does not free (the memos are in memo_day's block). */
void
sxk_free(agg *s)
{
    free(s->tkeys);
    free(s->thash);
    s->tkeys = NULL;
    s->thash = NULL;
}
