/*
 * projects.c -- the checks across rows while parsing: each project's rows
 * agree on its key, title and category, a project_key names one project
 * only, and every part_of names a metric of the file; then the table's
 * sorted project list.  Also the one join of a parsed part's projects to
 * another's, for the parts of one input (split.c) and the files of one
 * dataset (merge.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hashtab.h"
#include "parser.h"

/* The hash holds indexes into ps->projects (hashtab.h). */
typedef struct wanted {
    const parser *ps;
    int32_t number;
} wanted;

static int
same_number(const void *ctx, uint32_t index)
{
    const wanted *w = ctx;
    return w->ps->projects[index].number == w->number;
}

static uint32_t
project_hash(const void *ctx, uint32_t index)
{
    return sx_hash_int(((const parser *)ctx)->projects[index].number);
}

/* The state of project `number`, made on first sight. */
sx_status
sxp_find_project(parser *ps, int32_t number, size_t *index)
{
    uint32_t *hint = &ps->project_hint[(uint32_t)number % PROJECT_HINTS];
    size_t guess = (size_t)*hint - 1; /* SIZE_MAX when none */
    if (guess < ps->nprojects && ps->projects[guess].number == number) {
        *index = guess;
        return SX_OK;
    }
    /* room first, so the probe below also finds where a new one goes */
    if (sx_hash_full(ps->project_slots, ps->project_mask, ps->nprojects) &&
        sx_hash_grow(&ps->project_slots, &ps->project_mask, project_hash, ps) != SX_OK)
        return sxp_fail_nomem(ps); /* (a limit would need 2^31 projects) */
    wanted w = {ps, number};
    uint32_t h = 0;
    int32_t found =
        sx_hash_find(ps->project_slots, ps->project_mask, sx_hash_int(number), same_number, &w, &h);
    if (found >= 0) {
        *index = (size_t)found;
        *hint = (uint32_t)found + 1;
        return SX_OK;
    }
    if (ps->nprojects == ps->projects_cap) {
        size_t cap = sx_grown_capacity(ps->projects_cap, ps->nprojects + 1, 16);
        project_state *a = realloc(ps->projects, cap * sizeof *a);
        if (!a)
            return sxp_fail_nomem(ps);
        ps->projects = a;
        ps->projects_cap = cap;
    }
    project_state *st = &ps->projects[ps->nprojects];
    st->number = number;
    for (int a = 0; a < NATTRS; a++) {
        st->attr[a] = SX_NULL_CODE;
        st->attr_line[a] = st->attr_column[a] = 0;
        st->attr_part[a] = 0;
    }
    st->as_of = INT32_MIN;
    st->nrows = 0;
    ps->project_slots[h] = (uint32_t)ps->nprojects + 1;
    *hint = (uint32_t)ps->nprojects + 1;
    *index = ps->nprojects++;
    return SX_OK;
}

/* A project_key may name only one project. */
sx_status
sxp_claim_project_key(parser *ps, size_t index, int32_t code, const char *at)
{
    size_t need = (size_t)code + 1;
    if (need > ps->key_owner_cap) {
        size_t cap = sx_grown_capacity(ps->key_owner_cap, need, 16);
        uint32_t *a = realloc(ps->key_owner, cap * sizeof *a);
        if (!a)
            return sxp_fail_nomem(ps);
        memset(a + ps->key_owner_cap, 0, (cap - ps->key_owner_cap) * sizeof *a);
        ps->key_owner = a;
        ps->key_owner_cap = cap;
    }
    uint32_t owner = ps->key_owner[code];
    if (owner == 0) {
        ps->key_owner[code] = (uint32_t)index + 1;
        return SX_OK;
    }
    const project_state *other = &ps->projects[owner - 1];
    uint64_t line = other->attr_line[ATTR_KEY];
    size_t n;
    const char *s = sx_dict_str(&ps->t->dicts[SX_COL_PROJECT_KEY], code, &n);
    char found[QUOTE_BUF];
    return sxp_fail(ps, at,
                    "expected a project_key of its own for project %ld, found %s, which "
                    "project %ld has on line %llu",
                    (long)ps->projects[index].number, sxp_quote_text(found, s, n),
                    (long)other->number, (unsigned long long)line);
}

/* Per-row bookkeeping once all fields are stored: the project's counts and
 * the agreement of its key, title and category across rows. */
sx_status
sxp_finish_row(parser *ps, int64_t row)
{
    sx_table *t = ps->t;
    size_t index = 0;
    sx_status st = sxp_find_project(ps, t->project[row], &index);
    if (st != SX_OK)
        return st;
    project_state *pj = &ps->projects[index];
    pj->nrows++;
    if (t->as_of[row] > pj->as_of)
        pj->as_of = t->as_of[row];
    for (unsigned m = ps->attr_mask; m; m &= m - 1) { /* only the present ones */
        int a = (int)sx_lowest_bit(m);
        sx_strcol c = ATTR_COL(a);
        int32_t code = sx_code_in(t->codes[c], t->code_width[c], row);
        if (code == SX_NULL_CODE || code == pj->attr[a])
            continue;
        if (pj->attr[a] == SX_NULL_CODE) {
            if (a == ATTR_KEY &&
                (st = sxp_claim_project_key(ps, index, code, ps->attr_at[a])) != SX_OK)
                return st;
            pj = &ps->projects[index];
            pj->attr[a] = code;
            sx_pos at = sxp_pos_of(ps, ps->attr_at[a]);
            pj->attr_line[a] = at.line;
            pj->attr_column[a] = at.column;
            continue;
        }
        uint64_t line = pj->attr_line[a];
        size_t n1, n2;
        const char *s1 = sx_dict_str(&t->dicts[c], pj->attr[a], &n1);
        const char *s2 = sx_dict_str(&t->dicts[c], code, &n2);
        char was[QUOTE_BUF], found[QUOTE_BUF];
        return sxp_fail(ps, ps->attr_at[a], "project %ld has %s %s on line %llu, found %s",
                        (long)pj->number, sx_strcol_names[c], sxp_quote_text(was, s1, n1),
                        (unsigned long long)line, sxp_quote_text(found, s2, n2));
    }
    return SX_OK;
}

