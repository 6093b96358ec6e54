/*
 * shares.c -- each figure's share of the whole it is part of, for every row
 * of a table at once: the one column that to_frame(), to_dicts(), the Arrow
 * export, the notebook HTML and the command line read.
 *
 * The rule (Dataset.share()'s): the whole of a row whose part_of is K is the
 * row of the same project whose metric is K, for the same region (an empty
 * region matches an empty one) and the same as_of.  A row has a share when
 * exactly one such row exists and its value is not zero; the share is the
 * row's value over the whole's, in doubles.
 *
 * The wholes are found with the core's hash table over the rows whose metric
 * some part_of names, so a table without parts costs nothing but the NaN
 * fill.  The column is computed once per table and kept with it
 * (sx_table_shares), so every export reads the same doubles.
 */
#include "shanxi/core.h"
#include "hashtab.h"
#include "platform.h" /* sx_atomic_load_ptr, sx_publish_ptr */

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The wholes by (project, metric, region, as_of): the core's hash table
 * (hashtab.h) over row numbers, sized once, and a flag per slot for a key
 * that more than one row has. */
typedef struct whole_index {
    uint32_t *slots; /* row + 1, 0 for a free slot */
    uint8_t *shared; /* 1 where more than one row has that slot's key */
    uint32_t mask;
} whole_index;

/* A key looked for, and the table the rows are read from. */
typedef struct whole_key {
    const sx_table *t;
    int32_t project, metric, region, as_of;
} whole_key;

static uint32_t
key_hash(const whole_key *k)
{
    /* keyed: rows are input, so their keys must not be made to collide */
    int32_t parts[4] = {k->project, k->metric, k->region, k->as_of};
    return sx_hash_ints(parts, 4);
}

static int
same_key(const void *ctx, uint32_t row)
{
    const whole_key *k = ctx;
    const sx_table *t = k->t;
    return t->project[row] == k->project && t->as_of[row] == k->as_of &&
           sx_code_at(t, SX_COL_METRIC, row) == k->metric &&
           sx_code_at(t, SX_COL_REGION, row) == k->region;
}

/* The slot of row's key with metric in place of its own: the one holding
 * that key, or the free one it would take; the row found (or -1) in *found. */
static uint32_t
find_slot(const whole_index *ix, const sx_table *t, int64_t row, int32_t metric, int64_t *found)
{
    whole_key k = {t, t->project[row], metric, sx_code_at(t, SX_COL_REGION, row), t->as_of[row]};
    uint32_t slot;
    *found = sx_hash_find(ix->slots, ix->mask, key_hash(&k), same_key, &k, &slot);
    return slot;
}

/* whole_metric[k]: the metric code part_of code k names, or -1 when no row
 * has that metric.  is_whole[m]: 1 for a metric code some part_of names.
 * Both malloc'd; the count of wanted metrics in *nwanted. */
static sx_status
map_part_keys(const sx_table *t, int32_t **whole_metric, uint8_t **is_whole, int32_t *nwanted)
{
    const sx_dict *parts = &t->dicts[SX_COL_PART_OF];
    const sx_dict *metrics = &t->dicts[SX_COL_METRIC];
    *whole_metric = malloc(((size_t)parts->count + 1) * sizeof **whole_metric);
    *is_whole = calloc((size_t)metrics->count + 1, 1);
    if (!*whole_metric || !*is_whole) {
        free(*whole_metric);
        free(*is_whole);
        *whole_metric = NULL;
        *is_whole = NULL;
        return SX_ERR_NOMEM;
    }
    *nwanted = 0;
    for (int32_t k = 0; k < parts->count; k++) {
        size_t len;
        const char *s = sx_dict_str(parts, k, &len);
        int32_t m = sx_dict_find(metrics, s, len);
        (*whole_metric)[k] = m;
        if (m >= 0 && !(*is_whole)[m]) {
            (*is_whole)[m] = 1;
            ++*nwanted;
        }
    }
    return SX_OK;
}

