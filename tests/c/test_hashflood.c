/* Hash flooding (issue 14.4): keys made to collide under one hash key, as
 * an attacker who knows the algorithm and that key would make them, by brute
 * force on the low bits of the hash, and what they cost a dictionary.
 *
 * The measure is the dictionary's probe counter (sx_dict.total_probes), not
 * time: under the key they were made for, N such keys cost a plain table
 * about N^2/4 probes; a dictionary with the process's own key spends a few
 * per insert, and one that was given the attacker's key notices and
 * reseeds. */
#include "check.h"
#include "shanxi/core.h"
#include "../../shanxi_ext/core/hashtab.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NKEYS    1500
#define LOW_BITS 11u /* the table holds NKEYS in 4096 slots: they fall in two */
#define LOW_MASK ((1u << LOW_BITS) - 1u)

/* The attacker's key S (any fixed value: what matters is that the keys
 * were made for it and the dictionary does not use it). */
static const sx_hash_key attacker = {{0x0123456789ABCDEFull, 0x0F1E2D3C4B5A6978ull},
                                     {0xDEADBEEFCAFEF00Dull, 0x1122334455667788ull}};

typedef struct keyset {
    size_t len;
    char (*keys)[32];
} keyset;

/* NKEYS distinct keys of len bytes (16: the short-string hash; 24:
 * SipHash) whose hashes under key share their low LOW_BITS bits with the
 * first key's: candidates "f0000000000000..." counted up in hex until
 * enough fit. */
static keyset
make_colliding(const sx_hash_key *key, size_t len)
{
    keyset ks = {len, calloc(NKEYS, sizeof *ks.keys)};
    if (!ks.keys)
        return ks;
    uint32_t target = 0;
    int have = 0;
    for (unsigned long long n = 0; have < NKEYS; n++) {
        char buf[32];
        snprintf(buf, sizeof buf, "f%0*llx", (int)len - 1, n);
        uint32_t h = sx_hash_string(key, buf, len);
        if (have == 0)
            target = h & LOW_MASK;
        if ((h & LOW_MASK) == target)
            memcpy(ks.keys[have++], buf, len);
    }
    return ks;
}

static int
never_same(const void *ctx, uint32_t index)
{
    (void)ctx;
    (void)index;
    return 0;
}

/* Probes to insert the keys into a plain table hashed with key (no
 * defence): the attack working as intended. */
static uint64_t
plain_table_probes(const keyset *ks, const sx_hash_key *key)
{
    uint32_t mask = 4095, *slots = calloc(mask + 1, sizeof *slots);
    uint64_t probes = 0;
    for (int i = 0; slots && i < NKEYS; i++) {
        uint32_t slot;
        sx_hash_find_counted(slots, mask, sx_hash_string(key, ks->keys[i], ks->len), never_same,
                             NULL, &slot, &probes);
        slots[slot] = (uint32_t)i + 1;
    }
    free(slots);
    return probes;
}

/* Intern the keys into d (keyed with *key, or the process's key when key
 * is NULL); 1 when every key got its own code and is found again. */
static int
intern_all(sx_dict *d, const keyset *ks, const sx_hash_key *key)
{
    memset(d, 0, sizeof *d);
    if (key) {
        d->key = *key;
        d->keyed = 1;
    }
    int ok = 1;
    for (int i = 0; i < NKEYS; i++) {
        int32_t code;
        ok = ok && sx_dict_intern(d, ks->keys[i], ks->len, &code) == SX_OK && code == i;
    }
    for (int i = 0; i < NKEYS; i++)
        ok = ok && sx_dict_find(d, ks->keys[i], ks->len) == i;
    return ok;
}

static void
flood(size_t len)
{
    keyset ks = make_colliding(&attacker, len);
    CHECK(ks.keys != NULL);
    if (!ks.keys)
        return;
    uint64_t n = NKEYS;

    /* They do collide under the attacker's key: quadratic in a plain table. */
    uint64_t plain = plain_table_probes(&ks, &attacker);
    CHECK(plain > n * n / 8);

    /* Under another key they are ordinary keys: a few probes each. */
    sx_hash_key other = attacker;
    other.sip[0] ^= 1;
    other.mix[0] ^= 1;
    CHECK(plain_table_probes(&ks, &other) < 4 * n);

    sx_dict d;
    CHECK(intern_all(&d, &ks, NULL)); /* the process's key */
    CHECK(d.total_probes < 4 * n && d.reseeds == 0);
    uint64_t own = d.total_probes;
    sx_dict_free(&d);

    CHECK(intern_all(&d, &ks, &other));
    CHECK(d.total_probes < 4 * n && d.reseeds == 0);
    sx_dict_free(&d);

    /* Given the attacker's key (as if it were guessed), the dictionary
     * reseeds once the probes pass their bound, and stays linear. */
    CHECK(intern_all(&d, &ks, &attacker));
    CHECK(d.reseeds >= 1);
    CHECK(d.total_probes < 8 * n + 2048);
    CHECK(memcmp(&d.key, &attacker, sizeof attacker) != 0);
    printf("%d keys of %zu bytes made for key S: %llu probes in a plain table under S, "
           "%llu in a dictionary with the process's key, %llu given S (%u reseed)\n",
           NKEYS, len, (unsigned long long)plain, (unsigned long long)own,
           (unsigned long long)d.total_probes, d.reseeds);
    sx_dict_free(&d);
    free(ks.keys);
}

