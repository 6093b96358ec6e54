/*
 * reader.c -- a file read in chunks into a builder (sx_reader, core.h).
 * A regular file is read with pread into a buffer of a few MiB, never
 * mapped: a file that shrinks while it is read gives a short read and an
 * error, where a mapping would give SIGBUS.  Anything else (a pipe, a
 * FIFO, a character device, a /proc file whose size reads 0) is read with
 * read() to its end, each chunk validated as it arrives, so an endless
 * stream of garbage fails at its first bad byte.  The caller runs one step
 * (one read, one feed) at a time, so it can look for signals in between.
 *
 * A large regular file is parsed in parts on several threads (as many as
 * sxp_part_count says): the caller's reads the first part, each other part
 * (from the first line break after its share's start to the next part) is
 * read by a thread of its own, each with its own builder; the later parts
 * are then merged into the first (merge.c).  When that cannot be trusted (a
 * part failed, a split fell inside a quoted field, a part before the last
 * ends in empty lines) the file is read again in one pass, which reports
 * errors exactly.
 *
 * sx_file_peek reads a regular file's first bytes for a look at what it is
 * (compressed? what do its first lines look like?).
 */
#include "shanxi/core.h"

#ifndef _WIN32

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "parser.h"

/* Bytes read per step: large enough that a read costs little per byte, small
 * enough that a signal is seen within a few milliseconds of parsing, and a
 * small part of a load's peak memory (one buffer per thread; 4 MiB made the
 * peak of a 2M-row load on two threads 1.19x its table, 1 MiB 1.10x). */
#ifndef SX_READ_CHUNK
#define SX_READ_CHUNK ((size_t)1 << 20)
#endif
/* How far past a part's share a line break is looked for to split at. */
#define SPLIT_PROBE ((size_t)1 << 20)
/* How long a step waits for the second thread before returning. */
#define WAIT_NS     20000000L

/* One builder over a byte range of the file, or to its end (to == 0). */
typedef struct range_reader {
    sx_builder *b;
    char *buf;
    size_t cap, n; /* buf[0..n) is not consumed yet */
    uint64_t pos;  /* file offset of the next read */
    uint64_t to;   /* end of the range (regular files; 0: to end of file) */
    int fed;       /* the final chunk was fed */
} range_reader;

#ifdef SX_THREADS
typedef struct part_job {
    range_reader rr;
    uint64_t from, to; /* its bytes (to: 0 for the end of the file) */
    int fd;
    uint64_t size;
    const sx_refcount *cancel; /* the caller's, or NULL */
    sx_refcount stop;          /* set by the first part: stop now */
    sx_refcount finished;
    pthread_t thread;
    int started;
    sx_status st;
    sx_error err;
    int os_error;
} part_job;
#endif

struct sx_reader {
    int fd;
    int regular;
    uint64_t size; /* of a regular file when opened */
    sx_parse_options opts;
    range_reader main;
#ifdef SX_THREADS
    int nparts;      /* parts after the first: 0 when one pass */
    part_job *parts; /* theirs, each from its offset `from` */
#endif
};

static void
range_free(range_reader *rr)
{
    sx_builder_free(rr->b);
    sx_big_free(rr->buf);
    memset(rr, 0, sizeof *rr);
}

static sx_status
range_init(range_reader *rr, sx_builder *b, uint64_t from, uint64_t to)
{
    memset(rr, 0, sizeof *rr);
    rr->b = b;
    rr->pos = from;
    rr->to = to;
    rr->cap = SX_READ_CHUNK;
    if (!(rr->buf = sx_big_alloc(rr->cap)))
        return SX_ERR_NOMEM;
    return SX_OK;
}

/* One read and one feed.  A regular file is read to the range's end, or to
 * where pread says the file ends; it must not end before `size`. */
