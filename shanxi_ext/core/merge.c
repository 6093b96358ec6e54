/*
 * merge.c -- N parsed parts merged into one table as if one pass had read
 * their rows one after another: the parts of one large input (split.c,
 * reader.c) or the files of one dataset (multifile.c).  Strings join the
 * first part's dictionaries in part order, so codes stay in order of first
 * appearance; each part's codes are remapped; columns are matched by name,
 * a column a part lacks being empty (null) in its rows; projects are merged
 * and must agree across parts, as they must across the rows of one input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs.h"
#include "parser.h"

/* Merged tables from this many rows copy the other parts' rows on several
 * threads (the tests use tiny ones). */
#ifndef SX_MERGE_PARALLEL_ROWS
#define SX_MERGE_PARALLEL_ROWS ((int64_t)1 << 18)
#endif

/* One column's rows of parts 1..n copied into the merged array at each
 * part's first row, each part's array freed once copied (so the peak is the
 * parts plus one merged column): a fixed-size column (width 0), or codes
 * remapped through maps and written at `width` bytes. */
typedef struct column_copy {
    parser **parts;
    size_t n;
    const int64_t *first; /* each part's first row in the merged table */
    void *dst;
    void **src;           /* per part, its array, or NULL where it lacks the column */
    size_t size;          /* fixed: bytes a row */
    int no_date;          /* fixed: a missing row is SX_NO_DATE, else zero */
    int width;            /* codes: the merged width, else 0 */
    const uint8_t *from;  /* codes: each part's width */
    int32_t *const *maps; /* codes: each part's map into the merged codes */
} column_copy;

/* Rows a slice of copy_part: the source's pages behind each slice are
 * dropped as it goes, so the merged column's pages and the part's are
 * never both resident for more than a slice. */
#define COPY_SLICE ((int64_t)1 << 17)

static void
copy_part(column_copy *job, size_t k)
{
    int64_t rows = job->parts[k]->t->nrows, row = job->first[k];
    const void *src = job->src[k];
    int src_width = job->width ? job->from[k] : (int)job->size;
    for (int64_t lo = 0; lo < rows; lo += COPY_SLICE) {
        int64_t hi = rows - lo < COPY_SLICE ? rows : lo + COPY_SLICE;
        if (job->width) {
            const int32_t *map = job->maps[k];
            for (int64_t i = lo; i < hi; i++) {
                int32_t code = src ? sx_code_in(src, job->from[k], i) : SX_NULL_CODE;
                sxp_put_code(job->dst, job->width, row + i, code < 0 ? code : map[code]);
            }
        } else if (src) {
            memcpy((char *)job->dst + (size_t)(row + lo) * job->size,
                   (const char *)src + (size_t)lo * job->size, (size_t)(hi - lo) * job->size);
        } else if (job->no_date) {
            for (int64_t i = lo; i < hi; i++)
                ((int32_t *)job->dst)[row + i] = SX_NO_DATE;
        } else {
            memset((char *)job->dst + (size_t)(row + lo) * job->size, 0,
                   (size_t)(hi - lo) * job->size);
        }
        if (src)
            sx_big_release(job->src[k], (size_t)lo * (size_t)src_width,
                           (size_t)hi * (size_t)src_width);
    }
    sx_big_free(job->src[k]);
    job->src[k] = NULL;
}

/* Job k of run_copy: part k + 1. */
static int
copy_next(void *arg, size_t k)
{
    copy_part(arg, k + 1);
    return 0;
}

/* Every part's rows copied, on up to nthreads threads when the table is
 * large (copying never fails). */
static void
run_copy(column_copy *job, int nthreads)
{
    int64_t total = job->first[job->n - 1] + job->parts[job->n - 1]->t->nrows;
    sxp_jobs jobs = {.n = job->n - 1,
                     .run = copy_next,
                     .ctx = job,
                     .threads = total >= SX_MERGE_PARALLEL_ROWS ? nthreads : 1};
    sxp_run_jobs(&jobs);
}

/* A fixed-size column grown to the merged rows, the first part's rows
 * `fill` where it lacks the column (only an optional column may be
 * missing), then the other parts' rows copied in. */
