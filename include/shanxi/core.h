/*
 * shanxi/core.h -- the C core of shanxi: parsing, columnar storage, indexes,
 * filtering and aggregation.
 *
 * Nothing here includes Python.h: the core is plain C11 so it can be unit
 * tested, sanitized and fuzzed on its own (tests/c, tests/fuzz).  The Python
 * binding (the .c files of shanxi_ext/, errors in convert.c) turns its status
 * codes and messages into exceptions.
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

/* The table's reference count: a C11 atomic where the compiler has them,
 * else a volatile long that the core only changes through its platform's
 * atomic calls (MSVC's Interlocked functions; GNU builtins). */
#if !defined(__cplusplus) && defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L &&           \
    !defined(__STDC_NO_ATOMICS__)
#define SX_C11_ATOMICS 1
typedef _Atomic long sx_refcount;
typedef _Atomic(void *) sx_cache_ptr; /* a pointer published once (shares.c, arrow.c) */
#else
typedef volatile long sx_refcount;
typedef void *volatile sx_cache_ptr;
#endif

/* ------------------------------------------------------------------ errors */

typedef enum sx_status {
    SX_OK = 0,
    SX_ERR_NOMEM,    /* an allocation failed; nothing was changed */
    SX_ERR_PARSE,    /* malformed input: line, column and message say where/what */
    SX_ERR_VALUE,    /* a bad argument value (e.g. unknown aggregation) */
    SX_ERR_UNITS,    /* an aggregation would mix units */
    SX_ERR_EMPTY,    /* mean/min/max of nothing */
    SX_ERR_LIMIT,    /* input too large for the storage (e.g. > 2^31-1 rows) */
    SX_ERR_IO,       /* the system refused a file operation (os_error says why) */
    SX_ERR_CANCELLED /* sx_parse_options.cancel was set */
} sx_status;

typedef struct sx_error {
    sx_status status;
    /* 1-based position in the input for SX_ERR_PARSE, else 0.  line counts
     * line breaks as an editor does (CRLF, LF and lone CR each end a line, also
     * inside quoted fields); column counts Unicode code points from the start
     * of that line. */
    uint64_t line;
    uint64_t column;
    char message[512]; /* NUL-terminated, UTF-8, says what was expected */
} sx_error;

/* ------------------------------------------------------------------ dates */

#define SX_NO_DATE INT32_MIN /* an empty optional date field */

/* Days since 1970-01-01 (the Arrow date32 epoch) of a proleptic Gregorian
 * date, and back.  sx_days_from_civil expects a valid date. */
int32_t sx_days_from_civil(int32_t year, unsigned month, unsigned day);
void sx_civil_from_days(int32_t days, int32_t *year, unsigned *month, unsigned *day);
/* The month of a day as year * 12 + (month - 1): the key of SX_BY_MONTH. */
int32_t sx_month_from_days(int32_t days);
/* A month key (year * 12 + (month - 1)) as "YYYY-MM" into buf (cap bytes,
 * at least 32 hold any key); the length, as snprintf gives it. */
int sx_month_format(int64_t key, char *buf, size_t cap);
/* Parse exactly "YYYY-MM-DD" (a real date, year 0001-9999) into days; 1 on
 * success, 0 when s[0..len) is not such a date.  The parser uses it too. */
int sx_parse_iso_date(const char *s, size_t len, int32_t *days);

/* ------------------------------------------------------------------ strings */

/* A dictionary of distinct strings, laid out as an Arrow utf8 array:
 * string i is data[offsets[i] .. offsets[i+1]).  Codes are given in order of
 * first appearance.  Strings are valid UTF-8 (the parser checks) and may
 * contain any code point, NUL included: always use the length. */
/* The secret of a keyed hash (private to the core's hashkey.c). */
typedef struct sx_hash_key {
    uint64_t sip[2], mix[2];
} sx_hash_key;

