#include "CommandLine.h"

#include "common/Error.h"

#include <charconv>
#include <cstdlib>
#include <fmt/format.h>

namespace kvmscope::app {
namespace {

uint64_t parseNumber(const std::string& option, const std::string& text) {
    uint64_t value = 0;
    int base = 10;
    std::string_view digits = text;
    if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
        base = 16;
        digits.remove_prefix(2);
    }
    const auto [end, error] =
        std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
    if (error != std::errc() || end != digits.data() + digits.size() || digits.empty())
        throw InputError(fmt::format("{} '{}': expected a number", option, text));
    return value;
}

} // namespace

CommandLine parseCommandLine(const std::vector<std::string>& arguments) {
    CommandLine result;
    std::vector<std::string> positional;
    bool firmwareGiven = false;
    // Options that shape the machine, which --restore takes from its file instead.
    std::vector<std::string> machineOptions;
    for (size_t i = 1; i < arguments.size(); ++i) {
        const std::string& argument = arguments[i];
        std::string name = argument;
        std::optional<std::string> inlineValue;
        if (argument.rfind("--", 0) == 0) {
            const auto equals = argument.find('=');
            if (equals != std::string::npos) {
                name = argument.substr(0, equals);
                inlineValue = argument.substr(equals + 1);
            }
        }
        auto value = [&]() -> std::string {
            if (inlineValue)
                return *inlineValue;
            if (i + 1 >= arguments.size())
                throw InputError(fmt::format("option {} needs a value (see --help)", name));
            return arguments[++i];
        };
        auto noValue = [&] {
            if (inlineValue)
                throw InputError(fmt::format("option {} takes no value", name));
        };

        if (name == "--help" || name == "-h") {
            noValue();
            result.showHelp = true;
        } else if (name == "--version") {
            noValue();
            result.showVersion = true;
        } else if (name == "--host-info") {
            noValue();
            result.showHostInfo = true;
        } else if (name == "--headless") {
            noValue();
            result.headless = true;
        } else if (name == "--no-host-workarounds") {
            machineOptions.push_back(name);
            noValue();
            result.machine.hostWorkarounds = false;
        } else if (name == "--paused") {
            noValue();
            result.startPaused = true;
        } else if (name == "--no-reboot") {
            noValue();
            result.noReboot = true;
        } else if (name == "--list-demos") {
            noValue();
            result.listDemos = true;
        } else if (name == "--demo") {
            result.demo = value();
        } else if (name == "--format") {
            machineOptions.push_back(name);
            const std::string text = value();
            if (!boot::parseImageFormat(text, result.machine.boot.format))
                throw InputError(fmt::format(
                    "--format '{}': expected one of auto, flat, multiboot, multiboot2, elf, linux, "
                    "pvh",
                    text));
        } else if (name == "--disk") {
            machineOptions.push_back(name);
            result.machine.disks.push_back(storage::parseDiskSpec(value(), "--disk"));
        } else if (name == "--cdrom") {
            machineOptions.push_back(name);
            result.machine.disks.push_back(storage::cdromSpec(value()));
        } else if (name == "--firmware") {
            machineOptions.push_back(name);
            firmwareGiven = true;
            const std::string text = value();
            if (!firmware::parseFirmwareKind(text, result.machine.firmware.kind))
                throw InputError(fmt::format("--firmware '{}': expected bios or none", text));
        } else if (name == "--firmware-file") {
            machineOptions.push_back(name);
            result.machine.firmware.path = value();
            if (result.machine.firmware.path.empty())
                throw InputError("--firmware-file: expected a path");
        } else if (name == "--memory" || name == "-m") {
            machineOptions.push_back(name);
            result.machine.memorySize = parseSize(value(), "--memory");
        } else if (name == "--cpus") {
            machineOptions.push_back(name);
            const std::string text = value();
            const uint64_t cpus = parseNumber("--cpus", text);
            if (cpus < 1 || cpus > MachineConfig::kMaxCpus)
                throw InputError(fmt::format("--cpus '{}': must be between 1 and {}", text,
                                             MachineConfig::kMaxCpus));
            result.machine.cpus = static_cast<unsigned>(cpus);
            result.cpusGiven = true;
        } else if (name == "--append") {
            machineOptions.push_back(name);
            result.machine.boot.commandLine = value();
        } else if (name == "--initrd") {
            machineOptions.push_back(name);
            result.machine.boot.initrdPath = value();
        } else if (name == "--symbols") {
            result.machine.symbolsPath = value();
        } else if (name == "--framebuffer") {
            machineOptions.push_back(name);
            result.machine.framebuffer.enabled = true;
            parseFramebufferMode(value(), result.machine.framebuffer, "--framebuffer");
        } else if (name == "--no-framebuffer") {
            machineOptions.push_back(name);
            noValue();
            result.machine.framebuffer.enabled = false;
        } else if (name == "--load-address") {
            machineOptions.push_back(name);
            result.machine.boot.loadAddress = parseNumber("--load-address", value());
        } else if (name == "--serial") {
            const std::string text = value();
            if (text == "stdio")
                result.serial = SerialMode::Stdio;
            else if (text == "none")
                result.serial = SerialMode::None;
            else if (text.rfind("file:", 0) == 0 && text.size() > 5) {
                result.serial = SerialMode::File;
                result.serialPath = text.substr(5);
            } else
                throw InputError(
                    fmt::format("--serial '{}': expected stdio, none or file:PATH", text));
        } else if (name == "--timeout") {
            const std::string text = value();
            char* end = nullptr;
            const double seconds = std::strtod(text.c_str(), &end);
            if (text.empty() || *end != '\0' || !(seconds > 0) || seconds > 1e7)
                throw InputError(
                    fmt::format("--timeout '{}': expected a positive number of seconds", text));
            result.timeoutSeconds = seconds;
        } else if (name == "--gdb") {
            result.gdb = debug::gdb::parseEndpoint(value(), "--gdb");
        } else if (name == "--restore") {
            result.restorePath = value();
            if (result.restorePath.empty())
                throw InputError("--restore: expected a snapshot file");
        } else if (name == "--save-state") {
            result.saveStatePath = value();
            if (result.saveStatePath.empty())
                throw InputError("--save-state: expected a file to save to");
        } else if (name == "--log-level") {
            result.logLevel = value();
        } else if (argument.size() > 1 && argument[0] == '-') {
            throw InputError(fmt::format("unknown option '{}' (see --help)", argument));
        } else {
            positional.push_back(argument);
        }
    }
    if (positional.size() > 1)
        throw InputError(
            fmt::format("more than one image given: '{}' and '{}'", positional[0], positional[1]));
    if (!positional.empty())
        result.machine.boot.imagePath = positional.front();
    if (!positional.empty() && !result.demo.empty())
        throw InputError("give either an IMAGE or --demo NAME, not both");
    if (!result.restorePath.empty()) {
        if (!positional.empty() || !result.demo.empty())
            throw InputError(fmt::format("--restore {}: the machine comes from the snapshot; give "
                                         "no IMAGE or --demo with it",
                                         result.restorePath));
        if (!machineOptions.empty())
            throw InputError(fmt::format("--restore {}: the machine comes from the snapshot; {} "
                                         "cannot be given with it",
                                         result.restorePath, machineOptions.front()));
        return result;
    }
    // Disks and CDs boot through the firmware unless a kernel is loaded directly.
    if (!firmwareGiven && positional.empty() && result.demo.empty() &&
        !result.machine.disks.empty())
        result.machine.firmware.kind = firmware::FirmwareKind::Bios;
    result.machine.boot.cpus = result.machine.cpus;
    return result;
}

