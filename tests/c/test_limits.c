/* Limits reached by a test build that lowers them (build/test_limits_small:
 * SX_DICT_MAX_DATA=4096 bytes of distinct text per column instead of 2 GiB,
 * and inputs of 64 bytes and more split into parts), so that what
 * happens at 2 GiB is tested without writing 2 GiB.  Built without them,
 * there is nothing to test here. */
#include "check.h"
#include "shanxi/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(SX_DICT_MAX_DATA)
/* Rows of 100-byte distinct metrics: the 41st does not fit in 4096 bytes,
 * so parsing stops on its line (42, the header being line 1) with a parse
 * error at its field, not a limit without a line. */
static void
too_much_distinct_text(size_t rows)
{
    char *csv = malloc(64 + rows * 140);
    size_t n = (size_t)sprintf(csv, "project,metric,value,unit,as_of\n");
    for (size_t i = 0; i < rows; i++)
        n += (size_t)sprintf(csv + n, "1,m%099zu,1,u,2022-01-01\n", i);
    sx_table *t = (sx_table *)1;
    sx_error e;
    sx_status st = sx_table_parse(csv, n, &t, &e);
    CHECK(st == SX_ERR_PARSE && e.status == SX_ERR_PARSE && t == NULL);
    CHECK(e.line == 42 && e.column == 3);
    CHECK(strcmp(e.message,
                 "column \"metric\" has more distinct text than a table can hold (2 GiB)") == 0);
    if (e.line != 42 || e.column != 3)
        fprintf(stderr, "at %llu:%llu: %s\n", (unsigned long long)e.line,
                (unsigned long long)e.column, e.message);
    free(csv);
}

/* 40 rows fit: the limit is where it says. */
static void
just_enough_text(void)
{
    char csv[64 + 40 * 140];
    size_t n = (size_t)sprintf(csv, "project,metric,value,unit,as_of\n");
    for (size_t i = 0; i < 40; i++)
        n += (size_t)sprintf(csv + n, "1,m%099zu,1,u,2022-01-01\n", i);
    sx_table *t = NULL;
    CHECK(sx_table_parse(csv, n, &t, NULL) == SX_OK && t != NULL && t->nrows == 40);
    sx_table_decref(t);
}
#endif

int
main(void)
{
#if defined(SX_DICT_MAX_DATA)
    just_enough_text();
    too_much_distinct_text(41);
    too_much_distinct_text(60); /* each half holds 30: only the merge overflows */
#else
    printf("(built without lowered limits: see build/test_limits_small)\n");
#endif
    return CHECK_DONE();
}
