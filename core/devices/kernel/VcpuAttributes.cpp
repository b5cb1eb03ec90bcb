#include "devices/kernel/VcpuAttributes.h"

#include "cpu/VcpuRunner.h"
#include "kvm/compat.h"

#include <fmt/format.h>

namespace kvmscope {
namespace {

constexpr int kCallTimeoutMs = 1000;

const AttributeInfo kKnownAttributes[] = {
    {KVM_VCPU_TSC_CTRL, KVM_VCPU_TSC_OFFSET, "KVM_VCPU_TSC_CTRL", "KVM_VCPU_TSC_OFFSET",
     AttrType::U64, AttrAccess::ReadWrite,
     "offset added to the host TSC to give the guest's TSC (some hosts accept and ignore writes)"},
};

} // namespace

VcpuAttributes::VcpuAttributes(cpu::VcpuRunner& runner) : runner_(runner) {
    for (const auto& info : kKnownAttributes) {
        const bool present = runner_.call(
            [&](kvm::Vcpu& vcpu) { return vcpu.hasAttr(info.group, info.attr); }, kCallTimeoutMs);
        if (present)
            attributes_.push_back(info);
    }
}

std::string VcpuAttributes::name() const {
    return fmt::format("vcpu {}", runner_.index());
}

AttrValue VcpuAttributes::getAttr(uint32_t group, uint64_t attr) const {
    const AttributeInfo info = requireAttr(group, attr);
    try {
        return AttrValue::of(runner_.call(
            [&](kvm::Vcpu& vcpu) { return vcpu.getAttr(group, attr); }, kCallTimeoutMs));
    } catch (const Error& error) {
        throw AttributeError(fmt::format("{}: {}: {}", name(), info.name, error.what()));
    }
}

void VcpuAttributes::setAttr(uint32_t group, uint64_t attr, const AttrValue& value) {
    const AttributeInfo info = requireAttr(group, attr);
    requireWritable(info, value);
    try {
        runner_.call([&](kvm::Vcpu& vcpu) { vcpu.setAttr(group, attr, value.scalar); },
                     kCallTimeoutMs);
    } catch (const Error& error) {
        throw AttributeError(fmt::format("{}: {}: {}", name(), info.name, error.what()));
    }
}

} // namespace kvmscope
