// kvmscope's gdb stub with real clients on /dev/kvm: a real gdb in batch mode against
// `kvmscope --headless --gdb 0` running the debug-target guest (break at a function by its ELF
// symbol, continue, registers, stepi checked against the instruction's decoded length, memory,
// threads, register and memory writes, detach, kill), and a minimal protocol client against a
// stub in this process (Ctrl-C, and the same stops seen by the stub and by the Debugger's
// stopped() signal that the GUI uses).
#include "ChildProcess.h"
#include "CollectingSink.h"
#include "KvmTestSupport.h"
#include "debug/Debugger.h"
#include "debug/Disassembler.h"
#include "debug/SymbolTable.h"
#include "debug/gdb/GdbPacket.h"
#include "debug/gdb/GdbServer.h"
#include "debug/gdb/MachineGdbTarget.h"
#include "machine/Machine.h"

#include <QRegularExpression>
#include <QStandardPaths>
#include <arpa/inet.h>
#include <deque>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace kvmscope;
using namespace kvmscope::testing;

namespace {

constexpr int kTimeoutMs = 30000;

// `kvmscope --headless --gdb 0 ...` waiting for its client; the port is read from its stderr.
struct Stub {
    std::unique_ptr<QProcess> process = std::make_unique<QProcess>();
    int port = 0;
    QString err;
};

Stub startStub(const QStringList& extra) {
    Stub stub;
    endWithTest(*stub.process);
    stub.process->setProgram(QStringLiteral(KVMSCOPE_BINARY));
    stub.process->setArguments(QStringList{"--headless", "--gdb", "0", "--timeout", "60"} + extra +
                               QStringList{guestPath("debug-target")});
    stub.process->setReadChannel(QProcess::StandardError); // where the port is printed
    stub.process->start();
    if (!stub.process->waitForStarted(10000))
        return stub;
    static const QRegularExpression waiting("waiting for a client on 127\\.0\\.0\\.1:(\\d+)");
    while (stub.port == 0 && stub.process->waitForReadyRead(kTimeoutMs)) {
        stub.err += QString::fromUtf8(stub.process->readAllStandardError());
        if (const auto match = waiting.match(stub.err); match.hasMatch())
            stub.port = match.captured(1).toInt();
    }
    return stub;
}

// Runs gdb in batch mode on the debug-target ELF with one -ex per command.
QString runGdb(int port, const QStringList& commands) {
    QStringList arguments{"-batch", "-nx", "-ex", QString("target remote 127.0.0.1:%1").arg(port)};
    for (const QString& command : commands)
        arguments << "-ex" << command;
    arguments << guestPath("debug-target");
    QProcess gdb;
    endWithTest(gdb);
    gdb.setProcessChannelMode(QProcess::MergedChannels);
    gdb.start(QStringLiteral("gdb"), arguments);
    if (!gdb.waitForFinished(kTimeoutMs))
        gdb.kill();
    return QString::fromUtf8(gdb.readAll());
}

std::vector<uint64_t> capturedHex(const QString& text, const QString& pattern) {
    std::vector<uint64_t> values;
    auto it = QRegularExpression(pattern).globalMatch(text);
    while (it.hasNext())
        values.push_back(it.next().captured(1).toULongLong(nullptr, 16));
    return values;
}

// A minimal Remote Serial Protocol client (ack mode) for what gdb in batch mode cannot do.
class RspClient {
public:
    explicit RspClient(uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
            qFatal("cannot connect to the stub on port %u", port);
    }
    ~RspClient() { ::close(fd_); }
    void sendRaw(std::string_view bytes) {
        if (::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) != ssize_t(bytes.size()))
            qFatal("send failed");
    }
    void send(std::string_view payload) { sendRaw(debug::gdb::frame(payload)); }
    // The next packet, acknowledged; nullopt after `timeoutMs` without one.
    std::optional<std::string> receive(int timeoutMs = kTimeoutMs) {
        for (;;) {
            while (!pending_.empty()) {
                auto event = std::move(pending_.front());
                pending_.pop_front();
                if (event.kind != debug::gdb::PacketReader::EventKind::Packet)
                    continue; // acks of what we sent
                sendRaw("+");
                return event.payload;
            }
            pollfd pfd{fd_, POLLIN, 0};
            if (::poll(&pfd, 1, timeoutMs) <= 0)
                return std::nullopt;
            uint8_t buffer[4096];
            const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
            if (n <= 0)
                return std::nullopt;
            std::vector<debug::gdb::PacketReader::Event> events;
            reader_.feed(std::span(buffer, static_cast<size_t>(n)), events);
            pending_.insert(pending_.end(), events.begin(), events.end());
        }
    }
    std::string request(std::string_view payload) {
        send(payload);
        const auto reply = receive();
        if (!reply)
            qFatal("no reply to %.*s", int(payload.size()), payload.data());
        return *reply;
    }

private:
    int fd_ = -1;
    debug::gdb::PacketReader reader_;
    std::deque<debug::gdb::PacketReader::Event> pending_;
};

} // namespace

