// The gdb stub's input side on arbitrary bytes from a client: debug::gdb::PacketReader splits
// them into packets, acks and interrupts (any chunking), and GdbSession answers every packet
// against a fake two-vcpu target whose stops come back at once. Checks that nothing but
// kvmscope::Error is thrown inside (the session turns those into error replies), that every
// reply fits the advertised PacketSize and contains no byte that would break its framing or be
// read as run-length encoding, that framing round-trips, and that binary escaping round-trips.
//
// Input: one byte of chunk size, then the client's byte stream.
#include "FuzzSupport.h"
#include "common/Error.h"
#include "debug/gdb/GdbPacket.h"
#include "debug/gdb/GdbSession.h"
#include "log/Log.h"

#include <cstring>
#include <map>

namespace {

using namespace kvmscope::debug::gdb;

class FuzzTarget : public GdbTarget {
public:
    static constexpr uint64_t kBase = 0x1000;
    std::vector<uint8_t> memory = std::vector<uint8_t>(0x4000);
    std::vector<RegisterFile> registers{RegisterFile(registerFileSize()),
                                        RegisterFile(registerFileSize())};
    std::map<int, uint64_t> breakpoints;
    int nextId = 1;
    StopListener listener;
    uint8_t stopKind = 0;

    size_t vcpuCount() const override { return registers.size(); }
    RegisterFile readRegisters(uint32_t vcpu) override { return registers.at(vcpu); }
    void writeRegisters(uint32_t vcpu, const RegisterFile& file) override {
        kvmscope::fuzz::check(file.size() == registerFileSize(), "a register file of bad size");
        registers.at(vcpu) = file;
    }
    size_t readMemory(uint32_t vcpu, uint64_t address, void* out, size_t length) override {
        kvmscope::fuzz::check(vcpu < vcpuCount(), "memory read on a vcpu that does not exist");
        if (address < kBase || address >= kBase + memory.size())
            return 0;
        const size_t n = std::min<size_t>(length, kBase + memory.size() - address);
        std::memcpy(out, memory.data() + (address - kBase), n);
        return n;
    }
    size_t writeMemory(uint32_t vcpu, uint64_t address, const void* data, size_t length) override {
        kvmscope::fuzz::check(vcpu < vcpuCount(), "memory write on a vcpu that does not exist");
        if (address < kBase || address >= kBase + memory.size())
            return 0;
        const size_t n = std::min<size_t>(length, kBase + memory.size() - address);
        std::memcpy(memory.data() + (address - kBase), data, n);
        return n;
    }
    bool supports(GdbBreakpointType type) const override {
        return type != GdbBreakpointType::ReadWatch;
    }
    int addBreakpoint(GdbBreakpointType type, uint64_t address, size_t length) override {
        // As the Debugger: four debug registers, aligned watchpoints of 1, 2, 4 or 8 bytes.
        if (type != GdbBreakpointType::Software && breakpoints.size() >= 4)
            throw kvmscope::InputError("no free debug register");
        if (type != GdbBreakpointType::Software && type != GdbBreakpointType::Hardware &&
            (length == 0 || length > 8 || (length & (length - 1)) || address % length))
            throw kvmscope::InputError("bad watchpoint");
        breakpoints[nextId] = address;
        return nextId++;
    }
    bool removeBreakpoint(int id) override {
        kvmscope::fuzz::check(breakpoints.erase(id) == 1, "removed a breakpoint never added");
        return true;
    }
    void resume() override {}
    void step(uint32_t vcpu) override {
        kvmscope::fuzz::check(vcpu < vcpuCount(), "stepped a vcpu that does not exist");
        report(vcpu);
    }
    void stepRange(uint32_t vcpu, uint64_t begin, uint64_t end) override {
        kvmscope::fuzz::check(vcpu < vcpuCount(), "range-stepped a vcpu that does not exist");
        kvmscope::fuzz::check(begin < end, "range-stepped an empty range (that is a step)");
        report(vcpu);
    }
    void interrupt() override {}
    void kill() override {}
    void setStopListener(StopListener l) override { listener = std::move(l); }
    std::optional<GdbStop> exitStop() const override { return std::nullopt; }

    void report(uint32_t vcpu) {
        GdbStop stop;
        stop.kind = static_cast<GdbStop::Kind>(stopKind++ % 6);
        stop.vcpu = vcpu;
        stop.address = kBase + stopKind;
        if (listener)
            listener(stop);
    }
};

void checkReply(const std::string& reply) {
    using kvmscope::fuzz::check;
    check(reply.size() <= kMaxPacketSize, "a reply longer than the advertised PacketSize");
    check(reply.find_first_of("$#*") == std::string::npos,
          "a reply with a byte that breaks its framing or reads as run-length");
    // What the client reads back is the reply.
    PacketReader reader;
    std::vector<PacketReader::Event> events;
    const std::string packet = frame(reply);
    reader.feed(std::span(reinterpret_cast<const uint8_t*>(packet.data()), packet.size()), events);
    check(events.size() == 1 && events[0].kind == PacketReader::EventKind::Packet &&
              events[0].payload == reply,
          "a framed reply does not parse back to itself");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using kvmscope::fuzz::check;
    static const bool quiet = [] {
        kvmscope::log::setLevel("off"); // every error reply logs a warning
        return true;
    }();
    (void)quiet;
    if (size == 0)
        return 0;
    const size_t chunk = 1 + data[0] % 64;
    const std::span<const uint8_t> stream(data + 1, size - 1);

    const std::string raw(reinterpret_cast<const char*>(stream.data()), stream.size());
    check(unescapeBinary(escapeBinary(raw)) == raw, "binary escaping does not round-trip");

    FuzzTarget target;
    GdbSession session(target);
    std::vector<GdbStop> stops;
    target.setStopListener([&stops](const GdbStop& stop) { stops.push_back(stop); });
    PacketReader reader;
    std::vector<PacketReader::Event> events;
    try {
        for (size_t offset = 0; offset < stream.size() && !session.ended(); offset += chunk) {
            events.clear();
            reader.feed(stream.subspan(offset, std::min(chunk, stream.size() - offset)), events);
            for (const auto& event : events) {
                std::optional<std::string> reply;
                if (event.kind == PacketReader::EventKind::Packet) {
                    check(event.payload.size() <= kMaxPacketSize, "a packet past PacketSize");
                    reply = session.handle(event.payload);
                } else if (event.kind == PacketReader::EventKind::Interrupt) {
                    reply = session.interrupt();
                }
                if (reply)
                    checkReply(*reply);
                // A resumed target stops: at once after a step, on the next event otherwise.
                if (session.running() && stops.empty() &&
                    event.kind == PacketReader::EventKind::Ack)
                    target.report(session.generalVcpu());
                for (const GdbStop& stop : stops)
                    if (const auto stopReply = session.stopped(stop))
                        checkReply(*stopReply);
                stops.clear();
            }
        }
        session.connectionLost();
    } catch (const std::exception& error) {
        kvmscope::fuzz::failOnException("the gdb session", error);
    }
    return 0;
}
