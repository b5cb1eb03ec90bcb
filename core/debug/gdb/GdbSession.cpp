#include "debug/gdb/GdbSession.h"

#include "common/Error.h"
#include "debug/gdb/GdbPacket.h"
#include "log/Log.h"

#include <algorithm>
#include <fmt/format.h>

namespace kvmscope::debug::gdb {
namespace {

// gdb's own signal numbers (include/gdb/signals.def), which stop replies carry.
constexpr int kSignalInterrupt = 2; // GDB_SIGNAL_INT
constexpr int kSignalTrap = 5;      // GDB_SIGNAL_TRAP

// Error replies `Enn`: gdb shows the number only; errno values by convention.
constexpr std::string_view kErrorFailed = "E01";   // the target could not do it (see the log)
constexpr std::string_view kErrorFault = "E0e";    // EFAULT: memory not mapped
constexpr std::string_view kErrorInvalid = "E16";  // EINVAL: a malformed packet
constexpr std::string_view kErrorNoThread = "E03"; // ESRCH: no such thread

// Splits "a,b" (or "a,b:c" with `rest`) into hex numbers.
bool parseAddressLength(std::string_view text, uint64_t& address, uint64_t& length) {
    const auto comma = text.find(',');
    if (comma == std::string_view::npos)
        return false;
    const auto a = parseHexNumber(text.substr(0, comma));
    const auto l = parseHexNumber(text.substr(comma + 1));
    if (!a || !l)
        return false;
    address = *a;
    length = *l;
    return true;
}

std::string failure(const std::exception& error) {
    log::get("gdb")->warn("{}", error.what());
    return std::string(kErrorFailed);
}

} // namespace

GdbSession::GdbSession(GdbTarget& target) : target_(target) {
    lastStopReply_ = threadStopReply(kSignalTrap);
}

std::string GdbSession::supportedFeatures() {
    return fmt::format("PacketSize={:x};qXfer:features:read+;QStartNoAckMode+;swbreak+;hwbreak+;"
                       "vContSupported+",
                       kMaxPacketSize);
}

std::string GdbSession::threadStopReply(int signal) const {
    return fmt::format("T{:02x}thread:{:x};", signal, generalVcpu_ + 1);
}

std::string GdbSession::stopReply(const GdbStop& stop) const {
    // "Stop Reply Packets": T AA n1:r1;... with the thread and, for breakpoints and
    // watchpoints, the reason (swbreak/hwbreak tell gdb the PC is already at the breakpoint).
    const std::string thread = fmt::format("thread:{:x};", stop.vcpu + 1);
    switch (stop.kind) {
    case GdbStop::Kind::Breakpoint:
        return fmt::format("T{:02x}{}{}", kSignalTrap, thread,
                           stop.hardware ? "hwbreak:;" : "swbreak:;");
    case GdbStop::Kind::Watchpoint:
        return fmt::format("T{:02x}{}{}:{:x};", kSignalTrap, thread,
                           stop.readWrite ? "awatch" : "watch", stop.address);
    case GdbStop::Kind::Interrupted:
        return fmt::format("T{:02x}{}", kSignalInterrupt, thread);
    case GdbStop::Kind::Exited:
        return fmt::format("W{:02x}", static_cast<unsigned>(stop.exitStatus) & 0xFF);
    case GdbStop::Kind::Step:
    case GdbStop::Kind::Other:
        break;
    }
    return fmt::format("T{:02x}{}", kSignalTrap, thread);
}

bool GdbSession::parseThread(std::string_view text, std::optional<uint32_t>& vcpu) const {
    if (text == "-1") {
        vcpu.reset();
        return true;
    }
    const auto id = parseHexNumber(text);
    if (!id)
        return false;
    if (*id == 0) {
        vcpu = generalVcpu_;
        return true;
    }
    if (*id > target_.vcpuCount())
        return false;
    vcpu = static_cast<uint32_t>(*id - 1);
    return true;
}

std::optional<std::string> GdbSession::handle(std::string_view packet) {
    if (ended_)
        return std::nullopt;
    if (running_)
        return std::string(kErrorFailed); // all-stop: only 0x03 is valid while running
    if (packet.empty())
        return std::string();
    try {
        switch (packet[0]) {
        case '?':
            return lastStopReply_;
        case 'q':
        case 'Q':
            return handleQuery(packet);
        case 'H':
            return handleSetThread(packet);
        case 'T': {
            std::optional<uint32_t> vcpu;
            return parseThread(packet.substr(1), vcpu) && vcpu ? std::string("OK")
                                                               : std::string(kErrorNoThread);
        }
        case 'g':
            if (packet.size() != 1)
                return std::string(kErrorInvalid);
            return toHex(target_.readRegisters(generalVcpu_));
        case 'G': {
            const auto bytes = parseHexBytes(packet.substr(1));
            if (!bytes || bytes->size() != registerFileSize())
                return std::string(kErrorInvalid);
            target_.writeRegisters(generalVcpu_, *bytes);
            return std::string("OK");
        }
        case 'p':
        case 'P':
            return handleRegister(packet);
        case 'm':
            return handleReadMemory(packet.substr(1));
        case 'M':
            return handleWriteMemory(packet.substr(1), false);
        case 'X':
            return handleWriteMemory(packet.substr(1), true);
        case 'c':
        case 'C':
        case 's':
        case 'S':
            return handleResume(packet[0], packet.substr(1));
        case 'Z':
        case 'z':
            return handleBreakpoint(packet);
        case 'D':
            ended_ = true;
            return detach();
        case 'k':
            ended_ = true;
            target_.kill();
            return std::nullopt; // gdb does not wait for an answer to k
        case 'v':
            if (packet == "vCont?")
                return std::string("vCont;c;C;s;S;r");
            if (packet.starts_with("vCont;"))
                return handleVCont(packet.substr(6));
            return std::string(); // vMustReplyEmpty, vFile, vRun...: not supported
        default:
            return std::string();
        }
    } catch (const Error& error) {
        running_ = false;
        return failure(error);
    }
}

std::string GdbSession::handleQuery(std::string_view packet) {
    if (packet.starts_with("qSupported"))
        return supportedFeatures();
    if (packet == "QStartNoAckMode") {
        ackMode_ = false; // the OK to this is the last packet acknowledged
        return "OK";
    }
    if (packet == "qfThreadInfo") {
        std::string reply = "m";
        for (size_t i = 0; i < target_.vcpuCount(); ++i)
            reply += fmt::format("{}{:x}", i ? "," : "", i + 1);
        return reply;
    }
    if (packet == "qsThreadInfo")
        return "l";
    if (packet == "qC")
        return fmt::format("QC{:x}", generalVcpu_ + 1);
    if (packet == "qAttached")
        return "1"; // attached to an existing machine: gdb detaches rather than kills on quit
    if (packet == "qSymbol::")
        return "OK";
    if (packet.starts_with("qRcmd,")) {
        // monitor COMMAND: the command in hex; the reply is the output in hex (gdb prints it).
        const auto command = parseHexBytes(packet.substr(6));
        if (!command)
            return std::string(kErrorInvalid);
        const auto output = target_.monitor(
            std::string_view(reinterpret_cast<const char*>(command->data()), command->size()));
        if (!output)
            return std::string();
        return output->empty() ? std::string("OK") : toHex(*output);
    }
    if (packet.starts_with("qThreadExtraInfo,")) {
        std::optional<uint32_t> vcpu;
        if (!parseThread(packet.substr(17), vcpu) || !vcpu)
            return std::string(kErrorNoThread);
        return toHex(fmt::format("vcpu {}", *vcpu));
    }
    constexpr std::string_view kFeatures = "qXfer:features:read:";
    if (packet.starts_with(kFeatures)) {
        // qXfer:features:read:ANNEX:OFFSET,LENGTH -> m<data> (more follows) or l<data> (last).
        const std::string_view rest = packet.substr(kFeatures.size());
        const auto colon = rest.find(':');
        uint64_t offset = 0, length = 0;
        if (colon == std::string_view::npos ||
            !parseAddressLength(rest.substr(colon + 1), offset, length))
            return std::string(kErrorInvalid);
        if (rest.substr(0, colon) != "target.xml")
            return "E00"; // "the annex is invalid"
        const std::string& xml = targetDescription();
        if (offset > xml.size())
            return std::string(kErrorInvalid);
        // Escaping can double a byte: half the packet keeps any reply within PacketSize.
        length = std::min<uint64_t>(length, kMaxPacketSize / 2 - 8);
        const std::string_view chunk = std::string_view(xml).substr(offset, length);
        return (offset + chunk.size() < xml.size() ? "m" : "l") + escapeBinary(chunk);
    }
    return std::string();
}

std::string GdbSession::handleSetThread(std::string_view packet) {
    if (packet.size() < 3)
        return std::string(kErrorInvalid);
    std::optional<uint32_t> vcpu;
    if (!parseThread(packet.substr(2), vcpu))
        return std::string(kErrorNoThread);
    if (packet[1] == 'g') {
        if (vcpu)
            generalVcpu_ = *vcpu; // Hg-1 (all) keeps the current one
        return "OK";
    }
    if (packet[1] == 'c') {
        continueVcpu_ = vcpu;
        return "OK";
    }
    return std::string(kErrorInvalid);
}

std::string GdbSession::handleRegister(std::string_view packet) {
    const auto equals = packet.find('=');
    const bool write = packet[0] == 'P';
    if (write == (equals == std::string_view::npos))
        return std::string(kErrorInvalid);
    const auto number = parseHexNumber(packet.substr(1, write ? equals - 1 : std::string::npos));
    const auto layout = registerLayout();
    if (!number || *number >= layout.size())
        return std::string(kErrorInvalid);
    const RegisterInfo& reg = layout[*number];
    RegisterFile file = target_.readRegisters(generalVcpu_);
    if (!write)
        return toHex(std::span(file).subspan(reg.offset, reg.bits / 8));
    const auto bytes = parseHexBytes(packet.substr(equals + 1));
    if (!bytes || bytes->size() != reg.bits / 8)
        return std::string(kErrorInvalid);
    std::copy(bytes->begin(), bytes->end(), file.begin() + static_cast<ptrdiff_t>(reg.offset));
    target_.writeRegisters(generalVcpu_, file);
    return "OK";
}

std::string GdbSession::handleReadMemory(std::string_view arguments) {
    uint64_t address = 0, length = 0;
    if (!parseAddressLength(arguments, address, length))
        return std::string(kErrorInvalid);
    // Two hex digits per byte: gdb sizes its requests to PacketSize, a client that does not gets
    // a shorter answer, which the protocol allows.
    length = std::min<uint64_t>(length, kMaxPacketSize / 2);
    std::vector<uint8_t> data(length);
    const size_t done = target_.readMemory(generalVcpu_, address, data.data(), data.size());
    if (done == 0 && length != 0)
        return std::string(kErrorFault);
    return toHex(std::span(data.data(), done));
}

std::string GdbSession::handleWriteMemory(std::string_view arguments, bool binary) {
    const auto colon = arguments.find(':');
    uint64_t address = 0, length = 0;
    if (colon == std::string_view::npos ||
        !parseAddressLength(arguments.substr(0, colon), address, length))
        return std::string(kErrorInvalid);
    std::vector<uint8_t> data;
    if (binary) {
        const auto raw = unescapeBinary(arguments.substr(colon + 1));
        if (!raw)
            return std::string(kErrorInvalid);
        data.assign(raw->begin(), raw->end());
    } else {
        auto bytes = parseHexBytes(arguments.substr(colon + 1));
        if (!bytes)
            return std::string(kErrorInvalid);
        data = std::move(*bytes);
    }
    if (data.size() != length)
        return std::string(kErrorInvalid);
    if (length == 0)
        return "OK"; // gdb probes X support with an empty write
    if (target_.writeMemory(generalVcpu_, address, data.data(), data.size()) != data.size())
        return std::string(kErrorFault);
    return "OK";
}

std::string GdbSession::handleBreakpoint(std::string_view packet) {
    // Z type,addr,kind / z type,addr,kind (conditions and commands after ';' are ignored: gdb
    // evaluates them itself when the stub does not claim to).
    const bool insert = packet[0] == 'Z';
    std::string_view arguments = packet.substr(1);
    if (const auto semicolon = arguments.find(';'); semicolon != std::string_view::npos)
        arguments = arguments.substr(0, semicolon);
    const auto firstComma = arguments.find(',');
    uint64_t address = 0, length = 0;
    if (firstComma == std::string_view::npos ||
        !parseAddressLength(arguments.substr(firstComma + 1), address, length))
        return std::string(kErrorInvalid);
    const auto type = parseHexNumber(arguments.substr(0, firstComma));
    if (!type || *type > static_cast<uint64_t>(GdbBreakpointType::AccessWatch))
        return std::string(); // an unknown type is "not supported"
    const auto kind = static_cast<GdbBreakpointType>(*type);
    if (!target_.supports(kind))
        return std::string();
    // gdb's "kind" of an x86 execution breakpoint is the length of an int3 (1); it is the
    // watched length for watchpoints.
    const bool execution =
        kind == GdbBreakpointType::Software || kind == GdbBreakpointType::Hardware;
    const size_t watched = execution ? 1 : static_cast<size_t>(length);
    const auto key = std::make_tuple(static_cast<int>(kind), address, watched);
    const auto it = breakpoints_.find(key);
    if (insert) {
        if (it != breakpoints_.end())
            return "OK"; // inserting one twice is allowed and changes nothing
        breakpoints_[key] = target_.addBreakpoint(kind, address, watched);
        return "OK";
    }
    if (it == breakpoints_.end())
        return std::string(kErrorInvalid);
    const int id = it->second;
    breakpoints_.erase(it);
    target_.removeBreakpoint(id);
    return "OK";
}

std::optional<std::string> GdbSession::resume(std::optional<StepAction> step) {
    running_ = true;
    if (!step)
        target_.resume();
    else if (step->rangeBegin < step->rangeEnd)
        target_.stepRange(step->vcpu, step->rangeBegin, step->rangeEnd);
    else
        target_.step(step->vcpu);
    return std::nullopt;
}

std::optional<std::string> GdbSession::handleResume(char action, std::string_view arguments) {
    // c [addr], s [addr], C sig[;addr], S sig[;addr]: signals mean nothing to a machine (there is
    // no process to deliver them to) and are dropped; an address resumes there.
    std::string_view address = arguments;
    if (action == 'C' || action == 'S') {
        const auto semicolon = arguments.find(';');
        address = semicolon == std::string_view::npos ? std::string_view()
                                                      : arguments.substr(semicolon + 1);
        if (!parseHexNumber(arguments.substr(0, semicolon)))
            return std::string(kErrorInvalid);
    }
    const bool step = action == 's' || action == 'S';
    const uint32_t vcpu = step && continueVcpu_ ? *continueVcpu_ : generalVcpu_;
    if (!address.empty()) {
        const auto pc = parseHexNumber(address);
        if (!pc)
            return std::string(kErrorInvalid);
        RegisterFile file = target_.readRegisters(vcpu);
        writeRegister(file, *registerNumber("rip"), *pc);
        target_.writeRegisters(vcpu, file);
    }
    return resume(step ? std::optional(StepAction{vcpu}) : std::nullopt);
}

std::optional<std::string> GdbSession::handleVCont(std::string_view actions) {
    // vCont;action[:thread][;action[:thread]]...: the leftmost action that applies to a thread
    // wins. All-stop with one stepping vcpu: a step request steps that vcpu alone (the others
    // stay paused, as with scheduler-locking on); otherwise any continue resumes every vcpu.
    // rSTART,END is range stepping: step while the PC stays in [START, END), then report, which
    // spares gdb a round trip per instruction when it steps over a source line.
    std::optional<StepAction> step;
    bool anyContinue = false;
    while (!actions.empty()) {
        const auto semicolon = actions.find(';');
        const std::string_view item = actions.substr(0, semicolon);
        actions = semicolon == std::string_view::npos ? std::string_view()
                                                      : actions.substr(semicolon + 1);
        const auto colon = item.find(':');
        const std::string_view action = item.substr(0, colon);
        std::optional<uint32_t> vcpu;
        if (colon != std::string_view::npos && !parseThread(item.substr(colon + 1), vcpu))
            return std::string(kErrorNoThread);
        if (action.empty())
            return std::string(kErrorInvalid);
        const char kind = action[0];
        if ((kind == 'C' || kind == 'S') && !parseHexNumber(action.substr(1)))
            return std::string(kErrorInvalid);
        if ((kind == 'c' || kind == 's') && action.size() != 1)
            return std::string(kErrorInvalid);
        if (kind == 's' || kind == 'S' || kind == 'r') {
            StepAction requested{vcpu.value_or(generalVcpu_)};
            if (kind == 'r') {
                const std::string_view range = action.substr(1);
                const auto comma = range.find(',');
                const auto begin = parseHexNumber(range.substr(0, comma));
                const auto end = comma == std::string_view::npos
                                     ? std::nullopt
                                     : parseHexNumber(range.substr(comma + 1));
                if (!begin || !end)
                    return std::string(kErrorInvalid);
                requested.rangeBegin = *begin;
                requested.rangeEnd = *end; // an empty range steps once, like 's'
            }
            if (!step)
                step = requested;
        } else if (kind == 'c' || kind == 'C') {
            anyContinue = true;
        } else {
            return std::string(kErrorInvalid); // t: not offered in vCont?
        }
    }
    if (!step && !anyContinue)
        return std::string(kErrorInvalid);
    return resume(step);
}

std::string GdbSession::detach() {
    for (const auto& [key, id] : breakpoints_)
        target_.removeBreakpoint(id);
    breakpoints_.clear();
    target_.resume();
    return "OK";
}

void GdbSession::connectionLost() {
    if (ended_)
        return;
    ended_ = true;
    try {
        if (running_)
            target_.interrupt(); // breakpoints go away with the machine paused
        detach();
    } catch (const Error& error) {
        log::get("gdb")->warn("detaching after the connection was lost: {}", error.what());
    }
}

std::optional<std::string> GdbSession::interrupt() {
    if (!running_ || ended_)
        return std::nullopt;
    try {
        target_.interrupt();
    } catch (const Error& error) {
        return failure(error);
    }
    running_ = false;
    lastStopReply_ = threadStopReply(kSignalInterrupt);
    return lastStopReply_;
}

std::optional<std::string> GdbSession::stopped(const GdbStop& stop) {
    if (!running_ || ended_)
        return std::nullopt;
    running_ = false;
    if (stop.kind != GdbStop::Kind::Exited)
        generalVcpu_ = stop.vcpu; // gdb switches to the thread the reply names
    lastStopReply_ = stopReply(stop);
    return lastStopReply_;
}

} // namespace kvmscope::debug::gdb
