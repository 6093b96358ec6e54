/*
 * partial.c -- exact partial aggregates (include/shanxi/partial.h): per
 * group, keyed by value, the state from which sx_aggregate's answer follows
 * exactly: the count, the exact sum of the integer figures, the exact sum
 * of the float ones (a fixed-point accumulator over the whole double
 * range, exactsum.h, which merges by adding limbs), the extreme with its
 * position (for ties) and the set of units seen.
 *
 * Everything is exact, so merging in any order gives the same state and
 * result() gives sx_aggregate's bits: an integer sum as an exact integer,
 * a float sum rounded once from the exact total.  partialblob.c writes and
 * reads a partial as bytes; pstate.h is the state both files share.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"     /* sxa_units_message */
#include "hashtab.h" /* the group table */
#include "pstate.h"
#include "rowfilter.h"

/* ------------------------------------------------------------------ lifetime */

sx_partial *
sxpa_alloc(sx_func func, const sx_by *by, int nby, int tuple)
{
    sx_partial *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->func = func;
    p->nkeys = nby;
    p->tuple = tuple != 0;
    for (int k = 0; k < nby; k++)
        p->by[k] = by[k];
    return p;
}

/* by[0..nby) as sx_aggregate_keys takes them: known, none twice. */
static int
valid_keys(const sx_by *by, int nby)
{
    if (nby < 0 || nby > SX_PARTIAL_MAX_KEYS || (nby > 0 && !by))
        return 0;
    for (int k = 0; k < nby; k++) {
        if (by[k] == SX_BY_NONE || (unsigned)by[k] >= SX_NBYS)
            return 0;
        for (int j = 0; j < k; j++)
            if (by[j] == by[k])
                return 0;
    }
    return 1;
}

void
sx_partial_free(sx_partial *p)
{
    if (!p)
        return;
    for (int32_t g = 0; g < p->ngroups; g++) {
        free(p->groups[g].sa);
        free(p->groups[g].units);
    }
    free(p->groups);
    free(p->slots);
    free(p->arena);
    sx_dict_free(&p->units);
    for (int32_t i = 0; i < p->nnotes; i++) {
        free(p->notes[i].value);
        free(p->notes[i].message);
    }
    free(p->notes);
    free(p);
}

sx_func
sx_partial_func(const sx_partial *p)
{
    return p->func;
}

sx_by
sx_partial_by(const sx_partial *p)
{
    return p->nkeys ? p->by[0] : SX_BY_NONE;
}

int
sx_partial_keys(const sx_partial *p, sx_by *by)
{
    for (int k = 0; k < p->nkeys; k++)
        by[k] = p->by[k];
    return p->nkeys;
}

int
sx_partial_tuple(const sx_partial *p)
{
    return p->tuple;
}

int64_t
sx_partial_ngroups(const sx_partial *p)
{
    return p->ngroups;
}

int64_t
sx_partial_rows(const sx_partial *p)
{
    return p->rows;
}

int
sx_partial_compatible(const sx_partial *a, const sx_partial *b)
{
    if (a->func != b->func || a->nkeys != b->nkeys || a->tuple != b->tuple)
        return 0;
    for (int k = 0; k < a->nkeys; k++)
        if (a->by[k] != b->by[k])
            return 0;
    return 1;
}

/* ------------------------------------------------------------------ groups */

/* The group table's hash of q's key, keyed with the process's secret as
 * the dictionaries are (hashkey.c): keys come from input, and a partial
 * merged from many tables must not be floodable.  Each part (a string
 * part's keyed hash, or a number) goes through a round of the keyed
 * multiply, as sx_hash_int's integers do. */
