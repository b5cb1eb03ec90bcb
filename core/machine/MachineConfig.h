#pragma once
// Everything needed to assemble and boot one VM; filled by the CLI, the GUI's dialog or a test.
#include "boot/BootPlan.h"

#include <cstdint>
#include <string>

namespace kvmscope {

struct MachineConfig {
    std::string name = "vm";
    uint64_t memorySize = 256ull << 20;
    unsigned cpus = 1;
    boot::BootOptions boot;
    // Create one kernel device (KVM_CREATE_DEVICE) of every type the host offers, so that its
    // attributes can be inspected. It does nothing for the guest, and tearing a VFIO device down
    // costs ~10 ms at exit on some hosts, so the headless CLI leaves it off unless asked.
    bool inspectKernelDevices = true;

    static constexpr unsigned kMaxCpus = 255; // xAPIC ids (the MP table's limit)

    // Throws InputError naming the field and the value when something is out of range.
    void validate() const;
};

// Parses "256M", "2G", "1048576", "64K" (binary units); throws InputError naming `what`.
uint64_t parseSize(const std::string& text, const std::string& what);

} // namespace kvmscope