class GdbStubTest : public QObject {
    Q_OBJECT
private:
    debug::SymbolTable symbols_;
    uint64_t symbol(const char* name) {
        const auto address = symbols_.addressOf(name);
        if (!address)
            qFatal("debug-target has no symbol %s", name);
        return *address;
    }
    static void finish(Stub& stub) {
        QVERIFY2(stub.process->waitForFinished(kTimeoutMs), "kvmscope did not end");
        stub.err += QString::fromUtf8(stub.process->readAllStandardError());
    }

private Q_SLOTS:
    void initTestCase() {
        KVMSCOPE_REQUIRE_KVM();
        symbols_ = debug::SymbolTable::fromElfFile(guestPath("debug-target").toStdString());
    }

    void gdbBreaksAtAFunctionStepsAndKills() {
        if (QStandardPaths::findExecutable("gdb").isEmpty())
            QSKIP("needs gdb (Debian package gdb) as the client");
        Stub stub = startStub({"--serial", "none", "--cpus", "2"});
        QVERIFY2(stub.port > 0, qPrintable(stub.err));
        const QString out =
            runGdb(stub.port, {"break add_step", "continue", "info registers rip", "x/8xb $pc",
                               "p/x $rsi", "stepi", "info registers rip", "info threads",
                               "info registers cr0 efer", "kill"});
        finish(stub);
        QCOMPARE(stub.process->exitCode(), 0);
        const uint64_t addStep = symbol("add_step");
        // gdb names the function and, from the guest's line table, its arguments.
        QVERIFY2(out.contains("Breakpoint 1, add_step (value=value@entry=0, step=step@entry=1)"),
                 qPrintable(out));
        const auto rips = capturedHex(out, "rip\\s+0x([0-9a-f]+)");
        QCOMPARE(rips.size(), size_t{2});
        QCOMPARE(rips[0], addStep);
        // add_step(total, n) is called first with n = 1 (System V: the second argument in RSI).
        QVERIFY2(out.contains("$1 = 0x1"), qPrintable(out));
        // The step moved RIP by the length of the instruction at add_step, as kvmscope's
        // disassembler decodes the bytes gdb read through the stub.
        std::vector<uint8_t> bytes;
        for (const uint64_t b : capturedHex(out, "\\s0x([0-9a-f]{2})(?![0-9a-f])"))
            bytes.push_back(static_cast<uint8_t>(b));
        QCOMPARE(bytes.size(), size_t{8});
        kvm_sregs longMode{};
        longMode.cr0 = 0x80000011;
        longMode.efer = 0x500;
        longMode.cs.l = 1;
        const auto first = debug::Disassembler::forState(longMode).decode(addStep, bytes);
        QVERIFY(first.has_value());
        QCOMPARE(rips[1], addStep + first->length);
        // One thread per vcpu.
        QVERIFY2(out.contains("Thread 1 (vcpu 0)") && out.contains("Thread 2 (vcpu 1)"),
                 qPrintable(out));
        // Control registers from kvmscope's own feature: paging and long mode are on.
        const auto cr0 = capturedHex(out, "cr0\\s+0x([0-9a-f]+)");
        const auto efer = capturedHex(out, "efer\\s+0x([0-9a-f]+)");
        QVERIFY(cr0.size() == 1 && (cr0[0] & 0x80000001) == 0x80000001);
        QVERIFY(efer.size() == 1 && (efer[0] & 0x500) == 0x500);
        QVERIFY2(out.contains("killed"), qPrintable(out));
    }

