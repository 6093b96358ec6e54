/*
 * partialblob.c -- a partial aggregate as bytes and back: how partials
 * travel (pickle, Dask).  A few bytes per group, every number a varint:
 *
 *   "SXPA" version(1) func(1) nkeys(1) by(nkeys) flags(1) rows units notes
 *          groups fnv1a32(4)
 *   flags:  1 when the grouping was a tuple
 *   units:  n, then per unit its length and UTF-8 bytes
 *   notes:  n, then per filter value asked for (in their order): filter,
 *           length and UTF-8 bytes of the value, found(1), and when not
 *           found: seq (zigzag), length and UTF-8 bytes of the message
 *   group:  key parts (a number: zigzag; a string: length + 1, 0 for the
 *           empty field, then its bytes), count, unit ids (n, the first,
 *           then gaps - 1), then per func:
 *             sum/mean  ihi, ilo (zigzag), has_float(1), and with floats
 *                       the accumulator: negative(1), then its magnitude's
 *                       nonzero 32-bit limbs: first, n, limbs
 *             min/max   (with rows) value (8 bytes, little-endian),
 *                       is_int(1), seq (zigzag), row
 *             count     nothing more
 *
 * Version 1 (still read) had one key at most, and no flags and no notes.
 *
 * Decoding trusts nothing: every length is checked against what is left,
 * every value against what a partial can hold, and the checksum first, so
 * random bytes give SX_ERR_VALUE with a message, never a crash.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pstate.h"
#include "utf8.h"

#define MAGIC       "SXPA"
#define MAGIC_LEN   4
#define VERSION     2
#define CHECK_BYTES 4

/* ------------------------------------------------------------------ writing */

typedef struct wbuf {
    unsigned char *p;
    size_t len, cap;
    int failed;
} wbuf;

static void
put_bytes(wbuf *w, const void *s, size_t n)
{
    if (w->failed)
        return;
    if (w->len + n > w->cap) {
        size_t cap = sx_grown_capacity(w->cap, w->len + n, 256);
        unsigned char *grown = realloc(w->p, cap);
        if (!grown) {
            w->failed = 1;
            return;
        }
        w->p = grown;
        w->cap = cap;
    }
    memcpy(w->p + w->len, s, n);
    w->len += n;
}

static void
put_byte(wbuf *w, unsigned v)
{
    unsigned char b = (unsigned char)v;
    put_bytes(w, &b, 1);
}

static void
put_varint(wbuf *w, uint64_t v)
{
    unsigned char b[10];
    size_t n = 0;
    do {
        b[n] = (unsigned char)(v & 0x7F);
        v >>= 7;
        b[n++] |= v ? 0x80 : 0;
    } while (v);
    put_bytes(w, b, n);
}

static void
put_zigzag(wbuf *w, int64_t v)
{
    put_varint(w, v < 0 ? ~((uint64_t)v << 1) : (uint64_t)v << 1);
}

