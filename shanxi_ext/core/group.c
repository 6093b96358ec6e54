/*
 * group.c -- which group each row of an aggregation goes to, and the order
 * of the groups in the result.  Keys (a project number, a dictionary code,
 * a day or a month) map to groups through a direct table where the keys are
 * dense, and an open-addressing hash otherwise; groups live inline in the
 * agg until there are more than a few.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "hashtab.h"
#include "internal.h"

/* Double the room for groups, moving them off the inline storage the first
 * time; 0 on allocation failure. */
static int
grow_accs(agg *s)
{
    int32_t ncap;
    acc *na;
    if (s->capacc >= INT32_MAX / 2)
        return 0;
    ncap = s->capacc * 2; /* capacc starts at NSMALL */
    if (s->accs == s->small_accs) {
        na = sx_alloc_array((size_t)ncap, sizeof *na);
        if (na != NULL)
            memcpy(na, s->small_accs, sizeof s->small_accs);
    } else {
        na = realloc(s->accs, (size_t)ncap * sizeof *na);
    }
    if (na == NULL)
        return 0;
    s->accs = na;
    s->capacc = ncap;
    return 1;
}

static inline int32_t
new_group(agg *s, int32_t key)
{
    acc *a;
    if (s->nacc == s->capacc && !grow_accs(s))
        return -1;
    /* field by field: the partials need no zeros, and most calls make only
     * a few groups, where a memset of the whole struct costs more */
    a = &s->accs[s->nacc];
    a->count = 0;
    a->ihi = a->ilo = 0;
    a->min = a->max = a->fsum = 0.0;
    a->heap = NULL;
    a->key[0] = key;
    a->unit = UNIT_UNSET;
    a->npart = a->cap = 0;
    a->sa = -1;
    a->all_int = 1;
    a->has_int = a->min_is_int = a->max_is_int = a->overflow = a->fsum_done = 0;
    return s->nacc++;
}

/* The hash holds group indexes; a group's key is in its acc. */
static int
same_key(const void *ctx, uint32_t g)
{
    const agg *s = ctx;
    return s->accs[g].key[0] == s->probe_key;
}

static uint32_t
group_hash(const void *ctx, uint32_t g)
{
    const agg *s = ctx;
    return sx_hash_int(s->accs[g].key[0]);
}

/* The group of a key outside the direct table, made if new; -1 on
 * allocation failure. */
static int32_t
lookup_hash(agg *s, int32_t key)
{
    uint32_t h = sx_hash_int(key), slot = 0;
    s->probe_key = key;
    if (s->hash != NULL) {
        int32_t g = sx_hash_find(s->hash, s->hmask, h, same_key, s, &slot);
        if (g >= 0)
            return g;
    }
    if (sx_hash_full(s->hash, s->hmask, s->hused)) {
        if (sx_hash_grow(&s->hash, &s->hmask, group_hash, s) != SX_OK)
            return -1;
        slot = sx_hash_free_slot(s->hash, s->hmask, h);
    }
    int32_t g = new_group(s, key);
    if (g < 0)
        return -1;
    s->hash[slot] = (uint32_t)g + 1;
    s->hused++;
    return g;
}

/* The group of key, made if new; -1 on allocation failure (a failed
 * new_group leaves the direct-table entry empty). */
static inline int32_t
lookup(agg *s, int32_t key)
{
    uint32_t o = (uint32_t)key - (uint32_t)s->base;
    if (o < s->span) {
        int32_t g = s->dense[o];
        return g >= 0 ? g : (s->dense[o] = new_group(s, key));
    }
    return lookup_hash(s, key);
}

int32_t
sxa_lookup(agg *s, int32_t key)
{
    return lookup(s, key);
}

int32_t
sxa_lookup_parts(agg *s, const int32_t *parts)
{
    return s->nkeys > 1 ? sxk_lookup(s, parts) : lookup(s, parts[0]);
}

