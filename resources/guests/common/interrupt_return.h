/* RETURN_FROM_INTERRUPT, for the 32-bit guests' interrupt entry points (assembler only).
 *
 * Returns from an interrupt taken at the same privilege level without IRET, whose protected-mode
 * form KVM's instruction emulator lacks (em_iret handles real mode only): on a host that runs
 * guest ring 0 in that emulator (kvm_pvm, docs/boot.md) an IRET stops the vcpu with an emulation
 * failure. The frame is EIP, CS, EFLAGS and the code segment stays the same, so: a copy of EFLAGS
 * on top, POPF (IF and the arithmetic flags as they were), then a near RET that drops CS and the
 * original EFLAGS. An interrupt taken between the POPF and the RET nests and returns to the RET. */
#pragma once

#define RETURN_FROM_INTERRUPT \
    pushl 8(%esp);            \
    popfl;                    \
    ret $8
