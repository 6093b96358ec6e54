/* Tests of the Arrow C stream export (shanxi_ext/core/arrow.c): schema, the
 * one batch, null handling, metadata bytes, zero-copy buffers, lifetimes of
 * moved children, and allocation failures at every step. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "shanxi/arrow.h"

/* ------------------------------------------------------------------ fault injection
 *
 * A second copy of arrow.c, compiled here with malloc and calloc replaced by
 * versions that fail on request and its public function and the cache free
 * the core calls renamed (the real ones are linked in from the core as
 * usual, and free this copy's caches as well: the same code).  The system headers come
 * first so the macros only touch arrow.c's own calls. */
static long alloc_count, fail_at = -1;

static void *
test_malloc(size_t n)
{
    if (alloc_count++ == fail_at)
        return NULL;
    return malloc(n);
}

static void *
test_calloc(size_t n, size_t size)
{
    if (alloc_count++ == fail_at)
        return NULL;
    return calloc(n, size);
}

#define malloc(n)            test_malloc(n)
#define calloc(n, size)      test_calloc(n, size)
#define sx_arrow_export      faulty_arrow_export
#define sxp_arrow_cache_free faulty_arrow_cache_free
#define sx_arrow_free_spares faulty_arrow_free_spares
#include "../../shanxi_ext/core/arrow.c"
#undef malloc
#undef calloc
#undef sx_arrow_export
#undef sxp_arrow_cache_free
#undef sx_arrow_free_spares

/* ------------------------------------------------------------------ helpers */

static sx_table *
parse(const char *csv)
{
    sx_table *t = NULL;
    sx_error err;
    memset(&err, 0, sizeof err);
    if (sx_table_parse(csv, strlen(csv), &t, &err) != SX_OK)
        fprintf(stderr, "parse failed at %llu:%llu: %s\n", (unsigned long long)err.line,
                (unsigned long long)err.column, err.message);
    return t;
}

static int32_t
days(int32_t y, unsigned m, unsigned d)
{
    return sx_days_from_civil(y, m, d);
}

/* Index of the child named name, or -1. */
static int64_t
child_index(const struct ArrowSchema *s, const char *name)
{
    for (int64_t i = 0; i < s->n_children; i++)
        if (strcmp(s->children[i]->name, name) == 0)
            return i;
    return -1;
}

static int
is_valid(const struct ArrowArray *a, int64_t i)
{
    const uint8_t *bits = a->buffers[0];
    i += a->offset;
    return bits == NULL || (bits[i >> 3] >> (i & 7)) & 1;
}

/* Index i of an array of width-byte indices ("c", "s" or "i"). */
static int32_t
index_at(const void *idx, int width, int64_t i)
{
    return width == 1   ? ((const int8_t *)idx)[i]
           : width == 2 ? ((const int16_t *)idx)[i]
                        : ((const int32_t *)idx)[i];
}

/* Whether row i of a dictionary<intN, utf8> array, N = 8 * width, is expect
 * (NULL: null). */
static int
dict_value_is(const struct ArrowArray *a, int width, int64_t i, const char *expect)
{
    if (!is_valid(a, i))
        return expect == NULL;
    if (expect == NULL)
        return 0;
    const struct ArrowArray *d = a->dictionary;
    int32_t k = index_at(a->buffers[1], width, a->offset + i);
    if (k < 0 || k >= d->length)
        return 0;
    const int32_t *off = d->buffers[1];
    const char *data = d->buffers[2];
    size_t len = (size_t)(off[d->offset + k + 1] - off[d->offset + k]);
    return len == strlen(expect) && memcmp(data + off[d->offset + k], expect, len) == 0;
}

static int64_t
count_nulls(const struct ArrowArray *a)
{
    int64_t n = 0;
    for (int64_t i = 0; i < a->length; i++)
        n += !is_valid(a, i);
    return n;
}

/* Whether m is exactly the one-pair metadata {key: value}. */
static int
metadata_is(const char *m, const char *key, const char *value)
{
    int32_t v;
    size_t klen = strlen(key), vlen = strlen(value);
    if (m == NULL)
        return 0;
    memcpy(&v, m, 4);
    if (v != 1)
        return 0;
    memcpy(&v, m + 4, 4);
    if (v != (int32_t)klen || memcmp(m + 8, key, klen) != 0)
        return 0;
    memcpy(&v, m + 8 + klen, 4);
    return v == (int32_t)vlen && memcmp(m + 12 + klen, value, vlen) == 0;
}

/* Release a moved-out struct and check it says so. */
#define RELEASE(x)                                                                                 \
    do {                                                                                           \
        CHECK((x)->release != NULL);                                                               \
        if ((x)->release)                                                                          \
            (x)->release(x);                                                                       \
        CHECK((x)->release == NULL);                                                               \
    } while (0)

