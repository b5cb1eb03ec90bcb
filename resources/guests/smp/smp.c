/* smp: the multiprocessor demo, a Multiboot 1 kernel. The bootstrap processor (BSP)
 *   1. finds the MP table (Intel MultiProcessor Specification 1.4) and prints the processors it
 *      lists and their local APIC ids;
 *   2. copies the real-mode trampoline to TRAMPOLINE_BASE and starts every other enabled
 *      processor with INIT, STARTUP, STARTUP (the specification's appendix B.4 "universal
 *      start-up algorithm");
 *   3. waits, bounded, until all of them have checked in, prints "all N cpus online" and powers
 *      off — or prints "timeout" and ends through the debug-exit port with GUEST_EXIT_TIMEOUT.
 * Each application processor (AP) switches itself to 32-bit protected mode (trampoline.S),
 * prints "cpu N online" (N = its local APIC id) under a spinlock, counts itself in and halts. */
#include "smp.h"

#include "console.h"
#include "gdt32.h"
#include "io.h"
#include "mptable.h"
#include "multiboot.h"

#include <stdint.h>

#define SPURIOUS_VECTOR 0xFF
#define DEFAULT_BASE_MEMORY_KIB 640
/* The bounded wait: a one-shot, masked local APIC timer, read back until it reaches 0. KVM's APIC
 * bus runs at 1 GHz, so 156250000 ticks divided by 128 are 20 s; on other clocks it is longer or
 * shorter but still bounded. 64 vcpus take milliseconds to come up on a VMX/SVM host, but more
 * than 5 s under a nested KVM in QEMU's TCG (docs/testing-without-kvm.md): the wait is there
 * only so that a broken start-up ends with a message, not to time a healthy one. The iteration
 * cap is a backstop should the timer not count. */
#define WAIT_TIMER_TICKS 156250000u
#define WAIT_MAX_ITERATIONS 100000000u
/* The start-up delays of appendix B.4 (10 ms after INIT, 200 us after each STARTUP) are for
 * real hardware; a virtual APIC delivers at once, so a short pause loop stands in for them. */
#define STARTUP_DELAY_PAUSES 100

static uint32_t lapic_base = LAPIC_DEFAULT_BASE;
static volatile uint32_t console_lock;
static volatile uint32_t cpus_online;

static uint32_t lapic_read(uint32_t reg) {
    return mmio_read32(lapic_base + reg);
}

static void lapic_write(uint32_t reg, uint32_t value) {
    mmio_write32(lapic_base + reg, value);
}

static uint8_t own_apic_id(void) {
    return (uint8_t)(lapic_read(LAPIC_ID) >> LAPIC_ID_SHIFT);
}

static void cpu_relax(void) {
    __asm__ volatile("pause" : : : "memory");
}

static void lock_console(void) {
    while (__atomic_exchange_n(&console_lock, 1, __ATOMIC_ACQUIRE))
        while (console_lock)
            cpu_relax();
}

static void unlock_console(void) {
    __atomic_store_n(&console_lock, 0, __ATOMIC_RELEASE);
}

static void print_online(uint8_t apic_id) {
    lock_console();
    console_puts("cpu ");
    console_dec(apic_id);
    console_puts(" online\n");
    unlock_console();
}

void ap_main(void) {
    print_online(own_apic_id());
    __atomic_fetch_add(&cpus_online, 1, __ATOMIC_SEQ_CST);
    halt_forever();
}

static void delay(void) {
    for (int i = 0; i < STARTUP_DELAY_PAUSES; ++i)
        cpu_relax();
}

/* Writing the low half of the ICR sends the IPI; the high half holds the destination. */
static void send_ipi(uint8_t apic_id, uint32_t command) {
    lapic_write(LAPIC_ICR_HIGH, (uint32_t)apic_id << LAPIC_ICR_DEST_SHIFT);
    lapic_write(LAPIC_ICR_LOW, command);
    while (lapic_read(LAPIC_ICR_LOW) & LAPIC_ICR_SEND_PENDING)
        cpu_relax();
}