#define MERGE_FIXED(field, fill, is_date)                                                          \
    do {                                                                                           \
        int any_ = 0;                                                                              \
        for (size_t k_ = 0; k_ < n; k_++)                                                          \
            any_ |= parts[k_]->t->field != NULL;                                                   \
        if (!any_)                                                                                 \
            break;                                                                                 \
        int had_ = ta->field != NULL;                                                              \
        void *grown_ =                                                                             \
            sx_big_realloc(ta->field, (size_t)(total > 0 ? total : 1) * sizeof *ta->field);        \
        if (!grown_) {                                                                             \
            st = sxp_fail_nomem(a);                                                                \
            goto error;                                                                            \
        }                                                                                          \
        ta->field = grown_;                                                                        \
        if (!had_)                                                                                 \
            for (int64_t i_ = 0; i_ < ta->nrows; i_++)                                             \
                ta->field[i_] = (fill);                                                            \
        for (size_t k_ = 1; k_ < n; k_++) {                                                        \
            src[k_] = parts[k_]->t->field;                                                         \
            parts[k_]->t->field = NULL; /* the copy frees it */                                    \
        }                                                                                          \
        column_copy job_ = {.parts = parts,                                                        \
                            .n = n,                                                                \
                            .first = first,                                                        \
                            .dst = ta->field,                                                      \
                            .src = src,                                                            \
                            .size = sizeof *ta->field,                                             \
                            .no_date = (is_date)};                                                 \
        run_copy(&job_, nthreads);                                                                 \
    } while (0)

/* Part k's strings of column c interned into the merged dictionary: maps
 * from its codes to the merged ones (NULL when it lacks the column). */
static sx_status
merge_dict(parser *a, parser *b, sx_strcol c, int same_input, int32_t **map)
{
    sx_dict *da = &a->t->dicts[c];
    const sx_dict *db = &b->t->dicts[c];
    *map = NULL;
    if (!b->t->codes[c])
        return SX_OK;
    int32_t *m = sx_alloc_array((size_t)db->count, sizeof *m);
    if (!m)
        return sxp_fail_nomem(a);
    for (int32_t k = 0; k < db->count; k++) {
        size_t len;
        const char *str = sx_dict_str(db, k, &len);
        int32_t before = da->count;
        sx_status st = sx_dict_intern(da, str, len, &m[k]);
        if (st != SX_OK) {
            free(m);
            return sxp_intern_failed(a, st, c);
        }
        /* where a part_of is first used, for check_part_of (only an offset
         * into the same input means anything to the first part) */
        if (same_input && c == SX_COL_PART_OF && m[k] == before &&
            (st = sxp_note_part_of(a, before, b->part_of_at[k])) != SX_OK) {
            free(m);
            return st;
        }
    }
    *map = m;
    return SX_OK;
}

/* Column c of every part at the merged width, remapped into ta's codes. */
static sx_status
merge_codes(parser **parts, size_t n, int64_t total, const int64_t *first, sx_strcol c,
            int32_t *const *maps, void **src, uint8_t *from_width, int32_t **col_maps, int nthreads)
{
    sx_table *ta = parts[0]->t;
    int from = ta->code_width[c]; /* 0: the first part lacks the column */
    int wide = sxp_code_width_for(ta->dicts[c].count);
    if (wide < from)
        wide = from;
    void *codes = sx_big_realloc(ta->codes[c], (size_t)(total > 0 ? total : 1) * (size_t)wide);
    if (!codes)
        return sxp_fail_nomem(parts[0]);
    ta->codes[c] = codes;
    if (from == 0) {
        for (int64_t i = 0; i < ta->nrows; i++)
            sxp_put_code(codes, wide, i, SX_NULL_CODE);
        ta->null_count[c] = ta->nrows;
    } else if (wide != from) {
        sxp_widen_in_place(codes, from, wide, ta->nrows);
    }
    ta->code_width[c] = (uint8_t)wide;
    for (size_t k = 1; k < n; k++) {
        sx_table *tb = parts[k]->t;
        ta->null_count[c] += tb->codes[c] ? tb->null_count[c] : tb->nrows;
        src[k] = tb->codes[c];
        from_width[k] = tb->code_width[c];
        col_maps[k] = maps[k * SX_NSTRCOLS + c];
        tb->codes[c] = NULL; /* the copy frees it */
    }
    column_copy job = {.parts = parts,
                       .n = n,
                       .first = first,
                       .dst = codes,
                       .src = src,
                       .width = wide,
                       .from = from_width,
                       .maps = col_maps};
    run_copy(&job, nthreads);
    return SX_OK;
}