sx_status
sxp_note_part_of(parser *ps, int32_t code, sx_pos at)
{
    size_t need = (size_t)code + 1;
    if (need > ps->part_of_cap) {
        size_t cap = sx_grown_capacity(ps->part_of_cap, need, 16);
        sx_pos *a = realloc(ps->part_of_at, cap * sizeof *a);
        if (!a)
            return sxp_fail_nomem(ps);
        ps->part_of_at = a;
        ps->part_of_cap = cap;
    }
    ps->part_of_at[code] = at;
    return SX_OK;
}

/* Every part_of must name a metric of the file; the first row naming a
 * missing one is reported (codes are in order of first use). */
sx_status
sxp_check_part_of(parser *ps)
{
    sx_table *t = ps->t;
    if (!t->codes[SX_COL_PART_OF])
        return SX_OK;
    const sx_dict *parts = &t->dicts[SX_COL_PART_OF];
    for (int32_t code = 0; code < parts->count; code++) {
        size_t n;
        const char *s = sx_dict_str(parts, code, &n);
        if (sx_dict_find(&t->dicts[SX_COL_METRIC], s, n) >= 0)
            continue;
        char found[QUOTE_BUF];
        return sxp_fail_pos(ps, ps->part_of_at[code],
                            "expected part_of to name a metric of this file, found %s",
                            sxp_quote_text(found, s, n));
    }
    return SX_OK;
}

/* at comes before the conflict found so far (or none is). */
static int
earlier(sx_pos at, const conflict *found)
{
    return found->at.line == 0 || at.line < found->at.line ||
           (at.line == found->at.line && at.column < found->at.column);
}

/* b's projects joined to a's (parser.h). */
sx_status
sxp_join_projects(parser *a, const parser *b, uint32_t part, int32_t *const *map, conflict *found)
{
    for (size_t i = 0; i < b->nprojects; i++) {
        const project_state *q = &b->projects[i];
        size_t index = 0; /* set by sxp_find_project when it returns SX_OK */
        sx_status st = sxp_find_project(a, q->number, &index);
        if (st != SX_OK)
            return st;
        project_state *pj = &a->projects[index];
        pj->nrows += q->nrows;
        if (q->as_of > pj->as_of)
            pj->as_of = q->as_of;
        for (int x = 0; x < NATTRS; x++) {
            if (q->attr[x] == SX_NULL_CODE)
                continue;
            sx_pos at = {q->attr_line[x], q->attr_column[x]};
            int32_t code = map[ATTR_COL(x)][q->attr[x]];
            if (pj->attr[x] != SX_NULL_CODE) {
                if (pj->attr[x] != code && earlier(at, found))
                    *found = (conflict){at, q->number, (int32_t)index, code, x};
                continue;
            }
            if (x == ATTR_KEY) {
                uint32_t owner = (size_t)code < a->key_owner_cap ? a->key_owner[code] : 0;
                if (owner != 0 && owner != (uint32_t)index + 1) {
                    if (earlier(at, found))
                        *found = (conflict){at, q->number, (int32_t)owner - 1, code, -1};
                    continue;
                }
                /* (no position: the claim cannot fail, the owner was checked) */
                if ((st = sxp_claim_project_key(a, index, code, NULL)) != SX_OK)
                    return st;
                pj = &a->projects[index];
            }
            pj->attr[x] = code;
            pj->attr_line[x] = q->attr_line[x];
            pj->attr_column[x] = q->attr_column[x];
            pj->attr_part[x] = part;
        }
    }
    return SX_OK;
}

static int
compare_projects(const void *a, const void *b)
{
    int32_t x = ((const sx_project *)a)->number, y = ((const sx_project *)b)->number;
    return (x > y) - (x < y);
}

sx_status
sxp_build_projects(parser *ps)
{
    sx_table *t = ps->t;
    size_t n = ps->nprojects;
    t->projects = malloc((n ? n : 1) * sizeof *t->projects);
    if (!t->projects)
        return sxp_fail_nomem(ps);
    for (size_t i = 0; i < n; i++) {
        const project_state *s = &ps->projects[i];
        sx_project *pj = &t->projects[i];
        pj->number = s->number;
        pj->category = s->attr[ATTR_CATEGORY];
        pj->key = s->attr[ATTR_KEY];
        pj->title = s->attr[ATTR_TITLE];
        pj->as_of = s->as_of;
        pj->nrows = s->nrows;
    }
    qsort(t->projects, n, sizeof *t->projects, compare_projects);
    t->nprojects = (int32_t)n;
    /* A category belongs to the project: a row that leaves it empty takes its
     * project's, so filters, groups and exports agree with projects(). */
    void *category = t->codes[SX_COL_CATEGORY];
    int width = t->code_width[SX_COL_CATEGORY];
    if (category && t->null_count[SX_COL_CATEGORY] > 0) {
        int64_t nulls = 0;
        for (int64_t r = 0; r < t->nrows; r++) {
            if (sx_code_in(category, width, r) == SX_NULL_CODE) {
                int32_t code = t->projects[sx_project_index(t, t->project[r])].category;
                sxp_put_code(category, width, r, code);
                nulls += code == SX_NULL_CODE;
            }
        }
        t->null_count[SX_COL_CATEGORY] = nulls;
    }
    return SX_OK;
}