static void start_ap(uint8_t apic_id) {
    send_ipi(apic_id, LAPIC_ICR_DELIVERY_INIT | LAPIC_ICR_LEVEL_ASSERT | LAPIC_ICR_TRIGGER_LEVEL);
    delay();
    for (int i = 0; i < 2; ++i) {
        send_ipi(apic_id, LAPIC_ICR_DELIVERY_STARTUP | LAPIC_ICR_LEVEL_ASSERT | TRAMPOLINE_VECTOR);
        delay();
    }
}

static void copy_trampoline(void) {
    volatile char* target = (volatile char*)TRAMPOLINE_BASE;
    for (const char* source = ap_trampoline_start; source < ap_trampoline_end; ++source)
        *target++ = *source;
}

/* Waits until `expected` CPUs are online or the timer runs out; returns how many came. */
static uint32_t wait_for_cpus(uint32_t expected) {
    lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED | SPURIOUS_VECTOR); /* one-shot, no interrupt */
    lapic_write(LAPIC_TIMER_DIVIDE, LAPIC_TIMER_DIVIDE_BY_128);
    lapic_write(LAPIC_TIMER_INITIAL, WAIT_TIMER_TICKS);
    for (uint32_t i = 0; i < WAIT_MAX_ITERATIONS; ++i) {
        if (cpus_online >= expected || lapic_read(LAPIC_TIMER_CURRENT) == 0)
            break;
        cpu_relax();
    }
    return cpus_online;
}

static void print_processors(const struct mp_processors* cpus) {
    console_puts("MP floating pointer at ");
    console_hex32(cpus->floating_pointer);
    if (cpus->default_config) {
        console_puts(", default configuration ");
        console_dec(cpus->default_config);
    } else {
        console_puts(", configuration table at ");
        console_hex32(cpus->config_table);
    }
    console_puts("\n");
    console_dec(cpus->count);
    console_puts(cpus->count == 1 ? " processor, local APIC id" : " processors, local APIC ids");
    for (unsigned i = 0; i < cpus->count; ++i) {
        console_puts(" ");
        console_dec(cpus->apic_ids[i]);
        if ((int)i == cpus->bsp_index)
            console_puts(" (BSP)");
    }
    console_puts("\n");
    if (cpus->skipped) {
        console_puts("ignoring ");
        console_dec(cpus->skipped);
        console_puts(" more processors\n");
    }
}

void guest_main(uint32_t magic, const struct multiboot_info* info) {
    load_gdt32();
    console_puts("Hello from the kvmscope smp demo\n");
    uint32_t base_memory_kib = DEFAULT_BASE_MEMORY_KIB;
    if (magic == MULTIBOOT_BOOTLOADER_MAGIC && (info->flags & MULTIBOOT_INFO_MEMORY))
        base_memory_kib = info->mem_lower;

    const uint8_t bsp_id = own_apic_id();
    struct mp_processors cpus;
    if (mp_find_processors(base_memory_kib, &cpus)) {
        print_processors(&cpus);
        lapic_base = cpus.lapic_address;
    } else {
        console_puts("no MP table found: this processor is the only one\n");
        cpus.count = 1;
        cpus.apic_ids[0] = bsp_id;
    }

    /* The local APIC on, software-wise (SVR bit 8); the spurious vector never fires, IF = 0. */
    lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | SPURIOUS_VECTOR);
    console_lock = 0;
    cpus_online = 1; /* this one */
    print_online(bsp_id);

    uint32_t expected = 1;
    copy_trampoline();
    for (unsigned i = 0; i < cpus.count; ++i) {
        if (cpus.apic_ids[i] == bsp_id)
            continue;
        start_ap(cpus.apic_ids[i]);
        ++expected;
    }

    const uint32_t online = wait_for_cpus(expected);
    lock_console();
    if (online < expected) {
        console_puts("timeout: ");
        console_dec(online);
        console_puts(" of ");
        console_dec(expected);
        console_puts(" cpus online\n");
        debug_exit(GUEST_EXIT_TIMEOUT);
    }
    console_puts("all ");
    console_dec(online);
    console_puts(" cpus online\n");
    console_puts("powering off\n");
    power_off();
}
