/*
 * platform.h -- private to the core: what the machine offers, decided once
 * for every file that uses it (SIMD, threads) and the bit helper the SIMD
 * scans share.  Everything here is static inline.
 */
#ifndef SHANXI_CORE_PLATFORM_H
#define SHANXI_CORE_PLATFORM_H

#include <stdint.h>

/* SSE2 scans and filters; SX_NO_SIMD builds the portable loops only (to
 * test them on x86: tests/c runs both builds). */
#if !defined(SX_NO_SIMD) && \
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
static inline unsigned sx_lowest_bit(uint64_t bits)
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

#endif