/* The disagreement as one pass would report it, in part b's error. */
static sx_status
report_conflict(parser **parts, parser *b, const conflict *f, const char *const *names)
{
    const parser *a = parts[0];
    const project_state *other = &a->projects[f->other];
    int x = f->attr < 0 ? ATTR_KEY : f->attr;
    uint64_t line = other->attr_line[x];
    sx_strcol c = ATTR_COL(x);
    size_t n1, n2;
    const char *s2 = sx_dict_str(&a->t->dicts[c], f->code, &n2);
    char was[QUOTE_BUF], found[QUOTE_BUF];
    sxp_quote_text(found, s2, n2);
    char unnamed[32];
    const char *file = names ? names[other->attr_part[x]] : unnamed;
    if (!names)
        snprintf(unnamed, sizeof unnamed, "input %lu", (unsigned long)other->attr_part[x] + 1);
    if (f->attr < 0)
        return sxp_fail_pos(b, f->at,
                            "expected a project_key of its own for project %ld, found %s, which "
                            "project %ld has on line %llu of %s",
                            (long)f->number, found, (long)other->number, (unsigned long long)line,
                            file);
    const char *s1 = sx_dict_str(&a->t->dicts[c], other->attr[x], &n1);
    return sxp_fail_pos(b, f->at, "project %ld has %s %s on line %llu of %s, found %s",
                        (long)f->number, sx_strcol_names[c], sxp_quote_text(was, s1, n1),
                        (unsigned long long)line, file, found);
}

/* Every part_of must name a metric of the dataset: the first missing one
 * is reported where it is first used (codes are in order of first use), in
 * the first part that uses it. */
static sx_status
check_part_of(parser **parts, size_t n, int32_t first_part_ofs, size_t *failed)
{
    const sx_table *t = parts[0]->t;
    if (!t->codes[SX_COL_PART_OF])
        return SX_OK;
    const sx_dict *merged = &t->dicts[SX_COL_PART_OF];
    for (int32_t code = 0; code < merged->count; code++) {
        size_t len;
        const char *s = sx_dict_str(merged, code, &len);
        if (sx_dict_find(&t->dicts[SX_COL_METRIC], s, len) >= 0)
            continue;
        for (size_t k = 0; k < n; k++) {
            parser *p = parts[k];
            /* the parts' own dictionaries are still there: only codes moved */
            int32_t own = k == 0 ? (code < first_part_ofs ? code : -1)
                                 : sx_dict_find(&p->t->dicts[SX_COL_PART_OF], s, len);
            if (own < 0)
                continue;
            char quoted[QUOTE_BUF];
            *failed = k;
            return sxp_fail_pos(p, p->part_of_at[own],
                                "expected part_of to name a metric of one of the files, found %s",
                                sxp_quote_text(quoted, s, len));
        }
    }
    return SX_OK;
}

/* The other files' ignored header fields join the first's, each name once,
 * in the order the files first have it. */
static sx_status
merge_ignored(parser **parts, size_t n)
{
    sx_table *ta = parts[0]->t;
    for (size_t k = 1; k < n; k++) {
        const sx_table *tb = parts[k]->t;
        for (int32_t i = 0; i < tb->nignored; i++) {
            const sx_ignored *g = &tb->ignored[i];
            int32_t j = 0;
            while (j < ta->nignored && !(ta->ignored[j].len == g->len &&
                                         memcmp(ta->ignored[j].name, g->name, g->len) == 0))
                j++;
            if (j < ta->nignored)
                continue;
            sx_status st = sxp_add_ignored(ta, g->name, g->len, g->near);
            if (st != SX_OK)
                return st == SX_ERR_NOMEM ? sxp_fail_nomem(parts[0])
                                          : sxp_fail_limit(parts[0], "the headers are too large");
        }
    }
    return SX_OK;
}