typedef struct sx_dict {
    int32_t count;
    int32_t *offsets; /* count + 1 entries; offsets[0] == 0 */
    char *data;
    /* private to the dictionary implementation */
    int32_t capacity;
    size_t data_capacity;
    uint32_t *slots;  /* open addressing: code + 1, 0 = empty */
    uint32_t *hashes; /* hash of each code, to grow without rehashing */
    uint32_t mask;
    int keyed;       /* key holds this dictionary's hash key */
    sx_hash_key key; /* the process's key, or a later one after a reseed */
    /* Since the last reseed: slots probed by and number of lookups while
     * interning (a bound on their ratio catches flooding), and in all. */
    uint64_t probes, lookups, total_probes;
    uint32_t reseeds;
} sx_dict;

/* The code of s[0..len), adding it if new.  SX_ERR_NOMEM or SX_ERR_LIMIT
 * leave the dictionary as it was. */
sx_status sx_dict_intern(sx_dict *d, const char *s, size_t len, int32_t *code);
/* The code of s[0..len), or -1 when absent. */
int32_t sx_dict_find(const sx_dict *d, const char *s, size_t len);
static inline const char *
sx_dict_str(const sx_dict *d, int32_t code, size_t *len)
{
    *len = (size_t)(d->offsets[code + 1] - d->offsets[code]);
    return d->data + d->offsets[code];
}
void sx_dict_free(sx_dict *d); /* frees the contents, not d itself */

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

#define SX_NULL_CODE (-1) /* an empty field in an optional string column */

/* One project: a distinct value of the `project` column. */
typedef struct sx_project {
    int32_t number;
    int32_t key;      /* code in dicts[SX_COL_PROJECT_KEY], or SX_NULL_CODE */
    int32_t title;    /* code in dicts[SX_COL_PROJECT_TITLE], or SX_NULL_CODE */
    int32_t category; /* code in dicts[SX_COL_CATEGORY], or SX_NULL_CODE */
    int32_t as_of;    /* the latest as_of of its rows */
    int64_t nrows;    /* how many rows name it */
} sx_project;

/* A header field that names no column: kept so a caller can say what it
 * ignored.  near is the header name of an absent column it looks like a
 * slip for (it differs from it by case, surrounding spaces or a few edits:
 * "regoin", "Unit", " as_of"), or NULL. */
typedef struct sx_ignored {
    char *name; /* NUL-terminated (a header holds no NUL byte) */
    size_t len;
    const char *near;
} sx_ignored;

/* s[0..n) (UTF-8) as messages quote it: double-quoted, control and
 * invisible characters escaped as Python writes them (\n, \u200b), long
 * text cut with an ellipsis; out has SX_QUOTE_BUF bytes.  Returns out. */
#define SX_QUOTE_BUF 448
const char *sx_quote_text(char out[SX_QUOTE_BUF], const char *s, size_t n);

/* A parsed file in native columns: one entry per data row, in file order.
 * Every column array has nrows entries.  A table is immutable once parsed
 * and is reference counted (sx_table_incref/decref, atomic), so an Arrow
 * stream may keep it alive after the Python object that made it is gone. */
