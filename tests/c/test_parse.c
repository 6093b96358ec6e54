/* Tests of sx_table_parse: valid files, values, dates, every kind of error
 * with its exact line and column, and the shipped dataset. */
#include "check.h"
#include "shanxi/core.h"

#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER "project,metric,value,unit,as_of\n"

static sx_table *
parse_len(const char *s, size_t len)
{
    sx_table *t = NULL;
    sx_error e;
    sx_status st = sx_table_parse(s, len, &t, &e);
    if (st != SX_OK) {
        fprintf(stderr, "unexpected error %d at %llu:%llu: %s\n", (int)st,
                (unsigned long long)e.line, (unsigned long long)e.column, e.message);
        return NULL;
    }
    return t;
}

static sx_table *
parse(const char *s)
{
    return parse_len(s, strlen(s));
}

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

static int32_t
days(int y, unsigned m, unsigned d)
{
    return sx_days_from_civil(y, m, d);
}

static int
same_double(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
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

/* ------------------------------------------------------------------ dates */

static void
test_dates(void)
{
    CHECK(days(1970, 1, 1) == 0);
    CHECK(days(1970, 1, 2) == 1);
    CHECK(days(1969, 12, 31) == -1);
    CHECK(days(2000, 3, 1) == 11017);
    CHECK(days(2022, 11, 30) == 19326);
    CHECK(days(1, 1, 1) == -719162);
    CHECK(days(9999, 12, 31) == 2932896);
    CHECK(days(2024, 3, 1) - days(2024, 2, 28) == 2);
    CHECK(days(2023, 3, 1) - days(2023, 2, 28) == 1);
    CHECK(days(1900, 3, 1) - days(1900, 2, 28) == 1);
    CHECK(days(2000, 3, 1) - days(2000, 2, 28) == 2);

    /* every day of 0001..9999 goes round trip and follows the previous one */
    int ok = 1;
    int32_t y;
    unsigned m, d;
    for (int32_t n = days(1, 1, 1); n <= days(9999, 12, 31) && ok; n++) {
        sx_civil_from_days(n, &y, &m, &d);
        ok = sx_days_from_civil(y, m, d) == n && m >= 1 && m <= 12 && d >= 1 && d <= 31;
    }
    CHECK(ok);
    sx_civil_from_days(days(2024, 2, 29), &y, &m, &d);
    CHECK(y == 2024 && m == 2 && d == 29);
    sx_civil_from_days(-719163, &y, &m, &d); /* before year 1 still works */
    CHECK(y == 0 && m == 12 && d == 31);

    /* the month key of every day of 0001..9999 is its civil year and month */
    ok = 1;
    for (int32_t n = days(1, 1, 1); n <= days(9999, 12, 31) && ok; n++) {
        sx_civil_from_days(n, &y, &m, &d);
        ok = sx_month_from_days(n) == y * 12 + (int32_t)m - 1;
    }
    CHECK(ok);
    CHECK(sx_month_from_days(-1) == 1969 * 12 + 11 && sx_month_from_days(0) == 1970 * 12);

    sx_table *t = parse(HEADER "1,a,1,u,2024-02-29\n1,b,1,u,0001-01-01\n1,c,1,u,9999-12-31\n"
                               "1,d,1,u,2000-02-29\n");
    CHECK(t != NULL);
    if (t) {
        CHECK(t->as_of[0] == days(2024, 2, 29) && t->as_of[1] == -719162 && t->as_of[2] == 2932896);
        CHECK(t->projects[0].as_of == 2932896);
        sx_table_decref(t);
    }
}

/* ------------------------------------------------------------------ values */

static void
test_values(void)
{
    const char *csv = HEADER "1,a,0,u,2022-01-01\n"
                             "1,a,-0,u,2022-01-01\n"
                             "1,a,-0.0,u,2022-01-01\n"
                             "1,a,1e3,u,2022-01-01\n"
                             "1,a,9007199254740993,u,2022-01-01\n"
                             "1,a,9007199254740992,u,2022-01-01\n"
                             "1,a,-9007199254740992,u,2022-01-01\n"
                             "1,a,.5,u,2022-01-01\n"
                             "1,a,5.,u,2022-01-01\n"
                             "1,a,1e-400,u,2022-01-01\n"
                             "1,a,+42,u,2022-01-01\n"
                             "1,a,007,u,2022-01-01\n"
                             "1,a,1E+2,u,2022-01-01\n"
                             "1,a,00000000000000000000000012,u,2022-01-01\n"
                             "1,a,123456789012345678901234567890,u,2022-01-01\n"
                             "1,a,-1.5e-3,u,2022-01-01\n"
                             "1,a,0e999999999999,u,2022-01-01\n";
    sx_table *t = parse(csv);
    CHECK(t != NULL);
    if (!t)
        return;
    CHECK(t->nrows == 17);
    CHECK(same_double(t->value[0], 0.0) && t->is_int[0] == 1);
    CHECK(same_double(t->value[1], 0.0) && t->is_int[1] == 1); /* an integer zero has no sign */
    CHECK(same_double(t->value[2], -0.0) && t->is_int[2] == 0);
    CHECK(t->value[3] == 1000.0 && t->is_int[3] == 0);
    CHECK(t->value[4] == 9007199254740992.0 && t->is_int[4] == 0);
    CHECK(t->value[5] == 9007199254740992.0 && t->is_int[5] == 1);
    CHECK(t->value[6] == -9007199254740992.0 && t->is_int[6] == 1);
    CHECK(t->value[7] == 0.5 && t->is_int[7] == 0);
    CHECK(t->value[8] == 5.0 && t->is_int[8] == 0);
    /* Decided: a value too small for a double rounds to 0 (or a subnormal),
     * which is finite, so it is accepted; only overflow is an error. */
    CHECK(same_double(t->value[9], 0.0) && t->is_int[9] == 0);
    CHECK(t->value[10] == 42 && t->is_int[10] == 1);
    CHECK(t->value[11] == 7 && t->is_int[11] == 1);
    CHECK(t->value[12] == 100 && t->is_int[12] == 0);
    CHECK(t->value[13] == 12 && t->is_int[13] == 1);
    CHECK(t->value[14] == 123456789012345678901234567890.0 && t->is_int[14] == 0);
    CHECK(t->value[15] == -1.5e-3);
    CHECK(same_double(t->value[16], 0.0));
    sx_table_decref(t);
}

/* The parser must agree bit for bit with strtod (this program runs in the
 * "C" locale), on hard cases and on many random ones. */
static void
test_rounding(void)
{
    static const char *const hard[] = {
        "0.1",
        "0.2",
        "0.3",
        "2.2250738585072011e-308",
        "2.2250738585072012e-308",
        "2.2250738585072014e-308",
        "4.9406564584124654e-324",
        "2.4703282292062327e-324",
        "2.4703282292062328e-324",
        "1.7976931348623157e308",
        "1.7976931348623158e308",
        "9007199254740993.0",
        "9007199254740993",
        "9007199254740995",
        "7.038531e-26",
        "1.00000000000000011102230246251565404236316680908203125",
        "1.00000000000000011102230246251565404236316680908203126",
        "1.00000000000000011102230246251565404236316680908203124",
        "3.14159265358979323846",
        "1e23",
        "8.41e21",
        "1e22",
        "123456789012345e-22",
        "123456789012345e22",
        "4.35e-10",
        "0.000123",
        "9.999999999999999e22",
        "5e-324",
        "1.448997445238699",
        "6.02214076e23",
        "1234567890123456789",
        "0.30000000000000004",
        "100000000000000000000000",
        "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017"
        "977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273"
        "854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704"
        "342711559699508093042880177904174497791."
        "9999999999999999999999999999999999999999999999999999999999999999999999",
    };
    size_t nhard = sizeof hard / sizeof *hard;
    enum { NRANDOM = 20000 };
    size_t cap = 64 + (nhard + NRANDOM) * 64 + 4096;
    char *csv = malloc(cap);
    char(*texts)[40] = malloc(NRANDOM * sizeof *texts);
    CHECK(csv != NULL && texts != NULL);
    if (!csv || !texts) {
        free(csv);
        free(texts);
        return;
    }
    size_t o = (size_t)sprintf(csv, "value,project,metric,unit,as_of\n");
    for (size_t i = 0; i < nhard; i++)
        o += (size_t)sprintf(csv + o, "%s,1,m,u,2022-01-01\n", hard[i]);
    uint64_t state = 0x2545F4914F6CDD1Dull;
    for (int i = 0; i < NRANDOM; i++) {
        /* random digit strings (1-19 digits), point anywhere, exponent -340..288 */
        char *s = texts[i];
        size_t k = 0;
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        int ndig = 1 + (int)(state % 19), point = (int)((state >> 8) % (uint64_t)(ndig + 1));
        int exp = (int)((state >> 20) % 629) - 340; /* stays below DBL_MAX */
        if ((state >> 40) & 1)
            exp = (int)((state >> 20) % 61) - 30; /* mostly near the fast path */
        for (int j = 0; j < ndig; j++) {
            if (j == point && j > 0)
                s[k++] = '.';
            state ^= state << 13, state ^= state >> 7, state ^= state << 17;
            s[k++] = (char)('0' + state % 10);
        }
        k += (size_t)sprintf(s + k, "e%d", exp);
        s[k] = '\0';
        o += (size_t)sprintf(csv + o, "%s,1,m,u,2022-01-01\n", s);
    }
    sx_table *t = parse_len(csv, o);
    CHECK(t != NULL);
    if (t) {
        CHECK(t->nrows == (int64_t)(nhard + NRANDOM));
        int bad = 0;
        for (size_t i = 0; i < nhard; i++) {
            double want = strtod(hard[i], NULL);
            if (!same_double(t->value[i], want)) {
                fprintf(stderr, "value %s: got %.17g, want %.17g\n", hard[i], t->value[i], want);
                bad++;
            }
        }
        for (int i = 0; i < NRANDOM; i++) {
            double want = strtod(texts[i], NULL);
            if (isfinite(want) && !same_double(t->value[nhard + (size_t)i], want)) {
                if (bad < 10)
                    fprintf(stderr, "value %s: got %.17g, want %.17g\n", texts[i],
                            t->value[nhard + (size_t)i], want);
                bad++;
            }
        }
        CHECK(bad == 0);
        sx_table_decref(t);
    }
    free(csv);
    free(texts);
}

/* Decimal points stay '.' even when the process uses a locale with ','. */
static void
test_locale_independent(void)
{
    const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "ru_RU.UTF-8"};
    const char *set = NULL;
    for (size_t i = 0; i < sizeof names / sizeof *names && !set; i++)
        set = setlocale(LC_NUMERIC, names[i]);
    if (!set) {
        printf("(no comma-decimal locale installed: locale test skipped)\n");
        return;
    }
    sx_table *t =
        parse(HEADER "1,a,1.25,u,2022-01-01\n1,a,1.2500000000000000000001,u,2022-01-01\n");
    CHECK(t != NULL && t->value[0] == 1.25 && t->value[1] == 1.25);
    sx_table_decref(t);
    setlocale(LC_NUMERIC, "C");
}

