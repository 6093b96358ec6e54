/*
 * test_multifile.c -- sx_table_parse_many: the files of one dataset parsed
 * on a pool of threads and merged (merge.c) give the table one pass over
 * their rows would (the same codes, dictionaries, projects and counts),
 * whatever the split, the column sets and orders, and the thread count;
 * errors name the file (its index), line and column where one pass would;
 * sx_table_read_many_fed merges builders the caller fed with files it
 * reads; sx_table_read_many reads files from disk, and its poll stops it
 * even on a FIFO whose writer stays open and silent.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h> /* unlink */

#include "check.h"
#include "shanxi/core.h"
#include "testutil.h"

#ifndef _WIN32
#include <fcntl.h>
#include <sys/stat.h>
#endif

static uint64_t rng = 88172645463325252ull;
static unsigned
rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

/* The columns a row may have; the first five every file has. */
enum {
    C_PROJECT,
    C_METRIC,
    C_VALUE,
    C_UNIT,
    C_AS_OF,
    C_REGION,
    C_CATEGORY,
    C_LABEL,
    C_PERIOD,
    C_PART_OF,
    NCOLS
};
static const char *const col_names[NCOLS] = {"project",      "metric", "value",    "unit",
                                             "as_of",        "region", "category", "label",
                                             "period_start", "part_of"};

typedef struct row {
    char f[NCOLS][32];
} row;

/* A random row: project i's category is "cat<i % 3>" or empty, so files
 * agree; part_of names metric m0, which the first row always is. */
static void
random_row(row *r, int i)
{
    int project = (int)rnd(6) + 1;
    snprintf(r->f[C_PROJECT], 32, "%d", project);
    snprintf(r->f[C_METRIC], 32, "m%u", i == 0 ? 0 : rnd(40));
    if (rnd(2))
        snprintf(r->f[C_VALUE], 32, "%u", rnd(100000));
    else
        snprintf(r->f[C_VALUE], 32, "%u.%u", rnd(1000), rnd(100));
    snprintf(r->f[C_UNIT], 32, "u%u", rnd(3));
    snprintf(r->f[C_AS_OF], 32, "2022-%02u-%02u", rnd(12) + 1, rnd(28) + 1);
    snprintf(r->f[C_REGION], 32, rnd(4) ? "r%u" : "", rnd(300)); /* wider than int8 */
    snprintf(r->f[C_CATEGORY], 32, rnd(3) ? "cat%d" : "", project % 3);
    snprintf(r->f[C_LABEL], 32, rnd(2) ? "label %u" : "", rnd(7));
    snprintf(r->f[C_PERIOD], 32, rnd(2) ? "2022-01-%02u" : "", rnd(28) + 1);
    snprintf(r->f[C_PART_OF], 32, rnd(5) ? "" : "m0");
}

/* A file of rows [from, to) with the columns `cols` (in that order). */
static void
write_file(textbuf *b, const row *rows, int from, int to, const int *cols, int ncols)
{
    for (int c = 0; c < ncols; c++) {
        put(b, c ? "," : "");
        put(b, col_names[cols[c]]);
    }
    put(b, "\n");
    for (int i = from; i < to; i++) {
        for (int c = 0; c < ncols; c++) {
            put(b, c ? "," : "");
            put(b, rows[i].f[cols[c]]);
        }
        put(b, "\n");
    }
}

static int
same_dict(const sx_dict *a, const sx_dict *b)
{
    if (a->count != b->count)
        return 0;
    for (int32_t k = 0; k < a->count; k++) {
        size_t n1, n2;
        const char *s1 = sx_dict_str(a, k, &n1), *s2 = sx_dict_str(b, k, &n2);
        if (n1 != n2 || memcmp(s1, s2, n1) != 0)
            return 0;
    }
    return 1;
}

