/*
 * parser.h -- private to the parser's files: the parser's state and the
 * functions they share.
 *
 *   parse.c     the driver: header, records, columns, the finished table
 *   csvscan.h   where fields end (inline)     fields.c   quoted fields
 *   convert.h   text to values (inline)       convert.c  locale-free strtod
 *   parseerr.c  error messages, line/column   projects.c checks across rows
 *   split.c     large inputs in parts on several threads, merged
 *   builder.c   the input in chunks: sx_builder_feed and its bookkeeping
 *   reader.c    files read in chunks into a builder (pread, read)
 *   merge.c     parsed inputs merged into one table   multifile.c  many inputs
 */
#ifndef SHANXI_CORE_PARSER_H
#define SHANXI_CORE_PARSER_H

#include <stddef.h>
#include <stdint.h>

#include "shanxi/core.h"
#include "csvscan.h"
#include "internal.h" /* SX_PRINTF, sx_error_set */

SX_INTERNAL_BEGIN

/* What each header column is: string columns use their sx_strcol number. */
enum {
    ROLE_PROJECT = SX_NSTRCOLS,
    ROLE_VALUE,
    ROLE_AS_OF,
    ROLE_PERIOD_START,
    ROLE_IGNORE,
    NROLES = ROLE_IGNORE
};
/* The header names of the ROLE_PROJECT .. ROLE_PERIOD_START columns. */
extern const char *const sxp_fixed_names[NROLES - ROLE_PROJECT];

/* The per-project attributes that must agree across a project's rows,
 * numbered as their columns are. */
#define NATTRS        3
#define PROJECT_HINTS 256
#define ATTR_COL(a)   ((sx_strcol)(SX_COL_CATEGORY + (a)))
#define ATTR_CATEGORY 0
#define ATTR_KEY      (SX_COL_PROJECT_KEY - SX_COL_CATEGORY)
#define ATTR_TITLE    (SX_COL_PROJECT_TITLE - SX_COL_CATEGORY)

#define MAX_ROWS INT32_MAX
/* Bytes read to guess the row count, and how much input is handed to
 * opts->consumed at a time.  The fuzzers build with tiny ones. */
#ifndef SX_PARSE_SAMPLE_BYTES
#define SX_PARSE_SAMPLE_BYTES ((size_t)64 << 10)
#endif
#ifndef SX_PARSE_RELEASE_STEP
#define SX_PARSE_RELEASE_STEP ((size_t)8 << 20)
#endif
/* Inputs from this size are parsed in parts of at least half of it on
 * several threads (the tests use tiny ones). */
#ifndef SX_PARSE_PARALLEL_BYTES
#define SX_PARSE_PARALLEL_BYTES ((size_t)32 << 20)
#endif
#ifndef SX_PARSE_MIN_GROWTH
#define SX_PARSE_MIN_GROWTH 1024 /* rows added to a guess, and at least per growth */
#endif
#define SAMPLE_BYTES ((size_t)(SX_PARSE_SAMPLE_BYTES))
#define RELEASE_STEP ((size_t)(SX_PARSE_RELEASE_STEP))
#define QUOTE_BUF    448 /* room for a field as quote_text shows it: 40 escapes of 10 */

/* A remembered place in the whole input, for an error found after the
 * chunk that held it is gone. */
typedef struct sx_pos {
    uint64_t line, column;
} sx_pos;

typedef struct project_state {
    int32_t number;
    int32_t attr[NATTRS];         /* first non-empty category, key, title codes */
    uint64_t attr_line[NATTRS];   /* line of the field that gave each */
    uint64_t attr_column[NATTRS]; /* and its column, for merge.c's messages */
    uint32_t attr_part[NATTRS];   /* the input that gave each (merge.c) */
    int32_t as_of;
    int64_t nrows;
} project_state;

/* Panels repeat keys in runs (a region's rows) and in cycles (the same
 * metrics for every region and date), so before hashing a string column
 * tries the code of its previous field and the code that followed that code
 * last time. */
#define MAX_PREDICTED 65536 /* codes with a remembered successor */
#define RECENT_BITS   6
typedef struct column_cache {
    int32_t code;  /* code of the column's last non-empty field, or -1 */
    int32_t *next; /* next[c]: the code that last followed code c, or -1 */
    int32_t next_cap;
    /* code + 1 of a string recently interned, by recent_slot of its text
     * (0: none): when the successor guess misses (a unit follows a unit that
     * another metric's unit followed), this finds it without hashing all of
     * it.  Checked before use. */
    uint32_t recent[1 << RECENT_BITS];
} column_cache;

