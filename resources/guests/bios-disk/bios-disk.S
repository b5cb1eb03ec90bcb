/* bios-disk: a raw disk image that PC firmware boots, and that uses the firmware's services as
 * a boot loader does (docs/guests.md). Every line it prints goes both through the BIOS's
 * teletype output (int 10h AH=0Eh, the VGA text screen) and straight to COM1, so a test reads
 * it from either.
 *
 * Layout (512-byte sectors, LBA 0 first):
 *   0      the boot sector, loaded by the firmware at 0000:7C00 with DL = the boot drive;
 *          it prints, then reads sectors 1-STAGE2_SECTORS with int 13h AH=02h (CHS) to 0000:7E00
 *   1-7    the second stage: int 13h AH=41h (are the extensions there?) and AH=42h (an LBA read
 *          of sector DATA_LBA, whose text it prints), int 15h AX=E820h (the memory map, each
 *          entry printed), then int 16h AH=00h: each key read is echoed ("key: X") until Enter,
 *          and the guest writes EXIT_DONE to the debug-exit port (kvmscope exits with status
 *          (EXIT_DONE << 1) | 1) or, without it, halts.
 *   8      DATA_LBA: a line of text only an LBA read of the right sector finds.
 * Failures print "FAIL: ..." with the BIOS's status in AH and write EXIT_FAIL instead.
 *
 * References: the IBM PC BIOS interface (int 10h/13h/16h); Phoenix "BIOS Enhanced Disk Drive
 * Specification" 3.0 (int 13h extensions, the disk address packet); ACPI 6.4, 15.1 (int 15h
 * E820h). */
#include "pc.h"

#define STAGE2_SECTORS 7
#define DATA_LBA 8
#define LOAD_BUFFER 0x9000     /* where the LBA read puts DATA_LBA */
#define E820_BUFFER 0x9400     /* one 24-byte entry */
#define EXIT_DONE 0x21
#define EXIT_FAIL 0x22

    .code16
    .section .text.entry, "ax"
    .globl _start
_start:
    cli
    xor %ax, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov $0x7C00, %sp
    ljmp $0, $1f                /* CS:IP = 0000:7Cxx whatever the firmware jumped with */
1:  sti
    cld
    mov %dl, boot_drive

    mov $msg_boot, %si
    call puts
    mov boot_drive, %al
    call put_hex8
    call newline

    /* Sectors 2.. of cylinder 0, head 0 (CHS sectors count from 1). */
    mov $0x0200 + STAGE2_SECTORS, %ax
    mov $0x0002, %cx
    xor %dh, %dh
    mov boot_drive, %dl
    mov $stage2, %bx
    int $0x13
    jc chs_failed
    cmp $STAGE2_SECTORS, %al
    jne chs_failed
    mov $msg_chs, %si
    call puts
    jmp stage2

chs_failed:
    mov $msg_chs_failed, %si
    jmp fail

/* fail: prints the message at SI and the status in AH, then exits with EXIT_FAIL. */
fail:
    push %ax
    call puts
    pop %ax
    mov %ah, %al
    call put_hex8
    call newline
    mov $EXIT_FAIL, %al
    out %al, $DEBUG_EXIT_PORT
2:  hlt
    jmp 2b

/* putc: AL to the screen (int 10h teletype, page 0) and to COM1; a '\n' becomes CR LF on the
 * screen. Keeps every register. */
putc:
    push %ax
    push %bx
    push %dx
    mov %al, %bl
    mov $COM1_BASE + UART_LSR, %dx
3:  in %dx, %al
    test $UART_LSR_THRE, %al
    jz 3b
    mov $COM1_BASE, %dx
    mov %bl, %al
    out %al, %dx
    cmp $'\n', %bl
    jne 4f
    mov $0x0E0D, %ax
    xor %bh, %bh
    int $0x10
4:  mov %bl, %al
    mov $0x0E, %ah
    xor %bh, %bh
    int $0x10
    pop %dx
    pop %bx
    pop %ax
    ret

/* puts: the NUL-terminated string at DS:SI. */
puts:
    push %ax
    push %si
5:  lodsb
    test %al, %al
    jz 6f
    call putc
    jmp 5b
6:  pop %si
    pop %ax
    ret

newline:
    push %ax
    mov $'\n', %al
    call putc
    pop %ax
    ret

/* put_hex8: AL as two hex digits. */
put_hex8:
    push %ax
    push %ax
    shr $4, %al
    call put_nibble
    pop %ax
    call put_nibble
    pop %ax
    ret