/* The process's key is made once and is the same for every caller. */
static void
one_process_key(void)
{
    const sx_hash_key *a = sx_hash_process_key(), *b = sx_hash_process_key();
    CHECK(a == b);
    CHECK(a->sip[0] != 0 || a->sip[1] != 0 || a->mix[0] != 0 || a->mix[1] != 0);
    /* the same string hashes alike under one key, and the length counts */
    CHECK(sx_hash_string(a, "abc", 3) == sx_hash_string(b, "abc", 3));
    CHECK(sx_hash_string(a, "abc\0", 4) != sx_hash_string(a, "abc", 3));
}

/* The hash groupkeys.c used for several keys before it was keyed, as an
 * attacker would copy it from the source: a fixed multiply chain. */
static uint32_t
old_parts_hash(const int32_t *parts, int n)
{
    uint64_t h = 0;
    for (int k = 0; k < n; k++)
        h = (h ^ (uint32_t)parts[k]) * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> 32);
}

/* Probes to insert NKEYS keys (metric code 0, project) into a plain table
 * of 4096 slots under hash. */
static uint64_t
parts_table_probes(const int32_t *projects, uint32_t (*hash)(const int32_t *, int))
{
    uint32_t mask = 4095, *slots = calloc(mask + 1, sizeof *slots);
    uint64_t probes = 0;
    for (int i = 0; slots && i < NKEYS; i++) {
        int32_t parts[2] = {0, projects[i]};
        uint32_t slot;
        sx_hash_find_counted(slots, mask, hash(parts, 2), never_same, NULL, &slot, &probes);
        slots[slot] = (uint32_t)i + 1;
    }
    free(slots);
    return probes;
}

/* Project numbers made to collide under the old hash of an aggregation by
 * (metric, project) with one metric (code 0), by brute force on the low
 * bits: quadratic in a table hashed the old way, a few probes each with
 * the keyed hash that groupkeys.c (and shares.c) now use, and aggregated
 * into their groups all the same. */
static void
flood_group_keys(void)
{
    int32_t *projects = calloc(NKEYS, sizeof *projects);
    CHECK(projects != NULL);
    if (!projects)
        return;
    uint32_t target = 0;
    int have = 0;
    for (int32_t p = 1; have < NKEYS && p < INT32_MAX; p++) {
        int32_t parts[2] = {0, p};
        uint32_t h = old_parts_hash(parts, 2);
        if (have == 0)
            target = h & LOW_MASK;
        if ((h & LOW_MASK) == target)
            projects[have++] = p;
    }
    CHECK(have == NKEYS);
    uint64_t n = NKEYS;
    uint64_t old = parts_table_probes(projects, old_parts_hash);
    uint64_t keyed = parts_table_probes(projects, sx_hash_ints);
    CHECK(old > n * n / 8);
    CHECK(keyed < 4 * n);

    /* The aggregation itself: one group per project, each of one row. */
    size_t cap = 64 + NKEYS * 48;
    char *csv = malloc(cap);
    CHECK(csv != NULL);
    if (csv) {
        size_t len = (size_t)snprintf(csv, cap, "project,metric,value,unit,as_of\n");
        for (int i = 0; i < NKEYS; i++)
            len += (size_t)snprintf(csv + len, cap - len, "%d,m,%d,u,2022-01-01\n",
                                    (int)projects[i], i);
        sx_table *t = NULL;
        sx_error e;
        memset(&e, 0, sizeof e);
        CHECK(sx_table_parse(csv, len, &t, &e) == SX_OK);
        sx_by by[2] = {SX_BY_METRIC, SX_BY_PROJECT};
        sx_result r;
        CHECK(t && sx_aggregate_keys(t, NULL, SX_COUNT, by, 2, &r, &e) == SX_OK);
        if (t) {
            CHECK(r.ngroups == NKEYS);
            for (int64_t g = 0; g < r.ngroups; g++)
                CHECK(r.groups[g].count == 1 &&
                      (g == 0 || r.groups[g].keys[1] > r.groups[g - 1].keys[1]));
            sx_result_free(&r);
        }
        sx_table_decref(t);
        free(csv);
    }
    printf("%d project numbers made for the old (metric, project) hash: %llu probes under it, "
           "%llu under the keyed hash\n",
           NKEYS, (unsigned long long)old, (unsigned long long)keyed);
    free(projects);
}

int
main(void)
{
    one_process_key();
    flood(16); /* the short-string hash */
    flood(24); /* SipHash-1-3 */
    flood_group_keys();
    return CHECK_DONE();
}