/* Everything a table holds, compared. */
static int
same_table(const sx_table *a, const sx_table *b)
{
    if (a->nrows != b->nrows || a->nprojects != b->nprojects)
        return 0;
    for (int64_t i = 0; i < a->nrows; i++) {
        if (a->project[i] != b->project[i] || a->value[i] != b->value[i] ||
            a->is_int[i] != b->is_int[i] || a->as_of[i] != b->as_of[i])
            return 0;
        if ((a->period_start == NULL) != (b->period_start == NULL) ||
            (a->period_start && a->period_start[i] != b->period_start[i]))
            return 0;
    }
    if (a->period_start_nulls != b->period_start_nulls)
        return 0;
    for (int c = 0; c < SX_NSTRCOLS; c++) {
        if ((a->codes[c] == NULL) != (b->codes[c] == NULL) || a->null_count[c] != b->null_count[c])
            return 0;
        if (!a->codes[c])
            continue;
        if (a->code_width[c] != b->code_width[c] || !same_dict(&a->dicts[c], &b->dicts[c]))
            return 0;
        for (int64_t i = 0; i < a->nrows; i++)
            if (sx_code_at(a, (sx_strcol)c, i) != sx_code_at(b, (sx_strcol)c, i))
                return 0;
    }
    for (int32_t p = 0; p < a->nprojects; p++) {
        const sx_project *x = &a->projects[p], *y = &b->projects[p];
        if (x->number != y->number || x->key != y->key || x->title != y->title ||
            x->category != y->category || x->as_of != y->as_of || x->nrows != y->nrows)
            return 0;
    }
    int32_t nm = a->dicts[SX_COL_METRIC].count;
    for (int32_t m = 0; m < nm; m++)
        if (a->metric_rows[m] != b->metric_rows[m] || a->metric_first[m] != b->metric_first[m])
            return 0;
    return 1;
}

