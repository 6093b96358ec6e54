/*
 * binding.h -- what the files of the shanxi._shanxi binding share: the
 * module state, the object structs, the 3.9 compatibility shims and the
 * functions one binding file calls in another.  Private to the .c files of
 * shanxi_ext/; the C core (include/shanxi/) never sees it.
 *
 * The files, one job each:
 *   convert.c  core errors to exceptions, dates, the keyword parser, names
 *   cache.c    the Dataset's lazy str/Metric/Project caches and cache_publish
 *   lookup.c   project words, codes, filters, suggestion messages
 *   groups.c   grouped results of aggregate()/total()
 *   dataset.c  the Dataset type and its Arrow export
 *   columns.c  Dataset._columns(): the native columns as read-only buffers
 *   contents.c what is in a Dataset: distinct values, dates, columns
 *   figures.c  the Metric and Project types
 *   manyfiles.c load() of many files: each read by its own reader on the
 *              core's pool, one Dataset
 *   partial.c  the Partial type: Dataset.partial, merging, result(), its
 *              blob and pickle
 *   module.c   module init and state, the Python helpers, load()/loads()
 */
#ifndef SHANXI_BINDING_H
#define SHANXI_BINDING_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "shanxi/core.h"

/* ------------------------------------------------------------ compatibility */

#if PY_VERSION_HEX < 0x030A0000
static inline PyObject *
Py_NewRef(PyObject *o)
{
    Py_INCREF(o);
    return o;
}
static inline PyObject *
Py_XNewRef(PyObject *o)
{
    Py_XINCREF(o);
    return o;
}
#endif

#ifndef Py_TPFLAGS_IMMUTABLETYPE
#define Py_TPFLAGS_IMMUTABLETYPE 0
#endif
#ifndef Py_TPFLAGS_DISALLOW_INSTANTIATION
#define Py_TPFLAGS_DISALLOW_INSTANTIATION 0
#define SHANXI_CLEAR_TP_NEW               1 /* 3.9: block instantiation by hand */
#endif

/* A METH_FASTCALL | METH_KEYWORDS function as a PyMethodDef's ml_meth. */
#define FASTCALL_METH(fn) ((PyCFunction)(void (*)(void))(fn))

/* ------------------------------------------------------------ module state */

typedef struct {
    PyTypeObject *Dataset_Type;
    PyTypeObject *Project_Type;
    PyTypeObject *Metric_Type;
    PyTypeObject *Partial_Type;
    PyObject *ParseError;
    PyObject *ParseWarning;
    PyObject *embedded;        /* the Dataset compiled into the extension */
    PyObject *date_type;       /* datetime.date, imported on first use */
    PyObject *frame_maker;     /* the package's to_frame(ds, kind), see _register */
    PyObject *html_maker;      /* the package's html(obj), see _register */
    PyObject *figures_type;    /* the package's tuple subclass for metrics(), see _register */
    PyTypeObject *Buffer_Type; /* columns.c's buffer exporter */
    PyObject *chunks_maker;    /* the package's chunks(source, encoding, name) */
    PyObject *hint_maker;      /* the package's hint(head): what bad input looks like */
    PyObject *expanduser;      /* os.path.expanduser */
    PyObject *paths_maker;     /* the package's paths(arg): the files load() reads */
} shanxi_state;

static inline shanxi_state *
module_state(PyObject *module)
{
    return (shanxi_state *)PyModule_GetState(module);
}

/* Every type here is final, so an instance's own type is the defining one. */
static inline shanxi_state *
object_state(PyObject *self)
{
    return (shanxi_state *)PyType_GetModuleState(Py_TYPE(self));
}

/* ------------------------------------------------------------ objects */

/* The key objects of one grouped result, to make later dicts with the same
 * keys by copying (see grouped_dict in groups.c). */
typedef struct {
    PyObject *dict;  /* key -> None, in group order */
    PyObject *tuple; /* the same key objects, in the same order */
    int64_t n;
    int64_t keys[]; /* the core's group keys, in the same order */
} group_keys;

typedef struct {
    PyObject_HEAD sx_table *table;
    PyObject *source;                  /* str: path, "<string>" or the data file (for
                                          many files, what messages call them) */
    PyObject *files;                   /* tuple of str: the files of load(many), else NULL */
    PyObject **metric_cache;           /* nrows Metric objects, made on access */
    PyObject **project_cache;          /* nprojects Project objects */
    PyObject **str_cache[SX_NSTRCOLS]; /* a str per dictionary code */
    PyObject *metric_index;            /* dict: key -> Metric, for repeat lookups */
    PyObject *project_words;           /* dict: casefolded word -> index | tuple */
    PyObject *projects_tuple;
    PyObject *metrics_tuple;
    group_keys *kept_keys[SX_NBYS]; /* per by: see grouped_dict */
    sx_table *search_view;          /* see dataset_search_view, or NULL */
    /* contents.c: unique() per text column, then of project; the date
     * range; the columns */
    PyObject *unique_cache[SX_NSTRCOLS + 1];
    PyObject *date_range;
    PyObject *columns;
    int embedded;
} DatasetObject;