static uint32_t
fnv1a(const unsigned char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

/* The accumulator as sign and magnitude: a negative sum in two's
 * complement would spell out every limb above it. */
static void
put_superacc(wbuf *w, const superacc *sa)
{
    superacc s = *sa;
    sxs_carry(&s); /* limbs in [0, 2^32), the sign in the top one */
    int neg = s.limb[SA_LIMBS - 1] < 0;
    if (neg) {
        for (int k = 0; k < SA_LIMBS; k++)
            s.limb[k] = -s.limb[k];
        sxs_carry(&s);
    }
    int first = 0, last = SA_LIMBS - 1;
    while (first < SA_LIMBS && s.limb[first] == 0)
        first++;
    while (last >= first && s.limb[last] == 0)
        last--;
    put_byte(w, (unsigned)neg);
    put_varint(w, (uint64_t)(first < SA_LIMBS ? first : 0));
    put_varint(w, (uint64_t)(last >= first ? last - first + 1 : 0));
    for (int k = first; k <= last; k++)
        put_varint(w, (uint64_t)s.limb[k]);
}

sx_status
sx_partial_encode(const sx_partial *p, unsigned char **buf, size_t *len)
{
    wbuf w = {NULL, 0, 0, 0};
    *buf = NULL;
    *len = 0;
    put_bytes(&w, MAGIC, MAGIC_LEN);
    put_byte(&w, VERSION);
    put_byte(&w, (unsigned)p->func);
    put_byte(&w, (unsigned)p->nkeys);
    for (int k = 0; k < p->nkeys; k++)
        put_byte(&w, (unsigned)p->by[k]);
    put_byte(&w, (unsigned)p->tuple);
    put_varint(&w, (uint64_t)p->rows);
    put_varint(&w, (uint64_t)p->units.count);
    for (int32_t u = 0; u < p->units.count; u++) {
        size_t n;
        const char *s = sx_dict_str(&p->units, u, &n);
        put_varint(&w, n);
        put_bytes(&w, s, n);
    }
    put_varint(&w, (uint64_t)p->nnotes);
    for (int32_t i = 0; i < p->nnotes; i++) {
        const pnote *n = &p->notes[i];
        put_varint(&w, (uint64_t)n->filter);
        put_varint(&w, n->value_len);
        put_bytes(&w, n->value, n->value_len);
        put_byte(&w, (unsigned)n->found);
        if (!n->found) {
            put_zigzag(&w, n->seq);
            put_varint(&w, n->message_len);
            put_bytes(&w, n->message, n->message_len);
        }
    }
    put_varint(&w, (uint64_t)p->ngroups);
    for (int32_t i = 0; i < p->ngroups; i++) {
        const pgroup *g = &p->groups[i];
        for (int k = 0; k < p->nkeys; k++) {
            if (sx_by_column(p->by[k]) < 0) {
                put_zigzag(&w, g->num[k]);
            } else {
                put_varint(&w, (uint64_t)(g->len[k] + 1));
                if (g->len[k] > 0)
                    put_bytes(&w, p->arena + g->num[k], (size_t)g->len[k]);
            }
        }
        put_varint(&w, (uint64_t)g->count);
        put_varint(&w, (uint64_t)g->nunits);
        for (int32_t u = 0; u < g->nunits; u++)
            put_varint(&w, u == 0 ? g->units[0] : g->units[u] - g->units[u - 1] - 1);
        switch (p->func) {
        case SX_SUM:
        case SX_MEAN:
            put_zigzag(&w, g->ihi);
            put_zigzag(&w, g->ilo);
            put_byte(&w, g->has_float);
            if (g->has_float)
                put_superacc(&w, g->sa);
            break;
        case SX_MIN:
        case SX_MAX:
            if (g->count > 0) {
                uint64_t bits;
                unsigned char le[8];
                memcpy(&bits, &g->ext, sizeof bits);
                for (int b = 0; b < 8; b++)
                    le[b] = (unsigned char)(bits >> (8 * b));
                put_bytes(&w, le, sizeof le);
                put_byte(&w, g->ext_int);
                put_zigzag(&w, g->ext_seq);
                put_varint(&w, (uint64_t)g->ext_row);
            }
            break;
        default:
            break;
        }
    }
    uint32_t h = w.failed ? 0 : fnv1a(w.p, w.len);
    unsigned char check[CHECK_BYTES] = {(unsigned char)h, (unsigned char)(h >> 8),
                                        (unsigned char)(h >> 16), (unsigned char)(h >> 24)};
    put_bytes(&w, check, sizeof check);
    if (w.failed) {
        free(w.p);
        return SX_ERR_NOMEM;
    }
    *buf = w.p;
    *len = w.len;
    return SX_OK;
}

/* ------------------------------------------------------------------ reading */

typedef struct rbuf {
    const unsigned char *p, *end;
    sx_error *err;
} rbuf;

/* The blob is damaged: what was wrong, for the message. */
static sx_status
corrupt(rbuf *r, const char *what)
{
    return sx_error_set(r->err, SX_ERR_VALUE, "corrupted shanxi partial: %s", what);
}

static int
get_varint(rbuf *r, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end)
            return 0;
        unsigned b = *r->p++;
        if (shift == 63 && b > 1)
            return 0; /* past 64 bits */
        x |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 1;
        }
    }
    return 0;
}