static void
shuffle(int *a, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rnd((unsigned)i + 1), t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

/* Random rows in random files with random column sets and orders == one
 * pass over the same rows with every column (empty where a file lacks it). */
static void
test_random_splits(void)
{
    enum { MAX_ROWS = 400, MAX_FILES = 7 };
    row *rows = malloc(MAX_ROWS * sizeof *rows);
    for (int trial = 0; trial < 300; trial++) {
        int nrows = (int)rnd(MAX_ROWS - 1) + 1, nfiles = (int)rnd(MAX_FILES) + 1;
        for (int i = 0; i < nrows; i++)
            random_row(&rows[i], i);
        int cuts[MAX_FILES + 1];
        cuts[0] = 0;
        cuts[nfiles] = nrows;
        for (int k = 1; k < nfiles; k++)
            cuts[k] = (int)rnd((unsigned)nrows + 1);
        for (int k = 1; k < nfiles; k++) /* sorted: files may be empty */
            for (int j = k; j > 1 && cuts[j - 1] > cuts[j]; j--) {
                int t = cuts[j];
                cuts[j] = cuts[j - 1];
                cuts[j - 1] = t;
            }
        textbuf files[MAX_FILES];
        memset(files, 0, sizeof files);
        int present[NCOLS] = {0};
        for (int k = 0; k < nfiles; k++) {
            int cols[NCOLS], ncols = 0;
            for (int c = 0; c < NCOLS; c++)
                if (c <= C_AS_OF || rnd(3)) {
                    cols[ncols++] = c;
                    present[c] = 1;
                } else {
                    /* rows of a file without the column have it empty */
                    for (int i = cuts[k]; i < cuts[k + 1]; i++)
                        rows[i].f[c][0] = '\0';
                }
            shuffle(cols, ncols);
            write_file(&files[k], rows, cuts[k], cuts[k + 1], cols, ncols);
        }
        int all[NCOLS], nall = 0;
        for (int c = 0; c < NCOLS; c++)
            if (present[c])
                all[nall++] = c;
        textbuf whole = {0};
        write_file(&whole, rows, 0, nrows, all, nall);
        sx_table *expected = NULL, *got = NULL, *got1 = NULL;
        sx_error e;
        sx_input inputs[MAX_FILES];
        const char *names[MAX_FILES] = {"a", "b", "c", "d", "e", "f", "g"};
        for (int k = 0; k < nfiles; k++)
            inputs[k] = (sx_input){files[k].p, files[k].len, NULL};
        size_t failed = 99;
        CHECK(sx_table_parse(whole.p, whole.len, &expected, &e) == SX_OK);
        CHECK(sx_table_parse_many(inputs, (size_t)nfiles, names, 3, &got, &e, &failed) == SX_OK);
        CHECK(sx_table_parse_many(inputs, (size_t)nfiles, names, 1, &got1, &e, &failed) == SX_OK);
        if (expected && got && got1) {
            CHECK(same_table(expected, got));
            CHECK(same_table(expected, got1));
        }
        sx_table_decref(expected);
        sx_table_decref(got);
        sx_table_decref(got1);
        for (int k = 0; k < nfiles; k++)
            free(files[k].p);
        free(whole.p);
    }
    free(rows);
}

/* Parse two or three small files; the status, with failed and e set. */
static sx_status
parse3(const char *f0, const char *f1, const char *f2, size_t *failed, sx_error *e)
{
    sx_input in[3] = {{f0, strlen(f0), NULL}, {f1, strlen(f1), NULL}, {f2 ? f2 : "", 0, NULL}};
    if (f2)
        in[2].len = strlen(f2);
    const char *names[3] = {"f0.csv", "f1.csv", "f2.csv"};
    sx_table *t = NULL;
    sx_status st = sx_table_parse_many(in, f2 ? 3 : 2, names, 2, &t, e, failed);
    CHECK((st == SX_OK) == (t != NULL));
    sx_table_decref(t);
    return st;
}

#define HEAD "project,metric,value,unit,as_of,category,project_key,part_of\n"

static void
test_errors(void)
{
    size_t failed;
    sx_error e;
    /* a project's category differs in a later file: there, pointing back */
    CHECK(parse3(HEAD "1,a,1,u,2022-01-01,health,,\n",
                 HEAD "2,b,1,u,2022-01-01,,,\n1,c,2,u,2022-01-01,jobs,,\n", NULL, &failed,
                 &e) == SX_ERR_PARSE);
    CHECK(failed == 1 && e.line == 3 && e.column == 20);
    CHECK(strstr(e.message,
                 "project 1 has category \"health\" on line 2 of f0.csv, found \"jobs\"") != NULL);
    /* a key another project of an earlier file owns */
    CHECK(parse3(HEAD "1,a,1,u,2022-01-01,,k1,\n", HEAD "2,b,1,u,2022-01-01,,k1,\n", NULL, &failed,
                 &e) == SX_ERR_PARSE);
    CHECK(failed == 1 && e.line == 2 && e.column == 21);
    CHECK(strstr(e.message, "which project 1 has on line 2 of f0.csv") != NULL);
    /* the first file with an error of its own is reported, not a later one */
    CHECK(parse3(HEAD "1,a,1,u,2022-01-01,,,\n", HEAD "1,a,x,u,2022-01-01,,,\n",
                 HEAD "1,a,1,u,2022-13-01,,,\n", &failed, &e) == SX_ERR_PARSE);
    CHECK(failed == 1 && e.line == 2 && e.column == 5);
    /* a part_of may name a metric of another file, but of some file */
    CHECK(parse3(HEAD "1,a,1,u,2022-01-01,,,\n", HEAD "1,b,1,u,2022-01-01,,,a\n", NULL, &failed,
                 &e) == SX_OK);
    CHECK(parse3(HEAD "1,a,1,u,2022-01-01,,,\n", HEAD "1,b,1,u,2022-01-01,,,\n",
                 HEAD "1,c,1,u,2022-01-01,,,a\n1,d,1,u,2022-01-01,,,zz\n", &failed,
                 &e) == SX_ERR_PARSE);
    CHECK(failed == 2 && e.line == 3 && e.column == 22 && strstr(e.message, "\"zz\"") != NULL);
    /* a part_of first used in the first file is reported there */
    CHECK(parse3(HEAD "1,a,1,u,2022-01-01,,,zz\n", HEAD "1,b,1,u,2022-01-01,,,zz\n", NULL, &failed,
                 &e) == SX_ERR_PARSE);
    CHECK(failed == 0 && e.line == 2 && e.column == 22);
    /* no inputs at all */
    sx_table *t = NULL;
    CHECK(sx_table_parse_many(NULL, 0, NULL, 0, &t, &e, &failed) == SX_ERR_VALUE && t == NULL);
}

/* The category a project has in one file fills its empty rows in another
 * (as it does across the rows of one file). */
static void
test_category_across_files(void)
{
    const char *f0 = "project,metric,value,unit,as_of\n1,a,1,u,2022-01-01\n";
    const char *f1 = "project,metric,value,unit,as_of,category\n1,b,1,u,2022-01-01,jobs\n";
    sx_input in[2] = {{f0, strlen(f0), NULL}, {f1, strlen(f1), NULL}};
    sx_table *t = NULL;
    sx_error e;
    size_t failed;
    CHECK(sx_table_parse_many(in, 2, NULL, 0, &t, &e, &failed) == SX_OK);
    if (t) {
        CHECK(t->nrows == 2 && sx_code_at(t, SX_COL_CATEGORY, 0) == 0);
        CHECK(t->null_count[SX_COL_CATEGORY] == 0 && t->period_start == NULL);
        sx_table_decref(t);
    }
}

/* The ignored header fields of every file, each once, in file order. */
static void
test_ignored_across_files(void)
{
    const char *f0 = "project,metric,value,unit,as_of,note\n1,a,1,u,2022-01-01,x\n";
    const char *f1 = "project,metric,value,unit,as_of,regoin,note\n1,b,1,u,2022-01-01,y,z\n";
    const char *f2 = "project,metric,value,unit,as_of,extra\n1,c,1,u,2022-01-01,w\n";
    sx_input in[3] = {{f0, strlen(f0), NULL}, {f1, strlen(f1), NULL}, {f2, strlen(f2), NULL}};
    sx_table *t = NULL;
    sx_error e;
    size_t failed;
    CHECK(sx_table_parse_many(in, 3, NULL, 2, &t, &e, &failed) == SX_OK);
    CHECK(t != NULL && t->nignored == 3);
    if (t && t->nignored == 3) {
        CHECK(strcmp(t->ignored[0].name, "note") == 0 && t->ignored[0].near == NULL);
        CHECK(strcmp(t->ignored[1].name, "regoin") == 0 && t->ignored[1].near &&
              strcmp(t->ignored[1].near, "region") == 0);
        CHECK(strcmp(t->ignored[2].name, "extra") == 0);
    }
    sx_table_decref(t);
}

/* A file at a fresh temporary path holding s; the path, to unlink. */
static char *
temp_file(const char *s)
{
    char *path = malloc(32);
    if (!path)
        return NULL;
    strcpy(path, "/tmp/sx_multifileXXXXXX");
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) {
        free(path);
        return NULL;
    }
    FILE *f = fdopen(fd, "w");
    CHECK(f != NULL && fputs(s, f) >= 0);
    if (f)
        fclose(f);
    return path;
}

