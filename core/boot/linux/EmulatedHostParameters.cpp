#include "boot/linux/EmulatedHostParameters.h"

#include <sstream>

namespace kvmscope::boot {

const std::vector<KernelParameter>& emulatedRing0Parameters() {
    static const std::vector<KernelParameter> parameters = {
        {"clearcpuid=137,141,151,308", "clearcpuid=",
         "KVM's instruction emulator cannot run CMPXCHG16B (CPUID CX16), which the slab allocator "
         "uses, POPCNT, which the bit-counting helpers are patched to use, CLAC/STAC, which "
         "SMAP puts around every user-memory access, or the SSSE3 BLAKE2s of the random number "
         "generator"},
        {"noxsave", "noxsave",
         "KVM's instruction emulator cannot run XRSTOR, which the FPU set-up uses with XSAVE"},
        {"nosoftlockup", "nosoftlockup",
         "ring-0 loops run minutes at emulation speed, which the soft-lockup detector reports "
         "as stuck CPUs, printing stack traces at the same speed"},
        {"mitigations=off", "mitigations=",
         "the guest kernel's speculation mitigations cost instructions on every call and return "
         "at emulation speed and guard nothing where the CPU never executes guest ring-0 code"},
        {"rcupdate.rcu_cpu_stall_suppress=1", "rcupdate.rcu_cpu_stall_suppress=",
         "ring-0 loops of a second natively run for minutes at emulation speed, which RCU reports "
         "as CPU stalls, printing stack traces at the same speed"},
        {"cryptomgr.notests", "cryptomgr.notests",
         "the crypto manager's self-tests (RSA and Diffie-Hellman with multi-precision "
         "arithmetic among them) run for many minutes at emulation speed and hold up the last "
         "initcalls before /init"},
    };
    return parameters;
}

std::string withKernelParameters(const std::string& commandLine,
                                 const std::vector<KernelParameter>& parameters,
                                 std::vector<KernelParameter>* added) {
    std::vector<std::string> words;
    {
        std::istringstream stream(commandLine);
        for (std::string word; stream >> word;)
            words.push_back(word);
    }
    auto alreadySet = [&words](std::string_view key) {
        for (const std::string& word : words)
            if (std::string_view(word).starts_with(key))
                return true;
        return false;
    };
    std::string result = commandLine;
    for (const KernelParameter& parameter : parameters) {
        if (alreadySet(parameter.key))
            continue;
        if (!result.empty() && result.back() != ' ')
            result += ' ';
        result += parameter.text;
        if (added)
            added->push_back(parameter);
    }
    return result;
}

} // namespace kvmscope::boot