/* ------------------------------------------------------------------ the full table */

static const char full_csv[] =
    "project,project_key,project_title,category,metric,label,value,unit,as_of,period_start,"
    "part_of,region,note\n"
    "1,alpha,Alpha,health,m_a,Label A,10,people,2022-11-30,,,Shanxi,x\n"
    "1,alpha,Alpha,health,m_b,,2.5,percent,2022-11-30,2022-01-01,m_a,,\n"
    "2,,,,m_c,Label C,-3,people,2022-12-31,,,Taiyuan,\n"
    "3,gamma,,culture,m_d,\"Label, \"\"D\"\"\",1e3,CNY,2022-12-31,2022-01-01,,Shanxi,\n"
    "1,,,,m_e,Label E,7,people,2022-11-30,,m_a,Shanxi,\n"
    "3,gamma,Gamma,,m_f,Label F,0.125,CNY,2022-12-31,,,,\n";

static const char *const full_names[] = {
    "project", "project_key", "project_title", "category", "metric", "label", "value",
    "unit",    "as_of",       "period_start",  "part_of",  "region", "share",
};
static const char *const full_formats[] = {
    "i", "c", "c", "c", "c", "c", "g", "c", "tdD", "tdD", "c", "c", "g",
};
/* bytes per dictionary index: the table's own codes (or, for the
 * per-project columns, codes into the same dictionary), int8 for so few
 * strings */
static const int full_width[] = {0, 1, 1, 1, 1, 1, 0, 1, 0, 0, 1, 1, 0};
static const int full_nullable[] = {0, 1, 1, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1};
static const int full_is_dict[] = {0, 1, 1, 1, 1, 1, 0, 1, 0, 0, 1, 1, 0};
#define NFIELDS 13

static void
check_full_schema(const struct ArrowSchema *s)
{
    CHECK(s->release != NULL);
    CHECK(strcmp(s->format, "+s") == 0);
    CHECK(s->name != NULL && s->name[0] == '\0');
    CHECK(s->flags == 0);
    CHECK(s->dictionary == NULL);
    CHECK(metadata_is(s->metadata, "shanxi.source", "full.csv"));
    CHECK(s->n_children == NFIELDS);
    if (s->n_children != NFIELDS)
        return;
    for (int i = 0; i < NFIELDS; i++) {
        const struct ArrowSchema *f = s->children[i];
        CHECK(f->release != NULL);
        CHECK(strcmp(f->name, full_names[i]) == 0);
        CHECK(strcmp(f->format, full_formats[i]) == 0);
        CHECK(f->flags == (full_nullable[i] ? ARROW_FLAG_NULLABLE : 0));
        CHECK(f->n_children == 0);
        if (full_is_dict[i]) {
            CHECK(f->dictionary != NULL && strcmp(f->dictionary->format, "u") == 0);
            CHECK(f->dictionary != NULL && f->dictionary->release != NULL);
            CHECK(f->dictionary != NULL && f->dictionary->n_children == 0);
        } else {
            CHECK(f->dictionary == NULL);
        }
        if (i == 6)
            CHECK(metadata_is(f->metadata, "shanxi.units", "people,percent,CNY"));
        else
            CHECK(f->metadata == NULL);
    }
}