static int
get_zigzag(rbuf *r, int64_t *v)
{
    uint64_t u;
    if (!get_varint(r, &u))
        return 0;
    *v = (u & 1) ? (int64_t) ~(u >> 1) : (int64_t)(u >> 1);
    return 1;
}

/* A count of at most max (and of no more items than bytes left). */
static int
get_count(rbuf *r, uint64_t max, uint64_t *v)
{
    return get_varint(r, v) && *v <= max && *v <= (uint64_t)(r->end - r->p);
}

static int
get_byte(rbuf *r, unsigned *v)
{
    if (r->p >= r->end)
        return 0;
    *v = *r->p++;
    return 1;
}

static int
valid_utf8(const unsigned char *s, size_t n)
{
    const unsigned char *end = s + n;
    while (s < end) {
        if (*s < 0x80) {
            s++;
            continue;
        }
        size_t k = sxp_utf8_sequence(s, end);
        if (k == 0)
            return 0;
        s += k;
    }
    return 1;
}

static sx_status
get_superacc(rbuf *r, superacc *sa)
{
    uint64_t first, n;
    unsigned neg;
    memset(sa, 0, sizeof *sa);
    if (!get_byte(r, &neg) || neg > 1 || !get_varint(r, &first) || !get_varint(r, &n) ||
        first > SA_LIMBS || n > SA_LIMBS - first)
        return corrupt(r, "a sum's size");
    for (uint64_t k = first; k < first + n; k++) {
        uint64_t limb;
        /* carried limbs are 32-bit digits of the magnitude */
        if (!get_varint(r, &limb) || limb > SA_M32)
            return corrupt(r, "a sum's digit");
        sa->limb[k] = neg ? -(int64_t)limb : (int64_t)limb;
    }
    return SX_OK;
}

/* One group's fields after its key. */
static sx_status
get_group(rbuf *r, sx_partial *p, pgroup *g, int64_t *counted)
{
    uint64_t count, nunits;
    if (!get_varint(r, &count) || count > (uint64_t)INT64_MAX - (uint64_t)*counted)
        return corrupt(r, "a count");
    g->count = (int64_t)count;
    *counted += g->count;
    if (!get_count(r, (uint64_t)p->units.count, &nunits) || (count > 0) != (nunits > 0))
        return corrupt(r, "a group's units");
    uint64_t id = 0;
    for (uint64_t u = 0; u < nunits; u++) {
        uint64_t gap;
        if (!get_varint(r, &gap) || gap >= (uint64_t)p->units.count ||
            (id = (u == 0 ? gap : id + gap + 1)) >= (uint64_t)p->units.count)
            return corrupt(r, "a unit id");
        if (!sxpa_add_unit(g, (uint32_t)id))
            return sx_error_set(r->err, SX_ERR_NOMEM, "out of memory");
    }
    unsigned flag;
    switch (p->func) {
    case SX_SUM:
    case SX_MEAN:
        if (!get_zigzag(r, &g->ihi) || !get_zigzag(r, &g->ilo) || g->ilo >= TWO62 ||
            g->ilo <= -TWO62 || !get_byte(r, &flag) || flag > 1 || (flag && count == 0))
            return corrupt(r, "a sum");
        g->has_float = (uint8_t)flag;
        if (flag) {
            if (!(g->sa = malloc(sizeof *g->sa)))
                return sx_error_set(r->err, SX_ERR_NOMEM, "out of memory");
            return get_superacc(r, g->sa);
        }
        return SX_OK;
    case SX_MIN:
    case SX_MAX:
        if (count == 0)
            return SX_OK;
        if (r->end - r->p < 8)
            return corrupt(r, "an extreme");
        uint64_t bits = 0, row;
        for (int b = 0; b < 8; b++)
            bits |= (uint64_t)r->p[b] << (8 * b);
        r->p += 8;
        memcpy(&g->ext, &bits, sizeof bits);
        if (!isfinite(g->ext) || !get_byte(r, &flag) || flag > 1 ||
            (flag && (g->ext != floor(g->ext) || fabs(g->ext) > TWO53)) ||
            !get_zigzag(r, &g->ext_seq) || !get_varint(r, &row) || row > (uint64_t)INT64_MAX)
            return corrupt(r, "an extreme");
        g->ext_int = (uint8_t)flag;
        g->ext_row = (int64_t)row;
        return SX_OK;
    default:
        return SX_OK;
    }
}