/* ------------------------------------------------------------------ errors */

#define ZEROS_100                                                                                  \
    "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" \
    "00"                                                                                           \
    "000000"
#define ZEROS_400 ZEROS_100 ZEROS_100 ZEROS_100 ZEROS_100
#define NBSP_X10  "\xC2\xA0\xC2\xA0\xC2\xA0\xC2\xA0\xC2\xA0\xC2\xA0\xC2\xA0\xC2\xA0\xC2\xA0\xC2\xA0"
#define NBSP_X40  NBSP_X10 NBSP_X10 NBSP_X10 NBSP_X10 "\xF3\xA0\x81\x81"

typedef struct bad_case {
    const char *name;
    const char *csv;
    size_t len; /* 0: strlen(csv) */
    uint64_t line, column;
    const char *message; /* a part of the expected message, or "=" and all of it */
} bad_case;

#define ROW2(s) HEADER s
static const char utf8_after_multibyte[] = HEADER "1,\xE4\xB8\xAD\xFF,1,u,2022-01-01\n";
static const char nul_in_field[] = HEADER "1,a\0\xC3,1,u,2022-01-01\n";

static const bad_case bad_cases[] = {
    {"empty input", "", 0, 1, 1, "=expected a header row, found an empty input"},
    {"only line breaks", "\n\r\n", 0, 1, 1, "expected a header row"},
    {"only a BOM", "\xEF\xBB\xBF", 0, 1, 1, "expected a header row"},
    {"missing column", "project,metric,unit,as_of\n1,a,u,2022-01-01\n", 0, 1, 1, "\"value\""},
    {"missing columns", "\xEF\xBB\xBFproject,label\n", 0, 1, 1,
     "found none named \"metric\", \"value\", \"unit\", \"as_of\""},
    {"repeated column", "project,metric,value,unit,as_of,metric\n", 0, 1, 33,
     "expected distinct column names, found \"metric\" again (column 2)"},
    {"repeated unknown column", "x,project,metric,value,unit,as_of,x\n", 0, 1, 35, "\"x\" again"},
    {"repeated column after BOM", "\xEF\xBB\xBFproject,metric,value,unit,as_of,as_of\n", 0, 1, 33,
     "\"as_of\" again"},
    {"unterminated quote to EOF", ROW2("1,\"abc\n2,x,1,u,2022-01-01\n"), 0, 2, 3,
     "expected a closing quote"},
    {"unterminated quote in header", "project,\"metric,value\n", 0, 1, 9, "closing quote"},
    {"quote in unquoted field", ROW2("1,ab\"c,1,u,2022-01-01\n"), 0, 2, 5,
     "found a quote inside an unquoted field"},
    {"text after closing quote", ROW2("1,\"ab\"c,1,u,2022-01-01\n"), 0, 2, 7,
     "after the closing quote, found \"c\""},
    {"space after closing quote", ROW2("1,\"ab\" ,1,u,2022-01-01\n"), 0, 2, 7, "found \" \""},
    {"multibyte after closing quote", ROW2("1,\"\xC3\xA9\"\xC3\xA9,1,u,2022-01-01\n"), 0, 2, 6,
     "found \"\xC3\xA9\""},
    {"too many fields", ROW2("1,m,1,u,2022-01-01,x\n"), 0, 2, 20, "expected 5 fields, found 6"},
    {"too many fields, empty", ROW2("1,m,1,u,2022-01-01,\n"), 0, 2, 20,
     "expected 5 fields, found 6"},
    {"too many fields, counted", ROW2("1,m,1,u,2022-01-01,\"a,b\",c,d\r\n"), 0, 2, 20,
     "expected 5 fields, found 8"},
    {"too many fields, broken", ROW2("1,m,1,u,2022-01-01,a\"b\n"), 0, 2, 20,
     "expected 5 fields, found more"},
    {"too few fields", ROW2("1,m,1,u\n"), 0, 2, 8, "=expected 5 fields, found 4"},
    {"too few fields at EOF", ROW2("1,m,1,u"), 0, 2, 8, "expected 5 fields, found 4"},
    {"too few fields CRLF", "project,metric,value,unit,as_of\r\n1,m\r\n", 0, 2, 4,
     "expected 5 fields, found 2"},
    {"empty line inside", ROW2("\n1,m,1,u,2022-01-01\n"), 0, 2, 1,
     "expected 5 fields, found an empty line"},
    {"empty line between rows", ROW2("1,m,1,u,2022-01-01\r\n\r\n1,m,1,u,2022-01-01\r\n"), 0, 3, 1,
     "found an empty line"},
    {"empty project", ROW2(",m,1,u,2022-01-01\n"), 0, 2, 1,
     "expected a positive integer in column \"project\", found an empty field"},
    {"project zero", ROW2("0,m,1,u,2022-01-01\n"), 0, 2, 1, "found \"0\""},
    {"project negative", ROW2("-1,m,1,u,2022-01-01\n"), 0, 2, 1, "positive integer"},
    {"project too large", ROW2("2147483648,m,1,u,2022-01-01\n"), 0, 2, 1,
     "=expected a positive integer up to 2147483647 in column \"project\", found \"2147483648\""},
    {"project far too large", ROW2("123456789012345678901234567890,m,1,u,2022-01-01\n"), 0, 2, 1,
     "positive integer up to 2147483647 in"},
    {"project too large and not digits", ROW2("21474836480x,m,1,u,2022-01-01\n"), 0, 2, 1,
     "=expected a positive integer in column \"project\", found \"21474836480x\""},
    {"project at the limit", ROW2("2147483647,m,1,u,2022-01-01\n1,m,x,u,2022-01-01\n"), 0, 3, 5,
     "found \"x\""},
    {"project not an integer", ROW2("1.0,m,1,u,2022-01-01\n"), 0, 2, 1, "positive integer"},
    {"project with space", ROW2(" 1,m,1,u,2022-01-01\n"), 0, 2, 1, "found \" 1\""},
    {"empty metric", ROW2("1,,1,u,2022-01-01\n"), 0, 2, 3,
     "expected a non-empty text in column \"metric\", found an empty field"},
    {"empty quoted metric", ROW2("1,\"\",1,u,2022-01-01\n"), 0, 2, 3, "column \"metric\""},
    {"empty unit", ROW2("1,m,1,,2022-01-01\n"), 0, 2, 7, "column \"unit\""},
    {"empty value", ROW2("1,m,,u,2022-01-01\n"), 0, 2, 5,
     "expected a finite number in column \"value\", found an empty field"},
    {"empty as_of", ROW2("1,m,1,u,\n"), 0, 2, 9, "column \"as_of\", found an empty field"},
    {"nan", ROW2("1,m,nan,u,2022-01-01\n"), 0, 2, 5,
     "expected a finite number in column \"value\", found \"nan\""},
    {"NaN", ROW2("1,m,NaN,u,2022-01-01\n"), 0, 2, 5, "found \"NaN\""},
    {"inf", ROW2("1,m,inf,u,2022-01-01\n"), 0, 2, 5, "found \"inf\""},
    {"-Infinity", ROW2("1,m,-Infinity,u,2022-01-01\n"), 0, 2, 5, "found \"-Infinity\""},
    {"12a", ROW2("1,m,12a,u,2022-01-01\n"), 0, 2, 5,
     "=expected a finite number in column \"value\", found \"12a\""},
    {"overflow", ROW2("1,m,1e309,u,2022-01-01\n"), 0, 2, 5,
     "=expected a number within the range of a double (up to about 1.8e308) in column \"value\", "
     "found \"1e309\""},
    {"negative overflow", ROW2("1,m,-1e999,u,2022-01-01\n"), 0, 2, 5,
     "range of a double (up to about 1.8e308) in column \"value\", found \"-1e999\""},
    {"overflow at the edge", ROW2("1,m,1.7976931348623159e308,u,2022-01-01\n"), 0, 2, 5,
     "range of a double"},
    {"overflow by digits", ROW2("1,m,1" ZEROS_400 ",u,2022-01-01\n"), 0, 2, 5, "range of a double"},
    /* invisible characters are escaped in messages, as Python's repr does */
    {"byte order mark in a field",
     ROW2("1,m,\xEF\xBB\xBF"
          "1,u,2022-01-01\n"),
     0, 2, 5, "=expected a finite number in column \"value\", found \"\\ufeff1\""},
    {"zero-width space", ROW2("1,m,1\xE2\x80\x8B,u,2022-01-01\n"), 0, 2, 5, "found \"1\\u200b\""},
    {"no-break space",
     ROW2("1,m,\xC2\xA0"
          "1,u,2022-01-01\n"),
     0, 2, 5, "found \"\\xa01\""},
    {"soft hyphen",
     ROW2("1,m,1\xC2\xAD"
          "5,u,2022-01-01\n"),
     0, 2, 5, "found \"1\\xad5\""},
    {"C1 control", ROW2("1,m,1\xC2\x85,u,2022-01-01\n"), 0, 2, 5, "found \"1\\x85\""},
    {"ideographic space", ROW2("1,m,1\xE3\x80\x80,u,2022-01-01\n"), 0, 2, 5, "found \"1\\u3000\""},
    {"tag character", ROW2("1,m,1\xF3\xA0\x81\x81,u,2022-01-01\n"), 0, 2, 5,
     "found \"1\\U000e0041\""},
    {"visible text stays", ROW2("1,m,\xC3\xA9\xE5\xA4\xAA,u,2022-01-01\n"), 0, 2, 5,
     "found \"\xC3\xA9\xE5\xA4\xAA\""},
    {"forty escapes fit", ROW2("1,m,1" NBSP_X40 ",u,2022-01-01\n"), 0, 2, 5, "\\xa0\xE2\x80\xA6\""},
    {"value with space", ROW2("1,m,1 ,u,2022-01-01\n"), 0, 2, 5, "found \"1 \""},
    {"value leading space", ROW2("1,m, 1,u,2022-01-01\n"), 0, 2, 5, "found \" 1\""},
    {"lone sign", ROW2("1,m,-,u,2022-01-01\n"), 0, 2, 5, "finite number"},
    {"lone point", ROW2("1,m,.,u,2022-01-01\n"), 0, 2, 5, "finite number"},
    {"exponent only", ROW2("1,m,e5,u,2022-01-01\n"), 0, 2, 5, "finite number"},
    {"exponent without digits", ROW2("1,m,1e,u,2022-01-01\n"), 0, 2, 5, "finite number"},
    {"exponent sign only", ROW2("1,m,1e+,u,2022-01-01\n"), 0, 2, 5, "finite number"},
    {"hex", ROW2("1,m,0x10,u,2022-01-01\n"), 0, 2, 5, "finite number"},
    {"two signs", ROW2("1,m,+-1,u,2022-01-01\n"), 0, 2, 5, "finite number"},
    {"two points", ROW2("1,m,1.2.3,u,2022-01-01\n"), 0, 2, 5, "finite number"},
    {"bad month", ROW2("1,m,1,u,2022-13-01\n"), 0, 2, 9,
     "expected a real calendar date from 0001-01-01 to 9999-12-31 in column \"as_of\", found "
     "\"2022-13-01\""},
    {"short date", ROW2("1,m,1,u,2022-1-5\n"), 0, 2, 9,
     "expected a date written YYYY-MM-DD in column \"as_of\", found \"2022-1-5\""},
    {"not a leap year", ROW2("1,m,1,u,2023-02-29\n"), 0, 2, 9, "found \"2023-02-29\""},
    {"not a leap century", ROW2("1,m,1,u,1900-02-29\n"), 0, 2, 9, "real calendar date"},
    {"day zero", ROW2("1,m,1,u,2022-01-00\n"), 0, 2, 9, "real calendar date"},
    {"day 31 of April", ROW2("1,m,1,u,2022-04-31\n"), 0, 2, 9, "real calendar date"},
    {"year zero", ROW2("1,m,1,u,0000-01-01\n"), 0, 2, 9, "real calendar date"},
    {"date with time", ROW2("1,m,1,u,2022-01-01T00:00\n"), 0, 2, 9, "YYYY-MM-DD"},
    {"slashed date", ROW2("1,m,1,u,2022/01/01\n"), 0, 2, 9, "YYYY-MM-DD"},
    {"bad period_start",
     "project,metric,value,unit,as_of,period_start\n1,m,1,u,2022-01-01,2022-02-30\n", 0, 2, 20,
     "column \"period_start\", found \"2022-02-30\""},
    {"invalid UTF-8 after a multibyte char", utf8_after_multibyte, sizeof utf8_after_multibyte - 1,
     2, 4, "expected UTF-8 text, found the invalid byte FF"},
    {"invalid UTF-8 after NUL", nul_in_field, sizeof nul_in_field - 1, 2, 5, "invalid bytes C3 2C"},
    {"overlong", ROW2("1,\xC0\xAF,1,u,2022-01-01\n"), 0, 2, 3, "invalid byte C0"},
    {"surrogate", ROW2("1,\xED\xA0\x80,1,u,2022-01-01\n"), 0, 2, 3,
     "=expected UTF-8 text, found the invalid bytes ED A0"},
    {"beyond U+10FFFF", ROW2("1,\xF4\x90\x80\x80,1,u,2022-01-01\n"), 0, 2, 3,
     "=expected UTF-8 text, found the invalid bytes F4 90"},
    {"truncated at EOF", ROW2("1,m,1,u,2022-01-01\n1,\xE4\xB8"), 0, 3, 3, "invalid bytes E4 B8"},
    {"truncated sequence", ROW2("1,\xE4\xB8x,1,u,2022-01-01\n"), 0, 2, 3, "invalid bytes E4 B8 78"},
    {"continuation byte alone", ROW2("1,m\x80,1,u,2022-01-01\n"), 0, 2, 4, "invalid byte 80"},
    {"invalid UTF-8 in header", "project,m\xFF\n", 0, 1, 10, "invalid byte FF"},
    {"invalid UTF-8 in quoted field", ROW2("1,\"a\nb\xFE\",1,u,2022-01-01\n"), 0, 3, 2,
     "invalid byte FE"},
    {"invalid UTF-8 in unterminated quote", ROW2("1,\"a\n\n  \xFE"), 0, 4, 3, "invalid byte FE"},
    {"invalid UTF-8 after closing quote", ROW2("1,\"a\"\xFF,1,u,2022-01-01\n"), 0, 2, 6,
     "invalid byte FF"},
    {"invalid UTF-8 in ignored column",
     "project,metric,value,unit,as_of,x\n1,m,1,u,2022-01-01,\xFF\n", 0, 2, 20, "invalid byte FF"},
    {"columns count code points", ROW2("1,\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E,x,u,2022-01-01\n"),
     0, 2, 7, "found \"x\""},
    {"line after a quoted newline", ROW2("1,\"a\nb\",1,u,2022-01-01\n1,m,x,u,2022-01-01\n"), 0, 4,
     5, "found \"x\""},
    {"same record after a quoted newline", ROW2("1,\"a\r\nb\",zz,u,2022-01-01\n"), 0, 3, 4,
     "found \"zz\""},
    {"line after quoted lone CRs", ROW2("1,\"a\r\rb\",1,u,2022-01-01\r1,m,1,u,2022-01-01,x\r"), 0,
     5, 20, "found 6"},
    {"lone CR line numbers",
     "project,metric,value,unit,as_of\r1,m,1,u,2022-01-01\r1,m,q,u,2022-01-01\r", 0, 3, 5,
     "found \"q\""},
    {"mixed line breaks",
     "project,metric,value,unit,as_of\r\n1,m,1,u,2022-01-01\n1,m,1,u,2022-01-01\r"
     "1,m,1,u,2022-01-01\r\n1,m,1,u,2022-1-01\n",
     0, 5, 9, "2022-1-01"},
    {"long field is cut short",
     ROW2("1,m,1234567890123456789012345678901234567890123456789x,u,2022-01-01\n"), 0, 2, 5,
     "found \"1234567890123456789012345678901234567890\xE2\x80\xA6\""},
    {"control characters are escaped", ROW2("1,m,\"1\n\t\",u,2022-01-01\n"), 0, 2, 5,
     "found \"1\\n\\t\""},
    {"quoted value keeps position of quote", ROW2("1,m,\"1\"\"\",u,2022-01-01\n"), 0, 2, 5,
     "found \"1\\\"\""},
    {"project_key differs",
     "project,metric,value,unit,as_of,project_key\n7,a,1,u,2022-01-01,x\n"
     "7,b,1,u,2022-01-01,\n7,c,1,u,2022-01-01,y\n",
     0, 4, 20, "project 7 has project_key \"x\" on line 2, found \"y\""},
    {"project_title differs",
     "project_title,project,metric,value,unit,as_of\n\"T\",7,a,1,u,2022-01-01\n"
     "\"T \",7,b,1,u,2022-01-01\n",
     0, 3, 1, "project 7 has project_title \"T\" on line 2, found \"T \""},
    {"category differs",
     "project,category,metric,value,unit,as_of\n1,,a,1,u,2022-01-01\n"
     "2,x,a,1,u,2022-01-01\n1,y,a,1,u,2022-01-01\n1,z,a,1,u,2022-01-01\n",
     0, 5, 3, "project 1 has category \"y\" on line 4, found \"z\""},
    {"project_key shared",
     "project,metric,value,unit,as_of,project_key\n3,a,1,u,2022-01-01,k\n"
     "7,b,1,u,2022-01-01,k\n",
     0, 3, 20,
     "expected a project_key of its own for project 7, found \"k\", which project 3 has on line 2"},
    {"part_of missing",
     "project,metric,value,unit,as_of,part_of\n1,a,1,u,2022-01-01,b\n"
     "1,b,1,u,2022-01-01,c\n1,c,1,u,2022-01-01,zz\n1,d,1,u,2022-01-01,a\n"
     "1,e,1,u,2022-01-01,zz\n",
     0, 4, 20, "expected part_of to name a metric of this file, found \"zz\""},
    {"part_of missing, quoted",
     "part_of,project,metric,value,unit,as_of\n\"y\"\"\",1,a,1,u,2022-01-01\n", 0, 2, 1,
     "found \"y\\\"\""},
    {"syntax error before part_of check",
     "project,metric,value,unit,as_of,part_of\n1,a,1,u,2022-01-01,zz\n"
     "1,b,1,u,2022-01-01,a,\n",
     0, 3, 22, "found 7"},
};

