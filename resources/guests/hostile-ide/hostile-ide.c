/* hostile-ide: an IDE command storm against kvmscope's PIIX3 IDE controller (docs/guests.md,
 * "Hostile guests"). Run it with an IDE disk and a CD (`--disk D,if=ide --cdrom C`): the disk is
 * the primary master, the CD the secondary master, and the slaves are absent.
 *
 *   1. Every ATA command byte (0x00-0xFF) to all four drive positions, with garbage in the
 *      features, count, LBA and device registers; each data request is served with a whole
 *      sector in or out, by `rep insw`/`rep outsw`, so garbage writes reach the scratch disk.
 *   2. Every SCSI operation code in an ATAPI PACKET command to the CD, with garbage in the rest
 *      of the packet and in the byte count limit.
 *   3. Data port accesses of every size with no transfer in progress.
 *   4. Bus-master DMA with bad physical region descriptor tables (82371SB datasheet, 3.6.2): the
 *      table outside RAM, a region outside RAM, a region across RAM's end, a table with no EOT
 *      that runs out of RAM, tables shorter and longer than the transfer, a region of byte count
 *      0 (64 KiB), an LBA past the disk's end, the engine started with no command and a command
 *      with the engine stopped. Each case prints one line: "dma CASE: completed" or "dma CASE:
 *      failed", with the bus-master status, the ATA status and the error register.
 *
 * A soft reset (SRST) follows each command. The drives' interrupts stay enabled (no nIEN) and
 * the CPU's disabled, so whatever they raise stays pending. Afterwards the disk must still work: a
 * sector written by PIO reads back the same by DMA, and IDENTIFY DEVICE answers. Ends with
 * HOSTILE_IDE_DONE, or HOSTILE_CHECK_FAILED after saying on COM1 what failed. */
#include "../hostile-common/hostile.h"
#include "../hostile-common/pci.h"
#include "console.h"
#include "io.h"
#include "multiboot.h"

#include <stdint.h>

/* ATA/ATAPI-6 (T13/1410D), 7.x: the command block registers by offset, and the control block. */
#define PRIMARY_BASE 0x1F0
#define PRIMARY_CONTROL 0x3F6
#define SECONDARY_BASE 0x170
#define SECONDARY_CONTROL 0x376
#define REG_DATA 0
#define REG_ERROR 1 /* read */
#define REG_FEATURES 1
#define REG_COUNT 2
#define REG_LBA_LOW 3
#define REG_LBA_MID 4  /* ATAPI: byte count low */
#define REG_LBA_HIGH 5 /* ATAPI: byte count high */
#define REG_DEVICE 6
#define REG_STATUS 7 /* read */
#define REG_COMMAND 7
#define STATUS_BUSY 0x80
#define STATUS_DRQ 0x08
#define STATUS_ERROR 0x01
#define DEVICE_OBSOLETE 0xA0
#define DEVICE_LBA 0x40
#define DEVICE_SLAVE 0x10
#define CONTROL_SRST 0x04
#define REASON_COMMAND 0x01 /* the interrupt reason (count register) of ATAPI: CoD */
#define CMD_PACKET 0xA0
#define CMD_IDENTIFY 0xEC
#define CMD_WRITE_SECTORS 0x30
#define CMD_READ_DMA 0xC8
#define CMD_WRITE_DMA 0xCA
#define SECTOR_WORDS 256
#define MAX_DATA_ROUNDS 8
#define POLLS 1000

/* The PIIX3 IDE function and its bus-master registers (82371SB, 2.7 and 2.8.2). */
#define IDE_DEVICE 1
#define IDE_FUNCTION 1
#define BUS_MASTER_BAR 4
#define BUS_MASTER_PORT 0xC000 /* where this guest puts BAR4 if nobody did */
#define BM_COMMAND 0
#define BM_STATUS 2
#define BM_TABLE 4
#define BM_START 0x01
#define BM_TO_MEMORY 0x08
#define BM_ACTIVE 0x01
#define BM_ERROR 0x02
#define BM_INTERRUPT 0x04
#define PRD_EOT 0x80000000u

