#pragma once
// The host CPU's feature flags as the kernel lists them on /proc/cpuinfo's "flags" line (vmx,
// svm, hypervisor, ...): what tells hardware virtualization from a nested or software layer.
#include <optional>
#include <set>
#include <string>

namespace kvmscope {

// The first processor's flags (every CPU of a host lists the same); from `cpuinfoText` when
// given (tests), else from /proc/cpuinfo. Empty when there is no flags line.
std::set<std::string> cpuFlags(const std::optional<std::string>& cpuinfoText = std::nullopt);

} // namespace kvmscope
