#include "devices/kernel/SystemAttributes.h"

#include "kvm/KvmError.h"
#include "kvm/compat.h"

#include <fmt/format.h>

namespace kvmscope {

SystemAttributes::SystemAttributes(kvm::System& system) : system_(system) {
    if (system_.hasAttr(KVM_X86_GRP_SYSTEM, KVM_X86_XCOMP_GUEST_SUPP))
        attributes_.push_back({KVM_X86_GRP_SYSTEM, KVM_X86_XCOMP_GUEST_SUPP, "KVM_X86_GRP_SYSTEM",
                               "KVM_X86_XCOMP_GUEST_SUPP", AttrType::U64, AttrAccess::Read,
                               "XSAVE state components KVM can give a guest (XCR0 bits)"});
}

AttrValue SystemAttributes::getAttr(uint32_t group, uint64_t attr) const {
    const AttributeInfo info = requireAttr(group, attr);
    try {
        return AttrValue::of(system_.getAttr(group, attr));
    } catch (const kvm::KvmError& error) {
        throw AttributeError(fmt::format("{}: {}: {}", name(), info.name, error.what()));
    }
}

void SystemAttributes::setAttr(uint32_t group, uint64_t attr, const AttrValue& value) {
    requireWritable(requireAttr(group, attr), value); // read-only: throws
}

} // namespace kvmscope
