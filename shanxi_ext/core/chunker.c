/*
 * chunker.c -- an input parsed into tables of a bounded number of rows
 * (sx_chunker, core.h), for aggregating files larger than memory.
 *
 * One builder parses the whole input, as load() would, so every error
 * (a field, a project's key, title or category that disagrees with an
 * earlier row's, a part_of naming no metric) is found where and as one
 * pass finds it.  Taking a chunk copies the rows parsed so far into a
 * table of their own and empties the builder's columns, keeping its
 * dictionaries and project states: memory is one chunk's rows (twice,
 * while they are copied) plus the distinct strings, whatever the input's
 * size.  The taken table's dictionaries are copies of the builder's, so
 * codes agree, and its projects are the states so far, so a filter
 * resolves in it as in the whole table when the rows so far have named
 * what it names (the caller checks that against the finished table).
 */
#include <stdlib.h>
#include <string.h>

#include "parser.h"

/* Room past one chunk: a read's worth of rows is parsed before a take. */
#define READ_SLACK  ((uint64_t)4 << 20)
/* The most a fed input (of a size not known) reserves for: a larger chunk
 * grows its columns as load() does, rather than failing to reserve room
 * for rows the input may not have. */
#define FED_RESERVE ((uint64_t)64 << 20)

struct sx_chunker {
    sx_builder *b;
    sx_reader *r;      /* reading a file until it is fed, else NULL */
    sx_table *seed;    /* a reference, or NULL */
    uint64_t taken_at; /* the builder's offset at the last take */
    int32_t *late;     /* sorted project numbers (sx_chunker_late) */
    size_t nlate, late_cap;
};

static sx_status
chunker_alloc(sx_table *seed, sx_chunker **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return SX_ERR_NOMEM;
    if (seed) {
        sx_table_incref(seed);
        (*out)->seed = seed;
    }
    return SX_OK;
}

sx_status
sx_chunker_new(const sx_parse_options *opts, sx_table *seed, uint64_t chunk_bytes, sx_chunker **out)
{
    sx_status st = chunker_alloc(seed, out);
    if (st != SX_OK)
        return st;
    if ((st = sx_builder_new(opts, &(*out)->b)) != SX_OK) {
        sx_chunker_free(*out);
        *out = NULL;
        return st;
    }
    sx_builder_expect((*out)->b,
                      (chunk_bytes < FED_RESERVE ? chunk_bytes : FED_RESERVE) + READ_SLACK);
    return SX_OK;
}

sx_builder *
sx_chunker_builder(sx_chunker *c)
{
    return c->b;
}

uint64_t
sx_chunker_ready(const sx_chunker *c)
{
    return sxp_builder_offset(c->b) - c->taken_at;
}

void
sx_chunker_late(const sx_chunker *c, const int32_t **numbers, size_t *n)
{
    *numbers = c->late;
    *n = c->nlate;
}

/* n bytes at src copied, or NULL when out of memory.  calloc, so that
 * even a copy of nothing is defined memory (clang-analyzer follows callers
 * that read it only when n > 0 down the n == 0 path). */
static void *
copy_of(const void *src, size_t n)
{
    void *dst = calloc(n ? n : 1, 1);
    if (dst && n)
        memcpy(dst, src, n);
    return dst;
}

/* The same for a column array (bigalloc.c). */
static void *
column_copy_of(const void *src, size_t n)
{
    void *dst = sx_big_alloc(n);
    if (dst && n)
        memcpy(dst, src, n);
    return dst;
}

/* Project `number` noted late, once. */
static sx_status
note_late(sx_chunker *c, int32_t number)
{
    size_t lo = 0, hi = c->nlate;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->late[mid] < number)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < c->nlate && c->late[lo] == number)
        return SX_OK;
    if (c->nlate == c->late_cap) {
        size_t cap = sx_grown_capacity(c->late_cap, c->nlate + 1, 16);
        int32_t *grown = realloc(c->late, cap * sizeof *grown);
        if (!grown)
            return SX_ERR_NOMEM;
        c->late = grown;
        c->late_cap = cap;
    }
    memmove(c->late + lo + 1, c->late + lo, (c->nlate - lo) * sizeof *c->late);
    c->late[lo] = number;
    c->nlate++;
    return SX_OK;
}

/* A chunk of an input without the category column gets one of empty
 * fields: load() fills those rows from the project's category another
 * input gives, so the seed fills them and late ones are noted, as for
 * empty fields. */
