/*
 * multifile.c -- the files of one dataset parsed on a pool of threads, each
 * thread taking the next file not yet taken (jobs.c), then merged into one
 * table (merge.c) in file order.  Each file is parsed by a builder of its own:
 * read in chunks by an sx_reader (sx_table_read_many) or fed whole
 * (sx_table_parse_many), so a dataset of many files keeps every core busy
 * and never holds more than a chunk of a file it reads.
 */
#include <stdlib.h>
#include <string.h>

#include "jobs.h"
#include "parser.h"
#include "platform.h" /* sx_refcount_inc */

typedef struct pool {
    const sx_input *inputs;   /* buffers, or NULL when ... */
    const char *const *paths; /* ... files are read */
    sx_builder **fed;         /* per input, a builder the caller fed, or NULL */
    sx_builder **builders;    /* per input, once parsed (owned unless by a reader) */
    sx_reader **readers;      /* per input read from a file */
    sx_error *errs;
    int *os_errors;
    sx_status *status;
    size_t n;
    int (*poll)(void *ctx); /* the caller's (sx_table_read_many), or NULL */
    void *poll_ctx;
    sx_refcount cancel;    /* set when poll asked to stop */
    sx_parse_options opts; /* each reader's: the cancel flag when polled */
    sxp_jobs jobs;         /* one an input; poll_here: this thread reads them all */
} pool;

/* The caller's poll: nonzero, and the cancel flag set, when it asks to
 * stop (the readers then see the flag within a step). */
static int
poll_caller(void *arg)
{
    pool *pl = arg;
    if (!pl->poll(pl->poll_ctx))
        return 0;
    sx_refcount_inc(&pl->cancel);
    return 1;
}

/* Input i fed whole to a builder of its own. */
static sx_status
parse_buffer(pool *pl, size_t i)
{
    const sx_input *in = &pl->inputs[i];
    if (sx_builder_new(in->opts, &pl->builders[i]) != SX_OK)
        return sx_error_set(&pl->errs[i], SX_ERR_NOMEM, "out of memory while parsing");
    size_t used;
    return sx_builder_feed(pl->builders[i], in->buf ? in->buf : "", in->len, 1, &used,
                           &pl->errs[i]);
}

#ifndef _WIN32
/* File i read to its end in chunks by a reader of its own. */
static sx_status
read_file(pool *pl, size_t i)
{
    sx_status st = sx_reader_open(pl->paths[i], &pl->opts, &pl->readers[i], &pl->os_errors[i]);
    if (st != SX_OK)
        return sx_error_set(&pl->errs[i], st,
                            st == SX_ERR_NOMEM ? "out of memory while reading" : "cannot open");
    int done = 0;
    while (!done) { /* an interrupted read is a step that is not done */
        if ((st = sx_reader_step(pl->readers[i], &done, &pl->errs[i], &pl->os_errors[i])) != SX_OK)
            return st; /* SX_ERR_CANCELLED once the flag is set */
        if (pl->jobs.poll_here)
            poll_caller(pl);
    }
    pl->builders[i] = sxp_reader_builder(pl->readers[i]);
    return SX_OK;
}
#else
static sx_status
read_file(pool *pl, size_t i)
{
    return sx_error_set(&pl->errs[i], SX_ERR_VALUE, "files are read through the binding here");
}
#endif

/* Input i parsed (job i of the pool): nonzero when it failed. */
static int
take_input(void *arg, size_t i)
{
    pool *pl = arg;
    pl->status[i] = pl->builders[i] ? SX_OK /* fed */
                    : pl->paths     ? read_file(pl, i)
                                    : parse_buffer(pl, i);
    if (pl->status[i] == SX_OK)
        return 0;
    pl->errs[i].status = pl->status[i];
    return 1;
}

