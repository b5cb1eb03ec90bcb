#pragma once
// The command side of kvmscope's gdb stub (gdb manual, "Remote Protocol": "Packets",
// "Stop Reply Packets", "General Query Packets", "Host I/O"-free subset): one connected client's
// state and its packets, over an abstract GdbTarget. It sees payloads, never bytes on a socket
// (GdbPacket does the framing, GdbServer the socket), so the unit tests and the fuzzer drive it
// directly.
//
// All-stop: while the target runs, the client may only interrupt (0x03); the stop reply is sent
// when the target stops. Threads are vcpus, thread id = vcpu index + 1.
#include "debug/gdb/GdbTarget.h"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

namespace kvmscope::debug::gdb {

class GdbSession {
public:
    explicit GdbSession(GdbTarget& target);

    // Handles one packet. Returns the reply payload, or nullopt when none is due now: the target
    // was resumed (the stop reply comes through stopped()), or the session ended without one (k).
    std::optional<std::string> handle(std::string_view packet);
    // The client sent the interrupt byte: pause the target; the reply (T02) if it was running.
    std::optional<std::string> interrupt();
    // The target stopped: the stop reply if the client is waiting for one, else nullopt (the
    // stop belongs to another front end, e.g. the GUI stepping while the client looks on).
    std::optional<std::string> stopped(const GdbStop& stop);
    // The client went away without D or k: as D, without a reply.
    void connectionLost();

    bool running() const { return running_; }
    bool ackMode() const { return ackMode_; }
    bool ended() const { return ended_; }
    uint32_t generalVcpu() const { return generalVcpu_; }

    // The reply to qSupported (the features kvmscope's stub offers).
    static std::string supportedFeatures();

private:
    std::string handleQuery(std::string_view packet);
    std::string handleSetThread(std::string_view packet);
    std::string handleReadMemory(std::string_view arguments);
    std::string handleWriteMemory(std::string_view arguments, bool binary);
    std::string handleRegister(std::string_view packet);
    std::string handleBreakpoint(std::string_view packet);
    std::optional<std::string> handleResume(char action, std::string_view arguments);
    std::optional<std::string> handleVCont(std::string_view actions);
    // A step of one vcpu: one instruction, or on through [begin, end) (range stepping).
    struct StepAction {
        uint32_t vcpu = 0;
        uint64_t rangeBegin = 0;
        uint64_t rangeEnd = 0;
    };
    std::optional<std::string> resume(std::optional<StepAction> step);
    std::string detach();
    // "-1" all (nullopt), "0" any (the current one), else a vcpu; nullopt in `valid` when bad.
    bool parseThread(std::string_view text, std::optional<uint32_t>& vcpu) const;
    std::string stopReply(const GdbStop& stop) const;
    std::string threadStopReply(int signal) const;

    GdbTarget& target_;
    bool running_ = false;
    bool ackMode_ = true;
    bool ended_ = false;
    uint32_t generalVcpu_ = 0;             // Hg
    std::optional<uint32_t> continueVcpu_; // Hc: nullopt for all threads
    std::string lastStopReply_;            // the answer to `?`
    // The client's breakpoints: (type, address, length) -> the target's id.
    std::map<std::tuple<int, uint64_t, size_t>, int> breakpoints_;
};

} // namespace kvmscope::debug::gdb
