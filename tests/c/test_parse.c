/* Tests of sx_table_parse: valid files, the shipped dataset, the row-count
 * guess, the consumed callback and null counts.  Values and dates
 * (test_parse_values.c) and errors (test_parse_errors.c) have files of
 * their own. */
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "shanxi/core.h"
#include "testutil.h"

#define HEADER "project,metric,value,unit,as_of\n"

static int
str_is(const sx_table *t, sx_strcol c, int32_t code, const char *want)
{
    if (code < 0 || code >= t->dicts[c].count)
        return 0;
    size_t n;
    const char *s = sx_dict_str(&t->dicts[c], code, &n);
    return n == strlen(want) && memcmp(s, want, n) == 0;
}

static int
cell_is(const sx_table *t, sx_strcol c, int64_t row, const char *want)
{
    if (!t->codes[c])
        return 0;
    if (!want)
        return sx_code_at(t, c, row) == SX_NULL_CODE;
    return str_is(t, c, sx_code_at(t, c, row), want);
}

/* ------------------------------------------------------------------ valid files */

static void
test_all_columns_shuffled(void)
{
    const char *csv =
        "region,value,as_of,label,unit,metric,notes,project,part_of,period_start,category,"
        "project_title,project_key\n"
        "Shanxi,606900,2022-11-30,People trained,people,trained,x,2,,,employment,Skills,skills\n"
        "Shanxi,93.41,2022-12-31,Rate,percent,rate,,1,,2022-01-01,health,Screening,screening\n"
        ",430400,2022-10-31,,people,new_skilled,,2,trained,,,,\n"
        "Datong,-5,2022-12-31,,people,trained,,2,,,employment,,skills\n";
    sx_table *t = parse(csv);
    CHECK(t != NULL);
    if (!t)
        return;
    CHECK(t->nrows == 4);
    CHECK(t->project[0] == 2 && t->project[1] == 1 && t->project[2] == 2 && t->project[3] == 2);
    CHECK(t->value[0] == 606900 && t->is_int[0] == 1);
    CHECK(t->value[1] == 93.41 && t->is_int[1] == 0);
    CHECK(t->value[3] == -5 && t->is_int[3] == 1);
    CHECK(t->as_of[0] == days(2022, 11, 30));
    CHECK(t->period_start != NULL);
    CHECK(t->period_start[0] == SX_NO_DATE && t->period_start[1] == days(2022, 1, 1));
    CHECK(cell_is(t, SX_COL_METRIC, 0, "trained") && cell_is(t, SX_COL_METRIC, 3, "trained"));
    CHECK(sx_code_at(t, SX_COL_METRIC, 0) == sx_code_at(t, SX_COL_METRIC, 3));
    CHECK(cell_is(t, SX_COL_UNIT, 1, "percent"));
    CHECK(cell_is(t, SX_COL_REGION, 0, "Shanxi") && cell_is(t, SX_COL_REGION, 2, NULL));
    CHECK(cell_is(t, SX_COL_REGION, 3, "Datong"));
    CHECK(cell_is(t, SX_COL_LABEL, 0, "People trained") && cell_is(t, SX_COL_LABEL, 2, NULL));
    CHECK(cell_is(t, SX_COL_PART_OF, 2, "trained") && cell_is(t, SX_COL_PART_OF, 0, NULL));
    /* an empty category is the project's */
    CHECK(cell_is(t, SX_COL_CATEGORY, 2, "employment") &&
          cell_is(t, SX_COL_PROJECT_KEY, 3, "skills"));
    CHECK(t->dicts[SX_COL_METRIC].count == 3);
    /* codes in order of first appearance */
    CHECK(str_is(t, SX_COL_METRIC, 0, "trained") && str_is(t, SX_COL_METRIC, 2, "new_skilled"));

    CHECK(t->nprojects == 2);
    CHECK(t->projects[0].number == 1 && t->projects[1].number == 2);
    CHECK(t->projects[0].nrows == 1 && t->projects[1].nrows == 3);
    CHECK(t->projects[1].as_of == days(2022, 12, 31));
    CHECK(str_is(t, SX_COL_PROJECT_KEY, t->projects[1].key, "skills"));
    CHECK(str_is(t, SX_COL_PROJECT_TITLE, t->projects[1].title, "Skills"));
    CHECK(str_is(t, SX_COL_CATEGORY, t->projects[0].category, "health"));
    CHECK(sx_project_index(t, 1) == 0 && sx_project_index(t, 2) == 1 &&
          sx_project_index(t, 3) == -1);

    int32_t trained = sx_dict_find(&t->dicts[SX_COL_METRIC], "trained", 7);
    CHECK(trained == 0);
    CHECK(t->metric_rows[trained] == 2 && t->metric_first[trained] == 0);
    CHECK(t->metric_rows[2] == 1 && t->metric_first[2] == 2);
    CHECK(sx_dict_find(&t->dicts[SX_COL_METRIC], "nope", 4) == -1);

    /* a second reference keeps the table alive */
    sx_table_incref(t);
    sx_table_decref(t);
    CHECK(t->nrows == 4);
    sx_table_decref(t);
    sx_table_decref(NULL);
}

