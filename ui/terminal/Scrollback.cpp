#include "Scrollback.h"

#include <algorithm>

namespace kvmscope::ui {

Scrollback::Scrollback(int capacity) : capacity_(std::max(0, capacity)) {}

void Scrollback::setCapacity(int lines) {
    capacity_ = std::max(0, lines);
    dropBeyondCapacity();
}

void Scrollback::push(TerminalLine line) {
    while (!line.empty() && line.back().isBlank()) {
        line.pop_back();
    }
    line.shrink_to_fit();
    lines_.push_back(std::move(line));
    dropBeyondCapacity();
}

std::optional<TerminalLine> Scrollback::popNewest() {
    if (lines_.empty()) {
        return std::nullopt;
    }
    TerminalLine line = std::move(lines_.back());
    lines_.pop_back();
    return line;
}

void Scrollback::clear() {
    dropped_ += lines_.size();
    lines_.clear();
}

void Scrollback::dropBeyondCapacity() {
    while (lines_.size() > static_cast<size_t>(capacity_)) {
        lines_.pop_front();
        ++dropped_;
    }
}

} // namespace kvmscope::ui