#define CHECK_LBA 7
#define OUTSIDE_RAM 0xF8000000u /* in the MMIO hole, where nothing is */

struct prd {
    uint32_t base;
    uint32_t count_eot; /* bits 15-0 the byte count (0 = 64 KiB), bit 31 EOT */
};

static uint32_t random_state = 0x69646521u; /* "ide!" */
static uint16_t bus_master;
static uint32_t ram_end;
static uint32_t command_errors, command_data_rounds;
static struct prd prd_table[4] __attribute__((aligned(65536)));
static uint16_t buffer[65536] __attribute__((aligned(65536))); /* 128 KiB */
static uint16_t check[SECTOR_WORDS];

static void fail(const char* what, uint32_t value) {
    console_puts("hostile-ide: FAILED: ");
    console_puts(what);
    console_puts(" ");
    console_hex32(value);
    console_puts("\n");
    debug_exit(HOSTILE_CHECK_FAILED);
}

static void insw(uint16_t port, void* to, uint32_t words) {
    __asm__ volatile("cld; rep insw" : "+D"(to), "+c"(words) : "d"(port) : "memory");
}

static void outsw(uint16_t port, const void* from, uint32_t words) {
    __asm__ volatile("cld; rep outsw" : "+S"(from), "+c"(words) : "d"(port) : "memory");
}

/* The status once BSY is clear, or with BSY still set after POLLS reads. */
static uint8_t wait_not_busy(uint16_t base) {
    uint8_t status = hostile_inb((uint16_t)(base + REG_STATUS));
    for (unsigned i = 0; i < POLLS && (status & STATUS_BUSY); ++i)
        status = hostile_inb((uint16_t)(base + REG_STATUS));
    return status;
}

static void soft_reset(uint16_t control, uint16_t base) {
    outb(control, CONTROL_SRST);
    outb(control, 0);
    (void)wait_not_busy(base);
}

static void select_drive(uint16_t base, unsigned slave, uint8_t low_bits) {
    outb((uint16_t)(base + REG_DEVICE),
         (uint8_t)(DEVICE_OBSOLETE | (slave ? DEVICE_SLAVE : 0) | (low_bits & 0x4F)));
}

/* Serves data requests with whole sectors, in or out, up to MAX_DATA_ROUNDS. */
static uint8_t serve_data(uint16_t base) {
    uint8_t status = wait_not_busy(base);
    for (unsigned round = 0; round < MAX_DATA_ROUNDS && (status & STATUS_DRQ); ++round) {
        if (hostile_random(&random_state) & 1) {
            insw((uint16_t)(base + REG_DATA), buffer, SECTOR_WORDS);
        } else {
            for (unsigned i = 0; i < SECTOR_WORDS; ++i)
                buffer[i] = (uint16_t)hostile_random(&random_state);
            outsw((uint16_t)(base + REG_DATA), buffer, SECTOR_WORDS);
        }
        ++command_data_rounds;
        status = wait_not_busy(base);
    }
    return status;
}

static void ata_storm(uint16_t base, uint16_t control, unsigned slave) {
    for (unsigned command = 0; command < 256; ++command) {
        select_drive(base, slave, (uint8_t)hostile_random(&random_state));
        for (uint16_t reg = REG_FEATURES; reg <= REG_LBA_HIGH; ++reg)
            outb((uint16_t)(base + reg), (uint8_t)hostile_random(&random_state));
        outb((uint16_t)(base + REG_COMMAND), (uint8_t)command);
        if (serve_data(base) & STATUS_ERROR)
            ++command_errors;
        (void)hostile_inb((uint16_t)(base + REG_ERROR));
        soft_reset(control, base);
    }
}