typedef struct parser {
    const char *buf;   /* the input (or the chunk of it) at hand */
    const char *start; /* after the BOM: column 1 of line 1 */
    const char *end;
    const char *p;    /* next unread byte */
    const char *stop; /* stop at the first record starting here or later */
    sx_error *err;

    /* Lines before buf, for input fed in chunks (0 for one buffer), and a
     * mark that only moves forward: the line breaks before line_mark, so
     * the line of a field remembered for a later error costs the bytes
     * since the last one. */
    uint64_t line_base;
    const char *line_mark;
    uint64_t mark_lines;
    /* Set by a builder: more input follows buf, so a quoted field that
     * runs to the end is not an error yet (truncated says it happened, and
     * stored_fields how many fields of the record were stored then). */
    int partial;
    int truncated;
    int stored_fields;
    uint64_t expect_bytes; /* input still expected (a hint), 0 when unknown */
    sx_table *t;

    /* the field just scanned */
    const char *field_at; /* its first byte, the opening quote if quoted */
    const char *text;     /* its content, in the input or in scratch */
    size_t len;
    int text_in_input;
    uint64_t quoted_breaks; /* line breaks in the record's quoted fields */
    char *scratch;          /* unescaped content of fields with "" */
    size_t scratch_cap;

    /* header */
    int nfields;
    unsigned char *roles;  /* per field of a record */
    int column_of[NROLES]; /* 0-based field of each known column, or -1 */
    int64_t cap_rows;      /* rows the column arrays have room for */
    const sx_parse_options *opts;
    size_t released;     /* input offset up to which opts->consumed was told */
    size_t next_release; /* input offset at which to tell it again */

    block_cursor cursor; /* for the fast scan of records */
    column_cache cache[SX_NSTRCOLS];
    struct {
        const char *text; /* the last date text of the column, or NULL */
        int32_t days;
    } last_date[2];
    const char *attr_at[NATTRS]; /* this row's category/key/title fields */
    unsigned attr_mask;          /* bit a: attribute a's column is present */

    project_state *projects;
    size_t nprojects, projects_cap;
    uint32_t *project_slots; /* index + 1, 0 = empty */
    uint32_t project_mask;
    /* index + 1 of the project last seen with each number modulo
     * PROJECT_HINTS (0: none): a panel cycles through a few projects, which
     * the last one alone missed on most rows.  Checked before use, so a
     * stale hint costs only the hash lookup. */
    uint32_t project_hint[PROJECT_HINTS];

    uint32_t *key_owner; /* project_key code -> project index + 1 */
    size_t key_owner_cap;
    sx_pos *part_of_at; /* part_of code -> where it is first used */
    size_t part_of_cap;
} parser;

/* ------------------------------------------------------------------ codes */

/* The narrowest code width, in bytes, for a dictionary of count strings:
 * int8 holds codes -1 .. 127, int16 up to 32767. */
static inline int
sxp_code_width_for(int32_t count)
{
    return count <= 128 ? 1 : count <= 32768 ? 2 : 4;
}

static inline void
sxp_put_code(void *codes, int width, int64_t i, int32_t code)
{
    switch (width) {
    case 1:
        ((int8_t *)codes)[i] = (int8_t)code;
        break;
    case 2:
        ((int16_t *)codes)[i] = (int16_t)code;
        break;
    default:
        ((int32_t *)codes)[i] = code;
        break;
    }
}

/* Codes of rows [0, rows) stored at width `from` rewritten at the wider
 * `to` in the same array (which has room for them), from the last row down
 * so no code is overwritten before it is read. */
static inline void
sxp_widen_in_place(void *codes, int from, int to, int64_t rows)
{
    for (int64_t i = rows - 1; i >= 0; i--) {
        int32_t code = from == 1
                           ? ((const int8_t *)codes)[i]   /* NOLINT(clang-analyzer-unix.Malloc) */
                           : ((const int16_t *)codes)[i]; /* NOLINT(clang-analyzer-unix.Malloc) */
        sxp_put_code(codes, to, i, code);
    }
}

/* ------------------------------------------------------------------ parseerr.c */

/* The line breaks in [p, limit) (a CR judged by the byte after it, even
 * past limit), and the 1-based line and column of at. */