/* A builder fed s to its end, as the binding feeds a decompressed file. */
static sx_builder *
fed_with(const char *s)
{
    sx_builder *b = NULL;
    sx_error e;
    size_t used;
    CHECK(sx_builder_new(NULL, &b) == SX_OK);
    CHECK(b && sx_builder_feed(b, s, strlen(s), 1, &used, &e) == SX_OK);
    return b;
}

/* sx_table_read_many_fed: builders the caller fed merge with the files the
 * pool reads, in input order; every fed builder is freed whatever the
 * outcome (ASan's leak check says). */
static void
test_fed_builders(void)
{
    const char *head = "project,metric,value,unit,as_of\n";
    char f0[128], f1[128], f2[128];
    snprintf(f0, sizeof f0, "%s1,a,1,u,2022-01-01\n", head);
    snprintf(f1, sizeof f1, "%s1,b,2,u,2022-01-01\n2,c,3,u,2022-01-01\n", head);
    snprintf(f2, sizeof f2, "%s3,d,4,u,2022-01-01\n", head);
    char *p0 = temp_file(f0), *p2 = temp_file(f2);
    if (!p0 || !p2) {
        free(p0);
        free(p2);
        return;
    }
    const char *paths[3] = {p0, NULL, p2};
    sx_builder *fed[3] = {NULL, fed_with(f1), NULL};
    sx_table *t = NULL;
    sx_error e;
    size_t failed = 9;
    int os_error = -1;
    CHECK(sx_table_read_many_fed(paths, fed, 3, NULL, 2, NULL, NULL, &t, &e, &failed, &os_error) ==
          SX_OK);
    CHECK(t != NULL && t->nrows == 4 && fed[1] == NULL);
    if (t && t->nrows == 4)
        for (int64_t i = 0; i < 4; i++)
            CHECK(t->value[i] == (double)(i + 1));
    sx_table_decref(t);
    /* every input fed */
    sx_builder *all[2] = {fed_with(f0), fed_with(f1)};
    CHECK(sx_table_read_many_fed(NULL, all, 2, NULL, 0, NULL, NULL, &t, &e, &failed, &os_error) ==
          SX_OK);
    CHECK(t != NULL && t->nrows == 3);
    sx_table_decref(t);
    /* a file that fails: the fed builders are still freed */
    char bad[128];
    snprintf(bad, sizeof bad, "%s1,e,x,u,2022-01-01\n", head);
    char *pbad = temp_file(bad);
    const char *paths2[3] = {NULL, pbad, NULL};
    sx_builder *fed2[3] = {fed_with(f0), NULL, fed_with(f2)};
    CHECK(sx_table_read_many_fed(paths2, fed2, 3, NULL, 2, NULL, NULL, &t, &e, &failed,
                                 &os_error) == SX_ERR_PARSE);
    CHECK(t == NULL && failed == 1 && e.line == 2 && e.column == 5);
    /* a file that is not there */
    const char *paths3[2] = {NULL, "/nonexistent/shanxi.csv"};
    sx_builder *fed3[2] = {fed_with(f0), NULL};
    CHECK(sx_table_read_many_fed(paths3, fed3, 2, NULL, 0, NULL, NULL, &t, &e, &failed,
                                 &os_error) == SX_ERR_IO);
    CHECK(t == NULL && failed == 1 && os_error != 0);
    unlink(p0);
    unlink(p2);
    if (pbad)
        unlink(pbad);
    free(p0);
    free(p2);
    free(pbad);
}
#ifndef _WIN32
typedef struct polls {
    int calls, stop_at;
} polls;

