/* Tests of sx_table_parse's values and dates: ISO dates, numbers, decimals
 * rounded correctly to doubles, and the same in any C locale. */
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
same_double(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
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

/* One step of the xorshift64 the random texts come from. */
static void
xorshift(uint64_t *state)
{
    *state ^= *state << 13, *state ^= *state >> 7, *state ^= *state << 17;
}

enum { NRANDOM = 20000, TEXT_MAX = 48 };

/* Writes the i-th random text into s (TEXT_MAX bytes), drawing from *state. */
typedef void random_text(char *s, int i, uint64_t *state);

/* The hard cases, then NRANDOM texts from gen (its state starting at seed),
 * as the value column of one CSV: the parser must agree with strtod (this
 * program runs in the "C" locale) bit for bit on every one of them. */
static void
check_values_parse_as_strtod(const char *const *hard, size_t nhard, random_text *gen, uint64_t seed)
{
    char(*texts)[TEXT_MAX] = malloc(NRANDOM * sizeof *texts);
    CHECK(texts != NULL);
    if (!texts)
        return;
    textbuf csv = {NULL, 0, 0};
    put(&csv, "value,project,metric,unit,as_of\n");
    for (size_t i = 0; i < nhard; i++)
        putf(&csv, "%s,1,m,u,2022-01-01\n", hard[i]);
    uint64_t state = seed;
    for (int i = 0; i < NRANDOM; i++) {
        gen(texts[i], i, &state);
        putf(&csv, "%s,1,m,u,2022-01-01\n", texts[i]);
    }
    sx_table *t = parse_len(csv.p, csv.len);
    CHECK(t != NULL);
    if (t) {
        CHECK(t->nrows == (int64_t)(nhard + NRANDOM));
        int bad = 0;
        for (size_t i = 0; i < nhard + NRANDOM; i++) {
            const char *text = i < nhard ? hard[i] : texts[i - nhard];
            double want = strtod(text, NULL);
            if (!same_double(t->value[i], want)) {
                if (bad < 10)
                    fprintf(stderr, "value %s: got %.17g, want %.17g\n", text, t->value[i], want);
                bad++;
            }
        }
        CHECK(bad == 0);
        sx_table_decref(t);
    }
    free(csv.p);
    free(texts);
}

/* Random digit strings (1-19 digits), the point anywhere, an exponent of
 * -340..288 (so every one stays below DBL_MAX), half of them -30..30. */
static void
any_decimal(char *s, int i, uint64_t *state)
{
    (void)i;
    size_t k = 0;
    xorshift(state);
    int ndig = 1 + (int)(*state % 19), point = (int)((*state >> 8) % (uint64_t)(ndig + 1));
    int exp = (int)((*state >> 20) % 629) - 340;
    if ((*state >> 40) & 1)
        exp = (int)((*state >> 20) % 61) - 30; /* mostly near the fast path */
    for (int j = 0; j < ndig; j++) {
        if (j == point && j > 0)
            s[k++] = '.';
        xorshift(state);
        s[k++] = (char)('0' + *state % 10);
    }
    sprintf(s + k, "e%d", exp);
}

/* The parser must agree bit for bit with strtod, on hard cases and on many
 * random ones. */
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
    check_values_parse_as_strtod(hard, sizeof hard / sizeof *hard, any_decimal,
                                 0x2545F4914F6CDD1Dull);
}

/* Even texts: 16-19 random digits, the point anywhere, an exponent of
 * -21..21.  Odd ones: halfway between two doubles of 2^53..2^57 (or 0.1
 * either side): an integer of up to 17 digits, as it is or with a decimal
 * (exactly, or over 10). */
static void
long_decimal(char *s, int i, uint64_t *state)
{
    xorshift(state);
    if (i % 2 == 0) {
        int ndig = 16 + (int)(*state % 4), point = (int)((*state >> 8) % (uint64_t)(ndig + 1));
        int exp = (int)((*state >> 20) % 43) - 21;
        size_t k = 0;
        for (int j = 0; j < ndig; j++) {
            if (j == point && j > 0)
                s[k++] = '.';
            xorshift(state);
            s[k++] = (char)('0' + (j == 0 ? 1 + *state % 9 : *state % 10));
        }
        sprintf(s + k, "e%d", exp);
    } else {
        int64_t mid = (int64_t)(*state >> 11) | ((int64_t)1 << 52); /* 53 bits */
        int up = (int)((*state >> 3) % 4);
        int64_t tie = (mid << (up + 1)) + ((int64_t)1 << up); /* an odd half unit */
        int nudge = (int)(*state % 3) - 1;
        if ((*state >> 7) & 1)
            sprintf(s, "%lld", (long long)tie);
        else
            sprintf(s, "%lld.%d", (long long)(nudge < 0 ? tie - 1 : tie),
                    nudge < 0   ? 9
                    : nudge > 0 ? 1
                                : 0);
    }
}

/* Decimals of 16 to 19 significant digits scaled by at most 10^19 (the
 * floats that print with 17 digits) take an exact 128-bit path: it must agree
 * bit for bit with strtod, on ties (halfway between two doubles, to even),
 * just off them, and on many random ones. */
static void
test_rounding_long_digits(void)
{
    static const char *const hard[] = {
        "18014398509481986",      /* 2^54 + 2: a tie, to even (down) */
        "18014398509481990",      /* 2^54 + 6: a tie, to even (up) */
        "18014398509481986.00",   /* the same over 10^2 */
        "18014398509481987",      /* just above a tie */
        "1801439850948198.5e1",   /* a tie written with a point and an exponent */
        "9007199254740993.0",     /* 2^53 + 1 over 10 */
        "9007199254740995.000",   /* 2^53 + 3 over 10^3 */
        "9007199254740993.001",   /* just above a tie */
        "9007199254740992.999",   /* just below one */
        "9999999999999999999",    /* the largest mantissa */
        "9999999999999999999e19", /* times the largest power */
        "9999999999999999999e-19", "1000000000000000000e-19", "1e-19",
        "0.12345678901234567",     "526942.0073315451",       "-0.30000000000000004",
        "1.7976931348623157",      "4503599627370497.5", /* 2^52 + 1.5: a tie at the point */
        "36028797018963971e-1",
    };
    check_values_parse_as_strtod(hard, sizeof hard / sizeof *hard, long_decimal,
                                 0x9E3779B97F4A7C15ull);
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

int
main(void)
{
    test_dates();
    test_values();
    test_rounding();
    test_rounding_long_digits();
    test_locale_independent();
    return CHECK_DONE();
}