static void
check_full_batch(const struct ArrowArray *b, const sx_table *t)
{
    CHECK(b->release != NULL);
    CHECK(b->length == 6);
    CHECK(b->null_count == 0);
    CHECK(b->offset == 0);
    CHECK(b->n_buffers == 1 && b->buffers[0] == NULL);
    CHECK(b->n_children == NFIELDS);
    CHECK(b->dictionary == NULL);
    if (b->n_children != NFIELDS)
        return;
    for (int i = 0; i < NFIELDS; i++) {
        const struct ArrowArray *c = b->children[i];
        CHECK(c->release != NULL);
        CHECK(c->length == 6);
        CHECK(c->offset == 0);
        CHECK(c->n_buffers == 2);
        CHECK(c->n_children == 0);
        CHECK(c->null_count == count_nulls(c));
        CHECK((c->null_count == 0) == (c->buffers[0] == NULL));
        CHECK((c->dictionary != NULL) == full_is_dict[i]);
        if (c->dictionary) {
            const struct ArrowArray *d = c->dictionary;
            CHECK(d->n_buffers == 3 && d->buffers[0] == NULL && d->null_count == 0);
            CHECK(d->buffers[1] != NULL && d->buffers[2] != NULL);
            CHECK(d->n_children == 0 && d->dictionary == NULL && d->release != NULL);
            /* valid slots index the dictionary; null slots hold SX_NULL_CODE */
            for (int64_t r = 0; r < c->length; r++) {
                int32_t k = index_at(c->buffers[1], full_width[i], r);
                CHECK(is_valid(c, r) ? k >= 0 && k < d->length : k == SX_NULL_CODE);
            }
        }
    }
    const struct ArrowArray *const *col = (const struct ArrowArray *const *)b->children;

    const int32_t want_project[] = {1, 1, 2, 3, 1, 3};
    const double want_value[] = {10, 2.5, -3, 1000, 7, 0.125};
    const int32_t nov30 = days(2022, 11, 30), dec31 = days(2022, 12, 31), jan1 = days(2022, 1, 1);
    const int32_t want_as_of[] = {nov30, nov30, dec31, dec31, nov30, dec31};
    const char *const key[] = {"alpha", "alpha", NULL, "gamma", "alpha", "gamma"};
    const char *const title[] = {"Alpha", "Alpha", NULL, "Gamma", "Alpha", "Gamma"};
    /* rows that leave category empty take their project's */
    const char *const category[] = {"health", "health", NULL, "culture", "health", "culture"};
    const char *const metric[] = {"m_a", "m_b", "m_c", "m_d", "m_e", "m_f"};
    const char *const label[] = {"Label A", NULL, "Label C", "Label, \"D\"", "Label E", "Label F"};
    const char *const unit[] = {"people", "percent", "people", "CNY", "people", "CNY"};
    const char *const part_of[] = {NULL, "m_a", NULL, NULL, "m_a", NULL};
    const char *const region[] = {"Shanxi", NULL, "Taiyuan", "Shanxi", "Shanxi", NULL};
    const int period_valid[] = {0, 1, 0, 1, 0, 0};

    for (int r = 0; r < 6; r++) {
        CHECK(((const int32_t *)col[0]->buffers[1])[r] == want_project[r]);
        CHECK(dict_value_is(col[1], full_width[1], r, key[r]));
        CHECK(dict_value_is(col[2], full_width[2], r, title[r]));
        CHECK(dict_value_is(col[3], full_width[3], r, category[r]));
        CHECK(dict_value_is(col[4], full_width[4], r, metric[r]));
        CHECK(dict_value_is(col[5], full_width[5], r, label[r]));
        CHECK(((const double *)col[6]->buffers[1])[r] == want_value[r]);
        CHECK(dict_value_is(col[7], full_width[7], r, unit[r]));
        CHECK(((const int32_t *)col[8]->buffers[1])[r] == want_as_of[r]);
        CHECK(is_valid(col[9], r) == period_valid[r]);
        if (period_valid[r])
            CHECK(((const int32_t *)col[9]->buffers[1])[r] == jan1);
        CHECK(dict_value_is(col[10], full_width[10], r, part_of[r]));
        CHECK(dict_value_is(col[11], full_width[11], r, region[r]));
    }
    const int64_t want_nulls[] = {0, 1, 1, 1, 0, 1, 0, 0, 0, 4, 4, 2, 5};
    for (int i = 0; i < NFIELDS; i++)
        CHECK(col[i]->null_count == want_nulls[i]);
    /* m_e is part of m_a, same project, region and date; m_b's region is
     * empty, m_a's is not, so m_b has no share */
    for (int r = 0; r < 6; r++)
        CHECK(is_valid(col[12], r) == (r == 4));
    CHECK(((const double *)col[12]->buffers[1])[4] == 0.7);

    if (t) {
        /* Zero copy where the table's own array is the Arrow buffer. */
        CHECK(col[0]->buffers[1] == t->project);
        CHECK(col[6]->buffers[1] == t->value);
        CHECK(col[8]->buffers[1] == t->as_of);
        CHECK(col[9]->buffers[1] == t->period_start);
        CHECK(col[4]->buffers[1] == t->codes[SX_COL_METRIC]);
        CHECK(col[7]->buffers[1] == t->codes[SX_COL_UNIT]);
        /* Code columns with nulls too: only their bitmap is made. */
        CHECK(col[11]->buffers[1] == t->codes[SX_COL_REGION]);
        CHECK(col[3]->buffers[1] == t->codes[SX_COL_CATEGORY]);
        CHECK(col[5]->buffers[1] == t->codes[SX_COL_LABEL]);
        CHECK(col[10]->buffers[1] == t->codes[SX_COL_PART_OF]);
        /* project_key/title come from the projects, not the row's field:
         * rows 3 and 5 left project 1's key empty, so the codes are built */
        CHECK(col[1]->buffers[1] != t->codes[SX_COL_PROJECT_KEY]);
        CHECK(col[2]->buffers[1] != t->codes[SX_COL_PROJECT_TITLE]);
        CHECK(col[4]->dictionary->buffers[1] == t->dicts[SX_COL_METRIC].offsets);
        CHECK(col[4]->dictionary->buffers[2] == t->dicts[SX_COL_METRIC].data);
        CHECK(col[4]->dictionary->length == t->dicts[SX_COL_METRIC].count);
        CHECK(col[7]->dictionary->length == 3);
    }
}

