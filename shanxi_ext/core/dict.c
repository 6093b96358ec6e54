/*
 * dict.c -- string interning for the dictionary-encoded columns.
 *
 * Strings are stored back to back in one buffer with Arrow-style int32
 * offsets, so a dictionary can be exported as an Arrow utf8 array without a
 * copy.  Lookup is the core's hash table (hashtab.h) over the codes,
 * keyed (hashkey.c) and with its probes bounded; the hash of every code is
 * kept so that growing the table never rereads the strings.
 */
#include "shanxi/core.h"
#include "hashtab.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define MIN_CODES 16
#define MIN_DATA  256u
/* Codes must fit int32 with room for offsets[count] and for code + 1 in a
 * uint32 slot. */
#define MAX_CODES (INT32_MAX - 1)
/* (a test build lowers the text limit to reach it: tests/c/test_limits.c) */
#ifndef SX_DICT_MAX_DATA
#define SX_DICT_MAX_DATA INT32_MAX
#endif
#define MAX_DATA ((size_t)(SX_DICT_MAX_DATA))

/* A dictionary hashes with the process's key (hashkey.c) from its first
 * string on, or with a later one once it reseeds. */
static const sx_hash_key *
dict_key(sx_dict *d)
{
    if (!d->keyed) {
        d->key = *sx_hash_process_key();
        d->keyed = 1;
    }
    return &d->key;
}

/* Probes per lookup while interning average under 2.5 in a table at most
 * half full with a hash the input cannot steer; more than FLOOD_RATIO per
 * lookup, beyond a margin, means it is steered (a key was guessed): the
 * dictionary then takes a new key and rehashes, so the work of any input
 * stays linear in its size. */
#define FLOOD_RATIO  8u
#define FLOOD_MARGIN 1024u

/* What lookup looks for, for sx_hash_find. */
typedef struct wanted {
    const sx_dict *d;
    const char *s;
    size_t len;
    uint32_t h;
} wanted;

static int
same_string(const void *ctx, uint32_t code)
{
    const wanted *w = ctx;
    const sx_dict *d = w->d;
    if (d->hashes[code] != w->h)
        return 0;
    size_t n = (size_t)(d->offsets[code + 1] - d->offsets[code]);
    return n == w->len && memcmp(d->data + d->offsets[code], w->s, n) == 0;
}

/* The code of s[0..len) with hash h, or -1 with *slot where it would go;
 * *probes grows by the slots looked at. */
static int32_t
lookup(const sx_dict *d, const char *s, size_t len, uint32_t h, uint32_t *slot, uint64_t *probes)
{
    wanted w = {d, s, len, h};
    return sx_hash_find_counted(d->slots, d->mask, h, same_string, &w, slot, probes);
}

/* Growing rehashes from the kept hashes, never from the strings. */
static uint32_t
kept_hash(const void *ctx, uint32_t code)
{
    return ((const sx_dict *)ctx)->hashes[code];
}

/* Take a new key and rebuild the table with it, rereading every string.
 * SX_ERR_NOMEM leaves the dictionary as it was. */
static sx_status
reseed(sx_dict *d)
{
    uint32_t *slots = calloc((size_t)d->mask + 1, sizeof *slots);
    if (!slots)
        return SX_ERR_NOMEM;
    sx_hash_key key;
    sx_hash_derive_key(&d->key, (uint64_t)d->reseeds + 1, &key);
    for (int32_t c = 0; c < d->count; c++) {
        size_t n;
        const char *str = sx_dict_str(d, c, &n);
        uint32_t h = sx_hash_string(&key, str, n);
        d->hashes[c] = h;
        slots[sx_hash_free_slot(slots, d->mask, h)] = (uint32_t)c + 1;
    }
    free(d->slots);
    d->slots = slots;
    d->key = key;
    d->reseeds++;
    d->probes = d->lookups = 0;
    return SX_OK;
}