static void
test_errors(void)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++) {
        const bad_case *c = &bad_cases[i];
        size_t len = c->len ? c->len : strlen(c->csv);
        sx_table *t = (sx_table *)1;
        sx_error e;
        sx_status st = sx_table_parse(c->csv, len, &t, &e);
        int ok = st == SX_ERR_PARSE && e.status == SX_ERR_PARSE && t == NULL && e.line == c->line &&
                 e.column == c->column &&
                 (c->message[0] == '=' ? strcmp(e.message, c->message + 1) == 0
                                       : strstr(e.message, c->message) != NULL);
        if (!ok)
            fprintf(stderr, "case \"%s\": status %d at %llu:%llu (want %llu:%llu): %s\n", c->name,
                    (int)st, (unsigned long long)e.line, (unsigned long long)e.column,
                    (unsigned long long)c->line, (unsigned long long)c->column, e.message);
        CHECK(ok);
        /* and the message is valid UTF-8: the parser itself accepts it as
         * a quoted field */
        sx_table *t2 = NULL;
        char doc[1024];
        size_t n = (size_t)sprintf(doc, HEADER "1,m,1,\"");
        for (const char *m = e.message; *m && n < sizeof doc - 32; m++) {
            if (*m == '"')
                doc[n++] = '"';
            doc[n++] = *m;
        }
        n += (size_t)sprintf(doc + n, "\",2022-01-01\n");
        CHECK(strlen(e.message) < sizeof e.message);
        CHECK(sx_table_parse(doc, n, &t2, NULL) == SX_OK);
        sx_table_decref(t2);
        /* a NULL err is allowed */
        CHECK(sx_table_parse(c->csv, len, &t2, NULL) == SX_ERR_PARSE && t2 == NULL);
    }
}

