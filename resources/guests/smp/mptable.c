/* Reading the MP table (Intel MultiProcessor Specification 1.4, chapter 4). Every structure is
 * checked before it is believed: signature, length and checksum. */
#include "mptable.h"

#include "io.h"
#include "pc.h"

#include <stddef.h>
#include <stdint.h>

/* 4.1, table 4-1: the MP floating pointer structure, 16 bytes. */
struct __attribute__((packed)) mp_floating_pointer {
    char signature[4];       /* "_MP_" */
    uint32_t config_table;   /* physical address of the configuration table, or 0 */
    uint8_t length;          /* in 16-byte paragraphs: 1 */
    uint8_t spec_rev;        /* 1 = version 1.1, 4 = version 1.4 */
    uint8_t checksum;        /* all bytes sum to 0 */
    uint8_t features[5];     /* features[0] = MP feature byte 1: default configuration type */
};

/* 4.2, table 4-2: the configuration table header, 44 bytes; entries follow it. */
struct __attribute__((packed)) mp_config_header {
    char signature[4];       /* "PCMP" */
    uint16_t base_table_length; /* header + entries, bytes */
    uint8_t spec_rev;
    uint8_t checksum;        /* the base table's bytes sum to 0 */
    char oem_id[8];
    char product_id[12];
    uint32_t oem_table;
    uint16_t oem_table_size;
    uint16_t entry_count;
    uint32_t lapic_address;
    uint16_t extended_table_length;
    uint8_t extended_table_checksum;
    uint8_t reserved;
};

/* 4.3.1, table 4-4: a processor entry, 20 bytes. */
struct __attribute__((packed)) mp_processor_entry {
    uint8_t entry_type;      /* MP_ENTRY_PROCESSOR */
    uint8_t lapic_id;
    uint8_t lapic_version;
    uint8_t cpu_flags;       /* MP_CPU_ENABLED, MP_CPU_BOOTSTRAP */
    uint32_t cpu_signature;
    uint32_t feature_flags;
    uint32_t reserved[2];
};

#define MP_FLOATING_SIGNATURE "_MP_"
#define MP_CONFIG_SIGNATURE "PCMP"
#define MP_PARAGRAPH 16
/* 4.3, table 4-3: entry types and their lengths. */
#define MP_ENTRY_PROCESSOR 0
#define MP_PROCESSOR_ENTRY_LENGTH 20
#define MP_OTHER_ENTRY_LENGTH 8 /* bus, I/O APIC, I/O and local interrupt assignment */
#define MP_ENTRY_LAST_KNOWN 4
#define MP_CPU_ENABLED 0x01
#define MP_CPU_BOOTSTRAP 0x02
/* 5.1: every default configuration has two processors, local APIC ids 0 and 1. */
#define MP_DEFAULT_CONFIG_CPUS 2

/* BIOS data area words (present only when a BIOS ran; zero here otherwise). */
#define BDA_EBDA_SEGMENT 0x40E
#define BDA_BASE_MEMORY_KIB 0x413
#define BIOS_ROM_START 0xF0000
#define BIOS_ROM_END 0x100000
#define KIB 1024

static int checksum_ok(const uint8_t* bytes, size_t length) {
    uint8_t sum = 0;
    for (size_t i = 0; i < length; ++i)
        sum = (uint8_t)(sum + bytes[i]);
    return sum == 0;
}

static int same_signature(const char* a, const char* b) {
    return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

/* Scans [start, end) on 16-byte boundaries. */
static const struct mp_floating_pointer* scan(uint32_t start, uint32_t end) {
    for (uint32_t address = start; address + sizeof(struct mp_floating_pointer) <= end;
         address += MP_PARAGRAPH) {
        const struct mp_floating_pointer* candidate =
            (const struct mp_floating_pointer*)(uintptr_t)address;
        if (same_signature(candidate->signature, MP_FLOATING_SIGNATURE) && candidate->length == 1 &&
            checksum_ok((const uint8_t*)candidate, MP_PARAGRAPH))
            return candidate;
    }
    return NULL;
}

static const struct mp_floating_pointer* find_floating_pointer(uint32_t base_memory_kib) {
    const struct mp_floating_pointer* found = NULL;
    const uint32_t ebda = (uint32_t)*(volatile uint16_t*)physical_pointer(BDA_EBDA_SEGMENT) << 4;
    if (ebda) {
        found = scan(ebda, ebda + KIB);
    } else {
        const uint16_t bda_kib = *(volatile uint16_t*)physical_pointer(BDA_BASE_MEMORY_KIB);
        const uint32_t top = (bda_kib ? bda_kib : base_memory_kib) * KIB;
        if (top >= KIB)
            found = scan(top - KIB, top);
    }
    return found ? found : scan(BIOS_ROM_START, BIOS_ROM_END);
}

static void add_processor(struct mp_processors* out, uint8_t apic_id, int bootstrap) {
    if (out->count == MAX_CPUS) {
        ++out->skipped;
        return;
    }
    if (bootstrap)
        out->bsp_index = (int)out->count;
    out->apic_ids[out->count++] = apic_id;
}

static int read_config_table(const struct mp_config_header* header, struct mp_processors* out) {
    if (!same_signature(header->signature, MP_CONFIG_SIGNATURE) ||
        header->base_table_length < sizeof *header ||
        !checksum_ok((const uint8_t*)header, header->base_table_length))
        return 0;
    out->lapic_address = header->lapic_address;
    const uint8_t* entry = (const uint8_t*)(header + 1);
    const uint8_t* end = (const uint8_t*)header + header->base_table_length;
    for (unsigned i = 0; i < header->entry_count && entry < end; ++i) {
        if (*entry == MP_ENTRY_PROCESSOR) {
            if (entry + MP_PROCESSOR_ENTRY_LENGTH > end)
                return 0;
            const struct mp_processor_entry* cpu = (const struct mp_processor_entry*)entry;
            if (cpu->cpu_flags & MP_CPU_ENABLED)
                add_processor(out, cpu->lapic_id, cpu->cpu_flags & MP_CPU_BOOTSTRAP);
            entry += MP_PROCESSOR_ENTRY_LENGTH;
        } else if (*entry <= MP_ENTRY_LAST_KNOWN) {
            if (entry + MP_OTHER_ENTRY_LENGTH > end)
                return 0;
            entry += MP_OTHER_ENTRY_LENGTH;
        } else {
            return 0; /* an unknown entry type: its length is unknown too */
        }
    }
    return 1;
}

int mp_find_processors(uint32_t base_memory_kib, struct mp_processors* out) {
    out->count = 0;
    out->skipped = 0;
    out->bsp_index = -1;
    out->config_table = 0;
    const struct mp_floating_pointer* pointer = find_floating_pointer(base_memory_kib);
    if (!pointer)
        return 0;
    out->floating_pointer = (uint32_t)(uintptr_t)pointer;
    out->default_config = pointer->features[0];
    if (out->default_config) {
        /* 5.1: a default configuration; the table is implied. */
        out->lapic_address = LAPIC_DEFAULT_BASE;
        for (uint8_t id = 0; id < MP_DEFAULT_CONFIG_CPUS; ++id)
            add_processor(out, id, id == 0);
        return 1;
    }
    if (!pointer->config_table)
        return 0;
    out->config_table = pointer->config_table;
    return read_config_table((const struct mp_config_header*)(uintptr_t)pointer->config_table,
                             out);
}
