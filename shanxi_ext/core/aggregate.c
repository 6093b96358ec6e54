/*
 * aggregate.c -- sx_aggregate: one pass over the filtered rows (on two
 * threads for a large table, merged), each row fed to its group (group.c)
 * for counts, exact sums (exactsum.c), extremes and unit checks, then the
 * groups checked, ordered and handed out as an sx_result.
 *
 * Which fields of an sx_group are filled depends on the function, so a
 * count never pays for sums:
 *   every func:          key, count, unit
 *   SUM, MEAN:           all_int, isum, fsum
 *   MIN, MAX:            all_int, min, max, min_is_int, max_is_int
 * Fields a function does not need are zero (all_int is 1 for COUNT).
 * An empty group (only BY_NONE has one) has unit SX_NULL_CODE.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows from which a second thread pays off: it costs tens of microseconds to
 * start, and a million rows take milliseconds.  The C tests build with a
 * tiny value so every test runs through the merge too. */
#ifndef SX_AGG_PARALLEL_ROWS
#define SX_AGG_PARALLEL_ROWS ((int64_t)1 << 20)
#endif

#include "agg.h"
#include "internal.h"
#include "jobs.h"
#include "platform.h" /* SX_THREADS: large tables are aggregated as two halves */
#include "rowfilter.h"

const char *const sx_func_names[SX_NFUNCS] = {"sum", "count", "mean", "min", "max"};
const char *const sx_by_names[SX_NBYS] = {"none", "project", "metric", "category",
                                          "unit", "region",  "as_of",  "month"};

static inline void
merge_unit(acc *a, int32_t u)
{
    if (a->unit != u)
        a->unit = a->unit == UNIT_UNSET ? u : SX_MIXED_UNITS;
}

/* Feed one block's selected rows into their groups.  One loop per kind of
 * work so each inner loop does only what the function needs; a unit the
 * filter fixes is set once, at the end of the rows (feed_range). */
int
sxa_block_feed(agg *s, int64_t start, const uint32_t *sel, size_t n, const int32_t *gidx)
{
    const sx_table *t = s->t;
    const void *units = t->codes[SX_COL_UNIT];
    int uw = t->code_width[SX_COL_UNIT], per_row_unit = s->fixed_unit == UNIT_UNSET;
    acc *accs = s->accs;
    if (accs == NULL) /* block_groups made the rows' groups: never here */
        return n == 0;
    switch (s->func) {
    case SX_COUNT:
        for (size_t k = 0; k < n; k++) {
            acc *a = &accs[gidx[k]];
            a->count++;
            if (per_row_unit)
                merge_unit(a, units ? sx_code_in(units, uw, start + sel[k]) : SX_NULL_CODE);
        }
        break;
    case SX_SUM:
    case SX_MEAN:
        for (size_t k = 0; k < n; k++) {
            int64_t i = start + sel[k];
            acc *a = &accs[gidx[k]];
            double v = t->value[i];
            a->count++;
            if (per_row_unit)
                merge_unit(a, units ? sx_code_in(units, uw, i) : SX_NULL_CODE);
            if (sxa_exact_int(t, i, v)) {
                a->has_int = 1;
                a->ilo += (int64_t)v;
                sxs_carry_int(&a->ihi, &a->ilo);
            } else {
                a->all_int = 0;
                /* the common float-heavy case stays inline */
                if (a->sa >= 0)
                    sxs_add(&s->sas[a->sa], v);
                else if (!sxa_float_add(s, a, v))
                    return 0;
            }
        }
        break;
    default: /* SX_MIN, SX_MAX */
        for (size_t k = 0; k < n; k++) {
            int64_t i = start + sel[k];
            acc *a = &accs[gidx[k]];
            double v = t->value[i];
            int isint = sxa_exact_int(t, i, v);
            if (per_row_unit)
                merge_unit(a, units ? sx_code_in(units, uw, i) : SX_NULL_CODE);
            if (a->count++ == 0) {
                a->min = a->max = v;
                a->min_is_int = a->max_is_int = (uint8_t)isint;
            } else {
                /* strict tests: on ties the first row stays */
                if (v < a->min) {
                    a->min = v;
                    a->min_is_int = (uint8_t)isint;
                }
                if (v > a->max) {
                    a->max = v;
                    a->max_is_int = (uint8_t)isint;
                }
            }
            a->all_int &= (uint8_t)isint;
        }
        break;
    }
    return 1;
}

