/*
 * hashkey.c -- the keyed hashes of the core's hash tables (hashtab.h): the
 * secret key made once per process, the string hash of the dictionaries and
 * the integer hash of the project and group tables.
 *
 * Keys come from input, so a hash an attacker can compute lets a file of
 * colliding labels turn each insert into a scan of the table (quadratic
 * time).  Every hash here therefore takes a random key that never leaves the
 * process, and the key enters the mixing of every word, nonlinearly, so it
 * cannot be cancelled out by choosing the words: strings of up to 16 bytes
 * go through two rounds of a folded 64x64->128-bit multiply of key-masked
 * words (one or two multiplies, as cheap as the unkeyed hash was), longer
 * ones through SipHash-1-3 (the reduced-round SipHash CPython uses for str).
 * The dictionary also bounds its probes (dict.c) in case a key is ever
 * guessed.
 */
#include "hashtab.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(_WIN32)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <bcrypt.h>
#include <process.h>
#if defined(_MSC_VER)
#pragma comment(lib, "bcrypt")
#endif
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__)
#define SX_ARC4RANDOM 1
#include <unistd.h>
#else
#include <unistd.h>
#if defined(__has_include)
#if __has_include(<sys/random.h>)
#include <sys/random.h>
#define SX_GETRANDOM 1
#endif
#endif
#endif

sx_atomic_ptr sx_hash_process_key_;

static uint64_t
load_word(const unsigned char *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof w); /* unaligned-safe; compiles to one load */
    return w;
}

static uint64_t
rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

/* splitmix64's finaliser: spreads the weak entropy of the fallback. */
static uint64_t
splitmix(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* n bytes from the system's random source; 0 when it has none or fails. */
static int
system_random(void *buf, size_t n)
{
#if defined(_WIN32)
    return BCryptGenRandom(NULL, (PUCHAR)buf, (ULONG)n, BCRYPT_USE_SYSTEM_PREFERRED_RNG) == 0;
#elif defined(SX_ARC4RANDOM)
    arc4random_buf(buf, n);
    return 1;
#elif defined(SX_GETRANDOM)
    /* at most 256 bytes never come back short once the pool is ready */
    return getrandom(buf, n, GRND_NONBLOCK) == (ssize_t)n;
#else
    (void)buf;
    (void)n;
    return 0;
#endif
}

/* The process's key, from the system's random source, or where it has none
 * (an old kernel, a sandbox) from the time, the process id and where this
 * process's stack and code were placed. */
static void
make_key(sx_hash_key *k)
{
    if (system_random(k, sizeof *k))
        return;
    int on_stack = 0;
#if defined(_WIN32)
    uint64_t pid = (uint64_t)_getpid();
#else
    uint64_t pid = (uint64_t)getpid();
#endif
    uint64_t s = (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32) ^ (pid << 16) ^
                 (uint64_t)(uintptr_t)&on_stack ^ ((uint64_t)(uintptr_t)&make_key << 7);
    k->sip[0] = splitmix(&s);
    k->sip[1] = splitmix(&s);
    k->mix[0] = splitmix(&s);
    k->mix[1] = splitmix(&s);
}

const sx_hash_key *
sx_hash_make_process_key(void)
{
    /* Made once: threads that race each make one, the first to publish
     * wins and the others free theirs (as convert.c's C locale).  Without
     * memory for it, a fixed key, published all the same so that every
     * table of the process hashes alike. */
    static const sx_hash_key no_memory = {{0x736F6D6570736575ull, 0x646F72616E646F6Dull},
                                          {0x6C7967656E657261ull, 0x7465646279746573ull}};
    sx_hash_key *mine = malloc(sizeof *mine);
    if (mine)
        make_key(mine);
    void *key = sx_publish_ptr(&sx_hash_process_key_, mine ? (void *)mine : (void *)&no_memory);
    if (mine && key != (void *)mine)
        free(mine);
    return key;
}

/* -------------------------------------------------------------- SipHash-1-3 */

/* One SipHash round over the state v[0..3]. */
static inline void
sipround(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = rotl(v[1], 13);
    v[1] ^= v[0];
    v[0] = rotl(v[0], 32);
    v[2] += v[3];
    v[3] = rotl(v[3], 16);
    v[3] ^= v[2];
    v[0] += v[3];
    v[3] = rotl(v[3], 21);
    v[3] ^= v[0];
    v[2] += v[1];
    v[1] = rotl(v[1], 17);
    v[1] ^= v[2];
    v[2] = rotl(v[2], 32);
}

/* SipHash with one compression and three finalisation rounds, words read
 * in the machine's byte order (the hash never leaves the process). */
static uint64_t
siphash13(const uint64_t key[2], const unsigned char *p, size_t len)
{
    uint64_t v[4] = {key[0] ^ 0x736F6D6570736575ull, key[1] ^ 0x646F72616E646F6Dull,
                     key[0] ^ 0x6C7967656E657261ull, key[1] ^ 0x7465646279746573ull};
    uint64_t last = (uint64_t)len << 56;
    for (; len >= 8; p += 8, len -= 8) {
        uint64_t m = load_word(p);
        v[3] ^= m;
        sipround(v);
        v[0] ^= m;
    }
    uint64_t tail = 0;
    memcpy(&tail, p, len);
    last |= tail;
    v[3] ^= last;
    sipround(v);
    v[0] ^= last;
    v[2] ^= 0xFF;
    sipround(v);
    sipround(v);
    sipround(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* ------------------------------------------------------------ short strings */

uint32_t
sx_hash_string(const sx_hash_key *k, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    if (len > 16)
        return (uint32_t)sx_hash_fold(siphash13(k->sip, p, len));
    /* Two words hold all of it: 9-16 bytes as the first and the last eight
     * (overlapping), fewer zero-padded; the length tells the cases apart. */
    uint64_t a = 0, b = 0;
    if (len > 8) {
        a = load_word(p);
        b = load_word(p + len - 8);
    } else {
        memcpy(&a, p, len);
    }
    uint64_t h = sx_hash_mum(a ^ k->mix[0], b ^ k->mix[1]);
    return (uint32_t)sx_hash_fold(sx_hash_mum(h ^ k->sip[0], k->sip[1] ^ (uint64_t)len));
}

/* A dictionary's key after reseeding: unpredictable as the process's key
 * is, different from every earlier one (n counts the reseeds). */
void
sx_hash_derive_key(const sx_hash_key *from, uint64_t n, sx_hash_key *to)
{
    const sx_hash_key *pk = sx_hash_process_key();
    unsigned char msg[sizeof *from + sizeof n];
    memcpy(msg, from, sizeof *from);
    memcpy(msg + sizeof *from, &n, sizeof n);
    uint64_t w[4];
    for (int i = 0; i < 4; i++) {
        msg[0] ^= (unsigned char)(i + 1);
        w[i] = siphash13(pk->sip, msg, sizeof msg);
    }
    to->sip[0] = w[0];
    to->sip[1] = w[1];
    to->mix[0] = w[2];
    to->mix[1] = w[3];
}