static sx_status
range_step(range_reader *rr, int fd, int regular, uint64_t size, sx_error *err, int *os_error)
{
    if (rr->n == rr->cap) { /* one record longer than the buffer */
        size_t cap = rr->cap * 2;
        char *grown = cap > rr->cap ? sx_big_realloc(rr->buf, cap) : NULL;
        if (!grown)
            return sx_error_set(err, SX_ERR_NOMEM, "out of memory while reading");
        rr->buf = grown;
        rr->cap = cap;
    }
    size_t want = rr->cap - rr->n;
    if (rr->to && rr->to - rr->pos < want)
        want = (size_t)(rr->to - rr->pos);
    ssize_t got = 0;
    if (want > 0) {
        got = regular ? pread(fd, rr->buf + rr->n, want, (off_t)rr->pos)
                      : read(fd, rr->buf + rr->n, want);
        if (got < 0) {
            if (errno == EINTR)
                return SX_OK; /* the caller looks for signals, then steps again */
            if (errno == ENOMEM)
                return sx_error_set(err, SX_ERR_NOMEM, "out of memory while reading");
            *os_error = errno;
            return sx_error_set(err, SX_ERR_IO, "the file could not be read");
        }
    }
    rr->n += (size_t)got;
    rr->pos += (uint64_t)got;
    int final = got == 0 || (rr->to && rr->pos == rr->to);
    if (final && regular && rr->pos < (rr->to ? rr->to : size)) {
        *os_error = EIO;
        return sx_error_set(err, SX_ERR_IO,
                            "the file became shorter while it was read: it ended after %llu of "
                            "its %llu bytes",
                            (unsigned long long)rr->pos, (unsigned long long)size);
    }
    size_t used;
    sx_status st = sx_builder_feed(rr->b, rr->buf, rr->n, final, &used, err);
    if (st != SX_OK)
        return st;
    memmove(rr->buf, rr->buf + used, rr->n - used);
    rr->n -= used;
    rr->fed = final;
    if (final) { /* read and parsed: its buffer is not held through the merge */
        sx_big_free(rr->buf);
        rr->buf = NULL;
        rr->cap = rr->n = 0;
    }
    return SX_OK;
}

#ifdef SX_THREADS
static void *
run_part(void *arg)
{
    part_job *job = arg;
    job->st = SX_OK;
    while (!job->rr.fed) {
        if (sx_refcount_get(&job->stop) || (job->cancel && sx_refcount_get(job->cancel))) {
            job->st = SX_ERR_CANCELLED;
            break;
        }
        job->st = range_step(&job->rr, job->fd, 1, job->size, &job->err, &job->os_error);
        if (job->st != SX_OK)
            break;
    }
    sx_refcount_inc(&job->finished);
    return NULL;
}

/* Stop and join the other parts' threads, and free them. */
static void
parts_end(sx_reader *r)
{
    for (int i = 0; i < r->nparts; i++)
        if (r->parts[i].started)
            sx_refcount_inc(&r->parts[i].stop);
    for (int i = 0; i < r->nparts; i++) {
        part_job *job = &r->parts[i];
        if (job->started) {
            pthread_join(job->thread, NULL);
            job->started = 0;
        }
        range_free(&job->rr);
    }
    free(r->parts);
    r->parts = NULL;
    r->nparts = 0;
}

/* The first line break at or after `at`: where a part starts, or 0 when
 * none is near. */
static uint64_t
find_split(int fd, uint64_t at, uint64_t size)
{
    char *probe = malloc(SPLIT_PROBE);
    uint64_t split = 0;
    if (!probe)
        return 0;
    ssize_t got = pread(fd, probe, SPLIT_PROBE, (off_t)at);
    if (got > 0) {
        const char *nl = memchr(probe, '\n', (size_t)got);
        if (nl && at + (uint64_t)(nl - probe) + 1 < size)
            split = at + (uint64_t)(nl - probe) + 1;
    }
    free(probe);
    return split;
}

/* Where the parts after the first start, up to want - 1 of them: 1 when
 * there are any (r->parts made), else 0 (read in one pass). */
static int
plan_parts(sx_reader *r, int want)
{
    if (!(r->parts = calloc((size_t)want - 1, sizeof *r->parts)))
        return 0;
    uint64_t last = 0;
    for (int i = 1; i < want; i++) {
        uint64_t at = r->size / (uint64_t)want * (uint64_t)i;
        uint64_t split = find_split(r->fd, at > last ? at : last, r->size);
        if (split > last) {
            r->parts[r->nparts++].from = split;
            last = split;
        }
    }
    for (int i = 0; i < r->nparts; i++)
        r->parts[i].to = i + 1 < r->nparts ? r->parts[i + 1].from : 0;
    if (r->nparts == 0) {
        free(r->parts);
        r->parts = NULL;
    }
    return r->nparts > 0;
}

