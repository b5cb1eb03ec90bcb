/* PCI configuration access for the hostile guests, by both mechanisms kvmscope offers on bus 0:
 * configuration mechanism #1 (CONFIG_ADDRESS 0xCF8, CONFIG_DATA 0xCFC-0xCFF; PCI Local Bus 3.0,
 * 3.2.2.3.2) and the memory-mapped ECAM window (PCI Express Base 4.0, 7.2.2), whose base the
 * MCFG table names (docs/devices.md, "PCI"). Paging is off, so the window is reached at its
 * physical address. */
#ifndef KVMSCOPE_GUEST_HOSTILE_PCI_H
#define KVMSCOPE_GUEST_HOSTILE_PCI_H

#include "hostile.h"
#include "io.h"

#include <stdint.h>

#define PCI_CONFIG_ADDRESS 0xCF8
#define PCI_CONFIG_DATA 0xCFC
#define PCI_CONFIG_ENABLE 0x80000000u
#define PCI_ECAM_BASE 0xF0000000u /* kvmscope's MCFG base (core/machine/PcPlatform.h) */
#define PCI_DEVICES 32
#define PCI_FUNCTIONS 8
#define PCI_CONFIG_BYTES 256
#define PCI_ECAM_FUNCTION_BYTES 4096

/* Header registers (PCI 3.0, 6.1). */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_CLASS_REVISION 0x08
#define PCI_HEADER_TYPE 0x0E
#define PCI_BAR0 0x10
#define PCI_CAPABILITY_LIST 0x34
#define PCI_COMMAND_IO 0x1
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4
#define PCI_STATUS_CAP_LIST 0x10

static inline uint32_t pci_address(unsigned device, unsigned function, unsigned offset) {
    return PCI_CONFIG_ENABLE | (device << 11) | (function << 8) | (offset & 0xFC);
}

static inline uint32_t pci_read32(unsigned device, unsigned function, unsigned offset) {
    hostile_outl(PCI_CONFIG_ADDRESS, pci_address(device, function, offset));
    return hostile_inl(PCI_CONFIG_DATA);
}

static inline uint16_t pci_read16(unsigned device, unsigned function, unsigned offset) {
    hostile_outl(PCI_CONFIG_ADDRESS, pci_address(device, function, offset));
    return hostile_inw((uint16_t)(PCI_CONFIG_DATA + (offset & 2)));
}

static inline uint8_t pci_read8(unsigned device, unsigned function, unsigned offset) {
    hostile_outl(PCI_CONFIG_ADDRESS, pci_address(device, function, offset));
    return inb((uint16_t)(PCI_CONFIG_DATA + (offset & 3)));
}

static inline void pci_write32(unsigned device, unsigned function, unsigned offset,
                               uint32_t value) {
    hostile_outl(PCI_CONFIG_ADDRESS, pci_address(device, function, offset));
    hostile_outl(PCI_CONFIG_DATA, value);
}

static inline void pci_write16(unsigned device, unsigned function, unsigned offset,
                               uint16_t value) {
    hostile_outl(PCI_CONFIG_ADDRESS, pci_address(device, function, offset));
    outw((uint16_t)(PCI_CONFIG_DATA + (offset & 2)), value);
}

static inline void pci_write8(unsigned device, unsigned function, unsigned offset, uint8_t value) {
    hostile_outl(PCI_CONFIG_ADDRESS, pci_address(device, function, offset));
    outb((uint16_t)(PCI_CONFIG_DATA + (offset & 3)), value);
}

static inline uintptr_t pci_ecam(unsigned device, unsigned function, unsigned offset) {
    return PCI_ECAM_BASE + ((uintptr_t)device << 15) + ((uintptr_t)function << 12) + offset;
}

/* The first function whose vendor and device ID match, as (device << 3) | function; -1 if none. */
static inline int pci_find(uint16_t vendor, uint16_t device_id) {
    for (unsigned device = 0; device < PCI_DEVICES; ++device)
        for (unsigned function = 0; function < PCI_FUNCTIONS; ++function)
            if (pci_read32(device, function, PCI_VENDOR_ID) == ((uint32_t)device_id << 16 | vendor))
                return (int)(device << 3 | function);
    return -1;
}

#endif