/* Schema, batch, end; the caller's reference goes right after export, the
 * stream before the arrays, which are read last. */
static void
test_full_stream_first(void)
{
    sx_table *t = parse(full_csv);
    CHECK(t != NULL);
    if (!t)
        return;
    struct ArrowArrayStream stream;
    CHECK(sx_arrow_export(t, "full.csv", &stream) == SX_OK);
    struct ArrowSchema schema;
    struct ArrowArray batch, end;
    CHECK(stream.get_schema(&stream, &schema) == 0);
    CHECK(stream.get_last_error(&stream) == NULL);
    CHECK(stream.get_next(&stream, &batch) == 0);
    CHECK(stream.get_last_error(&stream) == NULL);
    CHECK(stream.get_next(&stream, &end) == 0 && end.release == NULL);
    CHECK(stream.get_next(&stream, &end) == 0 && end.release == NULL); /* end stays end */

    /* Keep the addresses to check zero copy, then drop every other owner. */
    const void *project = t->project, *value = t->value;
    sx_table_decref(t);
    RELEASE(&stream);
    check_full_schema(&schema);
    check_full_batch(&batch, NULL);
    CHECK(batch.children[0]->buffers[1] == project);
    CHECK(batch.children[6]->buffers[1] == value);
    RELEASE(&schema);
    RELEASE(&batch);
}

/* Arrays released before the stream; every get_schema is a fresh schema. */
static void
test_full_arrays_first(void)
{
    sx_table *t = parse(full_csv);
    CHECK(t != NULL);
    if (!t)
        return;
    struct ArrowArrayStream stream;
    CHECK(sx_arrow_export(t, "full.csv", &stream) == SX_OK);
    struct ArrowSchema s1, s2;
    struct ArrowArray batch, end;
    CHECK(stream.get_schema(&stream, &s1) == 0);
    CHECK(stream.get_schema(&stream, &s2) == 0);
    CHECK(s1.private_data != s2.private_data);
    CHECK(s1.name != s2.name && s1.metadata != s2.metadata);
    CHECK(s1.children[0]->name != s2.children[0]->name);
    check_full_schema(&s1);
    RELEASE(&s1);
    check_full_schema(&s2);
    CHECK(stream.get_next(&stream, &batch) == 0);
    check_full_batch(&batch, t);
    RELEASE(&batch);
    CHECK(stream.get_next(&stream, &end) == 0 && end.release == NULL);
    RELEASE(&stream);
    /* A second stream over the same table starts from the beginning. */
    CHECK(sx_arrow_export(t, "full.csv", &stream) == SX_OK);
    CHECK(stream.get_next(&stream, &batch) == 0);
    check_full_batch(&batch, t);
    sx_table_decref(t);
    RELEASE(&batch);
    RELEASE(&s2); /* a schema outlives the table's last array */
    RELEASE(&stream);
}

/* A consumer may move children (and dictionaries) out, release the parent
 * and keep them, each with its own release. */
static void
test_moved_children(void)
{
    sx_table *t = parse(full_csv);
    CHECK(t != NULL);
    if (!t)
        return;
    struct ArrowArrayStream stream;
    CHECK(sx_arrow_export(t, "full.csv", &stream) == SX_OK);
    sx_table_decref(t);
    struct ArrowSchema schema, region_field, unit_field, unit_values;
    struct ArrowArray batch, region, unit, unit_dict, value;
    CHECK(stream.get_schema(&stream, &schema) == 0);
    CHECK(stream.get_next(&stream, &batch) == 0);
    RELEASE(&stream);
    if (schema.n_children != NFIELDS || batch.n_children != NFIELDS)
        return;

    /* move three children out of the batch, then release it */
    region = *batch.children[11];
    batch.children[11]->release = NULL;
    unit = *batch.children[7];
    batch.children[7]->release = NULL;
    value = *batch.children[6];
    batch.children[6]->release = NULL;
    RELEASE(&batch);
    /* and two fields out of the schema */
    region_field = *schema.children[11];
    schema.children[11]->release = NULL;
    unit_field = *schema.children[7];
    schema.children[7]->release = NULL;
    RELEASE(&schema);

    CHECK(strcmp(region_field.name, "region") == 0);
    CHECK(strcmp(region_field.dictionary->format, "u") == 0);
    CHECK(dict_value_is(&region, 1, 0, "Shanxi"));
    CHECK(dict_value_is(&region, 1, 1, NULL));
    CHECK(dict_value_is(&region, 1, 2, "Taiyuan"));
    CHECK(region.null_count == 2);
    CHECK(((const double *)value.buffers[1])[3] == 1000.0);
    RELEASE(&value);
    RELEASE(&region);
    RELEASE(&region_field);

    /* move the unit dictionary (array and schema) out of its parent too */
    unit_dict = *unit.dictionary;
    unit.dictionary->release = NULL;
    unit_values = *unit_field.dictionary;
    unit_field.dictionary->release = NULL;
    RELEASE(&unit);
    CHECK(strcmp(unit_field.name, "unit") == 0);
    RELEASE(&unit_field);
    CHECK(strcmp(unit_values.format, "u") == 0);
    CHECK(unit_dict.length == 3);
    const int32_t *off = unit_dict.buffers[1];
    const char *data = unit_dict.buffers[2];
    CHECK(off[0] == 0 && off[3] - off[2] == 3 && memcmp(data + off[2], "CNY", 3) == 0);
    RELEASE(&unit_values);
    RELEASE(&unit_dict);
}

