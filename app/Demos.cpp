#include "Demos.h"

#include "InstallLayout.h"
#include "common/Error.h"
#include "kvmscope/DemoCatalog.h"

#include <climits>
#include <filesystem>
#include <fmt/format.h>
#include <unistd.h>

namespace kvmscope::app {

std::string guestsDirectory() {
    // KVMSCOPE_GUESTS_DIR overrides the location (a packaged layout, or tests).
    if (const char* overridden = std::getenv("KVMSCOPE_GUESTS_DIR"); overridden && *overridden)
        return overridden;
    const auto prefix = installPrefix();
    if (!prefix)
        return "share/kvmscope/guests";
    return (*prefix / "share" / "kvmscope" / "guests").string();
}

std::vector<Demo> bundledDemos() {
    const std::string directory = guestsDirectory();
    std::vector<Demo> demos;
    for (const auto& entry : demos::kDemoCatalog) {
        Demo demo;
        demo.name = entry.name;
        demo.path = directory + "/" + std::string(entry.fileName);
        demo.description = entry.description;
        if (!boot::parseImageFormat(std::string(entry.format), demo.format))
            demo.format = boot::ImageFormat::Auto;
        demo.cpus = entry.cpus;
        demo.isDefault = entry.isDefault;
        demos.push_back(std::move(demo));
    }
    return demos;
}

Demo findDemo(const std::string& name) {
    const auto demos = bundledDemos();
    std::string names;
    for (const auto& demo : demos) {
        if (demo.name == name) {
            if (!std::filesystem::exists(demo.path))
                throw InputError(fmt::format("demo '{}': its image {} is missing (build the "
                                             "guests, or set KVMSCOPE_GUESTS_DIR)",
                                             name, demo.path));
            return demo;
        }
        names += (names.empty() ? "" : ", ") + demo.name;
    }
    throw InputError(fmt::format("--demo '{}': no such demo (bundled: {})", name, names));
}

const Demo& defaultDemo(const std::vector<Demo>& demos) {
    for (const auto& demo : demos)
        if (demo.isDefault)
            return demo;
    return demos.front();
}

} // namespace kvmscope::app