/* sx_table_read_many's poll: asks to stop on call stop_at (as the binding
 * does when Ctrl-C raised KeyboardInterrupt). */
static int
count_polls(void *ctx)
{
    polls *p = ctx;
    return ++p->calls >= p->stop_at;
}

static void
test_read_many_files(void)
{
    char dir[] = "/tmp/sx_multifile_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char csv[64], fifo[64];
    snprintf(csv, sizeof csv, "%s/a.csv", dir);
    snprintf(fifo, sizeof fifo, "%s/stream", dir);
    FILE *f = fopen(csv, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs("project,metric,value,unit,as_of\n1,m,1,u,2022-01-01\n", f);
    fclose(f);
    const char *paths[2] = {csv, csv};
    sx_table *t = NULL;
    sx_error e;
    size_t failed;
    int os_error;
    polls p = {0, 1 << 30};
    CHECK(sx_table_read_many(paths, 2, NULL, 2, NULL, NULL, &t, &e, &failed, &os_error) == SX_OK);
    CHECK(t && t->nrows == 2);
    sx_table_decref(t);
    CHECK(sx_table_read_many(paths, 2, NULL, 2, count_polls, &p, &t, &e, &failed, &os_error) ==
          SX_OK);
    CHECK(t && t->nrows == 2);
    sx_table_decref(t);

    /* a FIFO whose writer stays open and writes nothing: only the poll ends
     * the load, on one reading thread or two, with nothing leaked */
    CHECK(mkfifo(fifo, 0600) == 0);
    int keep = open(fifo, O_RDWR);
    CHECK(keep >= 0);
    paths[0] = fifo;
    for (int nthreads = 1; keep >= 0 && nthreads <= 2; nthreads++) {
        p = (polls){0, 5};
        CHECK(sx_table_read_many(paths, 2, NULL, nthreads, count_polls, &p, &t, &e, &failed,
                                 &os_error) == SX_ERR_CANCELLED);
        CHECK(t == NULL && p.calls == 5);
    }
    if (keep >= 0)
        close(keep);
    unlink(fifo);
    unlink(csv);
    rmdir(dir);
}
#endif

int
main(void)
{
#ifndef _WIN32
    test_read_many_files();
#endif
    test_random_splits();
    test_errors();
    test_category_across_files();
    test_ignored_across_files();
    test_fed_builders();
    return CHECK_DONE();
}
