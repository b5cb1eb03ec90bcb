/* hostile-pci-config: garbage into every configuration register of every PCI function on bus 0,
 * through configuration mechanism #1 and through ECAM, with 1-, 2- and 4-byte accesses; accesses
 * to absent functions, other buses, the extended space and CONFIG_DATA at odd offsets; then BARs
 * moved onto RAM (under the guest's own code), onto each other, onto the chipset's registers and
 * onto the legacy devices' ports (docs/guests.md, "Hostile guests"). After each step the guest
 * checks that its RAM still holds what it wrote, that COM1 still prints and that the host bridge
 * still answers through both mechanisms: a BAR must never take the place of RAM or of a fixed
 * device. Ends with HOSTILE_PCI_CONFIG_DONE on the debug-exit port, or HOSTILE_CHECK_FAILED after
 * saying on COM1 which check failed.
 *
 * Run it with a virtio disk and an IDE disk (`--disk A --disk B,if=ide`) so that every kind of
 * function kvmscope has is on the bus. Interrupts stay disabled: whatever the garbage makes a
 * function raise stays pending. */
#include "../hostile-common/hostile.h"
#include "../hostile-common/pci.h"
#include "console.h"
#include "io.h"
#include "multiboot.h"

#include <stdint.h>

#define ROUNDS 2
#define CANARY_WORDS 4096 /* 16 KiB of the guest's own RAM, next to its code */
#define MAX_FUNCTIONS 32

/* The functions kvmscope puts on bus 0 (docs/devices.md, "PCI"). */
#define HOST_BRIDGE_ID 0x12378086u /* i440FX */
#define VGA_VENDOR 0x1234
#define VGA_DEVICE 0x1111
#define IDE_VENDOR 0x8086
#define IDE_DEVICE 0x7010
#define VIRTIO_VENDOR 0x1AF4
#define VIRTIO_BLOCK_DEVICE 0x1042
#define VIRTIO_COMMON_NUM_QUEUES 0x12 /* VIRTIO 1.2, 4.1.4.3 */

static uint32_t random_state = 0x70636921u; /* "pci!" */
static uint32_t canary[CANARY_WORDS];
static unsigned functions[MAX_FUNCTIONS]; /* (device << 3) | function */
static unsigned function_count;

static void fail(const char* what, uint32_t value) {
    console_puts("hostile-pci-config: FAILED: ");
    console_puts(what);
    console_puts(" ");
    console_hex32(value);
    console_puts("\n");
    debug_exit(HOSTILE_CHECK_FAILED);
}

static uint32_t canary_word(unsigned i) {
    return 0xC0DE0000u ^ (i * 0x9E3779B9u);
}

/* The three things no PCI write may take away. */
static void check_alive(const char* step) {
    for (unsigned i = 0; i < CANARY_WORDS; ++i)
        if (canary[i] != canary_word(i))
            fail("RAM no longer holds what the guest wrote, word", i);
    const uint32_t by_port = pci_read32(0, 0, PCI_VENDOR_ID);
    if (by_port != HOST_BRIDGE_ID)
        fail("host bridge ID through 0xCF8/0xCFC", by_port);
    const uint32_t by_ecam = hostile_read32(pci_ecam(0, 0, PCI_VENDOR_ID));
    if (by_ecam != HOST_BRIDGE_ID)
        fail("host bridge ID through ECAM", by_ecam);
    console_puts("hostile-pci-config: alive after ");
    console_puts(step);
    console_puts("\n");
}

static void enumerate(void) {
    for (unsigned device = 0; device < PCI_DEVICES; ++device)
        for (unsigned function = 0; function < PCI_FUNCTIONS; ++function) {
            const uint32_t id = pci_read32(device, function, PCI_VENDOR_ID);
            if ((id & 0xFFFF) == 0xFFFF || function_count == MAX_FUNCTIONS)
                continue;
            functions[function_count++] = device << 3 | function;
            console_puts("hostile-pci-config: function 00:");
            console_hex(device, 2);
            console_puts(".");
            console_dec(function);
            console_puts(" id ");
            console_hex32(id);
            console_puts(" class ");
            console_hex32(pci_read32(device, function, PCI_CLASS_REVISION));
            console_puts("\n");
        }
}

/* Every register of one function, garbage with every size through both mechanisms, each write
 * followed by a read. */
