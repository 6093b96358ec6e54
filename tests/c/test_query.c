/* Tests of sx_filter_init, sx_select, sx_search and sx_edit_distance on
 * tables parsed from CSV text, with hand-worked expectations and a random
 * comparison against a naive per-row reference. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "shanxi/core.h"
#include "testutil.h"

/* rows[0..n) equals the -1-terminated list want */
static int
rows_are(const int64_t *rows, int64_t n, const int *want)
{
    int64_t i;
    for (i = 0; i < n; i++)
        if (want[i] < 0 || rows[i] != want[i])
            return 0;
    return want[n] < 0;
}

static int
select_is(const sx_table *t, const sx_filter *f, const int *want)
{
    int64_t *rows = NULL, n = -1;
    int ok = sx_select(t, f, &rows, &n) == SX_OK && rows_are(rows, n, want);
    free(rows);
    return ok;
}

static int
search_is(const sx_table *t, const char *text, const int *want)
{
    /* split text on spaces into words */
    const char *words[16];
    size_t lens[16], nw = 0;
    const char *p = text;
    int64_t *rows = NULL, n = -1;
    int ok;
    while (*p) {
        const char *q = p;
        while (*q && *q != ' ')
            q++;
        words[nw] = p;
        lens[nw++] = (size_t)(q - p);
        p = *q ? q + 1 : q;
    }
    ok = sx_search(t, words, lens, nw, &rows, &n) == SX_OK && rows_are(rows, n, want);
    free(rows);
    return ok;
}

static const char small_csv[] =
    "project,project_key,project_title,category,metric,label,value,unit,as_of,period_start,"
    "part_of,region\n"
    "1,alpha,Alpha works,health,a_count,Alpha count,10,people,2022-01-31,,,North\n"
    "1,alpha,Alpha works,health,a_money,Alpha money,1500000,CNY,2022-02-28,,,North\n"
    "1,alpha,Alpha works,health,a_rate,Alpha rate,12.5,percent,2022-02-28,,,\n"
    "2,beta,Beta,,b_count,Beta count,7,people,2021-12-31,,,South\n"
    "2,beta,Beta,,b_money,,2500000,CNY,2022-01-15,,,\xc3\x84rzte\n"
    "3,gamma,Gamma plan,employment,g_count,Gamma count,-3,people,2022-01-31,,,North\n"
    "3,gamma,Gamma plan,employment,g_rate,Gamma RATE,87.25,percent,2022-01-31,,,south\n"
    "3,gamma,Gamma plan,employment,g_usd,,100.5,USD,2022-03-01,,,\n"
    "2,,,,b_extra,,1,people,2022-01-15,,,\n";

static void
test_filter_init(void)
{
    sx_filter f;
    int c;
    memset(&f, 0x55, sizeof f);
    sx_filter_init(&f);
    CHECK(f.project == 0);
    CHECK(f.since == INT32_MIN && f.until == INT32_MAX);
    for (c = 0; c < SX_NSTRCOLS; c++)
        CHECK(f.code[c] == SX_ANY);
}

