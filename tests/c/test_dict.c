/* Tests of the string dictionary (sx_dict_*). */
#include "check.h"
#include "shanxi/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
str_is(const sx_dict *d, int32_t code, const char *s, size_t n)
{
    size_t m;
    const char *t = sx_dict_str(d, code, &m);
    return m == n && memcmp(t, s, n) == 0;
}

static void
test_basics(void)
{
    sx_dict d;
    memset(&d, 0, sizeof d);
    CHECK(sx_dict_find(&d, "a", 1) == -1);
    int32_t a = -5, b = -5, again = -5, empty = -5, nul = -5;
    CHECK(sx_dict_intern(&d, "alpha", 5, &a) == SX_OK && a == 0);
    CHECK(sx_dict_intern(&d, "beta", 4, &b) == SX_OK && b == 1);
    CHECK(sx_dict_intern(&d, "alpha", 5, &again) == SX_OK && again == 0);
    CHECK(sx_dict_intern(&d, "", 0, &empty) == SX_OK && empty == 2);
    CHECK(sx_dict_intern(&d, "al\0pha", 6, &nul) == SX_OK && nul == 3);
    CHECK(d.count == 4);
    CHECK(d.offsets[0] == 0 && d.offsets[1] == 5 && d.offsets[2] == 9 && d.offsets[3] == 9 &&
          d.offsets[4] == 15);
    CHECK(memcmp(d.data, "alphabetaal\0pha", 15) == 0);
    CHECK(str_is(&d, 3, "al\0pha", 6) && str_is(&d, 2, "", 0));
    CHECK(sx_dict_find(&d, "", 0) == 2);
    CHECK(sx_dict_find(&d, "al", 2) == -1);
    CHECK(sx_dict_find(&d, "alph", 4) == -1);
    CHECK(sx_dict_find(&d, "alphaa", 6) == -1);
    CHECK(sx_dict_find(&d, "beta", 4) == 1);
    sx_dict_free(&d);
    CHECK(d.count == 0 && d.offsets == NULL && d.data == NULL);
    /* usable again after free */
    CHECK(sx_dict_intern(&d, "x", 1, &a) == SX_OK && a == 0 && sx_dict_find(&d, "x", 1) == 0);
    sx_dict_free(&d);
}

/* The parser gives present columns a dictionary whose offsets already hold
 * offsets[0]; interning must grow from there. */
static void
test_preset_offsets(void)
{
    sx_dict d;
    memset(&d, 0, sizeof d);
    d.offsets = calloc(1, sizeof *d.offsets);
    CHECK(d.offsets != NULL);
    if (!d.offsets)
        return;
    int32_t c = -1;
    CHECK(sx_dict_intern(&d, "k", 1, &c) == SX_OK && c == 0 && d.offsets[0] == 0 &&
          d.offsets[1] == 1);
    sx_dict_free(&d);
}

static void
test_many(void)
{
    enum { N = 200000 };
    sx_dict d;
    memset(&d, 0, sizeof d);
    char buf[64];
    int ok = 1;
    for (int i = 0; i < N && ok; i++) {
        /* similar keys of varied lengths, as a panel's would be */
        int n = snprintf(buf, sizeof buf, "key_%d%.*s", i, i % 23, "_________________________");
        int32_t code = -1;
        ok = sx_dict_intern(&d, buf, (size_t)n, &code) == SX_OK && code == i;
    }
    CHECK(ok);
    CHECK(d.count == N);
    for (int i = 0; i < N && ok; i++) {
        int n = snprintf(buf, sizeof buf, "key_%d%.*s", i, i % 23, "_________________________");
        int32_t code = -1;
        ok = sx_dict_find(&d, buf, (size_t)n) == i && str_is(&d, i, buf, (size_t)n) &&
             sx_dict_intern(&d, buf, (size_t)n, &code) == SX_OK && code == i &&
             d.offsets[i] <= d.offsets[i + 1];
        /* a near miss is not found */
        ok = ok && sx_dict_find(&d, buf, (size_t)n - 1) != i;
    }
    CHECK(ok);
    CHECK(d.count == N);
    CHECK(sx_dict_find(&d, "key_", 4) == -1);

    /* long strings */
    char *big = malloc(10000);
    CHECK(big != NULL);
    if (big) {
        memset(big, 'z', 10000);
        int32_t c1 = -1, c2 = -1;
        CHECK(sx_dict_intern(&d, big, 10000, &c1) == SX_OK && c1 == N);
        big[9999] = 'y';
        CHECK(sx_dict_intern(&d, big, 10000, &c2) == SX_OK && c2 == N + 1);
        CHECK(sx_dict_find(&d, big, 9999) == -1);
        CHECK(str_is(&d, c2, big, 10000));
        free(big);
    }
    sx_dict_free(&d);
}

int
main(void)
{
    test_basics();
    test_preset_offsets();
    test_many();
    return CHECK_DONE();
}
