/* The parser fed in chunks (sx_builder_feed) against one buffer
 * (sx_table_parse): every document of the tests (tests/malformed, the fuzz
 * corpus, the shipped data, and the tricky cases below) fed in chunks of
 * 1, 2, 3, 7, 64, 1000 bytes must give the same table, or the same error at
 * the same line and column with the same message; so must the document
 * read from a file by sx_reader (chunk size 0 in a message), and the
 * document parsed and read with at most 2, 3, 4 and 7 threads (in the
 * _threads variant, where inputs from 64 bytes are split in parts of 32 bytes
 * or more, that many parts: splits in quoted fields, errors in every part,
 * projects whose key comes in a later part).  A record far
 * longer than a chunk is fed in linear time, not scanned again from its
 * start with every chunk.  Also sx_file_peek, the look at a file's first
 * bytes. */
#include "../fuzz/fuzz_common.h"
#include "check.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HEADER "project,metric,value,unit,as_of\n"

static const size_t chunk_sizes[] = {1, 2, 3, 5, 7, 64, 1000, 1 << 20};

/* Feed doc[0..len) as a reader would: the unconsumed rest and the next
 * `step` bytes, until the end. */
static sx_status
parse_in_chunks(const char *doc, size_t len, size_t step, sx_table **out, sx_error *err)
{
    sx_builder *b;
    *out = NULL;
    sx_status st = sx_builder_new(NULL, &b);
    if (st != SX_OK)
        return st;
    size_t done = 0, have = 0;
    for (;;) {
        have = have + step < len ? have + step : len;
        int final = have == len;
        size_t used;
        /* a copy of exactly the bytes presented, so ASan sees any read past them */
        size_t n = have - done;
        char *chunk = malloc(n ? n : 1);
        memcpy(chunk, doc + done, n);
        st = sx_builder_feed(b, chunk, n, final, &used, err);
        free(chunk);
        if (st != SX_OK)
            break;
        CHECK(used <= n);
        CHECK(!final || used == n);
        done += used;
        if (final) {
            st = sx_builder_finish(b, out, err);
            break;
        }
    }
    sx_builder_free(b);
    return st;
}

static int documents;

/* The document written to a file and read back through sx_reader with at
 * most `threads` threads (built with a tiny SX_READ_CHUNK and
 * SX_PARSE_PARALLEL_BYTES in the _threads variant, so the split in parts,
 * merge and fallback run too). */
static sx_status
parse_file(const char *doc, size_t len, int threads, sx_table **out, sx_error *err)
{
    sx_parse_options opts = {NULL, NULL, NULL, threads};
    char path[] = "/tmp/sx_chunks_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(write(fd, doc, len) == (ssize_t)len);
    close(fd);
    sx_reader *r;
    int os_error, done = 0;
    sx_status st = sx_reader_open(path, &opts, &r, &os_error);
    unlink(path);
    CHECK(st == SX_OK);
    if (st != SX_OK)
        return st;
    while (!done && (st = sx_reader_step(r, &done, err, &os_error)) == SX_OK)
        ;
    if (st == SX_OK)
        st = sx_reader_finish(r, out, err);
    sx_reader_free(r);
    return st;
}

/* The thread caps tried, on a buffer and on a file. */
static const int thread_caps[] = {0, 2, 3, 4, 7};
#define NCHUNKS (sizeof chunk_sizes / sizeof *chunk_sizes)
#define NCAPS   (sizeof thread_caps / sizeof *thread_caps)