int32_t
sxa_new_group(agg *s, const int32_t *parts)
{
    int32_t g = new_group(s, parts[0]);
    if (g >= 0)
        memcpy(s->accs[g].key, parts, (size_t)s->nkeys * sizeof *parts);
    return g;
}

/* Decide where keys come from and size the direct table. */
int
sxa_setup(agg *s)
{
    const sx_table *t = s->t;
    int col = sx_by_column(s->by);
    if (s->nkeys > 1)
        return sxk_setup(s);
    s->keycol = NULL;
    s->constkey = 0;
    s->base = 0;
    s->span = 0;
    switch (s->by) {
    case SX_BY_NONE:
        s->span = 1;
        break;
    case SX_BY_PROJECT:
        s->keycol = t->project;
        s->keywidth = 4;
        s->span = sx_dense_project_span(t, &s->base);
        break;
    case SX_BY_AS_OF:
        s->keycol = t->as_of;
        s->keywidth = 4;
        break;
    case SX_BY_MONTH:
        s->keycol = t->as_of;
        s->keywidth = 4;
        s->month = 1;
        s->memo_day = sx_alloc_array(2 * SXA_MEMO, sizeof *s->memo_day);
        if (s->memo_day == NULL)
            return 0;
        s->memo_key = s->memo_day + SXA_MEMO;
        /* day + 1 is never a day of slot day: every slot starts empty, and
         * no month is computed for a day no row has */
        for (int32_t day = 0; day < SXA_MEMO; day++) {
            s->memo_day[day] = day + 1;
            s->memo_key[day] = 0;
        }
        break;
    default:
        break;
    }
    if (col >= 0) {
        /* codes are SX_NULL_CODE .. count - 1: always a direct table */
        s->base = SX_NULL_CODE;
        if (t->codes[col] != NULL) {
            s->keycol = t->codes[col];
            s->keywidth = t->code_width[col];
            s->span = (uint32_t)t->dicts[col].count + 1;
        } else {
            s->constkey = SX_NULL_CODE; /* an absent column is all empty */
            s->span = 1;
        }
    }
    if (s->span > 0) {
        s->dense =
            s->span <= DENSE_SMALL ? s->small_dense : sx_alloc_array(s->span, sizeof *s->dense);
        if (s->dense == NULL)
            return 0;
        memset(s->dense, 0xff, (size_t)s->span * sizeof *s->dense); /* all -1 */
    }
    return 1;
}

/* Everything empty, with the inline storage in use; nothing to free yet.
 * (No memset of the whole struct: the inline groups are most of it.) */
void
sxa_init(agg *s, const sx_table *t, sx_func func, const sx_by *by, int nkeys)
{
    s->t = t;
    s->func = func;
    s->by = nkeys > 0 ? by[0] : SX_BY_NONE;
    s->nkeys = nkeys;
    for (int k = 0; k < nkeys; k++)
        s->keyby[k] = by[k];
    s->accs = s->small_accs;
    s->nacc = 0;
    s->capacc = NSMALL;
    s->nheap = 0;
    s->sas = NULL;
    s->nsa = s->capsa = 0;
    s->dense = NULL;
    s->base = 0;
    s->span = 0;
    s->hash = NULL;
    s->hmask = s->hused = 0;
    s->keycol = NULL;
    s->keywidth = 4;
    s->constkey = 0;
    s->fixed_unit = UNIT_UNSET;
    s->month = 0;
    s->memo_day = s->memo_key = NULL;
    s->multi_dense = 0;
    s->sspan = s->dcap = 0;
    s->tpart = -1;
    s->tmonth = 0;
    s->tkeys = NULL;
    s->ntime = s->captime = 0;
    s->thash = NULL;
    s->tmask = 0;
    s->memo_tday = s->memo_tid = NULL;
}

