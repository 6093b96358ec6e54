/*
 * shanxi/core.h -- the C core of shanxi: parsing, columnar storage, indexes,
 * filtering and aggregation.
 *
 * Nothing here includes Python.h: the core is plain C99 so it can be unit
 * tested, sanitized and fuzzed on its own (tests/c, tests/fuzz).  The Python
 * binding (shanxi_ext/module.c) turns its status codes and messages into
 * exceptions.
 *
 * Ownership: every function that allocates documents who frees.  No function
 * keeps a pointer to caller memory after it returns, and none writes to
 * stderr/stdout or aborts: failures come back as an sx_status, with the
 * details in an sx_error when one is passed.
 */
#ifndef SHANXI_CORE_H
#define SHANXI_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ errors */

typedef enum sx_status {
    SX_OK = 0,
    SX_ERR_NOMEM,   /* an allocation failed; nothing was changed */
    SX_ERR_PARSE,   /* malformed input: line, column and message say where/what */
    SX_ERR_VALUE,   /* a bad argument value (e.g. unknown aggregation) */
    SX_ERR_UNITS,   /* an aggregation would mix units */
    SX_ERR_EMPTY,   /* mean/min/max of nothing */
    SX_ERR_LIMIT    /* input too large for the storage (e.g. > 2^31-1 rows) */
} sx_status;

typedef struct sx_error {
    sx_status status;
    /* 1-based position in the input for SX_ERR_PARSE, else 0.  line counts
     * line breaks as an editor does (CRLF, LF and lone CR each end a line, also
     * inside quoted fields); column counts Unicode code points from the start
     * of that line. */
    uint64_t line;
    uint64_t column;
    char message[512];  /* NUL-terminated, UTF-8, says what was expected */
} sx_error;

/* ------------------------------------------------------------------ dates */

#define SX_NO_DATE INT32_MIN   /* an empty optional date field */

/* Days since 1970-01-01 (the Arrow date32 epoch) of a proleptic Gregorian
 * date, and back.  sx_days_from_civil expects a valid date. */
int32_t sx_days_from_civil(int32_t year, unsigned month, unsigned day);
void sx_civil_from_days(int32_t days, int32_t *year, unsigned *month, unsigned *day);
/* Parse exactly "YYYY-MM-DD" (a real date, year 0001-9999) into days; 1 on
 * success, 0 when s[0..len) is not such a date.  The parser uses it too. */
int sx_parse_iso_date(const char *s, size_t len, int32_t *days);

/* ------------------------------------------------------------------ strings */

/* A dictionary of distinct strings, laid out as an Arrow utf8 array:
 * string i is data[offsets[i] .. offsets[i+1]).  Codes are given in order of
 * first appearance.  Strings are valid UTF-8 (the parser checks) and may
 * contain any code point, NUL included: always use the length. */
typedef struct sx_dict {
    int32_t count;
    int32_t *offsets;       /* count + 1 entries; offsets[0] == 0 */
    char *data;
    /* private to the dictionary implementation */
    int32_t capacity;
    size_t data_capacity;
    uint32_t *slots;        /* open addressing: code + 1, 0 = empty */
    uint32_t *hashes;       /* hash of each code, to grow without rehashing */
    uint32_t mask;
} sx_dict;

/* The code of s[0..len), adding it if new.  SX_ERR_NOMEM or SX_ERR_LIMIT
 * leave the dictionary as it was. */
sx_status sx_dict_intern(sx_dict *d, const char *s, size_t len, int32_t *code);
/* The code of s[0..len), or -1 when absent. */
int32_t sx_dict_find(const sx_dict *d, const char *s, size_t len);
static inline const char *sx_dict_str(const sx_dict *d, int32_t code, size_t *len)
{
    *len = (size_t)(d->offsets[code + 1] - d->offsets[code]);
    return d->data + d->offsets[code];
}
void sx_dict_free(sx_dict *d);   /* frees the contents, not d itself */

/* ------------------------------------------------------------------ table */

/* The dictionary-encoded string columns of a table.  METRIC and UNIT are
 * required in every file; the others are optional. */
typedef enum sx_strcol {
    SX_COL_METRIC = 0,
    SX_COL_UNIT,
    SX_COL_REGION,
    SX_COL_LABEL,
    SX_COL_PART_OF,
    SX_COL_CATEGORY,
    SX_COL_PROJECT_KEY,
    SX_COL_PROJECT_TITLE,
    SX_NSTRCOLS
} sx_strcol;

/* The header name of each string column, e.g. "metric". */
extern const char *const sx_strcol_names[SX_NSTRCOLS];

#define SX_NULL_CODE (-1)      /* an empty field in an optional string column */