typedef struct sx_table {
    int64_t nrows;
    int32_t *project;      /* project number, >= 1 */
    double *value;         /* the figure, as a double */
    uint8_t *is_int;       /* 1 where the text was an integer (no point, no
                                exponent) whose magnitude is at most 2^53, so
                                value holds it exactly and it is a count */
    int32_t *as_of;        /* days since 1970-01-01 */
    int32_t *period_start; /* NULL when the file has no such column;
                                SX_NO_DATE where the field is empty */
    /* codes[c] is NULL when column c is absent; SX_NULL_CODE marks an empty
     * field (never in METRIC or UNIT, which must be non-empty).  Each
     * column's codes are stored in the narrowest signed integer that holds
     * its dictionary, code_width[c] bytes: int8 up to 128 distinct strings,
     * int16 up to 32768, else int32 (as Arrow dictionary indices and pandas
     * categoricals do), so a column of a few distinct strings costs a byte a
     * row.  Read a code with sx_code_at. */
    void *codes[SX_NSTRCOLS];
    uint8_t code_width[SX_NSTRCOLS]; /* 1, 2 or 4; 0 for an absent column */
    sx_dict dicts[SX_NSTRCOLS];

    int32_t nprojects;
    sx_project *projects; /* sorted by number */

    /* per metric code: how many rows carry that key (0 for a string seen
     * only in other chunks), and the first of them (-1 for none) */
    int64_t *metric_rows;
    int64_t *metric_first;

    /* How many rows hold SX_NULL_CODE in each string column (0 for an
     * absent one) and SX_NO_DATE in period_start, counted while parsing so
     * an export knows which columns need a validity bitmap without a pass
     * over the rows. */
    int64_t null_count[SX_NSTRCOLS];
    int64_t period_start_nulls;

    /* The header fields that name no column, in header order (of many
     * files: each name once, in the order the files first have it). */
    int32_t nignored;
    sx_ignored *ignored;

    /* private: changed only by sx_table_incref/decref */
    sx_refcount refcount;
    /* private: sx_table_shares()'s cache (an sx_shares *), NULL until asked for */
    sx_cache_ptr shares;
    /* private: the Arrow export's buffers of every column (arrow.c), NULL
     * until the first export */
    sx_cache_ptr arrow;
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
     * A large input is parsed in parts on several threads, each reporting
     * its own ranges, so the callback must be safe to call from several
     * threads at once.  The
     * parser may read such bytes again (to parse in one piece after all,
     * reporting the ranges again, or to say where an error is): release
     * them only in a way that keeps their content readable (a file mapping,
     * never anonymous memory). */
    void (*consumed)(void *ctx, size_t offset, size_t n);
    void *ctx;
    /* When not NULL: another thread may set *cancel (sx_refcount_inc, or a
     * plain store before the parse starts) and the parse then stops at the
     * next chunk with SX_ERR_CANCELLED. */
    sx_refcount *cancel;
    /* At most this many threads for this input: 1 parses it all on the
     * calling thread, never in parts; n >= 2 lets a large input be split at
     * line breaks into up to n parts of at least half SX_PARSE_PARALLEL_BYTES
     * (16 MiB), each parsed on a thread; 0 is one part a core (two at
     * least).  Either way the table
     * and any error are the same. */
    int threads;
} sx_parse_options;

/* sx_table_parse with options; opts may be NULL. */
sx_status sx_table_parse_with(const char *buf, size_t len, const sx_parse_options *opts,
                              sx_table **out, sx_error *err);
/* One input of sx_table_parse_many: len bytes at buf, and what
 * sx_table_parse_with would take with it (opts may be NULL). */
typedef struct sx_input {
    const char *buf;
    size_t len;
    const sx_parse_options *opts;
} sx_input;

/* Parse n >= 1 inputs (the files of one dataset) on up to nthreads threads
 * (0: one per core; never more than n; 1: all on the calling thread, no
 * input split in parts; n >= 2: a large input split into as many parts as
 * the pool leaves it threads) and merge them into one table with
 * refcount 1, as one pass over their rows one after another would make it:
 * rows in input order, strings coded in order of first appearance, columns
 * matched by name (every input has its own header; an optional column an
 * input lacks is empty in its rows), projects agreeing across inputs.  On
 * failure *out is NULL, *failed is the index of the input the error is in
 * (line and column count in that input; for SX_ERR_NOMEM/LIMIT it is 0) and
 * nothing is leaked.  The first input (in order) with an error of its own
 * is reported; else the first disagreement with the inputs before it.
 * names[i] names input i in a message that points into another input. */
sx_status sx_table_parse_many(const sx_input *inputs, size_t n, const char *const *names,
                              int nthreads, sx_table **out, sx_error *err, size_t *failed);
/* sx_table_parse_many of the files at paths (not on Windows), each read in
 * chunks by an sx_reader of its own on the pool.  SX_ERR_IO with *os_error
 * (errno) and *failed when file *failed could not be opened or read.
 * poll, when not NULL, is called on the calling thread every few
 * milliseconds while the files are read (so it can look for signals; the
 * pool's threads then do the reading); once it returns nonzero, every
 * reader stops within a step, even one waiting on a silent pipe, and the
 * call returns SX_ERR_CANCELLED with nothing leaked. */
sx_status sx_table_read_many(const char *const *paths, size_t n, const char *const *names,
                             int nthreads, int (*poll)(void *ctx), void *poll_ctx, sx_table **out,
                             sx_error *err, size_t *failed, int *os_error);