static sx_status
add_empty_category(sx_table *t)
{
    sx_dict *d = &t->dicts[SX_COL_CATEGORY];
    if (t->codes[SX_COL_CATEGORY])
        return SX_OK;
    if (!(t->codes[SX_COL_CATEGORY] = sx_big_alloc((size_t)(t->nrows ? t->nrows : 1))))
        return SX_ERR_NOMEM;
    t->code_width[SX_COL_CATEGORY] = 1;
    for (int64_t r = 0; r < t->nrows; r++)
        sxp_put_code(t->codes[SX_COL_CATEGORY], 1, r, SX_NULL_CODE);
    t->null_count[SX_COL_CATEGORY] = t->nrows;
    /* a present column's dictionary always has its offsets[0] */
    if (!d->offsets && !(d->offsets = calloc(1, sizeof *d->offsets)))
        return SX_ERR_NOMEM;
    return SX_OK;
}

/* Projects without a category so far take the seed's, interned in t. */
static sx_status
apply_seed(const sx_table *seed, sx_table *t, project_state *projects, size_t n)
{
    if (!seed || !t->codes[SX_COL_CATEGORY] || !seed->codes[SX_COL_CATEGORY])
        return SX_OK;
    for (size_t i = 0; i < n; i++) {
        if (projects[i].attr[ATTR_CATEGORY] != SX_NULL_CODE)
            continue;
        int32_t k = sx_project_index(seed, projects[i].number);
        if (k < 0 || seed->projects[k].category == SX_NULL_CODE)
            continue;
        size_t len;
        const char *s =
            sx_dict_str(&seed->dicts[SX_COL_CATEGORY], seed->projects[k].category, &len);
        int32_t code;
        sx_status st = sx_dict_intern(&t->dicts[SX_COL_CATEGORY], s, len, &code);
        if (st != SX_OK)
            return st;
        projects[i].attr[ATTR_CATEGORY] = code;
    }
    /* interning may have widened what the codes need */
    int width = sxp_code_width_for(t->dicts[SX_COL_CATEGORY].count);
    if (width > t->code_width[SX_COL_CATEGORY]) {
        void *codes =
            sx_big_realloc(t->codes[SX_COL_CATEGORY], (size_t)(t->nrows ? t->nrows : 1) * width);
        if (!codes)
            return SX_ERR_NOMEM;
        sxp_widen_in_place(codes, t->code_width[SX_COL_CATEGORY], width, t->nrows);
        t->codes[SX_COL_CATEGORY] = codes;
        t->code_width[SX_COL_CATEGORY] = (uint8_t)width;
    }
    return SX_OK;
}

/* The source's rows and every string it has seen, copied into t. */
static sx_status
copy_rows(const sx_table *src, sx_table *t)
{
    size_t n = (size_t)src->nrows;
    t->nrows = src->nrows;
    if (!(t->project = column_copy_of(src->project, n * sizeof *t->project)) ||
        !(t->value = column_copy_of(src->value, n * sizeof *t->value)) ||
        !(t->is_int = column_copy_of(src->is_int, n * sizeof *t->is_int)) ||
        !(t->as_of = column_copy_of(src->as_of, n * sizeof *t->as_of)))
        return SX_ERR_NOMEM;
    if (src->period_start &&
        !(t->period_start = column_copy_of(src->period_start, n * sizeof *t->period_start)))
        return SX_ERR_NOMEM;
    t->period_start_nulls = src->period_start_nulls;
    for (int c = 0; c < SX_NSTRCOLS; c++) {
        if (!src->codes[c])
            continue;
        if (!(t->codes[c] = column_copy_of(src->codes[c], n * src->code_width[c])))
            return SX_ERR_NOMEM;
        t->code_width[c] = src->code_width[c];
        t->null_count[c] = src->null_count[c];
        /* a present column's dictionary always has its offsets[0], even
         * when it holds no string yet */
        if (!(t->dicts[c].offsets = calloc(1, sizeof *t->dicts[c].offsets)))
            return SX_ERR_NOMEM;
        for (int32_t k = 0; k < src->dicts[c].count; k++) {
            size_t len;
            const char *s = sx_dict_str(&src->dicts[c], k, &len);
            int32_t code;
            sx_status st = sx_dict_intern(&t->dicts[c], s, len, &code);
            if (st != SX_OK)
                return st;
        }
    }
    return SX_OK;
}