/* Run fn over every selected row with its group (used for the rare second
 * looks: naming mixed units, recounting overflowed sums). */
typedef void (*row_fn)(agg *s, int32_t g, int64_t i, void *ctx);

static int
rescan(agg *s, const sxf_compiled *q, row_fn fn, void *ctx)
{
    uint32_t sel[SXF_BLOCK];
    int32_t gidx[SXF_BLOCK];
    size_t identity = 0;
    if (q->none) /* no rows; and sxf_block is not for such a filter */
        return 1;
    for (int64_t start = 0; start < s->t->nrows; start += SXF_BLOCK) {
        size_t len = s->t->nrows - start < SXF_BLOCK ? (size_t)(s->t->nrows - start) : SXF_BLOCK;
        size_t n = sxf_select_block(q, start, len, sel, &identity);
        if (!sxa_block_groups(s, start, sel, n, gidx))
            return 0;
        for (size_t k = 0; k < n; k++)
            fn(s, gidx[k], start + sel[k], ctx);
    }
    return 1;
}

/* ------------------------------------------------------------------ errors */

typedef struct unit_seen {
    int32_t group;
    uint8_t *seen; /* index code + 1 */
} unit_seen;

static void
mark_unit(agg *s, int32_t g, int64_t i, void *ctx)
{
    unit_seen *u = ctx;
    if (g == u->group)
        u->seen[sx_code_at(s->t, SX_COL_UNIT, i) + 1] = 1;
}

/* Append up to max bytes of s (cut at a UTF-8 boundary, "..." marking a
 * cut; control bytes, NUL included, shown as '?') to buf at *pos, never
 * past lim. */
void
sxa_put_text(char *buf, size_t *pos, size_t lim, const char *s, size_t len, size_t max)
{
    size_t n = len;
    int cut = 0;
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
        cut = 1;
    }
    for (size_t i = 0; i < n && *pos < lim; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[(*pos)++] = (char)(c < 0x20 || c == 0x7f ? '?' : c);
    }
    if (cut)
        for (size_t i = 0; i < 3 && *pos < lim; i++)
            buf[(*pos)++] = '.';
}

void
sxa_group_prefix(const sx_by *by, int nkeys, const sxa_keytext *parts, char *buf, size_t cap)
{
    size_t pos = 0, lim = cap - 1 - 29; /* room for the units message's suffix */
    buf[0] = '\0';
    if (nkeys == 0)
        return;
    sxa_put_text(buf, &pos, lim, "in ", 3, 3);
    for (int k = 0; k < nkeys; k++) {
        const char *name = sx_by_names[by[k]], *str = parts[k].str;
        char num[32];
        size_t len = parts[k].len;
        int32_t y;
        unsigned m, d;
        if (k > 0)
            sxa_put_text(buf, &pos, lim, ", ", 2, 2);
        sxa_put_text(buf, &pos, lim, name, strlen(name), 16);
        sxa_put_text(buf, &pos, lim, " ", 1, 1);
        if (sx_by_column(by[k]) >= 0) {
            if (str == NULL) {
                str = "(empty)";
                len = strlen(str);
            }
        } else {
            if (by[k] == SX_BY_AS_OF) {
                sx_civil_from_days((int32_t)parts[k].num, &y, &m, &d);
                len = (size_t)snprintf(num, sizeof num, "%04ld-%02u-%02u", (long)y, m, d);
            } else if (by[k] == SX_BY_MONTH) {
                len = (size_t)sx_month_format(parts[k].num, num, sizeof num);
            } else {
                len = (size_t)snprintf(num, sizeof num, "%lld", (long long)parts[k].num);
            }
            str = num;
        }
        sxa_put_text(buf, &pos, lim, str, len, 40);
    }
    sxa_put_text(buf, &pos, lim, ": ", 2, 2);
    buf[pos] = '\0';
}