static void
test_minimal_columns(void)
{
    sx_table *t = parse("as_of,unit,value,metric,project\n2022-01-01,u,1,m,3\n");
    CHECK(t != NULL);
    if (!t)
        return;
    CHECK(t->nrows == 1 && t->project[0] == 3);
    CHECK(t->period_start == NULL);
    CHECK(t->codes[SX_COL_REGION] == NULL && t->codes[SX_COL_LABEL] == NULL);
    CHECK(t->nprojects == 1 && t->projects[0].key == SX_NULL_CODE &&
          t->projects[0].title == SX_NULL_CODE);
    CHECK(t->projects[0].category == SX_NULL_CODE);
    sx_table_decref(t);
}

static void
test_bom_crlf(void)
{
    sx_table *t = parse("\xEF\xBB\xBFproject,metric,value,unit,as_of\r\n1,a,1,u,2022-01-01\r\n"
                        "2,b,2,u,2022-01-02\r\n");
    CHECK(t != NULL);
    if (!t)
        return;
    CHECK(t->nrows == 2 && t->project[1] == 2 && cell_is(t, SX_COL_METRIC, 1, "b"));
    CHECK(cell_is(t, SX_COL_UNIT, 0, "u")); /* no CR left in the last field */
    CHECK(t->as_of[1] == days(2022, 1, 2));
    sx_table_decref(t);

    /* lone CR ends records too */
    t = parse(HEADER "1,a,1,u,2022-01-01\r2,b,2,u,2022-01-02\r");
    CHECK(t != NULL && t->nrows == 2);
    sx_table_decref(t);
}

static void
test_quoted_fields(void)
{
    const char *csv = "project,metric,value,unit,as_of,label\n"
                      "1,a,1,u,2022-01-01,\"with, comma\"\n"
                      "1,b,1,u,2022-01-01,\"say \"\"hi\"\"\"\n"
                      "1,c,1,u,2022-01-01,\"two\r\nlines\"\n"
                      "\"1\",\"d\",\"2.5\",\"u\",\"2022-01-01\",\"\"\n"
                      "1,e,1,u,2022-01-01,\"\"\"\"\n";
    sx_table *t = parse(csv);
    CHECK(t != NULL);
    if (!t)
        return;
    CHECK(t->nrows == 5);
    CHECK(cell_is(t, SX_COL_LABEL, 0, "with, comma"));
    CHECK(cell_is(t, SX_COL_LABEL, 1, "say \"hi\""));
    CHECK(cell_is(t, SX_COL_LABEL, 2, "two\r\nlines"));
    CHECK(cell_is(t, SX_COL_LABEL, 3, NULL));
    CHECK(cell_is(t, SX_COL_METRIC, 3, "d") && t->value[3] == 2.5 && t->project[3] == 1);
    CHECK(cell_is(t, SX_COL_LABEL, 4, "\""));
    sx_table_decref(t);
}