typedef struct {
    PyObject_HEAD PyObject *key, *label, *value, *unit, *part_of, *region, *category;
    int32_t project;
    int32_t as_of;
    int32_t period_start; /* SX_NO_DATE when none */
    Py_hash_t hash;       /* -1 until computed */
} MetricObject;

typedef struct {
    PyObject_HEAD int32_t number;
    int32_t as_of; /* SX_NO_DATE when it has no figures */
    PyObject *key, *title, *category;
    PyObject *metrics; /* tuple, or NULL until asked for */
    PyObject *dataset; /* where metrics come from, or NULL */
    Py_hash_t hash;
} ProjectObject;

#define Dataset_CAST(op) ((DatasetObject *)(op))
#define Metric_CAST(op)  ((MetricObject *)(op))
#define Project_CAST(op) ((ProjectObject *)(op))

/* ------------------------------------------------------------ manyfiles.c */

/* load() of a list, directory or glob: a Dataset of the files that path
 * names (in encoding, None for UTF-8) on at most threads threads (0: the
 * machine's cores), or NULL with an exception; *handled
 * is 0 (nothing done, no exception) when path names one file, for the
 * one-file load. */
PyObject *load_many(shanxi_state *st, PyObject *path, PyObject *encoding, int threads,
                    int *handled);
/* How a Dataset of many files is labelled: "2 files: a.csv, b.csv". */
PyObject *files_label(PyObject *sources);

/* ------------------------------------------------------------ chunks.c */

/* _shanxi._read_chunks: files read in chunks of bounded rows (aggregate_files). */
PyObject *read_chunked(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                       PyObject *kwnames);
extern const char read_chunked_doc[];

/* ------------------------------------------------------------ module.c */

/* load()'s ways into a file, for each of many: see module.c. */
int feed_chunks(shanxi_state *st, sx_builder *b, PyObject *src, PyObject *encoding,
                PyObject *source, int hint);
/* feed_chunks calling each(ctx) after each chunk is fed (-1: stop, an
 * exception set), so the caller can take the rows parsed so far. */
int feed_chunks_each(shanxi_state *st, sx_builder *b, PyObject *src, PyObject *encoding,
                     PyObject *source, int hint, int (*each)(void *ctx), void *ctx);
/* load()'s exception for a file that cannot be opened or read. */
void raise_read_error(int os_error, const sx_error *err, PyObject *source);
int is_utf8(PyObject *encoding);
void add_hint(shanxi_state *st, sx_error *err, const char *head, size_t n);
#ifndef _WIN32
int looks_compressed(const char *head, size_t n);
#endif

/* ------------------------------------------------------------ convert.c */

/* Raise the exception for a failed core call; err may be NULL. */
void raise_core_error(shanxi_state *st, sx_status status, const sx_error *err, PyObject *source);

/* The UTF-8 of a str: 1 and *out set; 0 (no exception) when it holds lone
 * surrogates and so cannot name anything stored; -1 with an exception. */
int str_utf8(PyObject *s, const char **out, Py_ssize_t *len);

PyObject *date_from_days(shanxi_state *st, int32_t days);
int days_from_object(shanxi_state *st, PyObject *obj, const char *what, int allow_none,
                     int32_t *days);
PyObject *value_object(double value, int is_int);
/* An integer argument as an int (a new reference): an int, or anything with
 * __index__ (numpy and pandas integers); never a bool, Python's or numpy's.
 * NULL without an exception when obj is no integer; with one when its
 * __index__ failed. */
PyObject *index_object(PyObject *obj);

int str_equals_ascii(PyObject *s, const char *ascii);
int name_index(PyObject *obj, const char *what, const char *const *names, int n, int first);

/* The one keyword parser for every METH_FASTCALL|METH_KEYWORDS function:
 * names lists every parameter; the first maxpos may come positionally and
 * the first required must be given.  out[i] is the borrowed argument or NULL. */
typedef struct {
    const char *fname;
    const char *const *names;
    int nnames;
    int maxpos;
    int required;
} argspec;

int parse_args(const argspec *spec, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
               PyObject **out);

/* ------------------------------------------------------------ cache.c */

PyObject *cache_publish(PyObject **slot, PyObject *made);
/* Dictionaries of at most this many strings have their str objects
 * interned, and lookup_code tries identity with them first (lookup.c). */