/* "cannot sum figures in different units (CNY, USD); pass unit=... or
 * by=\"unit\"", naming the n units given (in the order given), shortened
 * to fit, into err, after prefix (the group: "in month 2022-10: ").  Partial aggregates (partial.c) say it the same way. */
void
sxa_units_message(sx_error *err, sx_func func, const char *const *strs, const size_t *lens,
                  int32_t n, const char *prefix)
{
    static const char suffix[] = "); pass unit=... or by=\"unit\"";
    static const char more[] = ", ...";
    const char *verb = func == SX_SUM    ? "sum"
                       : func == SX_MEAN ? "average"
                       : func == SX_MIN  ? "take the min of"
                                         : "take the max of";
    char msg[sizeof err->message];
    size_t lim = sizeof msg - 1 - (sizeof suffix - 1);
    size_t pos = (size_t)snprintf(msg, sizeof msg, "%s", prefix);
    pos += (size_t)snprintf(msg + pos, sizeof msg - pos, "cannot %s figures in different units (",
                            verb);
    for (int32_t c = 0; c < n; c++) {
        size_t len = lens[c];
        /* room for this unit (as shortened) plus ", ..." if more follow */
        size_t need = (c > 0 ? 2 : 0) + (len > 40 ? 43 : len) + (c + 1 < n ? sizeof more - 1 : 0);
        if (pos + need > lim) {
            sxa_put_text(msg, &pos, lim, more + (c > 0 ? 0 : 2), sizeof more - 1 - (c > 0 ? 0 : 2),
                         sizeof more);
            break;
        }
        if (c > 0)
            sxa_put_text(msg, &pos, lim, ", ", 2, 2);
        sxa_put_text(msg, &pos, lim, strs[c], len, 40);
    }
    memcpy(msg + pos, suffix, sizeof suffix);
    if (err != NULL) {
        sx_error_set(err, SX_ERR_UNITS, "%s", msg);
    }
}

/* The units error of group g: its units, sorted. */
static int
units_error(agg *s, const sxf_compiled *q, int32_t g, sx_error *err)
{
    const sx_dict *d = &s->t->dicts[SX_COL_UNIT];
    unit_seen u;
    int32_t *codes, n = 0, nu = s->t->codes[SX_COL_UNIT] ? d->count : 0;
    const char **strs = NULL;
    size_t *lens = NULL;

    u.group = g;
    u.seen = calloc((size_t)nu + 1, 1);
    codes = malloc(((size_t)nu + 1) * sizeof *codes);
    strs = malloc(((size_t)nu + 1) * sizeof *strs);
    lens = malloc(((size_t)nu + 1) * sizeof *lens);
    int ok = u.seen != NULL && codes != NULL && strs != NULL && lens != NULL &&
             rescan(s, q, mark_unit, &u);
    for (int32_t c = -1; ok && c < nu; c++)
        if (u.seen[c + 1])
            codes[n++] = c;
    ok = ok && sxa_merge_sort(codes, (size_t)n, sxa_unit_less, d);
    if (ok) {
        for (int32_t c = 0; c < n; c++) {
            lens[c] = 0;
            strs[c] = codes[c] == SX_NULL_CODE ? "" : sx_dict_str(d, codes[c], &lens[c]);
        }
        sxa_keytext parts[SX_MAX_KEYS];
        for (int k = 0; k < s->nkeys; k++) {
            int32_t key = s->accs[g].key[k];
            int col = sx_by_column(s->keyby[k]);
            parts[k].num = key;
            parts[k].str = NULL;
            parts[k].len = 0;
            if (col >= 0 && key != SX_NULL_CODE)
                parts[k].str = sx_dict_str(&s->t->dicts[col], key, &parts[k].len);
        }
        char prefix[sizeof err->message];
        sxa_group_prefix(s->keyby, s->nkeys, parts, prefix, sizeof prefix);
        sxa_units_message(err, s->func, strs, lens, n, prefix);
    }
    free(u.seen);
    free(codes);
    free(strs);
    free(lens);
    return ok;
}

