#pragma once
// A thread-safe notification list: how the core tells its clients (the GUI, the gdb stub, the
// headless runner, tests) that something happened, without linking any GUI toolkit. The core
// stays free of Qt so that `kvmscope --headless` maps neither QtCore nor ICU (docs/design.md,
// "Core without Qt"); the GUI turns these notifications into queued Qt calls on its own thread.
//
// Slots run on the emitting thread (often a vcpu thread), at once, in connection order; they
// must be quick and must not block on the emitting object. emit() holds the list's lock while
// it calls the slots, so once disconnect() (or a Connection's destructor) returns, no call of
// that slot is running or will start: a client may then destroy what the slot refers to. The
// price: a slot must not connect to or disconnect from the signal that is calling it.
#include <cstdint>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

namespace kvmscope {

class SignalBase {
public:
    virtual ~SignalBase() = default;
    virtual void disconnect(uint64_t id) = 0;
};

// Disconnects its slot when destroyed (or on reset()). Move-only; it must not outlive the signal.
class Connection {
public:
    Connection() = default;
    Connection(SignalBase* signal, uint64_t id) : signal_(signal), id_(id) {}
    Connection(Connection&& other) noexcept
        : signal_(std::exchange(other.signal_, nullptr)), id_(other.id_) {}
    Connection& operator=(Connection&& other) noexcept {
        if (this != &other) {
            reset();
            signal_ = std::exchange(other.signal_, nullptr);
            id_ = other.id_;
        }
        return *this;
    }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection() { reset(); }

    void reset() {
        if (signal_)
            std::exchange(signal_, nullptr)->disconnect(id_);
    }
    bool connected() const { return signal_ != nullptr; }

private:
    SignalBase* signal_ = nullptr;
    uint64_t id_ = 0;
};

template <typename... Args> class Signal final : public SignalBase {
public:
    using Slot = std::function<void(const Args&...)>;

    Signal() = default;
    Signal(const Signal&) = delete;
    Signal& operator=(const Signal&) = delete;

    [[nodiscard]] Connection connect(Slot slot) {
        std::lock_guard lock(mutex_);
        const uint64_t id = ++lastId_;
        slots_.push_back({id, std::move(slot)});
        return Connection(this, id);
    }

    void disconnect(uint64_t id) override {
        std::lock_guard lock(mutex_);
        std::erase_if(slots_, [id](const Entry& entry) { return entry.id == id; });
    }

    void emit(const Args&... args) const {
        std::lock_guard lock(mutex_);
        for (const Entry& entry : slots_)
            entry.slot(args...);
    }

    size_t connectionCount() const {
        std::lock_guard lock(mutex_);
        return slots_.size();
    }

private:
    struct Entry {
        uint64_t id;
        Slot slot;
    };
    mutable std::mutex mutex_;
    std::vector<Entry> slots_; // guarded by mutex_
    uint64_t lastId_ = 0;      // guarded by mutex_
};

} // namespace kvmscope