/* The first part has parsed the header: start the others. */
static void
parts_start(sx_reader *r)
{
    for (int i = 0; i < r->nparts; i++) {
        part_job *job = &r->parts[i];
        uint64_t to = job->to ? job->to : r->size;
        sx_builder *b;
        if (sxp_builder_new_part(r->main.b, job->from, to - job->from, &b) != SX_OK)
            goto error;
        if (range_init(&job->rr, b, job->from, job->to) != SX_OK) {
            job->rr.b = b;
            goto error;
        }
        job->fd = r->fd;
        job->size = r->size;
        job->cancel = r->opts.cancel;
        sx_refcount_init(&job->stop, 0);
        sx_refcount_init(&job->finished, 0);
        if (pthread_create(&job->thread, NULL, run_part, job) != 0)
            goto error;
        job->started = 1;
    }
    return;
error: /* the file is read in one pass instead */
    parts_end(r);
    r->main.to = 0;
}

/* Every part is parsed: the later ones merged into the first, or 0 when
 * the file must be read again in one pass. */
static int
merge_parts(sx_reader *r)
{
    parser *ps[SXP_MAX_PARTS];
    if (sxp_builder_ends_blank(r->main.b))
        return 0;
    ps[0] = sxp_builder_parser(r->main.b);
    uint64_t lines = sxp_builder_lines(r->main.b);
    for (int i = 0; i < r->nparts; i++) {
        part_job *job = &r->parts[i];
        /* only the last part may end in empty lines: the file's end */
        if (job->st != SX_OK || (i + 1 < r->nparts && sxp_builder_ends_blank(job->rr.b)))
            return 0;
        ps[i + 1] = sxp_builder_parser(job->rr.b);
        sxp_shift_lines(ps[i + 1], lines);
        lines += sxp_builder_lines(job->rr.b);
    }
    size_t where;
    return sxp_merge_parts(ps, (size_t)r->nparts + 1, 1, NULL, r->nparts + 1, &where) == SX_OK;
}

/* Start again from the first byte, in one pass. */
static sx_status
restart(sx_reader *r, sx_error *err)
{
    parts_end(r);
    range_free(&r->main);
    sx_builder *b;
    if (sx_builder_new(&r->opts, &b) != SX_OK)
        return sx_error_set(err, SX_ERR_NOMEM, "out of memory while reading");
    sx_builder_expect(b, r->size);
    if (range_init(&r->main, b, 0, 0) != SX_OK) {
        r->main.b = b;
        return sx_error_set(err, SX_ERR_NOMEM, "out of memory while reading");
    }
    return SX_OK;
}
#endif

/* Open path; a large regular file is read in parts when split is set. */
static sx_status
open_reader(const char *path, const sx_parse_options *opts, int split, sx_reader **out,
            int *os_error)
{
    *out = NULL;
    *os_error = 0;
    sx_reader *r = calloc(1, sizeof *r);
    if (!r)
        return SX_ERR_NOMEM;
    if (opts)
        r->opts = *opts;
    r->opts.consumed = NULL; /* offsets of one whole buffer: none here */
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        *os_error = errno;
        free(r);
        return *os_error == ENOMEM ? SX_ERR_NOMEM : SX_ERR_IO; /* MemoryError, not OSError */
    }
    struct stat sb;
    if (fstat(r->fd, &sb) < 0 || S_ISDIR(sb.st_mode)) {
        *os_error = S_ISDIR(sb.st_mode) ? EISDIR : errno;
        close(r->fd);
        free(r);
        return SX_ERR_IO;
    }
    r->regular = S_ISREG(sb.st_mode);
    r->size = r->regular && sb.st_size > 0 ? (uint64_t)sb.st_size : 0;
    sx_builder *b;
    if (sx_builder_new(&r->opts, &b) != SX_OK) {
        sx_reader_free(r);
        return SX_ERR_NOMEM;
    }
    sx_builder_expect(b, r->size);
    if (range_init(&r->main, b, 0, 0) != SX_OK) {
        r->main.b = b;
        sx_reader_free(r);
        return SX_ERR_NOMEM;
    }
#ifdef SX_THREADS
    int want = split && r->regular ? sxp_part_count(r->size, r->opts.threads) : 1;
    if (want > 1 && plan_parts(r, want)) {
        r->main.to = r->parts[0].from;
        sx_builder_expect(b, r->main.to);
        sxp_builder_count_lines(b);
    }
#else
    (void)split;
#endif
    (void)posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    *out = r;
    return SX_OK;
}

