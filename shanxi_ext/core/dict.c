/*
 * dict.c -- string interning for the dictionary-encoded columns.
 *
 * Strings are stored back to back in one buffer with Arrow-style int32
 * offsets, so a dictionary can be exported as an Arrow utf8 array without a
 * copy.  Lookup is an open-addressing hash table with linear probing whose
 * slots hold code + 1 (0 = empty); the hash of every code is kept so that
 * growing the table never rereads the strings.
 */
#include "shanxi/core.h"

#include <stdlib.h>
#include <string.h>

#define MIN_SLOTS 64u
#define MIN_CODES 16
#define MIN_DATA 256u
/* Codes must fit int32 with room for offsets[count] and for code + 1 in a
 * uint32 slot. */
#define MAX_CODES (INT32_MAX - 1)
#define MAX_DATA ((size_t)INT32_MAX)

static uint64_t load_word(const unsigned char *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof w);   /* unaligned-safe; compiles to one load */
    return w;
}

/* A multiply-xorshift hash over 8-byte words: a few cycles per word, and
 * good enough spread for linear probing on short keys.  The byte order of the
 * load does not matter since the hash never leaves the process. */
static uint32_t hash_bytes(const char *s, size_t len)
{
    const uint64_t k = 0x9E3779B97F4A7C15ull;
    const unsigned char *p = (const unsigned char *)s;
    uint64_t h = 0x243F6A8885A308D3ull ^ ((uint64_t)len * k);
    while (len >= 8) {
        h = (h ^ load_word(p)) * k;
        h ^= h >> 29;
        p += 8;
        len -= 8;
    }
    if (len > 0) {
        uint64_t w = 0;
        memcpy(&w, p, len);
        h = (h ^ w) * k;
        h ^= h >> 29;
    }
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    return (uint32_t)h;
}

static int32_t lookup(const sx_dict *d, const char *s, size_t len, uint32_t h, uint32_t *slot)
{
    uint32_t i = h & d->mask;
    for (;;) {
        uint32_t entry = d->slots[i];
        if (entry == 0) {
            *slot = i;
            return -1;
        }
        int32_t code = (int32_t)(entry - 1);
        if (d->hashes[code] == h) {
            size_t n = (size_t)(d->offsets[code + 1] - d->offsets[code]);
            if (n == len && memcmp(d->data + d->offsets[code], s, len) == 0)
                return code;
        }
        i = (i + 1) & d->mask;
    }
}

/* Doubles the slot table (or makes the first one), rehashing from the kept
 * hashes.  On failure the old table is untouched. */
static sx_status grow_slots(sx_dict *d)
{
    size_t size = d->slots ? (size_t)d->mask + 1 : 0;
    size_t new_size = size ? size * 2 : MIN_SLOTS;
    if ((uint64_t)new_size - 1 > UINT32_MAX)
        return SX_ERR_LIMIT;
    uint32_t *slots = calloc(new_size, sizeof *slots);
    if (!slots)
        return SX_ERR_NOMEM;
    uint32_t mask = (uint32_t)(new_size - 1);
    for (int32_t code = 0; code < d->count; code++) {
        uint32_t i = d->hashes[code] & mask;
        while (slots[i] != 0)
            i = (i + 1) & mask;
        slots[i] = (uint32_t)code + 1;
    }
    free(d->slots);
    d->slots = slots;
    d->mask = mask;
    return SX_OK;
}

static sx_status grow_codes(sx_dict *d)
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
        return SX_ERR_NOMEM;   /* offsets grew, which is harmless */
    d->hashes = hashes;
    d->capacity = new_cap;
    return SX_OK;
}

static sx_status grow_data(sx_dict *d, size_t need)
{
    size_t cap = d->data_capacity < MIN_DATA ? MIN_DATA : d->data_capacity;
    while (cap < need)
        cap = cap > MAX_DATA / 2 ? MAX_DATA : cap * 2;
    char *data = realloc(d->data, cap);
    if (!data)
        return SX_ERR_NOMEM;
    d->data = data;
    d->data_capacity = cap;
    return SX_OK;
}

sx_status sx_dict_intern(sx_dict *d, const char *s, size_t len, int32_t *code)
{
    uint32_t h = hash_bytes(s, len);
    uint32_t slot = 0;
    if (d->slots) {
        int32_t found = lookup(d, s, len, h, &slot);
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
    /* Keep the load factor at most 1/2 so probes stay short. */
    if (!d->slots || ((size_t)d->count + 1) * 2 > (size_t)d->mask + 1) {
        if ((st = grow_slots(d)) != SX_OK)
            return st;
        slot = h & d->mask;
        while (d->slots[slot] != 0)
            slot = (slot + 1) & d->mask;
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

int32_t sx_dict_find(const sx_dict *d, const char *s, size_t len)
{
    if (!d->slots)
        return -1;
    uint32_t slot;
    return lookup(d, s, len, hash_bytes(s, len), &slot);
}

void sx_dict_free(sx_dict *d)
{
    free(d->offsets);
    free(d->data);
    free(d->slots);
    free(d->hashes);
    memset(d, 0, sizeof *d);
}
