/*
 * table.c -- calendar arithmetic, the column names, the table's lifetime and
 * the project index.
 */
#include "shanxi/core.h"

#include <stdlib.h>

/* ------------------------------------------------------------------ dates */

/* Dates are counted in a calendar whose year starts on March 1st, so the
 * leap day is the last day of its year and month lengths repeat in a
 * 153-day pattern of five months (31,30,31,30,31).  400 Gregorian years are
 * exactly 146097 days, so everything reduces to a position in one 400-year
 * cycle.  0000-03-01 is 719468 days before 1970-01-01. */
#define DAYS_PER_CYCLE 146097
#define EPOCH_SHIFT 719468

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int32_t sx_days_from_civil(int32_t year, unsigned month, unsigned day)
{
    int64_t y = (int64_t)year - (month <= 2);
    int64_t cycle = floor_div(y, 400);
    int64_t year_of_cycle = y - cycle * 400;                       /* 0..399 */
    int64_t month_from_march = (month + 9) % 12;                   /* Mar = 0 */
    int64_t day_of_year = (153 * month_from_march + 2) / 5 + (int64_t)day - 1;
    int64_t day_of_cycle = year_of_cycle * 365 + year_of_cycle / 4 - year_of_cycle / 100 + day_of_year;
    return (int32_t)(cycle * DAYS_PER_CYCLE + day_of_cycle - EPOCH_SHIFT);
}

void sx_civil_from_days(int32_t days, int32_t *year, unsigned *month, unsigned *day)
{
    int64_t z = (int64_t)days + EPOCH_SHIFT;
    int64_t cycle = floor_div(z, DAYS_PER_CYCLE);
    int64_t day_of_cycle = z - cycle * DAYS_PER_CYCLE;             /* 0..146096 */
    /* Undo the leap-day corrections (every 4th year, not every 100th, but
     * every 400th) to find the year within the cycle. */
    int64_t year_of_cycle = (day_of_cycle - day_of_cycle / 1460 + day_of_cycle / 36524
                             - day_of_cycle / 146096) / 365;
    int64_t day_of_year = day_of_cycle - (365 * year_of_cycle + year_of_cycle / 4 - year_of_cycle / 100);
    int64_t month_from_march = (5 * day_of_year + 2) / 153;
    unsigned m = (unsigned)(month_from_march < 10 ? month_from_march + 3 : month_from_march - 9);
    *day = (unsigned)(day_of_year - (153 * month_from_march + 2) / 5 + 1);
    *month = m;
    *year = (int32_t)(year_of_cycle + cycle * 400 + (m <= 2));
}

/* ------------------------------------------------------------------ names */

const char *const sx_strcol_names[SX_NSTRCOLS] = {
    "metric", "unit", "region", "label", "part_of", "category", "project_key", "project_title",
};

/* ------------------------------------------------------------------ lifetime */

static void table_free(sx_table *t)
{
    free(t->project);
    free(t->value);
    free(t->is_int);
    free(t->as_of);
    free(t->period_start);
    for (int c = 0; c < SX_NSTRCOLS; c++) {
        free(t->codes[c]);
        sx_dict_free(&t->dicts[c]);
    }
    free(t->projects);
    free(t->metric_rows);
    free(t->metric_first);
    free(t);
}

/* An Arrow stream may hold a table on another thread than the one dropping
 * the Python object, hence atomic counts. */
void sx_table_incref(sx_table *t)
{
#if defined(__GNUC__) || defined(__clang__)
    __atomic_add_fetch(&t->refcount, 1, __ATOMIC_RELAXED);
#else
    /* No portable atomics in C99: callers must serialize (the GIL does). */
    t->refcount++;
#endif
}

void sx_table_decref(sx_table *t)
{
    if (!t)
        return;
#if defined(__GNUC__) || defined(__clang__)
    /* acq_rel: the freeing thread must see every other owner's last use. */
    if (__atomic_sub_fetch(&t->refcount, 1, __ATOMIC_ACQ_REL) == 0)
        table_free(t);
#else
    if (--t->refcount == 0)
        table_free(t);
#endif
}

/* ------------------------------------------------------------------ projects */

int32_t sx_project_index(const sx_table *t, int32_t number)
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