void sx_table_incref(sx_table *t);
void sx_table_decref(sx_table *t); /* frees at zero; NULL is a no-op */

/* The code of row i of a code array of width bytes (1, 2 or 4). */
static inline int32_t
sx_code_in(const void *codes, int width, int64_t i)
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
static inline int32_t
sx_code_at(const sx_table *t, sx_strcol c, int64_t i)
{
    return t->codes[c] ? sx_code_in(t->codes[c], t->code_width[c], i) : SX_NULL_CODE;
}

/* Index of the project with this number in t->projects, or -1. */
int32_t sx_project_index(const sx_table *t, int32_t number);
/* The earliest and latest as_of of the table's rows: 1, or 0 (nothing set)
 * for a table of no rows.  One pass over as_of. */
int sx_date_range(const sx_table *t, int32_t *first, int32_t *last);

/* ------------------------------------------------------------------ shares */

/* Each row's share of its whole (shares.c says the rule): value[i] is the
 * share, NaN where the row has none; bit i of valid (an Arrow validity
 * bitmap, padded to 8 bytes) is set where it has one; count says how many
 * rows do. */
typedef struct sx_shares {
    double *value;
    uint8_t *valid;
    int64_t count;
} sx_shares;

/* Fill *out with fresh shares of every row of t (free with sx_shares_free).
 * SX_ERR_NOMEM leaves *out empty. */
sx_status sx_shares_compute(const sx_table *t, sx_shares *out);
void sx_shares_free(sx_shares *s); /* frees the contents, not s itself */
/* t's shares, computed on the first call and kept until the table is freed
 * (safe to call from several threads); NULL when memory ran out. */
const sx_shares *sx_table_shares(sx_table *t);
/* Why row has its share or none, by the same rule: the rows that are its
 * whole are counted in *n (none when its part_of is empty or names no
 * metric); the whole's row when there is exactly one, else -1.  A row
 * with one whole has a share unless that whole is zero.  One pass over
 * the rows. */
int64_t sx_share_whole(const sx_table *t, int64_t row, int64_t *n);

/* ------------------------------------------------------------------ queries */

#define SX_ANY (-2) /* a filter code that matches every row */

/* A row filter: every condition is ANDed.  Codes are SX_ANY (no condition),
 * SX_NULL_CODE (the field is empty) or a code of that column's dictionary. */
typedef struct sx_filter {
    int32_t project; /* a project number, or 0 for any */
    int32_t code[SX_NSTRCOLS];
    int32_t since, until; /* inclusive as_of bounds in days */
} sx_filter;

void sx_filter_init(sx_filter *f); /* matches everything */

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
extern const char *const sx_func_names[SX_NFUNCS]; /* "sum", "count", ... */

typedef enum sx_by {
    SX_BY_NONE = 0,
    SX_BY_PROJECT,
    SX_BY_METRIC,
    SX_BY_CATEGORY,
    SX_BY_UNIT,
    SX_BY_REGION,
    SX_BY_AS_OF,
    SX_BY_MONTH,
    SX_NBYS
} sx_by;
extern const char *const sx_by_names[SX_NBYS]; /* "none", "project", ... */

/* The string column whose codes a grouping's keys are (metric, category,
 * unit, region), or -1 for a grouping by number (project, as_of, month) or
 * none: the one mapping of the core, the binding and the partials. */
static inline int
sx_by_column(sx_by by)
{
    switch (by) {
    case SX_BY_METRIC:
        return SX_COL_METRIC;
    case SX_BY_CATEGORY:
        return SX_COL_CATEGORY;
    case SX_BY_UNIT:
        return SX_COL_UNIT;
    case SX_BY_REGION:
        return SX_COL_REGION;
    default:
        return -1;
    }
}

/* An exact integer: hi * 2^62 + lo, with |lo| < 2^62.  Sums of integer
 * values (each at most 2^53) over up to 2^63 rows fit. */
typedef struct sx_bigint {
    int64_t hi, lo;
} sx_bigint;

#define SX_MIXED_UNITS (-3)

/* The most keys one aggregation groups by: each grouping at most once. */
#define SX_MAX_KEYS (SX_NBYS - 1)

