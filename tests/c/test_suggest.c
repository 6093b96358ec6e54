/* Tests of the suggestion ranking (sx_suggest_init, sx_suggest_offer). */
#include "check.h"
#include "shanxi/core.h"

#include <string.h>

static sx_suggestions
rank(const char *key, const char *const *cands, int n)
{
    sx_suggestions s;
    sx_suggest_init(&s, key, strlen(key));
    for (int i = 0; i < n; i++) {
        sx_suggest_offer(&s, i, cands[i], strlen(cands[i]));
    }
    return s;
}

static void
test_closest_first(void)
{
    static const char *const c[] = {"elevators_started", "elevators_completed", "rural_roads",
                                    "elevators_complete_x"};
    sx_suggestions s = rank("elevators_complete", c, 4);
    CHECK(s.n == 3);
    /* one edit, then two, then one it is part of (at the limit) */
    CHECK(s.id[0] == 1 && s.dist[0] == 1);
    CHECK(s.id[1] == 3 && s.dist[1] == 2);
    CHECK(s.id[2] == 0);
}

static void
test_limits(void)
{
    static const char *const c[] = {"abc", "abd", "xyz", "abcdef"};
    sx_suggestions s = rank("abx", c, 4);
    CHECK(s.limit == 2);
    CHECK(s.n == 2 && s.id[0] == 0 && s.id[1] == 1); /* xyz is 3 edits away */
    sx_suggest_init(&s, "abcdefghijkl", 12);
    CHECK(s.limit == 5);
}

static void
test_ties_keep_the_first_offered(void)
{
    static const char *const c[] = {"cat", "bat", "hat", "rat", "mat"};
    sx_suggestions s = rank("xat", c, 5);
    CHECK(s.n == SX_SUGGEST_KEEP);
    CHECK(s.id[0] == 0 && s.id[1] == 1 && s.id[2] == 2);
}

static void
test_part_of_a_longer_name(void)
{
    static const char *const c[] = {"voluntary_elevator_installation", "roads"};
    sx_suggestions s = rank("ELEV", c, 2); /* ASCII case ignored */
    CHECK(s.n == 1 && s.id[0] == 0 && s.dist[0] == s.limit);
    s = rank("el", c, 2); /* too short for the part-of rule */
    CHECK(s.n == 0);
}

static void
test_nothing_close(void)
{
    static const char *const c[] = {"alpha", "beta"};
    sx_suggestions s = rank("zzzzzzzz", c, 2);
    CHECK(s.n == 0);
    s = rank("anything", c, 0);
    CHECK(s.n == 0);
}

int
main(void)
{
    test_closest_first();
    test_limits();
    test_ties_keep_the_first_offered();
    test_part_of_a_longer_name();
    test_nothing_close();
    return CHECK_DONE();
}
