/* A flat 32-bit GDT for the multiboot guests that load segment registers or take interrupts:
 * the Multiboot loader's GDT may be anywhere or gone (Multiboot 0.6.96, 3.2: "GDTR ... may be
 * invalid, so the OS image must not load any segment registers ... until it sets up its own"). */
#ifndef KVMSCOPE_GUEST_GDT32_H
#define KVMSCOPE_GUEST_GDT32_H

#define GDT32_CODE_SELECTOR 0x08 /* base 0, limit 4 GiB, 32-bit, ring 0, execute/read */
#define GDT32_DATA_SELECTOR 0x10 /* base 0, limit 4 GiB, read/write */
#define GDT32_LIMIT (3 * 8 - 1)  /* null, code, data */

#ifndef __ASSEMBLER__
#include <stdint.h>

extern const uint64_t gdt32[];
/* lgdt, then reload CS (far jump) and every data segment register. */
void load_gdt32(void);
#endif

#endif
