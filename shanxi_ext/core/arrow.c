/*
 * arrow.c -- export a table through the Arrow C stream interface.
 *
 * The stream gives one schema, a struct ("+s") with one field per column, in
 * this order, whichever columns the file had (to_frame() and to_dicts() carry
 * the same ones; an optional column the file lacks is all null):
 *
 *   project        int32 "i"                  non-null
 *   project_key    dictionary<intN, utf8>     nullable   (per project)
 *   project_title  dictionary<intN, utf8>     nullable   (per project)
 *   category       dictionary<intN, utf8>     nullable
 *   metric         dictionary<intN, utf8>     non-null
 *   label          dictionary<intN, utf8>     nullable
 *   value          float64 "g"                non-null
 *   unit           dictionary<intN, utf8>     non-null
 *   as_of          date32 "tdD"               non-null
 *   period_start   date32 "tdD"               nullable
 *   part_of        dictionary<intN, utf8>     nullable
 *   region         dictionary<intN, utf8>     nullable
 *   share          float64 "g"                nullable   (sx_table_shares)
 *
 * where intN is the width the table stores that column's codes in: int8
 * ("c") for up to 128 distinct strings, int16 ("s") up to 32768, else int32;
 * int8 with an empty dictionary for a column the file lacks.
 *
 * then one record batch holding every row (none for an empty table), then
 * the end of the stream.
 *
 * Metadata, in the Arrow C data interface encoding (an int32 pair count, then
 * for each pair an int32 key length, the key bytes, an int32 value length and
 * the value bytes; lengths in native byte order, no terminators):
 *   - on the schema:       "shanxi.source" = the source the table came from;
 *   - on the value field:  "shanxi.units"  = the table's distinct units in
 *     order of first appearance, joined with "," (a unit that itself holds
 *     a comma makes the list ambiguous; the unit column is authoritative).
 *
 * Memory: numeric columns, dictionary strings and the codes of the string
 * columns point straight into the table.  What the table does not hold as
 * such is made on its first export and kept with it (t->arrow, published
 * once like the share column, sx_table_shares, and freed with the table), so
 * every export after the first costs O(columns) and copies nothing: the
 * validity bitmaps (only for columns that have nulls, which the parser
 * counted, so a column without any costs nothing per row; otherwise
 * buffers[0] is NULL), the per-row project_key/project_title codes where a
 * row left its project's key or title empty (looked up from each row's
 * sx_project, at the width of the table's codes; where no row did, the
 * table's own codes are exported as they are), and one read-only zero block that
 * is both the values and the validity of every column the file lacks.
 * A null slot of a table code array holds SX_NULL_CODE (-1), an index out of
 * the dictionary's range: the Arrow columnar format leaves the value of a
 * null slot unspecified, and pyarrow's validate(full=True), polars, DuckDB
 * and pandas were checked to accept it, so those arrays are not copied.
 *
 * Lifetimes: the stream holds a reference to the table, and so does every
 * exported batch.  The nodes of one schema or one batch (the struct, each
 * column and each dictionary) live in one block, each node with its own
 * release callback and a reference on the block, so a consumer may move a
 * child or a dictionary out, release the parent, and keep using the child
 * after the stream and every other owner of the table are gone (what is
 * kept with the table lives as long as it): the block, and the batch's
 * table, go with the last node.  Formats are static strings; each schema
 * block holds its own copies of the names, and its metadata.
 */
#include "shanxi/arrow.h"
#include "internal.h" /* sxp_arrow_cache_free */
#include "platform.h" /* sx_atomic_load_ptr, sx_publish_ptr */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#ifndef EOVERFLOW
#define EOVERFLOW ERANGE
#endif

/* Buffers handed out where the table has nothing to point at (an empty
 * dictionary's offsets, an all-empty dictionary's character data): the C
 * data interface allows NULL for empty buffers, but not every consumer
 * accepts it. */
static const int32_t zero_offsets[1] = {0};
static const char empty_data[8] = {0};

/* ------------------------------------------------------------------ columns */