static void
test_endings(void)
{
    sx_table *t = parse(HEADER "1,a,1,u,2022-01-01"); /* no final newline */
    CHECK(t != NULL && t->nrows == 1 && t->as_of[0] == days(2022, 1, 1));
    sx_table_decref(t);

    t = parse(HEADER "1,a,1,u,2022-01-01\n\n\r\n\n"); /* trailing empty lines */
    CHECK(t != NULL && t->nrows == 1);
    sx_table_decref(t);

    t = parse(HEADER "1,a,1,u,\"2022-01-01\""); /* quoted last field at the end */
    CHECK(t != NULL && t->nrows == 1);
    sx_table_decref(t);

    const char *headers[] = {HEADER, "project,metric,value,unit,as_of", HEADER "\n\n",
                             "project,metric,value,unit,as_of,label,part_of\r\n"};
    for (size_t i = 0; i < sizeof headers / sizeof *headers; i++) {
        t = parse(headers[i]);
        CHECK(t != NULL);
        if (!t)
            continue;
        CHECK(t->nrows == 0 && t->nprojects == 0);
        CHECK(t->project != NULL && t->value != NULL && t->codes[SX_COL_METRIC] != NULL);
        CHECK(t->dicts[SX_COL_METRIC].count == 0 && t->dicts[SX_COL_METRIC].offsets != NULL &&
              t->dicts[SX_COL_METRIC].offsets[0] == 0);
        CHECK(t->codes[SX_COL_REGION] == NULL);
        sx_table_decref(t);
    }
}

static void
test_nul_and_unicode(void)
{
    static const char csv[] =
        HEADER "1,a\0b,1,\xE5\x85\x83,2022-01-01\n1,\xF0\x9F\x98\x80,2,u,2022-01-01\n";
    sx_table *t = parse_len(csv, sizeof csv - 1);
    CHECK(t != NULL);
    if (!t)
        return;
    size_t n;
    const char *s = sx_dict_str(&t->dicts[SX_COL_METRIC], sx_code_at(t, SX_COL_METRIC, 0), &n);
    CHECK(n == 3 && memcmp(s, "a\0b", 3) == 0);
    CHECK(cell_is(t, SX_COL_UNIT, 0, "\xE5\x85\x83"));
    CHECK(cell_is(t, SX_COL_METRIC, 1, "\xF0\x9F\x98\x80"));
    sx_table_decref(t);
}

static void
test_unknown_columns(void)
{
    /* unknown columns, even empty or odd names, are skipped */
    sx_table *t = parse("x,project,,metric,value,unit,as_of,\"y,z\"\n"
                        "\"q\"\"\",1,,m,1,u,2022-01-01,\"a\nb\"\n");
    CHECK(t != NULL && t->nrows == 1 && t->project[0] == 1);
    if (t) {
        /* each kept, in header order; none looks like a slip for a column */
        static const char *const want[] = {"x", "", "y,z"};
        CHECK(t->nignored == 3);
        for (int i = 0; i < 3 && i < t->nignored; i++)
            CHECK(strcmp(t->ignored[i].name, want[i]) == 0 &&
                  t->ignored[i].len == strlen(want[i]) && t->ignored[i].near == NULL);
    }
    sx_table_decref(t);

    /* a slip for an absent optional column names it; one for a present
     * column ("Unit" beside "unit") does not */
    t = parse("project,metric,value,unit,as_of,regoin, Category ,Unit\n1,m,1,u,2022-01-01,a,b,c\n");
    CHECK(t != NULL && t->nignored == 3);
    if (t && t->nignored == 3) {
        CHECK(strcmp(t->ignored[0].name, "regoin") == 0 && t->ignored[0].near &&
              strcmp(t->ignored[0].near, "region") == 0);
        CHECK(strcmp(t->ignored[1].name, " Category ") == 0 && t->ignored[1].near &&
              strcmp(t->ignored[1].near, "category") == 0);
        CHECK(strcmp(t->ignored[2].name, "Unit") == 0 && t->ignored[2].near == NULL);
        CHECK(t->codes[SX_COL_REGION] == NULL);
    }
    sx_table_decref(t);

    /* for a required column the slip is the error */
    sx_error e;
    t = NULL;
    CHECK(sx_table_parse("project,metric,valeu,unit,as_of\n", 32, &t, &e) == SX_ERR_PARSE &&
          t == NULL);
    CHECK(strcmp(e.message, "expected a header with the columns project, metric, value, unit and "
                            "as_of, found no \"value\" column; did you mean \"valeu\"?") == 0);
    CHECK(e.line == 1 && e.column == 1);
}

