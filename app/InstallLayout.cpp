#include "InstallLayout.h"

namespace kvmscope::app {

std::optional<std::filesystem::path> installPrefix() {
    std::error_code error;
    const auto executable = std::filesystem::read_symlink("/proc/self/exe", error);
    if (error)
        return std::nullopt;
    return executable.parent_path().parent_path();
}

} // namespace kvmscope::app