typedef struct sx_group {
    /* the group key: a project number (BY_PROJECT), a dictionary code or
     * SX_NULL_CODE (BY_METRIC/CATEGORY/UNIT/REGION), days (BY_AS_OF),
     * year * 12 + (month - 1) (BY_MONTH), 0 for BY_NONE; with several
     * keys, the first part */
    int64_t key;
    /* every part of the key, in the order the groupings were given, each
     * encoded as key is (unused parts are 0) */
    int32_t keys[SX_MAX_KEYS];
    int64_t count;
    int all_int;    /* every value in the group was an integer */
    sx_bigint isum; /* exact sum, when all_int */
    double fsum;    /* correctly rounded sum of all values (as math.fsum) */
    double min, max;
    int min_is_int, max_is_int;
    int32_t unit; /* the group's one unit code, or SX_MIXED_UNITS */
} sx_group;

/* How many groups a result holds without a malloc. */
#define SX_RESULT_INLINE 16

typedef struct sx_result {
    int64_t ngroups;
    sx_group *groups; /* ordered by key: numbers ascending, strings by their
                             UTF-8 bytes, SX_NULL_CODE last; by several keys,
                             by the first part, then the second, ...; NULL
                             when there are no groups */
    int nkeys;        /* parts per key: 0 for BY_NONE, else how many given */
    /* private: up to SX_RESULT_INLINE groups are stored here and groups
     * points into the struct itself, so small aggregations need no heap.
     * A filled sx_result must therefore not be copied or moved: read it
     * where sx_aggregate filled it, and free it there. */
    sx_group inline_groups[SX_RESULT_INLINE];
} sx_result;

/* Aggregate the rows f selects, grouped by `by`.  For SUM, MEAN, MIN and MAX
 * a group whose rows have more than one unit is an error (SX_ERR_UNITS,
 * message names the units, and the group when grouped: "in month 2022-10:
 * cannot sum ...") unless by is SX_BY_UNIT; MEAN, MIN and MAX of no
 * rows at all is SX_ERR_EMPTY.  With BY_NONE there is always exactly one
 * group (count 0 when nothing matched).  out need not be initialised; on
 * success free it with sx_result_free (on failure it holds no groups, and
 * sx_result_free is a no-op). */
sx_status sx_aggregate(const sx_table *t, const sx_filter *f, sx_func func, sx_by by,
                       sx_result *out, sx_error *err);
/* sx_aggregate by several keys at once, in one pass: the groups are the
 * distinct combinations of by[0..nby) (each an sx_by other than BY_NONE,
 * none twice, 1 <= nby <= SX_MAX_KEYS; nby == 0 is BY_NONE).  A mixed-unit
 * error names the group ("in region Taiyuan, month 2022-10: cannot sum
 * ..."); a unit among the keys makes mixing impossible.  With nby == 1 the
 * result is sx_aggregate's. */
sx_status sx_aggregate_keys(const sx_table *t, const sx_filter *f, sx_func func, const sx_by *by,
                            int nby, sx_result *out, sx_error *err);
void sx_result_free(sx_result *r); /* leaves r empty; NULL is a no-op */

/* Write an exact integer as decimal into buf (at least 40 bytes). */
void sx_bigint_format(sx_bigint v, char *buf);

/* ------------------------------------------------------------------ suggestions */

/* The one way every lookup names close candidates for an unknown key
 * (shanxi_ext/core/suggest.c): offer each candidate in turn; the closest
 * SX_SUGGEST_KEEP by edit distance (ASCII case ignored) are kept, the first
 * offered first among equals.  Within the limit only: 2 edits for a key of
 * up to 5 bytes, else a third of its length plus one; a key of 3 bytes or
 * more that occurs in a longer candidate counts as at the limit. */
#define SX_SUGGEST_KEEP 3

typedef struct sx_suggestions {
    const char *key;
    size_t key_len, limit;
    int n;                       /* how many are kept, best first */
    int64_t id[SX_SUGGEST_KEEP]; /* what the caller offered them as */
    size_t dist[SX_SUGGEST_KEEP];
} sx_suggestions;

void sx_suggest_init(sx_suggestions *s, const char *key, size_t key_len);
void sx_suggest_offer(sx_suggestions *s, int64_t id, const char *cand, size_t cand_len);