std::string helpText() {
    return R"(Usage: kvmscope [OPTIONS] [IMAGE]
       kvmscope --headless [OPTIONS] (IMAGE | --demo NAME)

kvmscope boots a guest on KVM and shows what happens inside it.

Options:
  --headless            run without a window; the serial console is the terminal
  --format F            image format: auto (default), flat, multiboot, multiboot2, elf,
                        linux, pvh
                        (pvh: an ELF vmlinux, or a bzImage's xz/gzip/zstd payload)
  --disk FILE[,format=raw][,readonly][,if=virtio|ide]
                        a raw disk image as a virtio-blk disk (default) or an IDE disk; locked
                        while the machine runs. A comma in FILE is written ",,"
  --cdrom FILE          an ISO image as the disc of an IDE (ATAPI) CD-ROM drive
  --firmware KIND       none: kvmscope loads IMAGE and enters it (the default with an IMAGE);
                        bios: SeaBIOS starts at the reset vector and boots from the disks (the
                        default with --disk or --cdrom and no IMAGE; its log is the "firmware"
                        logger, shown with --log-level info)
  --firmware-file FILE  the BIOS image for --firmware bios (default
                        /usr/share/seabios/bios-256k.bin, Debian's package seabios)
  --memory SIZE, -m     guest RAM, e.g. 256M (default), 2G
  --cpus N              number of vcpus (default 1, up to 255)
  --append TEXT         kernel command line
  --initrd FILE         initial ramdisk (multiboot 1 and 2: the first module)
  --symbols FILE        guest symbols for the debugger: an ELF (.symtab) or a System.map
                        (default: the image's own .symtab when it is an ELF that has one)
  --framebuffer WxHxBPP linear framebuffer mode (default 1024x768x32; BPP 15, 16, 24 or 32, at
                        most 2560x1600): the Bochs dispi starts with it, Linux is told of it
  --no-framebuffer      no linear framebuffer and no Bochs dispi (VGA text only)
  --load-address ADDR   where a flat binary is loaded (default 0x7c00)
  --serial MODE         COM1: stdio (default), none, or file:PATH
  --timeout SECONDS     stop the guest after this long (exit status 6)
  --no-reboot           when the guest resets, exit (status 0) instead of booting it again
  --paused              create the machine paused before its first instruction: the window
                        runs it on Run (F5); headless, a gdb client continues it (needs --gdb).
                        Without it the guest runs at once (as Machine > New... unticked)
  --no-host-workarounds on a host without VMX/SVM, do not add the kernel parameters that avoid
                        instructions KVM's emulator cannot run, hide the KVM features used
                        through hypercalls from the guest's CPUID, or boot a detected bzImage
                        by PVH (docs/boot.md)
  --gdb [HOST:]PORT     headless: serve gdb's remote protocol on HOST (default 127.0.0.1) and
                        PORT (gdb's usual one is 1234; 0 picks a free port); the guest waits
                        before its first instruction until the client continues it, and the
                        client's `kill` ends the run (the window: Machine > gdb server)
  --restore FILE        continue the machine saved in FILE by --save-state: its RAM size,
                        vcpus, disks and devices come from the file, so no IMAGE, --demo or
                        machine option goes with it; a damaged file, one of another version,
                        one whose disk images changed since, or one saved on a host with a CPU
                        feature this one lacks is refused (status 2) and nothing runs
  --save-state FILE     headless: save the whole machine to FILE when --timeout runs out (then
                        stop, status 6), each time SIGUSR1 arrives (then run on), and when
                        SIGUSR2 arrives (then stop, status 140); requests a virtio disk took
                        complete and the disks are flushed first
  --log-level LEVEL     trace, debug, info, warn (default), error, critical, off
  --demo NAME           run a bundled demo guest
  --list-demos          list the bundled demos
  --host-info           print what this host's KVM offers (virtualization kind, limits,
                        capabilities, kernel device types, the debug mechanisms that work) and
                        exit; the window's Host dock shows the same
  --help, -h            show this help
  --version             show the version

On a terminal, Ctrl-A x quits and Ctrl-A Ctrl-A sends Ctrl-A to the guest.

Exit status:
  0   the guest powered off (or stopped cleanly)
  1+  (V << 1) | 1 when the guest wrote V to the debug-exit port 0xf4
  2   bad input or options
  3   KVM is not available or refused to create the VM
  4   the guest crashed (triple fault, internal error, failed entry)
  6   --timeout ran out
  130 Ctrl-C (SIGINT); 143 SIGTERM; 129 SIGHUP (at any stage)
)";
}

} // namespace kvmscope::app
