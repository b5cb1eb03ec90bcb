/* virtio-io: the virtio snapshot test's guest. A virtio-blk driver (VIRTIO 1.2, 4.1 and 5.2)
 * that keeps its queue busy: each round it offers BATCH writes of a pattern at once, waits for
 * them, then BATCH reads of the same sectors and one of sectors written EARLIER rounds before,
 * checks every byte read against the pattern and folds it into a running checksum; every
 * PRINT_EVERY rounds it prints the round and the checksum. Run it with one virtio disk (`--disk
 * FILE`) of at least DISK_SECTORS sectors.
 *
 * It negotiates VIRTIO_F_EVENT_IDX when offered and rings the doorbell only when the device's
 * avail_event asks for it (2.7.10), and waits by polling the used ring (interrupts stay off).
 * Its output depends on nothing but its own progress and the disk's content, so a run saved
 * while requests are in the queue and restored in another process must print exactly the rest
 * of an uninterrupted run's output: the queue's state, RAM and the disk must come back as they
 * were, and no offered chain may be lost (the round would never complete) or served twice.
 *
 * Ends with VIRTIO_IO_EXIT_VALUE on the debug-exit port, or VIRTIO_IO_FAILED after saying on
 * COM1 what failed. */
#include "../hostile-common/hostile.h"
#include "../hostile-common/pci.h"
#include "console.h"
#include "io.h"
#include "multiboot.h"

#include <stdint.h>

#define VIRTIO_IO_EXIT_VALUE 0x2c /* kvmscope exits with (0x2c << 1) | 1 = 89 */
#define VIRTIO_IO_FAILED 0x7c     /* status 249 */

#define VIRTIO_VENDOR 0x1AF4
#define VIRTIO_BLOCK_DEVICE 0x1042
#define VIRTIO_BAR 4
#define VIRTIO_BAR_ADDRESS 0xE2000000u /* in the 32-bit MMIO window, clear of the VGA BARs */

/* 4.1.4: the vendor capability. */
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

#define FEATURE_EVENT_IDX (1u << 29) /* VIRTIO_F_EVENT_IDX, in word 0 */
#define FEATURE_VERSION_1 (1u << 0)  /* VIRTIO_F_VERSION_1 is bit 32: bit 0 of word 1 */

/* 2.7.5: descriptor flags. 5.2.6: request types and status. */
#define DESC_NEXT 1
#define DESC_WRITE 2
#define BLK_IN 0
#define BLK_OUT 1
#define BLK_OK 0

#define QUEUE_SIZE 16
#define BATCH 4              /* writes (then reads) offered at once */
#define REQUESTS (BATCH + 1) /* the reads and one read of an earlier round */
#define REQUEST_SECTORS 2    /* 1 KiB a request */
#define SECTOR 512
#define REQUEST_WORDS (REQUEST_SECTORS * SECTOR / 4)
#define DISK_SECTORS 2048 /* 1 MiB: 256 slots of REQUEST_SECTORS */
#define SLOTS (DISK_SECTORS / REQUEST_SECTORS)
#define ROUNDS 240
#define PRINT_EVERY 10
#define EARLIER 16 /* rounds back to the slot also read each round */
#define POLLS 50000000u

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
static volatile struct available available __attribute__((aligned(2)));
static volatile struct used used __attribute__((aligned(4)));
static struct request_header headers[REQUESTS] __attribute__((aligned(16)));
static uint32_t buffers[REQUESTS][REQUEST_WORDS] __attribute__((aligned(4096)));
static volatile uint8_t statuses[REQUESTS];

static uintptr_t common;
static uintptr_t notify;
static uint32_t notify_multiplier;
static int event_index;
static uint16_t next_available;
static uint16_t next_used;
static uint32_t checksum = 0x9e3779b9u;
static uint32_t requests_done;