static void
check_document(const char *name, const char *doc, size_t len)
{
    sx_table *whole = NULL;
    sx_error ew;
    sx_parse_options one = {NULL, NULL, NULL, 1}; /* in one piece: what the others must give */
    sx_status sw = sx_table_parse_with(doc, len, &one, &whole, &ew);
    documents++;
    for (size_t i = 0; i < NCHUNKS + 2 * NCAPS; i++) {
        sx_table *t = NULL;
        sx_error e;
        memset(&e, 0, sizeof e);
        int from_file = i >= NCHUNKS && i < NCHUNKS + NCAPS;
        int threads = i < NCHUNKS ? 1 : thread_caps[(i - NCHUNKS) % NCAPS];
        sx_parse_options opts = {NULL, NULL, NULL, threads};
        sx_status st = i < NCHUNKS ? parse_in_chunks(doc, len, chunk_sizes[i], &t, &e)
                       : from_file ? parse_file(doc, len, threads, &t, &e)
                                   : sx_table_parse_with(doc, len, &opts, &t, &e);
        int same = st == sw;
        if (same && st == SX_OK) {
            fz_check_same_table(whole, t);
            for (int c = 0; c < SX_NSTRCOLS; c++)
                same &= whole->null_count[c] == t->null_count[c];
            same &= whole->period_start_nulls == t->period_start_nulls;
        } else if (same) {
            same = e.line == ew.line && e.column == ew.column && strcmp(e.message, ew.message) == 0;
        }
        if (!same)
            fprintf(stderr,
                    "%s in chunks of %zu (%s, threads %d): status %d at %llu:%llu \"%s\"; one "
                    "buffer: %d at %llu:%llu \"%s\"\n",
                    name, i < NCHUNKS ? chunk_sizes[i] : 0,
                    i < NCHUNKS ? "fed"
                    : from_file ? "file"
                                : "buffer",
                    threads, (int)st, (unsigned long long)e.line, (unsigned long long)e.column,
                    e.message, (int)sw, (unsigned long long)ew.line, (unsigned long long)ew.column,
                    ew.message);
        CHECK(same);
        sx_table_decref(t);
    }
    sx_table_decref(whole);
}

static void
check_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    char *data = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            data = realloc(data, cap);
        }
        size_t got = fread(data + len, 1, cap - len, f);
        if (got == 0)
            break;
        len += got;
    }
    fclose(f);
    check_document(path, data, len);
    free(data);
}

