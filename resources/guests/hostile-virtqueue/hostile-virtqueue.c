/* hostile-virtqueue: a virtio-blk driver that breaks the rules of the split virtqueue (VIRTIO
 * 1.2, 2.7) and of virtio-blk requests (5.2.6), one case at a time, against kvmscope's modern
 * virtio-pci transport (docs/guests.md, "Hostile guests"). Run it with one virtio disk (`--disk
 * FILE`) of at least 64 KiB.
 *
 * Each case starts from a reset device, negotiated as a driver would (VERSION_1, and indirect
 * descriptors), with queue 0 of QUEUE_SIZE entries, then offers one chain and rings the doorbell.
 * It prints one line: "virtq CASE: needs-reset" when the device set DEVICE_NEEDS_RESET (2.1.2:
 * the device's answer to a broken queue), "virtq CASE: used status N" when it returned the chain
 * with virtio-blk status N (0 OK, 1 IOERR, 2 UNSUPP), or "virtq CASE: no answer". Interrupts stay
 * disabled; MSI-X is left off, so an answer is seen by polling the used ring and the status.
 *
 * Afterwards the disk must still work: a sector written through the queue reads back the same.
 * Ends with HOSTILE_VIRTQUEUE_DONE, or HOSTILE_CHECK_FAILED after saying on COM1 what failed. */
#include "../hostile-common/hostile.h"
#include "../hostile-common/pci.h"
#include "console.h"
#include "io.h"
#include "multiboot.h"

#include <stdint.h>

#define VIRTIO_VENDOR 0x1AF4
#define VIRTIO_BLOCK_DEVICE 0x1042
#define VIRTIO_BAR 4
#define VIRTIO_BAR_ADDRESS 0xE2000000u /* in the 32-bit MMIO window, clear of the VGA BARs */
#define OUTSIDE_RAM 0xF8000000u

/* 4.1.4: the vendor capability and its types. */
#define PCI_CAP_ID_VENDOR 0x09
#define CAP_CFG_TYPE 3
#define CAP_BAR 4
#define CAP_OFFSET 8
#define CAP_NOTIFY_MULTIPLIER 16
#define CFG_COMMON 1
#define CFG_NOTIFY 2

/* 4.1.4.3: struct virtio_pci_common_cfg. */
#define COMMON_DEVICE_FEATURE_SELECT 0x00
#define COMMON_DEVICE_FEATURE 0x04
#define COMMON_DRIVER_FEATURE_SELECT 0x08
#define COMMON_DRIVER_FEATURE 0x0C
#define COMMON_STATUS 0x14
#define COMMON_QUEUE_SELECT 0x16
#define COMMON_QUEUE_SIZE 0x18
#define COMMON_QUEUE_ENABLE 0x1C
#define COMMON_QUEUE_NOTIFY_OFF 0x1E
#define COMMON_QUEUE_DESC 0x20
#define COMMON_QUEUE_DRIVER 0x28
#define COMMON_QUEUE_DEVICE 0x30

/* 2.1: device status. */
#define STATUS_ACKNOWLEDGE 0x01
#define STATUS_DRIVER 0x02
#define STATUS_DRIVER_OK 0x04
#define STATUS_FEATURES_OK 0x08
#define STATUS_NEEDS_RESET 0x40

#define FEATURE_INDIRECT (1u << 28) /* VIRTIO_F_INDIRECT_DESC, in word 0 */
#define FEATURE_VERSION_1 (1u << 0) /* VIRTIO_F_VERSION_1 is bit 32: bit 0 of word 1 */

/* 2.7.5: descriptor flags. */
#define DESC_NEXT 1
#define DESC_WRITE 2
#define DESC_INDIRECT 4

/* 5.2.6: request types and status. */
#define BLK_IN 0
#define BLK_OUT 1
#define BLK_OK 0

#define QUEUE_SIZE 16
#define POLLS 20000
#define SECTOR 512

struct descriptor {
    uint64_t address;
    uint32_t length;
    uint16_t flags;
    uint16_t next;
};
struct available {
    uint16_t flags;
    uint16_t index;
    uint16_t ring[QUEUE_SIZE];
    uint16_t used_event;
};
struct used_element {
    uint32_t id;
    uint32_t length;
};
struct used {
    uint16_t flags;
    uint16_t index;
    struct used_element ring[QUEUE_SIZE];
    uint16_t avail_event;
};
struct request_header {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
};