static void atapi_storm(uint16_t base, uint16_t control) {
    for (unsigned opcode = 0; opcode < 256; ++opcode) {
        select_drive(base, 0, 0);
        outb((uint16_t)(base + REG_FEATURES), (uint8_t)(hostile_random(&random_state) & 1));
        outb((uint16_t)(base + REG_LBA_MID), (uint8_t)hostile_random(&random_state));
        outb((uint16_t)(base + REG_LBA_HIGH), (uint8_t)hostile_random(&random_state));
        outb((uint16_t)(base + REG_COMMAND), CMD_PACKET);
        uint8_t status = wait_not_busy(base);
        if ((status & STATUS_DRQ) && (hostile_inb((uint16_t)(base + REG_COUNT)) & REASON_COMMAND)) {
            uint16_t packet[6];
            for (unsigned i = 0; i < 6; ++i)
                packet[i] = (uint16_t)hostile_random(&random_state);
            packet[0] = (uint16_t)((packet[0] & 0xFF00) | opcode);
            outsw((uint16_t)(base + REG_DATA), packet, 6);
            status = wait_not_busy(base);
            for (unsigned round = 0; round < MAX_DATA_ROUNDS && (status & STATUS_DRQ); ++round) {
                uint32_t bytes = hostile_inb((uint16_t)(base + REG_LBA_MID)) |
                                 (uint32_t)hostile_inb((uint16_t)(base + REG_LBA_HIGH)) << 8;
                uint32_t words = (bytes + 1) / 2;
                if (words == 0 || words > 65536)
                    words = SECTOR_WORDS;
                insw((uint16_t)(base + REG_DATA), buffer, words);
                ++command_data_rounds;
                status = wait_not_busy(base);
            }
        }
        if (status & STATUS_ERROR)
            ++command_errors;
        soft_reset(control, base);
    }
}

/* Accesses to the data port with nothing to transfer, of every size, and to its neighbours. */
static void idle_data_port(uint16_t base) {
    for (unsigned i = 0; i < 64; ++i) {
        const uint32_t r = hostile_random(&random_state);
        outb((uint16_t)(base + REG_DATA), (uint8_t)r);
        outw((uint16_t)(base + REG_DATA), (uint16_t)r);
        hostile_outl((uint16_t)(base + REG_DATA), r);
        (void)hostile_inb((uint16_t)(base + REG_DATA));
        (void)hostile_inw((uint16_t)(base + REG_DATA));
        (void)hostile_inl((uint16_t)(base + REG_DATA));
        (void)hostile_inl((uint16_t)(base + (r & 7)));
    }
}

static void setup_bus_master(void) {
    uint32_t bar = pci_read32(IDE_DEVICE, IDE_FUNCTION, PCI_BAR0 + 4 * BUS_MASTER_BAR) & ~3u;
    if (bar == 0) {
        pci_write32(IDE_DEVICE, IDE_FUNCTION, PCI_BAR0 + 4 * BUS_MASTER_BAR, BUS_MASTER_PORT | 1);
        bar = BUS_MASTER_PORT;
    }
    pci_write16(IDE_DEVICE, IDE_FUNCTION, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MASTER);
    bus_master = (uint16_t)bar;
}

/* One DMA command on the primary master through the table at `table`; prints its outcome and
 * returns 1 if it completed without an error anywhere. */