/* ------------------------------------------------------------------ sums */

typedef struct recount {
    int32_t *slot_of; /* per group: index into sums, or -1 */
    superacc *sums;
} recount;

static void
recount_row(agg *s, int32_t g, int64_t i, void *ctx)
{
    recount *r = ctx;
    if (r->slot_of[g] >= 0)
        sxs_add(&r->sums[r->slot_of[g]], s->t->value[i]);
}

/* Fill every group's fsum; SX_ERR_VALUE when a sum does not fit a double. */
static sx_status
finish_sums(agg *s, const sxf_compiled *q, sx_error *err)
{
    int32_t nover = 0;
    recount r = {NULL, NULL};
    sx_status st = SX_ERR_NOMEM; /* every failure but the overflow */
    for (int32_t g = 0; g < s->nacc; g++) {
        acc *a = &s->accs[g];
        if (a->overflow) {
            nover++;
        } else if (a->npart == 0 && a->sa < 0 && a->ihi == 0) {
            /* no floats (or none left): the sum is the integer ilo, and
             * converting it rounds it once, as the partials would */
            a->fsum = (double)a->ilo;
            a->fsum_done = 1;
        } else if (a->has_int && !sxa_add_exact_int(s, a, a->ihi, a->ilo)) {
            goto error;
        }
    }
    if (nover > 0) {
        int32_t k = 0;
        r.slot_of = malloc((size_t)s->nacc * sizeof *r.slot_of);
        r.sums = calloc((size_t)nover, sizeof *r.sums);
        if (r.slot_of == NULL || r.sums == NULL)
            goto error;
        for (int32_t g = 0; g < s->nacc; g++)
            r.slot_of[g] = s->accs[g].overflow ? k++ : -1;
        if (!rescan(s, q, recount_row, &r))
            goto error;
    }
    for (int32_t g = 0; g < s->nacc; g++) {
        acc *a = &s->accs[g];
        double v;
        if (a->fsum_done)
            continue;
        if (a->overflow || a->sa >= 0) {
            /* slot_of[] is made, and set for every group, when any overflowed */
            /* NOLINTNEXTLINE(clang-analyzer-core.uninitialized.ArraySubscript,clang-analyzer-core.NullDereference) */
            superacc *sa = a->overflow ? &r.sums[r.slot_of[g]] : &s->sas[a->sa];
            if (!sxs_round(sa, &v)) {
                st = sx_error_set(err, SX_ERR_VALUE, "sum overflows a double");
                goto error;
            }
        } else {
            v = sxs_partials_round(a->cap > 0 ? a->heap : a->inl, a->npart);
        }
        a->fsum = v;
    }
    st = SX_OK;
error:
    if (st == SX_ERR_NOMEM)
        sx_error_set(err, st, "out of memory");
    free(r.slot_of);
    free(r.sums);
    return st;
}

/* ------------------------------------------------------------------ entry */

