/*
 * jobs.c -- numbered jobs run on a few threads, this one among them
 * (jobs.h): the one place the core starts threads that end before the
 * caller goes on.  Each thread takes the next job no thread has taken, so
 * uneven jobs keep every thread busy; a failed job keeps later ones from
 * starting.  A thread that cannot be started leaves its share to the
 * others, and without SX_THREADS every job runs on the calling thread.
 * With a poll, the calling thread waits and polls while helpers work
 * (multifile.c: signals looked for while files are read).
 */
#include <stddef.h>

#include "jobs.h"
#include "platform.h" /* SX_THREADS */

#ifdef SX_THREADS
#include <time.h>
#include <unistd.h> /* sysconf */
#endif

/* More threads than this buy nothing for the core's jobs. */
#define MAX_THREADS 64
/* How often a thread waiting with a poll calls it. */
#define POLL_NS     20000000L

int
sxp_thread_count(void)
{
#if defined(SX_PARSE_THREADS)
    return SX_PARSE_THREADS;
#elif defined(SX_THREADS) && defined(_SC_NPROCESSORS_ONLN)
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (int)n;
#else
    return 1;
#endif
}

typedef struct queue {
    sxp_jobs *jobs;
    size_t next;      /* the next job no thread has taken */
    size_t first_bad; /* the lowest job known to fail (n: none) */
#ifdef SX_THREADS
    int shared; /* helpers may run: next and first_bad under lock */
    pthread_mutex_t lock;
    pthread_cond_t idle; /* with a poll: signalled as each helper finishes */
    int finished;        /* helpers finished (under lock) */
#endif
} queue;

static void
hold(queue *q)
{
#ifdef SX_THREADS
    if (q->shared)
        pthread_mutex_lock(&q->lock);
#else
    (void)q;
#endif
}

static void
release(queue *q)
{
#ifdef SX_THREADS
    if (q->shared)
        pthread_mutex_unlock(&q->lock);
#else
    (void)q;
#endif
}

/* Take jobs until none is left; jobs after one known to fail are not
 * worth running, since only the first failure counts. */
static void
take_jobs(queue *q)
{
    size_t n = q->jobs->n;
    for (;;) {
        hold(q);
        size_t i = q->next < q->first_bad ? q->next++ : n;
        release(q);
        if (i >= n)
            return;
        if (q->jobs->run(q->jobs->ctx, i) != 0) {
            hold(q);
            if (i < q->first_bad)
                q->first_bad = i;
            release(q);
        }
    }
}

#ifdef SX_THREADS
/* take_jobs() on a thread of its own, saying when it is finished to a
 * caller that waits with a poll. */
static void *
helper(void *arg)
{
    queue *q = arg;
    take_jobs(q);
    if (q->jobs->poll) {
        pthread_mutex_lock(&q->lock);
        q->finished++;
        pthread_cond_signal(&q->idle);
        pthread_mutex_unlock(&q->lock);
    }
    return NULL;
}

/* Wait for the started helpers, calling poll every POLL_NS until it asks to
 * stop (the jobs then see that through their caller's own flag). */
static void
wait_polling(queue *q, int started)
{
    int stopped = 0;
    pthread_mutex_lock(&q->lock);
    while (q->finished < started) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += POLL_NS;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&q->idle, &q->lock, &until);
        if (q->finished < started && !stopped) {
            pthread_mutex_unlock(&q->lock);
            stopped = q->jobs->poll(q->jobs->ctx) != 0;
            pthread_mutex_lock(&q->lock);
        }
    }
    pthread_mutex_unlock(&q->lock);
}

/* The lock (and with a poll, the condition): 0 when there is none to be
 * had, and the jobs run on this thread. */
static int
share(queue *q)
{
    if (pthread_mutex_init(&q->lock, NULL) != 0)
        return 0;
    if (q->jobs->poll && pthread_cond_init(&q->idle, NULL) != 0) {
        pthread_mutex_destroy(&q->lock);
        return 0;
    }
    q->shared = 1;
    return 1;
}
#endif

size_t
sxp_run_jobs(sxp_jobs *jobs)
{
    queue q = {.jobs = jobs, .next = 0, .first_bad = jobs->n};
#ifdef SX_THREADS
    pthread_t threads[MAX_THREADS];
    int nthreads = jobs->threads < 0             ? 0
                   : jobs->threads > MAX_THREADS ? MAX_THREADS
                                                 : jobs->threads;
    if ((size_t)nthreads > jobs->n)
        nthreads = (int)jobs->n;
    int helpers = jobs->poll ? nthreads : nthreads - 1, started = 0;
    if (helpers > 0 && share(&q))
        while (started < helpers && pthread_create(&threads[started], NULL, helper, &q) == 0)
            started++;
    if (jobs->poll && started > 0) {
        wait_polling(&q, started);
    } else {
        /* with a poll, no helper runs: this thread polls between its steps
         * (stored only then, as helpers may read the field) */
        if (jobs->poll)
            jobs->poll_here = 1;
        take_jobs(&q);
    }
    for (int k = 0; k < started; k++)
        pthread_join(threads[k], NULL);
    if (q.shared) {
        if (jobs->poll)
            pthread_cond_destroy(&q.idle);
        pthread_mutex_destroy(&q.lock);
    }
#else
    jobs->poll_here = jobs->poll != NULL;
    take_jobs(&q);
#endif
    return q.first_bad;
}
