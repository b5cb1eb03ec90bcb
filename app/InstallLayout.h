#pragma once
// Where kvmscope's files are: everything is found relative to the executable, so the build tree
// (build/bin, build/share, build/lib) and an installed tree (/usr/bin, /usr/share, /usr/lib) work
// the same way without configuration.
#include <filesystem>
#include <optional>

namespace kvmscope::app {

// The directory above the executable's (the prefix of bin/, share/, lib/), or nullopt when
// /proc/self/exe cannot be read.
std::optional<std::filesystem::path> installPrefix();

} // namespace kvmscope::app