    void gdbStepsOverASourceLineByRangeStepping() {
        if (QStandardPaths::findExecutable("gdb").isEmpty())
            QSKIP("needs gdb (Debian package gdb) as the client");
        Stub stub = startStub({"--serial", "none"});
        QVERIFY2(stub.port > 0, qPrintable(stub.err));
        // `next` over line 98 of add_step (watched_counter += step): gdb offers the stub the
        // line's address range (vCont;r) since the stub says it supports range stepping, and
        // kvmscope steps through it on the vcpu thread with one stop reply at the end.
        const QString out =
            runGdb(stub.port, {"break add_step", "continue", "set debug remote 1", "next",
                               "set debug remote 0", "info registers rip", "kill"});
        finish(stub);
        static const QRegularExpression range("Sending packet: \\$vCont;r([0-9a-f]+),([0-9a-f]+)");
        const auto match = range.match(out);
        QVERIFY2(match.hasMatch(), qPrintable(out));
        const uint64_t begin = match.captured(1).toULongLong(nullptr, 16);
        const uint64_t end = match.captured(2).toULongLong(nullptr, 16);
        QCOMPARE(begin, symbol("add_step"));
        QVERIFY(end > begin);
        // gdb steps off its breakpoint with one vCont;s, then sends one vCont;r for the rest of
        // the line: two resume packets, not one per instruction.
        QVERIFY2(out.count("Sending packet: $vCont;") == 2, qPrintable(out));
        const auto rips = capturedHex(out, "rip\\s+0x([0-9a-f]+)");
        QCOMPARE(rips.size(), size_t{1});
        QVERIFY2(rips[0] < begin || rips[0] >= end, qPrintable(out)); // the line is done
        QVERIFY2(out.contains("99\t    return value + step;"), qPrintable(out));
    }

    void gdbWritesReachTheGuest() {
        if (QStandardPaths::findExecutable("gdb").isEmpty())
            QSKIP("needs gdb (Debian package gdb) as the client");
        Stub stub = startStub({});
        QVERIFY2(stub.port > 0, qPrintable(stub.err));
        // At the first call add_step(0, 1): make it add 10 instead, and start the counter at
        // 100. The guest prints total = 36 - 1 + 10 and counter = 100 + 45.
        const QString out = runGdb(stub.port, {"break add_step", "continue", "set $rsi = 10",
                                               "set {long}&watched_counter = 100", "p/x $rsi",
                                               "x/1gx &watched_counter", "delete", "continue"});
        finish(stub);
        QVERIFY2(out.contains("$1 = 0xa"), qPrintable(out));
        QVERIFY2(out.contains("0x0000000000000064"), qPrintable(out));
        QVERIFY2(out.contains("exited normally"), qPrintable(out));
        const QString serial = QString::fromUtf8(stub.process->readAllStandardOutput());
        QVERIFY2(serial.contains("total 45, counter 145"), qPrintable(serial + stub.err));
        QCOMPARE(stub.process->exitCode(), 0);
    }

    void gdbDetachLetsTheGuestFinish() {
        if (QStandardPaths::findExecutable("gdb").isEmpty())
            QSKIP("needs gdb (Debian package gdb) as the client");
        Stub stub = startStub({});
        QVERIFY2(stub.port > 0, qPrintable(stub.err));
        const QString out = runGdb(stub.port, {"break add_step", "continue", "p $rsi", "continue",
                                               "p $rsi", "continue", "p $rsi", "detach"});
        finish(stub);
        // Each continue stops at the next call: n = 1, 2, 3.
        QVERIFY2(out.contains("$1 = 1") && out.contains("$2 = 2") && out.contains("$3 = 3"),
                 qPrintable(out));
        QVERIFY2(out.contains("(Remote target) detached"), qPrintable(out));
        const QString serial = QString::fromUtf8(stub.process->readAllStandardOutput());
        QVERIFY2(serial.contains("total 36, counter 36"), qPrintable(serial + stub.err));
        QCOMPARE(stub.process->exitCode(), 0);
    }

    void gdbWatchesBySteppingWhereDataBreakpointsDoNotFire() {
        if (QStandardPaths::findExecutable("gdb").isEmpty())
            QSKIP("needs gdb (Debian package gdb) as the client");
        Stub stub = startStub({"--serial", "none"});
        QVERIFY2(stub.port > 0, qPrintable(stub.err));
        // From the first call of add_step on, gdb single-steps and compares: the first store to
        // watched_counter is add_step's own (0 + 1).
        const QString out =
            runGdb(stub.port,
                   {"break add_step", "continue", "delete", "set can-use-hw-watchpoints 0",
                    "watch *(long*)&watched_counter", "continue", "info registers rip", "kill"});
        finish(stub);
        QVERIFY2(out.contains("Old value = 0") && out.contains("New value = 1"), qPrintable(out));
        const auto rips = capturedHex(out, "rip\\s+0x([0-9a-f]+)");
        QCOMPARE(rips.size(), size_t{1});
        QVERIFY(rips[0] > symbol("add_step") && rips[0] < symbol("add_step") + 0x40);
    }

