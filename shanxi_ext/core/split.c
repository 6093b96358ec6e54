/*
 * split.c -- a large input parsed in parts on several threads: split at
 * line breaks into up to `threads` parts of at least half
 * SX_PARSE_PARALLEL_BYTES each, the parts parsed on as many threads
 * (jobs.c; a thread short leaves its part to the others), then the later
 * parts' rows, strings and projects merged into the first's (merge.c) as if
 * one pass had read them.  Where a split cannot be trusted (it fell in a
 * quoted field, a part found an error, memory was short) the caller parses
 * in one piece instead.  reader.c splits a file
 * the same way, with sxp_part_count.
 */
#include <stdlib.h>
#include <string.h>

#include "jobs.h"
#include "parser.h"
#include "platform.h" /* SX_THREADS */

int
sxp_part_count(uint64_t bytes, int threads)
{
    if (bytes < SX_PARSE_PARALLEL_BYTES || threads == 1)
        return 1;
    /* the machine's cores, but two at least, as a large input always had */
    int k = threads > 0 ? threads : sxp_thread_count();
    if (threads <= 0 && k < 2)
        k = 2;
    uint64_t most = bytes / (SX_PARSE_PARALLEL_BYTES / 2 > 0 ? SX_PARSE_PARALLEL_BYTES / 2 : 1);
    if ((uint64_t)k > most)
        k = (int)most;
    return k > SXP_MAX_PARTS ? SXP_MAX_PARTS : k;
}

#ifdef SX_THREADS
typedef struct part_job {
    parser ps;
    sx_error err;
} part_job;

/* Part i parsed (job i): nonzero when it failed. */
static int
parse_part(void *arg, size_t i)
{
    parser *ps = &((part_job *)arg)[i].ps;
    sx_status st = sxp_allocate_columns(ps);
    if (st == SX_OK)
        st = sxp_parse_records(ps);
    return st != SX_OK;
}

/* The parts after the first, each from the first record that starts at or
 * after a line break near its share of the input: how many parts there
 * are then (fewer where no line break is near). */
static int
plan_parts(part_job *jobs, int want)
{
    parser *a = &jobs[0].ps;
    size_t body = (size_t)(a->end - a->p);
    int k = 1;
    for (int i = 1; i < want; i++) {
        const char *at = a->p + body / (size_t)want * (size_t)i;
        if (at < jobs[k - 1].ps.p)
            at = jobs[k - 1].ps.p;
        const char *nl = memchr(at, '\n', (size_t)(a->end - at));
        if (!nl || nl + 1 >= a->end)
            break;
        parser *b = &jobs[k].ps;
        if (!(b->t = sxp_new_table()) || !(b->roles = malloc((size_t)a->nfields)))
            return 0;
        jobs[k - 1].ps.stop = b->p = nl + 1;
        b->released = (size_t)(b->p - b->buf);
        b->next_release = b->released + RELEASE_STEP;
        b->nfields = a->nfields;
        memcpy(b->column_of, a->column_of, sizeof b->column_of);
        memcpy(b->roles, a->roles, (size_t)a->nfields);
        k++;
    }
    return k;
}

/* Parse a large input in parts, each up to the first record that starts
 * at or after a line break near its share's end, a thread a part (this one
 * among them), then merge.  Returns 1 with *out set when that worked; 0
 * when the input is better parsed in one piece: it is too small to split,
 * a split fell inside a quoted field (a part's last record does not end
 * where the next part began), a part found an error (so that errors are
 * reported exactly as one pass finds them, with their line; the parts
 * after it are not started), or memory was short.  Nothing is left
 * allocated and err is not touched then. */
int
sxp_parse_in_parts(const char *buf, size_t len, const sx_parse_options *opts, sx_table **out)
{
    int want = sxp_part_count(len, opts ? opts->threads : 0);
    if (want < 2)
        return 0;
    part_job *jobs = calloc((size_t)want, sizeof *jobs);
    parser *ps[SXP_MAX_PARTS];
    int ok = 0, k = 0;
    if (!jobs)
        return 0;
    for (int i = 0; i < want; i++)
        sxp_parser_init(&jobs[i].ps, buf, len, opts, &jobs[i].err);
    parser *a = &jobs[0].ps;
    if (sxp_header_nul(a->start, a->end) || !(a->t = sxp_new_table()) ||
        sxp_parse_header(a) != SX_OK || (k = plan_parts(jobs, want)) < 2)
        goto error;
    sxp_jobs parts = {.n = (size_t)k, .run = parse_part, .ctx = jobs, .threads = k};
    if (sxp_run_jobs(&parts) < (size_t)k)
        goto error;
    for (int i = 0; i < k; i++) {
        if (i < k - 1 && jobs[i].ps.p != jobs[i].ps.stop)
            goto error;
        ps[i] = &jobs[i].ps;
    }
    size_t where;
    if (sxp_merge_parts(ps, (size_t)k, 1, NULL, k, &where) != SX_OK || sxp_finish_table(a) != SX_OK)
        goto error;
    *out = a->t;
    a->t = NULL;
    ok = 1;
error:
    for (int i = 0; i < want; i++) {
        sxp_parser_free(&jobs[i].ps);
        sx_table_decref(jobs[i].ps.t);
    }
    free(jobs);
    return ok;
}
#endif
