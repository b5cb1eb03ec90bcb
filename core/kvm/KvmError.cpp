#include "kvm/KvmError.h"

#include <cerrno>
#include <cstring>

namespace kvmscope::kvm {
namespace {

std::string describe(const std::string& call, int errorNumber, const std::string& context) {
    std::string text =
        call + " failed: " + strerrorname_np(errorNumber) + " (" + std::strerror(errorNumber) + ")";
    if (!context.empty())
        text += " while " + context;
    return text;
}

std::string advice(const std::string& path, int errorNumber) {
    std::string text = "cannot open " + path + ": " + std::strerror(errorNumber) + ". ";
    if (errorNumber == ENOENT || errorNumber == ENODEV || errorNumber == ENXIO)
        text += "KVM is not available on this host: load the module (modprobe kvm_intel or "
                "modprobe kvm_amd), enable virtualization in the firmware, or run kvmscope on a "
                "host or VM that offers nested virtualization.";
    else if (errorNumber == EACCES || errorNumber == EPERM)
        text += "You lack permission: add your user to the 'kvm' group "
                "(sudo usermod -aG kvm $USER, then log in again) or run as root.";
    return text;
}

} // namespace

KvmError::KvmError(std::string call, int errorNumber, const std::string& context)
    : Error(describe(call, errorNumber, context)), call_(std::move(call)), errno_(errorNumber) {}

KvmError::KvmError(std::string call, int errorNumber, FullMessage message)
    : Error(message.text), call_(std::move(call)), errno_(errorNumber) {}

KvmUnavailable::KvmUnavailable(const std::string& path, int errorNumber)
    : KvmError("open", errorNumber, FullMessage{advice(path, errorNumber)}) {}

} // namespace kvmscope::kvm