static void
probe_hash(sxpa_probe *q)
{
    const sx_hash_key *key = sx_hash_process_key();
    uint64_t h = key->sip[0];
    for (int k = 0; k < q->p->nkeys; k++) {
        uint64_t part = (uint64_t)q->num[k];
        if (sx_by_column(q->p->by[k]) >= 0) /* the empty field (len -1) apart from "" */
            part = q->len[k] < 0
                       ? UINT64_MAX
                       : sx_hash_string(key, q->len[k] > 0 ? q->str[k] : "", (size_t)q->len[k]);
        h = sx_hash_mum(h ^ part ^ key->mix[0], key->mix[1]);
    }
    q->hash = sx_hash_fold(sx_hash_mum(h ^ key->sip[0], key->sip[1]));
}

static int
same_group(const void *ctx, uint32_t index)
{
    const sxpa_probe *q = ctx;
    const pgroup *g = &q->p->groups[index];
    if (g->hash != q->hash)
        return 0;
    for (int k = 0; k < q->p->nkeys; k++) {
        if (sx_by_column(q->p->by[k]) >= 0) {
            if (g->len[k] != q->len[k] ||
                (g->len[k] > 0 && (!q->str[k] || memcmp(q->p->arena + g->num[k], q->str[k],
                                                        (size_t)g->len[k]) != 0)))
                return 0;
        } else if (g->num[k] != q->num[k]) {
            return 0;
        }
    }
    return 1;
}

static uint32_t
group_hash(const void *ctx, uint32_t index)
{
    return ((const sx_partial *)ctx)->groups[index].hash;
}

/* The group of q's key, made (empty) if new: its index, or -1 when out of
 * memory. */
int32_t
sxpa_find_group(sx_partial *p, sxpa_probe *q)
{
    uint32_t slot = 0;
    probe_hash(q);
    if (p->slots) {
        int32_t found = sx_hash_find(p->slots, p->mask, q->hash, same_group, q, &slot);
        if (found >= 0)
            return found;
    }
    if (p->ngroups == INT32_MAX - 1)
        return -1;
    if (sx_hash_full(p->slots, p->mask, (size_t)p->ngroups)) {
        if (sx_hash_grow(&p->slots, &p->mask, group_hash, p) != SX_OK)
            return -1;
        slot = sx_hash_free_slot(p->slots, p->mask, q->hash);
    }
    if (p->ngroups == p->capgroups) {
        size_t cap = sx_grown_capacity((size_t)p->capgroups, (size_t)p->ngroups + 1, 16);
        pgroup *grown = realloc(p->groups, cap * sizeof *grown);
        if (!grown)
            return -1;
        p->groups = grown;
        p->capgroups = (int32_t)cap;
    }
    pgroup *g = &p->groups[p->ngroups];
    memset(g, 0, sizeof *g);
    g->hash = q->hash;
    g->last_unit = -1;
    for (int k = 0; k < p->nkeys; k++) {
        if (sx_by_column(p->by[k]) < 0) {
            g->num[k] = q->num[k];
            continue;
        }
        g->len[k] = q->len[k];
        if (q->len[k] <= 0)
            continue;
        size_t need = p->arena_len + (size_t)q->len[k];
        if (need > p->arena_cap) {
            size_t cap = sx_grown_capacity(p->arena_cap, need, 256);
            char *grown = realloc(p->arena, cap);
            if (!grown)
                return -1;
            p->arena = grown;
            p->arena_cap = cap;
        }
        memcpy(p->arena + p->arena_len, q->str[k], (size_t)q->len[k]);
        g->num[k] = (int64_t)p->arena_len;
        p->arena_len = need;
    }
    p->slots[slot] = (uint32_t)p->ngroups + 1;
    return p->ngroups++;
}

