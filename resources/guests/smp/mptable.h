/* The Intel MultiProcessor Specification 1.4 tables: the MP floating pointer structure
 * (section 4.1) and the MP configuration table (section 4.2), reduced to what the smp demo needs:
 * the processors and the local APIC address. */
#ifndef KVMSCOPE_GUEST_MPTABLE_H
#define KVMSCOPE_GUEST_MPTABLE_H

#include "smp.h"

#include <stdint.h>

struct mp_processors {
    uint32_t floating_pointer; /* physical address of "_MP_" */
    uint32_t config_table;     /* physical address of "PCMP"; 0 for a default configuration */
    uint8_t default_config;    /* MP feature byte 1: nonzero = a default configuration (5.1) */
    uint32_t lapic_address;    /* where every processor's local APIC is mapped */
    unsigned count;            /* enabled processors, at most MAX_CPUS */
    unsigned skipped;          /* enabled processors beyond MAX_CPUS, not counted */
    uint8_t apic_ids[MAX_CPUS];
    int bsp_index; /* index in apic_ids of the processor marked BP, or -1 */
};

/* Searches the three places section 4 names (first KiB of the EBDA; else the last KiB of base
 * memory; the BIOS ROM area 0xF0000-0xFFFFF) for a valid floating pointer, then reads its
 * configuration table. `base_memory_kib` is used when the BIOS data area holds no base memory
 * size (no BIOS ran). Returns 0 when there is no valid MP table. */
int mp_find_processors(uint32_t base_memory_kib, struct mp_processors* out);

#endif