/* (Each free is behind a test: most calls have nothing to free.) */
void
sxa_free(agg *s)
{
    for (int32_t g = 0; g < s->nacc && s->nheap > 0; g++)
        if (s->accs[g].cap > 0)
            free(s->accs[g].heap);
    if (s->accs != s->small_accs)
        free(s->accs);
    if (s->sas != NULL)
        free(s->sas);
    if (s->memo_day != NULL)
        free(s->memo_day);
    if (s->dense != s->small_dense)
        free(s->dense);
    if (s->hash != NULL)
        free(s->hash);
    if (s->nkeys > 1)
        sxk_free(s);
}

/* The group of each selected row of a block; 0 on allocation failure. */
int
sxa_block_groups(agg *s, int64_t start, const uint32_t *sel, size_t n, int32_t *gidx)
{
    int32_t lastkey = 0, lastg = -1;
    if (s->nkeys > 1)
        return sxk_block_groups(s, start, sel, n, gidx);
    if (s->keycol == NULL) {
        int32_t g = lookup(s, s->constkey);
        if (g < 0)
            return 0;
        for (size_t k = 0; k < n; k++)
            gidx[k] = g;
        return 1;
    }
    if (s->month) {
        for (size_t k = 0; k < n; k++) {
            int32_t mkey = sxa_month_of(s, ((const int32_t *)s->keycol)[start + sel[k]]);
            if (lastg < 0 || mkey != lastkey) {
                lastkey = mkey;
                if ((lastg = lookup(s, mkey)) < 0)
                    return 0;
            }
            gidx[k] = lastg;
        }
        return 1;
    }
    if (n == 0)
        return 1;
        /* One loop per key width, so each compiles to plain loads of it.  Rows
     * of a group often come together: look up only on a change. */
#define GROUP_LOOP(type)                                                                           \
    do {                                                                                           \
        const type *keys = (const type *)s->keycol + start;                                        \
        lastkey = keys[sel[0]];                                                                    \
        if ((lastg = lookup(s, lastkey)) < 0)                                                      \
            return 0;                                                                              \
        for (size_t k = 0; k < n; k++) {                                                           \
            int32_t key = keys[sel[k]];                                                            \
            if (key != lastkey) {                                                                  \
                lastkey = key;                                                                     \
                if ((lastg = lookup(s, key)) < 0)                                                  \
                    return 0;                                                                      \
            }                                                                                      \
            gidx[k] = lastg;                                                                       \
        }                                                                                          \
    } while (0)
    switch (s->keywidth) {
    case 1:
        /* int8 codes are small signed numbers, not characters (-1: empty) */
        GROUP_LOOP(int8_t); /* NOLINT(bugprone-signed-char-misuse,cert-str34-c) */
        break;
    case 2:
        GROUP_LOOP(int16_t);
        break;
    default:
        GROUP_LOOP(int32_t);
        break;
    }
#undef GROUP_LOOP
    return 1;
}

/* ------------------------------------------------------------------ ordering */

/* Stable bottom-up merge sort of v[0..n) (qsort has no context pointer and
 * the order depends on the table).  Returns 0 on allocation failure. */
int
sxa_merge_sort(int32_t *v, size_t n, less_fn less, const void *ctx)
{
    int32_t small[NSMALL], *tmp, *src = v, *dst;
    if (n < 2)
        return 1;
    /* Groups usually come in key order already (panels are written sorted,
     * and small keys fill in order): one pass finds that, with no malloc. */
    size_t sorted = 1;
    while (sorted < n && !less(ctx, v[sorted], v[sorted - 1]))
        sorted++;
    if (sorted == n)
        return 1;
    if (n <= NSMALL)
        tmp = small;
    else if (n > SIZE_MAX / sizeof *tmp || (tmp = malloc(n * sizeof *tmp)) == NULL)
        return 0;
    dst = tmp;
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t i = 0; i < n; i += 2 * w) {
            size_t l = i, mid = i + w < n ? i + w : n, r = mid, end = i + 2 * w < n ? i + 2 * w : n,
                   o = i;
            while (l < mid && r < end)
                dst[o++] = less(ctx, src[r], src[l]) ? src[r++] : src[l++];
            while (l < mid)
                dst[o++] = src[l++];
            while (r < end)
                dst[o++] = src[r++];
        }
        {
            int32_t *sw = src;
            src = dst;
            dst = sw;
        }
    }
    if (src != v)
        memcpy(v, src, n * sizeof *v);
    if (tmp != small)
        free(tmp);
    return 1;
}