/* ------------------------------------------------------------------ chunks */

/* A table being parsed from input that arrives in chunks (a file read a
 * few MiB at a time, a pipe, a decompressor, a transcoder).  sx_table_parse
 * is one sx_builder_feed of the whole buffer. */
typedef struct sx_builder sx_builder;

/* A new builder (opts may be NULL; it is copied): SX_OK or SX_ERR_NOMEM. */
sx_status sx_builder_new(const sx_parse_options *opts, sx_builder **out);
/* The input is expected to be about this many bytes in all: only sizes the
 * column arrays' first reservation (a wrong hint costs a regrowth). */
void sx_builder_expect(sx_builder *b, uint64_t bytes);
/* Parse the complete records in buf[0..len).  *used says how many bytes
 * were consumed: the rest is an incomplete record (or header) that the
 * caller presents again at the start of the next buffer, followed by more
 * bytes.  final = 1: nothing follows, the rest must parse.  Invalid UTF-8
 * (and a NUL byte in the header) is an error as soon as it arrives, even in
 * an incomplete record, so an endless stream of garbage fails at once.
 * Errors give the same line and column as one buffer of the whole input
 * would: the builder counts the line breaks of what it consumed (a CRLF
 * split across two chunks counts once).  After an error, or a final feed,
 * the builder takes no more input. */
sx_status sx_builder_feed(sx_builder *b, const char *buf, size_t len, int final, size_t *used,
                          sx_error *err);
/* The table, after a final feed: checks that need every row (a part_of
 * names a metric of the file).  On success *out has refcount 1. */
sx_status sx_builder_finish(sx_builder *b, sx_table **out, sx_error *err);
void sx_builder_free(sx_builder *b); /* NULL is a no-op */
/* The line and column (as in sx_error) of the byte that would follow
 * rest[0..n), the bytes not consumed by the last feed: where a caller that
 * cannot give more text (its decoder failed) reports the error. */
void sx_builder_position(const sx_builder *b, const char *rest, size_t n, uint64_t *line,
                         uint64_t *column);

/* ------------------------------------------------------------------ files */

#ifndef _WIN32
/* A file read in chunks into a builder (shanxi_ext/core/reader.c, POSIX
 * only: on Windows the binding reads files through Python).  A regular file
 * is read with pread into buffers of a few MiB (never mapped, so a file
 * that shrinks while read is an error, not a SIGBUS), a large one by two
 * threads, each parsing half; anything else (a pipe, a FIFO, a character
 * device, a file whose size reads 0) with read() until its end.  The caller
 * runs sx_reader_step until *done, so it can look for signals between
 * chunks (each step blocks for at most one read; with a cancel flag in its
 * options, a step on a pipe waits for input a few milliseconds at most, so
 * the flag is seen). */
typedef struct sx_reader sx_reader;

/* Open path (opts may be NULL; its cancel flag is also checked by a second
 * parsing thread).  SX_ERR_IO with *os_error (ENOENT, EISDIR, EACCES, ...),
 * SX_ERR_NOMEM. */
sx_status sx_reader_open(const char *path, const sx_parse_options *opts, sx_reader **out,
                         int *os_error);
/* Read and parse one chunk.  SX_OK with *done = 1 when the table is ready
 * for sx_reader_finish; SX_OK with *done = 0 also when a read was
 * interrupted by a signal (EINTR).  SX_ERR_IO with *os_error set (and a
 * message in err when the file shrank while it was read); SX_ERR_PARSE,
 * SX_ERR_NOMEM, SX_ERR_LIMIT, SX_ERR_CANCELLED with err filled. */
sx_status sx_reader_step(sx_reader *r, int *done, sx_error *err, int *os_error);
sx_status sx_reader_finish(sx_reader *r, sx_table **out, sx_error *err);
/* Stops the other parts' threads (they see the cancel flag within a chunk), closes
 * the file and frees everything; NULL is a no-op. */
void sx_reader_free(sx_reader *r);

/* The first bytes (up to cap) of the regular file at path, for a look at
 * what it is: how many were read into buf, 0 for anything else (a pipe, a
 * FIFO or a device, whose bytes cannot be read twice, or a file that cannot
 * be opened or read: sx_reader_open says why when it opens it). */