static void sweep_function(unsigned device, unsigned function) {
    for (unsigned offset = 0; offset < PCI_CONFIG_BYTES; offset += 4) {
        const uint32_t r = hostile_random(&random_state);
        pci_write32(device, function, offset, hostile_random(&random_state));
        (void)pci_read32(device, function, offset);
        pci_write16(device, function, offset + (r & 2), (uint16_t)hostile_random(&random_state));
        (void)pci_read16(device, function, offset + (r & 2));
        pci_write8(device, function, offset + ((r >> 2) & 3),
                   (uint8_t)hostile_random(&random_state));
        (void)pci_read8(device, function, offset + ((r >> 2) & 3));
        const uintptr_t ecam = pci_ecam(device, function, offset);
        hostile_write32(ecam, hostile_random(&random_state));
        (void)hostile_read32(ecam);
        hostile_write16(ecam + (r & 2), (uint16_t)hostile_random(&random_state));
        (void)hostile_read16(ecam + (r & 2));
        hostile_write8(ecam + ((r >> 4) & 3), (uint8_t)hostile_random(&random_state));
        (void)hostile_read8(ecam + ((r >> 4) & 3));
    }
    /* The extended space of a conventional function (PCIe 4.0, 7.2.2: reads 0 or all ones). */
    for (unsigned offset = PCI_CONFIG_BYTES; offset < PCI_ECAM_FUNCTION_BYTES; offset += 252) {
        hostile_write32(pci_ecam(device, function, offset & ~3u), hostile_random(&random_state));
        (void)hostile_read32(pci_ecam(device, function, offset & ~3u));
    }
}

static int present(unsigned devfn) {
    for (unsigned i = 0; i < function_count; ++i)
        if (functions[i] == devfn)
            return 1;
    return 0;
}

/* Absent functions must keep reading all ones, whatever is written to them. */
static void sweep_absent(void) {
    for (unsigned devfn = 0; devfn < PCI_DEVICES * PCI_FUNCTIONS; ++devfn) {
        if (present(devfn))
            continue;
        const unsigned device = devfn >> 3, function = devfn & 7;
        pci_write32(device, function, PCI_COMMAND, hostile_random(&random_state));
        hostile_write32(pci_ecam(device, function, PCI_BAR0), hostile_random(&random_state));
        const uint32_t id = pci_read32(device, function, PCI_VENDOR_ID);
        if (id != 0xFFFFFFFFu)
            fail("an absent function answered, devfn", devfn);
    }
}

/* CONFIG_ADDRESS with other buses, reserved bits and the enable bit clear, and CONFIG_DATA at
 * every offset with every size (an access at 0xCFD-0xCFF runs past the register's end). */
static void sweep_mechanism(void) {
    for (unsigned i = 0; i < 256; ++i) {
        uint32_t address = hostile_random(&random_state);
        if (i & 1)
            address &= ~PCI_CONFIG_ENABLE;
        hostile_outl(PCI_CONFIG_ADDRESS, address);
        const uint16_t port = (uint16_t)(PCI_CONFIG_DATA + (i & 3));
        switch ((i >> 2) & 3) {
        case 0:
            (void)hostile_inl(port);
            break;
        case 1:
            hostile_outl(port, hostile_random(&random_state));
            break;
        case 2:
            outw(port, (uint16_t)hostile_random(&random_state));
            (void)hostile_inw(port);
            break;
        default:
            outb(port, (uint8_t)hostile_random(&random_state));
            (void)inb(port);
        }
        /* Byte and word accesses to CONFIG_ADDRESS reach no register (PCI 3.0, 3.2.2.3.2). The
         * reset control register at 0xCF9 is left alone: resetting is the exit guests' test. */
        outb(PCI_CONFIG_ADDRESS, (uint8_t)address);
        outw(PCI_CONFIG_ADDRESS + 2, (uint16_t)address);
    }
    /* Addresses past the ECAM window's first bus: buses kvmscope does not have. */
    for (unsigned bus = 1; bus < 16; ++bus) {
        hostile_write32(PCI_ECAM_BASE + (bus << 20), hostile_random(&random_state));
        const uint32_t id = hostile_read32(PCI_ECAM_BASE + (bus << 20));
        if (id != 0xFFFFFFFFu)
            fail("a function answered on bus", bus);
    }
}

static void quiet_all(void) {
    for (unsigned i = 0; i < function_count; ++i)
        pci_write16(functions[i] >> 3, functions[i] & 7, PCI_COMMAND, 0);
}

static void place_bar(int devfn, unsigned bar, uint32_t low, uint32_t high, int bar64,
                      uint16_t command) {
    const unsigned device = (unsigned)devfn >> 3, function = (unsigned)devfn & 7;
    pci_write32(device, function, PCI_BAR0 + 4 * bar, low);
    if (bar64)
        pci_write32(device, function, PCI_BAR0 + 4 * bar + 4, high);
    pci_write16(device, function, PCI_COMMAND, command);
}

