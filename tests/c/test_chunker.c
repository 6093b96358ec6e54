/*
 * test_chunker.c -- sx_chunker: an input fed or read in chunks and taken as
 * small tables gives, table after table, the rows of the whole table (the
 * same values and strings, each row's category its project's), whatever
 * the chunk and take sizes; the parsers finished together give the whole
 * table's strings and projects with no rows, and errors at the line and
 * column one pass gives, naming the input where they are.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h> /* unlink */

#include "check.h"
#include "shanxi/core.h"

static const char INPUT[] = "project,metric,value,unit,as_of,region,category,label\n"
                            "1,a,1,u,2022-01-01,R1,,\"x,\ny\"\n"
                            "2,b,2.5,u,2022-01-02,R2,c2,\n"
                            "1,a,-3,u,2022-02-01,,c1,\"long \"\" label\"\n"
                            "3,c,7,v,2022-03-01,R1,,\n"
                            "1,b,1e3,u,2022-03-01,R3,,\n";

/* The string of column c in row r of t ("" for none). */
static const char *
text_at(const sx_table *t, sx_strcol c, int64_t r, size_t *n)
{
    int32_t code = sx_code_at(t, c, r);
    if (code == SX_NULL_CODE) {
        *n = 0;
        return "";
    }
    return sx_dict_str(&t->dicts[c], code, n);
}

/* Project `number` is among the late ones. */
static int
is_late(const sx_chunker *c, int32_t number)
{
    const int32_t *late;
    size_t n;
    sx_chunker_late(c, &late, &n);
    for (size_t i = 0; i < n; i++)
        if (late[i] == number)
            return 1;
    return 0;
}

/* Row r of a (taken from c) equals row s of b, strings compared as text;
 * but an empty category of a late project, which b's later rows fill. */
static int
same_row(const sx_chunker *ck, const sx_table *a, int64_t r, const sx_table *b, int64_t s)
{
    if (a->project[r] != b->project[s] || a->value[r] != b->value[s] ||
        a->is_int[r] != b->is_int[s] || a->as_of[r] != b->as_of[s])
        return 0;
    for (int c = 0; c < SX_NSTRCOLS; c++) {
        if (!a->codes[c] != !b->codes[c])
            return 0;
        if (!a->codes[c])
            continue;
        if (c == SX_COL_CATEGORY && ck && sx_code_at(a, SX_COL_CATEGORY, r) == SX_NULL_CODE &&
            is_late(ck, a->project[r]))
            continue;
        size_t n1, n2;
        const char *s1 = text_at(a, (sx_strcol)c, r, &n1), *s2 = text_at(b, (sx_strcol)c, s, &n2);
        if (n1 != n2 || memcmp(s1, s2, n1) != 0)
            return 0;
    }
    return 1;
}

/* Feed text in pieces of `piece` bytes, taking a table whenever `take`
 * bytes are parsed: every taken row equals the whole table's (with the
 * whole as the seed, even the categories of late projects). */
static void
check_fed(const char *text, size_t piece, uint64_t take, int seeded)
{
    sx_table *whole = NULL;
    CHECK(sx_table_parse(text, strlen(text), &whole, NULL) == SX_OK);
    sx_chunker *c = NULL;
    CHECK(sx_chunker_new(NULL, seeded ? whole : NULL, take, &c) == SX_OK);
    size_t len = strlen(text), at = 0, have = 0, used;
    char *buf = malloc(len + 1);
    int64_t row = 0;
    int tables = 0;
    sx_error err;
    for (int final = 0; !final;) {
        size_t k = len - at < piece ? len - at : piece;
        memcpy(buf + have, text + at, k);
        at += k;
        have += k;
        final = at == len;
        CHECK(sx_builder_feed(sx_chunker_builder(c), buf, have, final, &used, &err) == SX_OK);
        memmove(buf, buf + used, have - used);
        have -= used;
        if (final || sx_chunker_ready(c) >= take) {
            sx_table *t = NULL;
            CHECK(sx_chunker_take(c, &t, &err) == SX_OK);
            for (int64_t r = 0; t && r < t->nrows; r++)
                CHECK(same_row(seeded ? NULL : c, t, r, whole, row++));
            tables += t != NULL;
            sx_table_decref(t);
        }
    }
    CHECK(row == whole->nrows);
    CHECK(take > len || piece > len || tables > 1);
    sx_table *rest = NULL;
    size_t failed = 9;
    CHECK(sx_chunkers_finish(&c, 1, NULL, &rest, &err, &failed) == SX_OK);
    CHECK(rest && rest->nrows == 0 && rest->nprojects == whole->nprojects);
    for (int k = 0; rest && k < SX_NSTRCOLS; k++)
        CHECK(rest->dicts[k].count == whole->dicts[k].count);
    sx_table_decref(rest);
    sx_chunker_free(c);
    sx_table_decref(whole);
    free(buf);
}

