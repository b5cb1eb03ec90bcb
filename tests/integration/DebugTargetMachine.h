#pragma once
// Shared by the debug engine's integration tests: a Machine booted from the debug-target guest
// (resources/guests/debug-target), its symbols from the guest's own ELF, the serial output
// collected, and the waits those tests make. A test class inherits it; /dev/kvm is opened at
// the first boot(), after initTestCase() has checked it (KVMSCOPE_REQUIRE_KVM).
#include "CollectingSink.h"
#include "KvmTestSupport.h"
#include "debug/Debugger.h"
#include "machine/Machine.h"

#include <memory>

namespace kvmscope::testing {

class DebugTargetMachine {
public:
    static constexpr int kTimeoutMs = 30000;

    DebugTargetMachine()
        : symbols_(debug::SymbolTable::fromElfFile(guestPath("debug-target").toStdString())) {}

    // A fresh machine with `cpus` vcpus (the others than the first wait for a SIPI that never
    // comes: all-stop still holds), booted and parked at its entry.
    void boot(size_t cpus) {
        machine_.reset();
        if (!system_)
            system_ = std::make_unique<kvm::System>();
        sink_ = std::make_unique<CollectingSink>();
        MachineConfig config;
        config.memorySize = 64ull << 20;
        config.cpus = cpus;
        config.boot.imagePath = guestPath("debug-target").toStdString();
        machine_ = std::make_unique<Machine>(config, *system_, *sink_);
        machine_->boot();
        machine_->debugger().guest().setSymbols(symbols_);
    }
    void shutDown() {
        machine_.reset();
        sink_.reset();
    }

    Machine& machine() { return *machine_; }
    debug::Debugger& debugger() { return machine_->debugger(); }
    CollectingSink& sink() { return *sink_; }
    const debug::SymbolTable& symbols() const { return symbols_; }

    uint64_t symbol(const char* name) const {
        const auto address = symbols_.addressOf(name);
        if (!address)
            qFatal("debug-target has no symbol %s", name);
        return *address;
    }
    // The next stop after the last continue or step; the test ends (with the serial output so
    // far) when none comes in time.
    debug::DebugStop expectStop() {
        const auto stop = debugger().waitForStop(kTimeoutMs);
        if (!stop)
            qFatal("no debug stop within %d ms; serial: %s", kTimeoutMs, sink_->text().constData());
        return *stop;
    }

private:
    std::unique_ptr<kvm::System> system_;
    debug::SymbolTable symbols_;
    std::unique_ptr<CollectingSink> sink_;
    std::unique_ptr<Machine> machine_;
};

} // namespace kvmscope::testing