sx_status
sxp_merge_parts(parser **parts, size_t n, int same_input, const char *const *names, int nthreads,
                size_t *failed)
{
    parser *a = parts[0];
    sx_table *ta = a->t;
    int32_t **maps = NULL;
    int64_t *first = NULL;
    void **src = NULL;
    uint8_t *from_width = NULL;
    int32_t **col_maps = NULL;
    sx_status st = SX_OK;
    /* the first part's own part_of codes, before the others' join them */
    int32_t first_part_ofs = ta->dicts[SX_COL_PART_OF].count;
    *failed = 0;
    int64_t total = 0;
    for (size_t k = 0; k < n; k++)
        total += parts[k]->t->nrows;
    if (total > MAX_ROWS) { /* each part fits, the whole does not */
        st = sxp_fail_limit(a, "the inputs have more than %ld rows", (long)MAX_ROWS);
        goto error;
    }
    /* n >= 1: parts[0] is the table the others merge into */
    /* NOLINTNEXTLINE(clang-analyzer-optin.portability.UnixAPI) */
    maps = calloc(n * SX_NSTRCOLS, sizeof *maps);
    first = calloc(n, sizeof *first);
    /* NOLINTNEXTLINE(bugprone-sizeof-expression) */
    src = calloc(n, sizeof *src);
    from_width = calloc(n, sizeof *from_width);
    /* NOLINTNEXTLINE(bugprone-sizeof-expression) */
    col_maps = calloc(n, sizeof *col_maps);
    if (!maps || !first || !src || !from_width || !col_maps) {
        st = sxp_fail_nomem(a);
        goto error;
    }
    for (size_t k = 1; k < n; k++)
        first[k] = first[k - 1] + parts[k - 1]->t->nrows;

    /* dictionaries first, so the code columns are written once at their
     * final width */
    for (int c = 0; c < SX_NSTRCOLS; c++) {
        int any = 0;
        for (size_t k = 0; k < n; k++)
            any |= parts[k]->t->codes[c] != NULL;
        if (!any)
            continue;
        /* a present column's dictionary has offsets[0] even when empty */
        if (!ta->dicts[c].offsets && !(ta->dicts[c].offsets = calloc(1, sizeof(int32_t)))) {
            st = sxp_fail_nomem(a);
            goto error;
        }
        for (size_t k = 1; k < n; k++)
            if ((st = merge_dict(a, parts[k], (sx_strcol)c, same_input,
                                 &maps[k * SX_NSTRCOLS + c])) != SX_OK)
                goto error;
    }
    /* empty period_starts counted before the parts' arrays are freed */
    int64_t period_start_nulls = 0, any_period_start = 0;
    for (size_t k = 0; k < n; k++) {
        const sx_table *tb = parts[k]->t;
        period_start_nulls += tb->period_start ? tb->period_start_nulls : tb->nrows;
        any_period_start |= tb->period_start != NULL;
    }
    MERGE_FIXED(project, 0, 0);
    MERGE_FIXED(value, 0.0, 0);
    MERGE_FIXED(is_int, 0, 0);
    MERGE_FIXED(as_of, 0, 0);
    MERGE_FIXED(period_start, SX_NO_DATE, 1);
    ta->period_start_nulls = any_period_start ? period_start_nulls : 0;
    for (int c = 0; c < SX_NSTRCOLS; c++) {
        int any = 0;
        for (size_t k = 0; k < n; k++)
            any |= parts[k]->t->codes[c] != NULL;
        if (any && (st = merge_codes(parts, n, total, first, (sx_strcol)c, maps, src, from_width,
                                     col_maps, nthreads)) != SX_OK)
            goto error;
    }

    for (size_t k = 1; k < n; k++) {
        conflict found = {{0, 0}, 0, 0, 0, 0};
        if ((st = sxp_join_projects(a, parts[k], (uint32_t)k, &maps[k * SX_NSTRCOLS], &found)) !=
            SX_OK)
            goto error;
        if (found.at.line != 0) {
            *failed = k;
            /* pieces of one input: the caller parses it again in one pass,
             * which says where */
            st = same_input ? SX_ERR_PARSE : report_conflict(parts, parts[k], &found, names);
            goto error;
        }
    }
    ta->nrows = total;
    a->cap_rows = total;
    if (!same_input && (st = check_part_of(parts, n, first_part_ofs, failed)) == SX_OK)
        st = merge_ignored(parts, n);
error:
    if (maps)
        for (size_t i = 0; i < n * SX_NSTRCOLS; i++)
            free(maps[i]);
    free(maps);
    free(first);
    free(src);
    free(from_width);
    free(col_maps);
    return st;
}
