/*
 * calendar.c -- proleptic Gregorian dates as days since 1970-01-01 (the
 * Arrow date32 epoch) and back, and months as year * 12 + (month - 1) (and
 * as the text "YYYY-MM" every message and result shows them): with
 * the month lengths of internal.h, the one place the core does calendar
 * arithmetic.
 */
#include <stdio.h>

#include "shanxi/core.h"

/* Dates are counted in a calendar whose year starts on March 1st, so the
 * leap day is the last day of its year and month lengths repeat in a
 * 153-day pattern of five months (31,30,31,30,31).  400 Gregorian years are
 * exactly 146097 days, so everything reduces to a position in one 400-year
 * cycle.  0000-03-01 is 719468 days before 1970-01-01. */
#define DAYS_PER_CYCLE 146097
#define EPOCH_SHIFT    719468

static int64_t
floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int32_t
sx_days_from_civil(int32_t year, unsigned month, unsigned day)
{
    int64_t y = (int64_t)year - (month <= 2);
    int64_t cycle = floor_div(y, 400);
    int64_t year_of_cycle = y - cycle * 400;     /* 0..399 */
    int64_t month_from_march = (month + 9) % 12; /* Mar = 0 */
    int64_t day_of_year = (153 * month_from_march + 2) / 5 + (int64_t)day - 1;
    int64_t day_of_cycle =
        year_of_cycle * 365 + year_of_cycle / 4 - year_of_cycle / 100 + day_of_year;
    return (int32_t)(cycle * DAYS_PER_CYCLE + day_of_cycle - EPOCH_SHIFT);
}

void
sx_civil_from_days(int32_t days, int32_t *year, unsigned *month, unsigned *day)
{
    int64_t z = (int64_t)days + EPOCH_SHIFT;
    int64_t cycle = floor_div(z, DAYS_PER_CYCLE);
    int64_t day_of_cycle = z - cycle * DAYS_PER_CYCLE; /* 0..146096 */
    /* Undo the leap-day corrections (every 4th year, not every 100th, but
     * every 400th) to find the year within the cycle. */
    int64_t year_of_cycle =
        (day_of_cycle - day_of_cycle / 1460 + day_of_cycle / 36524 - day_of_cycle / 146096) / 365;
    int64_t day_of_year =
        day_of_cycle - (365 * year_of_cycle + year_of_cycle / 4 - year_of_cycle / 100);
    int64_t month_from_march = (5 * day_of_year + 2) / 153;
    unsigned m = (unsigned)(month_from_march < 10 ? month_from_march + 3 : month_from_march - 9);
    *day = (unsigned)(day_of_year - (153 * month_from_march + 2) / 5 + 1);
    *month = m;
    *year = (int32_t)(year_of_cycle + cycle * 400 + (m <= 2));
}

int32_t
sx_month_from_days(int32_t days)
{
    int32_t year;
    unsigned month, day;
    sx_civil_from_days(days, &year, &month, &day);
    return year * 12 + (int32_t)month - 1;
}

int
sx_month_format(int64_t key, char *buf, size_t cap)
{
    /* floor division, so a key before year 0 still gets a month 01-12 (a
     * partial's blob may hold any number); no negation, so no overflow */
    int64_t year = key / 12, month = key % 12;
    if (month < 0) {
        month += 12;
        year--;
    }
    return snprintf(buf, cap, "%04lld-%02lld", (long long)year, (long long)month + 1);
}