/* One project: a distinct value of the `project` column. */
typedef struct sx_project {
    int32_t number;
    int32_t key;        /* code in dicts[SX_COL_PROJECT_KEY], or SX_NULL_CODE */
    int32_t title;      /* code in dicts[SX_COL_PROJECT_TITLE], or SX_NULL_CODE */
    int32_t category;   /* code in dicts[SX_COL_CATEGORY], or SX_NULL_CODE */
    int32_t as_of;      /* the latest as_of of its rows */
    int64_t nrows;      /* how many rows name it */
} sx_project;

/* A parsed file in native columns: one entry per data row, in file order.
 * Every column array has nrows entries.  A table is immutable once parsed
 * and is reference counted (sx_table_incref/decref, atomic), so an Arrow
 * stream may keep it alive after the Python object that made it is gone. */
typedef struct sx_table {
    int64_t nrows;
    int32_t *project;        /* project number, >= 1 */
    double *value;           /* the figure, as a double */
    uint8_t *is_int;         /* 1 where the text was an integer (no point, no
                                exponent) whose magnitude is at most 2^53, so
                                value holds it exactly and it is a count */
    int32_t *as_of;          /* days since 1970-01-01 */
    int32_t *period_start;   /* NULL when the file has no such column;
                                SX_NO_DATE where the field is empty */
    /* codes[c] is NULL when column c is absent; SX_NULL_CODE marks an empty
     * field (never in METRIC or UNIT, which must be non-empty).  Each
     * column's codes are stored in the narrowest signed integer that holds
     * its dictionary, code_width[c] bytes: int8 up to 128 distinct strings,
     * int16 up to 32768, else int32 (as Arrow dictionary indices and pandas
     * categoricals do), so a column of a few distinct strings costs a byte a
     * row.  Read a code with sx_code_at. */
    void *codes[SX_NSTRCOLS];
    uint8_t code_width[SX_NSTRCOLS];   /* 1, 2 or 4; 0 for an absent column */
    sx_dict dicts[SX_NSTRCOLS];

    int32_t nprojects;
    sx_project *projects;    /* sorted by number */

    /* per metric code: how many rows carry that key, and the first of them */
    int64_t *metric_rows;
    int64_t *metric_first;

    /* How many rows hold SX_NULL_CODE in each string column (0 for an
     * absent one) and SX_NO_DATE in period_start, counted while parsing so
     * an export knows which columns need a validity bitmap without a pass
     * over the rows. */
    int64_t null_count[SX_NSTRCOLS];
    int64_t period_start_nulls;

    /* private */
    volatile long refcount;
} sx_table;

/* Parse a whole CSV document (see data/README.md for the format) into a new
 * table with refcount 1.  buf need not be NUL-terminated.  On failure *out
 * is NULL and err (if given) says why; nothing is leaked. */
sx_status sx_table_parse(const char *buf, size_t len, sx_table **out, sx_error *err);

/* What a caller may ask of a parse beyond sx_table_parse. */
typedef struct sx_parse_options {
    /* When not NULL, called now and then with a range [offset, offset + n)
     * of buf that the parse has finished with, so a caller that mapped a
     * file can drop those pages from memory (madvise MADV_DONTNEED) and the
     * peak stays near the size of the table instead of table plus file.
     * A large input is parsed by two threads, each reporting its own ranges,
     * so the callback must be safe to call from two threads at once.  The
     * parser may read such bytes again (to parse in one piece after all,
     * reporting the ranges again, or to say where an error is): release
     * them only in a way that keeps their content readable (a file mapping,
     * never anonymous memory). */
    void (*consumed)(void *ctx, size_t offset, size_t n);
    void *ctx;
} sx_parse_options;

/* sx_table_parse with options; opts may be NULL. */
sx_status sx_table_parse_with(const char *buf, size_t len, const sx_parse_options *opts,
                              sx_table **out, sx_error *err);
void sx_table_incref(sx_table *t);
void sx_table_decref(sx_table *t);    /* frees at zero; NULL is a no-op */

/* The code of row i of a code array of width bytes (1, 2 or 4). */
static inline int32_t sx_code_in(const void *codes, int width, int64_t i)
{
    switch (width) {
    case 1:
        return ((const int8_t *)codes)[i];
    case 2:
        return ((const int16_t *)codes)[i];
    default:
        return ((const int32_t *)codes)[i];
    }
}

/* The code of column c at row i; SX_NULL_CODE for an absent column. */
static inline int32_t sx_code_at(const sx_table *t, sx_strcol c, int64_t i)
{
    return t->codes[c] ? sx_code_in(t->codes[c], t->code_width[c], i) : SX_NULL_CODE;
}

/* Index of the project with this number in t->projects, or -1. */
int32_t sx_project_index(const sx_table *t, int32_t number);