/* put_nibble: AL's low four bits as a hex digit. */
put_nibble:
    push %ax
    and $0x0F, %al
    add $'0', %al
    cmp $'9', %al
    jbe 7f
    add $('a' - '0' - 10), %al
7:  call putc
    pop %ax
    ret

boot_drive: .byte 0
msg_boot: .asciz "bios-disk: boot sector at 0000:7c00, boot drive 0x"
msg_chs: .asciz "bios-disk: int 13h CHS read of the second stage: ok\n"
msg_chs_failed: .asciz "FAIL: int 13h AH=02h (CHS read) status 0x"

    .org 510
    .byte 0x55, 0xAA            /* the boot signature the firmware checks */

/* ---- second stage: sectors 1-7, at 0000:7E00 ---- */
stage2:
    /* int 13h AH=41h: BX=55AAh comes back AA55h with CF clear when the extensions exist. */
    mov $0x41, %ah
    mov $0x55AA, %bx
    mov boot_drive, %dl
    int $0x13
    jc no_extensions
    cmp $0xAA55, %bx
    jne no_extensions
    test $1, %cx                /* bit 0: the fixed disk access subset (AH=42h) */
    jz no_extensions

    /* int 13h AH=42h with a disk address packet: 1 sector from DATA_LBA to LOAD_BUFFER. */
    mov $0x42, %ah
    mov boot_drive, %dl
    mov $packet, %si
    int $0x13
    jc lba_failed
    mov $msg_lba, %si
    call puts
    mov $LOAD_BUFFER, %si
    call puts

    call memory_map

    mov $msg_keys, %si
    call puts
read_key:
    xor %ah, %ah                /* int 16h AH=00h: wait for a key; AL = ASCII, AH = scan code */
    int $0x16
    cmp $'\r', %al
    je keys_done
    mov %al, %bl
    mov $msg_key, %si
    call puts
    mov %bl, %al
    call putc
    call newline
    jmp read_key
keys_done:
    mov $msg_done, %si
    call puts
    mov $EXIT_DONE, %al
    out %al, $DEBUG_EXIT_PORT
9:  hlt
    jmp 9b

no_extensions:
    mov $msg_no_ext, %si
    jmp fail
lba_failed:
    mov $msg_lba_failed, %si
    jmp fail

/* memory_map: every int 15h E820h entry as "e820: BASE LENGTH TYPE" in hex, then the count. */
memory_map:
    xor %ebx, %ebx
    movb $0, e820_entries
10: mov $0xE820, %eax
    mov $0x534D4150, %edx       /* 'SMAP' */
    mov $24, %ecx
    mov $E820_BUFFER, %di
    int $0x15
    jc 12f                      /* CF after the last entry, or no support */
    cmp $0x534D4150, %eax
    jne 12f
    incb e820_entries
    mov $msg_e820, %si
    call puts
    mov $E820_BUFFER + 8, %si   /* base: bytes 0-7, printed high dword first */
    call put_hex64_before
    mov $' ', %al
    call putc
    mov $E820_BUFFER + 16, %si  /* length: bytes 8-15 */
    call put_hex64_before
    mov $' ', %al
    call putc
    mov E820_BUFFER + 16, %al   /* type: byte 16 (types are small) */
    call put_hex8
    call newline
    test %ebx, %ebx
    jnz 10b
12: mov $msg_e820_count, %si
    call puts
    mov e820_entries, %al
    call put_hex8
    call newline
    ret

/* put_hex64_before: the 8-byte little-endian value ending at SI (SI = its address + 8). */
put_hex64_before:
    push %cx
    mov $8, %cx
13: dec %si
    mov (%si), %al
    call put_hex8
    loop 13b
    pop %cx
    ret

e820_entries: .byte 0
    .balign 4
packet:                         /* EDD 3.0, table 1: the disk address packet */
    .byte 16, 0                 /* size, reserved */
    .word 1                     /* blocks */
    .word LOAD_BUFFER, 0        /* offset, segment */
    .quad DATA_LBA

msg_lba: .asciz "bios-disk: int 13h LBA read of sector 8: "
msg_no_ext: .asciz "FAIL: int 13h AH=41h (extensions) status 0x"
msg_lba_failed: .asciz "FAIL: int 13h AH=42h (LBA read) status 0x"
msg_e820: .asciz "bios-disk: e820 "
msg_e820_count: .asciz "bios-disk: e820 entries: 0x"
msg_keys: .asciz "bios-disk: type keys, Enter ends\n"
msg_key: .asciz "bios-disk: key "
msg_done: .asciz "bios-disk: done\n"

    .org DATA_LBA * 512
    .ascii "the data sector, found by LBA\n"
    .byte 0
    .org (DATA_LBA + 1) * 512