static struct descriptor descriptors[QUEUE_SIZE] __attribute__((aligned(16)));
static struct descriptor indirect[8] __attribute__((aligned(16)));
static struct available available __attribute__((aligned(2)));
static struct used used __attribute__((aligned(4)));
static struct request_header header __attribute__((aligned(16)));
static uint8_t data[4096] __attribute__((aligned(4096)));
static uint8_t check[SECTOR];
static volatile uint8_t request_status;

static uintptr_t common;
static uintptr_t notify;
static uint32_t notify_multiplier;
static uint16_t next_available;

static void fail(const char* what, uint32_t value) {
    console_puts("hostile-virtqueue: FAILED: ");
    console_puts(what);
    console_puts(" ");
    console_hex32(value);
    console_puts("\n");
    debug_exit(HOSTILE_CHECK_FAILED);
}

static uint8_t status(void) {
    return hostile_read8(common + COMMON_STATUS);
}

static void set_status(uint8_t value) {
    hostile_write8(common + COMMON_STATUS, value);
}

static void write64(uintptr_t address, uint64_t value) {
    hostile_write32(address, (uint32_t)value);
    hostile_write32(address + 4, (uint32_t)(value >> 32));
}

static void find_function(void) {
    const int devfn = pci_find(VIRTIO_VENDOR, VIRTIO_BLOCK_DEVICE);
    if (devfn < 0)
        fail("no virtio-blk function (run with --disk)", 0);
    const unsigned device = (unsigned)devfn >> 3, function = (unsigned)devfn & 7;
    pci_write32(device, function, PCI_BAR0 + 4 * VIRTIO_BAR, VIRTIO_BAR_ADDRESS);
    pci_write32(device, function, PCI_BAR0 + 4 * VIRTIO_BAR + 4, 0);
    pci_write16(device, function, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    if (!(pci_read16(device, function, PCI_STATUS) & PCI_STATUS_CAP_LIST))
        fail("no capability list", 0);
    for (unsigned cap = pci_read8(device, function, PCI_CAPABILITY_LIST) & 0xFC, n = 0;
         cap != 0 && n < 48; cap = pci_read8(device, function, cap + 1) & 0xFC, ++n) {
        if (pci_read8(device, function, cap) != PCI_CAP_ID_VENDOR ||
            pci_read8(device, function, cap + CAP_BAR) != VIRTIO_BAR)
            continue;
        const uintptr_t at = VIRTIO_BAR_ADDRESS + pci_read32(device, function, cap + CAP_OFFSET);
        switch (pci_read8(device, function, cap + CAP_CFG_TYPE)) {
        case CFG_COMMON:
            common = at;
            break;
        case CFG_NOTIFY:
            notify = at;
            notify_multiplier = pci_read32(device, function, cap + CAP_NOTIFY_MULTIPLIER);
            break;
        default:
            break;
        }
    }
    if (common == 0 || notify == 0)
        fail("the common or notify capability is missing", (uint32_t)(common | notify));
}

static void clear_queue_memory(void) {
    uint8_t* bytes[] = {(uint8_t*)descriptors, (uint8_t*)indirect, (uint8_t*)&available,
                        (uint8_t*)&used};
    const unsigned sizes[] = {sizeof descriptors, sizeof indirect, sizeof available, sizeof used};
    for (unsigned i = 0; i < 4; ++i)
        for (unsigned j = 0; j < sizes[i]; ++j)
            bytes[i][j] = 0;
    next_available = 0;
}

/* Resets the device and sets it up as a driver would (3.1.1), with queue 0 at the given ring
 * addresses and of the given size. Returns the status it ends with. */
static uint8_t initialise(uint64_t descriptor_table, uint16_t size) {
    set_status(0);
    for (unsigned i = 0; i < POLLS && status() != 0; ++i) {
    }
    clear_queue_memory();
    set_status(STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    hostile_write32(common + COMMON_DEVICE_FEATURE_SELECT, 0);
    const uint32_t offered = hostile_read32(common + COMMON_DEVICE_FEATURE);
    hostile_write32(common + COMMON_DRIVER_FEATURE_SELECT, 0);
    hostile_write32(common + COMMON_DRIVER_FEATURE, offered & FEATURE_INDIRECT);
    hostile_write32(common + COMMON_DRIVER_FEATURE_SELECT, 1);
    hostile_write32(common + COMMON_DRIVER_FEATURE, FEATURE_VERSION_1);
    set_status(STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
    if (!(status() & STATUS_FEATURES_OK))
        fail("FEATURES_OK refused", status());
    hostile_write16(common + COMMON_QUEUE_SELECT, 0);
    hostile_write16(common + COMMON_QUEUE_SIZE, size);
    write64(common + COMMON_QUEUE_DESC, descriptor_table);
    write64(common + COMMON_QUEUE_DRIVER, (uintptr_t)&available);
    write64(common + COMMON_QUEUE_DEVICE, (uintptr_t)&used);
    hostile_write16(common + COMMON_QUEUE_ENABLE, 1);
    set_status(STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
    return status();
}

static void ring_doorbell(uint16_t queue) {
    const uint16_t offset = hostile_read16(common + COMMON_QUEUE_NOTIFY_OFF);
    hostile_write16(notify + (uintptr_t)offset * notify_multiplier, queue);
}

/* Puts `head` in the available ring, `advance` entries on (1 for a driver that keeps the rules). */
static void offer(uint16_t head, uint16_t advance) {
    available.ring[next_available % QUEUE_SIZE] = head;
    next_available = (uint16_t)(next_available + advance);
    __asm__ volatile("" : : : "memory");
    available.index = next_available;
    __asm__ volatile("" : : : "memory");
    ring_doorbell(0);
}

static void set_descriptor(struct descriptor* table, unsigned index, uint64_t address,
                           uint32_t length, uint16_t flags, uint16_t next) {
    table[index].address = address;
    table[index].length = length;
    table[index].flags = flags;
    table[index].next = next;
}

/* The usual three-descriptor request: header, data, status. */
static void request(uint32_t type, uint64_t sector, uint64_t data_address, uint32_t data_length,
                    uint16_t data_flags) {
    header.type = type;
    header.reserved = 0;
    header.sector = sector;
    request_status = 0xFF;
    set_descriptor(descriptors, 0, (uintptr_t)&header, sizeof header, DESC_NEXT, 1);
    set_descriptor(descriptors, 1, data_address, data_length, (uint16_t)(data_flags | DESC_NEXT),
                   2);
    set_descriptor(descriptors, 2, (uintptr_t)&request_status, 1, DESC_WRITE, 0);
}

/* Waits for the device's answer and prints it; returns the request status (0-255) for a used
 * chain, -1 for DEVICE_NEEDS_RESET and -2 for no answer. */
static int answer(const char* name) {
    int result = -2;
    for (unsigned i = 0; i < POLLS; ++i) {
        __asm__ volatile("" : : : "memory");
        if (used.index != 0) {
            result = request_status;
            break;
        }
        if (status() & STATUS_NEEDS_RESET) {
            result = -1;
            break;
        }
    }
    console_puts("hostile-virtqueue: virtq ");
    console_puts(name);
    if (result == -1) {
        console_puts(": needs-reset\n");
    } else if (result == -2) {
        console_puts(": no answer\n");
    } else {
        console_puts(": used status ");
        console_dec((uint32_t)result);
        console_puts("\n");
    }
    return result;
}

static void fresh(void) {
    const uint8_t now = initialise((uintptr_t)descriptors, QUEUE_SIZE);
    if (!(now & STATUS_DRIVER_OK) || (now & STATUS_NEEDS_RESET))
        fail("the device did not come up, status", now);
}

static void cases(void) {
    const uintptr_t buffer = (uintptr_t)data;

    fresh();
    request(BLK_IN, 0, buffer, SECTOR, DESC_WRITE);
    offer(0, 1);
    if (answer("valid-read") != BLK_OK)
        fail("a valid read failed", 0);

    fresh();
    request(BLK_IN, 0, buffer, SECTOR, DESC_WRITE);
    descriptors[0].address = OUTSIDE_RAM;
    offer(0, 1);
    answer("header-outside-ram");

    fresh();
    request(BLK_IN, 0, OUTSIDE_RAM, SECTOR, DESC_WRITE);
    offer(0, 1);
    answer("data-outside-ram");

    fresh();
    request(BLK_IN, 0, buffer, 0xFFFFFFFFu, DESC_WRITE);
    offer(0, 1);
    answer("huge-length");

    fresh();
    request(BLK_IN, 0, buffer, 0, DESC_WRITE);
    offer(0, 1);
    answer("zero-length-data");

    fresh();
    request(BLK_IN, 0, buffer, SECTOR, DESC_WRITE);
    descriptors[1].flags = DESC_NEXT; /* device-readable, like the header: 0 -> 1 -> 1 -> ... */
    descriptors[1].next = 1;
    offer(0, 1);
    answer("loop");

    fresh();
    request(BLK_IN, 0, buffer, SECTOR, DESC_WRITE);
    descriptors[1].next = QUEUE_SIZE + 3;
    offer(0, 1);
    answer("next-past-the-table");

    fresh();
    request(BLK_IN, 0, buffer, SECTOR, DESC_WRITE);
    offer(QUEUE_SIZE + 5, 1);
    answer("head-past-the-table");

    fresh();
    request(BLK_IN, 0, buffer, SECTOR, DESC_WRITE);
    offer(0, 1000);
    answer("index-jumps-ahead");

    fresh();
    request(BLK_OUT, 0, buffer, SECTOR, 0);
    descriptors[0].flags = DESC_NEXT | DESC_WRITE; /* the header written by the device */
    descriptors[1].flags = DESC_NEXT;              /* then read by it: out of order */
    offer(0, 1);
    answer("readable-after-writable");

    fresh();
    request(0x1234, 0, buffer, SECTOR, DESC_WRITE);
    offer(0, 1);
    answer("unknown-type");

    fresh();
    request(BLK_IN, 0xFFFFFFFFFFull, buffer, SECTOR, DESC_WRITE);
    offer(0, 1);
    answer("sector-past-the-end");

    fresh();
    request(BLK_IN, 0, buffer, SECTOR, DESC_WRITE);
    descriptors[0].flags = 0; /* the header alone: no data, no status */
    offer(0, 1);
    answer("header-only");

    /* Indirect tables (2.7.5.3): outside RAM, of a length that is not a whole number of
     * descriptors, nested, and looping within the table. */
    fresh();
    set_descriptor(descriptors, 0, OUTSIDE_RAM, 3 * sizeof(struct descriptor), DESC_INDIRECT, 0);
    offer(0, 1);
    answer("indirect-outside-ram");

    fresh();
    set_descriptor(descriptors, 0, (uintptr_t)indirect, 20, DESC_INDIRECT, 0);
    offer(0, 1);
    answer("indirect-odd-length");

    fresh();
    set_descriptor(descriptors, 0, (uintptr_t)indirect, 3 * sizeof(struct descriptor),
                   DESC_INDIRECT, 0);
    set_descriptor(indirect, 0, (uintptr_t)indirect, 3 * sizeof(struct descriptor), DESC_INDIRECT,
                   0);
    offer(0, 1);
    answer("indirect-nested");

    fresh();
    set_descriptor(descriptors, 0, (uintptr_t)indirect, 3 * sizeof(struct descriptor),
                   DESC_INDIRECT, 0);
    set_descriptor(indirect, 0, (uintptr_t)&header, sizeof header, DESC_NEXT, 1);
    set_descriptor(indirect, 1, buffer, SECTOR, DESC_WRITE | DESC_NEXT, 0);
    header.type = BLK_IN;
    header.sector = 0;
    offer(0, 1);
    answer("indirect-loop");

    /* The rings themselves outside RAM, and a queue size that is not a power of two. */
    const uint8_t bad_table = initialise(OUTSIDE_RAM, QUEUE_SIZE);
    console_puts("hostile-virtqueue: virtq rings-outside-ram: ");
    console_puts(bad_table & STATUS_NEEDS_RESET ? "needs-reset\n" : "accepted\n");
    const uint8_t odd_size = initialise((uintptr_t)descriptors, QUEUE_SIZE - 1);
    console_puts("hostile-virtqueue: virtq size-not-a-power-of-two: ");
    console_puts(odd_size & STATUS_NEEDS_RESET ? "needs-reset\n" : "accepted\n");

    /* Doorbells for queues that do not exist, and before DRIVER_OK. */
    fresh();
    ring_doorbell(7);
    ring_doorbell(0xFFFF);
    set_status(0);
    ring_doorbell(0);
}

/* The disk still works: a sector written through the queue reads back the same. */
static void check_disk(void) {
    for (unsigned i = 0; i < SECTOR; ++i)
        check[i] = data[i] = (uint8_t)(0x5A ^ (i * 31));
    fresh();
    request(BLK_OUT, 3, (uintptr_t)data, SECTOR, 0);
    offer(0, 1);
    if (answer("check-write") != BLK_OK)
        fail("the check write failed", 0);
    for (unsigned i = 0; i < SECTOR; ++i)
        data[i] = 0;
    fresh();
    request(BLK_IN, 3, (uintptr_t)data, SECTOR, DESC_WRITE);
    offer(0, 1);
    if (answer("check-read") != BLK_OK)
        fail("the check read failed", 0);
    for (unsigned i = 0; i < SECTOR; ++i)
        if (data[i] != check[i])
            fail("the sector read back differs at byte", i);
}

void guest_main(uint32_t magic, const struct multiboot_info* info) {
    (void)magic;
    (void)info;
    console_puts("hostile-virtqueue: start\n");
    find_function();
    cases();
    check_disk();
    console_puts("hostile-virtqueue: done\n");
    debug_exit(HOSTILE_VIRTQUEUE_DONE);
}