static int dma(const char* name, uint8_t command, uint32_t lba, uint8_t count, uint32_t table,
               int start_engine) {
    const int to_memory = command == CMD_READ_DMA;
    outb((uint16_t)(bus_master + BM_COMMAND), 0);
    outb((uint16_t)(bus_master + BM_STATUS), BM_ERROR | BM_INTERRUPT);
    hostile_outl((uint16_t)(bus_master + BM_TABLE), table);
    outb((uint16_t)(bus_master + BM_COMMAND), to_memory ? BM_TO_MEMORY : 0);
    outb(PRIMARY_BASE + REG_DEVICE, (uint8_t)(DEVICE_OBSOLETE | DEVICE_LBA | ((lba >> 24) & 0xF)));
    outb(PRIMARY_BASE + REG_COUNT, count);
    outb(PRIMARY_BASE + REG_LBA_LOW, (uint8_t)lba);
    outb(PRIMARY_BASE + REG_LBA_MID, (uint8_t)(lba >> 8));
    outb(PRIMARY_BASE + REG_LBA_HIGH, (uint8_t)(lba >> 16));
    outb(PRIMARY_BASE + REG_COMMAND, command);
    if (start_engine)
        outb((uint16_t)(bus_master + BM_COMMAND),
             (uint8_t)(BM_START | (to_memory ? BM_TO_MEMORY : 0)));
    uint8_t bm_status = hostile_inb((uint16_t)(bus_master + BM_STATUS));
    for (unsigned i = 0; i < POLLS && (bm_status & BM_ACTIVE) && !(bm_status & BM_INTERRUPT); ++i)
        bm_status = hostile_inb((uint16_t)(bus_master + BM_STATUS));
    const uint8_t status = wait_not_busy(PRIMARY_BASE);
    const uint8_t error = hostile_inb(PRIMARY_BASE + REG_ERROR);
    outb((uint16_t)(bus_master + BM_COMMAND), 0);
    /* The interrupt bit mirrors the drive's INTRQ (82371SB, 2.8.2.2), which nIEN would hold
     * back: the drives' interrupts stay enabled, the CPU's are off. */
    const int completed = !(bm_status & BM_ERROR) &&
                          !(status & (STATUS_BUSY | STATUS_ERROR | STATUS_DRQ)) &&
                          (bm_status & BM_INTERRUPT);
    console_puts("hostile-ide: dma ");
    console_puts(name);
    console_puts(completed ? ": completed" : ": failed");
    console_puts(" (bus master ");
    console_hex(bm_status, 2);
    console_puts(", status ");
    console_hex(status, 2);
    console_puts(", error ");
    console_hex(error, 2);
    console_puts(")\n");
    soft_reset(PRIMARY_CONTROL, PRIMARY_BASE);
    return completed;
}

static void set_prd(unsigned index, uint32_t base, uint32_t bytes, int last) {
    prd_table[index].base = base;
    prd_table[index].count_eot = (bytes & 0xFFFF) | (last ? PRD_EOT : 0);
}

static void dma_cases(void) {
    const uint32_t table = (uint32_t)(uintptr_t)prd_table;
    const uint32_t data = (uint32_t)(uintptr_t)buffer;

    dma("table-outside-ram", CMD_READ_DMA, 0, 1, OUTSIDE_RAM, 1);
    set_prd(0, OUTSIDE_RAM, 512, 1);
    dma("read-to-outside-ram", CMD_READ_DMA, 0, 1, table, 1);
    dma("write-from-outside-ram", CMD_WRITE_DMA, 0, 1, table, 1);
    set_prd(0, ram_end - 256, 512, 1);
    dma("region-across-ram-end", CMD_READ_DMA, 0, 1, table, 1);
    /* One entry of 512 bytes without EOT in RAM's last 8 bytes: the next entry is outside. */
    struct prd* last_entry = (struct prd*)(uintptr_t)(ram_end - sizeof(struct prd));
    last_entry->base = data;
    last_entry->count_eot = 512;
    dma("table-runs-out-of-ram", CMD_READ_DMA, 0, 8, ram_end - sizeof(struct prd), 1);
    set_prd(0, data, 512, 1);
    dma("table-shorter", CMD_READ_DMA, 0, 8, table, 1);
    set_prd(0, data, 0, 1); /* byte count 0: 64 KiB */
    dma("table-longer", CMD_READ_DMA, 0, 1, table, 1);
    dma("count-0-is-64k", CMD_READ_DMA, 0, 128, table, 1);
    set_prd(0, data, 0, 0);
    set_prd(1, data + 0x10000, 0, 1);
    dma("256-sectors", CMD_READ_DMA, 0, 0, table, 1);
    set_prd(0, data, 512, 1);
    dma("lba-past-the-end", CMD_READ_DMA, 0x0FFFFFFF, 1, table, 1);
    dma("engine-not-started", CMD_READ_DMA, 0, 1, table, 0);
    /* The engine started with no command, then stopped. */
    hostile_outl((uint16_t)(bus_master + BM_TABLE), table);
    outb((uint16_t)(bus_master + BM_COMMAND), BM_START | BM_TO_MEMORY);
    (void)hostile_inb((uint16_t)(bus_master + BM_STATUS));
    outb((uint16_t)(bus_master + BM_COMMAND), 0);
}