/* ------------------------------------------------------------------ the dataset */

static char *
read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            char *b = realloc(buf, cap);
            if (!b) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = b;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    *len = n;
    return buf;
}

static void
test_dataset(void)
{
    size_t len = 0;
    char *buf = read_file("../../data/shanxi_2022.csv", &len);
    if (!buf)
        buf = read_file("data/shanxi_2022.csv", &len);
    if (!buf) {
        printf("(data/shanxi_2022.csv not found: dataset test skipped)\n");
        return;
    }
    sx_table *t = parse_len(buf, len);
    CHECK(t != NULL);
    if (t) {
        CHECK(t->nrows == 33);
        CHECK(t->nprojects == 12);
        for (int32_t i = 0; i < t->nprojects; i++) {
            CHECK(t->projects[i].number == i + 1);
            CHECK(t->projects[i].key != SX_NULL_CODE && t->projects[i].title != SX_NULL_CODE &&
                  t->projects[i].category != SX_NULL_CODE);
        }
        CHECK(t->dicts[SX_COL_METRIC].count == 33); /* keys are unique in the shipped file */
        int32_t cny = sx_dict_find(&t->dicts[SX_COL_UNIT], "CNY", 3);
        double total = 0;
        int64_t count = 0;
        for (int64_t r = 0; r < t->nrows; r++) {
            if (sx_code_at(t, SX_COL_UNIT, r) == cny) {
                total += t->value[r];
                count += t->is_int[r];
            }
        }
        CHECK(cny >= 0 && total == 47230000 && count == 2);
        int32_t six = sx_project_index(t, 6);
        CHECK(six == 5 && str_is(t, SX_COL_PROJECT_KEY, t->projects[six].key, "senior_care"));
        sx_table_decref(t);
    }
    free(buf);
}

/* The row count is guessed from the first 64 KiB: long rows there and short
 * ones after make the guess far too small, so the columns must grow (several
 * times) without losing or reordering a row. */
static void
test_row_guess_too_small(void)
{
    textbuf b = {0};
    char row[512], pad[301];
    memset(pad, 'x', 300);
    pad[300] = '\0';
    put(&b, "project,metric,value,unit,as_of,label\n");
    int64_t n = 0;
    while (b.len < 70000) {
        snprintf(row, sizeof row, "1,m%lld,%lld,people,2022-12-31,%s\n", (long long)(n % 7),
                 (long long)n, pad);
        put(&b, row);
        n++;
    }
    int64_t long_rows = n;
    for (; n < long_rows + 300000; n++) {
        snprintf(row, sizeof row, "%lld,m%lld,%lld,people,2022-12-31,\n", (long long)(n % 5 + 1),
                 (long long)(n % 7), (long long)n);
        put(&b, row);
    }
    sx_table *t = parse_len(b.p, b.len);
    CHECK(t != NULL);
    if (t) {
        CHECK(t->nrows == n);
        int ok = 1;
        for (int64_t r = 0; r < n; r++) {
            ok &= t->value[r] == (double)r && t->is_int[r] == 1;
            ok &= r < long_rows ? t->project[r] == 1 : t->project[r] == (int32_t)(r % 5 + 1);
            char key[8];
            snprintf(key, sizeof key, "m%d", (int)(r % 7));
            ok &= cell_is(t, SX_COL_METRIC, r, key);
        }
        CHECK(ok);
        CHECK(t->null_count[SX_COL_LABEL] == n - long_rows);
        CHECK(t->null_count[SX_COL_METRIC] == 0 && t->null_count[SX_COL_REGION] == 0);
        sx_table_decref(t);
    }
    free(b.p);
}

typedef struct consumed_log {
    size_t calls, bytes, len;
    int in_range;
} consumed_log;

/* Two parsing threads may report at once: counted with atomics. */
static void
on_consumed(void *ctx, size_t offset, size_t n)
{
    consumed_log *log = ctx;
    if (offset > log->len || n > log->len - offset)
        __atomic_store_n(&log->in_range, 0, __ATOMIC_RELAXED);
    __atomic_add_fetch(&log->bytes, n, __ATOMIC_RELAXED);
    __atomic_add_fetch(&log->calls, 1, __ATOMIC_RELAXED);
}

