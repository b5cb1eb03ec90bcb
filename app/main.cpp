// kvmscope: command line entry. Only this layer decides to exit (STYLE.md "Errors").
#include "CommandLine.h"
#include "Demos.h"
#include "Headless.h"
#include "InstallLayout.h"
#include "common/Error.h"
#include "host/HostProfile.h"
#include "kvm/KvmError.h"
#include "kvm/System.h"
#include "log/Log.h"
#include "snapshot/MachineSnapshot.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <filesystem>
#include <fmt/format.h>
#include <memory>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

constexpr int kStatusBadInput = 2;
constexpr int kStatusKvmUnavailable = 3;

// --host-info: the host's profile as text, or why there is none (status 3, as for a guest).
int printHostInfo() {
    using namespace kvmscope;
    std::unique_ptr<kvm::System> system;
    try {
        system = std::make_unique<kvm::System>();
    } catch (const kvm::KvmError& error) {
        fmt::print("{}", host::formatHostProfile(host::HostProfile::unavailable(error.what())));
        return kStatusKvmUnavailable;
    }
    fmt::print("{}", host::formatHostProfile(host::hostProfile(*system)));
    return 0;
}

// --save-state FILE: refused before anything runs when FILE's directory cannot take it, rather
// than when the guest has run for --timeout seconds.
void checkSaveTarget(const std::string& path) {
    using namespace kvmscope;
    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    const std::string directory = parent.empty() ? std::string(".") : parent.string();
    if (::access(directory.c_str(), W_OK | X_OK) != 0)
        throw InputError(fmt::format("--save-state {}: cannot write in {}: {}", path, directory,
                                     std::strerror(errno)));
}

// A window needs a display: an explicit Qt platform (offscreen, vnc, ...) or an X11/Wayland
// session. Without one, kvmscope runs headless on the terminal as with --headless.
bool displayAvailable() {
    for (const char* variable : {"QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"}) {
        const char* value = std::getenv(variable);
        if (value && *value)
            return true;
    }
    return false;
}

// The window lives in a module of its own (GuiModule.cpp), loaded only when a window is wanted:
// the headless path then never maps Qt Gui, Qt Widgets and libvterm, which more than halves its
// start-up time and resident size (docs/benchmarks.md).
std::string guiModulePath() {
    const auto prefix = kvmscope::app::installPrefix();
    if (!prefix)
        return KVMSCOPE_GUI_MODULE_NAME;
    return (*prefix / KVMSCOPE_GUI_MODULE_DIR / KVMSCOPE_GUI_MODULE_NAME).string();
}

// Returns the window's exit status, or nullopt (with the reason printed) when the module cannot
// be loaded, in which case the caller runs headless.
std::optional<int> runGui(const kvmscope::app::CommandLine& options, int argc, char** argv) {
    const std::string path = guiModulePath();
    void* module = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!module) {
        fmt::print(stderr, "kvmscope: cannot load the window ({}); running headless\n",
                   ::dlerror());
        return std::nullopt;
    }
    using Entry = int (*)(const kvmscope::app::CommandLine*, int, char**);
    auto entry = reinterpret_cast<Entry>(::dlsym(module, "kvmscope_gui_main"));
    if (!entry) {
        fmt::print(stderr, "kvmscope: {}: no kvmscope_gui_main; running headless\n", path);
        return std::nullopt;
    }
    return entry(&options, argc, argv);
}

} // namespace

int main(int argc, char** argv) {
    using namespace kvmscope;
    const std::vector<std::string> arguments(argv, argv + argc);
    app::CommandLine options;
    try {
        options = app::parseCommandLine(arguments);
        if (options.showHelp) {
            fmt::print("{}", app::helpText());
            return 0;
        }
        if (options.showVersion) {
            fmt::print("kvmscope {}\n", KVMSCOPE_VERSION);
            return 0;
        }
        if (!log::setLevel(options.logLevel))
            throw InputError(fmt::format(
                "--log-level '{}': expected trace, debug, info, warn, error, critical or off",
                options.logLevel));
        if (options.showHostInfo)
            return printHostInfo();
        if (options.listDemos) {
            for (const auto& demo : app::bundledDemos())
                fmt::print("{:<10} {}{}\n", demo.name, demo.description,
                           demo.isDefault ? " (default)" : "");
            return 0;
        }
        if (!options.restorePath.empty()) {
            // The whole file is checked here, before /dev/kvm is opened: a refused snapshot
            // starts nothing (snapshot/MachineSnapshot.h). The image need not exist any more:
            // the saved RAM holds the guest.
            options.restore = std::make_shared<snapshot::MachineImage>(options.restorePath);
            options.machine = options.restore->config();
        } else {
            if (options.machine.firmware.kind == firmware::FirmwareKind::Bios) {
                // The firmware boots what the machine has; no image is loaded. Named by the first
                // disk's file, as a machine with an image is named by the image's.
                options.machine.name =
                    options.machine.disks.empty()
                        ? std::string("bios")
                        : std::filesystem::path(options.machine.disks.front().path)
                              .filename()
                              .string();
            } else if (!options.machine.boot.imagePath.empty()) {
                // Named by its file, as Open image… names it.
                options.machine.name =
                    std::filesystem::path(options.machine.boot.imagePath).filename().string();
            } else {
                const app::Demo demo =
                    app::findDemo(options.demo.empty() ? app::defaultDemo(app::bundledDemos()).name
                                                       : options.demo);
                options.machine.boot.imagePath = demo.path;
                if (options.machine.boot.format == boot::ImageFormat::Auto)
                    options.machine.boot.format = demo.format;
                if (!options.cpusGiven && demo.cpus > 1)
                    options.machine.cpus = options.machine.boot.cpus = demo.cpus;
                options.machine.name = demo.name;
            }
            options.machine.validate();
            options.machine.checkInputFiles();
        }
        if (!options.saveStatePath.empty())
            checkSaveTarget(options.saveStatePath);
    } catch (const InputError& error) {
        fmt::print(stderr, "kvmscope: {}\n", error.what());
        return kStatusBadInput;
    }
    if (!options.headless && displayAvailable()) {
        if (const std::optional<int> status = runGui(options, argc, argv))
            return *status;
    }
    return app::runHeadless(options);
}