/* The first error of text fed in chunks, at one pass's line and column. */
static void
check_error(const char *text, uint64_t take)
{
    sx_error want, got;
    sx_table *t = NULL;
    CHECK(sx_table_parse(text, strlen(text), &t, &want) == SX_ERR_PARSE);
    sx_chunker *c = NULL;
    CHECK(sx_chunker_new(NULL, NULL, take, &c) == SX_OK);
    size_t len = strlen(text), used, failed;
    sx_status st = SX_OK;
    for (size_t at = 0; st == SX_OK && at < len;) {
        size_t k = len - at < 3 ? len - at : 3;
        st = sx_builder_feed(sx_chunker_builder(c), text, at + k, at + k == len, &used, &got);
        text += used;
        len -= used;
        at = at + k - used;
        if (st == SX_OK && sx_chunker_ready(c) >= take) {
            CHECK(sx_chunker_take(c, &t, &got) == SX_OK);
            sx_table_decref(t);
        }
    }
    if (st == SX_OK) {
        CHECK(sx_chunker_take(c, &t, &got) == SX_OK);
        sx_table_decref(t);
        st = sx_chunkers_finish(&c, 1, NULL, &t, &got, &failed);
    }
    CHECK(st == SX_ERR_PARSE);
    CHECK(got.line == want.line && got.column == want.column);
    CHECK(strcmp(got.message, want.message) == 0);
    sx_chunker_free(c);
}

/* Two files read from disk, finished together as sx_table_read_many
 * merges them: an error names the second file. */
static void
check_files(void)
{
    char a[] = "/tmp/sx_chunker_aXXXXXX", b[] = "/tmp/sx_chunker_bXXXXXX";
    int fa = mkstemp(a), fb = mkstemp(b);
    const char *ta = "project,metric,value,unit,as_of,project_key\n1,m,1,u,2022-01-01,k1\n";
    const char *tb = "project,metric,value,unit,as_of,project_key\n2,m,1,u,2022-01-01,k1\n";
    CHECK(fa >= 0 && fb >= 0);
    CHECK(write(fa, ta, strlen(ta)) == (ssize_t)strlen(ta));
    CHECK(write(fb, tb, strlen(tb)) == (ssize_t)strlen(tb));
    close(fa);
    close(fb);
    const char *paths[] = {a, b}, *names[] = {"a.csv", "b.csv"};
    sx_table *t = NULL;
    sx_error want, got;
    size_t failed_want = 0, failed = 0;
    int os_error = 0;
    CHECK(sx_table_read_many(paths, 2, names, 1, NULL, NULL, &t, &want, &failed_want, &os_error) ==
          SX_ERR_PARSE);
    sx_chunker *c[2] = {NULL, NULL};
    for (int i = 0; i < 2; i++) {
        CHECK(sx_chunker_open(paths[i], NULL, NULL, 8, &c[i], &os_error) == SX_OK);
        int done = 0;
        while (!done)
            CHECK(sx_chunker_step(c[i], &done, &got, &os_error) == SX_OK);
        CHECK(sx_chunker_take(c[i], &t, &got) == SX_OK);
        CHECK(t && t->nrows == 1);
        sx_table_decref(t);
    }
    CHECK(sx_chunkers_finish(c, 2, names, &t, &got, &failed) == SX_ERR_PARSE);
    CHECK(failed == failed_want && failed == 1);
    CHECK(got.line == want.line && got.column == want.column);
    CHECK(strcmp(got.message, want.message) == 0);
    sx_chunker_free(c[0]);
    sx_chunker_free(c[1]);
    CHECK(sx_chunker_open("/nonexistent/x.csv", NULL, NULL, 8, &c[0], &os_error) == SX_ERR_IO);
    CHECK(c[0] == NULL && os_error != 0);
    unlink(a);
    unlink(b);
}