static void fail(const char* what, uint32_t value) {
    console_puts("virtio-io: FAILED: ");
    console_puts(what);
    console_puts(" ");
    console_hex32(value);
    console_puts("\n");
    debug_exit(VIRTIO_IO_FAILED);
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

/* 3.1.1: reset, negotiate VERSION_1 (and EVENT_IDX when offered), set up queue 0. */
static void initialise(void) {
    set_status(0);
    for (unsigned i = 0; i < POLLS && status() != 0; ++i) {
    }
    set_status(STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    hostile_write32(common + COMMON_DEVICE_FEATURE_SELECT, 0);
    const uint32_t offered = hostile_read32(common + COMMON_DEVICE_FEATURE);
    event_index = (offered & FEATURE_EVENT_IDX) != 0;
    hostile_write32(common + COMMON_DRIVER_FEATURE_SELECT, 0);
    hostile_write32(common + COMMON_DRIVER_FEATURE, offered & FEATURE_EVENT_IDX);
    hostile_write32(common + COMMON_DRIVER_FEATURE_SELECT, 1);
    hostile_write32(common + COMMON_DRIVER_FEATURE, FEATURE_VERSION_1);
    set_status(STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
    if (!(status() & STATUS_FEATURES_OK))
        fail("FEATURES_OK refused", status());
    hostile_write16(common + COMMON_QUEUE_SELECT, 0);
    hostile_write16(common + COMMON_QUEUE_SIZE, QUEUE_SIZE);
    write64(common + COMMON_QUEUE_DESC, (uintptr_t)descriptors);
    write64(common + COMMON_QUEUE_DRIVER, (uintptr_t)&available);
    write64(common + COMMON_QUEUE_DEVICE, (uintptr_t)&used);
    hostile_write16(common + COMMON_QUEUE_ENABLE, 1);
    /* 2.7.7: no interrupts wanted, ever: the driver polls. */
    available.flags = 1;
    available.used_event = 0xFFFF;
    set_status(STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
    if (status() != (STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK))
        fail("the device did not come up, status", status());
}

/* The pattern of the request written in `round` at position `index`: cheap to make and check
 * (ring-0 code may run under an instruction emulator). */
static uint32_t pattern_seed(uint32_t round, uint32_t index) {
    return (round * BATCH + index + 1) * 0x01000193u;
}

static uint32_t slot_of(uint32_t round, uint32_t index) {
    return (round * BATCH + index) % SLOTS;
}

/* Request `index` of the batch: header, data, status, in descriptors 3 * index to + 2. */
static void prepare(unsigned index, uint32_t type, uint32_t slot) {
    const unsigned first = 3 * index;
    headers[index].type = type;
    headers[index].reserved = 0;
    headers[index].sector = (uint64_t)slot * REQUEST_SECTORS;
    statuses[index] = 0xFF;
    descriptors[first].address = (uintptr_t)&headers[index];
    descriptors[first].length = sizeof headers[index];
    descriptors[first].flags = DESC_NEXT;
    descriptors[first].next = (uint16_t)(first + 1);
    descriptors[first + 1].address = (uintptr_t)buffers[index];
    descriptors[first + 1].length = REQUEST_WORDS * 4;
    descriptors[first + 1].flags = (uint16_t)(DESC_NEXT | (type == BLK_IN ? DESC_WRITE : 0));
    descriptors[first + 1].next = (uint16_t)(first + 2);
    descriptors[first + 2].address = (uintptr_t)&statuses[index];
    descriptors[first + 2].length = 1;
    descriptors[first + 2].flags = DESC_WRITE;
    descriptors[first + 2].next = 0;
}

/* Offers requests 0 to count - 1 at once and waits until the device has used them all. */
static void submit(unsigned count) {
    const uint16_t old = next_available;
    for (unsigned i = 0; i < count; ++i)
        available.ring[(uint16_t)(old + i) % QUEUE_SIZE] = (uint16_t)(3 * i);
    next_available = (uint16_t)(old + count);
    __asm__ volatile("mfence" : : : "memory"); /* 2.7.13: the entries before the index */
    available.index = next_available;
    __asm__ volatile("mfence" : : : "memory"); /* the index before avail_event is read */
    /* 2.7.10: with EVENT_IDX, notify only when the new entries pass the device's avail_event. */
    const uint16_t event = used.avail_event;
    if (!event_index || (uint16_t)(next_available - event - 1) < (uint16_t)(next_available - old)) {
        const uint16_t offset = hostile_read16(common + COMMON_QUEUE_NOTIFY_OFF);
        hostile_write16(notify + (uintptr_t)offset * notify_multiplier, 0);
    }
    const uint16_t expected = (uint16_t)(next_used + count);
    for (unsigned polls = 0; used.index != expected; ++polls) {
        if (polls == POLLS || (status() & STATUS_NEEDS_RESET))
            fail("no answer: used index", used.index | (uint32_t)status() << 16);
        __asm__ volatile("pause" : : : "memory");
    }
    for (unsigned i = 0; i < count; ++i) {
        const volatile struct used_element* element =
            &used.ring[(uint16_t)(next_used + i) % QUEUE_SIZE];
        if (element->id % 3 != 0 || element->id / 3 >= count)
            fail("a used element names no request of the batch", element->id);
        if (statuses[element->id / 3] != BLK_OK)
            fail("a request failed with status", statuses[element->id / 3]);
    }
    next_used = expected;
    requests_done += count;
}

/* Checks request `index`'s buffer against the pattern written in `round` at `position`, and
 * folds it into the checksum. */
static void check(unsigned index, uint32_t round, uint32_t position) {
    uint32_t value = pattern_seed(round, position);
    for (unsigned word = 0; word < REQUEST_WORDS; ++word, value += 0x9e3779b9u) {
        if (buffers[index][word] != value)
            fail("read back other data than written, round", round);
    }
    uint32_t x = checksum ^ buffers[index][REQUEST_WORDS - 1] ^ (round << 8) ^ position;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    checksum = x;
}

void guest_main(uint32_t magic, const struct multiboot_info* info) {
    (void)magic;
    (void)info;
    console_puts("virtio-io: start\n");
    find_function();
    initialise();
    console_puts(event_index ? "virtio-io: event index\n" : "virtio-io: no event index\n");
    for (uint32_t round = 0; round < ROUNDS; ++round) {
        for (unsigned i = 0; i < BATCH; ++i) {
            uint32_t value = pattern_seed(round, i);
            for (unsigned word = 0; word < REQUEST_WORDS; ++word, value += 0x9e3779b9u)
                buffers[i][word] = value;
            prepare(i, BLK_OUT, slot_of(round, i));
        }
        submit(BATCH);
        for (unsigned i = 0; i < REQUESTS; ++i)
            buffers[i][0] = buffers[i][REQUEST_WORDS - 1] = 0;
        for (unsigned i = 0; i < BATCH; ++i)
            prepare(i, BLK_IN, slot_of(round, i));
        const uint32_t earlier = round >= EARLIER ? round - EARLIER : round;
        prepare(BATCH, BLK_IN, slot_of(earlier, round % BATCH));
        submit(REQUESTS);
        for (unsigned i = 0; i < BATCH; ++i)
            check(i, round, i);
        check(BATCH, earlier, round % BATCH);
        if ((round + 1) % PRINT_EVERY == 0) {
            console_puts("virtio-io: round ");
            console_dec(round + 1);
            console_puts(" checksum ");
            console_hex32(checksum);
            console_puts("\n");
        }
    }
    console_puts("virtio-io: done, ");
    console_dec(requests_done);
    console_puts(" requests\n");
    debug_exit(VIRTIO_IO_EXIT_VALUE);
}