/* Unit id u joins g's set; 0 when out of memory. */
int
sxpa_add_unit(pgroup *g, uint32_t u)
{
    if (g->last_unit == (int32_t)u)
        return 1;
    int32_t lo = 0, hi = g->nunits;
    while (lo < hi) {
        int32_t mid = (lo + hi) / 2;
        if (g->units[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < g->nunits && g->units[lo] == u) {
        g->last_unit = (int32_t)u;
        return 1;
    }
    if (g->nunits == g->capunits) {
        int32_t cap = g->capunits ? g->capunits * 2 : 2;
        uint32_t *grown = realloc(g->units, (size_t)cap * sizeof *grown);
        if (!grown)
            return 0;
        g->units = grown;
        g->capunits = cap;
    }
    memmove(g->units + lo + 1, g->units + lo, (size_t)(g->nunits - lo) * sizeof *g->units);
    g->units[lo] = u;
    g->nunits++;
    g->last_unit = (int32_t)u;
    return 1;
}

/* Whether the extreme (v, is_int) at (seq, row) beats g's: a strictly
 * better value, or an equal one earlier; at the same place (partials
 * given the same seq), an integer, then the lower bits, so that merging
 * stays commutative. */
static int
beats(const pgroup *g, sx_func func, double v, int is_int, int64_t seq, int64_t row)
{
    if (g->count == 0)
        return 1;
    if (func == SX_MIN ? v < g->ext : v > g->ext)
        return 1;
    if (v != g->ext)
        return 0;
    if (seq != g->ext_seq || row != g->ext_row)
        return seq < g->ext_seq || (seq == g->ext_seq && row < g->ext_row);
    if (is_int != g->ext_int)
        return is_int;
    uint64_t a, b;
    memcpy(&a, &v, sizeof a);
    memcpy(&b, &g->ext, sizeof b);
    return a < b;
}

static superacc *
new_superacc(void)
{
    return calloc(1, sizeof(superacc));
}

/* ------------------------------------------------------------------ from a table */

/* Per table: which group each key code or key number goes to, found once. */
typedef struct feeder {
    sx_partial *p;
    const sx_table *t;
    int32_t *code_group; /* one string key: code + 1 -> group + 1 (0: not yet) */
    int32_t *unit_id;    /* unit code -> id + 1 (0: not yet) */
    int64_t last_num;
    int32_t last_group;
    int64_t last_key[SX_PARTIAL_MAX_KEYS]; /* several keys: the last row's codes or numbers */
} feeder;

/* The numeric key of row i for a grouping without a string column. */
static int64_t
num_key(const sx_table *t, sx_by by, int64_t i)
{
    return by == SX_BY_PROJECT ? t->project[i]
           : by == SX_BY_AS_OF ? t->as_of[i]
                               : sx_month_from_days(t->as_of[i]);
}

/* The group of row i by several keys: rows in a run of one key (data
 * sorted by date, say) reuse the last row's group. */
static int32_t
row_group_keys(feeder *fd, int64_t i)
{
    sx_partial *p = fd->p;
    const sx_table *t = fd->t;
    int64_t key[SX_PARTIAL_MAX_KEYS];
    int same = fd->last_group >= 0;
    for (int k = 0; k < p->nkeys; k++) {
        int col = sx_by_column(p->by[k]);
        key[k] = col >= 0 ? sx_code_at(t, (sx_strcol)col, i) : num_key(t, p->by[k], i);
        same &= key[k] == fd->last_key[k];
    }
    if (same)
        return fd->last_group;
    sxpa_probe q;
    memset(&q, 0, sizeof q);
    q.p = p;
    for (int k = 0; k < p->nkeys; k++) {
        int col = sx_by_column(p->by[k]);
        if (col < 0) {
            q.num[k] = key[k];
        } else if (key[k] == SX_NULL_CODE) {
            q.len[k] = -1;
        } else {
            size_t n;
            q.str[k] = sx_dict_str(&t->dicts[col], (int32_t)key[k], &n);
            q.len[k] = (int64_t)n;
        }
        fd->last_key[k] = key[k];
    }
    int32_t g = sxpa_find_group(p, &q);
    fd->last_group = g;
    return g;
}

static int32_t
row_group_index(feeder *fd, int64_t i)
{
    sx_partial *p = fd->p;
    const sx_table *t = fd->t;
    if (p->nkeys == 0)
        return 0;
    if (p->nkeys > 1)
        return row_group_keys(fd, i);
    sxpa_probe q;
    memset(&q, 0, sizeof q);
    q.p = p;
    sx_by by = p->by[0];
    int col = sx_by_column(by);
    if (col >= 0) {
        sx_strcol c = (sx_strcol)col;
        int32_t code = sx_code_at(t, c, i);
        if (fd->code_group[code + 1] > 0)
            return fd->code_group[code + 1] - 1;
        if (code == SX_NULL_CODE) {
            q.len[0] = -1;
        } else {
            size_t n;
            q.str[0] = sx_dict_str(&t->dicts[c], code, &n);
            q.len[0] = (int64_t)n;
        }
        int32_t g = sxpa_find_group(p, &q);
        if (g >= 0)
            fd->code_group[code + 1] = g + 1;
        return g;
    }
    int64_t key = num_key(t, by, i);
    if (fd->last_group >= 0 && key == fd->last_num)
        return fd->last_group;
    q.num[0] = key;
    int32_t g = sxpa_find_group(p, &q);
    fd->last_num = key;
    fd->last_group = g;
    return g;
}

/* The group row i goes to, made if new; NULL when out of memory. */
static pgroup *
row_group(feeder *fd, int64_t i)
{
    int32_t g = row_group_index(fd, i);
    return g >= 0 ? &fd->p->groups[g] : NULL;
}

static int
feed_row(feeder *fd, int64_t i, int64_t seq)
{
    sx_partial *p = fd->p;
    const sx_table *t = fd->t;
    pgroup *g = row_group(fd, i);
    if (!g)
        return 0;
    int32_t ucode = sx_code_at(t, SX_COL_UNIT, i);
    if (fd->unit_id[ucode + 1] == 0) {
        size_t n = 0;
        const char *s = ucode == SX_NULL_CODE ? "" : sx_dict_str(&t->dicts[SX_COL_UNIT], ucode, &n);
        int32_t id;
        if (sx_dict_intern(&p->units, s, n, &id) != SX_OK)
            return 0;
        fd->unit_id[ucode + 1] = id + 1;
    }
    if (!sxpa_add_unit(g, (uint32_t)fd->unit_id[ucode + 1] - 1))
        return 0;
    double v = t->value[i];
    /* as aggregate.c's exact_int: integers within 2^53 are counted exactly */
    int is_int = t->is_int[i] & (fabs(v) <= TWO53);
    switch (p->func) {
    case SX_COUNT:
        break;
    case SX_SUM:
    case SX_MEAN:
        if (is_int) {
            g->ilo += (int64_t)v;
            sxs_carry_int(&g->ihi, &g->ilo);
        } else {
            if (!g->sa && !(g->sa = new_superacc()))
                return 0;
            g->has_float = 1;
            sxs_add(g->sa, v);
        }
        break;
    default:
        if (beats(g, p->func, v, is_int, seq, i)) {
            g->ext = v;
            g->ext_int = (uint8_t)is_int;
            g->ext_seq = seq;
            g->ext_row = i;
        }
        break;
    }
    g->count++;
    return 1;
}

sx_status
sx_partial_empty(sx_func func, sx_by by, sx_partial **out)
{
    return sx_partial_empty_keys(func, &by, by == SX_BY_NONE ? 0 : 1, 0, out);
}

sx_status
sx_partial_empty_keys(sx_func func, const sx_by *by, int nby, int tuple, sx_partial **out)
{
    *out = NULL;
    if ((unsigned)func >= SX_NFUNCS || !valid_keys(by, nby))
        return SX_ERR_VALUE;
    sx_partial *p = sxpa_alloc(func, by, nby, tuple);
    if (!p)
        return SX_ERR_NOMEM;
    if (nby == 0) { /* always one group, as sx_aggregate has */
        sxpa_probe q;
        memset(&q, 0, sizeof q);
        q.p = p;
        if (sxpa_find_group(p, &q) < 0) {
            sx_partial_free(p);
            return SX_ERR_NOMEM;
        }
    }
    *out = p;
    return SX_OK;
}

sx_status
sx_partial_new(const sx_table *t, const sx_filter *f, sx_func func, sx_by by, int64_t seq,
               sx_partial **out, sx_error *err)
{
    if ((unsigned)by >= SX_NBYS)
        return sx_error_set(err, SX_ERR_VALUE, "unknown aggregation function or grouping");
    return sx_partial_new_keys(t, f, func, &by, by == SX_BY_NONE ? 0 : 1, 0, seq, out, err);
}

sx_status
sx_partial_new_keys(const sx_table *t, const sx_filter *f, sx_func func, const sx_by *by, int nby,
                    int tuple, int64_t seq, sx_partial **out, sx_error *err)
{
    *out = NULL;
    if ((unsigned)func >= SX_NFUNCS || !valid_keys(by, nby))
        return sx_error_set(err, SX_ERR_VALUE, "unknown aggregation function or grouping");
    sx_partial *p = NULL;
    sx_status st = sx_partial_empty_keys(func, by, nby, tuple, &p);
    if (st != SX_OK)
        return sx_error_set(err, st, "out of memory");
    feeder fd = {p, t, NULL, NULL, 0, -1, {0}};
    st = SX_ERR_NOMEM; /* the one failure from here */
    int col = nby == 1 ? sx_by_column(by[0]) : -1;
    int32_t nkeys = col >= 0 && t->codes[col] ? t->dicts[col].count : 0;
    int32_t nunits = t->dicts[SX_COL_UNIT].count;
    fd.code_group = calloc((size_t)nkeys + 1, sizeof *fd.code_group);
    fd.unit_id = calloc((size_t)nunits + 1, sizeof *fd.unit_id);
    if (!fd.code_group || !fd.unit_id)
        goto error;
    sxf_compiled q;
    sxf_compile(&q, t, f);
    if (!q.none) {
        uint32_t sel[SXF_BLOCK];
        for (int64_t start = 0; start < t->nrows; start += SXF_BLOCK) {
            size_t len = t->nrows - start < SXF_BLOCK ? (size_t)(t->nrows - start) : SXF_BLOCK;
            size_t n = len;
            if (!q.all)
                n = sxf_block(&q, start, len, sel);
            for (size_t k = 0; k < n; k++)
                if (!feed_row(&fd, start + (q.all ? (int64_t)k : (int64_t)sel[k]), seq))
                    goto error;
            p->rows += (int64_t)n;
        }
    }
    *out = p;
    p = NULL; /* the caller's now */
    st = SX_OK;
error:
    if (st == SX_ERR_NOMEM)
        sx_error_set(err, st, "out of memory");
    free(fd.code_group);
    free(fd.unit_id);
    sx_partial_free(p);
    return st;
}

/* ------------------------------------------------------------------ merging */

sx_status
sx_partial_merge_into(sx_partial *a, const sx_partial *b, sx_error *err)
{
    if (!sx_partial_compatible(a, b))
        return sx_error_set(err, SX_ERR_VALUE, "partials of different aggregations");
    sx_status st = SX_ERR_NOMEM; /* the one failure from here */
    int32_t *unit_map = sx_alloc_array((size_t)b->units.count, sizeof *unit_map);
    if (!unit_map)
        goto error;
    for (int32_t u = 0; u < b->units.count; u++) {
        size_t n;
        const char *s = sx_dict_str(&b->units, u, &n);
        if (sx_dict_intern(&a->units, s, n, &unit_map[u]) != SX_OK)
            goto error;
    }
    for (int32_t i = 0; i < b->ngroups; i++) {
        const pgroup *h = &b->groups[i];
        sxpa_probe q;
        memset(&q, 0, sizeof q);
        q.p = a;
        for (int k = 0; k < a->nkeys; k++) {
            q.num[k] = h->num[k];
            q.len[k] = h->len[k];
            if (sx_by_column(a->by[k]) >= 0 && h->len[k] > 0)
                q.str[k] = b->arena + h->num[k];
        }
        int32_t gi = sxpa_find_group(a, &q);
        if (gi < 0)
            goto error;
        pgroup *g = &a->groups[gi];
        for (int32_t u = 0; u < h->nunits; u++)
            if (!sxpa_add_unit(g, (uint32_t)unit_map[h->units[u]]))
                goto error;
        g->ihi += h->ihi;
        g->ilo += h->ilo; /* each |ilo| < 2^62: no overflow */
        sxs_carry_int(&g->ihi, &g->ilo);
        if (h->sa) {
            if (!g->sa && !(g->sa = new_superacc()))
                goto error;
            superacc copy = *h->sa;
            sxs_merge(g->sa, &copy);
            g->has_float = 1;
        }
        if (h->count > 0 && (a->func == SX_MIN || a->func == SX_MAX) &&
            beats(g, a->func, h->ext, h->ext_int, h->ext_seq, h->ext_row)) {
            g->ext = h->ext;
            g->ext_int = h->ext_int;
            g->ext_seq = h->ext_seq;
            g->ext_row = h->ext_row;
        }
        g->count += h->count;
    }
    for (int32_t i = 0; i < b->nnotes; i++) {
        const pnote *n = &b->notes[i];
        if (sx_partial_note_filter(a, n->filter, n->value, n->value_len, n->found, n->seq,
                                   n->message, n->message_len) != SX_OK)
            goto error;
    }
    a->rows += b->rows;
    st = SX_OK;
error:
    if (st == SX_ERR_NOMEM)
        sx_error_set(err, st, "out of memory");
    free(unit_map);
    return st;
}

sx_status
sx_partial_copy(const sx_partial *p, sx_partial **out)
{
    sx_error err;
    sx_status st = sx_partial_empty_keys(p->func, p->by, p->nkeys, p->tuple, out);
    if (st == SX_OK && (st = sx_partial_merge_into(*out, p, &err)) != SX_OK) {
        sx_partial_free(*out);
        *out = NULL;
    }
    return st;
}

/* ------------------------------------------------------------------ filter values */

/* A NUL-terminated copy of s[0..n); NULL when out of memory. */
static char *
copy_text(const char *s, size_t n)
{
    char *c = malloc(n + 1);
    if (c) {
        if (n > 0)
            memcpy(c, s, n);
        c[n] = '\0';
    }
    return c;
}

/* Bytes in memcmp order, a prefix first. */
static int
bytes_cmp(const char *a, size_t la, const char *b, size_t lb)
{
    size_t n = la < lb ? la : lb;
    int c = n > 0 ? memcmp(a, b, n) : 0;
    return c != 0 ? c : (la > lb) - (la < lb);
}

sx_status
sx_partial_note_filter(sx_partial *p, int filter, const char *value, size_t value_len, int found,
                       int64_t seq, const char *message, size_t message_len)
{
    if (!message)
        message_len = 0;
    int32_t at = 0;
    int c = 1;
    while (at < p->nnotes) {
        const pnote *n = &p->notes[at];
        c = filter != n->filter ? (filter > n->filter) - (filter < n->filter)
                                : bytes_cmp(value, value_len, n->value, n->value_len);
        if (c <= 0)
            break;
        at++;
    }
    if (at < p->nnotes && c == 0) {
        pnote *n = &p->notes[at];
        if (n->found)
            return SX_OK;
        if (found) {
            free(n->message);
            n->message = NULL;
            n->message_len = 0;
            n->seq = 0;
            n->found = 1;
            return SX_OK;
        }
        /* the message of the part first in (seq, message) order: the same
         * whatever the order of merging */
        if (seq > n->seq ||
            (seq == n->seq && bytes_cmp(message, message_len, n->message, n->message_len) >= 0))
            return SX_OK;
        char *m = copy_text(message, message_len);
        if (!m)
            return SX_ERR_NOMEM;
        free(n->message);
        n->message = m;
        n->message_len = message_len;
        n->seq = seq;
        return SX_OK;
    }
    if (p->nnotes == INT32_MAX)
        return SX_ERR_NOMEM;
    if (p->nnotes == p->capnotes) {
        size_t cap = sx_grown_capacity((size_t)p->capnotes, (size_t)p->nnotes + 1, 4);
        pnote *grown = realloc(p->notes, cap * sizeof *grown);
        if (!grown)
            return SX_ERR_NOMEM;
        p->notes = grown;
        p->capnotes = (int32_t)cap;
    }
    pnote n = {filter,
               copy_text(value, value_len),
               value_len,
               found != 0,
               found ? 0 : seq,
               found ? NULL : copy_text(message, message_len),
               found ? 0 : message_len};
    if (!n.value || (!found && !n.message)) {
        free(n.value);
        free(n.message);
        return SX_ERR_NOMEM;
    }
    memmove(p->notes + at + 1, p->notes + at, (size_t)(p->nnotes - at) * sizeof *p->notes);
    p->notes[at] = n;
    p->nnotes++;
    return SX_OK;
}

int
sx_partial_missing(const sx_partial *p, const char **message, size_t *message_len)
{
    for (int32_t i = 0; i < p->nnotes; i++)
        if (!p->notes[i].found) {
            *message = p->notes[i].message;
            *message_len = p->notes[i].message_len;
            return 1;
        }
    return 0;
}

/* ------------------------------------------------------------------ result */

static int
key_less(const sx_partial *p, const pgroup *x, const pgroup *y)
{
    for (int k = 0; k < p->nkeys; k++) {
        if (sx_by_column(p->by[k]) >= 0) {
            /* strings by their bytes, the empty field last */
            if (x->len[k] < 0 || y->len[k] < 0) {
                if ((x->len[k] < 0) != (y->len[k] < 0))
                    return y->len[k] < 0;
                continue;
            }
            size_t lx = (size_t)x->len[k], ly = (size_t)y->len[k];
            const char *sx = p->arena + x->num[k], *sy = p->arena + y->num[k];
            if (lx != ly || (lx > 0 && memcmp(sx, sy, lx) != 0))
                return sxa_bytes_less(sx, lx, sy, ly);
        } else if (x->num[k] != y->num[k]) {
            return x->num[k] < y->num[k];
        }
    }
    return 0;
}

static int
order_less(const void *ctx, int32_t a, int32_t b)
{
    const sx_partial *p = ctx;
    return key_less(p, &p->groups[a], &p->groups[b]);
}

/* The mixed-units error of group g, naming its units sorted. */
static sx_status
units_error(const sx_partial *p, const pgroup *g, sx_error *err)
{
    int32_t *ids = sx_alloc_array((size_t)g->nunits, sizeof *ids);
    const char **strs = sx_alloc_array((size_t)g->nunits, sizeof *strs);
    size_t *lens = sx_alloc_array((size_t)g->nunits, sizeof *lens);
    sx_status st = SX_ERR_UNITS;
    if (!ids || !strs || !lens) {
        st = sx_error_set(err, SX_ERR_NOMEM, "out of memory");
        goto error;
    }
    for (int32_t u = 0; u < g->nunits; u++)
        ids[u] = (int32_t)g->units[u];
    if (!sxa_merge_sort(ids, (size_t)g->nunits, sxa_unit_less, &p->units)) {
        st = sx_error_set(err, SX_ERR_NOMEM, "out of memory");
        goto error;
    }
    for (int32_t u = 0; u < g->nunits; u++)
        strs[u] = sx_dict_str(&p->units, ids[u], &lens[u]);
    sxa_keytext parts[SX_PARTIAL_MAX_KEYS];
    for (int k = 0; k < p->nkeys; k++) {
        int string = sx_by_column(p->by[k]) >= 0;
        parts[k].num = g->num[k];
        parts[k].str = !string || g->len[k] < 0 ? NULL : g->len[k] > 0 ? p->arena + g->num[k] : "";
        parts[k].len = parts[k].str != NULL ? (size_t)g->len[k] : 0;
    }
    char prefix[sizeof err->message];
    int nkeys = p->nkeys > 0 && p->by[0] != SX_BY_NONE ? p->nkeys : 0;
    sxa_group_prefix(p->by, nkeys, parts, prefix, sizeof prefix);
    sxa_units_message(err, p->func, strs, lens, g->nunits, prefix);
error:
    free(ids);
    free(strs);
    free(lens);
    return st;
}

/* The correctly rounded sum of g's figures; 0 when it overflows a double. */
static int
float_sum(const pgroup *g, double *out)
{
    superacc s;
    if (g->sa)
        s = *g->sa;
    else
        memset(&s, 0, sizeof s);
    /* the integer sum joins as doubles that are each exact */
    double parts[4];
    sxs_int_doubles(g->ihi, g->ilo, parts);
    for (int i = 0; i < 4; i++)
        sxs_add(&s, parts[i]);
    return sxs_round(&s, out);
}

sx_status
sx_partial_result(const sx_partial *p, sx_partial_row **rows, int64_t *n, sx_error *err)
{
    *rows = NULL;
    *n = 0;
    sx_func func = p->func;
    if ((func == SX_MEAN || func == SX_MIN || func == SX_MAX) && p->rows == 0)
        return sx_error_set(err, SX_ERR_EMPTY, "%s of no figures", sx_func_names[func]);
    int32_t *order = sx_alloc_array((size_t)p->ngroups, sizeof *order);
    sx_partial_row *out = sx_alloc_array((size_t)p->ngroups, sizeof *out);
    sx_status st = SX_ERR_NOMEM; /* every failure but the two named */
    if (!order || !out)
        goto error;
    for (int32_t g = 0; g < p->ngroups; g++)
        order[g] = g;
    if (!sxa_merge_sort(order, (size_t)p->ngroups, order_less, p))
        goto error;
    int by_unit = 0; /* a unit among the keys: units cannot mix */
    for (int k = 0; k < p->nkeys; k++)
        by_unit |= p->by[k] == SX_BY_UNIT;
    if (func != SX_COUNT && !by_unit)
        for (int32_t k = 0; k < p->ngroups; k++)
            if (p->groups[order[k]].nunits > 1) {
                st = units_error(p, &p->groups[order[k]], err);
                goto error;
            }
    for (int32_t k = 0; k < p->ngroups; k++) {
        const pgroup *g = &p->groups[order[k]];
        sx_partial_row *r = &out[k];
        memset(r, 0, sizeof *r);
        for (int j = 0; j < p->nkeys; j++) {
            if (sx_by_column(p->by[j]) < 0)
                r->key[j].num = g->num[j];
            else if (g->len[j] >= 0) {
                r->key[j].str = g->len[j] > 0 ? p->arena + g->num[j] : "";
                r->key[j].len = (size_t)g->len[j];
            }
        }
        sx_group *v = &r->value;
        v->count = g->count;
        v->unit = SX_NULL_CODE;
        v->all_int = func == SX_COUNT ? 1 : !g->has_float;
        if (func == SX_SUM || func == SX_MEAN) {
            v->isum = sxs_bigint_canon(g->ihi, g->ilo);
            if (g->has_float && !float_sum(g, &v->fsum)) {
                st = sx_error_set(err, SX_ERR_VALUE, "sum overflows a double");
                goto error;
            }
        } else if (func == SX_MIN || func == SX_MAX) {
            v->all_int = 1; /* (not reported for extremes) */
            v->min = v->max = g->ext;
            v->min_is_int = v->max_is_int = g->ext_int;
        }
    }
    *rows = out;
    *n = p->ngroups;
    out = NULL;
    st = SX_OK;
error:
    if (st == SX_ERR_NOMEM)
        sx_error_set(err, st, "out of memory");
    free(order);
    free(out);
    return st;
}