/* Parse or read every input on the pool, then merge them in order. */
static sx_status
run_many(pool *pl, const char *const *names, int nthreads, sx_table **out, sx_error *e,
         size_t *failed, int *os_error)
{
    size_t n = pl->n;
    sx_status st = SX_ERR_NOMEM;
    parser **parts = NULL;
    /* arrays of pointers to structs: sizeof *p is meant */
    /* NOLINTNEXTLINE(bugprone-sizeof-expression) */
    pl->builders = calloc(n, sizeof *pl->builders);
    /* NOLINTNEXTLINE(bugprone-sizeof-expression) */
    pl->readers = calloc(n, sizeof *pl->readers);
    pl->errs = calloc(n, sizeof *pl->errs);
    pl->os_errors = calloc(n, sizeof *pl->os_errors);
    pl->status = calloc(n, sizeof *pl->status);
    /* NOLINTNEXTLINE(bugprone-sizeof-expression) */
    parts = calloc(n, sizeof *parts);
    if (!pl->builders || !pl->readers || !pl->errs || !pl->os_errors || !pl->status || !parts) {
        sx_error_set(e, SX_ERR_NOMEM, "out of memory while parsing");
        goto done;
    }
    for (size_t i = 0; pl->fed && i < n; i++) { /* now the pool's to free */
        pl->builders[i] = pl->fed[i];
        pl->fed[i] = NULL;
    }
    int asked = nthreads;
    if (nthreads <= 0)
        nthreads = sxp_thread_count();
    if ((size_t)nthreads > n)
        nthreads = (int)n;
    /* A cap of threads holds for the whole: a large file is read in parts
     * on the threads the pool leaves it, and a cap of one reads everything
     * on this thread (polling between its steps). */
    if (asked > 0)
        pl->opts.threads = asked / nthreads;
    else if (nthreads > 1)
        pl->opts.threads = sxp_thread_count() / nthreads;
    /* with a poll, this thread polls while nthreads others read, unless
     * one thread was asked for: then it reads them all itself */
    pl->jobs = (sxp_jobs){.n = n,
                          .run = take_input,
                          .ctx = pl,
                          .threads = asked == 1 ? 0 : nthreads,
                          .poll = pl->poll ? poll_caller : NULL};
    size_t first_bad = sxp_run_jobs(&pl->jobs);
    if (sx_refcount_get(&pl->cancel)) { /* even when every file was read by then */
        st = sx_error_set(e, SX_ERR_CANCELLED, "cancelled");
        goto done;
    }
    if (first_bad < n) {
        *failed = first_bad;
        *e = pl->errs[first_bad];
        *os_error = pl->os_errors[first_bad];
        st = pl->status[first_bad];
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        parts[i] = sxp_builder_parser(pl->builders[i]);
        parts[i]->err = &pl->errs[i];
    }
    size_t where = 0;
    if ((st = sxp_merge_parts(parts, n, 0, names, nthreads, &where)) != SX_OK) {
        *failed = where;
        *e = pl->errs[where];
        goto done;
    }
    st = sx_builder_finish(pl->builders[0], out, e);
done:
    for (size_t i = 0; pl->builders && i < n; i++) {
        if (pl->readers && pl->readers[i])
            sx_reader_free(pl->readers[i]); /* frees its builder */
        else
            sx_builder_free(pl->builders[i]);
    }
    for (size_t i = 0; pl->fed && i < n; i++)
        sx_builder_free(pl->fed[i]); /* not taken: the arrays were not there */
    free(pl->builders);
    free(pl->readers);
    free(pl->errs);
    free(pl->os_errors);
    free(pl->status);
    free(parts);
    return st;
}

sx_status
sx_table_parse_many(const sx_input *inputs, size_t n, const char *const *names, int nthreads,
                    sx_table **out, sx_error *err, size_t *failed)
{
    sx_error local = {0};
    sx_error *e = err ? err : &local;
    memset(e, 0, sizeof *e);
    *out = NULL;
    *failed = 0;
    if (n == 0)
        return sx_error_set(e, SX_ERR_VALUE, "expected at least one input");
    if (n == 1) /* one input may still use several threads */
        return sx_table_parse_with(inputs[0].buf, inputs[0].len, inputs[0].opts, out, e);
    pool pl;
    memset(&pl, 0, sizeof pl);
    pl.inputs = inputs;
    pl.n = n;
    int os_error = 0;
    return run_many(&pl, names, nthreads, out, e, failed, &os_error);
}

sx_status
sx_table_read_many_fed(const char *const *paths, sx_builder **fed, size_t n,
                       const char *const *names, int nthreads, int (*poll)(void *ctx),
                       void *poll_ctx, sx_table **out, sx_error *err, size_t *failed, int *os_error)
{
    sx_error local = {0};
    sx_error *e = err ? err : &local;
    memset(e, 0, sizeof *e);
    *out = NULL;
    *failed = 0;
    *os_error = 0;
    if (n == 0)
        return sx_error_set(e, SX_ERR_VALUE, "expected at least one input");
    pool pl;
    memset(&pl, 0, sizeof pl);
    pl.paths = paths;
    pl.fed = fed;
    pl.n = n;
    pl.poll = poll;
    pl.poll_ctx = poll_ctx;
    sx_refcount_init(&pl.cancel, 0);
    pl.opts.cancel = poll ? &pl.cancel : NULL;
    return run_many(&pl, names, nthreads, out, e, failed, os_error);
}

#ifndef _WIN32
sx_status
sx_table_read_many(const char *const *paths, size_t n, const char *const *names, int nthreads,
                   int (*poll)(void *ctx), void *poll_ctx, sx_table **out, sx_error *err,
                   size_t *failed, int *os_error)
{
    return sx_table_read_many_fed(paths, NULL, n, names, nthreads, poll, poll_ctx, out, err, failed,
                                  os_error);
}
#endif
