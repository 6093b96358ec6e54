/*
 * split.c -- a large input parsed in two halves on two threads: the first
 * half up to a line break near the middle, the rest from there, then the
 * second half's rows, strings and projects merged into the first's as if
 * one pass had read them.  Where the split cannot be trusted (it fell in a
 * quoted field, a half found an error, memory or a thread was short) the
 * caller parses in one piece instead.
 */
#include <stdlib.h>
#include <string.h>

#include "parser.h"

#ifdef SX_THREADS
/* dst (na rows of size bytes) grown to hold nb more, with src's nb rows
 * after its own: the grown array, or NULL when out of memory (dst is then
 * as it was). */
static void *
append_rows(void *dst, const void *src, int64_t na, int64_t nb, size_t size)
{
    size_t total = (size_t)(na + nb) * size;
    void *grown = realloc(dst, total ? total : 1);
    if (grown && nb > 0)
        memcpy((char *)grown + (size_t)na * size, src, (size_t)nb * size);
    return grown;
}

/* Append b's rows to a's, as if a had parsed them: b's strings join a's
 * dictionaries (codes stay in order of first appearance), its projects
 * join a's.  SX_OK, or SX_ERR_PARSE when the halves disagree about a
 * project (its key, title or category, or who owns a key): then the caller
 * parses the whole input again in one piece, which says where. */
sx_status
sxp_merge_halves(parser *a, parser *b)
{
    sx_table *ta = a->t, *tb = b->t;
    int64_t na = ta->nrows, nb = tb->nrows;
    int32_t *maps[SX_NSTRCOLS] = {NULL};
    sx_status st = SX_ERR_LIMIT;
    if (na + nb > MAX_ROWS) /* each half fits, the whole does not */
        goto error;
    st = SX_ERR_NOMEM;
    /* column by column, each of b's freed once copied, to keep the peak low */
#define APPEND(field)                                                                              \
    do {                                                                                           \
        if (ta->field) {                                                                           \
            void *grown = append_rows(ta->field, tb->field, na, nb, sizeof *ta->field);            \
            if (!grown)                                                                            \
                goto error;                                                                        \
            ta->field = grown;                                                                     \
            free(tb->field);                                                                       \
            tb->field = NULL;                                                                      \
        }                                                                                          \
    } while (0)
    APPEND(project);
    APPEND(value);
    APPEND(is_int);
    APPEND(as_of);
    APPEND(period_start);
#undef APPEND
    ta->period_start_nulls += tb->period_start_nulls;
    for (int c = 0; c < SX_NSTRCOLS; c++) {
        sx_dict *da = &ta->dicts[c];
        const sx_dict *db = &tb->dicts[c];
        if (!ta->codes[c])
            continue;
        if (!(maps[c] = malloc((size_t)(db->count > 0 ? db->count : 1) * sizeof *maps[c])))
            goto error;
        for (int32_t k = 0; k < db->count; k++) {
            size_t n;
            const char *str = sx_dict_str(db, k, &n);
            int32_t before = da->count;
            if ((st = sx_dict_intern(da, str, n, &maps[c][k])) != SX_OK)
                goto error;
            /* where a part_of is first used, for check_part_of */
            if (c == SX_COL_PART_OF && maps[c][k] == before &&
                (st = sxp_note_part_of(a, before, b->part_of_at[k])) != SX_OK)
                goto error;
        }
        st = SX_ERR_NOMEM;
        int width = ta->code_width[c];
        int wide = sxp_code_width_for(da->count);
        if (wide < width)
            wide = width;
        size_t total = (size_t)(na + nb) * (size_t)wide;
        void *codes = realloc(ta->codes[c], total ? total : 1);
        if (!codes)
            goto error;
        ta->codes[c] = codes;
        if (wide != width)
            sxp_widen_in_place(codes, width, wide, na);
        ta->code_width[c] = (uint8_t)wide;
        const void *from = tb->codes[c];
        int from_width = tb->code_width[c];
        for (int64_t i = 0; i < nb; i++) {
            /* b's column has a code for each of its nb rows (the analyzer
             * takes the allocation for one of no size) */
            int32_t code =
                from_width == 1 ? ((const int8_t *)from)[i] /* NOLINT(clang-analyzer-unix.Malloc) */
                : from_width == 2
                    ? ((const int16_t *)from)[i]  /* NOLINT(clang-analyzer-unix.Malloc) */
                    : ((const int32_t *)from)[i]; /* NOLINT(clang-analyzer-unix.Malloc) */
            sxp_put_code(codes, wide, na + i, code < 0 ? code : maps[c][code]);
        }
        free(tb->codes[c]);
        tb->codes[c] = NULL;
        ta->null_count[c] += tb->null_count[c];
    }
    ta->nrows = na + nb;
    a->cap_rows = ta->nrows;

    conflict found = {{0, 0}, 0, 0, 0, 0};
    if ((st = sxp_join_projects(a, b, 0, maps, &found)) == SX_OK && found.at.line != 0)
        st = SX_ERR_PARSE;
error:
    for (int c = 0; c < SX_NSTRCOLS; c++)
        free(maps[c]);
    return st;
}