/* Feed rows [from, to) that q selects into s; 0 on allocation failure. */
static int
feed_range(agg *s, const sxf_compiled *q, int64_t from, int64_t to)
{
    uint32_t sel[SXF_BLOCK];
    int32_t gidx[SXF_BLOCK];
    size_t identity = 0;
    sxd_state d;
    int dense = sxd_usable(s, to - from);
    if (q->none)
        return 1;
    if (dense)
        sxd_init(&d, s);
    for (int64_t start = from; start < to; start += SXF_BLOCK) {
        size_t len = to - start < SXF_BLOCK ? (size_t)(to - start) : SXF_BLOCK;
        size_t n = sxf_select_block(q, start, len, sel, &identity);
        if (n == 0)
            continue;
        if (dense) {
            if (!sxd_feed(s, &d, start, sel, n))
                return 0;
        } else if (!sxa_block_groups(s, start, sel, n, gidx) ||
                   !sxa_block_feed(s, start, sel, n, gidx)) {
            return 0;
        }
    }
    if (dense && !sxd_finish(s, &d))
        return 0;
    /* every row had the fixed unit: so has every group that got one */
    for (int32_t g = 0; s->fixed_unit != UNIT_UNSET && g < s->nacc; g++)
        if (s->accs[g].count > 0 && s->accs[g].unit == UNIT_UNSET)
            s->accs[g].unit = s->fixed_unit;
    return 1;
}

/* Fold group b of the other half (s2, the later rows) into s's group of the
 * same key; 0 on allocation failure.  Everything stays exact: integer sums
 * add, partials are added one by one, accumulators limb by limb; a group
 * that cannot get an accumulator within the budget is recounted instead,
 * as an overflowed one is.  On equal extremes the earlier rows' stays. */
static int
merge_group(agg *s, agg *s2, const acc *b)
{
    int32_t g = sxa_lookup_parts(s, b->key);
    acc *a;
    if (g < 0)
        return 0;
    a = &s->accs[g];
    if (b->unit != UNIT_UNSET)
        merge_unit(a, b->unit);
    switch (s->func) {
    case SX_COUNT:
        break;
    case SX_SUM:
    case SX_MEAN:
        a->has_int |= b->has_int;
        a->all_int &= b->all_int;
        a->ihi += b->ihi;
        a->ilo += b->ilo; /* each |ilo| < 2^62: no overflow */
        sxs_carry_int(&a->ihi, &a->ilo);
        if (a->overflow || b->overflow) {
            a->overflow = 1;
        } else if (b->sa >= 0) {
            if (a->sa < 0 && !sxa_to_superacc(s, a))
                a->overflow = 1;
            else
                sxs_merge(&s->sas[a->sa], &s2->sas[b->sa]);
        } else {
            const double *p = b->cap > 0 ? b->heap : b->inl;
            for (int32_t j = 0; j < b->npart; j++) {
                if (a->sa >= 0)
                    sxs_add(&s->sas[a->sa], p[j]);
                else if (!sxa_float_add(s, a, p[j]))
                    return 0;
            }
        }
        break;
    default: /* SX_MIN, SX_MAX */
        if (b->count == 0)
            break;
        if (a->count == 0 || b->min < a->min) {
            a->min = b->min;
            a->min_is_int = b->min_is_int;
        }
        if (a->count == 0 || b->max > a->max) {
            a->max = b->max;
            a->max_is_int = b->max_is_int;
        }
        a->all_int = a->count == 0 ? b->all_int : (uint8_t)(a->all_int & b->all_int);
        break;
    }
    a->count += b->count;
    return 1;
}

#ifdef SX_THREADS
/* The two halves of a large table, each fed into a state of its own. */
typedef struct halves {
    agg *s[2];
    const sxf_compiled *q;
    int64_t from[3]; /* half i: rows [from[i], from[i + 1]) */
} halves;

static int
feed_half(void *arg, size_t i)
{
    halves *h = arg;
    return !feed_range(h->s[i], h->q, h->from[i], h->from[i + 1]);
}
#endif