/* What an export makes is made once and kept with the table: two exports
 * hand out the same buffers (the built project indices, the bitmaps and the
 * one zero block of every absent column), and a child moved out keeps them
 * alive after both streams, every other array and the caller's reference
 * are gone. */
static void
test_shared_buffers(void)
{
    sx_table *t = parse("project,project_key,project_title,metric,value,unit,as_of,region\n"
                        "1,alpha,Alpha,m_a,1,people,2022-11-30,Shanxi\n"
                        "2,,,m_b,2,people,2022-11-30,\n"
                        "1,alpha,Alpha,m_c,3,people,2022-12-31,Taiyuan\n");
    CHECK(t != NULL);
    if (!t)
        return;
    struct ArrowArrayStream first, second;
    struct ArrowArray a, b;
    CHECK(sx_arrow_export(t, "first", &first) == SX_OK);
    CHECK(sx_arrow_export(t, "second", &second) == SX_OK);
    CHECK(first.get_next(&first, &a) == 0);
    CHECK(second.get_next(&second, &b) == 0);
    CHECK(a.n_children == NFIELDS && b.n_children == NFIELDS);
    if (a.n_children != NFIELDS || b.n_children != NFIELDS)
        return;
    for (int i = 0; i < NFIELDS; i++) {
        CHECK(a.children[i] != b.children[i]); /* nodes of their own */
        CHECK(a.children[i]->buffers[0] == b.children[i]->buffers[0]);
        CHECK(a.children[i]->buffers[1] == b.children[i]->buffers[1]);
        CHECK(a.children[i]->null_count == b.children[i]->null_count);
    }
    /* project_key and project_title: no row left its project's key or title
     * empty, so the table's own codes are the columns; project 2 null */
    for (int i = 1; i <= 2; i++) {
        CHECK(a.children[i]->buffers[1] != NULL && a.children[i]->buffers[0] != NULL);
        CHECK(a.children[i]->null_count == 1 && count_nulls(a.children[i]) == 1);
    }
    CHECK(a.children[1]->buffers[1] == t->codes[SX_COL_PROJECT_KEY]);
    CHECK(a.children[2]->buffers[1] == t->codes[SX_COL_PROJECT_TITLE]);
    CHECK(a.children[1]->buffers[1] != a.children[2]->buffers[1]);
    /* category, label, period_start and part_of are absent: one zero block
     * is the values and validity of them all */
    static const int absent[] = {3, 5, 9, 10};
    const void *zeros = a.children[3]->buffers[1];
    CHECK(zeros != NULL);
    for (int k = 0; k < 4; k++) {
        const struct ArrowArray *c = a.children[absent[k]];
        CHECK(c->buffers[0] == zeros && c->buffers[1] == zeros);
        CHECK(c->null_count == 3 && count_nulls(c) == 3);
    }
    CHECK(a.children[11]->null_count == 1 && a.children[11]->buffers[0] != NULL);

    /* move project_key and category out of the first batch, drop the rest */
    struct ArrowArray key = *a.children[1], category = *a.children[3];
    a.children[1]->release = NULL;
    a.children[3]->release = NULL;
    RELEASE(&a);
    RELEASE(&b);
    RELEASE(&first);
    RELEASE(&second);
    sx_table_decref(t);
    CHECK(dict_value_is(&key, 1, 0, "alpha")); /* int8: the table's own codes */
    CHECK(dict_value_is(&key, 1, 1, NULL));
    CHECK(count_nulls(&category) == 3 && index_at(category.buffers[1], 1, 2) == 0);
    RELEASE(&category);
    /* the last owner: the table and what is kept with it go with it */
    CHECK(dict_value_is(&key, 1, 2, "alpha"));
    RELEASE(&key);
}

/* ------------------------------------------------------------------ other tables */

