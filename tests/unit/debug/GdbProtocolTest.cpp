// The gdb stub without /dev/kvm: packet framing (checksums, acks, the interrupt byte, run-length,
// escapes, bounds), the register file against KVM's structures, and the command handling against
// a fake target (registers, memory, threads, breakpoints, resume and stop replies, detach, kill,
// and an error reply for every malformed packet).
#include "common/Error.h"
#include "debug/gdb/GdbPacket.h"
#include "debug/gdb/GdbRegisters.h"
#include "debug/gdb/GdbServer.h"
#include "debug/gdb/GdbSession.h"

#include <QTest>
#include <cstring>
#include <fmt/format.h>
#include <map>

using namespace kvmscope;
using namespace kvmscope::debug::gdb;

namespace {

// Two vcpus; 8 KiB of memory mapped at 0x1000; stops reported synchronously like a fast guest.
class FakeTarget : public GdbTarget {
public:
    static constexpr uint64_t kBase = 0x1000;
    std::vector<uint8_t> memory = std::vector<uint8_t>(0x2000);
    std::vector<RegisterFile> registers{RegisterFile(registerFileSize()),
                                        RegisterFile(registerFileSize())};
    std::map<int, std::tuple<GdbBreakpointType, uint64_t, size_t>> breakpoints;
    bool watchpoints = false;
    bool hardwareFull = false;
    int nextId = 1;
    int resumes = 0, interrupts = 0, kills = 0;
    std::vector<uint32_t> steps;
    std::vector<std::tuple<uint32_t, uint64_t, uint64_t>> rangeSteps;
    StopListener listener;

    size_t vcpuCount() const override { return registers.size(); }
    RegisterFile readRegisters(uint32_t vcpu) override { return registers.at(vcpu); }
    void writeRegisters(uint32_t vcpu, const RegisterFile& file) override {
        registers.at(vcpu) = file;
    }
    size_t readMemory(uint32_t, uint64_t address, void* out, size_t length) override {
        if (address < kBase || address >= kBase + memory.size())
            return 0;
        const size_t n = std::min<size_t>(length, kBase + memory.size() - address);
        std::memcpy(out, memory.data() + (address - kBase), n);
        return n;
    }
    size_t writeMemory(uint32_t, uint64_t address, const void* data, size_t length) override {
        if (address < kBase || address >= kBase + memory.size())
            return 0;
        const size_t n = std::min<size_t>(length, kBase + memory.size() - address);
        std::memcpy(memory.data() + (address - kBase), data, n);
        return n;
    }
    bool supports(GdbBreakpointType type) const override {
        if (type == GdbBreakpointType::ReadWatch)
            return false;
        return type == GdbBreakpointType::Software || type == GdbBreakpointType::Hardware ||
               watchpoints;
    }
    int addBreakpoint(GdbBreakpointType type, uint64_t address, size_t length) override {
        if (type == GdbBreakpointType::Hardware && hardwareFull)
            throw InputError("no free debug register");
        breakpoints[nextId] = {type, address, length};
        return nextId++;
    }
    bool removeBreakpoint(int id) override { return breakpoints.erase(id) != 0; }
    void resume() override { ++resumes; }
    void step(uint32_t vcpu) override {
        steps.push_back(vcpu);
        GdbStop stop;
        stop.kind = GdbStop::Kind::Step;
        stop.vcpu = vcpu;
        if (listener)
            listener(stop);
    }
    void stepRange(uint32_t vcpu, uint64_t begin, uint64_t end) override {
        rangeSteps.emplace_back(vcpu, begin, end); // the stop comes later, as from a machine
    }
    void interrupt() override { ++interrupts; }
    void kill() override { ++kills; }
    void setStopListener(StopListener l) override { listener = std::move(l); }
    std::optional<GdbStop> exitStop() const override { return std::nullopt; }
    std::optional<std::string> monitor(std::string_view command) override {
        if (command == "breakpoints")
            return fmt::format("{} breakpoints\n", breakpoints.size());
        if (command == "quiet")
            return std::string();
        return std::nullopt;
    }
};

// A target without monitor commands: GdbTarget's own answer.
class PlainTarget : public FakeTarget {
public:
    std::optional<std::string> monitor(std::string_view command) override {
        return GdbTarget::monitor(command);
    }
};

std::vector<PacketReader::Event> read(std::string_view bytes) {
    PacketReader reader;
    std::vector<PacketReader::Event> events;
    reader.feed(std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), events);
    return events;
}