typedef enum column_kind {
    KIND_PROJECT,        /* t->project */
    KIND_VALUE,          /* t->value */
    KIND_AS_OF,          /* t->as_of */
    KIND_PERIOD_START,   /* t->period_start, SX_NO_DATE is null */
    KIND_STRING,         /* t->codes[strcol] into t->dicts[strcol] */
    KIND_PROJECT_STRING, /* a code of each row's sx_project, into t->dicts[strcol] */
    KIND_SHARE           /* sx_table_shares(t) */
} column_kind;

typedef struct column_def {
    const char *name;
    column_kind kind;
    int strcol; /* an sx_strcol for the string kinds, else -1 */
    int nullable;
} column_def;

static const column_def columns[] = {
    {"project", KIND_PROJECT, -1, 0},
    {"project_key", KIND_PROJECT_STRING, SX_COL_PROJECT_KEY, 1},
    {"project_title", KIND_PROJECT_STRING, SX_COL_PROJECT_TITLE, 1},
    {"category", KIND_STRING, SX_COL_CATEGORY, 1},
    {"metric", KIND_STRING, SX_COL_METRIC, 0},
    {"label", KIND_STRING, SX_COL_LABEL, 1},
    {"value", KIND_VALUE, -1, 0},
    {"unit", KIND_STRING, SX_COL_UNIT, 0},
    {"as_of", KIND_AS_OF, -1, 0},
    {"period_start", KIND_PERIOD_START, -1, 1},
    {"part_of", KIND_STRING, SX_COL_PART_OF, 1},
    {"region", KIND_STRING, SX_COL_REGION, 1},
    {"share", KIND_SHARE, -1, 1},
};

#define NCOLUMNS ((int)(sizeof columns / sizeof columns[0]))

static const char *
column_format(const sx_table *t, const column_def *c)
{
    switch (c->kind) {
    case KIND_VALUE:
    case KIND_SHARE:
        return "g";
    case KIND_AS_OF:
    case KIND_PERIOD_START:
        return "tdD";
    case KIND_STRING:
    case KIND_PROJECT_STRING:
        /* the table's own codes, or codes of its dictionary, at its width:
         * int8, int16 or int32 (int8 for an absent column, width 0) */
        return t->code_width[c->strcol] <= 1 ? "c" : t->code_width[c->strcol] == 2 ? "s" : "i";
    default:
        return "i"; /* project numbers */
    }
}

/* ------------------------------------------------------------------ helpers */