static void move_bars(void) {
    const int vga = pci_find(VGA_VENDOR, VGA_DEVICE);
    const int ide = pci_find(IDE_VENDOR, IDE_DEVICE);
    const int virtio = pci_find(VIRTIO_VENDOR, VIRTIO_BLOCK_DEVICE);
    if (vga < 0 || ide < 0 || virtio < 0)
        fail("a function kvmscope should have is missing (vga, ide, virtio)",
             (uint32_t)(vga < 0) | (uint32_t)(ide < 0) << 1 | (uint32_t)(virtio < 0) << 2);
    quiet_all();

    /* The framebuffer (BAR0, 16 MiB) over RAM from 0, which holds this code at 1 MiB, and over
     * RAM above it: RAM must stay RAM. */
    place_bar(vga, 0, 0x00000000u, 0, 0, PCI_COMMAND_MEMORY);
    check_alive("the framebuffer BAR over RAM at 0 (this code)");
    place_bar(vga, 0, 0x01000000u, 0, 0, PCI_COMMAND_MEMORY);
    check_alive("the framebuffer BAR over RAM at 16 MiB");

    /* The framebuffer, the VGA registers (BAR2) and the virtio BAR at one address. */
    place_bar(vga, 0, 0xE0000000u, 0, 0, PCI_COMMAND_MEMORY);
    place_bar(vga, 2, 0xE0000000u, 0, 0, PCI_COMMAND_MEMORY);
    place_bar(virtio, 4, 0xE0000004u, 0, 1, PCI_COMMAND_MEMORY);
    hostile_write32(0xE0000000u, 0x5A5A5A5Au);
    (void)hostile_read32(0xE0000000u);
    check_alive("three BARs at one address");

    /* The virtio BAR onto the LAPIC, the IOAPIC, the ECAM window, this code and above 4 GiB. */
    static const uint32_t virtio_places[] = {0xFEE00004u, 0xFEC00004u, 0xF0000004u, 0x00100004u,
                                             0xFFFFC004u};
    for (unsigned i = 0; i < sizeof virtio_places / sizeof virtio_places[0]; ++i) {
        place_bar(virtio, 4, virtio_places[i], i == 4 ? 0xFFFFFFFFu : 0, 1, PCI_COMMAND_MEMORY);
        (void)hostile_read32(virtio_places[i] & ~0xFu);
        check_alive("the virtio BAR moved onto a fixed range");
    }

    /* Moved apart again, the virtio function answers at its new place. */
    place_bar(vga, 2, 0xE1000000u, 0, 0, PCI_COMMAND_MEMORY);
    place_bar(virtio, 4, 0xE2000004u, 0, 1, PCI_COMMAND_MEMORY);
    const uint16_t queues = hostile_read16(0xE2000000u + VIRTIO_COMMON_NUM_QUEUES);
    if (queues == 0 || queues == 0xFFFF)
        fail("virtio num_queues after the BAR moved apart", queues);
    check_alive("the BARs moved apart");

    /* The IDE bus-master BAR (16 ports) over COM1, the configuration ports, the debug-exit port,
     * the primary IDE channel, the ACPI PM block, fw_cfg and the in-kernel PIC. */
    static const uint16_t ide_places[] = {0x3F0, 0xCF0, 0xF0, 0x1F0, 0x600, 0x510, 0x20};
    for (unsigned i = 0; i < sizeof ide_places / sizeof ide_places[0]; ++i) {
        place_bar(ide, 4, ide_places[i] | 1u, 0, 0, PCI_COMMAND_IO | PCI_COMMAND_MASTER);
        check_alive("the IDE bus-master BAR moved onto fixed ports");
    }
    quiet_all();
}

void guest_main(uint32_t magic, const struct multiboot_info* info) {
    (void)magic;
    (void)info;
    for (unsigned i = 0; i < CANARY_WORDS; ++i)
        canary[i] = canary_word(i);
    console_puts("hostile-pci-config: start\n");
    enumerate();
    check_alive("enumeration");
    for (unsigned round = 0; round < ROUNDS; ++round)
        for (unsigned i = 0; i < function_count; ++i)
            sweep_function(functions[i] >> 3, functions[i] & 7);
    check_alive("the register sweep");
    sweep_absent();
    sweep_mechanism();
    check_alive("absent functions and odd accesses");
    move_bars();
    console_puts("hostile-pci-config: done\n");
    debug_exit(HOSTILE_PCI_CONFIG_DONE);
}
