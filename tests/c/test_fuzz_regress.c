/* Regression cases for what the fuzz harnesses (tests/fuzz) found.  Each
 * case names the crash input kept in tests/fuzz/corpus/.../regress-*, says
 * what went wrong, and checks the fixed behaviour directly, so it fails
 * without a sanitizer too. */
#include "check.h"
#include "shanxi/core.h"

#include <stdlib.h>
#include <string.h>

/* corpus/parse/regress-empty-header-name: the input "," (a header of two
 * empty column names).  Interning the second empty name looked it up as
 * d->data + offset with d->data still NULL, since an empty string never
 * grew the character buffer: pointer arithmetic on a null pointer
 * (UBSan: "applying zero offset to null pointer" in dict.c).  Fixed in
 * sx_dict_intern: the buffer exists once any string is interned. */
static void
empty_strings_in_a_dictionary(void)
{
    sx_dict d;
    int32_t a = -1, b = -1;
    size_t n = 99;
    memset(&d, 0, sizeof d);
    CHECK(sx_dict_intern(&d, "", 0, &a) == SX_OK && a == 0);
    CHECK(d.data != NULL);
    CHECK(sx_dict_intern(&d, "", 0, &b) == SX_OK && b == 0);
    CHECK(d.count == 1);
    CHECK(sx_dict_find(&d, "", 0) == 0);
    CHECK(sx_dict_str(&d, 0, &n) == d.data && n == 0);
    CHECK(sx_dict_intern(&d, "x", 1, &b) == SX_OK && b == 1);
    CHECK(sx_dict_find(&d, "", 0) == 0 && sx_dict_find(&d, "x", 1) == 1);
    sx_dict_free(&d);
}

static void
header_of_empty_names(void)
{
    static const char *const inputs[] = {",", ",,", ",\n1\n", "project,,metric,,\n"};
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
        sx_table *t = NULL;
        sx_error e;
        /* an exact-size copy: no terminator to lean on */
        size_t len = strlen(inputs[i]);
        char *buf = malloc(len);
        CHECK(buf != NULL);
        if (!buf)
            return;
        memcpy(buf, inputs[i], len);
        CHECK(sx_table_parse(buf, len, &t, &e) == SX_ERR_PARSE && t == NULL);
        CHECK(e.line == 1 && strstr(e.message, "distinct column names") != NULL);
        free(buf);
    }
}

int
main(void)
{
    empty_strings_in_a_dictionary();
    header_of_empty_names();
    return CHECK_DONE();
}