/* Feed every row q selects into s: on two threads for a large table. */
static int
feed_all(agg *s, const sxf_compiled *q)
{
    const sx_table *t = s->t;
#ifdef SX_THREADS
    if (t->nrows >= SX_AGG_PARALLEL_ROWS && t->nrows >= 2 && !q->none) {
        agg s2;
        /* the later half into a second state, merged into s */
        sxa_init(&s2, t, s->func, s->keyby, s->nkeys);
        s2.fixed_unit = s->fixed_unit;
        if (!sxa_setup(&s2)) {
            sxa_free(&s2);
            return 0;
        }
        halves h = {{s, &s2}, q, {0, t->nrows / 2, t->nrows}};
        sxp_jobs jobs = {.n = 2, .run = feed_half, .ctx = &h, .threads = 2};
        int ok = sxp_run_jobs(&jobs) == 2;
        for (int32_t g = 0; ok && g < s2.nacc; g++)
            ok = merge_group(s, &s2, &s2.accs[g]);
        sxa_free(&s2);
        return ok;
    }
#endif
    return feed_range(s, q, 0, t->nrows);
}

sx_status
sx_aggregate(const sx_table *t, const sx_filter *f, sx_func func, sx_by by, sx_result *out,
             sx_error *err)
{
    /* (a by out of range is one grouping, that sx_aggregate_keys rejects) */
    return sx_aggregate_keys(t, f, func, &by, by == SX_BY_NONE ? 0 : 1, out, err);
}

