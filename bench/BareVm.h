#pragma once
// The floors' VM, shared by the benchmarks that compare kvmscope with a bare KVM loop: RAM, the
// in-kernel irqchip and PIT as kvmscope creates them, `image` at kLoadAddress and one vcpu in
// real mode at `rip` (flat segments at 0). Nothing else: no device model, no threads.
#include "kvm/System.h"
#include "kvm/Vcpu.h"
#include "kvm/Vm.h"
#include "machine/GuestMemory.h"

#include <cstdint>
#include <vector>

namespace kvmscope::bench {

constexpr uint64_t kGuestRam = 16ull << 20;
constexpr uint64_t kLoadAddress = 0x7c00;
constexpr uint64_t kIdentityMapAddress = 0xfeffc000;
constexpr uint64_t kTssAddress = 0xfeffd000;

struct BareVm {
    kvm::Vm vm;
    GuestMemory memory{kGuestRam};
    kvm::Vcpu vcpu;

    BareVm(kvm::System& system, const std::vector<uint8_t>& image, uint64_t rip)
        : vm(system.createVm()), vcpu(setUp(system, image)) {
        kvm_sregs sregs = vcpu.sregs();
        for (kvm_segment* segment : {&sregs.cs, &sregs.ds, &sregs.es, &sregs.ss}) {
            segment->selector = 0;
            segment->base = 0;
        }
        vcpu.setSregs(sregs);
        kvm_regs regs{};
        regs.rip = rip;
        regs.rflags = 0x2;
        regs.rsp = kLoadAddress;
        vcpu.setRegs(regs);
    }

private:
    kvm::Vcpu setUp(kvm::System& system, const std::vector<uint8_t>& image) {
        vm.setMemoryRegion(0, 0, kGuestRam, memory.regions().front().host);
        vm.setIdentityMapAddress(kIdentityMapAddress);
        vm.setTssAddress(kTssAddress);
        vm.createIrqchip();
        vm.createPit2(KVM_PIT_SPEAKER_DUMMY);
        kvm::Vcpu created = vm.createVcpu(0);
        created.setCpuid(system.supportedCpuid());
        memory.write(kLoadAddress, image.data(), image.size());
        return created;
    }
};

} // namespace kvmscope::bench