typedef struct half_job {
    parser *ps;
    sx_status st;
} half_job;

static void *
parse_half(void *arg)
{
    half_job *job = arg;
    job->st = sxp_allocate_columns(job->ps);
    if (job->st == SX_OK)
        job->st = sxp_parse_records(job->ps);
    return NULL;
}

/* Parse a large input on two threads: the first half on this one, up to the
 * first record that starts at or after a line break near the middle, and the
 * rest on another, then merge.  Returns 1 with *out set when that worked;
 * 0 when the input is better parsed in one piece: the split fell inside a
 * quoted field (the first half's last record does not end where the second
 * half began), either half found an error (so that errors are reported
 * exactly as one pass finds them, with their line), or memory or a thread
 * was short.  Nothing is left allocated and err is not touched then. */
int
sxp_parse_in_halves(const char *buf, size_t len, const sx_parse_options *opts, sx_table **out)
{
    parser a, b;
    sx_error ea, eb;
    half_job job = {&b, SX_ERR_PARSE};
    pthread_t thread;
    int ok = 0, started = 0;
    sxp_parser_init(&a, buf, len, opts, &ea);
    sxp_parser_init(&b, buf, len, opts, &eb);
    if (sxp_header_nul(a.start, a.end) || !(a.t = sxp_new_table()) || !(b.t = sxp_new_table()) ||
        sxp_parse_header(&a) != SX_OK)
        goto error;
    const char *middle = a.p + (a.end - a.p) / 2;
    const char *nl = memchr(middle, '\n', (size_t)(a.end - middle));
    if (!nl || nl + 1 >= a.end)
        goto error;
    a.stop = b.p = nl + 1;
    b.released = (size_t)(b.p - b.buf);
    b.next_release = b.released + RELEASE_STEP;
    b.nfields = a.nfields;
    memcpy(b.column_of, a.column_of, sizeof b.column_of);
    if (!(b.roles = malloc((size_t)a.nfields)))
        goto error;
    memcpy(b.roles, a.roles, (size_t)a.nfields);
    started = pthread_create(&thread, NULL, parse_half, &job) == 0;
    if (!started)
        goto error;
    sx_status sa = sxp_allocate_columns(&a);
    if (sa == SX_OK)
        sa = sxp_parse_records(&a);
    pthread_join(thread, NULL);
    if (sa != SX_OK || job.st != SX_OK || a.p != a.stop)
        goto error;
    if (sxp_merge_halves(&a, &b) != SX_OK || sxp_finish_table(&a) != SX_OK)
        goto error;
    *out = a.t;
    a.t = NULL;
    ok = 1;
error:
    sxp_parser_free(&a);
    sxp_parser_free(&b);
    sx_table_decref(a.t);
    sx_table_decref(b.t);
    return ok;
}
#endif