static void
test_required_only(void)
{
    sx_table *t = parse("as_of,value,unit,metric,project\n"
                        "2022-11-30,1,people,a,2\n"
                        "2022-12-31,-0.5,percent,b,1\n"
                        "2020-02-29,3,people,c,2\n");
    CHECK(t != NULL);
    if (!t)
        return;
    struct ArrowArrayStream stream;
    CHECK(sx_arrow_export(t, "", &stream) == SX_OK);
    sx_table_decref(t);
    struct ArrowSchema s;
    struct ArrowArray b, end;
    CHECK(stream.get_schema(&stream, &s) == 0);
    CHECK(stream.get_next(&stream, &b) == 0);
    CHECK(stream.get_next(&stream, &end) == 0 && end.release == NULL);
    RELEASE(&stream);

    /* the required columns where every schema has them; the others all null */
    static const int at[] = {0, 4, 6, 7, 8};
    static const char *const names[] = {"project", "metric", "value", "unit", "as_of"};
    static const char *const formats[] = {"i", "c", "g", "c", "tdD"};
    CHECK(metadata_is(s.metadata, "shanxi.source", ""));
    CHECK(s.n_children == NFIELDS && b.n_children == NFIELDS && b.length == 3);
    if (s.n_children == NFIELDS && b.n_children == NFIELDS) {
        for (int i = 0; i < NFIELDS; i++) {
            CHECK(strcmp(s.children[i]->name, full_names[i]) == 0);
            CHECK(b.children[i]->length == 3);
            CHECK(count_nulls(b.children[i]) == b.children[i]->null_count);
        }
        for (int i = 0; i < 5; i++) {
            CHECK(strcmp(s.children[at[i]]->name, names[i]) == 0);
            CHECK(strcmp(s.children[at[i]]->format, formats[i]) == 0);
            CHECK(s.children[at[i]]->flags == 0);
            CHECK(b.children[at[i]]->null_count == 0 && b.children[at[i]]->buffers[0] == NULL);
        }
        static const int absent[] = {1, 2, 3, 5, 9, 10, 11, 12};
        for (int i = 0; i < 8; i++) {
            const struct ArrowArray *c = b.children[absent[i]];
            CHECK(s.children[absent[i]]->flags == ARROW_FLAG_NULLABLE);
            CHECK(c->null_count == 3 && c->buffers[0] != NULL && c->buffers[1] != NULL);
            CHECK(c->dictionary == NULL || c->dictionary->length == 0);
        }
        CHECK(strcmp(s.children[3]->format, "c") == 0); /* an absent text column: int8 */
        CHECK(metadata_is(s.children[6]->metadata, "shanxi.units", "people,percent"));
        CHECK(((const int32_t *)b.children[0]->buffers[1])[2] == 2);
        CHECK(dict_value_is(b.children[4], 1, 1, "b"));
        CHECK(((const double *)b.children[6]->buffers[1])[1] == -0.5);
        CHECK(dict_value_is(b.children[7], 1, 2, "people"));
        CHECK(((const int32_t *)b.children[8]->buffers[1])[2] == days(2020, 2, 29));
    }
    RELEASE(&b);
    RELEASE(&s);
}

/* An optional column present but empty on every row: an empty dictionary
 * with a real offsets buffer, every row null. */
static void
test_all_null_column(void)
{
    sx_table *t = parse("project,metric,value,unit,as_of,region,period_start,project_key\n"
                        "1,a,1,people,2022-11-30,,,\n"
                        "2,b,2,people,2022-11-30,,,\n");
    CHECK(t != NULL);
    if (!t)
        return;
    struct ArrowArrayStream stream;
    CHECK(sx_arrow_export(t, "x", &stream) == SX_OK);
    struct ArrowArray b;
    struct ArrowSchema s;
    CHECK(stream.get_schema(&stream, &s) == 0);
    CHECK(stream.get_next(&stream, &b) == 0);
    RELEASE(&stream);
    sx_table_decref(t);
    int64_t ir = child_index(&s, "region"), ip = child_index(&s, "period_start");
    int64_t ik = child_index(&s, "project_key");
    CHECK(ik == 1 && ip == 9 && ir == 11);
    if (ik == 1 && ip == 9 && ir == 11) {
        for (int k = 0; k < 2; k++) {
            const struct ArrowArray *c = b.children[k == 0 ? ir : ik];
            CHECK(c->null_count == 2 && count_nulls(c) == 2);
            CHECK(c->dictionary->length == 0);
            CHECK(c->dictionary->buffers[1] != NULL &&
                  ((const int32_t *)c->dictionary->buffers[1])[0] == 0);
            CHECK(c->dictionary->buffers[2] != NULL);
        }
        CHECK(b.children[ip]->null_count == 2 && count_nulls(b.children[ip]) == 2);
    }
    RELEASE(&b);
    RELEASE(&s);
}

