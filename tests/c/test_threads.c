/* The core's shared state under threads: a table's reference count taken
 * and dropped from many threads at once (as Arrow streams do, on whatever
 * thread their consumer runs), the last reference dropped off the main
 * thread, the parser's process-wide "C" locale made by racing threads, and
 * a table's first Arrow exports racing to make what is kept with it.
 * Run under ASan here; a lost update shows as a wrong count, a double free
 * or a leak. */
#include "check.h"
#include "shanxi/arrow.h"
#include "shanxi/core.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NTHREADS 8
#define ROUNDS   200000

/* Start n threads on fn(arg) at once (behind a barrier, so they overlap)
 * and wait for them all; 0 if a thread could not be started. */
typedef struct start_gate {
    pthread_barrier_t barrier;
    void *(*fn)(void *);
    void *arg;
} start_gate;

static void *
gated(void *gate_arg)
{
    start_gate *g = gate_arg;
    pthread_barrier_wait(&g->barrier);
    return g->fn(g->arg);
}

static int
run_threads(int n, void *(*fn)(void *), void *arg)
{
    pthread_t threads[NTHREADS];
    start_gate g;
    g.fn = fn;
    g.arg = arg;
    if (n > NTHREADS || pthread_barrier_init(&g.barrier, NULL, (unsigned)n) != 0)
        return 0;
    int started = 0;
    for (; started < n; started++)
        if (pthread_create(&threads[started], NULL, gated, &g) != 0)
            break;
    if (started < n) {
        /* the started ones wait at the barrier for ever: give up loudly */
        fprintf(stderr, "run_threads: only %d of %d threads started\n", started, n);
        exit(2);
    }
    for (int i = 0; i < n; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&g.barrier);
    return 1;
}

static sx_table *
small_table(void)
{
    static const char csv[] = "project,metric,value,unit,as_of\n"
                              "1,a,1,CNY,2022-01-01\n"
                              "2,b,2.5,CNY,2022-02-01\n";
    sx_table *t = NULL;
    return sx_table_parse(csv, sizeof csv - 1, &t, NULL) == SX_OK ? t : NULL;
}

static void *
take_and_drop(void *arg)
{
    sx_table *t = arg;
    for (int i = 0; i < ROUNDS; i++) {
        sx_table_incref(t);
        sx_table_incref(t);
        sx_table_decref(t);
        sx_table_decref(t);
    }
    return NULL;
}

/* Balanced increfs and decrefs from every thread leave the count as it was. */
static void
test_refcount_balanced(void)
{
    sx_table *t = small_table();
    CHECK(t != NULL);
    if (!t)
        return;
    CHECK(run_threads(NTHREADS, take_and_drop, t));
    CHECK(t->refcount == 1);
    sx_table_decref(t);
}

typedef struct handoff {
    sx_table *t;
} handoff;

/* Each thread owns one reference, handed to it before it starts, and drops
 * it after hammering: the table is freed by whichever thread is last. */
static void *
hammer_then_drop(void *arg)
{
    handoff *h = arg;
    take_and_drop(h->t);
    sx_table_decref(h->t);
    return NULL;
}

static void
test_refcount_last_drop_on_a_thread(void)
{
    handoff h = {small_table()};
    CHECK(h.t != NULL);
    if (!h.t)
        return;
    for (int i = 0; i < NTHREADS; i++)
        sx_table_incref(h.t);
    CHECK(h.t->refcount == NTHREADS + 1);
    sx_table_decref(h.t); /* the threads' references keep it alive */
    CHECK(run_threads(NTHREADS, hammer_then_drop, &h));
    /* freed by now: LeakSanitizer would report it otherwise, ASan a second
     * free */
}

/* Decimals the fast paths cannot round go through strtod in the "C"
 * locale, which the first such parse makes: here, threads race to make it. */
static void *
parse_long_decimals(void *arg)
{
    static const char csv[] = "project,metric,value,unit,as_of\n"
                              "1,a,0.1000000000000000055511151231257827,CNY,2022-01-01\n"
                              "1,a,123456789012345678901234567890.5,CNY,2022-01-01\n";
    atomic_int *failures = arg;
    for (int i = 0; i < 200; i++) {
        sx_table *t = NULL;
        if (sx_table_parse(csv, sizeof csv - 1, &t, NULL) != SX_OK || t->nrows != 2 ||
            t->value[0] != 0.1 || t->value[1] != 123456789012345678901234567890.5)
            atomic_fetch_add(failures, 1);
        sx_table_decref(t);
    }
    return NULL;
}

static void
test_c_locale_race(void)
{
    atomic_int failures = 0;
    CHECK(run_threads(NTHREADS, parse_long_decimals, &failures));
    CHECK(atomic_load(&failures) == 0);
}

/* Threads export one fresh table at once: each first export makes the
 * table's buffers (its shares and the Arrow export's), one is published and
 * the others freed, and every batch points at the published ones. */
typedef struct first_exports {
    sx_table *t;
    atomic_int next;
    atomic_int failures;
    const void *zeros[NTHREADS]; /* an absent column's values, per thread */
    const void *shares[NTHREADS];
} first_exports;

static void *
export_once(void *arg)
{
    first_exports *f = arg;
    int me = atomic_fetch_add(&f->next, 1);
    struct ArrowArrayStream stream;
    struct ArrowArray batch;
    if (sx_arrow_export(f->t, "", &stream) != SX_OK) {
        atomic_fetch_add(&f->failures, 1);
        return NULL;
    }
    if (stream.get_next(&stream, &batch) != 0 || batch.n_children != 13) {
        atomic_fetch_add(&f->failures, 1);
    } else {
        f->zeros[me] = batch.children[3]->buffers[1]; /* category: absent */
        f->shares[me] = batch.children[12]->buffers[1];
        batch.release(&batch);
    }
    stream.release(&stream);
    return NULL;
}

static void
test_first_exports_race(void)
{
    for (int round = 0; round < 50; round++) {
        first_exports f;
        memset(&f, 0, sizeof f);
        f.t = small_table();
        CHECK(f.t != NULL);
        if (!f.t)
            return;
        atomic_init(&f.next, 0);
        atomic_init(&f.failures, 0);
        CHECK(run_threads(NTHREADS, export_once, &f));
        CHECK(atomic_load(&f.failures) == 0);
        for (int i = 0; i < NTHREADS; i++) {
            CHECK(f.zeros[i] != NULL && f.zeros[i] == f.zeros[0]);
            CHECK(f.shares[i] != NULL && f.shares[i] == f.shares[0]);
        }
        CHECK(f.t->refcount == 1);
        sx_table_decref(f.t);
    }
}

int
main(void)
{
    test_c_locale_race(); /* first: nothing has made the locale yet */
    test_refcount_balanced();
    test_refcount_last_drop_on_a_thread();
    test_first_exports_race();
    sx_arrow_free_spares(); /* memcheck reports what is reachable at exit */
    return CHECK_DONE();
}
