// SPDX-License-Identifier: MIT
/*
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of WAL
 * records and the catalog (FORMAT.md).  Software path: slicing-by-8 over
 * eight 256-entry tables built once (pthread_once) and constant afterwards.
 * On x86-64 with SSE4.2 the crc32 instruction is used instead; both paths
 * give identical results (tests check the known vectors on the path taken
 * and the software path directly).
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "tsdb/tsdb_int.h"

#define POLY 0x82F63B78u

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_build(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (POLY & (0u - (c & 1)));
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int s = 1; s < 8; s++)
            table[s][i] = (table[s - 1][i] >> 8) ^ table[0][table[s - 1][i] & 0xff];
}

/* Exposed to tests through the .c include; not part of the module API. */
uint32_t tsdb__crc32c_sw(uint32_t crc, const void *data, size_t n);

uint32_t tsdb__crc32c_sw(uint32_t crc, const void *data, size_t n)
{
    pthread_once(&table_once, table_build);
    const uint8_t *p = data;
    crc = ~crc;
    while (n && ((uintptr_t)p & 7)) {
        crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
        n--;
    }
    while (n >= 8) {
        uint32_t lo = tsdb__le32(p) ^ crc;
        uint32_t hi = tsdb__le32(p + 4);
        crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^
              table[4][lo >> 24] ^ table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
              table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--)
        crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
    return ~crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const void *data,
                                                               size_t n)
{
    const uint8_t *p = data;
    uint64_t c = ~crc;
    while (n && ((uintptr_t)p & 7)) {
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
        n--;
    }
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = __builtin_ia32_crc32di(c, w);
        p += 8;
        n -= 8;
    }
    while (n--)
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
    return ~(uint32_t)c;
}

uint32_t tsdb__crc32c(uint32_t crc, const void *data, size_t n)
{
    if (__builtin_cpu_supports("sse4.2"))
        return crc32c_hw(crc, data, n);
    return tsdb__crc32c_sw(crc, data, n);
}
#else
uint32_t tsdb__crc32c(uint32_t crc, const void *data, size_t n)
{
    return tsdb__crc32c_sw(crc, data, n);
}
#endif