static void
test_empty_table(void)
{
    sx_table *t = parse("project,metric,value,unit,as_of,label\n");
    CHECK(t != NULL);
    if (!t)
        return;
    CHECK(t->nrows == 0);
    struct ArrowArrayStream stream;
    CHECK(sx_arrow_export(t, "empty.csv", &stream) == SX_OK);
    sx_table_decref(t);
    struct ArrowSchema s;
    struct ArrowArray end;
    CHECK(stream.get_schema(&stream, &s) == 0);
    CHECK(s.n_children == NFIELDS);
    CHECK(child_index(&s, "label") == 5);
    CHECK(s.n_children == NFIELDS && metadata_is(s.children[6]->metadata, "shanxi.units", ""));
    CHECK(metadata_is(s.metadata, "shanxi.source", "empty.csv"));
    memset(&end, 0xAB, sizeof end);
    CHECK(stream.get_next(&stream, &end) == 0 && end.release == NULL);
    CHECK(stream.get_next(&stream, &end) == 0 && end.release == NULL);
    RELEASE(&s);
    RELEASE(&stream);
}

/* A source with an embedded multi-byte character and the value field's
 * metadata bytes, spelled out. */
static void
test_metadata_bytes(void)
{
    sx_table *t = parse("project,metric,value,unit,as_of\n1,a,1,\xc2\xb0"
                        "C,2022-11-30\n"
                        "1,b,1,m,2022-11-30\n");
    CHECK(t != NULL);
    if (!t)
        return;
    struct ArrowArrayStream stream;
    CHECK(sx_arrow_export(t, "d\xc3\xa9j\xc3\xa0", &stream) == SX_OK);
    sx_table_decref(t);
    struct ArrowSchema s;
    CHECK(stream.get_schema(&stream, &s) == 0);
    RELEASE(&stream);
    int32_t n1 = 1, klen = 13, vlen = 6;
    char want[4 + 4 + 13 + 4 + 6];
    memcpy(want, &n1, 4);
    memcpy(want + 4, &klen, 4);
    memcpy(want + 8, "shanxi.source", 13);
    memcpy(want + 21, &vlen, 4);
    memcpy(want + 25, "d\xc3\xa9j\xc3\xa0", 6);
    CHECK(memcmp(s.metadata, want, sizeof want) == 0);
    CHECK(s.n_children == NFIELDS && metadata_is(s.children[6]->metadata, "shanxi.units",
                                                 "\xc2\xb0"
                                                 "C,m"));
    RELEASE(&s);
}

/* ------------------------------------------------------------------ allocation failures */

/* Fail the k-th allocation for every k of a full export, schema and batch:
 * the failing call reports ENOMEM (export: SX_ERR_NOMEM with *out as it was),
 * and LeakSanitizer/valgrind see nothing left behind. */
static void
test_allocation_failures(void)
{
    sx_table *t = parse(full_csv);
    CHECK(t != NULL);
    if (!t)
        return;
    int finished = 0;
    long k;
    for (k = 0; k < 1000 && !finished; k++) {
        alloc_count = 0;
        fail_at = k;
        struct ArrowArrayStream stream, before;
        memset(&stream, 0x5A, sizeof stream);
        before = stream;
        sx_status st = faulty_arrow_export(t, "full.csv", &stream);
        if (st != SX_OK) {
            CHECK(st == SX_ERR_NOMEM);
            CHECK(memcmp(&stream, &before, sizeof stream) == 0);
            continue;
        }
        struct ArrowSchema s;
        struct ArrowArray b;
        int rc = stream.get_schema(&stream, &s);
        if (rc != 0) {
            CHECK(rc == ENOMEM);
            CHECK(stream.get_last_error(&stream) != NULL);
            RELEASE(&stream);
            continue;
        }
        check_full_schema(&s);
        rc = stream.get_next(&stream, &b);
        if (rc != 0) {
            CHECK(rc == ENOMEM);
            CHECK(stream.get_last_error(&stream) != NULL);
            /* a failed get_next gives nothing; a retry may succeed */
            fail_at = -1;
            CHECK(stream.get_next(&stream, &b) == 0 && b.release != NULL);
            CHECK(stream.get_last_error(&stream) == NULL);
            if (b.release)
                check_full_batch(&b, t);
            RELEASE(&b);
            RELEASE(&s);
            RELEASE(&stream);
            continue;
        }
        check_full_batch(&b, t);
        RELEASE(&stream);
        RELEASE(&b);
        RELEASE(&s);
        finished = 1;
    }
    fail_at = -1;
    CHECK(finished);
    /* each allocation failed once in turn: the stream and its source, the
     * schema's block and metadata, the buffers kept with the table, the
     * batch's block (the nodes of a schema or a batch share one block) */
    CHECK(k > 6);
    CHECK(t->refcount == 1);
    sx_table_decref(t);
}