static char *
copy_bytes(const char *s, size_t len)
{
    char *p = malloc(len + 1);
    if (p) {
        if (len)
            memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

static void
put_int32(char *p, int32_t v)
{
    memcpy(p, &v, sizeof v);
}

/* One key/value pair in the C data interface metadata encoding, malloc'd
 * into *out.  Both lengths must fit an int32. */
static int
encode_metadata(const char *key, const char *value, size_t value_len, char **out)
{
    size_t key_len = strlen(key);
    if (key_len > INT32_MAX || value_len > INT32_MAX)
        return EOVERFLOW;
    char *m = malloc(3 * sizeof(int32_t) + key_len + value_len);
    if (!m)
        return ENOMEM;
    char *p = m;
    put_int32(p, 1);
    p += sizeof(int32_t);
    put_int32(p, (int32_t)key_len);
    p += sizeof(int32_t);
    memcpy(p, key, key_len);
    p += key_len;
    put_int32(p, (int32_t)value_len);
    p += sizeof(int32_t);
    if (value_len)
        memcpy(p, value, value_len);
    *out = m;
    return 0;
}

/* The "shanxi.units" metadata of the value field: every unit of the table,
 * in code order, separated by commas. */
static int
units_metadata(const sx_table *t, char **out)
{
    const sx_dict *d = &t->dicts[SX_COL_UNIT];
    size_t total = 0;
    for (int32_t i = 0; i < d->count; i++) {
        size_t len;
        (void)sx_dict_str(d, i, &len);
        total += len + (i > 0);
        if (total > INT32_MAX)
            return EOVERFLOW;
    }
    char *joined = malloc(total + 1);
    if (!joined)
        return ENOMEM;
    char *p = joined;
    for (int32_t i = 0; i < d->count; i++) {
        size_t len;
        const char *s = sx_dict_str(d, i, &len);
        if (i > 0)
            *p++ = ',';
        if (len)
            memcpy(p, s, len);
        p += len;
    }
    int rc = encode_metadata("shanxi.units", joined, total, out);
    free(joined);
    return rc;
}

/* ------------------------------------------------------------------ nodes */

/* Every node of one exported tree (the schema's, or a batch's arrays) lives
 * in one block: the private data of the root, of each column and of each
 * dictionary, and the structs the root hands out as children and the
 * columns as dictionaries.  One malloc per export, where a few per node
 * cost more than the rest of it.  Each live node holds a reference on its
 * block and the last release frees it, so a consumer may move a child or a
 * dictionary out, release the parent, and keep using the child: its node,
 * buffers, name and metadata stay where they are until it goes too. */
#define NNODES (1 + 2 * NCOLUMNS) /* the root, each column, each dictionary */

struct block;

typedef struct node {
    struct block *block;
    const void *buffers[3]; /* arrays: what the array's buffers point at */
} node;

typedef struct block {
    sx_refcount refs;  /* live nodes */
    int kind;          /* SCHEMA_BLOCK or ARRAY_BLOCK: its spare slot */
    int nused;         /* nodes handed out while the tree is made */
    sx_table *table;   /* arrays: one reference for the whole block */
    char *metadata[2]; /* schemas: the root's and the value field's */
    node nodes[NNODES];
} block;

typedef struct schema_block {
    block b; /* first: a node's block is the address of the whole */
    struct ArrowSchema *ptrs[NCOLUMNS];
    struct ArrowSchema fields[NCOLUMNS], dicts[NCOLUMNS];
    size_t nnames;
    char names[256]; /* the nodes' own copies of their names */
} schema_block;

typedef struct array_block {
    block b;
    struct ArrowArray *ptrs[NCOLUMNS];
    struct ArrowArray fields[NCOLUMNS], dicts[NCOLUMNS];
} array_block;

/* One freed block of each kind waits for the next export.  A block is a
 * few KB, past the sizes malloc serves from its per-thread caches, and a
 * program that exports again and again (a loop of pyarrow.table(ds)) paid
 * malloc's slow path for both blocks of every call.  Memory reuse only:
 * every node is made afresh each time. */
enum { SCHEMA_BLOCK, ARRAY_BLOCK };
static sx_atomic_ptr spare[2];

/* A block with no node yet (refs are set once the tree is made, to the
 * nodes it has), or NULL. */
static void *
block_new(int kind, size_t size)
{
    block *b = sx_take_ptr(&spare[kind]);
    if (!b)
        b = malloc(size);
    if (b) {
        b->kind = kind;
        b->nused = 0;
        b->table = NULL;
        b->metadata[0] = b->metadata[1] = NULL;
    }
    return b;
}

void
sx_arrow_free_spares(void)
{
    free(sx_take_ptr(&spare[SCHEMA_BLOCK]));
    free(sx_take_ptr(&spare[ARRAY_BLOCK]));
}

/* Free what the block holds, and the block itself unless it becomes the
 * spare of its kind. */
static void
block_free(block *b)
{
    sx_table_decref(b->table);
    free(b->metadata[0]);
    free(b->metadata[1]);
    if (sx_publish_ptr(&spare[b->kind], b) != b)
        free(b);
}

/* A node's reference on its block dropped: the last one frees it. */
static void
block_drop(block *b)
{
    if (sx_refcount_dec(&b->refs) == 0)
        block_free(b);
}

/* The next node of b, for a struct being made (before any is handed out:
 * no atomics, the count becomes refs at the end). */
static node *
take_node(block *b)
{
    node *p = &b->nodes[b->nused++];
    p->block = b;
    return p;
}

static int
is_dict_kind(const column_def *c)
{
    return c->kind == KIND_STRING || c->kind == KIND_PROJECT_STRING;
}

/* ------------------------------------------------------------------ schemas */

/* Releases the children and dictionary still in place (a consumer may have
 * moved some out, leaving release == NULL behind), then its reference on
 * the block. */
static void
schema_release(struct ArrowSchema *s)
{
    node *p = s->private_data;
    for (int64_t i = 0; i < s->n_children; i++) {
        struct ArrowSchema *child = s->children[i];
        if (child->release)
            child->release(child);
    }
    if (s->dictionary && s->dictionary->release)
        s->dictionary->release(s->dictionary);
    s->private_data = NULL;
    s->release = NULL;
    block_drop(p->block);
}

/* *s a live node of sb, with no children or dictionary yet; format is a
 * static string, name is copied into the block (every schema its own). */
static void
schema_node(schema_block *sb, struct ArrowSchema *s, const char *format, const char *name,
            int64_t flags)
{
    size_t len = strlen(name) + 1;
    memset(s, 0, sizeof *s);
    s->format = format;
    s->name = name; /* static: only if the names ever outgrow the block */
    if (sb->nnames + len <= sizeof sb->names) {
        s->name = memcpy(sb->names + sb->nnames, name, len);
        sb->nnames += len;
    }
    s->flags = flags;
    s->private_data = take_node(&sb->b);
    s->release = schema_release;
}

static int
make_schema(const sx_table *t, const char *source, struct ArrowSchema *out)
{
    schema_block *sb = block_new(SCHEMA_BLOCK, sizeof *sb);
    if (!sb)
        return ENOMEM;
    int rc = encode_metadata("shanxi.source", source, strlen(source), &sb->b.metadata[0]);
    if (!rc)
        rc = units_metadata(t, &sb->b.metadata[1]);
    if (rc) {
        block_free(&sb->b);
        return rc;
    }
    sb->nnames = 0;
    struct ArrowSchema root;
    schema_node(sb, &root, "+s", "", 0);
    root.metadata = sb->b.metadata[0];
    root.n_children = NCOLUMNS;
    root.children = sb->ptrs;
    for (int i = 0; i < NCOLUMNS; i++) {
        const column_def *c = &columns[i];
        struct ArrowSchema *f = &sb->fields[i];
        sb->ptrs[i] = f;
        schema_node(sb, f, column_format(t, c), c->name, c->nullable ? ARROW_FLAG_NULLABLE : 0);
        if (c->kind == KIND_VALUE)
            f->metadata = sb->b.metadata[1];
        if (is_dict_kind(c)) {
            /* The dictionary values never hold nulls. */
            schema_node(sb, &sb->dicts[i], "u", "", 0);
            f->dictionary = &sb->dicts[i];
        }
    }
    sx_refcount_init(&sb->b.refs, sb->b.nused);
    *out = root;
    return 0;
}

/* ------------------------------------------------------------------ arrays */

static void
array_release(struct ArrowArray *a)
{
    node *p = a->private_data;
    for (int64_t i = 0; i < a->n_children; i++) {
        struct ArrowArray *child = a->children[i];
        if (child->release)
            child->release(child);
    }
    if (a->dictionary && a->dictionary->release)
        a->dictionary->release(a->dictionary);
    a->private_data = NULL;
    a->release = NULL;
    block_drop(p->block);
}

/* *a a live node of ab, its buffers NULL until the caller sets them. */
static node *
array_node(array_block *ab, struct ArrowArray *a, int64_t length, int64_t n_buffers)
{
    node *p = take_node(&ab->b);
    p->buffers[0] = p->buffers[1] = p->buffers[2] = NULL;
    memset(a, 0, sizeof *a);
    a->length = length;
    a->n_buffers = n_buffers;
    a->buffers = p->buffers;
    a->private_data = p;
    a->release = array_release;
    return p;
}

/* ------------------------------------------------------------------ the table's buffers */

/* What one column's array points at: the same for every export of a table. */
typedef struct column_buffers {
    const void *validity; /* NULL when the column has no nulls */
    const void *values;
    int64_t nulls;
} column_buffers;

/* Every column's buffers, made on a table's first export and kept with it
 * in t->arrow (freed by table_free), so later exports build nothing per
 * row.  What was allocated here (bitmaps, project indices, the zero block)
 * is listed in owned. */
struct sxp_arrow_cache {
    column_buffers columns[NCOLUMNS];
    const void *zeros; /* the values and validity of every absent column */
    int nowned;
    void *owned[2 * NCOLUMNS + 1];
};

void
sxp_arrow_cache_free(sxp_arrow_cache *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->nowned; i++)
        free(c->owned[i]);
    free(c);
}

/* p, listed in c->owned when not NULL. */
static void *
keep(sxp_arrow_cache *c, void *p)
{
    if (p)
        c->owned[c->nowned++] = p;
    return p;
}

/* The bytes of a validity bitmap of n rows, padded to 8. */
static size_t
bitmap_bytes(int64_t n)
{
    size_t bytes = (((size_t)n + 63) / 64) * 8;
    return bytes ? bytes : 8;
}

/* An absent column: every row null, its values (int8 or int32 indices, or
 * int32 dates) and validity the table's one zero block.  That block is
 * calloc'd once, never written, and wide enough for either. */
static int
all_null(sxp_arrow_cache *c, int64_t n, column_buffers *b)
{
    if (!c->zeros) {
        size_t bytes = (size_t)n * sizeof(int32_t);
        c->zeros = keep(c, calloc(bytes > bitmap_bytes(n) ? bytes : bitmap_bytes(n), 1));
        if (!c->zeros)
            return ENOMEM;
    }
    b->validity = c->zeros;
    b->values = c->zeros;
    b->nulls = n;
    return 0;
}

/* Dates with nulls (SX_NO_DATE): their validity bitmap. */
static int
date_bitmap(sxp_arrow_cache *c, const int32_t *days, int64_t n, column_buffers *b)
{
    uint8_t *bits = keep(c, calloc(bitmap_bytes(n), 1));
    if (!bits)
        return ENOMEM;
    for (int64_t i = 0; i < n; i++)
        if (days[i] != SX_NO_DATE)
            bits[i >> 3] |= (uint8_t)(1u << (i & 7));
    b->validity = bits;
    return 0;
}

/* Codes of width bytes with nulls (negative): their validity bitmap. */
static int
code_bitmap(sxp_arrow_cache *c, const void *codes, int width, int64_t n, column_buffers *b)
{
    uint8_t *bits = keep(c, calloc(bitmap_bytes(n), 1));
    if (!bits)
        return ENOMEM;
    for (int64_t i = 0; i < n; i++)
        if (sx_code_in(codes, width, i) >= 0)
            bits[i >> 3] |= (uint8_t)(1u << (i & 7));
    b->validity = bits;
    return 0;
}

/* The project key or title code of the project numbered number (the one
 * before it is cached in *last_number, *last_code: rows of a project come
 * together), SX_NULL_CODE where the project has none. */
static int32_t
project_code(const sx_table *t, int strcol, int32_t number, int32_t *last_number,
             int32_t *last_code)
{
    if (number != *last_number) {
        int32_t k = sx_project_index(t, number);
        *last_number = number;
        *last_code = k < 0                          ? SX_NULL_CODE
                     : strcol == SX_COL_PROJECT_KEY ? t->projects[k].key
                                                    : t->projects[k].title;
    }
    return *last_code;
}

/* Whether every row's own code in strcol is its project's (no row left the
 * field empty where its project has one): then the table's codes are the
 * column, exported as they are.  *nulls: the rows without one. */
static int
own_codes_are_projects(const sx_table *t, int strcol, int64_t *nulls)
{
    const void *codes = t->codes[strcol];
    int width = t->code_width[strcol];
    int32_t last_number = 0, last_code = SX_NULL_CODE; /* project numbers are >= 1 */
    int64_t none = 0;
    for (int64_t i = 0; i < t->nrows; i++) {
        int32_t code = sx_code_in(codes, width, i);
        if (code != project_code(t, strcol, t->project[i], &last_number, &last_code))
            return 0;
        none += code < 0;
    }
    *nulls = none;
    return 1;
}

/* Each row's project key or title code (SX_NULL_CODE where the project has
 * none) at the width of the table's codes of that column, kept in c; the
 * nulls counted, as a project's key or title is its first non-empty one. */
static int
project_codes(sxp_arrow_cache *c, const sx_table *t, int strcol, column_buffers *b)
{
    int64_t n = t->nrows;
    int width = t->code_width[strcol];
    void *out = keep(c, malloc((size_t)n * (size_t)width));
    if (!out)
        return ENOMEM;
    int32_t last_number = 0, last_code = SX_NULL_CODE;
    int64_t nulls = 0;
    for (int64_t i = 0; i < n; i++) {
        int32_t code = project_code(t, strcol, t->project[i], &last_number, &last_code);
        if (width == 1)
            ((int8_t *)out)[i] = (int8_t)code;
        else if (width == 2)
            ((int16_t *)out)[i] = (int16_t)code;
        else
            ((int32_t *)out)[i] = code;
        nulls += code < 0;
    }
    b->values = out;
    b->nulls = nulls;
    return 0;
}

/* What column d's arrays point at: the table's own arrays where it has them,
 * else what is made here and kept in c. */
static int
column_buffers_of(sxp_arrow_cache *c, sx_table *t, const column_def *d, column_buffers *b)
{
    int64_t n = t->nrows;
    switch (d->kind) {
    case KIND_PROJECT:
        b->values = t->project;
        return 0;
    case KIND_VALUE:
        b->values = t->value;
        return 0;
    case KIND_AS_OF:
        b->values = t->as_of;
        return 0;
    case KIND_PERIOD_START:
        if (!t->period_start)
            return all_null(c, n, b);
        b->values = t->period_start;
        b->nulls = t->period_start_nulls;
        return b->nulls > 0 ? date_bitmap(c, t->period_start, n, b) : 0;
    case KIND_SHARE: {
        const sx_shares *s = sx_table_shares(t);
        if (!s)
            return ENOMEM;
        /* owned by the table too */
        b->validity = s->count < n ? s->valid : NULL;
        b->values = s->value;
        b->nulls = n - s->count;
        return 0;
    }
    default:
        break;
    }
    const void *codes = t->codes[d->strcol];
    int width = t->code_width[d->strcol];
    if (!codes)
        return all_null(c, n, b); /* indices into an empty dictionary */
    if (d->kind == KIND_PROJECT_STRING) {
        /* a project's key or title fills the rows that left it empty; when
         * none did, the table's own codes are the column */
        if (own_codes_are_projects(t, d->strcol, &b->nulls)) {
            b->values = codes;
        } else {
            int rc = project_codes(c, t, d->strcol, b);
            if (rc)
                return rc;
        }
    } else {
        b->values = codes;
        b->nulls = t->null_count[d->strcol]; /* counted by the parser */
    }
    return b->nulls > 0 ? code_bitmap(c, b->values, width, n, b) : 0;
}

/* t's buffers of every column, made on the first call and kept with t.  The
 * cache is published with one compare-and-swap, as the shares are: two
 * threads exporting at once each make one, one wins and the other frees
 * its copy. */
static const sxp_arrow_cache *
table_buffers(sx_table *t)
{
    sxp_arrow_cache *cached = sx_atomic_load_ptr(&t->arrow);
    if (cached)
        return cached;
    sxp_arrow_cache *fresh = calloc(1, sizeof *fresh);
    if (!fresh)
        return NULL;
    for (int i = 0; i < NCOLUMNS; i++)
        if (column_buffers_of(fresh, t, &columns[i], &fresh->columns[i])) {
            sxp_arrow_cache_free(fresh);
            return NULL;
        }
    sxp_arrow_cache *published = sx_publish_ptr(&t->arrow, fresh);
    if (published != fresh)
        sxp_arrow_cache_free(fresh);
    return published;
}

/* ------------------------------------------------------------------ batches */

/* Column i of a batch, with its dictionary for the text columns. */
static void
fill_column(array_block *ab, int i, sx_table *t, const column_buffers *b)
{
    const column_def *c = &columns[i];
    struct ArrowArray *a = &ab->fields[i];
    node *p = array_node(ab, a, t->nrows, 2);
    p->buffers[0] = b->validity;
    p->buffers[1] = b->values;
    a->null_count = b->nulls;
    if (!is_dict_kind(c))
        return;
    const sx_dict *d = &t->dicts[c->strcol];
    node *dp = array_node(ab, &ab->dicts[i], d->count, 3);
    dp->buffers[0] = NULL;
    dp->buffers[1] = d->offsets ? (const void *)d->offsets : (const void *)zero_offsets;
    dp->buffers[2] = d->data ? (const void *)d->data : (const void *)empty_data;
    a->dictionary = &ab->dicts[i];
}

static int
make_batch(sx_table *t, struct ArrowArray *out)
{
    const sxp_arrow_cache *cache = table_buffers(t);
    if (!cache)
        return ENOMEM;
    array_block *ab = block_new(ARRAY_BLOCK, sizeof *ab);
    if (!ab)
        return ENOMEM;
    sx_table_incref(t);
    ab->b.table = t;
    struct ArrowArray root;
    array_node(ab, &root, t->nrows, 1); /* a struct: no validity, buffers[0] NULL */
    root.n_children = NCOLUMNS;
    root.children = ab->ptrs;
    for (int i = 0; i < NCOLUMNS; i++) {
        ab->ptrs[i] = &ab->fields[i];
        fill_column(ab, i, t, &cache->columns[i]);
    }
    sx_refcount_init(&ab->b.refs, ab->b.nused);
    *out = root;
    return 0;
}

/* ------------------------------------------------------------------ stream */

typedef struct stream_state {
    sx_table *table; /* a reference */
    char *source;
    int batches_given; /* 0 or 1 */
    const char *error; /* the message of the last failed call, or NULL */
} stream_state;

static const char *
error_message(int rc)
{
    return rc == ENOMEM ? "shanxi: out of memory exporting to Arrow"
                        : "shanxi: metadata too large for Arrow";
}

static int
stream_get_schema(struct ArrowArrayStream *s, struct ArrowSchema *out)
{
    stream_state *st = s->private_data;
    int rc = make_schema(st->table, st->source, out);
    st->error = rc ? error_message(rc) : NULL;
    return rc;
}

static int
stream_get_next(struct ArrowArrayStream *s, struct ArrowArray *out)
{
    stream_state *st = s->private_data;
    st->error = NULL;
    if (st->batches_given || st->table->nrows == 0) {
        memset(out, 0, sizeof *out); /* release == NULL: the end */
        return 0;
    }
    int rc = make_batch(st->table, out);
    if (rc) {
        st->error = error_message(rc);
        return rc;
    }
    st->batches_given = 1;
    return 0;
}

static const char *
stream_get_last_error(struct ArrowArrayStream *s)
{
    stream_state *st = s->private_data;
    return st->error;
}

static void
stream_release(struct ArrowArrayStream *s)
{
    stream_state *st = s->private_data;
    sx_table_decref(st->table);
    free(st->source);
    free(st);
    s->private_data = NULL;
    s->release = NULL;
}

sx_status
sx_arrow_export(sx_table *t, const char *source, struct ArrowArrayStream *out)
{
    if (!source)
        source = "";
    stream_state *st = calloc(1, sizeof *st);
    if (!st)
        return SX_ERR_NOMEM;
    st->source = copy_bytes(source, strlen(source));
    if (!st->source) {
        free(st);
        return SX_ERR_NOMEM;
    }
    sx_table_incref(t);
    st->table = t;
    out->get_schema = stream_get_schema;
    out->get_next = stream_get_next;
    out->get_last_error = stream_get_last_error;
    out->release = stream_release;
    out->private_data = st;
    return SX_OK;
}
