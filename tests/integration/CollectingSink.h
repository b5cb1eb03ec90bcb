#pragma once
// A serial sink that keeps what the guest printed, for tests that drive the core directly.
#include "devices/Uart16550.h"

#include <QByteArray>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace kvmscope::testing {

class CollectingSink : public SerialSink {
public:
    void serialOutput(std::span<const uint8_t> bytes) override {
        {
            std::lock_guard lock(mutex_);
            text_.append(reinterpret_cast<const char*>(bytes.data()),
                         static_cast<qsizetype>(bytes.size()));
        }
        changed_.notify_all();
    }
    QByteArray text() const {
        std::lock_guard lock(mutex_);
        return text_;
    }
    bool waitFor(const QByteArray& needle, int timeoutMs) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, std::chrono::milliseconds(timeoutMs),
                                 [&] { return text_.contains(needle); });
    }

private:
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    QByteArray text_;
};

} // namespace kvmscope::testing