size_t sx_file_peek(const char *path, char *buf, size_t cap);

/* sx_table_read_many where fed[i], when not NULL, is input i already fed
 * to its end (final) by a builder of the caller's, say from a decompressor:
 * the pool merges it as it is and reads only the other paths (on Windows,
 * where files are read through the binding, every input must be fed).
 * Every fed builder is freed, whatever the outcome. */
sx_status sx_table_read_many_fed(const char *const *paths, sx_builder **fed, size_t n,
                                 const char *const *names, int nthreads, int (*poll)(void *ctx),
                                 void *poll_ctx, sx_table **out, sx_error *err, size_t *failed,
                                 int *os_error);
#endif

/* ------------------------------------------------------------------ chunker */

/* An input parsed into tables of a bounded number of rows, one after
 * another (shanxi_ext/core/chunker.c): the rows parsed since the last take
 * become a table of their own and leave the parser, which keeps only what
 * the checks across rows need (the strings seen, each project's key, title
 * and category, where each was first given).  So an input of any size is
 * aggregated in the memory of one chunk's table plus its distinct strings,
 * and every error is the one the table of the whole input would give, at
 * the same line and column.  A taken table has the rows' columns, the
 * dictionaries of every string seen so far, and the projects seen so far;
 * a row with an empty category takes its project's category when a row
 * so far has given it (else see sx_chunker_late); an input without the
 * category column gives tables with one of empty fields, as another
 * input may give their projects a category.
 *
 * Feed it (sx_chunker_new, then sx_builder_feed on sx_chunker_builder) or
 * let it read a file (sx_chunker_open, then sx_chunker_step until done);
 * take a table whenever sx_chunker_ready says enough was parsed, and once
 * more at the end; then sx_chunkers_finish checks and joins them all. */
typedef struct sx_chunker sx_chunker;

/* A chunker fed by the caller.  seed (may be NULL) gives each project's
 * category when the rows so far have not: the table of a first pass over
 * the same input.  The chunker keeps a reference to it. */
sx_status sx_chunker_new(const sx_parse_options *opts, sx_table *seed, uint64_t chunk_bytes,
                         sx_chunker **out);
/* The builder to feed (owned by the chunker). */
sx_builder *sx_chunker_builder(sx_chunker *c);
/* Input bytes parsed since the last take. */
uint64_t sx_chunker_ready(const sx_chunker *c);
/* The rows parsed since the last take as a new table (refcount 1), or
 * *out = NULL when there are none. */
sx_status sx_chunker_take(sx_chunker *c, sx_table **out, sx_error *err);
/* The projects (numbers, ascending) some of whose taken rows had no
 * category, their project having none yet when they were taken: if the
 * whole input gives one of them a category, those rows had it in the
 * whole table.  Valid until the next take. */
void sx_chunker_late(const sx_chunker *c, const int32_t **numbers, size_t *n);
/* n >= 1 chunkers, each fed to its end (final) and taken: the table of no
 * rows the whole of their inputs makes (sx_table_read_many's, less its
 * rows: the same strings, projects and ignored header fields) with the
 * same checks and errors (names and *failed as there); a NULL chunker is
 * SX_ERR_VALUE, *failed its index.  Frees none. */
sx_status sx_chunkers_finish(sx_chunker *const *c, size_t n, const char *const *names,
                             sx_table **out, sx_error *err, size_t *failed);
void sx_chunker_free(sx_chunker *c); /* NULL is a no-op */

#ifndef _WIN32
/* A chunker that reads the file at path (in one pass, with pread for a
 * regular file, as sx_reader does): sx_reader_open's errors. */
sx_status sx_chunker_open(const char *path, const sx_parse_options *opts, sx_table *seed,
                          uint64_t chunk_bytes, sx_chunker **out, int *os_error);
/* One read and parse, as sx_reader_step; *done once the file is fed. */
sx_status sx_chunker_step(sx_chunker *c, int *done, sx_error *err, int *os_error);
#endif

#ifdef __cplusplus
}
#endif

#endif /* SHANXI_CORE_H */
