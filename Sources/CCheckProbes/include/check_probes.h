#ifndef SLUICE_CHECK_PROBES_H
#define SLUICE_CHECK_PROBES_H
#include <stddef.h>

/* What `sluice plugins check` asks of glibc and the kernel that Swift cannot reach directly
 * (process_vm_readv needs _GNU_SOURCE; mallinfo2 is not in Swift's Glibc module). */

/** 1 when `count` bytes from `pointer` can be read, 0 when any of them cannot (no fault). */
int sluice_check_readable(const void* pointer, size_t count);

/** Bytes of heap in use: allocated chunks plus mmapped blocks. */
size_t sluice_check_heap_in_use(void);

/** One malloc arena for every thread, so `sluice_check_heap_in_use` counts them all. */
void sluice_check_use_single_arena(void);

#endif
