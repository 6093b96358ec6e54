/*
 * hashtab.h -- private to the core: its one open-addressing hash table, for
 * a dictionary's strings (dict.c), the parser's projects (projects.c) and
 * an aggregation's groups (group.c).
 *
 * The table holds no keys: each slot holds the index + 1 of an entry in an
 * array the caller owns (0: empty), so the caller says how to hash an entry
 * and whether one is the one looked for.  Power-of-two sizes, linear
 * probing, at most half full so probes stay short.  Everything here is
 * static inline: with the callbacks known at each call, they inline.
 *
 * Its keys come from input, so its hashes are keyed with a secret made once
 * per process (hashkey.c): nobody outside the process can compute which keys
 * collide.
 */
#ifndef SHANXI_CORE_HASHTAB_H
#define SHANXI_CORE_HASHTAB_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "platform.h" /* sx_atomic_ptr */
#include "shanxi/core.h"

#if defined(_MSC_VER) && defined(_M_X64)
#include <intrin.h>
#endif

#define SX_HASH_MIN_SLOTS 64u

/* hashkey.c: the process's key, published once (read it through
 * sx_hash_process_key); making it; the hash of a string under a key; a
 * dictionary's next key after it reseeds. */
extern sx_atomic_ptr sx_hash_process_key_;
const sx_hash_key *sx_hash_make_process_key(void);
uint32_t sx_hash_string(const sx_hash_key *k, const char *s, size_t len);
void sx_hash_derive_key(const sx_hash_key *from, uint64_t n, sx_hash_key *to);

static inline const sx_hash_key *
sx_hash_process_key(void)
{
    const sx_hash_key *k = sx_atomic_load_ptr(&sx_hash_process_key_);
    return k ? k : sx_hash_make_process_key();
}

/* The 128-bit product of a and b, its halves XORed: every bit of the
 * result depends on every bit of both, nonlinearly. */
static inline uint64_t
sx_hash_mum(uint64_t a, uint64_t b)
{
#if defined(__SIZEOF_INT128__)
    unsigned __int128 p = (unsigned __int128)a * b;
    return (uint64_t)p ^ (uint64_t)(p >> 64);
#elif defined(_MSC_VER) && defined(_M_X64)
    uint64_t hi, lo = _umul128(a, b, &hi);
    return lo ^ hi;
#else
    uint64_t alo = (uint32_t)a, ahi = a >> 32, blo = (uint32_t)b, bhi = b >> 32;
    uint64_t ll = alo * blo, lh = alo * bhi, hl = ahi * blo, hh = ahi * bhi;
    uint64_t mid = (ll >> 32) + (uint32_t)lh + (uint32_t)hl;
    uint64_t lo = (mid << 32) | (uint32_t)ll;
    uint64_t hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
    return lo ^ hi;
#endif
}

/* 64 bits to the 32 a table keeps. */
static inline uint32_t
sx_hash_fold(uint64_t h)
{
    return (uint32_t)(h ^ (h >> 32));
}

/* The hash of an integer key (a project number) under the process's key:
 * two rounds of the keyed multiply, as for short strings. */
static inline uint32_t
sx_hash_int(int32_t key)
{
    const sx_hash_key *k = sx_hash_process_key();
    uint64_t h = sx_hash_mum((uint64_t)(uint32_t)key ^ k->mix[0], k->mix[1]);
    return sx_hash_fold(sx_hash_mum(h ^ k->sip[0], k->sip[1]));
}

/* The hash of a key of n integer parts (an aggregation's several keys, a
 * whole's project, metric, region and as_of) under the process's key: each
 * part enters a keyed multiply, so no part can be chosen to cancel another
 * and nobody without the key can compute which keys collide. */
static inline uint32_t
sx_hash_ints(const int32_t *parts, int n)
{
    const sx_hash_key *k = sx_hash_process_key();
    uint64_t h = k->sip[0];
    for (int i = 0; i < n; i++)
        h = sx_hash_mum(h ^ (uint32_t)parts[i] ^ k->mix[0], k->mix[1]);
    return sx_hash_fold(sx_hash_mum(h ^ k->sip[0], k->sip[1]));
}

/* Whether a table of mask + 1 slots (slots NULL: none yet) must grow before
 * it takes one more entry beside the count it holds. */
static inline int
sx_hash_full(const uint32_t *slots, uint32_t mask, size_t count)
{
    return slots == NULL || (count + 1) * 2 > (size_t)mask + 1;
}

/* The entry that same(ctx, index) accepts among the slots probed from h:
 * its index, with *slot where it is; or -1, with *slot the empty slot
 * where it would go.  *probes grows by the slots it looked at. */
static inline int32_t
sx_hash_find_counted(const uint32_t *slots, uint32_t mask, uint32_t h,
                     int (*same)(const void *ctx, uint32_t index), const void *ctx, uint32_t *slot,
                     uint64_t *probes)
{
    uint64_t n = 1;
    for (uint32_t i = h & mask;; i = (i + 1) & mask, n++) {
        uint32_t entry = slots[i];
        if (entry == 0 || same(ctx, entry - 1)) {
            *slot = i;
            *probes += n;
            return (int32_t)entry - 1;
        }
    }
}

static inline int32_t
sx_hash_find(const uint32_t *slots, uint32_t mask, uint32_t h,
             int (*same)(const void *ctx, uint32_t index), const void *ctx, uint32_t *slot)
{
    uint64_t unused = 0;
    return sx_hash_find_counted(slots, mask, h, same, ctx, slot, &unused);
}

/* The first empty slot probed from h (the table is never full). */
static inline uint32_t
sx_hash_free_slot(const uint32_t *slots, uint32_t mask, uint32_t h)
{
    uint32_t i = h & mask;
    while (slots[i] != 0)
        i = (i + 1) & mask;
    return i;
}

/* Double the table (or make the first, of SX_HASH_MIN_SLOTS), moving every
 * entry to where hash_of(ctx, index) puts it.  SX_OK; SX_ERR_NOMEM or
 * SX_ERR_LIMIT leave the old table as it was. */
static inline sx_status
sx_hash_grow(uint32_t **slots, uint32_t *mask, uint32_t (*hash_of)(const void *ctx, uint32_t index),
             const void *ctx)
{
    size_t size = *slots ? (size_t)*mask + 1 : 0;
    size_t new_size = size ? size * 2 : SX_HASH_MIN_SLOTS;
    if ((uint64_t)new_size - 1 > UINT32_MAX)
        return SX_ERR_LIMIT;
    uint32_t *grown = calloc(new_size, sizeof *grown);
    if (!grown)
        return SX_ERR_NOMEM;
    uint32_t new_mask = (uint32_t)(new_size - 1);
    for (size_t i = 0; i < size; i++) {
        uint32_t entry = (*slots)[i];
        if (entry != 0)
            grown[sx_hash_free_slot(grown, new_mask, hash_of(ctx, entry - 1))] = entry;
    }
    free(*slots);
    *slots = grown;
    *mask = new_mask;
    return SX_OK;
}

#endif