/* A length-prefixed UTF-8 text (pointing into the blob). */
static int
get_text(rbuf *r, const char **s, size_t *n)
{
    uint64_t len;
    if (!get_count(r, INT32_MAX, &len) || !valid_utf8(r->p, (size_t)len))
        return 0;
    *s = (const char *)r->p;
    *n = (size_t)len;
    r->p += len;
    return 1;
}

/* The filter values asked for: in order, each once. */
static sx_status
get_notes(rbuf *r, sx_partial *p)
{
    uint64_t n;
    if (!get_count(r, INT32_MAX, &n))
        return corrupt(r, "its filters");
    for (uint64_t i = 0; i < n; i++) {
        uint64_t filter;
        unsigned found;
        int64_t seq = 0;
        const char *value, *message = NULL;
        size_t value_len, message_len = 0;
        if (!get_varint(r, &filter) || filter > INT32_MAX || !get_text(r, &value, &value_len) ||
            !get_byte(r, &found) || found > 1 ||
            (!found && (!get_zigzag(r, &seq) || !get_text(r, &message, &message_len))))
            return corrupt(r, "a filter");
        int32_t before = p->nnotes;
        if (sx_partial_note_filter(p, (int)filter, value, value_len, (int)found, seq, message,
                                   message_len) != SX_OK)
            return sx_error_set(r->err, SX_ERR_NOMEM, "out of memory");
        /* appended: after every earlier one */
        const pnote *last = &p->notes[p->nnotes - 1];
        if (p->nnotes != before + 1 || last->filter != (int)filter ||
            last->value_len != value_len ||
            (value_len > 0 && memcmp(last->value, value, value_len) != 0))
            return corrupt(r, "filters out of order");
    }
    return SX_OK;
}