/* Dictionary strings by UTF-8 bytes, shorter first on a common prefix, with
 * SX_NULL_CODE after every string. */
static int
code_less(const sx_dict *d, int32_t a, int32_t b)
{
    if (a == b)
        return 0;
    if (a == SX_NULL_CODE)
        return 0;
    if (b == SX_NULL_CODE)
        return 1;
    size_t la, lb;
    const char *sa = sx_dict_str(d, a, &la), *sb = sx_dict_str(d, b, &lb);
    return sxa_bytes_less(sa, la, sb, lb);
}

int
sxa_group_less_num(const void *ctx, int32_t a, int32_t b)
{
    const agg *s = ctx;
    return s->accs[a].key[0] < s->accs[b].key[0];
}

int
sxa_group_less_str(const void *ctx, int32_t a, int32_t b)
{
    const agg *s = ctx;
    return code_less(&s->t->dicts[sx_by_column(s->by)], s->accs[a].key[0], s->accs[b].key[0]);
}

int
sxa_unit_less(const void *ctx, int32_t a, int32_t b)
{
    return code_less(ctx, a, b);
}

/* Order of the groups of several keys.  Each part becomes a small rank (a
 * string part's codes that groups use, ranked by their strings, empty last;
 * a number less the least one), and the ranks pack into one 64-bit key
 * per group, first part highest, so the groups sort by a radix sort of
 * integers instead of string comparisons.  Keys of parts too wide to pack
 * (more than 64 bits in all) sort by comparing the ranks part by part. */

#define RADIX_BITS 11

typedef struct part_rank {
    int32_t *rank; /* string part: rank of code + 1; NULL for a number */
    int64_t least; /* number part: its least value among the groups */
    int bits;      /* bits of the part's largest rank */
} part_rank;

typedef struct rank_ctx {
    const agg *s;
    const part_rank *pr;
} rank_ctx;

static inline uint64_t
part_value(const part_rank *pr, int32_t key)
{
    return pr->rank != NULL ? (uint64_t)pr->rank[key + 1] : (uint64_t)((int64_t)key - pr->least);
}

static int
rank_less(const void *ctx, int32_t a, int32_t b)
{
    const rank_ctx *c = ctx;
    for (int k = 0; k < c->s->nkeys; k++) {
        uint64_t va = part_value(&c->pr[k], c->s->accs[a].key[k]);
        uint64_t vb = part_value(&c->pr[k], c->s->accs[b].key[k]);
        if (va != vb)
            return va < vb;
    }
    return 0;
}

static int
bits_of(uint64_t v)
{
    int b = 0;
    for (; v != 0; v >>= 1)
        b++;
    return b;
}

/* Rank the codes of column col that part k of the groups uses; 0 on
 * allocation failure. */
static int
rank_codes(const agg *s, int k, int col, part_rank *pr)
{
    const sx_dict *d = &s->t->dicts[col];
    int32_t count = s->t->codes[col] != NULL ? d->count : 0, nused = 0;
    int32_t *used;
    pr->rank = sx_alloc_array((size_t)count + 1, sizeof *pr->rank);
    used = sx_alloc_array((size_t)count + 1, sizeof *used);
    if (pr->rank == NULL || used == NULL) {
        free(used);
        return 0;
    }
    memset(pr->rank, 0xff, ((size_t)count + 1) * sizeof *pr->rank); /* all -1: unused */
    for (int32_t g = 0; g < s->nacc; g++) {
        int32_t code = s->accs[g].key[k];
        if (code != SX_NULL_CODE && pr->rank[code + 1] < 0) {
            pr->rank[code + 1] = 0;
            used[nused++] = code;
        }
    }
    if (!sxa_merge_sort(used, (size_t)nused, sxa_unit_less, d)) {
        free(used);
        return 0;
    }
    for (int32_t c = 0; c < nused; c++)
        pr->rank[used[c] + 1] = c;
    pr->rank[0] = nused; /* empty after every string */
    pr->bits = bits_of((uint64_t)nused);
    free(used);
    return 1;
}

