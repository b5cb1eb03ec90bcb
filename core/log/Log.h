#pragma once
// One named spdlog logger per area of kvmscope (design: "Logging").
#include <memory>
#include <spdlog/spdlog.h>
#include <string_view>

namespace kvmscope::log {

// Returns the logger for an area ("kvm", "boot", "cpu", "dev.uart", ...), creating it on first use
// with the process-wide level. Loggers write to stderr so that the guest's serial output on stdout
// stays clean.
std::shared_ptr<spdlog::logger> get(std::string_view area);

// Sets the level of every existing and future logger; accepts spdlog's names
// (trace, debug, info, warn, error, critical, off). Returns false for an unknown name.
bool setLevel(std::string_view levelName);

} // namespace kvmscope::log