/* ------------------------------------------------------------------ queries */

#define SX_ANY (-2)    /* a filter code that matches every row */

/* A row filter: every condition is ANDed.  Codes are SX_ANY (no condition),
 * SX_NULL_CODE (the field is empty) or a code of that column's dictionary. */
typedef struct sx_filter {
    int32_t project;            /* a project number, or 0 for any */
    int32_t code[SX_NSTRCOLS];
    int32_t since, until;       /* inclusive as_of bounds in days */
} sx_filter;

void sx_filter_init(sx_filter *f);   /* matches everything */

/* The matching rows in file order: *rows is malloc'd (free() it; may be NULL
 * when *n == 0). */
sx_status sx_select(const sx_table *t, const sx_filter *f, int64_t **rows, int64_t *n);

/* Rows whose metric key, label or project title contains every word,
 * ignoring ASCII case.  words[i] is words_len[i] bytes.  Same ownership as
 * sx_select.  With no words every row matches. */
sx_status sx_search(const sx_table *t, const char *const *words, const size_t *words_len,
                    size_t nwords, int64_t **rows, int64_t *n);

/* Levenshtein distance between two byte strings, ASCII case ignored, capped
 * at limit + 1 (so callers can stop early). */
size_t sx_edit_distance(const char *a, size_t alen, const char *b, size_t blen, size_t limit);

/* ------------------------------------------------------------------ aggregation */

typedef enum sx_func { SX_SUM = 0, SX_COUNT, SX_MEAN, SX_MIN, SX_MAX, SX_NFUNCS } sx_func;
extern const char *const sx_func_names[SX_NFUNCS];   /* "sum", "count", ... */

typedef enum sx_by {
    SX_BY_NONE = 0, SX_BY_PROJECT, SX_BY_METRIC, SX_BY_CATEGORY, SX_BY_UNIT,
    SX_BY_REGION, SX_BY_AS_OF, SX_BY_MONTH, SX_NBYS
} sx_by;
extern const char *const sx_by_names[SX_NBYS];       /* "none", "project", ... */

/* An exact integer: hi * 2^62 + lo, with |lo| < 2^62.  Sums of integer
 * values (each at most 2^53) over up to 2^63 rows fit. */
typedef struct sx_bigint { int64_t hi, lo; } sx_bigint;

#define SX_MIXED_UNITS (-3)

typedef struct sx_group {
    /* the group key: a project number (BY_PROJECT), a dictionary code or
     * SX_NULL_CODE (BY_METRIC/CATEGORY/UNIT/REGION), days (BY_AS_OF),
     * year * 12 + (month - 1) (BY_MONTH), 0 for BY_NONE */
    int64_t key;
    int64_t count;
    int all_int;          /* every value in the group was an integer */
    sx_bigint isum;       /* exact sum, when all_int */
    double fsum;          /* correctly rounded sum of all values (as math.fsum) */
    double min, max;
    int min_is_int, max_is_int;
    int32_t unit;         /* the group's one unit code, or SX_MIXED_UNITS */
} sx_group;

/* How many groups a result holds without a malloc. */
#define SX_RESULT_INLINE 16

typedef struct sx_result {
    int64_t ngroups;
    sx_group *groups;     /* ordered by key: numbers ascending, strings by their
                             UTF-8 bytes, SX_NULL_CODE last; NULL when there
                             are no groups */
    /* private: up to SX_RESULT_INLINE groups are stored here and groups
     * points into the struct itself, so small aggregations need no heap.
     * A filled sx_result must therefore not be copied or moved: read it
     * where sx_aggregate filled it, and free it there. */
    sx_group inline_groups[SX_RESULT_INLINE];
} sx_result;

/* Aggregate the rows f selects, grouped by `by`.  For SUM, MEAN, MIN and MAX
 * a group whose rows have more than one unit is an error (SX_ERR_UNITS,
 * message names the units) unless by is SX_BY_UNIT; MEAN, MIN and MAX of no
 * rows at all is SX_ERR_EMPTY.  With BY_NONE there is always exactly one
 * group (count 0 when nothing matched).  out need not be initialised; on
 * success free it with sx_result_free (on failure it holds no groups, and
 * sx_result_free is a no-op). */
sx_status sx_aggregate(const sx_table *t, const sx_filter *f, sx_func func, sx_by by,
                       sx_result *out, sx_error *err);
void sx_result_free(sx_result *r);   /* leaves r empty; NULL is a no-op */

/* Write an exact integer as decimal into buf (at least 40 bytes). */
void sx_bigint_format(sx_bigint v, char *buf);

#ifdef __cplusplus
}
#endif

#endif /* SHANXI_CORE_H */