static void
check_dir(const char *dir)
{
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    if (!d)
        return;
    struct dirent *ent;
    int stride = CHECK_STRIDE(), seen = 0;
    while ((ent = readdir(d)) != NULL) {
        if (ent->d_name[0] == '.' || seen++ % stride != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        check_file(path);
    }
    closedir(d);
}

static const char *const cases[] = {
    "",
    "\n\n\n",
    "\n" HEADER,
    "\xEF\xBB\xBF",
    "\xEF\xBB\xBF" HEADER "1,m,1,u,2022-01-01\n",
    "\xEF\xBB",
    HEADER,
    HEADER "\n\n",
    HEADER "\n\n1,m,1,u,2022-01-01\n",
    HEADER "1,m,1,u,2022-01-01\n\n\r\n\n",
    HEADER "1,m,1,u,2022-01-01\n\n\r\n\n2,m,1,u,2022-01-01",
    HEADER "1,m,1,u,2022-01-01\r\n2,m,1,u,2022-01-01\r\n",
    HEADER "1,m,1,u,2022-01-01\r2,m,1,u,2022-01-01\r\r",
    HEADER "1,m,1,u,2022-01-01\r\r2,m,1,u,2022-01-01\r",
    "project,metric,value,unit,as_of\r\n1,\"m\r\nx\",1,u,2022-01-01\r\n1,\"m\nx\",2,u,x\r\n",
    "project,\"met\nric\",value,unit,as_of\n1,m,1,u,2022-01-01\n",
    "project,\"metric\",value,unit,as_of,\"label\"\n1,m,1,u,2022-01-01,\"a\"\"b\n\nc\"\n",
    HEADER "1,m,1,u,2022-01-01\n2,\"open quote,1,u,2022-01-01\n3,m,1,u,2022-01-01\n",
    HEADER "1,m,1,u,2022-01-01,\"x\ny\",z\n",
    HEADER "1,m,1,u,2022-01-01,\"x\ny\n",
    HEADER "1,m,1,u\n",
    HEADER "1,m,1,u,2022-01-01\n1,m,\xff,u,2022-01-01\n",
    HEADER "1,m,1,u,2022-01-01\n1,\"m\xe4\xb8\",1,u,2022-01-01\n",
    HEADER "1,\xe5\xa4\xaa\xe5\x8e\x9f,1,\xe4\xb8\x87,2022-01-01\n",
    "\xff" HEADER,
    "project,metric,value,unit,as_of,category,project_key,project_title,part_of\n"
    "1,a,1,u,2022-01-01,c1,k1,t1,\n"
    "2,b,1,u,2022-01-01,c2,k2,t2,a\n"
    "1,a,1,u,2022-01-01,c1,k1,t1,\n"
    "3,c,1,u,2022-01-01,c3,k1,t3,\n",
    "project,metric,value,unit,as_of,category,project_key,project_title,part_of\n"
    "1,a,1,u,2022-01-01,c1,k1,t1,\n"
    "2,b,1,u,2022-01-01,c2,k2,t2,nope\n"
    "2,b,1,u,2022-01-01,c2,k2,t2,\n",
    "project,metric,value,unit,as_of,category,project_key,project_title\n"
    "1,a,1,u,2022-01-01,c1,k1,t1\n"
    "2,b,1,u,2022-01-01,c2,k2,t2\n"
    "\n"
    "1,a,1,u,2022-01-01,c9,k1,t1\n",
    "project,metric,value,unit,as_of,category,project_key,project_title\n"
    "1,a,1,u,2022-01-01,c1,k1,t1\n"
    "2,b,1,u,2022-01-01,c2,k2,t2\n"
    "1,a,1,u,2022-01-01,c9,k1,t1\n",
    "project_title,category,project,metric,value,unit,as_of,period_start,region\n"
    "t,,1,a,1,u,2022-01-01,,\n"
    "t,c,1,a,1,u,2022-01-01,2022-01-01,r\n"
    ",,2,a,1,u,2022-01-01,,\n",
};

/* Documents of 40 rows whose splits fall everywhere: quoted fields with
 * line breaks and commas, project 3's key first given in row 30 and a
 * part_of in row 0 naming the metric of row 38 (a later part), and one flaw
 * moved through every row: a bad value, a project key that disagrees, one
 * that another project holds, a quote left open, a part_of that names no
 * metric, empty lines; and runs of 1 to 40 empty lines after row 19, so that
 * splits fall in and around them. */
static void
check_parts(void)
{
    enum { ROWS = 40, FLAWS = 8 };
    int stride = CHECK_STRIDE();
    /* with a stride, each flaw at every stride-th row, from a row of its own */
    for (int flaw = 0; flaw < FLAWS; flaw++)
        for (int at = flaw == 0 ? 0 : flaw % stride; at < (flaw == 0 ? 1 : ROWS); at += stride) {
            char doc[8192];
            size_t o = (size_t)sprintf(doc, "project,metric,value,unit,as_of,project_key,"
                                            "project_title,part_of\n");
            for (int r = 0; r < ROWS; r++) {
                int project = 1 + r % 4;
                const char *key = project == 3 ? (r >= 30 ? "k3" : "") : project == 1 ? "k1" : "";
                const char *value = "1.5";
                if (r == at && flaw == 1)
                    value = "x";
                if (r == at && flaw == 2 && project == 1)
                    key = "other";
                if (r == at && flaw == 3 && project != 3)
                    key = "k3";
                /* every title the same text, quoted, with a comma and quotes */
                const char *title = r == at && flaw == 4 ? "\"open" : "\"t, \"\"q\"\"\"";
                const char *part_of = r == at && flaw == 5 ? "nosuch" : r == 0 ? "m38" : "";
                if (r % 3 == 0)
                    o += (size_t)sprintf(doc + o,
                                         "%d,\"m%d\nnext, line\",%s,u,2022-01-01,%s,%s,%s\n",
                                         project, r, value, key, title, part_of);
                else
                    o += (size_t)sprintf(doc + o, "%d,m%d,%s,u,2022-01-01,%s,%s,%s\n", project, r,
                                         value, key, title, part_of);
                if (r == at && flaw == 6)
                    o += (size_t)sprintf(doc + o, "\n\r\n");
                for (int i = 0; flaw == 7 && r == ROWS / 2 - 1 && i <= at; i++)
                    doc[o++] = '\n';
            }
            char name[48];
            snprintf(name, sizeof name, "parts: flaw %d in row %d", flaw, at);
            check_document(name, doc, o);
        }
}

/* A regular file's first bytes, up to cap; nothing of what is not one or
 * is not there. */
static void
check_peek(void)
{
    char path[] = "/tmp/sx_peek_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(write(fd, HEADER, strlen(HEADER)) == (ssize_t)strlen(HEADER));
    close(fd);
    char buf[8];
    CHECK(sx_file_peek(path, buf, sizeof buf) == sizeof buf);
    CHECK(memcmp(buf, HEADER, sizeof buf) == 0);
    char all[64];
    CHECK(sx_file_peek(path, all, sizeof all) == strlen(HEADER));
    CHECK(memcmp(all, HEADER, strlen(HEADER)) == 0);
    unlink(path);
    CHECK(sx_file_peek(path, buf, sizeof buf) == 0);
    CHECK(sx_file_peek("/tmp", buf, sizeof buf) == 0);
    /* a FIFO is not opened (that would wait for a writer) */
    char fifo[] = "/tmp/sx_peek_fifo_XXXXXX";
    fd = mkstemp(fifo);
    CHECK(fd >= 0);
    close(fd);
    unlink(fifo);
    CHECK(mkfifo(fifo, 0600) == 0);
    CHECK(sx_file_peek(fifo, buf, sizeof buf) == 0);
    unlink(fifo);
}

/* CPU seconds to feed doc[0..len) as a pipe gives it, step bytes a read
 * (no copies: only the builder's own work counts), and its status. */
static double
feed_time(const char *doc, size_t len, size_t step, sx_error *err, sx_status *st)
{
    clock_t start = clock();
    sx_builder *b;
    sx_table *t = NULL;
    *st = sx_builder_new(NULL, &b);
    if (*st != SX_OK)
        return 0;
    size_t done = 0, have = 0, used;
    do {
        have = have + step < len ? have + step : len;
        *st = sx_builder_feed(b, doc + done, have - done, have == len, &used, err);
        done += used;
    } while (*st == SX_OK && have < len);
    if (*st == SX_OK)
        *st = sx_builder_finish(b, &t, err);
    sx_table_decref(t);
    sx_builder_free(b);
    return (double)(clock() - start) / CLOCKS_PER_SEC;
}

/* A quoted field of 16 MiB (a line break near its start), then a bad row:
 * fed 64 KiB at a time it was scanned again from its start 256 times (2
 * GiB of scanning); now it takes a small multiple of one buffer's time and
 * fails at the same line and column. */
static void
long_record(void)
{
    size_t size = (size_t)16 << 20;
    const char head[] = HEADER "1,\"", tail[] = "\",1,u,2022-01-01\n1,m,oops,u,2022-01-01\n";
    size_t len = sizeof head - 1 + size + sizeof tail - 1;
    char *doc = malloc(len);
    CHECK(doc != NULL);
    if (!doc)
        return;
    memcpy(doc, head, sizeof head - 1);
    memset(doc + sizeof head - 1, 'x', size);
    doc[sizeof head - 1 + 1000] = '\n';
    memcpy(doc + sizeof head - 1 + size, tail, sizeof tail - 1);
    sx_error ew, e;
    sx_status sw, st;
    double whole = feed_time(doc, len, len, &ew, &sw);
    double chunked = feed_time(doc, len, (size_t)64 << 10, &e, &st);
    printf("a record of 16 MiB: %.3f s in one buffer, %.3f s fed 64 KiB at a time\n", whole,
           chunked);
    CHECK(sw == SX_ERR_PARSE && st == sw && e.line == 4 && e.line == ew.line &&
          e.column == ew.column && strcmp(e.message, ew.message) == 0);
    CHECK(chunked < 10 * whole + 0.2);
    free(doc);
}

int
main(void)
{
    check_peek();
    long_record();
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char name[32];
        snprintf(name, sizeof name, "case %zu", i);
        check_document(name, cases[i], strlen(cases[i]));
    }
    /* with NUL bytes */
    static const char nuls[10] = {0}, nul_header[] = "pro\0ject,metric\n1,m",
                      nul_late[] = "pro\xff\0ject,metric\n";
    check_document("NULs", nuls, sizeof nuls);
    check_document("NUL header", nul_header, sizeof nul_header - 1);
    check_document("NUL after bad byte", nul_late, sizeof nul_late - 1);
    static const char nul_row[] = HEADER "1,m\0x,1,u,2022-01-01\n";
    check_document("NUL in a row", nul_row, sizeof nul_row - 1);
    check_parts();
    check_dir("../malformed");
    check_dir("../fuzz/corpus/parse");
    check_file("../../data/shanxi_2022.csv");
    printf("%d documents\n", documents);
    return CHECK_DONE();
}