sx_status
sx_chunker_take(sx_chunker *c, sx_table **out, sx_error *err)
{
    sx_error local = {0};
    sx_error *e = err ? err : &local;
    *out = NULL;
    c->nlate = 0;
    parser *ps = sxp_builder_parser(c->b);
    sx_table *src = ps->t;
    c->taken_at = sxp_builder_offset(c->b);
    if (!src || src->nrows == 0) {
        if (src && sxp_builder_fed(c->b))
            sxp_shrink_columns(ps); /* kept until the other files are read: no room for rows */
        return SX_OK;
    }
    parser tmp;
    sxp_parser_init(&tmp, NULL, 0, NULL, e);
    sx_status st = SX_ERR_NOMEM;
    if (!(tmp.t = sxp_new_table()) || copy_rows(src, tmp.t) != SX_OK ||
        add_empty_category(tmp.t) != SX_OK ||
        !(tmp.projects = copy_of(ps->projects, ps->nprojects * sizeof *ps->projects)))
        goto error;
    tmp.nprojects = ps->nprojects;
    if (apply_seed(c->seed, tmp.t, tmp.projects, tmp.nprojects) != SX_OK)
        goto error;
    if ((st = sxp_finish_chunk(&tmp)) != SX_OK)
        goto error;
    sx_table *t = tmp.t;
    if (t->codes[SX_COL_CATEGORY] && t->null_count[SX_COL_CATEGORY] > 0) {
        st = SX_ERR_NOMEM;
        for (int64_t r = 0; r < t->nrows; r++)
            if (sx_code_at(t, SX_COL_CATEGORY, r) == SX_NULL_CODE &&
                note_late(c, t->project[r]) != SX_OK)
                goto error;
    }
    /* the builder goes on with empty columns and all it knows */
    src->nrows = 0;
    memset(src->null_count, 0, sizeof src->null_count);
    src->period_start_nulls = 0;
    if (sxp_builder_fed(c->b))
        sxp_shrink_columns(ps);
    *out = t;
    tmp.t = NULL;
    st = SX_OK;
error:
    if (st == SX_ERR_NOMEM)
        sx_error_set(e, st, "out of memory while taking a chunk");
    sxp_parser_free(&tmp);
    sx_table_decref(tmp.t);
    return st;
}

sx_status
sx_chunkers_finish(sx_chunker *const *c, size_t n, const char *const *names, sx_table **out,
                   sx_error *err, size_t *failed)
{
    *out = NULL;
    *failed = 0;
    if (n == 0)
        return sx_error_set(err, SX_ERR_VALUE, "expected at least one input");
    for (size_t i = 0; i < n; i++)
        if (!c[i]) { /* an input never read: a caller's error, not a crash */
            *failed = i;
            return sx_error_set(err, SX_ERR_VALUE, "an input was not read");
        }
    if (n == 1)
        return sx_builder_finish(c[0]->b, out, err);
    /* arrays of pointers: sizeof *p is meant */
    /* NOLINTNEXTLINE(bugprone-sizeof-expression) */
    parser **parts = calloc(n, sizeof *parts);
    sx_error *errs = calloc(n, sizeof *errs);
    sx_status st = SX_ERR_NOMEM;
    if (!parts || !errs) {
        sx_error_set(err, st, "out of memory while parsing");
        goto error;
    }
    for (size_t i = 0; i < n; i++) {
        parts[i] = sxp_builder_parser(c[i]->b);
        parts[i]->err = &errs[i];
    }
    size_t where = 0;
    if ((st = sxp_merge_parts(parts, n, 0, names, 1, &where)) != SX_OK) {
        *failed = where;
        *err = errs[where];
        goto error;
    }
    st = sx_builder_finish(c[0]->b, out, err);
error:
    free(parts);
    free(errs);
    return st;
}

void
sx_chunker_free(sx_chunker *c)
{
    if (!c)
        return;
#ifndef _WIN32
    sx_reader_free(c->r); /* frees its builder, if it still has it */
    if (!c->r)
#endif
        sx_builder_free(c->b);
    sx_table_decref(c->seed);
    free(c->late);
    free(c);
}

#ifndef _WIN32
sx_status
sx_chunker_open(const char *path, const sx_parse_options *opts, sx_table *seed,
                uint64_t chunk_bytes, sx_chunker **out, int *os_error)
{
    *os_error = 0;
    sx_status st = chunker_alloc(seed, out);
    if (st != SX_OK)
        return st;
    size_t read_size = chunk_bytes < READ_SLACK ? (size_t)chunk_bytes : 0;
    if ((st = sxp_reader_open_serial(path, opts, chunk_bytes + READ_SLACK, read_size, &(*out)->r,
                                     os_error)) != SX_OK) {
        sx_chunker_free(*out);
        *out = NULL;
        return st;
    }
    (*out)->b = sxp_reader_builder((*out)->r);
    return SX_OK;
}

sx_status
sx_chunker_step(sx_chunker *c, int *done, sx_error *err, int *os_error)
{
    *done = 0;
    *os_error = 0;
    if (!c->r) {
        *done = 1;
        return SX_OK;
    }
    sx_status st = sx_reader_step(c->r, done, err, os_error);
    if (st == SX_OK && *done) { /* the file is fed: close it, keep the builder */
        sxp_reader_detach(c->r);
        sx_reader_free(c->r);
        c->r = NULL;
    }
    return st;
}
#endif