static sx_status
index_wholes(const sx_table *t, const uint8_t *is_whole, whole_index *ix)
{
    int64_t n = t->nrows, nwholes = 0;
    for (int64_t i = 0; i < n; i++)
        nwholes += is_whole[sx_code_at(t, SX_COL_METRIC, i)];
    /* at most half full, as hashtab.h wants, and never grown */
    size_t size = SX_HASH_MIN_SLOTS;
    while (size < 2 * (size_t)nwholes + 2)
        size <<= 1;
    if ((uint64_t)size - 1 > UINT32_MAX)
        return SX_ERR_LIMIT;
    ix->mask = (uint32_t)(size - 1);
    ix->slots = calloc(size, sizeof *ix->slots);
    ix->shared = calloc(size, 1);
    if (!ix->slots || !ix->shared)
        return SX_ERR_NOMEM; /* the caller frees */
    for (int64_t i = 0; i < n && nwholes > 0; i++) {
        int32_t metric = sx_code_at(t, SX_COL_METRIC, i);
        if (!is_whole[metric])
            continue;
        int64_t found;
        uint32_t slot = find_slot(ix, t, i, metric, &found);
        if (found < 0)
            ix->slots[slot] = (uint32_t)i + 1; /* rows fit an int32 (SX_ERR_LIMIT) */
        else
            ix->shared[slot] = 1;
    }
    return SX_OK;
}

sx_status
sx_shares_compute(const sx_table *t, sx_shares *out)
{
    int64_t n = t->nrows;
    memset(out, 0, sizeof *out);
    out->value = malloc((n ? (size_t)n : 1) * sizeof *out->value);
    out->valid = calloc(((size_t)n + 63) / 64 * 8 + 8, 1); /* padded to 8 bytes, as Arrow's */
    if (!out->value || !out->valid) {
        sx_shares_free(out);
        return SX_ERR_NOMEM;
    }
    for (int64_t i = 0; i < n; i++)
        out->value[i] = NAN;
    if (!t->codes[SX_COL_PART_OF] || t->null_count[SX_COL_PART_OF] == n)
        return SX_OK;

    int32_t *whole_metric = NULL, nwanted = 0;
    uint8_t *is_whole = NULL;
    whole_index ix = {NULL, NULL, 0};
    sx_status status = map_part_keys(t, &whole_metric, &is_whole, &nwanted);
    if (status != SX_OK || nwanted == 0)
        goto done;
    status = index_wholes(t, is_whole, &ix);
    if (status != SX_OK)
        goto done;
    for (int64_t i = 0; i < n; i++) {
        int32_t part = sx_code_at(t, SX_COL_PART_OF, i);
        if (part < 0 || whole_metric[part] < 0)
            continue;
        int64_t whole;
        uint32_t slot = find_slot(&ix, t, i, whole_metric[part], &whole);
        if (whole < 0 || ix.shared[slot] || t->value[whole] == 0.0)
            continue;
        out->value[i] = t->value[i] / t->value[whole];
        out->valid[i >> 3] |= (uint8_t)(1u << (i & 7));
        out->count++;
    }
done:
    free(whole_metric);
    free(is_whole);
    free(ix.slots);
    free(ix.shared);
    if (status != SX_OK)
        sx_shares_free(out);
    return status;
}

int64_t
sx_share_whole(const sx_table *t, int64_t row, int64_t *n)
{
    *n = 0;
    int32_t part = sx_code_at(t, SX_COL_PART_OF, row);
    if (part == SX_NULL_CODE)
        return -1;
    size_t len;
    const char *s = sx_dict_str(&t->dicts[SX_COL_PART_OF], part, &len);
    whole_key k = {t, t->project[row], sx_dict_find(&t->dicts[SX_COL_METRIC], s, len),
                   sx_code_at(t, SX_COL_REGION, row), t->as_of[row]};
    if (k.metric < 0)
        return -1;
    int64_t whole = -1;
    for (int64_t i = 0; i < t->nrows; i++) {
        if (same_key(&k, (uint32_t)i)) {
            whole = i;
            ++*n;
        }
    }
    return *n == 1 ? whole : -1;
}

void
sx_shares_free(sx_shares *s)
{
    if (!s)
        return;
    free(s->value);
    free(s->valid);
    s->value = NULL;
    s->valid = NULL;
    s->count = 0;
}

/* The cache is published with one compare-and-swap, so two threads asking
 * at once each compute, one wins and the other frees its copy; the table
 * stays immutable as far as any reader can tell. */
const sx_shares *
sx_table_shares(sx_table *t)
{
    sx_shares *cached = sx_atomic_load_ptr(&t->shares);
    if (cached)
        return cached;
    sx_shares *fresh = malloc(sizeof *fresh);
    if (!fresh)
        return NULL;
    if (sx_shares_compute(t, fresh) != SX_OK) {
        free(fresh);
        return NULL;
    }
    sx_shares *published = sx_publish_ptr(&t->shares, fresh);
    if (published != fresh) {
        sx_shares_free(fresh);
        free(fresh);
    }
    return published;
}