/* A column's codes are int8 up to 128 distinct strings, int16 up to 32768,
 * int32 beyond, chosen while parsing (the column widens in place when its
 * dictionary outgrows it); the export hands out that width as is. */
static void
test_code_widths(void)
{
    static const int counts[] = {1, 128, 129, 32768, 32769, 40000};
    static const int widths[] = {1, 1, 2, 2, 4, 4};
    for (size_t k = 0; k < sizeof counts / sizeof *counts; k++) {
        int distinct = counts[k];
        int64_t rows = distinct + 500; /* every string, then some again */
        size_t cap = (size_t)rows * 48 + 64, len = 0;
        char *csv = malloc(cap);
        CHECK(csv != NULL);
        if (!csv)
            return;
        len += (size_t)snprintf(csv + len, cap - len, "project,metric,value,unit,as_of,region\n");
        for (int64_t r = 0; r < rows; r++) {
            /* region: empty on every 7th row, else one of `distinct` names */
            int m = (int)(r % distinct);
            if (r % 7 == 3)
                len += (size_t)snprintf(csv + len, cap - len, "1,m%d,%lld,people,2022-12-31,\n", m,
                                        (long long)r);
            else
                len += (size_t)snprintf(csv + len, cap - len, "1,m%d,%lld,people,2022-12-31,r%d\n",
                                        m, (long long)r, m);
        }
        csv[len] = '\0';
        sx_table *t = parse(csv);
        CHECK(t != NULL);
        if (!t) {
            free(csv);
            continue;
        }
        CHECK(t->code_width[SX_COL_METRIC] == widths[k]);
        CHECK(t->code_width[SX_COL_UNIT] == 1);
        CHECK(t->code_width[SX_COL_LABEL] == 0 && t->codes[SX_COL_LABEL] == NULL);
        int ok = 1;
        for (int64_t r = 0; r < rows; r++) {
            char want[16];
            size_t n;
            snprintf(want, sizeof want, "m%d", (int)(r % distinct));
            const char *got =
                sx_dict_str(&t->dicts[SX_COL_METRIC], sx_code_at(t, SX_COL_METRIC, r), &n);
            ok &= n == strlen(want) && memcmp(got, want, n) == 0;
            ok &= (sx_code_at(t, SX_COL_REGION, r) == SX_NULL_CODE) == (r % 7 == 3);
        }
        CHECK(ok);

        struct ArrowArrayStream stream;
        struct ArrowSchema s;
        struct ArrowArray b, end;
        CHECK(sx_arrow_export(t, "widths", &stream) == SX_OK);
        CHECK(stream.get_schema(&stream, &s) == 0);
        CHECK(stream.get_next(&stream, &b) == 0);
        CHECK(stream.get_next(&stream, &end) == 0 && end.release == NULL);
        RELEASE(&stream);
        int64_t mi = child_index(&s, "metric"), ri = child_index(&s, "region");
        CHECK(mi >= 0 && ri >= 0);
        if (mi >= 0 && ri >= 0) {
            int rw = t->code_width[SX_COL_REGION];
            CHECK(strcmp(s.children[mi]->format, widths[k] == 1   ? "c"
                                                 : widths[k] == 2 ? "s"
                                                                  : "i") == 0);
            CHECK(strcmp(s.children[ri]->format, rw == 1 ? "c" : rw == 2 ? "s" : "i") == 0);
            CHECK(b.children[mi]->buffers[1] == t->codes[SX_COL_METRIC]);
            CHECK(b.children[ri]->null_count == t->null_count[SX_COL_REGION]);
            ok = 1;
            for (int64_t r = 0; r < rows; r++) {
                char want[16];
                snprintf(want, sizeof want, "m%d", (int)(r % distinct));
                ok &= dict_value_is(b.children[mi], widths[k], r, want);
                snprintf(want, sizeof want, "r%d", (int)(r % distinct));
                ok &= dict_value_is(b.children[ri], rw, r, r % 7 == 3 ? NULL : want);
            }
            CHECK(ok);
        }
        RELEASE(&b);
        RELEASE(&s);
        sx_table_decref(t);
        free(csv);
    }
}

int
main(void)
{
    test_full_stream_first();
    test_full_arrays_first();
    test_moved_children();
    test_shared_buffers();
    test_required_only();
    test_all_null_column();
    test_empty_table();
    test_metadata_bytes();
    test_allocation_failures();
    test_code_widths();
    /* memcheck reports what is reachable at exit: both copies' spares */
    sx_arrow_free_spares();
    faulty_arrow_free_spares();
    return CHECK_DONE();
}