sx_status
sx_reader_open(const char *path, const sx_parse_options *opts, sx_reader **out, int *os_error)
{
    return open_reader(path, opts, 1, out, os_error);
}

sx_status
sxp_reader_open_serial(const char *path, const sx_parse_options *opts, uint64_t expect,
                       size_t read_size, sx_reader **out, int *os_error)
{
    sx_status st = open_reader(path, opts, 0, out, os_error);
    if (st != SX_OK)
        return st;
    /* a chunk larger than the file reserves no more than the file needs */
    if ((*out)->regular && (*out)->size < expect)
        expect = (*out)->size;
    sx_builder_expect((*out)->main.b, expect);
    /* reads no larger than a chunk, so a take comes after each chunk */
    if (read_size > 0 && read_size < (*out)->main.cap)
        (*out)->main.cap = read_size;
    return SX_OK;
}

/* Whether fd (not a regular file) has something to read, or an error or
 * end to report, within one wait: with a cancel flag, a pipe whose writer
 * stays open and silent is waited on a while at a time, so the flag is seen
 * even where no signal interrupts the read (another thread's). */
static int
readable(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    int n = poll(&p, 1, (int)(WAIT_NS / 1000000L));
    return n > 0 || (n < 0 && errno != EINTR);
}

sx_status
sx_reader_step(sx_reader *r, int *done, sx_error *err, int *os_error)
{
    sx_error local;
    /* cppcheck-suppress uninitvar ; only its address is taken here */
    sx_error *e = err ? err : &local;
    *done = 0;
    *os_error = 0;
    sx_status st = SX_OK;
    if (r->opts.cancel && sx_refcount_get(r->opts.cancel))
        return sx_error_set(e, SX_ERR_CANCELLED, "cancelled");
#ifdef SX_THREADS
    if (r->nparts && r->main.fed) {
        if (!r->parts[0].started)
            return restart(r, e); /* the header never ended in the first part */
        for (int i = 0; i < r->nparts; i++)
            if (!sx_refcount_get(&r->parts[i].finished)) {
                struct timespec wait = {0, WAIT_NS};
                nanosleep(&wait, NULL);
                return SX_OK;
            }
        for (int i = 0; i < r->nparts; i++) {
            pthread_join(r->parts[i].thread, NULL);
            r->parts[i].started = 0;
        }
        if (merge_parts(r)) {
            parts_end(r);
            *done = 1;
            return SX_OK;
        }
        return restart(r, e);
    }
#endif
    if (r->main.fed) {
        *done = 1;
        return SX_OK;
    }
    if (!r->regular && r->opts.cancel && !readable(r->fd))
        return SX_OK; /* the caller steps again, or cancels */
    st = range_step(&r->main, r->fd, r->regular, r->size, e, os_error);
#ifdef SX_THREADS
    if (r->nparts) {
        if (st != SX_OK && st != SX_ERR_IO && st != SX_ERR_NOMEM)
            return restart(r, e); /* the one pass says where, exactly */
        if (st == SX_OK && !r->parts[0].started && !r->main.fed && sxp_builder_in_rows(r->main.b))
            parts_start(r);
    }
#endif
    if (st == SX_OK && r->main.fed
#ifdef SX_THREADS
        && !r->nparts
#endif
    )
        *done = 1;
    return st;
}

sx_status
sx_reader_finish(sx_reader *r, sx_table **out, sx_error *err)
{
    return sx_builder_finish(r->main.b, out, err);
}

sx_builder *
sxp_reader_builder(sx_reader *r)
{
    return r->main.b;
}

sx_builder *
sxp_reader_detach(sx_reader *r)
{
    sx_builder *b = r->main.b;
    r->main.b = NULL;
    return b;
}

void
sx_reader_free(sx_reader *r)
{
    if (!r)
        return;
#ifdef SX_THREADS
    parts_end(r);
#endif
    range_free(&r->main);
    if (r->fd >= 0)
        close(r->fd);
    free(r);
}

size_t
sx_file_peek(const char *path, char *buf, size_t cap)
{
    struct stat sb;
    ssize_t got = 0;
    /* stat first: opening a FIFO would wait for a writer, and closing it
     * would break the pipe of one that is there */
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    /* (the path may name another file by now) */
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode))
        got = pread(fd, buf, cap, 0);
    close(fd);
    return got > 0 ? (size_t)got : 0;
}

#endif /* _WIN32 */