static void
test_select_small(void)
{
    sx_table *t = parse(small_csv);
    sx_filter f;
    static const int all[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, -1}, none[] = {-1};
    CHECK(t != NULL);
    if (t == NULL)
        return;
    sx_filter_init(&f);
    CHECK(select_is(t, &f, all));
    CHECK(select_is(t, NULL, all));

    f.project = 3;
    CHECK(select_is(t, &f, (const int[]){5, 6, 7, -1}));
    f.project = 4;
    CHECK(select_is(t, &f, none));
    f.project = -1;
    CHECK(select_is(t, &f, none));

    sx_filter_init(&f);
    f.code[SX_COL_UNIT] = code_of(t, SX_COL_UNIT, "people");
    CHECK(select_is(t, &f, (const int[]){0, 3, 5, 8, -1}));
    f.project = 2;
    CHECK(select_is(t, &f, (const int[]){3, 8, -1}));

    /* empty optional fields */
    sx_filter_init(&f);
    f.code[SX_COL_REGION] = SX_NULL_CODE;
    CHECK(select_is(t, &f, (const int[]){2, 7, 8, -1}));
    f.code[SX_COL_REGION] = code_of(t, SX_COL_REGION, "\xc3\x84rzte");
    CHECK(select_is(t, &f, (const int[]){4, -1}));
    f.code[SX_COL_REGION] = code_of(t, SX_COL_REGION, "North");
    f.code[SX_COL_CATEGORY] = code_of(t, SX_COL_CATEGORY, "employment");
    CHECK(select_is(t, &f, (const int[]){5, -1}));
    sx_filter_init(&f);
    f.code[SX_COL_CATEGORY] = SX_NULL_CODE;
    CHECK(select_is(t, &f, (const int[]){3, 4, 8, -1}));

    /* codes no field holds match nothing rather than failing */
    sx_filter_init(&f);
    f.code[SX_COL_METRIC] = t->dicts[SX_COL_METRIC].count;
    CHECK(select_is(t, &f, none));
    f.code[SX_COL_METRIC] = -7;
    CHECK(select_is(t, &f, none));
    f.code[SX_COL_METRIC] = SX_NULL_CODE; /* metric is never empty */
    CHECK(select_is(t, &f, none));

    /* inclusive date bounds */
    sx_filter_init(&f);
    f.since = sx_days_from_civil(2022, 1, 31);
    f.until = sx_days_from_civil(2022, 2, 28);
    CHECK(select_is(t, &f, (const int[]){0, 1, 2, 5, 6, -1}));
    f.until = f.since;
    CHECK(select_is(t, &f, (const int[]){0, 5, 6, -1}));
    f.until = f.since - 1;
    CHECK(select_is(t, &f, none));
    sx_filter_init(&f);
    f.until = sx_days_from_civil(2022, 1, 15);
    CHECK(select_is(t, &f, (const int[]){3, 4, 8, -1}));
    f.code[SX_COL_UNIT] = code_of(t, SX_COL_UNIT, "CNY");
    CHECK(select_is(t, &f, (const int[]){4, -1}));
    sx_filter_init(&f);
    f.since = sx_days_from_civil(2022, 3, 1);
    CHECK(select_is(t, &f, (const int[]){7, -1}));
    f.since = INT32_MAX;
    CHECK(select_is(t, &f, none));
    sx_table_decref(t);
}

static void
test_absent_columns(void)
{
    sx_table *t = parse("project,metric,value,unit,as_of\n"
                        "1,x,1,people,2022-01-01\n"
                        "2,y,2,people,2022-01-02\n");
    sx_filter f;
    static const int all[] = {0, 1, -1}, none[] = {-1};
    int c;
    CHECK(t != NULL);
    if (t == NULL)
        return;
    CHECK(t->codes[SX_COL_REGION] == NULL);
    for (c = SX_COL_REGION; c < SX_NSTRCOLS; c++) {
        sx_filter_init(&f);
        f.code[c] = SX_NULL_CODE; /* an absent column is all empty */
        CHECK(select_is(t, &f, all));
        f.code[c] = 0;
        CHECK(select_is(t, &f, none));
        f.code[c] = 12345;
        CHECK(select_is(t, &f, none));
    }
    CHECK(search_is(t, "X", (const int[]){0, -1}));
    CHECK(search_is(t, "x y", none));
    CHECK(search_is(t, "", all));
    sx_table_decref(t);
}

static void
test_search_small(void)
{
    sx_table *t = parse(small_csv);
    static const int all[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, -1}, none[] = {-1};
    int64_t *rows = NULL, n = -1;
    CHECK(t != NULL);
    if (t == NULL)
        return;
    CHECK(search_is(t, "alpha", (const int[]){0, 1, 2, -1}));
    CHECK(search_is(t, "ALPHA", (const int[]){0, 1, 2, -1}));
    CHECK(search_is(t, "rate", (const int[]){2, 6, -1}));
    /* each word may match a different field */
    CHECK(search_is(t, "gamma usd", (const int[]){7, -1}));
    CHECK(search_is(t, "beta money", (const int[]){4, -1}));
    CHECK(search_is(t, "count plan", (const int[]){5, -1}));
    /* the project's title counts even where the row leaves it empty */
    CHECK(search_is(t, "beta extra", (const int[]){8, -1}));
    CHECK(search_is(t, "bEtA", (const int[]){3, 4, 8, -1}));
    CHECK(search_is(t, "zzz", none));
    CHECK(search_is(t, "alpha zzz", none));
    CHECK(search_is(t, "", all));
    CHECK(search_is(t, "works works", (const int[]){0, 1, 2, -1}));
    /* ASCII folding only: no case pairs beyond A-Z */
    CHECK(search_is(t, "a_", (const int[]){0, 1, 2, -1}));
    /* more than one batch of words */
    CHECK(search_is(t, "a l p h a _ c o u n t", (const int[]){0, -1}));
    CHECK(search_is(t, "a l p h a _ c o u n t q", none));
    /* no words at all */
    CHECK(sx_search(t, NULL, NULL, 0, &rows, &n) == SX_OK && n == 9 && rows_are(rows, n, all));
    free(rows);
    CHECK(sx_search(NULL, NULL, NULL, 0, &rows, &n) == SX_ERR_VALUE && rows == NULL && n == 0);
    sx_table_decref(t);
}

