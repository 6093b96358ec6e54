/*
 * fuzz_query.c -- libFuzzer harness for what runs over a parsed table:
 * sx_select, sx_search, sx_aggregate and sx_edit_distance.
 *
 * Input layout:
 *   bytes 0..23   the query: aggregation function and grouping (including
 *                 invalid ones), the filter (project, a code per string
 *                 column, as_of bounds: each "any", null, a real value or an
 *                 impossible one), the number of search words, the edit
 *                 distance limit, and (bytes 21..23) whether to group by
 *                 several keys: how many, which, and now and then one twice
 *   then          the search words, each a spec byte (length in the low 5
 *                 bits; with bit 7 set the word is cut from a dictionary
 *                 string of the table with its case flipped, else the bytes
 *                 follow)
 *   the rest      the CSV document, parsed with sx_table_parse
 * (make_seeds.py writes the seeds in this layout.)
 *
 * Every result is checked against a naive recomputation here: the filter
 * row by row, the search by plain substring tests, the aggregation by
 * sorting the rows into groups with an exact big-integer sum rounded once,
 * the edit distance by the full dynamic-programming table.
 */
#include <stdlib.h>

#include "fuzz_common.h"

#define NPARAM    24
#define MAX_WORDS 6

/* ------------------------------------------------------------------ input */

typedef struct reader {
    const uint8_t *p;
    size_t left;
} reader;

static unsigned
next_byte(reader *r)
{
    if (r->left == 0)
        return 0;
    r->left--;
    return *r->p++;
}

typedef struct query {
    uint8_t b[NPARAM];
    char *words[MAX_WORDS];
    size_t lens[MAX_WORDS];
    size_t nwords;
} query;

/* ------------------------------------------------------------------ naive helpers */

