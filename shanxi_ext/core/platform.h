/*
 * platform.h -- private to the core: what the machine offers, decided once
 * for every file that uses it (SIMD, threads, atomics) and the bit helper
 * the SIMD scans share.  Everything here is static inline.
 */
#ifndef SHANXI_CORE_PLATFORM_H
#define SHANXI_CORE_PLATFORM_H

#include <stdint.h>

#include "shanxi/core.h" /* sx_refcount, SX_C11_ATOMICS */

/* SSE2 scans and filters; SX_NO_SIMD builds the portable loops only (to
 * test them on x86: tests/c runs both builds). */
#if !defined(SX_NO_SIMD) &&                                                                        \
    (defined(__SSE2__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 2))
#include <emmintrin.h>
#define SX_SSE2 1
#endif

/* Large inputs are parsed, and large tables aggregated, on two threads:
 * POSIX threads where there are any (elsewhere, and with SX_NO_THREADS, one
 * thread does it all). */
#if !defined(SX_NO_THREADS) && (defined(__unix__) || defined(__APPLE__))
#include <pthread.h>
#define SX_THREADS 1
#endif

/* The index of the lowest set bit of a non-zero mask. */
static inline unsigned
sx_lowest_bit(uint64_t bits)
{
#if defined(__GNUC__) || defined(__clang__)
    return (unsigned)__builtin_ctzll(bits);
#else
    unsigned i = 0;
    while (!(bits & 1u)) {
        bits >>= 1;
        i++;
    }
    return i;
#endif
}

/* Atomics, for the table's reference count (an Arrow stream may drop a
 * table on another thread than the one that made it) and for what the core
 * makes once per process and publishes to every thread (the C locale of
 * convert.c).  C11 <stdatomic.h> where the compiler has it; MSVC without
 * C11 atomics has its Interlocked functions, which are full barriers; GNU
 * compilers in C99 mode have the same operations as builtins. */
#if defined(SX_C11_ATOMICS)
#include <stdatomic.h>
typedef _Atomic(void *) sx_atomic_ptr;
#elif defined(_MSC_VER)
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
typedef void *volatile sx_atomic_ptr;
#elif defined(__GNUC__) || defined(__clang__)
#define SX_GNU_ATOMICS 1
typedef void *volatile sx_atomic_ptr;
#else
#error "shanxi's core needs C11 atomics, MSVC or a GNU-compatible compiler"
#endif

static inline void
sx_refcount_init(sx_refcount *c, long value)
{
#if defined(SX_C11_ATOMICS)
    atomic_init(c, value);
#else
    *c = value;
#endif
}

/* Take a reference: relaxed, as the taker already holds one. */
static inline void
sx_refcount_inc(sx_refcount *c)
{
#if defined(SX_C11_ATOMICS)
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
#elif defined(_MSC_VER)
    InterlockedIncrement(c);
#else
    __atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
#endif
}

/* Drop a reference and say how many are left: acquire-release, so the
 * thread that frees at zero sees every other owner's last use. */
static inline long
sx_refcount_dec(sx_refcount *c)
{
#if defined(SX_C11_ATOMICS)
    return atomic_fetch_sub_explicit(c, 1, memory_order_acq_rel) - 1;
#elif defined(_MSC_VER)
    return InterlockedDecrement(c);
#else
    return __atomic_sub_fetch(c, 1, __ATOMIC_ACQ_REL);
#endif
}

/* What *c holds now (an acquire load): the parser's cancel flag, which
 * another thread sets while it parses. */
static inline long
sx_refcount_get(const sx_refcount *c)
{
#if defined(SX_C11_ATOMICS)
    return atomic_load_explicit((sx_refcount *)c, memory_order_acquire);
#elif defined(_MSC_VER)
    return InterlockedCompareExchange((volatile long *)c, 0, 0);
#else
    return __atomic_load_n(c, __ATOMIC_ACQUIRE);
#endif
}

/* What *p holds (NULL until something was published): an acquire load, so
 * the object it points to is seen as its maker left it. */
static inline void *
sx_atomic_load_ptr(sx_atomic_ptr *p)
{
#if defined(SX_C11_ATOMICS)
    return atomic_load_explicit(p, memory_order_acquire);
#elif defined(_MSC_VER)
    return InterlockedCompareExchangePointer((PVOID volatile *)p, NULL, NULL);
#else
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
#endif
}

/* Take what *p holds, leaving NULL there (an atomic exchange): the Arrow
 * export's spare blocks, which any thread may take or put back. */
static inline void *
sx_take_ptr(sx_atomic_ptr *p)
{
#if defined(SX_C11_ATOMICS)
    return atomic_exchange_explicit(p, NULL, memory_order_acq_rel);
#elif defined(_MSC_VER)
    return InterlockedExchangePointer((PVOID volatile *)p, NULL);
#else
    return __atomic_exchange_n(p, NULL, __ATOMIC_ACQ_REL);
#endif
}

/* Publish mine in *p unless another thread published first: returns what
 * *p then holds, mine or the other's (the caller frees mine if it lost).
 * The one place where the core keeps what a thread made for all threads. */
static inline void *
sx_publish_ptr(sx_atomic_ptr *p, void *mine)
{
    void *expected = NULL;
#if defined(SX_C11_ATOMICS)
    if (atomic_compare_exchange_strong_explicit(p, &expected, mine, memory_order_acq_rel,
                                                memory_order_acquire))
        return mine;
#elif defined(_MSC_VER)
    expected = InterlockedCompareExchangePointer((PVOID volatile *)p, mine, NULL);
    if (expected == NULL)
        return mine;
#else
    if (__atomic_compare_exchange_n(p, &expected, mine, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return mine;
#endif
    return expected;
}

#endif
