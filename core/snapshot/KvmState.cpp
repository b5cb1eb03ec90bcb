#include "snapshot/KvmState.h"

#include "common/Error.h"
#include "kvm/KvmError.h"
#include "kvm/Vcpu.h"
#include "kvm/Vm.h"
#include "log/Log.h"
#include "snapshot/ByteCodec.h"

#include <algorithm>
#include <fmt/format.h>

namespace kvmscope::snapshot {
namespace {

// SDM Vol. 3, Table 2-2 / the kernel's msr-index.h: the TSC-deadline MSR, which only means
// something once the LAPIC's timer is in TSC-deadline mode.
constexpr uint32_t kMsrTscDeadline = 0x6e0;

void encodeMsrs(RecordWriter& out, const std::vector<kvm_msr_entry>& msrs) {
    ByteWriter list;
    list.put(static_cast<uint32_t>(msrs.size()));
    for (const kvm_msr_entry& entry : msrs) {
        list.put(entry.index);
        list.put(static_cast<uint64_t>(entry.data));
    }
    out.add("msrs", list.bytes());
}

std::vector<kvm_msr_entry> decodeMsrs(const Records& records) {
    ByteReader in = records.reader("msrs");
    const auto count = in.take<uint32_t>("MSR count");
    if (count > in.left() / 12)
        in.fail(fmt::format("{} MSRs cannot fit in {} bytes", count, in.left()));
    std::vector<kvm_msr_entry> msrs(count);
    for (kvm_msr_entry& entry : msrs) {
        entry.index = in.take<uint32_t>("MSR index");
        entry.data = in.take<uint64_t>("MSR value");
    }
    in.finish();
    return msrs;
}

void encodeCpuid(RecordWriter& out, const std::vector<kvm_cpuid_entry2>& cpuid) {
    ByteWriter list;
    list.put(static_cast<uint32_t>(cpuid.size()));
    for (const kvm_cpuid_entry2& entry : cpuid)
        for (uint32_t value :
             {entry.function, entry.index, entry.flags, entry.eax, entry.ebx, entry.ecx, entry.edx})
            list.put(value);
    out.add("cpuid", list.bytes());
}

std::vector<kvm_cpuid_entry2> decodeCpuid(const Records& records) {
    ByteReader in = records.reader("cpuid");
    const auto count = in.take<uint32_t>("CPUID entry count");
    if (count > in.left() / 28)
        in.fail(fmt::format("{} CPUID entries cannot fit in {} bytes", count, in.left()));
    std::vector<kvm_cpuid_entry2> cpuid(count);
    for (kvm_cpuid_entry2& entry : cpuid)
        for (uint32_t* value : {&entry.function, &entry.index, &entry.flags, &entry.eax, &entry.ebx,
                                &entry.ecx, &entry.edx})
            *value = in.take<uint32_t>("CPUID value");
    in.finish();
    return cpuid;
}

} // namespace

std::string vcpuSectionName(size_t index) {
    return fmt::format("vcpu.{}", index);
}

VcpuState captureVcpu(kvm::Vcpu& vcpu, size_t xsaveSize, const std::vector<uint32_t>& msrIndices) {
    VcpuState state;
    state.regs = vcpu.regs();
    state.sregs = vcpu.sregs();
    if (xsaveSize > 0)
        state.xsave = vcpu.xsave(xsaveSize);
    else
        state.fpu = vcpu.fpu();
    try {
        state.xcrs = vcpu.xcrs();
    } catch (const kvm::KvmError&) {
        // No KVM_CAP_XCRS on this host (api.rst, "KVM_GET_XCRS"): XCR0 is the reset value.
    }
    // Every MSR KVM saves and restores for a guest (KVM_GET_MSR_INDEX_LIST), the TSC among them;
    // ones this vcpu refuses to read are left out (Vcpu::msrs).
    state.msrs = vcpu.msrs(msrIndices);
    state.lapic = vcpu.lapic();
    state.events = vcpu.events();
    state.mpState = vcpu.mpState();
    state.debugRegs = vcpu.debugRegs();
    state.cpuid = vcpu.cpuid();
    return state;
}

void applyVcpu(kvm::Vcpu& vcpu, const VcpuState& state, size_t xsaveSize, const std::string& file) {
    // The CPUID first: KVM checks later state against it (api.rst, "KVM_SET_CPUID2": long mode
    // in KVM_SET_SREGS, XCR0 in KVM_SET_XCRS, MSRs the guest's CPUID has).
    vcpu.setCpuid(state.cpuid);
    // KVM_SET_SREGS before KVM_SET_REGS: setting CR0/CR4/EFER can change how KVM reads the
    // general registers' mode, and the APIC base (in sregs) must be right before KVM_SET_LAPIC.
    vcpu.setSregs(state.sregs);
    vcpu.setRegs(state.regs);
    if (!state.xsave.empty()) {
        if (xsaveSize == 0 || state.xsave.size() > std::max(xsaveSize, sizeof(kvm_xsave)))
            throw LoadError(file,
                            fmt::format("section '{}': record 'xsave' holds {} bytes, this "
                                        "host's XSAVE area has {}",
                                        vcpuSectionName(vcpu.id()), state.xsave.size(), xsaveSize));
        // A smaller area (saved where no dynamic feature was enabled) is the same layout with
        // those components absent: XSTATE_BV has their bits clear, so zeros past it are right.
        std::vector<uint8_t> area = state.xsave;
        area.resize(std::max(xsaveSize, sizeof(kvm_xsave)), 0);
        vcpu.setXsave(area);
    } else if (state.fpu) {
        vcpu.setFpu(*state.fpu);
    }
    if (state.xcrs)
        vcpu.setXcrs(*state.xcrs);
    // MSRs (the TSC among them: a host-initiated write sets the TSC offset) before the LAPIC,
    // except the TSC deadline, which KVM ignores unless the LAPIC timer is in TSC-deadline mode:
    // it goes after KVM_SET_LAPIC (as QEMU's kvm_put_tscdeadline_msr does).
    std::vector<kvm_msr_entry> msrs;
    std::vector<kvm_msr_entry> deadline;
    for (const kvm_msr_entry& entry : state.msrs)
        (entry.index == kMsrTscDeadline ? deadline : msrs).push_back(entry);
    // KVM_SET_MSRS stops at the first MSR it refuses (api.rst, "KVM_SET_MSRS"). One this host
    // refuses whose value is already the saved one costs nothing; any other is an error.
    size_t start = 0;
    while (start < msrs.size()) {
        const std::vector<kvm_msr_entry> rest(msrs.begin() + long(start), msrs.end());
        start += vcpu.trySetMsrs(rest);
        if (start == msrs.size())
            break;
        const kvm_msr_entry& refused = msrs[start];
        const auto now = vcpu.msrs({refused.index});
        if (now.empty() || now.front().data != refused.data)
            throw kvm::KvmError("KVM_SET_MSRS", EINVAL,
                                fmt::format("restoring MSR {:#x} = {:#x} on vcpu {}", refused.index,
                                            refused.data, vcpu.id()));
        log::get("snapshot")
            ->debug("vcpu {}: MSR {:#x} refused, already {:#x}", vcpu.id(), refused.index,
                    refused.data);
        ++start;
    }
    vcpu.setLapic(state.lapic);
    if (!deadline.empty())
        vcpu.setMsrs(deadline);
    // Events after the LAPIC (a pending interrupt's injection checks it), with the flags that
    // make KVM take the NMI-pending and SIPI-vector fields too (api.rst, "KVM_SET_VCPU_EVENTS").
    kvm_vcpu_events events = state.events;
    events.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR;
    vcpu.setEvents(events);
    // The MP state last: an AP that waits for its SIPI (INIT_RECEIVED) or a halted vcpu stays so
    // only when nothing set afterwards changes it (api.rst, "KVM_SET_MP_STATE").
    vcpu.setMpState(state.mpState);
    vcpu.setDebugRegs(state.debugRegs);
}

VmState captureVm(const kvm::Vm& vm) {
    VmState state;
    state.picMaster = vm.getIrqchip(KVM_IRQCHIP_PIC_MASTER);
    state.picSlave = vm.getIrqchip(KVM_IRQCHIP_PIC_SLAVE);
    state.ioapic = vm.getIrqchip(KVM_IRQCHIP_IOAPIC);
    state.pit = vm.getPit2();
    state.clock = vm.getClock();
    return state;
}

void applyVm(kvm::Vm& vm, const VmState& state) {
    vm.setIrqchip(state.picMaster);
    vm.setIrqchip(state.picSlave);
    vm.setIrqchip(state.ioapic);
    vm.setPit2(state.pit);
    // kvmclock goes on from the saved value: without KVM_CLOCK_REALTIME the kernel does not add
    // the wall-clock time that passed since the save (api.rst, "KVM_SET_CLOCK"), so the guest
    // sees no gap, as it sees none in its TSC.
    kvm_clock_data clock{};
    clock.clock = state.clock.clock;
    vm.setClock(clock);
}

std::vector<uint8_t> encodeVcpu(const VcpuState& state) {
    RecordWriter out;
    out.addStruct("regs", state.regs);
    out.addStruct("sregs", state.sregs);
    if (!state.xsave.empty())
        out.add("xsave", state.xsave);
    if (state.fpu)
        out.addStruct("fpu", *state.fpu);
    if (state.xcrs)
        out.addStruct("xcrs", *state.xcrs);
    encodeMsrs(out, state.msrs);
    out.addStruct("lapic", state.lapic);
    out.addStruct("events", state.events);
    out.addStruct("mp_state", state.mpState);
    out.addStruct("debugregs", state.debugRegs);
    encodeCpuid(out, state.cpuid);
    return out.encode();
}

VcpuState decodeVcpu(std::span<const uint8_t> bytes, const std::string& file,
                     const std::string& section) {
    const Records records(bytes, file, section);
    VcpuState state;
    state.regs = records.takeStruct<kvm_regs>("regs");
    state.sregs = records.takeStruct<kvm_sregs>("sregs");
    if (records.has("xsave")) {
        const auto area = records.get("xsave");
        if (area.size() < sizeof(kvm_xsave))
            records.fail("xsave",
                         fmt::format("holds {} bytes, less than the {} of struct kvm_xsave",
                                     area.size(), sizeof(kvm_xsave)));
        state.xsave.assign(area.begin(), area.end());
    } else if (records.has("fpu")) {
        state.fpu = records.takeStruct<kvm_fpu>("fpu");
    } else {
        records.fail("xsave", "is missing (and no record 'fpu' stands in for it)");
    }
    if (records.has("xcrs"))
        state.xcrs = records.takeStruct<kvm_xcrs>("xcrs");
    state.msrs = decodeMsrs(records);
    state.lapic = records.takeStruct<kvm_lapic_state>("lapic");
    state.events = records.takeStruct<kvm_vcpu_events>("events");
    state.mpState = records.takeStruct<kvm_mp_state>("mp_state");
    if (state.mpState.mp_state > KVM_MP_STATE_AP_RESET_HOLD)
        records.fail("mp_state",
                     fmt::format("is {}, which no KVM_MP_STATE_* is", state.mpState.mp_state));
    state.debugRegs = records.takeStruct<kvm_debugregs>("debugregs");
    state.cpuid = decodeCpuid(records);
    if (state.cpuid.empty())
        records.fail("cpuid", "has no entries");
    return state;
}

std::vector<uint8_t> encodeVm(const VmState& state) {
    RecordWriter out;
    out.addStruct("pic master", state.picMaster);
    out.addStruct("pic slave", state.picSlave);
    out.addStruct("ioapic", state.ioapic);
    out.addStruct("pit2", state.pit);
    out.addStruct("clock", state.clock);
    return out.encode();
}

VmState decodeVm(std::span<const uint8_t> bytes, const std::string& file,
                 const std::string& section) {
    const Records records(bytes, file, section);
    VmState state;
    state.picMaster = records.takeStruct<kvm_irqchip>("pic master");
    state.picSlave = records.takeStruct<kvm_irqchip>("pic slave");
    state.ioapic = records.takeStruct<kvm_irqchip>("ioapic");
    const std::pair<const char*, std::pair<const kvm_irqchip*, uint32_t>> chips[] = {
        {"pic master", {&state.picMaster, KVM_IRQCHIP_PIC_MASTER}},
        {"pic slave", {&state.picSlave, KVM_IRQCHIP_PIC_SLAVE}},
        {"ioapic", {&state.ioapic, KVM_IRQCHIP_IOAPIC}}};
    for (const auto& [name, chip] : chips)
        if (chip.first->chip_id != chip.second)
            records.fail(name,
                         fmt::format("has chip id {}, not {}", chip.first->chip_id, chip.second));
    state.pit = records.takeStruct<kvm_pit_state2>("pit2");
    state.clock = records.takeStruct<kvm_clock_data>("clock");
    return state;
}

} // namespace kvmscope::snapshot