static unsigned char
fold(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

static int
naive_contains(const char *h, size_t hn, const char *w, size_t wn)
{
    if (wn == 0)
        return 1;
    for (size_t pos = 0; pos + wn <= hn; pos++) {
        size_t i = 0;
        while (i < wn && fold((unsigned char)h[pos + i]) == fold((unsigned char)w[i]))
            i++;
        if (i == wn)
            return 1;
    }
    return 0;
}

static size_t
naive_edit_distance(const char *a, size_t an, const char *b, size_t bn)
{
    size_t *d = fz_malloc((an + 1) * (bn + 1) * sizeof *d), r;
#define D(i, j) d[(i) * (bn + 1) + (j)]
    for (size_t i = 0; i <= an; i++)
        D(i, 0) = i;
    for (size_t j = 0; j <= bn; j++)
        D(0, j) = j;
    for (size_t i = 1; i <= an; i++)
        for (size_t j = 1; j <= bn; j++) {
            size_t best =
                D(i - 1, j - 1) + (fold((unsigned char)a[i - 1]) != fold((unsigned char)b[j - 1]));
            if (D(i - 1, j) + 1 < best)
                best = D(i - 1, j) + 1;
            if (D(i, j - 1) + 1 < best)
                best = D(i, j - 1) + 1;
            D(i, j) = best;
        }
    r = D(an, bn);
#undef D
    free(d);
    return r;
}

static void
check_edit_distance(const char *a, size_t an, const char *b, size_t bn, size_t limit)
{
    size_t want = naive_edit_distance(a, an, b, bn);
    if (want > limit)
        want = limit + 1;
    FZ_CHECK(sx_edit_distance(a, an, b, bn, limit) == want);
    FZ_CHECK(sx_edit_distance(b, bn, a, an, limit) == want);
}

/* ------------------------------------------------------------------ exact sums */

/* A two's-complement integer of BIG_LIMBS * 32 bits counting units of
 * 2^-1074, the weight of the least significant bit of the smallest
 * subnormal; every finite double is an integer there, and 2^31 of the
 * largest still fit. */
#define BIG_LIMBS 72

typedef struct big {
    uint32_t limb[BIG_LIMBS];
} big;

static void
big_add_double(big *s, double v)
{
    uint64_t bits, m;
    unsigned ex, at, sh;
    uint32_t part[3];
    memcpy(&bits, &v, sizeof bits);
    ex = (unsigned)((bits >> 52) & 0x7FF);
    m = bits & ((UINT64_C(1) << 52) - 1);
    if (ex != 0)
        m |= UINT64_C(1) << 52;
    at = ex == 0 ? 0 : ex - 1; /* v = m * 2^(at - 1074) */
    sh = at % 32;
    {
        unsigned __int128 x = (unsigned __int128)m << sh;
        part[0] = (uint32_t)x;
        part[1] = (uint32_t)(x >> 32);
        part[2] = (uint32_t)(x >> 64);
    }
    if (!(bits >> 63)) {
        uint64_t carry = 0;
        for (unsigned k = at / 32; k < BIG_LIMBS; k++) {
            uint64_t add = (k - at / 32 < 3 ? part[k - at / 32] : 0) + carry;
            uint64_t sum = (uint64_t)s->limb[k] + add;
            s->limb[k] = (uint32_t)sum;
            carry = sum >> 32;
            if (carry == 0 && k - at / 32 >= 2)
                break;
        }
    } else {
        uint64_t borrow = 0;
        for (unsigned k = at / 32; k < BIG_LIMBS; k++) {
            uint64_t sub = (k - at / 32 < 3 ? part[k - at / 32] : 0) + borrow;
            borrow = (uint64_t)s->limb[k] < sub;
            s->limb[k] = (uint32_t)((uint64_t)s->limb[k] - sub);
            if (borrow == 0 && k - at / 32 >= 2)
                break;
        }
    }
}

static int
big_bit(const big *s, int i)
{
    return (int)((s->limb[i / 32] >> (i % 32)) & 1u);
}

/* The sum rounded to the nearest double, ties to even; 0 when that is
 * infinite (the sum does not fit a double). */
static int
big_round(const big *in, double *out)
{
    big s = *in;
    int neg = (int)(s.limb[BIG_LIMBS - 1] >> 31), top;
    uint64_t q = 0;
    double r;
    if (neg) {
        uint64_t carry = 1;
        for (int k = 0; k < BIG_LIMBS; k++) {
            uint64_t x = (uint64_t)(uint32_t)~s.limb[k] + carry;
            s.limb[k] = (uint32_t)x;
            carry = x >> 32;
        }
    }
    for (top = BIG_LIMBS * 32 - 1; top >= 0 && !big_bit(&s, top); top--)
        ;
    if (top < 0) {
        *out = 0.0;
        return 1;
    }
    if (top <= 52) {
        for (int i = top; i >= 0; i--)
            q = (q << 1) | (uint64_t)big_bit(&s, i);
        r = ldexp((double)q, -1074);
    } else {
        int round = big_bit(&s, top - 53), sticky = 0;
        for (int i = top; i >= top - 52; i--)
            q = (q << 1) | (uint64_t)big_bit(&s, i);
        for (int i = 0; i < top - 53 && !sticky; i++)
            sticky = big_bit(&s, i);
        if (round && (sticky || (q & 1)))
            q++;
        r = ldexp((double)q, top - 52 - 1074);
        if (isinf(r))
            return 0;
    }
    *out = neg ? -r : r;
    return 1;
}

/* ------------------------------------------------------------------ aggregation */

static const sx_table *g_table;   /* for the comparators */
static sx_by g_keys[SX_MAX_KEYS]; /* the grouping, part by part */
static int g_nkeys;

static int
by_column(sx_by by)
{
    switch (by) {
    case SX_BY_METRIC:
        return SX_COL_METRIC;
    case SX_BY_CATEGORY:
        return SX_COL_CATEGORY;
    case SX_BY_UNIT:
        return SX_COL_UNIT;
    case SX_BY_REGION:
        return SX_COL_REGION;
    default:
        return -1;
    }
}

static int64_t
row_key(const sx_table *t, sx_by by, int64_t r)
{
    int c = by_column(by);
    if (c >= 0)
        return t->codes[c] ? sx_code_at(t, c, r) : SX_NULL_CODE;
    switch (by) {
    case SX_BY_PROJECT:
        return t->project[r];
    case SX_BY_AS_OF:
        return t->as_of[r];
    case SX_BY_MONTH: {
        int32_t y;
        unsigned m, d;
        sx_civil_from_days(t->as_of[r], &y, &m, &d);
        return (int64_t)y * 12 + (m - 1);
    }
    default:
        return 0;
    }
}

/* The documented group order: numbers ascending; strings by their UTF-8
 * bytes, a prefix first, SX_NULL_CODE last. */
static int
key_cmp(sx_by by, int64_t a, int64_t b)
{
    int c = by_column(by);
    if (a == b)
        return 0;
    if (c < 0)
        return a < b ? -1 : 1;
    if (a == SX_NULL_CODE)
        return 1;
    if (b == SX_NULL_CODE)
        return -1;
    size_t la, lb;
    const char *sa = sx_dict_str(&g_table->dicts[c], (int32_t)a, &la);
    const char *sb = sx_dict_str(&g_table->dicts[c], (int32_t)b, &lb);
    int m = memcmp(sa, sb, la < lb ? la : lb);
    if (m != 0)
        return m;
    return la < lb ? -1 : 1;
}

static int
row_cmp(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    int c = 0;
    for (int k = 0; k < g_nkeys && c == 0; k++)
        c = key_cmp(g_keys[k], row_key(g_table, g_keys[k], a), row_key(g_table, g_keys[k], b));
    return c ? c : (a > b) - (a < b);
}

/* Whether rows a and b are in one group: every part equal. */
static int
same_key(const sx_table *t, int64_t a, int64_t b)
{
    for (int k = 0; k < g_nkeys; k++)
        if (row_key(t, g_keys[k], a) != row_key(t, g_keys[k], b))
            return 0;
    return 1;
}

/* The grouping bytes 21..23 ask for, after by (byte 1): 0 for one key
 * through sx_aggregate; else the number of keys, filled into keys (by
 * first when it is a real grouping, then others in an order the bytes
 * pick), one repeated when bit 7 of byte 21 is set. */
static int
pick_keys(const uint8_t *b, sx_by by, sx_by *keys)
{
    static const sx_by every[SX_MAX_KEYS] = {SX_BY_PROJECT, SX_BY_METRIC, SX_BY_CATEGORY,
                                             SX_BY_UNIT,    SX_BY_REGION, SX_BY_AS_OF,
                                             SX_BY_MONTH};
    sx_by order[SX_MAX_KEYS];
    unsigned seed = b[22] | (unsigned)b[23] << 8;
    int n = 0, want = 1 + (b[21] >> 2) % SX_MAX_KEYS;
    if (b[21] % 4 == 0)
        return 0;
    memcpy(order, every, sizeof order);
    for (int i = SX_MAX_KEYS - 1; i > 0; i--) { /* a shuffle the bytes decide */
        seed = seed * 1103515245u + 12345u;
        int j = (int)((seed >> 16) % (unsigned)(i + 1));
        sx_by tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
    if (by > SX_BY_NONE && by < SX_NBYS)
        keys[n++] = by;
    for (int i = 0; i < SX_MAX_KEYS && n < want; i++)
        if (order[i] != by)
            keys[n++] = order[i];
    if (b[21] & 0x80 && n > 0 && n < SX_MAX_KEYS)
        keys[n++] = keys[0];
    return n;
}

static void
check_aggregate(const sx_table *t, const sx_filter *f, const int64_t *rows, int64_t n, int func_sel,
                int by_sel, const uint8_t *b)
{
    sx_func func = func_sel == 5 ? SX_NFUNCS : func_sel == 6 ? (sx_func)-1 : (sx_func)func_sel;
    sx_by by = by_sel == 8 ? SX_NBYS : by_sel == 9 ? (sx_by)-1 : (sx_by)by_sel;
    sx_by keys[SX_MAX_KEYS];
    int nkeys = pick_keys(b, by, keys), repeated = 0, by_unit = by == SX_BY_UNIT;
    sx_result res;
    sx_error e;
    memset(&e, 0x5A, sizeof e);
    res.ngroups = 77;
    res.groups = (sx_group *)&res;
    sx_status st = nkeys > 0 ? sx_aggregate_keys(t, f, func, keys, nkeys, &res, &e)
                             : sx_aggregate(t, f, func, by, &res, &e);
    if (st != SX_OK) {
        FZ_CHECK(res.groups == NULL && res.ngroups == 0);
        FZ_CHECK(e.status == st);
        fz_check_message(&e);
    }
    for (int k = 0; k < nkeys; k++) {
        by_unit |= keys[k] == SX_BY_UNIT;
        for (int j = 0; j < k; j++)
            repeated |= keys[j] == keys[k];
    }
    if (func_sel > 4 || (nkeys == 0 && by_sel > 7) || repeated) {
        FZ_CHECK(st == SX_ERR_VALUE);
        return;
    }
    if (nkeys == 0) { /* one key, or none */
        keys[0] = by;
        g_nkeys = 1;
    } else {
        by = keys[0]; /* grouped: the first part decides the special cases */
        g_nkeys = nkeys;
    }
    memcpy(g_keys, keys, (size_t)g_nkeys * sizeof *keys);
    if (st == SX_OK)
        FZ_CHECK(res.nkeys == (by == SX_BY_NONE ? 0 : g_nkeys));

    /* the groups, by sorting the selected rows by key */
    int64_t *sorted = fz_malloc((size_t)n * sizeof *sorted);
    if (n)
        memcpy(sorted, rows, (size_t)n * sizeof *sorted);
    g_table = t;
    qsort(sorted, (size_t)n, sizeof *sorted, row_cmp);

    int64_t ng = by == SX_BY_NONE ? 1 : 0;
    for (int64_t i = 0; i < n; i++)
        if (by != SX_BY_NONE && (i == 0 || !same_key(t, sorted[i], sorted[i - 1])))
            ng++;
    sx_group *want = fz_calloc((size_t)ng, sizeof *want);
    big *sums = fz_calloc((size_t)ng, sizeof *sums);
    __int128 *isums = fz_calloc((size_t)ng, sizeof *isums);
    int64_t g = -1;
    int mixed = 0, overflow = 0;
    if (by == SX_BY_NONE) {
        g = 0;
        want[0].unit = SX_NULL_CODE;
        want[0].all_int = 1;
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t r = sorted[i];
        double v = t->value[r];
        int isint = t->is_int[r] && fabs(v) <= 9007199254740992.0;
        int32_t unit = sx_code_at(t, SX_COL_UNIT, r);
        if (by != SX_BY_NONE && (i == 0 || !same_key(t, r, sorted[i - 1]))) {
            g++;
            want[g].key = row_key(t, by, r);
            for (int k = 0; k < g_nkeys; k++)
                want[g].keys[k] = (int32_t)row_key(t, g_keys[k], r);
            want[g].all_int = 1;
        }
        sx_group *w = &want[g];
        if (w->count == 0) {
            w->unit = unit;
            w->min = w->max = v;
            w->min_is_int = w->max_is_int = isint;
        } else {
            if (w->unit != unit)
                w->unit = SX_MIXED_UNITS;
            if (v < w->min) {
                w->min = v;
                w->min_is_int = isint;
            }
            if (v > w->max) {
                w->max = v;
                w->max_is_int = isint;
            }
        }
        w->count++;
        w->all_int &= isint;
        big_add_double(&sums[g], v);
        if (isint)
            isums[g] += (int64_t)v;
    }
    for (g = 0; g < ng; g++) {
        mixed |= want[g].unit == SX_MIXED_UNITS;
        if (!big_round(&sums[g], &want[g].fsum))
            overflow = 1;
    }

    sx_status expect = SX_OK;
    if (n == 0 && (func == SX_MEAN || func == SX_MIN || func == SX_MAX))
        expect = SX_ERR_EMPTY;
    else if (func != SX_COUNT && !by_unit && mixed)
        expect = SX_ERR_UNITS;
    else if ((func == SX_SUM || func == SX_MEAN) && overflow)
        expect = SX_ERR_VALUE;
    FZ_CHECK(st == expect);
    /* grouped, the message names the group first */
    if (st == SX_ERR_UNITS)
        FZ_CHECK(strncmp(e.message, by == SX_BY_NONE ? "cannot " : "in ",
                         by == SX_BY_NONE ? 7 : 3) == 0);

    if (st == SX_OK) {
        FZ_CHECK(res.ngroups == ng);
        for (g = 0; g < ng; g++) {
            const sx_group *o = &res.groups[g], *w = &want[g];
            FZ_CHECK(o->key == w->key);
            for (int k = 0; k < SX_MAX_KEYS; k++)
                FZ_CHECK(o->keys[k] == (by == SX_BY_NONE || k >= g_nkeys ? 0 : w->keys[k]));
            FZ_CHECK(o->count == w->count);
            FZ_CHECK(o->unit == w->unit);
            if (func == SX_COUNT) {
                FZ_CHECK(o->all_int == 1);
            } else {
                FZ_CHECK(o->all_int == w->all_int);
            }
            if (func == SX_SUM || func == SX_MEAN) {
                /* zero compares equal whatever its sign */
                FZ_CHECK(o->fsum == w->fsum && (o->fsum == 0 || fz_same_double(o->fsum, w->fsum)));
                FZ_CHECK(o->isum.lo < ((int64_t)1 << 62) && o->isum.lo > -((int64_t)1 << 62));
                FZ_CHECK(o->isum.hi == 0 || o->isum.lo == 0 ||
                         (o->isum.hi > 0) == (o->isum.lo > 0));
                if (w->all_int)
                    FZ_CHECK((__int128)o->isum.hi * ((__int128)1 << 62) + o->isum.lo == isums[g]);
            } else {
                FZ_CHECK(o->isum.hi == 0 && o->isum.lo == 0 && o->fsum == 0);
            }
            if (func == SX_MIN || func == SX_MAX) {
                FZ_CHECK(fz_same_double(o->min, w->min) && fz_same_double(o->max, w->max));
                FZ_CHECK(o->min_is_int == w->min_is_int && o->max_is_int == w->max_is_int);
            } else {
                FZ_CHECK(o->min == 0 && o->max == 0 && o->min_is_int == 0 && o->max_is_int == 0);
            }
        }
        /* and the sum's exact integer prints as its decimal digits */
        if (ng > 0 && (func == SX_SUM || func == SX_MEAN) && want[0].all_int) {
            char got[48], exp[48];
            __int128 v = isums[0];
            unsigned __int128 mag =
                v < 0 ? (unsigned __int128)0 - (unsigned __int128)v : (unsigned __int128)v;
            char digits[48];
            int nd = 0, o = 0;
            do {
                digits[nd++] = (char)('0' + (int)(mag % 10));
                mag /= 10;
            } while (mag);
            if (v < 0)
                exp[o++] = '-';
            while (nd)
                exp[o++] = digits[--nd];
            exp[o] = '\0';
            sx_bigint_format(res.groups[0].isum, got);
            FZ_CHECK(strcmp(got, exp) == 0);
        }
    }
    sx_result_free(&res);
    FZ_CHECK(res.groups == NULL && res.ngroups == 0);
    free(sorted);
    free(want);
    free(sums);
    free(isums);
}

/* ------------------------------------------------------------------ the rest */

static int32_t
pick_day(const sx_table *t, unsigned sel, unsigned lo, unsigned hi, int open_low)
{
    int16_t raw = (int16_t)(uint16_t)(lo | hi << 8);
    switch (sel % 4) {
    case 0:
        return open_low ? INT32_MIN : INT32_MAX;
    case 1:
        if (t->nrows == 0)
            return 0;
        return t->as_of[(lo | hi << 8) % (uint64_t)t->nrows] + (int8_t)hi % 4;
    case 2:
        return 19000 + raw;
    default:
        return open_low ? INT32_MAX : INT32_MIN;
    }
}

static void
make_filter(const sx_table *t, const uint8_t *b, sx_filter *f)
{
    sx_filter_init(f);
    switch (b[2] % 4) {
    case 0:
        f->project = 0;
        break;
    case 1:
        f->project = t->nprojects ? t->projects[b[3] % t->nprojects].number : 1;
        break;
    case 2:
        f->project = (int8_t)b[3];
        break;
    default:
        f->project = b[3] & 1 ? INT32_MAX : INT32_MIN;
        break;
    }
    for (int c = 0; c < SX_NSTRCOLS; c++) {
        unsigned v = b[4 + c];
        int32_t count = t->dicts[c].count;
        switch (v % 4) {
        case 0:
            f->code[c] = SX_ANY;
            break;
        case 1:
            f->code[c] = SX_NULL_CODE;
            break;
        case 2:
            f->code[c] = (int32_t)((v >> 2) % (unsigned)(count + 2)); /* up to count + 1 */
            break;
        default:
            f->code[c] = v & 4 ? -3 - (int32_t)(v >> 3) : INT32_MAX - (int32_t)(v >> 3);
            break;
        }
    }
    f->since = pick_day(t, b[12], b[13], b[14], 1);
    f->until = pick_day(t, b[15], b[16], b[17], 0);
}

static int
naive_match(const sx_table *t, const sx_filter *f, int64_t r)
{
    if (f->project != 0 && t->project[r] != f->project)
        return 0;
    for (int c = 0; c < SX_NSTRCOLS; c++) {
        if (f->code[c] == SX_ANY)
            continue;
        int32_t code = t->codes[c] ? sx_code_at(t, c, r) : SX_NULL_CODE;
        if (code != f->code[c])
            return 0;
    }
    return t->as_of[r] >= f->since && t->as_of[r] <= f->until;
}

static void
check_rows(const int64_t *got, int64_t ngot, const uint8_t *want, int64_t nrows)
{
    int64_t k = 0;
    for (int64_t r = 0; r < nrows; r++)
        if (want[r]) {
            FZ_CHECK(k < ngot && got[k] == r);
            k++;
        }
    FZ_CHECK(k == ngot);
    FZ_CHECK((ngot == 0) == (got == NULL));
}

static void
check_search(const sx_table *t, const query *q)
{
    int64_t *rows = NULL, n = -1;
    const char *const *words = (const char *const *)q->words;
    FZ_CHECK(sx_search(t, words, q->lens, q->nwords, &rows, &n) == SX_OK);
    uint8_t *want = fz_calloc((size_t)t->nrows, 1);
    for (int64_t r = 0; r < t->nrows; r++) {
        int all = 1;
        for (size_t w = 0; w < q->nwords && all; w++) {
            size_t len;
            const char *s;
            int any;
            s = sx_dict_str(&t->dicts[SX_COL_METRIC], sx_code_at(t, SX_COL_METRIC, r), &len);
            any = naive_contains(s, len, q->words[w], q->lens[w]);
            if (!any && t->codes[SX_COL_LABEL] && sx_code_at(t, SX_COL_LABEL, r) >= 0) {
                s = sx_dict_str(&t->dicts[SX_COL_LABEL], sx_code_at(t, SX_COL_LABEL, r), &len);
                any = naive_contains(s, len, q->words[w], q->lens[w]);
            }
            if (!any) {
                int32_t title = t->projects[sx_project_index(t, t->project[r])].title;
                if (title >= 0) {
                    s = sx_dict_str(&t->dicts[SX_COL_PROJECT_TITLE], title, &len);
                    any = naive_contains(s, len, q->words[w], q->lens[w]);
                }
            }
            all = any;
        }
        want[r] = (uint8_t)all;
    }
    check_rows(rows, n, want, t->nrows);
    free(want);
    free(rows);
}

/* A word cut from a dictionary string of the table, its case flipped where
 * the mask says. */
static void
cut_word(const sx_table *t, reader *in, unsigned spec, query *q)
{
    static const int from[4] = {SX_COL_METRIC, SX_COL_LABEL, SX_COL_PROJECT_TITLE, SX_COL_UNIT};
    unsigned which = next_byte(in), at = next_byte(in), flip = next_byte(in);
    const sx_dict *d = &t->dicts[from[which % 4]];
    size_t want = spec & 0x1F, len = 0;
    const char *s = "";
    if (d->count > 0) {
        s = sx_dict_str(d, (int32_t)((which >> 2) % (unsigned)d->count), &len);
        size_t off = len ? at % len : 0;
        s += off;
        len -= off;
    }
    if (want < len)
        len = want;
    char *w = fz_malloc(len);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((flip >> (i % 8)) & 1 && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            c ^= 0x20;
        w[i] = (char)c;
    }
    q->words[q->nwords] = w;
    q->lens[q->nwords++] = len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    query q;
    reader in = {data, size};
    sx_table *t = NULL;
    size_t nwords, i;
    struct {
        unsigned spec;
        size_t at, len; /* raw words: where their bytes are in the input */
    } spec[MAX_WORDS];

    memset(&q, 0, sizeof q);
    for (i = 0; i < NPARAM; i++)
        q.b[i] = (uint8_t)next_byte(&in);
    nwords = q.b[18] % (MAX_WORDS + 1);
    /* the word specs come before the document; dictionary words are cut
     * once the document is parsed */
    for (i = 0; i < nwords; i++) {
        spec[i].spec = next_byte(&in);
        spec[i].at = (size_t)(in.p - data);
        if (spec[i].spec & 0x80) {
            spec[i].len = 3; /* which, at, flip */
        } else {
            spec[i].len = spec[i].spec & 0x1F;
            if (spec[i].len > in.left)
                spec[i].len = in.left;
        }
        if (spec[i].len > in.left)
            spec[i].len = in.left;
        in.p += spec[i].len;
        in.left -= spec[i].len;
    }

    sx_status st = sx_table_parse((const char *)in.p, in.left, &t, NULL);
    for (i = 0; i < nwords; i++) {
        if (spec[i].spec & 0x80 && t != NULL && spec[i].len == 3) {
            reader r = {data + spec[i].at, 3};
            cut_word(t, &r, spec[i].spec, &q);
        } else {
            size_t len = spec[i].spec & 0x80 ? 0 : spec[i].len;
            q.words[q.nwords] = fz_malloc(len);
            if (len)
                memcpy(q.words[q.nwords], data + spec[i].at, len);
            q.lens[q.nwords++] = len;
        }
    }

    /* edit distance: word 0 against word 1, limit from the query */
    size_t limit = q.b[19] == 255 ? SIZE_MAX : q.b[19] % 40;
    if (q.nwords >= 2)
        check_edit_distance(q.words[0], q.lens[0], q.words[1], q.lens[1], limit);

    if (st == SX_OK) {
        sx_filter f;
        int64_t *rows = NULL, n = -1;
        fz_check_table(t);

        make_filter(t, q.b, &f);
        FZ_CHECK(sx_select(t, &f, &rows, &n) == SX_OK);
        uint8_t *want = fz_calloc((size_t)t->nrows, 1);
        for (int64_t r = 0; r < t->nrows; r++)
            want[r] = (uint8_t)naive_match(t, &f, r);
        check_rows(rows, n, want, t->nrows);

        check_aggregate(t, &f, rows, n, q.b[0] % 7, q.b[1] % 10, q.b);
        if (q.b[20] & 1) {
            /* no filter at all selects every row */
            int64_t *all = fz_malloc((size_t)t->nrows * sizeof *all);
            for (int64_t r = 0; r < t->nrows; r++)
                all[r] = r;
            check_aggregate(t, NULL, all, t->nrows, q.b[0] % 7, q.b[1] % 10, q.b);
            free(all);
        }
        free(rows);
        free(want);

        check_search(t, &q);

        /* a few metric keys against word 0, as suggestions do */
        if (q.nwords >= 1) {
            const sx_dict *d = &t->dicts[SX_COL_METRIC];
            for (int32_t k = 0; k < d->count && k < 4; k++) {
                size_t len;
                const char *s = sx_dict_str(d, k, &len);
                check_edit_distance(q.words[0], q.lens[0], s, len, q.b[19] % 8);
            }
        }
        sx_table_decref(t);
    } else {
        FZ_CHECK(t == NULL);
    }
    for (i = 0; i < q.nwords; i++)
        free(q.words[i]);
    return 0;
}