static sx_status
grow_codes(sx_dict *d)
{
    int32_t cap = d->capacity;
    int32_t new_cap = cap < MIN_CODES ? MIN_CODES : (cap > MAX_CODES / 2 ? MAX_CODES : cap * 2);
    /* offsets holds capacity + 1 entries; it may already exist with one
     * entry for an empty dictionary. */
    int32_t *offsets = realloc(d->offsets, ((size_t)new_cap + 1) * sizeof *offsets);
    if (!offsets)
        return SX_ERR_NOMEM;
    if (!d->offsets)
        offsets[0] = 0;
    d->offsets = offsets;
    uint32_t *hashes = realloc(d->hashes, (size_t)new_cap * sizeof *hashes);
    if (!hashes)
        return SX_ERR_NOMEM; /* offsets grew, which is harmless */
    d->hashes = hashes;
    d->capacity = new_cap;
    return SX_OK;
}

static sx_status
grow_data(sx_dict *d, size_t need)
{
    size_t cap = sx_grown_capacity(d->data_capacity, need, MIN_DATA);
    if (cap > MAX_DATA) /* need never is */
        cap = MAX_DATA;
    char *data = realloc(d->data, cap);
    if (!data)
        return SX_ERR_NOMEM;
    d->data = data;
    d->data_capacity = cap;
    return SX_OK;
}

sx_status
sx_dict_intern(sx_dict *d, const char *s, size_t len, int32_t *code)
{
    uint32_t h = sx_hash_string(dict_key(d), s, len);
    uint32_t slot = 0;
    if (d->slots) {
        uint64_t probes = 0;
        int32_t found = lookup(d, s, len, h, &slot, &probes);
        d->probes += probes;
        d->total_probes += probes;
        d->lookups++;
        if (d->probes > FLOOD_RATIO * d->lookups + FLOOD_MARGIN && reseed(d) == SX_OK) {
            /* (without memory to reseed, it goes on with the old key) */
            h = sx_hash_string(&d->key, s, len);
            found = lookup(d, s, len, h, &slot, &probes);
        }
        if (found >= 0) {
            *code = found;
            return SX_OK;
        }
    }

    /* Make room for everything first, so a failure changes nothing. */
    if (d->count >= MAX_CODES)
        return SX_ERR_LIMIT;
    size_t used = d->count ? (size_t)d->offsets[d->count] : 0;
    if (len > MAX_DATA - used)
        return SX_ERR_LIMIT;
    sx_status st;
    /* data exists even when every string is empty: d->data + offset must
     * never be arithmetic on a null pointer */
    if ((!d->data || used + len > d->data_capacity) && (st = grow_data(d, used + len)) != SX_OK)
        return st;
    if (d->count >= d->capacity && (st = grow_codes(d)) != SX_OK)
        return st;
    if (sx_hash_full(d->slots, d->mask, (size_t)d->count)) {
        if ((st = sx_hash_grow(&d->slots, &d->mask, kept_hash, d)) != SX_OK)
            return st;
        slot = sx_hash_free_slot(d->slots, d->mask, h);
    }

    int32_t c = d->count;
    if (len)
        memcpy(d->data + used, s, len);
    d->offsets[c + 1] = (int32_t)(used + len);
    d->hashes[c] = h;
    d->slots[slot] = (uint32_t)c + 1;
    d->count = c + 1;
    *code = c;
    return SX_OK;
}

int32_t
sx_dict_find(const sx_dict *d, const char *s, size_t len)
{
    if (!d->slots)
        return -1;
    uint32_t slot;
    uint64_t probes = 0;
    return lookup(d, s, len, sx_hash_string(&d->key, s, len), &slot, &probes);
}

void
sx_dict_free(sx_dict *d)
{
    free(d->offsets);
    free(d->data);
    free(d->slots);
    free(d->hashes);
    memset(d, 0, sizeof *d);
}