/* ------------------------------------------------------------------ random */

static const char *const pool[] = {"alpha", "Beta", "GAMMA", "delta_x",           "ab",
                                   "Ab",    "b",    "a b",   "\xc3\xa9t\xc3\xa9", "xYz"};
#define NPOOL (sizeof pool / sizeof pool[0])

static int
naive_contains(const char *h, const char *w, size_t wl)
{
    size_t hl = strlen(h), i, j;
    for (i = 0; i + wl <= hl; i++) {
        for (j = 0; j < wl; j++) {
            char a = h[i + j], b = w[j];
            if (a >= 'A' && a <= 'Z')
                a = (char)(a - 'A' + 'a');
            if (b >= 'A' && b <= 'Z')
                b = (char)(b - 'A' + 'a');
            if (a != b)
                break;
        }
        if (j == wl)
            return 1;
    }
    return 0;
}

static void
test_random(void)
{
    int round;
    char *csv = malloc(1 << 20);
    for (round = 0; round < 300 && csv; round++) {
        int nrows = 1 + (int)rand_below(round < 20 ? 3000 : 60), r, k;
        /* some rounds have hundreds of units: int16 codes (the SIMD filter
         * has a loop per width) */
        int nunits = round % 5 == 4 ? 400 : 3;
        int proj[3000], date[3000], unit[3000], metric[3000], label[3000], region[3000];
        const char *title[8];
        size_t pos = 0;
        int32_t base = sx_days_from_civil(2022, 2, 20); /* dates straddle a month end */
        sx_table *t;
        for (k = 1; k < 8; k++)
            title[k] = rand_below(4) ? pool[rand_below(NPOOL)] : "";
        pos += (size_t)sprintf(csv + pos,
                               "project,metric,label,value,unit,as_of,region,project_title\n");
        for (r = 0; r < nrows; r++) {
            proj[r] = 1 + (int)rand_below(7);
            date[r] = (int)rand_below(40);
            unit[r] = (int)rand_below((uint32_t)nunits);
            metric[r] = (int)rand_below(NPOOL);
            label[r] = rand_below(3) ? (int)rand_below(NPOOL) : -1;
            region[r] = rand_below(3) ? (int)rand_below(4) : -1;
            int32_t y;
            unsigned mo, d;
            sx_civil_from_days(base + date[r], &y, &mo, &d);
            pos += (size_t)sprintf(csv + pos, "%d,\"%s\",\"%s\",%d,u%d,%d-%02u-%02u,%s,\"%s\"\n",
                                   proj[r], pool[metric[r]], label[r] < 0 ? "" : pool[label[r]], r,
                                   unit[r], (int)y, mo, d, region[r] < 0 ? "" : pool[region[r]],
                                   title[proj[r]]);
        }
        t = parse(csv);
        CHECK(t != NULL);
        if (t == NULL)
            break;
        for (k = 0; k < 40; k++) {
            sx_filter f;
            int64_t *rows = NULL, n = -1, got = 0;
            int rp = rand_below(3) ? 0 : 1 + (int)rand_below(8),
                ru = rand_below(2) ? -1 : (int)rand_below((uint32_t)nunits + 1),
                rr = rand_below(2) ? -3 : (int)rand_below(5) - 1, since = (int)rand_below(45) - 2,
                until = since + (int)rand_below(30) - 3, ok = 1;
            char ubuf[16];
            sx_filter_init(&f);
            f.project = rp;
            if (ru >= 0) {
                snprintf(ubuf, sizeof ubuf, "u%d", ru);
                f.code[SX_COL_UNIT] = code_of(t, SX_COL_UNIT, ubuf);
                if (f.code[SX_COL_UNIT] < 0)
                    f.code[SX_COL_UNIT] = 9999; /* a code nothing has */
            }
            if (rr >= -1)
                f.code[SX_COL_REGION] = rr < 0 ? SX_NULL_CODE : code_of(t, SX_COL_REGION, pool[rr]);
            if (f.code[SX_COL_REGION] == -1 && rr >= 0)
                f.code[SX_COL_REGION] = 9999;
            if (rand_below(2)) {
                f.since = base + since;
                f.until = base + until;
            } else {
                since = -100;
                until = 100;
            }
            CHECK(sx_select(t, &f, &rows, &n) == SX_OK);
            for (r = 0; r < nrows; r++) {
                int want = (rp == 0 || proj[r] == rp) && (ru < 0 || unit[r] == ru) &&
                           (rr < -1 || region[r] == rr) && date[r] >= since && date[r] <= until;
                if (want) {
                    if (got >= n || rows[got] != r)
                        ok = 0;
                    got++;
                }
            }
            CHECK(ok && got == n);
            free(rows);
        }
        for (k = 0; k < 30; k++) {
            const char *words[3];
            size_t lens[3], nw = rand_below(4), w;
            int64_t *rows = NULL, n = -1, got = 0;
            int ok = 1;
            for (w = 0; w < nw; w++) {
                const char *s = pool[rand_below(NPOOL)];
                size_t len = strlen(s), off = rand_below((uint32_t)len);
                words[w] = s + off;
                lens[w] = 1 + rand_below((uint32_t)(len - off));
            }
            CHECK(sx_search(t, words, lens, nw, &rows, &n) == SX_OK);
            for (r = 0; r < nrows; r++) {
                int want = 1;
                for (w = 0; w < nw; w++)
                    want &= naive_contains(pool[metric[r]], words[w], lens[w]) ||
                            (label[r] >= 0 && naive_contains(pool[label[r]], words[w], lens[w])) ||
                            naive_contains(title[proj[r]], words[w], lens[w]);
                if (want) {
                    if (got >= n || rows[got] != r)
                        ok = 0;
                    got++;
                }
            }
            CHECK(ok && got == n);
            free(rows);
        }
        sx_table_decref(t);
    }
    free(csv);
}

