/*
 * jobs.h -- private to the core: numbered jobs run on a few threads
 * (jobs.c), the one way the core spreads work over threads that all end
 * before the caller goes on (merge.c, multifile.c, split.c, aggregate.c).
 */
#ifndef SHANXI_CORE_JOBS_H
#define SHANXI_CORE_JOBS_H

#include <stddef.h>

#include "internal.h" /* SX_INTERNAL_BEGIN */

SX_INTERNAL_BEGIN

/* Jobs 0..n-1, each run once, taken in order by whichever thread is free. */
typedef struct sxp_jobs {
    size_t n;
    /* Runs job i with ctx; nonzero: it failed, and jobs after it are not
     * started (those before it still are: the lowest failure counts). */
    int (*run)(void *ctx, size_t i);
    void *ctx;
    /* The most threads that run jobs at once: without a poll this one is
     * among them (1 or less: it alone); with a poll, see below. */
    int threads;
    /* Or NULL.  With a poll, this thread runs no job while others do: it
     * starts `threads` helpers (0: none) and calls poll(ctx) every 20 ms
     * until they are done or it returns nonzero.  Where no helper runs,
     * this thread runs every job itself and poll_here is set before the
     * first: run must then call poll between its own steps. */
    int (*poll)(void *ctx);
    int poll_here;
} sxp_jobs;

/* Run every job (up to the first that fails): on up to jobs->threads
 * threads where the core has threads (SX_THREADS), else on this one.  A
 * thread that cannot be started leaves its share to the others: fewer
 * threads is slower, never wrong.  Returns the lowest job that failed, or
 * n when none did. */
size_t sxp_run_jobs(sxp_jobs *jobs);

/* The threads a pool may use: the machine's cores (at most 64), at least 1. */
int sxp_thread_count(void);

SX_INTERNAL_END

#endif
