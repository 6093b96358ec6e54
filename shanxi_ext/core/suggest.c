/*
 * suggest.c -- the close candidates of an unknown key, for the "did you
 * mean ...?" of every lookup (metric, unit, region, project word): one
 * ranking, whatever the candidates are.
 */
#include "shanxi/core.h"

/* Keys this short get the fixed limit; longer ones a third of their length. */
#define SHORT_KEY   6
#define SHORT_LIMIT 2
/* A key at least this long counts as close to a longer name it occurs in. */
#define MIN_PART    3

void
sx_suggest_init(sx_suggestions *s, const char *key, size_t key_len)
{
    s->key = key;
    s->key_len = key_len;
    s->limit = key_len < SHORT_KEY ? SHORT_LIMIT : key_len / 3 + 1;
    s->n = 0;
}

void
sx_suggest_offer(sx_suggestions *s, int64_t id, const char *cand, size_t cand_len)
{
    size_t len = s->key_len, limit = s->limit;
    size_t d = sx_edit_distance(s->key, len, cand, cand_len, limit);
    /* A query that is a prefix or part of a longer name counts as close. */
    if (d > limit && len >= MIN_PART && cand_len > len) {
        for (size_t i = 0; i + len <= cand_len; i++) {
            if (sx_edit_distance(s->key, len, cand + i, len, 0) == 0) {
                d = limit;
                break;
            }
        }
    }
    if (d > limit) {
        return;
    }
    /* insert after every kept one at most as close: the first offered wins */
    int pos = s->n;
    while (pos > 0 && s->dist[pos - 1] > d) {
        pos--;
    }
    if (pos >= SX_SUGGEST_KEEP) {
        return;
    }
    for (int j = s->n < SX_SUGGEST_KEEP ? s->n : SX_SUGGEST_KEEP - 1; j > pos; j--) {
        s->id[j] = s->id[j - 1];
        s->dist[j] = s->dist[j - 1];
    }
    s->id[pos] = id;
    s->dist[pos] = d;
    if (s->n < SX_SUGGEST_KEEP) {
        s->n++;
    }
}