sx_status
sx_aggregate_keys(const sx_table *t, const sx_filter *f, sx_func func, const sx_by *by, int nby,
                  sx_result *out, sx_error *err)
{
    agg s;
    sxf_compiled q;
    int32_t small_order[NSMALL], *order = NULL;
    int64_t total = 0;
    sx_status st = SX_OK;
    int by_unit = 0;

    if (out != NULL) {
        out->ngroups = 0;
        out->groups = NULL;
        out->nkeys = 0;
    }
    if (t == NULL || out == NULL) {
        sx_error_set(err, SX_ERR_VALUE, "no table or no result to fill");
        return SX_ERR_VALUE;
    }
    if ((unsigned)func >= SX_NFUNCS) {
        sx_error_set(err, SX_ERR_VALUE, "unknown aggregation function");
        return SX_ERR_VALUE;
    }
    if (nby < 0 || nby > SX_MAX_KEYS || (nby > 0 && by == NULL)) {
        sx_error_set(err, SX_ERR_VALUE, "from 0 to %d groupings, not %d", SX_MAX_KEYS, nby);
        return SX_ERR_VALUE;
    }
    for (int i = 0; i < nby; i++) {
        if ((unsigned)by[i] >= SX_NBYS || by[i] == SX_BY_NONE) {
            sx_error_set(err, SX_ERR_VALUE, "unknown grouping");
            return SX_ERR_VALUE;
        }
        for (int j = 0; j < i; j++) {
            if (by[j] == by[i]) {
                sx_error_set(err, SX_ERR_VALUE, "grouping by %s twice", sx_by_names[by[i]]);
                return SX_ERR_VALUE;
            }
        }
        by_unit |= by[i] == SX_BY_UNIT;
    }
    if (nby <= 1 && (func == SX_SUM || func == SX_COUNT) && t->nrows <= SXF_BLOCK) {
        sxf_compile(&q, t, f);
        if (nby == 0 && sxd_small_total(t, &q, func, out->inline_groups)) {
            out->groups = out->inline_groups;
            out->ngroups = 1;
            return SX_OK;
        }
        if (nby == 1 && by[0] == SX_BY_PROJECT && sxd_small_by_project(t, &q, func, out))
            return SX_OK;
    }
    sxa_init(&s, t, func, by, nby);
    /* from here every failure is out of memory but for the three named */
    st = SX_ERR_NOMEM;
    if (!sxa_setup(&s) || (nby == 0 && sxa_lookup(&s, 0) < 0)) /* BY_NONE: always one group */
        goto error;

    sxf_compile(&q, t, f);
    if (t->codes[SX_COL_UNIT] == NULL)
        s.fixed_unit = SX_NULL_CODE;
    else if (f != NULL && f->code[SX_COL_UNIT] != SX_ANY)
        s.fixed_unit = f->code[SX_COL_UNIT]; /* a code out of range selects no row */
    if (!feed_all(&s, &q))
        goto error;

    if (func == SX_MEAN || func == SX_MIN || func == SX_MAX)
        for (int32_t g = 0; g < s.nacc; g++)
            total += s.accs[g].count;
    if (total == 0 && (func == SX_MEAN || func == SX_MIN || func == SX_MAX)) {
        st = sx_error_set(err, SX_ERR_EMPTY, "%s of no figures", sx_func_names[func]);
        goto error;
    }

    order = s.nacc <= NSMALL ? small_order : sx_alloc_array((size_t)s.nacc, sizeof *order);
    if (order == NULL)
        goto error;
    for (int32_t g = 0; g < s.nacc; g++)
        order[g] = g;
    if (nby > 1) {
        if (!sxa_order_parts(&s, order))
            goto error;
    } else if (sx_by_column(s.by) >= 0) {
        if (!sxa_merge_sort(order, (size_t)s.nacc, sxa_group_less_str, &s))
            goto error;
    } else {
        /* numeric keys usually come in order: check that inline first */
        const acc *accs = s.accs;
        int32_t nacc = s.nacc, g = 1;
        while (g < nacc && accs[g - 1].key[0] < accs[g].key[0])
            g++;
        if (g < nacc && !sxa_merge_sort(order, (size_t)nacc, sxa_group_less_num, &s))
            goto error;
    }

    if (func != SX_COUNT && !by_unit) {
        for (size_t k = 0; k < (size_t)s.nacc; k++) {
            if (s.accs[order[k]].unit == SX_MIXED_UNITS) {
                if (units_error(&s, &q, order[k], err))
                    st = SX_ERR_UNITS;
                goto error;
            }
        }
    }
    if (func == SX_SUM || func == SX_MEAN) {
        sx_status sums = finish_sums(&s, &q, err);
        if (sums != SX_OK) {
            st = sums;
            goto error;
        }
    }

    out->nkeys = nby;
    if (s.nacc > 0) {
        sx_group *gs =
            s.nacc <= SX_RESULT_INLINE ? out->inline_groups : malloc((size_t)s.nacc * sizeof *gs);
        if (gs == NULL)
            goto error;
        for (size_t k = 0; k < (size_t)s.nacc; k++) {
            const acc *a = &s.accs[order[k]];
            sx_group *o = &gs[k];
            /* field by field, each once: a memset of the struct first costs
             * more than the rest of a small result (it became rep stos) */
            o->key = nby > 0 ? a->key[0] : 0;
            for (int i = 0; i < SX_MAX_KEYS; i++)
                o->keys[i] = i < nby ? a->key[i] : 0;
            o->count = a->count;
            o->unit = a->unit == UNIT_UNSET ? SX_NULL_CODE : a->unit;
            o->all_int = func == SX_COUNT ? 1 : a->all_int;
            int sums = func == SX_SUM || func == SX_MEAN, ext = func == SX_MIN || func == SX_MAX;
            o->isum = sums ? sxs_bigint_canon(a->ihi, a->ilo) : (sx_bigint){0, 0};
            o->fsum = sums ? a->fsum : 0.0;
            o->min = ext ? a->min : 0.0;
            o->max = ext ? a->max : 0.0;
            o->min_is_int = ext ? a->min_is_int : 0;
            o->max_is_int = ext ? a->max_is_int : 0;
        }
        out->groups = gs;
        out->ngroups = s.nacc;
    }
    st = SX_OK;
error:
    if (st == SX_ERR_NOMEM)
        sx_error_set(err, st, "out of memory");
    if (order != small_order)
        free(order);
    sxa_free(&s);
    return st;
}

void
sx_result_free(sx_result *r)
{
    if (r == NULL)
        return;
    if (r->groups != r->inline_groups)
        free(r->groups);
    r->groups = NULL;
    r->ngroups = 0;
}