/* The disk still works: a sector written by PIO reads back the same by DMA, and IDENTIFY
 * answers with a model number. */
static void check_disk(void) {
    soft_reset(PRIMARY_CONTROL, PRIMARY_BASE);
    for (unsigned i = 0; i < SECTOR_WORDS; ++i)
        check[i] = (uint16_t)(0xD15C ^ (i * 77));
    outb(PRIMARY_BASE + REG_DEVICE, DEVICE_OBSOLETE | DEVICE_LBA);
    outb(PRIMARY_BASE + REG_COUNT, 1);
    outb(PRIMARY_BASE + REG_LBA_LOW, CHECK_LBA);
    outb(PRIMARY_BASE + REG_LBA_MID, 0);
    outb(PRIMARY_BASE + REG_LBA_HIGH, 0);
    outb(PRIMARY_BASE + REG_COMMAND, CMD_WRITE_SECTORS);
    uint8_t status = wait_not_busy(PRIMARY_BASE);
    if ((status & (STATUS_DRQ | STATUS_ERROR)) != STATUS_DRQ)
        fail("WRITE SECTORS did not ask for data, status", status);
    outsw(PRIMARY_BASE + REG_DATA, check, SECTOR_WORDS);
    status = wait_not_busy(PRIMARY_BASE);
    if (status & (STATUS_DRQ | STATUS_ERROR))
        fail("WRITE SECTORS ended with status", status);
    for (unsigned i = 0; i < SECTOR_WORDS; ++i)
        buffer[i] = 0;
    set_prd(0, (uint32_t)(uintptr_t)buffer, 512, 1);
    if (!dma("check-read", CMD_READ_DMA, CHECK_LBA, 1, (uint32_t)(uintptr_t)prd_table, 1))
        fail("the check sector's DMA read failed", 0);
    for (unsigned i = 0; i < SECTOR_WORDS; ++i)
        if (buffer[i] != check[i])
            fail("the sector read by DMA differs at word", i);
    outb(PRIMARY_BASE + REG_DEVICE, DEVICE_OBSOLETE);
    outb(PRIMARY_BASE + REG_COMMAND, CMD_IDENTIFY);
    status = wait_not_busy(PRIMARY_BASE);
    if ((status & (STATUS_DRQ | STATUS_ERROR)) != STATUS_DRQ)
        fail("IDENTIFY DEVICE did not answer, status", status);
    insw(PRIMARY_BASE + REG_DATA, buffer, SECTOR_WORDS);
    if (buffer[27] == 0 || buffer[27] == 0xFFFF) /* words 27-46: the model number */
        fail("IDENTIFY DEVICE gave no model number", buffer[27]);
}

void guest_main(uint32_t magic, const struct multiboot_info* info) {
    (void)magic;
    ram_end = (info->mem_upper + 1024) * 1024;
    console_puts("hostile-ide: start\n");
    setup_bus_master();
    for (unsigned slave = 0; slave < 2; ++slave) {
        ata_storm(PRIMARY_BASE, PRIMARY_CONTROL, slave);
        ata_storm(SECONDARY_BASE, SECONDARY_CONTROL, slave);
    }
    atapi_storm(SECONDARY_BASE, SECONDARY_CONTROL);
    idle_data_port(PRIMARY_BASE);
    idle_data_port(SECONDARY_BASE);
    console_puts("hostile-ide: storm over, ");
    console_dec(command_errors);
    console_puts(" commands ended in an error, ");
    console_dec(command_data_rounds);
    console_puts(" data blocks moved\n");
    dma_cases();
    check_disk();
    console_puts("hostile-ide: done\n");
    debug_exit(HOSTILE_IDE_DONE);
}