/* ------------------------------------------------------------------ edit distance */

static size_t
ed(const char *a, const char *b, size_t limit)
{
    return sx_edit_distance(a, strlen(a), b, strlen(b), limit);
}

static char
fold_ascii(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* the textbook full-matrix recurrence */
static size_t
naive_ed(const char *a, size_t al, const char *b, size_t bl)
{
    static size_t d[80][80];
    size_t i, j;
    for (i = 0; i <= al; i++)
        d[i][0] = i;
    for (j = 0; j <= bl; j++)
        d[0][j] = j;
    for (i = 1; i <= al; i++)
        for (j = 1; j <= bl; j++) {
            size_t v = d[i - 1][j - 1] + (fold_ascii(a[i - 1]) != fold_ascii(b[j - 1]));
            if (d[i - 1][j] + 1 < v)
                v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v)
                v = d[i][j - 1] + 1;
            d[i][j] = v;
        }
    return d[al][bl];
}

static void
test_edit_distance(void)
{
    char a[1000], b[1000];
    int k;
    CHECK(ed("kitten", "sitting", 10) == 3);
    CHECK(ed("sitting", "kitten", 10) == 3);
    CHECK(ed("kitten", "sitting", 3) == 3);
    CHECK(ed("kitten", "sitting", 2) == 3); /* capped at limit + 1 */
    CHECK(ed("kitten", "sitting", 0) == 1);
    CHECK(ed("", "", 0) == 0);
    CHECK(ed("", "abc", 5) == 3);
    CHECK(ed("abc", "", 1) == 2);
    CHECK(ed("ABC", "abc", 0) == 0);
    CHECK(ed("Trained_People", "trained_people", 2) == 0);
    CHECK(ed("[", "{", 5) == 1);               /* only A-Z fold */
    CHECK(ed("\xc3\x84", "\xc3\xa4", 5) == 1); /* bytes, not code points */
    CHECK(ed("abc", "abc", SIZE_MAX) == 0);
    CHECK(ed("abc", "xyzw", SIZE_MAX) == 4);
    CHECK(ed("flaw", "lawn", 5) == 2);
    CHECK(sx_edit_distance("a\0b", 3, "a\0c", 3, 5) == 1);

    /* rows longer than the stack buffer */
    memset(a, 'a', sizeof a);
    memset(b, 'a', sizeof b);
    b[500] = 'B';
    CHECK(sx_edit_distance(a, 1000, b, 1000, 5) == 1);
    CHECK(sx_edit_distance(a, 1000, b, 999, 5) == 2);
    CHECK(sx_edit_distance(a, 1000, b, 300, 5) == 6);
    CHECK(sx_edit_distance(a, 1000, b, 300, 1000) == 700);

    for (k = 0; k < 3000; k++) {
        size_t al = rand_below(12), bl = rand_below(12), i, limit = rand_below(14), want, got;
        for (i = 0; i < al; i++)
            a[i] = "abAB_["[rand_below(6)];
        for (i = 0; i < bl; i++)
            b[i] = "abAB_{"[rand_below(6)];
        want = naive_ed(a, al, b, bl);
        got = sx_edit_distance(a, al, b, bl, limit);
        CHECK(got == (want <= limit ? want : limit + 1));
    }
}

int
main(void)
{
    test_filter_init();
    test_select_small();
    test_absent_columns();
    test_search_small();
    test_random();
    test_edit_distance();
    return CHECK_DONE();
}