#define IDENTITY_CODES 32
PyObject *dataset_str(DatasetObject *ds, sx_strcol col, int32_t code);
PyObject *dataset_row_str(DatasetObject *ds, sx_strcol col, int64_t row);
PyObject *dataset_metric_at(DatasetObject *ds, int64_t row);
PyObject *dataset_project_at(DatasetObject *ds, int32_t index);
PyObject *metrics_tuple_of_rows(DatasetObject *ds, const int64_t *rows, int64_t n);
/* The Metrics of rows[0..n) as metrics() and search() return them (tuple
 * is their plain tuple, stolen): the package's tuple subclass when one is
 * registered, carrying their shares from the core's column, else tuple. */
PyObject *as_figures(DatasetObject *ds, PyObject *tuple, const int64_t *rows, int64_t n);
const sx_table *dataset_search_view(DatasetObject *ds);
int dataset_caches_traverse(DatasetObject *ds, visitproc visit, void *arg);
void dataset_caches_clear(DatasetObject *ds);
void dataset_caches_free(DatasetObject *ds);

/* ------------------------------------------------------------ lookup.c */

/* The filters every query takes, in this order after its own parameters. */
enum { F_PROJECT, F_METRIC, F_UNIT, F_CATEGORY, F_REGION, F_SINCE, F_UNTIL, F_COUNT };
#define FILTER_NAMES "project", "metric", "unit", "category", "region", "since", "until"

int32_t project_index_of(DatasetObject *ds, PyObject *key);
int lookup_code(DatasetObject *ds, sx_strcol col, const char *what, PyObject *key, int32_t *code);
int64_t metric_row(DatasetObject *ds, PyObject *key);
int build_filter(DatasetObject *ds, PyObject *const *vals, sx_filter *f);
PyObject *select_metrics(DatasetObject *ds, const sx_filter *f);

/* ------------------------------------------------------------ groups.c */

PyObject *run_aggregate(DatasetObject *ds, sx_func func, sx_by by, const sx_filter *f);
/* One group's value as aggregate() gives it; a BY_MONTH key as "YYYY-MM". */
PyObject *group_value(const sx_group *g, sx_func func);
PyObject *month_object(int64_t key);
/* The groupings of by=(...) into keys (SX_MAX_KEYS of room): how many, or
 * -1 with an exception (dataset.c). */
int by_keys(PyObject *names, sx_by *keys);
PyObject *run_aggregate_keys(DatasetObject *ds, sx_func func, const sx_by *by, int nby,
                             const sx_filter *f);
void group_keys_free(group_keys *gk);

/* ------------------------------------------------------------ partial.c */

extern PyType_Spec Partial_Type_spec;
PyObject *Dataset_partial(PyObject *op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames);
extern const char Dataset_partial_doc[];

/* ------------------------------------------------------------ dataset.c */

extern PyType_Spec Dataset_Type_spec;
PyObject *dataset_new(shanxi_state *st, sx_table *table, PyObject *source, int embedded);

/* ------------------------------------------------------------ columns.c */

extern PyType_Spec Buffer_Type_spec;
PyObject *Dataset_columns(PyObject *op, PyObject *ignored);
/* ------------------------------------------------------------ contents.c */

PyObject *Dataset_unique(PyObject *op, PyObject *column);
PyObject *Dataset_get_metric_keys(PyObject *op, void *closure);
PyObject *Dataset_get_units(PyObject *op, void *closure);
PyObject *Dataset_get_regions(PyObject *op, void *closure);
PyObject *Dataset_get_categories(PyObject *op, void *closure);
PyObject *Dataset_get_date_range(PyObject *op, void *closure);
PyObject *Dataset_get_ignored_columns(PyObject *op, void *closure);
/* A ParseWarning per ignored header field that looks like a slip for an
 * absent column (contents.c); -1 when a filter made one an error. */
int dataset_warn_near_misses(shanxi_state *st, const sx_table *t, PyObject *source);
PyObject *Dataset_get_nrows(PyObject *op, void *closure);
PyObject *Dataset_get_columns(PyObject *op, void *closure);

/* ------------------------------------------------------------ figures.c */

extern PyType_Spec Metric_Type_spec, Project_Type_spec;
extern const char Metric_doc[], Project_doc[];

/* ------------------------------------------------------------ module.c */

/* _repr_html_ of Dataset, Project and Metric: the package's html(self). */
PyObject *any_repr_html(PyObject *self, PyObject *ignored);
/* Dataset.to_frame: the package's to_frame(ds, kind). */
PyObject *make_frame(PyObject *ds, PyObject *kind);

#endif /* SHANXI_BINDING_H */
