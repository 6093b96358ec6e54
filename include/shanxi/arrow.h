/*
 * shanxi/arrow.h -- export a table through the Arrow C stream interface.
 *
 * The three structs are the stable ABI of the Arrow C data interface and C
 * stream interface, declared as the specification says any producer may
 * (guarded by the same macros, so a consumer's own copy does not clash).
 */
#ifndef SHANXI_ARROW_H
#define SHANXI_ARROW_H

#include <stdint.h>

#include "shanxi/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE

#define ARROW_FLAG_DICTIONARY_ORDERED 1
#define ARROW_FLAG_NULLABLE           2
#define ARROW_FLAG_MAP_KEYS_SORTED    4

struct ArrowSchema {
    const char *format;
    const char *name;
    const char *metadata;
    int64_t flags;
    int64_t n_children;
    struct ArrowSchema **children;
    struct ArrowSchema *dictionary;
    void (*release)(struct ArrowSchema *);
    void *private_data;
};

struct ArrowArray {
    int64_t length;
    int64_t null_count;
    int64_t offset;
    int64_t n_buffers;
    int64_t n_children;
    const void **buffers;
    struct ArrowArray **children;
    struct ArrowArray *dictionary;
    void (*release)(struct ArrowArray *);
    void *private_data;
};

#endif /* ARROW_C_DATA_INTERFACE */

#ifndef ARROW_C_STREAM_INTERFACE
#define ARROW_C_STREAM_INTERFACE

struct ArrowArrayStream {
    int (*get_schema)(struct ArrowArrayStream *, struct ArrowSchema *out);
    int (*get_next)(struct ArrowArrayStream *, struct ArrowArray *out);
    const char *(*get_last_error)(struct ArrowArrayStream *);
    void (*release)(struct ArrowArrayStream *);
    void *private_data;
};

#endif /* ARROW_C_STREAM_INTERFACE */

/* Fill *out with a new stream over every row of t: a struct schema whose
 * fields are every column of the data/ format, all-null where the file has
 * none, and each row's share (project int32, metric/unit/... as
 * dictionary<intN, utf8>, value float64, as_of and period_start date32,
 * share float64; arrow.c lists them), with the unit vocabulary and source in
 * metadata.  The
 * stream holds a reference to t (numeric columns are not copied), so it may
 * outlive the caller's; release it with out->release(out).  `source` is
 * copied.  Returns SX_OK or SX_ERR_NOMEM (then *out is untouched). */
sx_status sx_arrow_export(sx_table *t, const char *source, struct ArrowArrayStream *out);

/* The export keeps the last freed block of each kind (a few KB) for the
 * next export; free them now.  Exports may go on after (they allocate
 * afresh).  For a module's teardown, and for a program whose leak checker
 * looks at what is reachable at exit. */
void sx_arrow_free_spares(void);

#ifdef __cplusplus
}
#endif

#endif /* SHANXI_ARROW_H */