/* A missing chunker (a file read in neither pass) is an error, not a
 * dereference: at the input it stands for. */
static void
check_missing(void)
{
    sx_chunker *c[2] = {NULL, NULL};
    CHECK(sx_chunker_new(NULL, NULL, 8, &c[0]) == SX_OK);
    size_t used;
    sx_error err;
    const char *text = "project,metric,value,unit,as_of\n1,a,1,u,2022-01-01\n";
    CHECK(sx_builder_feed(sx_chunker_builder(c[0]), text, strlen(text), 1, &used, &err) == SX_OK);
    sx_table *t = NULL;
    size_t failed = 9;
    CHECK(sx_chunkers_finish(c, 2, NULL, &t, &err, &failed) == SX_ERR_VALUE);
    CHECK(t == NULL && failed == 1);
    failed = 9;
    CHECK(sx_chunkers_finish(c + 1, 1, NULL, &t, &err, &failed) == SX_ERR_VALUE);
    CHECK(t == NULL && failed == 0);
    sx_chunker_free(c[0]);
}

/* A taken table's present column of only empty fields still has its
 * dictionary's offsets[0], as a parsed table's has (an Arrow export needs
 * it); and so does the category column a file without one is given. */
static void
check_empty_columns(void)
{
    const char *text = "project,metric,value,unit,as_of,region\n1,a,1,u,2022-01-01,\n";
    sx_chunker *c = NULL;
    CHECK(sx_chunker_new(NULL, NULL, 8, &c) == SX_OK);
    size_t used;
    sx_error err;
    CHECK(sx_builder_feed(sx_chunker_builder(c), text, strlen(text), 1, &used, &err) == SX_OK);
    sx_table *t = NULL;
    CHECK(sx_chunker_take(c, &t, &err) == SX_OK);
    CHECK(t && t->nrows == 1);
    for (int k = 0; t && k < SX_NSTRCOLS; k++)
        if (t->codes[k])
            CHECK(t->dicts[k].offsets && t->dicts[k].offsets[0] == 0);
    CHECK(t && t->codes[SX_COL_REGION] && t->dicts[SX_COL_REGION].count == 0);
    CHECK(t && t->codes[SX_COL_CATEGORY] && t->null_count[SX_COL_CATEGORY] == 1);
    sx_table_decref(t);
    sx_chunker_free(c);
}

int
main(void)
{
    size_t pieces[] = {1, 2, 7, 64, 4096};
    uint64_t takes[] = {1, 10, 50, 1 << 20};
    for (size_t i = 0; i < sizeof pieces / sizeof *pieces; i++)
        for (size_t j = 0; j < sizeof takes / sizeof *takes; j++)
            for (int seeded = 0; seeded < 2; seeded++)
                check_fed(INPUT, pieces[i], takes[j], seeded);
    const char *bad[] = {
        "project,metric,value,unit,as_of,category\n1,a,1,u,2022-01-01,c\n1,a,x,u,2022-01-01,c\n",
        "project,metric,value,unit,as_of,category\n1,a,1,u,2022-01-01,c\n1,a,1,u,2022-01-01,d\n",
        "project,metric,value,unit,as_of,part_of\n1,a,1,u,2022-01-01,\n1,b,1,u,2022-01-01,zz\n",
        "project,metric,value,unit,as_of\n1,a,1,u,2022-01-01\n\n1,a,1,u,2022-01-01\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        for (size_t j = 0; j < sizeof takes / sizeof *takes; j++)
            check_error(bad[i], takes[j]);
    check_files();
    check_missing();
    check_empty_columns();
    return CHECK_DONE();
}
