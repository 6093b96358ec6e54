/* Tests of sx_table_parse's errors: every kind with its exact line, column
 * and message, and every prefix of a valid document parsed or failed
 * cleanly. */
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

int
main(void)
{
    test_errors();
    test_prefixes();
    return CHECK_DONE();
}
