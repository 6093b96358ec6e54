/*
 * pstate.h -- private to the partial aggregates' files (partial.c, the
 * state and its arithmetic; partialblob.c, the state as bytes): what a
 * partial holds.
 */
#ifndef SHANXI_CORE_PSTATE_H
#define SHANXI_CORE_PSTATE_H

#include <stdint.h>

#include "shanxi/partial.h"
#include "exactsum.h" /* superacc */
#include "internal.h" /* sx_error_set, sx_grown_capacity */

/* One group's state. */
typedef struct pgroup {
    int64_t num[SX_PARTIAL_MAX_KEYS]; /* numeric parts; string parts: arena offset */
    int64_t len[SX_PARTIAL_MAX_KEYS]; /* string parts: bytes, -1 for empty; numeric: 0 */
    uint32_t hash;
    int64_t count;
    int64_t ihi, ilo; /* exact sum of the integer figures: ihi * 2^62 + ilo */
    uint8_t has_float;
    uint8_t ext_int; /* the extreme was written as an integer */
    double ext;      /* min or max */
    int64_t ext_seq; /* where the extreme's first row is */
    int64_t ext_row;
    superacc *sa;    /* the float figures' exact sum; NULL until one */
    uint32_t *units; /* ids in the partial's unit dictionary, ascending */
    int32_t nunits, capunits;
    int32_t last_unit; /* while building: the last id added, or -1 */
} pgroup;

/* A filter value asked for, and whether some part's data had it. */
typedef struct pnote {
    int filter;
    char *value;
    size_t value_len;
    int found;
    int64_t seq;   /* while not found: the part the message came from */
    char *message; /* while not found: that part's lookup error; else NULL */
    size_t message_len;
} pnote;

struct sx_partial {
    sx_func func;
    int nkeys;
    int tuple; /* the grouping was given as a tuple */
    sx_by by[SX_PARTIAL_MAX_KEYS];
    pgroup *groups;
    int32_t ngroups, capgroups;
    uint32_t *slots; /* hashtab.h over groups */
    uint32_t mask;
    char *arena; /* the string key parts */
    size_t arena_len, arena_cap;
    sx_dict units;
    int64_t rows;
    pnote *notes; /* ordered by filter, then value bytes; distinct */
    int32_t nnotes, capnotes;
};

/* A key being looked up: numbers, or strings given by pointer. */
typedef struct sxpa_probe {
    const sx_partial *p;
    int64_t num[SX_PARTIAL_MAX_KEYS];
    const char *str[SX_PARTIAL_MAX_KEYS];
    int64_t len[SX_PARTIAL_MAX_KEYS];
    uint32_t hash;
} sxpa_probe;

/* A partial of func by by[0..nby) with no groups (not even BY_NONE's one);
 * by checked by the caller. */
sx_partial *sxpa_alloc(sx_func func, const sx_by *by, int nby, int tuple);
/* The group of q's key (q->p is p), made empty if new; -1 when out of
 * memory or groups. */
int32_t sxpa_find_group(sx_partial *p, sxpa_probe *q);
/* Unit id u joins g's set; 0 when out of memory. */
int sxpa_add_unit(pgroup *g, uint32_t u);

#endif