std::string reply(GdbSession& session, std::string_view packet) {
    const auto r = session.handle(packet);
    return r ? *r : std::string("<none>");
}

} // namespace

class GdbProtocolTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void framesPayloadWithModulo256Checksum() {
        QCOMPARE(frame("OK"), std::string("$OK#9a"));
        QCOMPARE(frame(""), std::string("$#00"));
        QCOMPARE(checksum("g"), uint8_t{0x67});
    }

    void readerSplitsAcksPacketsAndInterrupt() {
        const auto events = read("+$g#67-\x03$qC#b4");
        QCOMPARE(events.size(), size_t{5});
        QCOMPARE(events[0].kind, PacketReader::EventKind::Ack);
        QCOMPARE(events[1].kind, PacketReader::EventKind::Packet);
        QCOMPARE(events[1].payload, std::string("g"));
        QCOMPARE(events[2].kind, PacketReader::EventKind::Nack);
        QCOMPARE(events[3].kind, PacketReader::EventKind::Interrupt);
        QCOMPARE(events[4].payload, std::string("qC"));
    }

    void readerKeepsStateAcrossFeeds() {
        PacketReader reader;
        std::vector<PacketReader::Event> events;
        for (const char c : frame("m1000,4"))
            reader.feed(std::span(reinterpret_cast<const uint8_t*>(&c), 1), events);
        QCOMPARE(events.size(), size_t{1});
        QCOMPARE(events[0].payload, std::string("m1000,4"));
    }

    void readerRejectsBadChecksumAndOverlongPackets() {
        auto events = read("$g#00$g#zz");
        QCOMPARE(events.size(), size_t{2});
        QCOMPARE(events[0].kind, PacketReader::EventKind::BadChecksum);
        QCOMPARE(events[1].kind, PacketReader::EventKind::BadChecksum);
        const std::string longPayload(kMaxPacketSize + 10, 'a');
        events = read(frame(longPayload));
        QCOMPARE(events.size(), size_t{1});
        QCOMPARE(events[0].kind, PacketReader::EventKind::Malformed);
        // The reader is usable again after it.
        events = read(frame(longPayload) + frame("?"));
        QCOMPARE(events.back().payload, std::string("?"));
    }

    void readerExpandsRunLengthEncoding() {
        // '"' is 34: "0*\"" is a zero and 34 - 29 = 5 more of it.
        QCOMPARE(expandRunLength("0*\"1", 100), std::optional<std::string>("0000001"));
        QVERIFY(!expandRunLength("*a", 100));        // nothing to repeat
        QVERIFY(!expandRunLength("0*", 100));        // no count
        QVERIFY(!expandRunLength("0*\x10", 100));    // count below the bias
        QVERIFY(!expandRunLength("0*~0*~0*~", 100)); // past the limit
        const auto events = read(frame("m0*\"1"));
        QCOMPARE(events.front().payload, std::string("m0000001"));
    }

    void binaryEscapesRoundTrip() {
        const std::string data = std::string("a$b#c}d*e") + '\0' + "\x7d\xff";
        const std::string escaped = escapeBinary(data);
        QVERIFY(escaped.find_first_of("$#*") == std::string::npos);
        QCOMPARE(unescapeBinary(escaped), std::optional<std::string>(data));
        QVERIFY(!unescapeBinary("ab}"));
    }

    void hexParsingIsStrict() {
        QCOMPARE(parseHexNumber("ffff800000001000"), std::optional<uint64_t>(0xffff800000001000));
        QVERIFY(!parseHexNumber(""));
        QVERIFY(!parseHexNumber("12g"));
        QVERIFY(!parseHexNumber("10000000000000000"));
        QVERIFY(!parseHexBytes("abc"));
        QCOMPARE(*parseHexBytes("00fF"), (std::vector<uint8_t>{0x00, 0xff}));
    }

    void registerFileFollowsTheDescriptionOrder() {
        const auto layout = registerLayout();
        QCOMPARE(layout[0].name, std::string_view("rax"));
        QCOMPARE(layout[16].name, std::string_view("rip"));
        QCOMPARE(layout[17].name, std::string_view("eflags"));
        QCOMPARE(layout[24].name, std::string_view("st0"));
        QCOMPARE(layout[40].name, std::string_view("xmm0"));
        QCOMPARE(*registerNumber("cr3"), size_t{62});
        // 17 x 64-bit, eflags + 6 selectors, 8 x 80-bit, 8 x87 control, 16 x 128-bit, mxcsr,
        // two bases and seven system registers.
        QCOMPARE(registerFileSize(), size_t{17 * 8 + 7 * 4 + 8 * 10 + 8 * 4 + 16 * 16 + 4 + 9 * 8});
        const std::string& xml = targetDescription();
        QVERIFY(xml.find("<architecture>i386:x86-64</architecture>") != std::string::npos);
        for (const char* feature : {"org.gnu.gdb.i386.core", "org.gnu.gdb.i386.sse",
                                    "org.gnu.gdb.i386.segments", "org.kvmscope.x86.system"})
            QVERIFY2(xml.find(feature) != std::string::npos, feature);
        QVERIFY(
            xml.find("name=\"cr3\" bitsize=\"64\" type=\"int\" group=\"system\" regnum=\"62\"") !=
            std::string::npos);
        QVERIFY(xml.find_first_of("$#*}") == std::string::npos);
    }

    void registerFileConvertsKvmState() {
        VcpuRegisters vcpu;
        vcpu.regs.rax = 0x1111222233334444;
        vcpu.regs.r15 = 0xf;
        vcpu.regs.rip = 0xffffffff81000000;
        vcpu.regs.rflags = 0x246;
        vcpu.sregs.cs.selector = 0x10;
        vcpu.sregs.cs.base = 0x1234;
        vcpu.sregs.fs.base = 0x7000;
        vcpu.sregs.cr3 = 0x9000;
        vcpu.sregs.efer = 0xd01;
        vcpu.fpu.fcw = 0x37f;
        vcpu.fpu.xmm[3][0] = 0xaa;
        vcpu.fpu.mxcsr = 0x1f80;
        vcpu.kernelGsBase = 0xffff888000000000;
        RegisterFile file = toRegisterFile(vcpu);
        QCOMPARE(readRegister(file, 0), vcpu.regs.rax);
        QCOMPARE(readRegister(file, 15), uint64_t{0xf});
        QCOMPARE(readRegister(file, 16), vcpu.regs.rip);
        QCOMPARE(readRegister(file, 17), uint64_t{0x246});
        QCOMPARE(readRegister(file, 18), uint64_t{0x10});
        QCOMPARE(readRegister(file, *registerNumber("ftag")), uint64_t{0xffff}); // all empty
        QCOMPARE(file[registerLayout()[43].offset], uint8_t{0xaa});
        QCOMPARE(readRegister(file, *registerNumber("fs_base")), uint64_t{0x7000});
        QCOMPARE(readRegister(file, *registerNumber("k_gs_base")), vcpu.kernelGsBase);
        QCOMPARE(readRegister(file, *registerNumber("efer")), uint64_t{0xd01});

        // Back: edits land in KVM's fields; a changed selector keeps the hidden base.
        writeRegister(file, 16, 0x2000);
        writeRegister(file, 18, 0x18);
        writeRegister(file, *registerNumber("cr3"), 0xa000);
        writeRegister(file, *registerNumber("ftag"), 0x3ffc); // physical 0 and 7 valid
        VcpuRegisters back = vcpu;
        fromRegisterFile(file, back);
        QCOMPARE(back.regs.rip, uint64_t{0x2000});
        QCOMPARE(back.regs.rax, vcpu.regs.rax);
        QCOMPARE(back.sregs.cs.selector, uint16_t{0x18});
        QCOMPARE(back.sregs.cs.base, uint64_t{0x1234});
        QCOMPARE(back.sregs.cr3, uint64_t{0xa000});
        QCOMPARE(back.fpu.ftwx, uint8_t{0x81}); // the others are empty (tag 3)
        QCOMPARE(back.fpu.mxcsr, uint32_t{0x1f80});
        QCOMPARE(back.kernelGsBase, vcpu.kernelGsBase);
    }

    void x87TagWordIsClassifiedFromTheStack() {
        VcpuRegisters vcpu;
        vcpu.fpu.fsw = 7u << 11; // TOP = 7: ST(0) is physical register 7
        vcpu.fpu.ftwx = 0x80;
        // 1.0 in extended precision: integer bit set, exponent 0x3fff.
        vcpu.fpu.fpr[0][7] = 0x80;
        vcpu.fpu.fpr[0][8] = 0xff;
        vcpu.fpu.fpr[0][9] = 0x3f;
        const RegisterFile file = toRegisterFile(vcpu);
        QCOMPARE(readRegister(file, *registerNumber("ftag")), uint64_t{0x3fff}); // 7 valid (00)
    }

    void answersQSupportedAndServesTheTargetDescription() {
        FakeTarget target;
        GdbSession session(target);
        const std::string features = reply(session, "qSupported:multiprocess+;swbreak+");
        QVERIFY(features.find("PacketSize=4000") != std::string::npos);
        QVERIFY(features.find("qXfer:features:read+") != std::string::npos);
        QVERIFY(features.find("QStartNoAckMode+") != std::string::npos);
        // Read it in small pieces, as gdb does with its packet size.
        std::string xml;
        for (;;) {
            const std::string part = reply(
                session, fmt::format("qXfer:features:read:target.xml:{:x},{:x}", xml.size(), 200));
            QVERIFY(part[0] == 'm' || part[0] == 'l');
            xml += *unescapeBinary(part.substr(1));
            if (part[0] == 'l')
                break;
        }
        QCOMPARE(xml, targetDescription());
        QCOMPARE(reply(session, "qXfer:features:read:other.xml:0,100"), std::string("E00"));
        QVERIFY(session.ackMode());
        QCOMPARE(reply(session, "QStartNoAckMode"), std::string("OK"));
        QVERIFY(!session.ackMode());
    }

    void readsAndWritesRegistersOfTheSelectedThread() {
        FakeTarget target;
        writeRegister(target.registers[1], 16, 0xdeadbeef);
        GdbSession session(target);
        QCOMPARE(reply(session, "qfThreadInfo"), std::string("m1,2"));
        QCOMPARE(reply(session, "qsThreadInfo"), std::string("l"));
        QCOMPARE(reply(session, "qC"), std::string("QC1"));
        QCOMPARE(reply(session, "Hg2"), std::string("OK"));
        QCOMPARE(reply(session, "qC"), std::string("QC2"));
        QCOMPARE(reply(session, "T2"), std::string("OK"));
        QCOMPARE(reply(session, "T3"), std::string("E03"));
        QCOMPARE(reply(session, "Hg3"), std::string("E03"));
        QCOMPARE(reply(session, "qThreadExtraInfo,2"), toHex(std::string_view("vcpu 1")));
        const std::string g = reply(session, "g");
        QCOMPARE(g.size(), registerFileSize() * 2);
        QCOMPARE(g.substr(16 * 16, 16), std::string("efbeadde00000000"));
        QCOMPARE(reply(session, "p10"), std::string("efbeadde00000000"));
        QCOMPARE(reply(session, "P10=0010000000000000"), std::string("OK"));
        QCOMPARE(readRegister(target.registers[1], 16), uint64_t{0x1000});
        QCOMPARE(readRegister(target.registers[0], 16), uint64_t{0}); // the other thread
        std::string all = g;
        all.replace(0, 16, "0100000000000000");
        QCOMPARE(reply(session, "G" + all), std::string("OK"));
        QCOMPARE(readRegister(target.registers[1], 0), uint64_t{1});
        QCOMPARE(reply(session, "p42"), std::string("E16")); // past the last register (efer, 0x41)
    }

    void readsAndWritesGuestMemory() {
        FakeTarget target;
        target.memory[0] = 0x55;
        target.memory[1] = 0x48;
        GdbSession session(target);
        QCOMPARE(reply(session, "m1000,2"), std::string("5548"));
        QCOMPARE(reply(session, "m0,4"), std::string("E0e"));
        QCOMPARE(reply(session, "m2ffe,4"), std::string("0000")); // short read at the end
        QCOMPARE(reply(session, "M1004,2:abcd"), std::string("OK"));
        QCOMPARE(target.memory[4], uint8_t{0xab});
        QCOMPARE(reply(session, "X1008,0:"), std::string("OK"));
        QCOMPARE(reply(session, "X1008,2:}\x03}\x5d"), std::string("OK")); // '#' and '}'
        QCOMPARE(target.memory[8], uint8_t{'#'});
        QCOMPARE(target.memory[9], uint8_t{'}'});
        QCOMPARE(reply(session, "M2fff,2:0102"), std::string("E0e")); // runs off the end
        QCOMPARE(reply(session, "M1000,3:0102"), std::string("E16")); // length mismatch
    }

    void breakpointsGoToTheTargetOnce() {
        FakeTarget target;
        GdbSession session(target);
        QCOMPARE(reply(session, "Z0,1010,1"), std::string("OK"));
        QCOMPARE(reply(session, "Z0,1010,1"), std::string("OK"));
        QCOMPARE(target.breakpoints.size(), size_t{1});
        QCOMPARE(reply(session, "Z1,1020,1"), std::string("OK"));
        QCOMPARE(std::get<0>(target.breakpoints.at(2)), GdbBreakpointType::Hardware);
        target.hardwareFull = true;
        QCOMPARE(reply(session, "Z1,1030,1"), std::string("E01"));
        QCOMPARE(reply(session, "Z2,1040,4"), std::string("")); // host cannot: unsupported
        QCOMPARE(reply(session, "Z3,1040,4"), std::string(""));
        target.watchpoints = true;
        QCOMPARE(reply(session, "Z2,1040,4"), std::string("OK"));
        QCOMPARE(std::get<2>(target.breakpoints.at(3)), size_t{4});
        QCOMPARE(reply(session, "z0,1010,1"), std::string("OK"));
        QCOMPARE(reply(session, "z0,1010,1"), std::string("E16")); // not set
        QCOMPARE(target.breakpoints.size(), size_t{2});
        QCOMPARE(reply(session, "Z9,1010,1"), std::string(""));
    }

    void monitorCommandsAnswerInHex() {
        FakeTarget target;
        GdbSession session(target);
        QCOMPARE(reply(session, "Z0,1010,1"), std::string("OK"));
        // qRcmd,HEX(command): the output in hex, which gdb prints; no output is OK.
        QCOMPARE(reply(session, "qRcmd," + toHex(std::string_view("breakpoints"))),
                 toHex(std::string_view("1 breakpoints\n")));
        QCOMPARE(reply(session, "qRcmd," + toHex(std::string_view("quiet"))), std::string("OK"));
        QCOMPARE(reply(session, "qRcmd," + toHex(std::string_view("nope"))), std::string(""));
        QCOMPARE(reply(session, "qRcmd,zz"), std::string("E16"));
        PlainTarget plain;
        GdbSession plainSession(plain);
        QCOMPARE(reply(plainSession, "qRcmd," + toHex(std::string_view("breakpoints"))),
                 std::string(""));
    }

    void continueWaitsForTheStopReply() {
        FakeTarget target;
        GdbSession session(target);
        QCOMPARE(reply(session, "?"), std::string("T05thread:1;"));
        QCOMPARE(reply(session, "vCont?"), std::string("vCont;c;C;s;S;r"));
        QCOMPARE(reply(session, "vCont;c"), std::string("<none>"));
        QVERIFY(session.running());
        QCOMPARE(target.resumes, 1);
        GdbStop stop;
        stop.kind = GdbStop::Kind::Breakpoint;
        stop.vcpu = 1;
        QCOMPARE(session.stopped(stop), std::optional<std::string>("T05thread:2;swbreak:;"));
        QVERIFY(!session.running());
        QCOMPARE(reply(session, "qC"), std::string("QC2")); // gdb follows the stopping thread
        QCOMPARE(reply(session, "?"), std::string("T05thread:2;swbreak:;"));
        // A stop nobody waits for (another front end's) gets no reply.
        QVERIFY(!session.stopped(stop));
        QCOMPARE(reply(session, "c"), std::string("<none>"));
        stop.kind = GdbStop::Kind::Watchpoint;
        stop.address = 0x1040;
        stop.readWrite = true;
        QCOMPARE(session.stopped(stop), std::optional<std::string>("T05thread:2;awatch:1040;"));
        QCOMPARE(reply(session, "C05;1234"), std::string("<none>")); // resume at an address
        QCOMPARE(readRegister(target.registers[1], 16), uint64_t{0x1234});
        QCOMPARE(session.interrupt(), std::optional<std::string>("T02thread:2;"));
        QCOMPARE(target.interrupts, 1);
        QVERIFY(!session.interrupt()); // not running: nothing to interrupt
        QCOMPARE(reply(session, "c"), std::string("<none>"));
        stop.kind = GdbStop::Kind::Exited;
        stop.exitStatus = 0;
        QCOMPARE(session.stopped(stop), std::optional<std::string>("W00"));
    }

    void stepsTheRequestedVcpu() {
        FakeTarget target;
        GdbSession session(target);
        std::vector<GdbStop> stops;
        target.setStopListener([&](const GdbStop& s) { stops.push_back(s); });
        QCOMPARE(reply(session, "vCont;s:2;c"), std::string("<none>"));
        QCOMPARE(target.steps, std::vector<uint32_t>{1});
        QCOMPARE(target.resumes, 0); // all-stop: only the stepping vcpu moves
        QCOMPARE(session.stopped(stops.at(0)), std::optional<std::string>("T05thread:2;"));
        QCOMPARE(reply(session, "Hc1"), std::string("OK"));
        QCOMPARE(reply(session, "s"), std::string("<none>"));
        QCOMPARE(target.steps.back(), 0u);
        QVERIFY(session.stopped(stops.at(1)));
        QCOMPARE(reply(session, "vCont;s"), std::string("<none>")); // no thread: the current
        QCOMPARE(target.steps.back(), 0u);
    }

    void rangeStepsUntilTheStopComes() {
        FakeTarget target;
        GdbSession session(target);
        // gdb's range stepping over a line: step thread 2 through [0x1000, 0x1010), others stay.
        QCOMPARE(reply(session, "vCont;r1000,1010:2;c"), std::string("<none>"));
        using Range = std::tuple<uint32_t, uint64_t, uint64_t>;
        QCOMPARE(target.rangeSteps, std::vector<Range>{Range(1, 0x1000, 0x1010)});
        QVERIFY(target.steps.empty());
        QCOMPARE(target.resumes, 0);
        QVERIFY(session.running());
        GdbStop stop;
        stop.kind = GdbStop::Kind::Step;
        stop.vcpu = 1;
        QCOMPARE(session.stopped(stop), std::optional<std::string>("T05thread:2;"));
        // An empty range is a single step; a malformed one is refused.
        QCOMPARE(reply(session, "vCont;r1000,1000:1"), std::string("<none>"));
        QCOMPARE(target.steps, std::vector<uint32_t>{0});
        QVERIFY(session.stopped(stop));
        QCOMPARE(reply(session, "vCont;r1000:1"), std::string("E16"));
        QCOMPARE(reply(session, "vCont;rzz,10"), std::string("E16"));
        QCOMPARE(reply(session, "vCont;r"), std::string("E16"));
        // Interrupting a range step that does not end (a loop inside the range) answers T02.
        QCOMPARE(reply(session, "vCont;r1000,2000:1"), std::string("<none>"));
        QCOMPARE(session.interrupt(),
                 std::optional<std::string>("T02thread:2;")); // the last stop's
    }

    void detachRemovesBreakpointsAndResumes() {
        FakeTarget target;
        GdbSession session(target);
        reply(session, "Z0,1010,1");
        reply(session, "Z1,1020,1");
        QCOMPARE(reply(session, "D"), std::string("OK"));
        QVERIFY(session.ended());
        QVERIFY(target.breakpoints.empty());
        QCOMPARE(target.resumes, 1);
        QCOMPARE(reply(session, "g"), std::string("<none>"));
    }

    void lostConnectionDetachesToo() {
        FakeTarget target;
        GdbSession session(target);
        reply(session, "Z0,1010,1");
        reply(session, "c");
        session.connectionLost();
        QCOMPARE(target.interrupts, 1);
        QVERIFY(target.breakpoints.empty());
        QCOMPARE(target.resumes, 2);
    }

    void killEndsTheMachineWithoutReply() {
        FakeTarget target;
        GdbSession session(target);
        QCOMPARE(reply(session, "k"), std::string("<none>"));
        QCOMPARE(target.kills, 1);
        QVERIFY(session.ended());
        QVERIFY(!session.running());
    }

    void endpointOptionTakesPortOrHostAndPort() {
        GdbEndpoint endpoint = parseEndpoint("1234", "--gdb");
        QCOMPARE(endpoint.host, std::string("127.0.0.1"));
        QCOMPARE(endpoint.port, uint16_t{1234});
        endpoint = parseEndpoint("0.0.0.0:4321", "--gdb");
        QCOMPARE(endpoint.host, std::string("0.0.0.0"));
        QCOMPARE(endpoint.port, uint16_t{4321});
        QCOMPARE(parseEndpoint(":0", "--gdb").port, uint16_t{0});
        for (const char* bad : {"", "host:", "65536", "12ab", "-1", "host:port"})
            QVERIFY_THROWS_EXCEPTION(InputError, parseEndpoint(bad, "--gdb"));
    }

    void serverRefusesAPortInUse() {
        FakeTarget target;
        GdbServer first(target, {"127.0.0.1", 0});
        QVERIFY(first.port() != 0);
        QCOMPARE(first.address(), fmt::format("127.0.0.1:{}", first.port()));
        FakeTarget other;
        QVERIFY_THROWS_EXCEPTION(Error, GdbServer(other, {"127.0.0.1", first.port()}));
    }

    void malformedPacketsGetErrorReplies() {
        FakeTarget target;
        GdbSession session(target);
        for (const char* packet : {"m",
                                   "m1000",
                                   "mzz,1",
                                   "m1000,",
                                   "M1000,1",
                                   "M1000,1:zz",
                                   "X1000,1:",
                                   "X1000,1:}",
                                   "G00",
                                   "Gzz",
                                   "p",
                                   "pzz",
                                   "P10",
                                   "P10=00",
                                   "Pzz=00",
                                   "Z0",
                                   "Z0,",
                                   "Z0,zz,1",
                                   "z0,1,",
                                   "Hg",
                                   "Hgzz",
                                   "Hx1",
                                   "C",
                                   "Czz",
                                   "S05;zz",
                                   "czz",
                                   "vCont;",
                                   "vCont;x",
                                   "vCont;s:9",
                                   "vCont;cc",
                                   "qXfer:features:read:target.xml:",
                                   "qXfer:features:read:target.xml:ffff,1",
                                   "qThreadExtraInfo,3"})
            QVERIFY2(reply(session, packet).starts_with("E"), packet);
        QVERIFY(!session.running());
        QVERIFY(target.steps.empty());
        QCOMPARE(target.resumes, 0);
        // Unknown packets get the empty "not supported" reply.
        QCOMPARE(reply(session, "vMustReplyEmpty"), std::string());
        QCOMPARE(reply(session, "qTStatus"), std::string());
        QCOMPARE(reply(session, "!"), std::string());
    }
};

QTEST_GUILESS_MAIN(GdbProtocolTest)
#include "GdbProtocolTest.moc"
