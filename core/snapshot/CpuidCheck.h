#pragma once
// Whether a saved guest can go on on this host: each feature bit the vcpu's CPUID showed the
// guest must be one this host's KVM offers (KVM_GET_SUPPORTED_CPUID), or code the guest chose
// by that bit (AVX-512, say) would fault after the restore.
#include "kvm/compat.h"

#include <string>
#include <vector>

namespace kvmscope::snapshot {

// Throws LoadError naming `file`, `section`, the leaf, subleaf, register and bit of the first
// feature `saved` has and `supported` lacks.
void checkCpuidSubset(const std::vector<kvm_cpuid_entry2>& saved,
                      const std::vector<kvm_cpuid_entry2>& supported, const std::string& file,
                      const std::string& section);

} // namespace kvmscope::snapshot
