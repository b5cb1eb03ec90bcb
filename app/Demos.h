#pragma once
// The bundled demo guests: where they are on disk and how to run them.
#include "boot/BootPlan.h"

#include <string>
#include <vector>

namespace kvmscope::app {

struct Demo {
    std::string name;
    std::string path; // absolute path of the built image
    std::string description;
    boot::ImageFormat format = boot::ImageFormat::Auto;
    unsigned cpus = 1;
    bool isDefault = false;
};

// <directory of the executable>/../share/kvmscope/guests, which holds the guests both in the
// build tree and after `cmake --install`.
std::string guestsDirectory();
std::vector<Demo> bundledDemos();
// Throws InputError listing the demos when `name` is unknown, or naming the missing file.
Demo findDemo(const std::string& name);
const Demo& defaultDemo(const std::vector<Demo>& demos);

} // namespace kvmscope::app
