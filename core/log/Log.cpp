#include "log/Log.h"

#include <mutex>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <string>

namespace kvmscope::log {
namespace {

std::mutex registryMutex;
spdlog::level::level_enum currentLevel = spdlog::level::warn;

} // namespace

std::shared_ptr<spdlog::logger> get(std::string_view area) {
    std::lock_guard lock(registryMutex);
    const std::string name(area);
    if (auto existing = spdlog::get(name))
        return existing;
    auto logger = spdlog::stderr_color_mt(name);
    logger->set_level(currentLevel);
    logger->set_pattern("[%H:%M:%S.%e] [%n] [%^%l%$] %v");
    return logger;
}

bool setLevel(std::string_view levelName) {
    const auto level = spdlog::level::from_str(std::string(levelName));
    // from_str answers "off" for names it does not know; only accept "off" when asked for.
    if (level == spdlog::level::off && levelName != "off")
        return false;
    std::lock_guard lock(registryMutex);
    currentLevel = level;
    spdlog::set_level(level);
    return true;
}

} // namespace kvmscope::log