static sx_status
decode(rbuf *r, sx_partial **out)
{
    unsigned version, func, nkeys, tuple = 0;
    sx_by by[SX_PARTIAL_MAX_KEYS];
    if (!get_byte(r, &version) || !get_byte(r, &func) || !get_byte(r, &nkeys))
        return corrupt(r, "its header");
    if (version < 1 || version > VERSION)
        return sx_error_set(r->err, SX_ERR_VALUE,
                            "a shanxi partial of format version %u; this shanxi reads versions 1 "
                            "to %d",
                            version, VERSION);
    if (func >= SX_NFUNCS || nkeys > (version == 1 ? 1 : SX_PARTIAL_MAX_KEYS))
        return corrupt(r, "its function or grouping");
    for (unsigned k = 0; k < nkeys; k++) {
        unsigned b;
        if (!get_byte(r, &b) || b == SX_BY_NONE || b >= SX_NBYS)
            return corrupt(r, "its function or grouping");
        by[k] = (sx_by)b;
        for (unsigned j = 0; j < k; j++)
            if (by[j] == by[k])
                return corrupt(r, "its function or grouping");
    }
    /* several keys are always keyed by tuples: a blob that says otherwise
     * would give a dict keyed by the first key alone */
    if (version > 1 && (!get_byte(r, &tuple) || tuple > 1 || (nkeys > 1 && !tuple)))
        return corrupt(r, "its header");
    sx_partial *p = sxpa_alloc((sx_func)func, by, (int)nkeys, (int)tuple);
    if (!p)
        return sx_error_set(r->err, SX_ERR_NOMEM, "out of memory");
    uint64_t rows, nunits, ngroups;
    int64_t counted = 0;
    sx_status st;
    if (!get_varint(r, &rows) || rows > (uint64_t)INT64_MAX || !get_count(r, INT32_MAX, &nunits)) {
        st = corrupt(r, "its counts");
        goto fail;
    }
    p->rows = (int64_t)rows;
    for (uint64_t u = 0; u < nunits; u++) {
        uint64_t n;
        int32_t id;
        if (!get_count(r, INT32_MAX, &n) || !valid_utf8(r->p, (size_t)n)) {
            st = corrupt(r, "a unit");
            goto fail;
        }
        if ((st = sx_dict_intern(&p->units, (const char *)r->p, (size_t)n, &id)) != SX_OK) {
            st = sx_error_set(r->err, st, "out of memory");
            goto fail;
        }
        if ((uint64_t)id != u) {
            st = corrupt(r, "a unit named twice");
            goto fail;
        }
        r->p += n;
    }
    if (version > 1 && (st = get_notes(r, p)) != SX_OK)
        goto fail;
    if (!get_count(r, INT32_MAX - 1, &ngroups) || (nkeys == 0 && ngroups != 1)) {
        st = corrupt(r, "its groups");
        goto fail;
    }
    for (uint64_t i = 0; i < ngroups; i++) {
        sxpa_probe q;
        memset(&q, 0, sizeof q);
        q.p = p;
        for (unsigned k = 0; k < nkeys; k++) {
            uint64_t n;
            if (sx_by_column(p->by[k]) < 0) {
                if (!get_zigzag(r, &q.num[k])) {
                    st = corrupt(r, "a key");
                    goto fail;
                }
                continue;
            }
            if (!get_count(r, (uint64_t)INT32_MAX + 1, &n) || n == 1 ||
                !valid_utf8(r->p, n ? (size_t)n - 1 : 0)) {
                st = corrupt(r, "a key");
                goto fail;
            }
            q.len[k] = (int64_t)n - 1;
            q.str[k] = (const char *)r->p;
            if (n > 0)
                r->p += n - 1;
        }
        int32_t before = p->ngroups, g = sxpa_find_group(p, &q);
        if (g < 0) {
            st = sx_error_set(r->err, SX_ERR_NOMEM, "out of memory");
            goto fail;
        }
        if (g != before) {
            st = corrupt(r, "a group given twice");
            goto fail;
        }
        if ((st = get_group(r, p, &p->groups[g], &counted)) != SX_OK)
            goto fail;
        p->groups[g].last_unit = -1;
    }
    if (counted != p->rows) {
        st = corrupt(r, "its counts do not add up");
        goto fail;
    }
    if (r->p != r->end) {
        st = corrupt(r, "bytes after its groups");
        goto fail;
    }
    *out = p;
    return SX_OK;
fail:
    sx_partial_free(p);
    return st;
}

sx_status
sx_partial_decode(const void *buf, size_t len, sx_partial **out, sx_error *err)
{
    const unsigned char *b = buf;
    *out = NULL;
    if (len < MAGIC_LEN || memcmp(b, MAGIC, MAGIC_LEN) != 0)
        return sx_error_set(err, SX_ERR_VALUE, "not a shanxi partial (no \"SXPA\" mark)");
    if (len < MAGIC_LEN + 4 + CHECK_BYTES)
        return sx_error_set(err, SX_ERR_VALUE, "a truncated shanxi partial (%lu bytes)",
                            (unsigned long)len);
    size_t body = len - CHECK_BYTES;
    uint32_t h = (uint32_t)b[body] | (uint32_t)b[body + 1] << 8 | (uint32_t)b[body + 2] << 16 |
                 (uint32_t)b[body + 3] << 24;
    if (h != fnv1a(b, body))
        return sx_error_set(
            err, SX_ERR_VALUE,
            "a truncated or corrupted shanxi partial (its checksum does not match)");
    rbuf r = {b + MAGIC_LEN, b + body, err};
    return decode(&r, out);
}