/* Every prefix of a valid document parses or fails cleanly (no leaks, no
 * overreads: the sanitizers watch), and errors never point past the input. */
static void
test_prefixes(void)
{
    const char *csv = "\xEF\xBB\xBFproject,metric,value,unit,as_of,label,part_of,project_key\r\n"
                      "1,a,1.5e3,u,2022-01-01,\"x, \"\"y\"\"\r\nz\",,k\r\n"
                      "1,\xE4\xB8\xAD,7,u,2024-02-29,,a,k\r\n";
    size_t n = strlen(csv);
    int bad = 0;
    for (size_t len = 0; len <= n; len++) {
        /* copy to an exact-size buffer so ASan catches a read past the end */
        char *copy = malloc(len ? len : 1);
        if (!copy)
            return;
        memcpy(copy, csv, len);
        sx_table *t = NULL;
        sx_error e;
        sx_status st = sx_table_parse(copy, len, &t, &e);
        if (st == SX_OK)
            sx_table_decref(t);
        else if (st != SX_ERR_PARSE || e.line < 1 || e.line > 5 || e.column < 1)
            bad++;
        free(copy);
    }
    CHECK(bad == 0);
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

/* A growing buffer of text for the generated inputs below. */
typedef struct text {
    char *p;
    size_t len, cap;
} text;

static void
put(text *b, const char *s)
{
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

/* The row count is guessed from the first 64 KiB: long rows there and short
 * ones after make the guess far too small, so the columns must grow (several
 * times) without losing or reordering a row. */
static void
test_row_guess_too_small(void)
{
    text b = {0};
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
    text b = {0};
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
    sx_parse_options opts = {on_consumed, &log, NULL};
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
    sx_parse_options none = {NULL, NULL, NULL};
    t = NULL;
    CHECK(sx_table_parse_with(b.p, b.len, &none, &t, &e) == SX_OK && t != NULL && t->nrows == n);
    sx_table_decref(t);

    /* the first row names project 1's category; a later row of it disagrees */
    text c = {0};
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
    test_dates();
    test_values();
    test_rounding();
    test_locale_independent();
    test_errors();
    test_prefixes();
    test_dataset();
    test_row_guess_too_small();
    test_consumed_callback();
    test_null_counts();
    return CHECK_DONE();
}