/* The consumed() callback reports ranges inside the input, and the table
 * is the same as without it; an error found after the callback ran still
 * points at the right line. */
static void
test_consumed_callback(void)
{
    textbuf b = {0};
    char row[128];
    put(&b, "project,metric,value,unit,as_of,category\n");
    int64_t n = 0;
    while (b.len < ((size_t)20 << 20)) {
        snprintf(row, sizeof row, "%lld,k%lld,%lld.5,CNY,2022-01-%02lld,\n",
                 (long long)(n % 12 + 1), (long long)(n % 33), (long long)n,
                 (long long)(n % 28 + 1));
        put(&b, row);
        n++;
    }
    consumed_log log = {0, 0, b.len, 1};
    sx_parse_options opts = {on_consumed, &log, NULL, 0};
    sx_table *t = NULL;
    sx_error e;
    CHECK(sx_table_parse_with(b.p, b.len, &opts, &t, &e) == SX_OK && t != NULL);
    CHECK(log.in_range && log.calls >= 2 && log.bytes >= ((size_t)16 << 20));
    if (t) {
        CHECK(t->nrows == n && t->value[n - 1] == (double)(n - 1) + 0.5);
        CHECK(t->null_count[SX_COL_CATEGORY] == n);
        sx_table_decref(t);
    }
    /* options with no callback are the same as none */
    sx_parse_options none = {NULL, NULL, NULL, 0};
    t = NULL;
    CHECK(sx_table_parse_with(b.p, b.len, &none, &t, &e) == SX_OK && t != NULL && t->nrows == n);
    sx_table_decref(t);

    /* the first row names project 1's category; a later row of it disagrees */
    textbuf c = {0};
    put(&c, "project,metric,value,unit,as_of,category\n1,first,1,CNY,2022-01-01,health\n");
    put(&c, b.p + strlen("project,metric,value,unit,as_of,category\n"));
    put(&c, "1,last,1,CNY,2022-01-01,culture\n");
    log = (consumed_log){0, 0, c.len, 1};
    t = NULL;
    CHECK(sx_table_parse_with(c.p, c.len, &opts, &t, &e) == SX_ERR_PARSE && t == NULL);
    CHECK(log.calls >= 2 && e.line == (uint64_t)n + 3 && e.column == 25);
    CHECK(strstr(e.message, "on line 2") != NULL);
    free(c.p);
    free(b.p);
}

/* Empty fields are counted per column while parsing (the Arrow export uses
 * the counts); a category left empty takes its project's and stops being
 * empty unless the project has none. */
static void
test_null_counts(void)
{
    sx_table *t = parse("project,metric,value,unit,as_of,period_start,region,category,label\n"
                        "1,a,1,CNY,2022-12-31,,north,,x\n"
                        "1,b,2,CNY,2022-12-31,2022-01-01,,health,\n"
                        "2,c,3,CNY,2022-12-31,,,,\n"
                        "3,d,4,CNY,2022-12-31,2022-01-01,south,,\n");
    CHECK(t != NULL);
    if (t) {
        CHECK(t->null_count[SX_COL_REGION] == 2);
        CHECK(t->null_count[SX_COL_LABEL] == 3);
        CHECK(t->null_count[SX_COL_CATEGORY] == 2); /* projects 2 and 3 have none */
        CHECK(cell_is(t, SX_COL_CATEGORY, 0, "health") && cell_is(t, SX_COL_CATEGORY, 2, NULL));
        CHECK(t->null_count[SX_COL_METRIC] == 0 && t->null_count[SX_COL_UNIT] == 0);
        CHECK(t->null_count[SX_COL_PART_OF] == 0 && t->null_count[SX_COL_PROJECT_KEY] == 0);
        CHECK(t->period_start_nulls == 2);
        sx_table_decref(t);
    }
}

int
main(void)
{
    test_all_columns_shuffled();
    test_minimal_columns();
    test_bom_crlf();
    test_quoted_fields();
    test_endings();
    test_nul_and_unicode();
    test_unknown_columns();
    test_dataset();
    test_row_guess_too_small();
    test_consumed_callback();
    test_null_counts();
    return CHECK_DONE();
}
