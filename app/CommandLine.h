#pragma once
// kvmscope's command line: options, their validation, and --help text.
#include "debug/gdb/GdbServer.h"
#include "machine/MachineConfig.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kvmscope::snapshot {
class MachineImage;
}

namespace kvmscope::app {

enum class SerialMode { Stdio, None, File };

struct CommandLine {
    MachineConfig machine;
    bool headless = false;
    bool listDemos = false;
    bool showHelp = false;
    bool showVersion = false;
    bool showHostInfo = false; // --host-info: print the host's profile and exit
    std::string demo;          // --demo NAME
    bool cpusGiven = false;    // --cpus was given (a demo's suggested count yields to it)
    // --paused: the machine waits before its first instruction (the window: until Run; headless:
    // until a gdb client continues it, so it needs --gdb).
    bool startPaused = false;
    bool noReboot = false; // --no-reboot: a guest reset ends the run (status 0)
    SerialMode serial = SerialMode::Stdio;
    std::string serialPath; // --serial file:PATH
    std::optional<double> timeoutSeconds;
    std::string logLevel = "warn";
    // --gdb [HOST:]PORT: serve gdb's remote protocol; the guest waits for the client to continue.
    std::optional<debug::gdb::GdbEndpoint> gdb;
    // --restore FILE: the machine is the snapshot's (docs/snapshots.md); no image, demo or option
    // that shapes the machine may be given with it. main() reads and checks the file into
    // `restore`, and `machine` becomes its configuration.
    std::string restorePath;
    std::shared_ptr<const snapshot::MachineImage> restore;
    // --save-state FILE (headless): save the machine to FILE when --timeout runs out (then stop)
    // and on SIGUSR1 (then run on).
    std::string saveStatePath;
};

// Parses argv; throws InputError with a message naming the option and the value.
CommandLine parseCommandLine(const std::vector<std::string>& arguments);

std::string helpText();

} // namespace kvmscope::app