uint64_t sxp_count_line_breaks(const char *p, const char *limit, const char *end);
void sxp_locate(const parser *ps, const char *at, uint64_t *line, uint64_t *column);
/* The 1-based line of at, counted from line_mark (moved forward to at). */
uint64_t sxp_line_of(parser *ps, const char *at);
/* The line and column of at, to report later. */
sx_pos sxp_pos_of(parser *ps, const char *at);
/* Fill ps->err and return its status: a parse error at `at`, a limit, or
 * out of memory. */
SX_COLD SX_PRINTF(3, 4) sx_status sxp_fail(parser *ps, const char *at, const char *fmt, ...);
SX_COLD SX_PRINTF(2, 3) sx_status sxp_fail_limit(parser *ps, const char *fmt, ...);
/* A parse error at a remembered place. */
SX_COLD SX_PRINTF(3, 4) sx_status sxp_fail_pos(parser *ps, sx_pos at, const char *fmt, ...);
SX_COLD sx_status sxp_fail_nomem(parser *ps);
/* The field just scanned is not what column `role` needs. */
SX_COLD sx_status sxp_fail_field(parser *ps, const char *expected, int role);
/* Invalid UTF-8 at `at`, its bytes shown. */
SX_COLD sx_status sxp_fail_utf8(parser *ps, const char *at);
/* sx_dict_intern failed for column c. */
SX_COLD sx_status sxp_intern_failed(parser *ps, sx_status st, sx_strcol c);
/* s[0..n) as a short, printable, double-quoted string for a message. */
const char *sxp_quote_text(char out[QUOTE_BUF], const char *s, size_t n);

/* ------------------------------------------------------------------ fields.c */

/* Scan one field at ps->p (quoted or not, UTF-8 checked) into field_at,
 * text and len, leaving ps->p on what ends it.  With report == 0 it only
 * skips the field and says nothing. */
sx_status sxp_scan_field(parser *ps, int report);
/* A record with more fields than the header (ps->p on the extra comma). */
SX_COLD sx_status sxp_fail_too_many(parser *ps);

/* ------------------------------------------------------------------ projects.c */

/* The state of project `number` in ps->projects (*index), made on first
 * sight. */
sx_status sxp_find_project(parser *ps, int32_t number, size_t *index);
/* Project `index` takes project_key `code` (its field at `at`): a parse
 * error when another project has it. */
sx_status sxp_claim_project_key(parser *ps, size_t index, int32_t code, const char *at);
/* Row `row` once its fields are stored: its project's counts, and the
 * agreement of its key, title and category with the project's earlier rows. */
sx_status sxp_finish_row(parser *ps, int64_t row);
/* Part_of code `code` is first used at `at`. */
sx_status sxp_note_part_of(parser *ps, int32_t code, sx_pos at);
/* After the rows: every part_of names a metric; the table's project list,
 * sorted, with each empty category filled from its project. */
sx_status sxp_check_part_of(parser *ps);
sx_status sxp_build_projects(parser *ps);

/* The first (in part order, then input order) disagreement between a part
 * and what the parts before it say. */
typedef struct conflict {
    sx_pos at; /* in the part's input; line 0 while none is found */
    int32_t number, other, code;
    int attr; /* the attribute, or -1: the key is another project's */
} conflict;
/* Part b's projects (b is input `part`, its string codes mapped to a's by
 * map[c]) joined to a's.  A disagreement is noted in *found (line 0 on
 * entry), keeping the first in b's input; joining goes on, since what a
 * part adds never changes whether another of its projects agrees.
 * SX_OK, or SX_ERR_NOMEM. */
sx_status sxp_join_projects(parser *a, const parser *b, uint32_t part, int32_t *const *map,
                            conflict *found);

/* ------------------------------------------------------------------ parse.c */

/* A parser at the start of buf with nothing parsed; parser_free frees what
 * it owns (not its table). */
void sxp_parser_init(parser *ps, const char *buf, size_t len, const sx_parse_options *opts,
                     sx_error *err);
void sxp_parser_free(parser *ps);
/* An empty table with one reference. */
sx_table *sxp_new_table(void);
/* The header row: each field's role. */
sx_status sxp_parse_header(parser *ps);
/* Column arrays for a guess at the number of rows before ps->stop. */
sx_status sxp_allocate_columns(parser *ps);
/* Every record from ps->p up to the first that starts at ps->stop. */
sx_status sxp_parse_records(parser *ps);
/* After the rows: trimmed columns, the checks across rows, the project
 * list and the metric index. */
