/*
 * bigalloc.c -- memory for the large arrays of a load: a table's column
 * arrays and the reader's chunk buffer.  An array of a MiB or more is its
 * own mapping from the kernel (on Linux): growing it moves page mappings
 * instead of bytes (mremap), spare room past the rows is never touched, and
 * freeing it, or the part of it a merge has copied, gives the pages back at
 * once.  Through malloc instead, glibc raises its mapping threshold each
 * time a large block is freed (the parts of a split load), so the next
 * arrays land in the heap, where growing copies them and freed space stays
 * resident: a load on two threads kept a fifth more memory than on one.
 * Smaller arrays, other systems and builds under AddressSanitizer (whose
 * redzones only malloc has) use malloc.
 *
 * Every array carries a header of SX_BIG_HEADER bytes before its first byte:
 * its mapping's length (0: malloc'd) and its size, so that the data stays
 * 64-byte aligned, as Arrow asks of the buffers the export hands out.
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* mremap */
#endif
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SX_NO_BIGMAP 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define SX_NO_BIGMAP 1
#endif

#if defined(__linux__) && !defined(SX_NO_BIGMAP)
#include <sys/mman.h>
#include <unistd.h>
#define SX_BIGMAP 1
#endif

/* Arrays from this many bytes are mapped (the C tests map every one). */
#ifndef SX_BIG_MAP_MIN
#define SX_BIG_MAP_MIN ((size_t)1 << 20)
#endif
#define MAP_MIN SX_BIG_MAP_MIN

typedef struct big_header {
    size_t mapped; /* the mapping's length, header included; 0: malloc'd */
    size_t size;   /* bytes asked for */
} big_header;

#define HEADER SX_BIG_HEADER

static big_header *
header_of(void *p)
{
    return (big_header *)(void *)((char *)p - HEADER);
}

#ifdef SX_BIGMAP
static size_t
page_size(void)
{
    long n = sysconf(_SC_PAGESIZE);
    return n > 0 ? (size_t)n : 4096;
}

/* The mapping's length for size bytes of data, or 0 on overflow. */
static size_t
mapping_length(size_t size)
{
    size_t page = page_size();
    if (size > SIZE_MAX - HEADER - page)
        return 0;
    return (size + HEADER + page - 1) / page * page;
}

static void *
map_new(size_t size)
{
    size_t len = mapping_length(size);
    if (len == 0)
        return NULL;
    void *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return NULL;
    big_header *h = base;
    h->mapped = len;
    h->size = size;
    return (char *)base + HEADER;
}
#endif

void *
sx_big_alloc(size_t size)
{
#ifdef SX_BIGMAP
    if (size >= MAP_MIN)
        return map_new(size);
#endif
    if (size > SIZE_MAX - HEADER)
        return NULL;
    big_header *h = malloc(HEADER + (size ? size : 1));
    if (!h)
        return NULL;
    h->mapped = 0;
    h->size = size;
    return (char *)h + HEADER;
}

void *
sx_big_realloc(void *p, size_t size)
{
    if (!p)
        return sx_big_alloc(size);
    big_header *h = header_of(p);
#ifdef SX_BIGMAP
    if (h->mapped) {
        size_t len = mapping_length(size);
        if (len == 0)
            return NULL;
        if (len != h->mapped) {
            void *base = mremap(h, h->mapped, len, MREMAP_MAYMOVE);
            if (base == MAP_FAILED)
                return NULL;
            h = base;
            h->mapped = len;
        }
        h->size = size;
        return (char *)h + HEADER;
    }
    if (size >= MAP_MIN) { /* outgrew malloc: mapped from now on */
        char *q = map_new(size);
        if (!q)
            return NULL;
        memcpy(q, p, h->size < size ? h->size : size);
        free(h);
        return q;
    }
#endif
    if (size > SIZE_MAX - HEADER)
        return NULL;
    big_header *grown = realloc(h, HEADER + (size ? size : 1));
    if (!grown)
        return NULL;
    grown->size = size;
    return (char *)grown + HEADER;
}

void
sx_big_free(void *p)
{
    if (!p)
        return;
    big_header *h = header_of(p);
#ifdef SX_BIGMAP
    if (h->mapped) {
        munmap(h, h->mapped);
        return;
    }
#endif
    free(h);
}

void
sx_big_release(void *p, size_t from, size_t to)
{
#ifdef SX_BIGMAP
    if (!p || !header_of(p)->mapped)
        return;
    /* only the whole pages inside [from, to) of the data */
    size_t page = page_size(), start = (HEADER + from + page - 1) / page * page,
           end = (HEADER + to) / page * page;
    if (end > start)
        (void)madvise((char *)header_of(p) + start, end - start, MADV_DONTNEED);
#else
    (void)p;
    (void)from;
    (void)to;
#endif
}