    void gdbOptionRefusesBadAddressesAsBadInput() {
        CliResult result = runKvmscope({"--headless", "--gdb", "host:port", guestPath("hello")});
        QCOMPARE(result.exitCode, 2);
        QVERIFY2(result.err.contains("--gdb 'host:port'"), qPrintable(result.err));
        // A port that another stub holds: the run ends before the guest starts.
        Stub holder = startStub({"--serial", "none"});
        QVERIFY2(holder.port > 0, qPrintable(holder.err));
        result =
            runKvmscope({"--headless", "--gdb", QString::number(holder.port), guestPath("hello")});
        QCOMPARE(result.exitCode, 2);
        QVERIFY2(result.err.contains("cannot listen on 127.0.0.1:" + QString::number(holder.port)),
                 qPrintable(result.err));
        QVERIFY(result.out.isEmpty()); // the guest never ran
    }

    void interruptPausesARunningGuest() {
        kvm::System system;
        CollectingSink sink;
        MachineConfig config;
        config.memorySize = 16ull << 20;
        config.boot.imagePath = guestPath("spin").toStdString();
        config.boot.format = boot::ImageFormat::Flat;
        Machine machine(config, system, sink);
        machine.boot();
        debug::gdb::MachineGdbTarget target(machine);
        debug::gdb::GdbServer server(target, {"127.0.0.1", 0});
        RspClient client(server.port());
        QCOMPARE(client.request("?"), std::string("T05thread:1;"));
        client.send("c");
        QVERIFY(!client.receive(300)); // running: no reply until it stops
        QCOMPARE(machine.vcpu(0).state(), cpu::RunState::Running);
        client.sendRaw("\x03");
        QCOMPARE(client.receive(), std::optional<std::string>("T02thread:1;"));
        QCOMPARE(machine.vcpu(0).state(), cpu::RunState::Paused);
        // The registers are readable at once: the vcpu is parked.
        QCOMPARE(client.request("g").size(), debug::gdb::registerFileSize() * 2);
        client.send("k");
        QVERIFY(machine.waitForStop(kTimeoutMs).has_value());
        QCOMPARE(machine.stopState()->kind, StopKind::UserStop);
    }

    void monitorSaysWhichMechanismEachBreakpointUses() {
        kvm::System system;
        CollectingSink sink;
        MachineConfig config;
        config.memorySize = 64ull << 20;
        config.boot.imagePath = guestPath("debug-target").toStdString();
        Machine machine(config, system, sink);
        machine.boot();
        debug::gdb::MachineGdbTarget target(machine);
        debug::gdb::GdbServer server(target, {"127.0.0.1", 0});
        RspClient client(server.port());
        QCOMPARE(client.request("QStartNoAckMode"), std::string("OK"));
        auto monitor = [&client](std::string_view command) {
            const std::string reply = client.request("qRcmd," + debug::gdb::toHex(command));
            const auto bytes = debug::gdb::parseHexBytes(reply);
            if (!bytes)
                qFatal("monitor %.*s: not hex: %s", int(command.size()), command.data(),
                       reply.c_str());
            return std::string(bytes->begin(), bytes->end());
        };
        const debug::HostDebugSupport& host = machine.debugger().hostSupport();
        // `monitor host`: one line per mechanism the probe tried, with what it saw.
        const std::string probe = monitor("host");
        for (const auto& entry : debug::HostDebugSupport::entries())
            QVERIFY2(probe.find(entry.name) != std::string::npos, probe.c_str());
        // Z0 and Z1 at add_step: each is served (the list says how) or refused, and a served
        // one stops the guest there.
        const uint64_t addStep = symbol("add_step");
        for (const int type : {0, 1}) {
            const auto kind =
                type == 0 ? debug::BreakpointKind::Software : debug::BreakpointKind::Hardware;
            const debug::MechanismChoice choice = debug::chooseMechanism(kind, false, host, 4);
            const std::string reply = client.request(fmt::format("Z{},{:x},1", type, addStep));
            if (!choice.mechanism) {
                QCOMPARE(reply, std::string()); // "not supported": gdb says it cannot insert it
                QVERIFY(machine.debugger().breakpoints().empty());
                continue;
            }
            QCOMPARE(reply, std::string("OK"));
            const std::string list = monitor("breakpoints");
            qInfo("Z%d: %s", type, list.c_str());
            QVERIFY2(list.find(fmt::format("via {}", debug::toString(*choice.mechanism))) !=
                         std::string::npos,
                     list.c_str());
            QVERIFY(client.request("vCont;c").starts_with("T05thread:1;"));
            QCOMPARE(machine.debugger().lastStop()->pc, addStep);
            QCOMPARE(client.request(fmt::format("z{},{:x},1", type, addStep)), std::string("OK"));
            QCOMPARE(monitor("breakpoints"), std::string("no breakpoints\n"));
            QCOMPARE(client.request("vCont;s:1"), std::string("T05thread:1;")); // off add_step
        }
        // Z2/Z4 where the host never fires them: "not supported", never armed.
        const uint64_t counter = symbol("watched_counter");
        if (!host.writeWatch.works)
            QCOMPARE(client.request(fmt::format("Z2,{:x},8", counter)), std::string());
        if (!host.readWriteWatch.works)
            QCOMPARE(client.request(fmt::format("Z4,{:x},8", counter)), std::string());
        QVERIFY(machine.debugger().breakpoints().empty());
        // Anything else: the commands there are.
        QVERIFY(monitor("help").find("breakpoints") != std::string::npos);
        client.send("k");
        QVERIFY(machine.waitForStop(kTimeoutMs).has_value());
    }

