/* A minimal test harness for the C core: CHECK records a failure and goes on;
 * CHECK_DONE() prints the tally in the plain "N passed, N failed" form and
 * gives main its exit status; CHECK_STRIDE() says how many of the generated
 * or corpus inputs a long test takes. */
#ifndef SHANXI_TESTS_CHECK_H
#define SHANXI_TESTS_CHECK_H

#include <stdio.h>
#include <stdlib.h>

static int check_passed, check_failed;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (cond) {                                                                                \
            check_passed++;                                                                        \
        } else {                                                                                   \
            check_failed++;                                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

/* Every CHECK_STRIDE()-th input of the tests that loop over many generated
 * or corpus inputs (SHANXI_TEST_STRIDE, default 1: all of them).  Under
 * valgrind's memcheck, which runs them some fifty times slower and every
 * thread in turn, tools/ci/valgrind.sh sets 8: the plain, ASan and TSan
 * builds still run every input. */
static inline int
check_stride(void)
{
    const char *s = getenv("SHANXI_TEST_STRIDE");
    int n = s ? atoi(s) : 1;
    return n < 1 ? 1 : n;
}
#define CHECK_STRIDE() check_stride()

#define CHECK_DONE()                                                                               \
    (printf("%d passed, %d failed\n", check_passed, check_failed), check_failed ? 1 : 0)

#endif