sx_status sxp_finish_table(parser *ps);
/* The project list and metric index of a table of some of an input's rows
 * (chunker.c): ps->t is that table, ps->projects what the input's rows so
 * far say of each project (no part_of check: later rows may name it). */
sx_status sxp_finish_chunk(parser *ps);
/* The column arrays trimmed to the rows they hold (at least one's room). */
void sxp_shrink_columns(parser *ps);

/* ------------------------------------------------------------------ builder.c */

/* A builder for the rows of a part of an input (from `offset`, about
 * `bytes` long) whose header `whole` has parsed, to be merged after it. */
sx_status sxp_builder_new_part(const sx_builder *whole, uint64_t offset, uint64_t bytes,
                               sx_builder **out);
parser *sxp_builder_parser(sx_builder *b);
/* The line breaks fed so far (after a final feed: all of them, when
 * sxp_builder_count_lines was asked for before it). */
uint64_t sxp_builder_lines(const sx_builder *b);
void sxp_builder_count_lines(sx_builder *b);
/* The bytes consumed so far (parsed, or the empty lines at the end). */
uint64_t sxp_builder_offset(const sx_builder *b);
/* The builder has had its final feed (or stopped at an error). */
int sxp_builder_fed(const sx_builder *b);
/* The header is parsed and rows are next. */
int sxp_builder_in_rows(const sx_builder *b);
/* The input fed ends in empty lines (which must then be its end). */
int sxp_builder_ends_blank(const sx_builder *b);
/* The first NUL byte of the header line at p, unless invalid UTF-8 comes
 * first (the header's scan reports that), or NULL: a NUL there is an error. */
const char *sxp_header_nul(const char *p, const char *end);
/* Remembered lines of a part moved down by the lines before it. */
void sxp_shift_lines(parser *ps, uint64_t lines);

/* ------------------------------------------------------------------ split.c */

/* The most parts one input is split into. */
#define SXP_MAX_PARTS 64
/* The parts an input of `bytes` is parsed in with at most `threads` threads
 * (0: the machine's cores, two at least): 1 below SX_PARSE_PARALLEL_BYTES,
 * else one a thread, each at least half that size. */
int sxp_part_count(uint64_t bytes, int threads);
/* Parse a large input in parts on several threads; 1 with *out set, or 0
 * when it is better parsed in one piece (nothing is left allocated then). */
int sxp_parse_in_parts(const char *buf, size_t len, const sx_parse_options *opts, sx_table **out);

/* ------------------------------------------------------------------ reader.c */

/* The builder a reader has fed the whole file to (after sx_reader_step
 * said done), for multifile.c to merge before it is finished. */
sx_builder *sxp_reader_builder(sx_reader *r);
/* sx_reader_open that reads in one pass (never in parts), so the
 * builder's rows can be taken between steps (chunker.c); its columns are
 * first sized for `expect` bytes, and it reads at most read_size bytes a
 * step (0: the usual few MiB). */
sx_status sxp_reader_open_serial(const char *path, const sx_parse_options *opts, uint64_t expect,
                                 size_t read_size, sx_reader **out, int *os_error);
/* The reader's builder, which the caller now owns; the reader keeps none. */
sx_builder *sxp_reader_detach(sx_reader *r);

/* ------------------------------------------------------------------ merge.c */

/* Merge the rows of parts[1..n) into parts[0], in part order, as one pass
 * over their rows one after another would have parsed them (before
 * sxp_finish_table, which the caller then runs on parts[0]).  same_input:
 * the parts are pieces of one input, and a disagreement between them (a
 * project's key, title or category, or a key's owner) is SX_ERR_PARSE with
 * no message, for the caller to parse again in one piece.  Else each part
 * is an input of its own, names[k] (or "input k+1" when names is NULL)
 * names it in messages, and a disagreement (or a part_of that names no
 * metric of any part) is reported in the error of the part where one pass
 * would meet it, its index in *failed.  Memory and row-limit errors go to
 * parts[0]'s error with *failed = 0.  The rows of a large table are copied
 * on up to nthreads threads. */
sx_status sxp_merge_parts(parser **parts, size_t n, int same_input, const char *const *names,
                          int nthreads, size_t *failed);

SX_INTERNAL_END

#endif