typedef struct keyed {
    uint64_t key;
    int32_t g;
} keyed;

/* LSD radix sort of v[0..n) by key, RADIX_BITS a pass over bits bits. */
static int
radix_sort(keyed *v, size_t n, int bits)
{
    keyed *tmp = sx_alloc_array(n, sizeof *tmp), *src = v, *dst = tmp;
    size_t count[1u << RADIX_BITS];
    if (tmp == NULL)
        return 0;
    for (int shift = 0; shift < bits; shift += RADIX_BITS) {
        size_t sum = 0;
        memset(count, 0, sizeof count);
        for (size_t i = 0; i < n; i++)
            count[(src[i].key >> shift) & ((1u << RADIX_BITS) - 1)]++;
        for (size_t i = 0; i < (1u << RADIX_BITS); i++) {
            size_t c = count[i];
            count[i] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[count[(src[i].key >> shift) & ((1u << RADIX_BITS) - 1)]++] = src[i];
        {
            keyed *sw = src;
            src = dst;
            dst = sw;
        }
    }
    if (src != v)
        memcpy(v, src, n * sizeof *v);
    free(tmp);
    return 1;
}

int
sxa_order_parts(const agg *s, int32_t *order)
{
    part_rank pr[SX_MAX_KEYS];
    int total = 0, ok = 1;
    int32_t n = s->nacc;
    for (int k = 0; k < s->nkeys; k++) {
        pr[k].rank = NULL;
        pr[k].bits = 0; /* also when ranking a part fails half-way */
    }
    for (int k = 0; k < s->nkeys && ok; k++) {
        int col = sx_by_column(s->keyby[k]);
        if (col >= 0) {
            ok = rank_codes(s, k, col, &pr[k]);
        } else {
            int64_t lo = INT64_MAX, hi = INT64_MIN;
            for (int32_t g = 0; g < n; g++) {
                int64_t v = s->accs[g].key[k];
                lo = v < lo ? v : lo;
                hi = v > hi ? v : hi;
            }
            pr[k].least = n > 0 ? lo : 0;
            pr[k].bits = n > 0 ? bits_of((uint64_t)(hi - lo)) : 0;
        }
        total += pr[k].bits;
    }
    for (int32_t g = 0; g < n; g++)
        order[g] = g;
    if (ok && total <= 64 && n > 1) {
        keyed *v = sx_alloc_array((size_t)n, sizeof *v);
        ok = v != NULL;
        for (int32_t g = 0; ok && g < n; g++) {
            uint64_t key = 0;
            for (int k = 0; k < s->nkeys; k++) /* 64-bit shifts: a part may have 0 bits */
                key = (pr[k].bits >= 64 ? 0 : key << pr[k].bits) |
                      part_value(&pr[k], s->accs[g].key[k]);
            v[g].key = key;
            v[g].g = g;
        }
        /* groups often come in order already (sorted files, few groups) */
        int32_t sorted = 1;
        while (ok && sorted < n && v[sorted - 1].key < v[sorted].key)
            sorted++;
        if (ok && sorted < n)
            ok = radix_sort(v, (size_t)n, total);
        for (int32_t g = 0; ok && g < n; g++)
            order[g] = v[g].g;
        free(v);
    } else if (ok) {
        rank_ctx c = {s, pr};
        ok = sxa_merge_sort(order, (size_t)n, rank_less, &c);
    }
    for (int k = 0; k < s->nkeys; k++)
        free(pr[k].rank);
    return ok;
}
