#pragma once
// kvmscope's command line: options, their validation, and --help text.
#include "debug/gdb/GdbServer.h"
#include "machine/MachineConfig.h"

#include <optional>
#include <string>
#include <vector>

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
};

// Parses argv; throws InputError with a message naming the option and the value.
CommandLine parseCommandLine(const std::vector<std::string>& arguments);

std::string helpText();

} // namespace kvmscope::app
