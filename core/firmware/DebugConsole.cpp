#include "firmware/DebugConsole.h"

#include "log/Log.h"

#include <algorithm>

namespace kvmscope::firmware {

void DebugConsole::read(uint64_t, std::span<uint8_t> data) {
    std::fill(data.begin(), data.end(), kReadback);
}

void DebugConsole::write(uint64_t, std::span<const uint8_t> data) {
    std::vector<std::string> finished;
    {
        std::lock_guard lock(mutex_);
        for (const uint8_t byte : data) {
            ++bytesWritten_;
            if (byte == '\n') {
                finished.push_back(finishLine());
                continue;
            }
            if (byte == '\r')
                continue;
            current_.push_back(static_cast<char>(byte));
            if (current_.size() >= kMaxLineLength)
                finished.push_back(finishLine());
        }
    }
    if (finished.empty())
        return;
    auto logger = log::get("firmware");
    for (const std::string& line : finished)
        logger->info("{}", line);
}

std::string DebugConsole::finishLine() {
    std::string line = std::move(current_);
    current_.clear();
    ++lines_;
    kept_.push_back(line);
    if (kept_.size() > kKeptLines)
        kept_.pop_front();
    return line;
}

std::vector<std::string> DebugConsole::lines() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> result(kept_.begin(), kept_.end());
    if (!current_.empty())
        result.push_back(current_);
    return result;
}

void DebugConsole::describeState(StateVisitor& state) {
    state.group(kRegistersGroup, "registers");
    state.readOnlyBytes("log", "the firmware's last lines (up to 64), oldest first", [this] {
        std::vector<uint8_t> text;
        for (const std::string& line : kept_) {
            text.insert(text.end(), line.begin(), line.end());
            text.push_back('\n');
        }
        text.insert(text.end(), current_.begin(), current_.end());
        return text;
    });
    state.group(kStatisticsGroup, "statistics");
    state.statistic("bytes written", bytesWritten_, "bytes the firmware wrote to port 0x402");
    state.statistic("lines", lines_, "complete lines written");
}

} // namespace kvmscope::firmware
