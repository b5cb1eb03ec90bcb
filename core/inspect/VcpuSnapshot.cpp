#include "inspect/VcpuSnapshot.h"

#include "cpu/VcpuRunner.h"

namespace kvmscope::inspect {
namespace {

// On the vcpu thread.
KvmTranslation kvmTranslate(const kvm::Vcpu& vcpu, uint64_t linear) {
    const kvm_translation answer = vcpu.translate(linear);
    return KvmTranslation{linear, answer.valid != 0, answer.physical_address};
}

// On the vcpu thread: the state, then KVM's translations of RIP and of `translate`.
VcpuSnapshot readSnapshot(kvm::Vcpu& vcpu, const std::vector<uint32_t>& msrIndices,
                          std::span<const uint64_t> translate) {
    VcpuSnapshot snapshot;
    snapshot.cpu = cpu::readCpuState(vcpu, msrIndices);
    snapshot.vcpu = snapshot.cpu.vcpu;
    snapshot.pc = cpu::linearPc(snapshot.cpu.regs, snapshot.cpu.sregs);
    snapshot.translations.reserve(1 + translate.size());
    snapshot.translations.push_back(kvmTranslate(vcpu, snapshot.pc));
    for (const uint64_t linear : translate)
        if (!snapshot.translation(linear))
            snapshot.translations.push_back(kvmTranslate(vcpu, linear));
    return snapshot;
}

} // namespace

const char* toString(ParkedState state) {
    switch (state) {
    case ParkedState::Created:
        return "created";
    case ParkedState::Paused:
        return "paused";
    case ParkedState::Stopped:
        return "stopped";
    }
    return "?";
}

const KvmTranslation* VcpuSnapshot::translation(uint64_t linear) const {
    for (const KvmTranslation& answer : translations)
        if (answer.linear == linear)
            return &answer;
    return nullptr;
}

VcpuSnapshot captureVcpuSnapshot(cpu::VcpuRunner& runner, std::span<const uint64_t> translate,
                                 int timeoutMs) {
    // call() returns only after the work has run or been withdrawn: references stay valid.
    return runner.call(
        [&runner, translate](kvm::Vcpu& vcpu) {
            return readSnapshot(vcpu, runner.msrIndices(), translate);
        },
        timeoutMs);
}

KvmTranslation translateOnVcpu(cpu::VcpuRunner& runner, uint64_t linear, int timeoutMs) {
    return runner.call([linear](kvm::Vcpu& vcpu) { return kvmTranslate(vcpu, linear); }, timeoutMs);
}

VcpuSnapshot writeAndCapture(cpu::VcpuRunner& runner, const RegisterWrite& write,
                             std::span<const uint64_t> translate, int timeoutMs) {
    return runner.call(
        [&runner, &write, translate](kvm::Vcpu& vcpu) {
            kvm_regs regs = vcpu.regs();
            regs.*write.field = write.value;
            vcpu.setRegs(regs);
            return readSnapshot(vcpu, runner.msrIndices(), translate);
        },
        timeoutMs);
}

} // namespace kvmscope::inspect