    void stubAndDebuggerSignalSeeTheSameStops() {
        kvm::System system;
        CollectingSink sink;
        MachineConfig config;
        config.memorySize = 64ull << 20;
        config.boot.imagePath = guestPath("debug-target").toStdString();
        Machine machine(config, system, sink);
        machine.boot();
        debug::gdb::MachineGdbTarget target(machine);
        debug::gdb::GdbServer server(target, {"127.0.0.1", 0});
        // What the GUI's debugger view listens to, queued into this thread as MachineSession
        // queues it.
        QObject gui;
        std::vector<debug::DebugStop> guiStops;
        const Connection guiConnection =
            machine.debugger().stopped.connect([&gui, &guiStops](const debug::DebugStop& stop) {
                QMetaObject::invokeMethod(
                    &gui, [&guiStops, stop] { guiStops.push_back(stop); }, Qt::QueuedConnection);
            });
        RspClient client(server.port());
        QCOMPARE(client.request("QStartNoAckMode"), std::string("OK"));
        const uint64_t addStep = symbol("add_step");
        QCOMPARE(client.request(fmt::format("Z0,{:x},1", addStep)), std::string("OK"));
        QCOMPARE(client.request("vCont;c"), std::string("T05thread:1;swbreak:;"));
        QTRY_COMPARE_WITH_TIMEOUT(guiStops.size(), size_t{1}, kTimeoutMs);
        auto stop = guiStops.at(0);
        QCOMPARE(stop.reason, debug::DebugStopReason::Breakpoint);
        QCOMPARE(stop.pc, addStep);
        QCOMPARE(client.request("p10"),
                 debug::gdb::toHex(std::span(reinterpret_cast<const uint8_t*>(&addStep), 8)));
        // The other front end steps while the client looks on: the client gets no unsolicited
        // packet, and reads the state the step left.
        machine.debugger().stepInstruction(0);
        QTRY_COMPARE_WITH_TIMEOUT(guiStops.size(), size_t{2}, kTimeoutMs);
        stop = guiStops.at(1);
        QCOMPARE(stop.reason, debug::DebugStopReason::Step);
        const std::string rip = client.request("p10");
        uint64_t value = 0;
        const auto bytes = *debug::gdb::parseHexBytes(rip);
        std::memcpy(&value, bytes.data(), 8);
        QCOMPARE(value, stop.pc);
        // A step from the client: both see it.
        QCOMPARE(client.request("vCont;s:1"), std::string("T05thread:1;"));
        QTRY_COMPARE_WITH_TIMEOUT(guiStops.size(), size_t{3}, kTimeoutMs);
        QCOMPARE(guiStops.at(2).reason, debug::DebugStopReason::Step);
        QCOMPARE(client.request(fmt::format("z0,{:x},1", addStep)), std::string("OK"));
        QVERIFY(machine.debugger().breakpoints().empty());
        // Running to the end: the client gets the exit status.
        QCOMPARE(client.request("c"), std::string("W00"));
        QVERIFY(sink.text().contains("total 36, counter 36"));
    }
};

QTEST_GUILESS_MAIN(GdbStubTest)
#include "GdbStubTest.moc"
