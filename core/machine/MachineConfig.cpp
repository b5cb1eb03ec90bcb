#include "machine/MachineConfig.h"

#include "common/Error.h"
#include "machine/GuestMemory.h"

#include <cctype>
#include <fmt/format.h>
#include <limits>

namespace kvmscope {

void MachineConfig::validate() const {
    if (memorySize < GuestMemory::kMinRamSize || memorySize > GuestMemory::kMaxRamSize)
        throw InputError(
            fmt::format("--memory {:#x}: must be between 1 MiB and 1 TiB", memorySize));
    if (memorySize % 4096 != 0)
        throw InputError(fmt::format("--memory {:#x}: must be a multiple of 4 KiB", memorySize));
    if (cpus < 1 || cpus > kMaxCpus)
        throw InputError(fmt::format("--cpus {}: must be between 1 and {}", cpus, kMaxCpus));
}

uint64_t parseSize(const std::string& text, const std::string& what) {
    auto fail = [&] {
        return InputError(
            fmt::format("{} '{}': expected a size such as 256M, 2G or 1048576", what, text));
    };
    if (text.empty() || !std::isdigit(static_cast<unsigned char>(text.front())))
        throw fail();
    size_t digits = 0;
    uint64_t value = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) {
        const uint64_t digit = static_cast<uint64_t>(text[digits] - '0');
        if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10)
            throw fail();
        value = value * 10 + digit;
        ++digits;
    }
    std::string suffix = text.substr(digits);
    if (!suffix.empty() && (suffix.back() == 'B' || suffix.back() == 'b'))
        suffix.pop_back();
    if (suffix == "iB" || suffix == "i") // "MiB" after popping 'B' leaves "Mi"
        throw fail();
    if (suffix.size() == 2 && (suffix[1] == 'i' || suffix[1] == 'I'))
        suffix.pop_back();
    unsigned shift = 0;
    if (suffix.empty())
        shift = 0;
    else if (suffix == "K" || suffix == "k")
        shift = 10;
    else if (suffix == "M" || suffix == "m")
        shift = 20;
    else if (suffix == "G" || suffix == "g")
        shift = 30;
    else if (suffix == "T" || suffix == "t")
        shift = 40;
    else
        throw fail();
    if (shift && value > (std::numeric_limits<uint64_t>::max() >> shift))
        throw fail();
    return value << shift;
}

} // namespace kvmscope
