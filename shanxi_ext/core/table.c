/*
 * table.c -- what every table has: the column names, its lifetime (an
 * atomic reference count), the project index and the range of its dates.
 */
#include "shanxi/core.h"
#include "internal.h" /* sxp_add_ignored, sxp_arrow_cache_free */
#include "platform.h" /* sx_refcount_inc, sx_refcount_dec */

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ names */

const char *const sx_strcol_names[SX_NSTRCOLS] = {
    "metric", "unit", "region", "label", "part_of", "category", "project_key", "project_title",
};

/* ------------------------------------------------------------------ lifetime */

static void
table_free(sx_table *t)
{
    sx_big_free(t->project);
    sx_big_free(t->value);
    sx_big_free(t->is_int);
    sx_big_free(t->as_of);
    sx_big_free(t->period_start);
    for (int c = 0; c < SX_NSTRCOLS; c++) {
        sx_big_free(t->codes[c]);
        sx_dict_free(&t->dicts[c]);
    }
    free(t->projects);
    free(t->metric_rows);
    free(t->metric_first);
    sxp_clear_ignored(t);
    sx_shares *shares = sx_atomic_load_ptr(&t->shares);
    if (shares) {
        sx_shares_free(shares);
        free(shares);
    }
    sxp_arrow_cache_free(sx_atomic_load_ptr(&t->arrow));
    free(t);
}

/* ------------------------------------------------------------------ ignored columns */

sx_status
sxp_add_ignored(sx_table *t, const char *name, size_t len, const char *near)
{
    if (len == SIZE_MAX || t->nignored == INT32_MAX)
        return SX_ERR_LIMIT;
    char *copy = malloc(len + 1);
    if (!copy)
        return SX_ERR_NOMEM;
    memcpy(copy, name, len);
    copy[len] = '\0';
    /* grown one at a time: headers have few columns */
    sx_ignored *grown = realloc(t->ignored, ((size_t)t->nignored + 1) * sizeof *grown);
    if (!grown) {
        free(copy);
        return SX_ERR_NOMEM;
    }
    t->ignored = grown;
    sx_ignored *slot = &grown[t->nignored++];
    slot->name = copy;
    slot->len = len;
    slot->near = near;
    return SX_OK;
}

void
sxp_clear_ignored(sx_table *t)
{
    for (int32_t i = 0; i < t->nignored; i++)
        free(t->ignored[i].name);
    free(t->ignored);
    t->ignored = NULL;
    t->nignored = 0;
}

/* An Arrow stream may hold a table on another thread than the one dropping
 * the Python object, hence atomic counts (platform.h). */
void
sx_table_incref(sx_table *t)
{
    sx_refcount_inc(&t->refcount);
}

void
sx_table_decref(sx_table *t)
{
    if (t && sx_refcount_dec(&t->refcount) == 0)
        table_free(t);
}

/* ------------------------------------------------------------------ projects */

int32_t
sx_project_index(const sx_table *t, int32_t number)
{
    int32_t lo = 0, hi = t->nprojects;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        if (t->projects[mid].number < number)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (lo < t->nprojects && t->projects[lo].number == number) ? lo : -1;
}

/* ------------------------------------------------------------------ dates */

int
sx_date_range(const sx_table *t, int32_t *first, int32_t *last)
{
    int32_t lo = INT32_MAX, hi = INT32_MIN;
    if (t->nrows <= 0)
        return 0;
    /* the latest is each project's: only the earliest needs the rows */
    for (int32_t p = 0; p < t->nprojects; p++)
        if (t->projects[p].as_of > hi)
            hi = t->projects[p].as_of;
    for (int64_t i = 0; i < t->nrows; i++)
        lo = t->as_of[i] < lo ? t->as_of[i] : lo;
    *first = lo;
    *last = hi;
    return 1;
}
