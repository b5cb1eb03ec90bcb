#pragma once
// Whether a saved guest can go on on this host: each feature bit the vcpu's CPUID showed the
// guest must be one this host's KVM offers (KVM_GET_SUPPORTED_CPUID) or gives the vcpus it runs
// anyway, or code the guest chose by that bit (AVX-512, say) would fault after the restore. The
// second matters on hosts whose KVM reads back more than it offers: kvm_pvm's KVM_GET_CPUID2
// shows the host's own feature bits (SSE3 and up) beside the few KVM_GET_SUPPORTED_CPUID lists,
// and a vcpu there runs with them whatever it was given.
#include "kvm/compat.h"

#include <string>
#include <vector>

namespace kvmscope::snapshot {

// Throws LoadError naming `file`, `section`, the leaf, subleaf, register and bit of the first
// feature `saved` has and neither `supported` nor `current` (the CPUID a vcpu of this host reads
// back now, KVM_GET_CPUID2; may be empty) has.
void checkCpuidSubset(const std::vector<kvm_cpuid_entry2>& saved,
                      const std::vector<kvm_cpuid_entry2>& supported, const std::string& file,
                      const std::string& section,
                      const std::vector<kvm_cpuid_entry2>& current = {});

} // namespace kvmscope::snapshot
