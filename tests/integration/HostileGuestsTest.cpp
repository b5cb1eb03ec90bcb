// Hostile guests (docs/guests.md, "Hostile guests"; docs/hardening.md): each bundled guest tries
// one bad thing. kvmscope must stop only that VM, with the documented status and reason, and
// never crash, hang or grow without bound. Each guest that survives its bad thing reports that it
// ran to its end through the debug-exit port, so a status of (V << 1) | 1 proves it got there.
#include "ChildProcess.h"
#include "CollectingSink.h"
#include "KvmTestSupport.h"
#include "devices/Device.h"
#include "machine/Machine.h"
#include "machine/PcPlatform.h"

#include <QElapsedTimer>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

using namespace kvmscope;
using namespace kvmscope::testing;

namespace {

constexpr int kTimeoutMs = 120000;

// The values the guests write to the debug-exit port when they got to their end
// (resources/guests/hostile-common/hostile.h).
constexpr uint32_t kExitFloodDone = 0x41;
constexpr uint32_t kPortSweepDone = 0x42;
constexpr uint32_t kMmioSweepDone = 0x43;
constexpr uint32_t kDeviceGarbageDone = 0x44;
constexpr uint32_t kUartFloodDone = 0x45;
constexpr uint32_t kPciConfigDone = 0x46;
constexpr uint32_t kIdeDone = 0x47;
constexpr uint32_t kVirtqueueDone = 0x48;
constexpr int statusFor(uint32_t value) {
    return static_cast<int>((value << 1) | 1);
}

// hostile-exit-flood: rounds of one `out` and one `in`, then the debug exit. The count is the
// guest's word at 0x7C08 (its default is 100,000); 25,000 rounds keep the flood under a minute
// where an exit costs a millisecond (the nested harness on a busy host) and still last far longer
// than the event loop's turns on any host.
constexpr uint64_t kExitFloodRoundsAddress = 0x7C08;
constexpr uint64_t kExitFloodRounds = 25000;
// hostile-uart-flood: this many bytes, byte i = i ^ (i >> 8) ^ (i >> 16).
constexpr qint64 kUartFloodBytes = 256 * 1024;
uint8_t uartFloodByte(uint32_t i) {
    return static_cast<uint8_t>(i ^ (i >> 8) ^ (i >> 16));
}

// What a sanitizer or the C++ runtime prints when something went wrong inside kvmscope.
void verifyNoRuntimeReport(const CliResult& result) {
    for (const char* marker : {"Sanitizer", "runtime error", "terminate called", "Aborted"})
        QVERIFY2(!result.err.contains(QLatin1String(marker)), describe(result));
}

double childCpuSeconds() {
    rusage usage{};
    getrusage(RUSAGE_CHILDREN, &usage);
    return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// VmHWM (peak resident set) of a running process, in KiB; -1 if it cannot be read.
qint64 peakRssKib(qint64 pid) {
    QFile status(QStringLiteral("/proc/%1/status").arg(pid));
    if (!status.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray& line : status.readAll().split('\n'))
        if (line.startsWith("VmHWM:"))
            return line.mid(6).trimmed().split(' ').value(0).toLongLong();
    return -1;
}

// A zero-filled raw image of `bytes` in `dir`, for a guest to have a disk behind a function.
QString scratchImage(const QTemporaryDir& dir, const QString& name, qint64 bytes) {
    const QString path = dir.filePath(name);
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly) || !file.resize(bytes))
        return {};
    return path;
}

// Lines of `text` that contain `needle`.
int linesContaining(const QString& text, const QString& needle) {
    int count = 0;
    for (const QString& line : text.split('\n'))
        count += line.contains(needle) ? 1 : 0;
    return count;
}

} // namespace

class HostileGuestsTest : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<kvm::System> system_;

    std::unique_ptr<Machine> makeMachine(const char* guest, CollectingSink& sink,
                                         uint64_t memorySize = 64ull << 20) {
        MachineConfig config;
        config.memorySize = memorySize;
        config.boot.imagePath = guestPath(guest).toStdString();
        auto machine = std::make_unique<Machine>(config, *system_, sink);
        machine->boot();
        return machine;
    }

private Q_SLOTS:
    void initTestCase() {
        KVMSCOPE_REQUIRE_KVM();
        system_ = std::make_unique<kvm::System>();
    }

    // A triple fault stops its own machine only: a second machine in the same process, flooding
    // exits at the same time, runs to its end.
    void tripleFaultStopsOnlyItsOwnMachine() {
        CollectingSink faultSink;
        CollectingSink floodSink;
        auto faulting = makeMachine("triple-fault", faultSink);
        auto flooding = makeMachine("hostile-exit-flood", floodSink);
        flooding->run();
        faulting->run();
        const auto fault = faulting->waitForStop(kTimeoutMs);
        QVERIFY(fault);
        QCOMPARE(fault->kind, StopKind::Crash);
        QCOMPARE(fault->exitStatus(), 4);
        QVERIFY2(QString::fromStdString(fault->reason).contains("triple fault"),
                 fault->reason.c_str());
        QVERIFY(faulting->waitUntilPaused(kTimeoutMs));
        const auto flood = flooding->waitForStop(kTimeoutMs);
        QVERIFY(flood);
        QCOMPARE(flood->kind, StopKind::DebugExit);
        QCOMPARE(flood->debugExitValue, kExitFloodDone);
    }

    void tripleFaultThroughTheCliExitsFour() {
        const CliResult result = runKvmscope({"--headless", guestPath("triple-fault")});
        QVERIFY2(result.finished && result.exitCode == 4, describe(result));
        QVERIFY2(result.err.contains("triple fault") && result.err.contains("RIP="),
                 describe(result));
        verifyNoRuntimeReport(result);
    }

    // `cli; hlt`: with the in-kernel irqchip the vcpu sleeps in KVM_RUN and nothing short of an
    // NMI, INIT or SMI wakes it. kvmscope does not declare such a guest dead (another vcpu or the
    // user could still send one of those); --timeout ends it with status 6, and while it waits
    // the process sleeps instead of spinning a core.
    void haltWithInterruptsOffSleepsUntilTimeout() {
        const double cpuBefore = childCpuSeconds();
        QElapsedTimer wall;
        wall.start();
        const CliResult result = runKvmscope({"--headless", "--timeout", "3", guestPath("hang")});
        const double wallSeconds = static_cast<double>(wall.elapsed()) / 1000.0;
        const double cpuSeconds = childCpuSeconds() - cpuBefore;
        QVERIFY2(result.finished && result.exitCode == 6, describe(result));
        QVERIFY2(result.err.contains("--timeout"), describe(result));
        verifyNoRuntimeReport(result);
        qInfo("hang: %.2f s of CPU time over %.2f s of wall time", cpuSeconds, wallSeconds);
        // Start-up and teardown cost some CPU time (much more under a sanitizer); a spinning
        // vcpu or waiting thread would cost about the 3 s of the timeout on top of it.
        QVERIFY2(cpuSeconds < 1.5, qPrintable(QString::number(cpuSeconds)));
    }

    // The halted state is visible to whoever looks: paused, the vcpu reports KVM_MP_STATE_HALTED
    // with RFLAGS.IF clear.
    void haltWithInterruptsOffIsVisibleInTheVcpuState() {
        CollectingSink sink;
        auto machine = makeMachine("hang", sink);
        machine->run();
        QVERIFY(sink.waitFor("hang\r\n", kTimeoutMs));
        QTRY_VERIFY_WITH_TIMEOUT(machine->vcpu(0).trace().count(KVM_EXIT_IO) >= 5, kTimeoutMs);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        machine->pause();
        QVERIFY(machine->waitUntilPaused(kTimeoutMs));
        const cpu::CpuState state = machine->vcpu(0).readState();
        QCOMPARE(state.mpState.mp_state, uint32_t(KVM_MP_STATE_HALTED));
        QCOMPARE(state.regs.rflags & (1u << 9), uint64_t(0)); // IF
        QVERIFY(!machine->stopState());
    }

    void portSweepRunsToTheEnd() {
        QElapsedTimer wall;
        wall.start();
        const CliResult result = runKvmscope(
            {"--headless", "--timeout", "300", guestPath("hostile-port-sweep")}, {}, 320000);
        qInfo("port sweep: %.1f s", static_cast<double>(wall.elapsed()) / 1000.0);
        QVERIFY2(result.finished && result.exitCode == statusFor(kPortSweepDone), describe(result));
        QVERIFY2(result.out.contains("swept 65536 ports"), describe(result));
        verifyNoRuntimeReport(result);
    }

    void mmioSweepFindsOnlyKnownDevices_data() {
        QTest::addColumn<QString>("memory");
        QTest::addColumn<quint64>("ramEnd");
        QTest::newRow("256M") << QStringLiteral("256M") << quint64(0x10000000);
        // RAM up to the hole, the rest above 4 GiB (out of a 32-bit guest's reach).
        QTest::newRow("3584M") << QStringLiteral("3584M") << quint64(0xC0000000);
    }
    void mmioSweepFindsOnlyKnownDevices() {
        QFETCH(QString, memory);
        QFETCH(quint64, ramEnd);
        const CliResult result = runKvmscope(
            {"--headless", "--memory", memory, "--timeout", "300", guestPath("hostile-mmio-sweep")},
            {}, 320000);
        QVERIFY2(result.finished && result.exitCode == statusFor(kMmioSweepDone), describe(result));
        verifyNoRuntimeReport(result);
        const QString ramEndLine =
            "RAM ends at 0x" + QString::number(ramEnd, 16).toUpper().rightJustified(8, '0');
        QVERIFY2(result.out.contains(ramEndLine), describe(result));
        const QRegularExpression touchedLine(QStringLiteral("touched (\\d+) addresses"));
        const auto touched = touchedLine.match(result.out);
        QVERIFY2(touched.hasMatch() && touched.captured(1).toUInt() > 1000, describe(result));
        // Where something answers, it must be a device kvmscope put there.
        struct Window {
            quint64 base;
            quint64 size;
        };
        const Window known[] = {
            {pc::kIoApicAddress, 0x1000},    // in-kernel IOAPIC
            {pc::kLocalApicAddress, 0x1000}, // in-kernel LAPIC
            // The VGA function's BARs where a direct boot starts them: the framebuffer, and
            // the 4 KiB of dispi and VGA registers.
            {pc::kVgaFramebufferInitialAddress, pc::kFramebufferSize},
            {pc::kVgaMmioInitialAddress, 0x1000},
            {pc::kPciEcamAddress, pc::kPciEcamSize}, // PCI configuration space (ECAM)
        };
        const QRegularExpression backedLine(QStringLiteral("backed 0x([0-9A-F]{8})"));
        for (auto it = backedLine.globalMatch(result.out); it.hasNext();) {
            const quint64 address = it.next().captured(1).toULongLong(nullptr, 16);
            bool isKnown = false;
            for (const Window& window : known)
                isKnown =
                    isKnown || (address >= window.base && address - window.base < window.size);
            QVERIFY2(isKnown, qPrintable(QString::number(address, 16) + "\n" + describe(result)));
        }
    }

    // Garbage to every register of every device: the guest gets to its end, and every device's
    // attributes can still be read (what the GUI's device tree does).
    void deviceGarbageLeavesEveryDeviceReadable() {
        CollectingSink sink;
        auto machine = makeMachine("hostile-device-garbage", sink);
        machine->run();
        const auto stop = machine->waitForStop(kTimeoutMs);
        QVERIFY(stop);
        QVERIFY2(stop->kind == StopKind::DebugExit && stop->debugExitValue == kDeviceGarbageDone,
                 stop->reason.c_str());
        QVERIFY(machine->waitUntilPaused(kTimeoutMs));
        int read = 0;
        for (Device* device : machine->devices()) {
            for (const AttributeInfo& info : device->attributes()) {
                if (!canRead(info.access))
                    continue;
                try {
                    (void)device->getAttr(info.group, info.attr);
                    ++read;
                } catch (const Error& error) {
                    QFAIL(qPrintable(QString::fromStdString(device->name() + ": " + info.name +
                                                            ": " + error.what())));
                }
            }
        }
        QVERIFY(read > 50);
        QVERIFY(machine->vcpu(0).trace().count(KVM_EXIT_IO) > 1000);
    }

    // 50,000 exits as fast as the guest can make them. Every one is counted, and the flood
    // reaches the machine's clients as a handful of notifications, not one per exit.
    void exitFloodIsCountedAndDoesNotFloodTheEventLoop() {
        CollectingSink sink;
        auto machine = makeMachine("hostile-exit-flood", sink);
        machine->memory().writeValue<uint32_t>(kExitFloodRoundsAddress, kExitFloodRounds);
        std::atomic<int> stateSignals{0};
        std::atomic<int> stopSignals{0};
        const Connection stateCounting = machine->vcpu(0).stateChanged.connect(
            [&stateSignals](uint32_t, cpu::RunState) { ++stateSignals; });
        const Connection stopCounting =
            machine->stopped.connect([&stopSignals](const MachineStop&) { ++stopSignals; });
        QElapsedTimer wall;
        wall.start();
        machine->run();
        // This thread keeps serving its event loop while the flood runs; the longest gap between
        // two turns is what a window would feel.
        qint64 longestGapMs = 0;
        qint64 lastTurn = wall.elapsed();
        while (!machine->stopState() && wall.elapsed() < kTimeoutMs) {
            QCoreApplication::processEvents(QEventLoop::AllEvents, 5);
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            longestGapMs = std::max(longestGapMs, wall.elapsed() - lastTurn);
            lastTurn = wall.elapsed();
        }
        const auto stop = machine->waitForStop(kTimeoutMs);
        const double seconds = static_cast<double>(wall.elapsed()) / 1000.0;
        QVERIFY(stop);
        QCOMPARE(stop->kind, StopKind::DebugExit);
        QCOMPARE(stop->debugExitValue, kExitFloodDone);
        const uint64_t portExits = machine->vcpu(0).trace().count(KVM_EXIT_IO);
        qInfo(
            "exit flood: %llu port exits in %.2f s (%.0f per second), longest event loop gap %lld "
            "ms",
            static_cast<unsigned long long>(portExits), seconds,
            static_cast<double>(portExits) / seconds, static_cast<long long>(longestGapMs));
        // Two per round, one for the debug-exit write.
        QCOMPARE(portExits, 2 * kExitFloodRounds + 1);
        QTRY_COMPARE_WITH_TIMEOUT(stopSignals.load(), 1, kTimeoutMs);
        QVERIFY2(stateSignals < 10, qPrintable(QString::number(stateSignals.load())));
        QVERIFY2(longestGapMs < 1000, qPrintable(QString::number(longestGapMs)));
    }

    // COM1 written faster than the host reads it (a FIFO nobody reads until it is full): the vcpu
    // waits for the reader, so no byte is lost or reordered, and nothing piles up in memory.
    void uartFloodLosesNothingAndDoesNotGrow() {
        QTemporaryDir directory;
        QVERIFY(directory.isValid());
        const QByteArray fifoPath = directory.filePath(QStringLiteral("com1")).toLocal8Bit();
        QVERIFY(mkfifo(fifoPath.constData(), 0600) == 0);
        // Opened before kvmscope so its open for writing does not wait; O_NONBLOCK only for the
        // open and the polls, reads wait with poll().
        const int fd = ::open(fifoPath.constData(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        QVERIFY(fd >= 0);
        struct Closer {
            int fd;
            ~Closer() { ::close(fd); }
        } closer{fd};

        QProcess process;
        endWithTest(process);
        process.setProgram(QStringLiteral(KVMSCOPE_BINARY));
        process.setArguments({"--headless", "--serial", "file:" + QString::fromLocal8Bit(fifoPath),
                              "--timeout", "300", guestPath("hostile-uart-flood")});
        process.start();
        QVERIFY(process.waitForStarted(10000));
        const qint64 pid = process.processId();

        // First the host does not read at all, until the pipe is full: from then on every byte
        // the guest writes waits for the reader (the vcpu blocks in write(2)), which is what a
        // slow terminal or a stalled pipe does to a guest that writes faster than it reads.
        const int capacity = ::fcntl(fd, F_GETPIPE_SZ);
        QVERIFY(capacity > 0);
        QElapsedTimer wall;
        wall.start();
        // kvmscope writes to a pipe only when poll(2) says it has room (so that a reader that
        // never reads again cannot keep a vcpu from stopping), and a pipe stops saying so with
        // its last page partly used: full means within PIPE_BUF bytes of the capacity, and
        // no longer growing.
        int queued = 0;
        int previous = -1;
        while (wall.elapsed() < kTimeoutMs && process.state() == QProcess::Running) {
            QVERIFY(::ioctl(fd, FIONREAD, &queued) == 0);
            if (queued >= capacity - PIPE_BUF && queued == previous)
                break;
            previous = queued;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        QVERIFY2(queued >= capacity - PIPE_BUF && queued <= capacity,
                 qPrintable(QString("%1 of %2 bytes queued").arg(queued).arg(capacity)));
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        QCOMPARE(process.state(), QProcess::Running);
        const qint64 rssStalled = peakRssKib(pid);

        QByteArray received;
        received.reserve(kUartFloodBytes);
        qint64 rssLate = -1;
        while (wall.elapsed() < kTimeoutMs) {
            pollfd poller{fd, POLLIN, 0};
            if (::poll(&poller, 1, 100) < 0 && errno != EINTR)
                break;
            char buffer[4096];
            const ssize_t n = ::read(fd, buffer, sizeof buffer);
            if (n > 0)
                received.append(buffer, n);
            else if (n == 0)
                break; // kvmscope closed its end (it had opened it: the pipe was full)
            if (rssLate < 0 && received.size() >= kUartFloodBytes * 7 / 8)
                rssLate = peakRssKib(pid);
        }
        QVERIFY(process.waitForFinished(kTimeoutMs));
        const QString err = QString::fromUtf8(process.readAllStandardError());
        QVERIFY2(process.exitStatus() == QProcess::NormalExit &&
                     process.exitCode() == statusFor(kUartFloodDone),
                 qPrintable(QString::number(process.exitCode()) + "\n" + err));
        qInfo("uart flood: %lld bytes in %.1f s; peak RSS %lld KiB with the pipe full, %lld KiB "
              "after 7/8",
              static_cast<long long>(received.size()), static_cast<double>(wall.elapsed()) / 1000.0,
              static_cast<long long>(rssStalled), static_cast<long long>(rssLate));
        QCOMPARE(received.size(), kUartFloodBytes);
        for (qint64 i = 0; i < received.size(); ++i)
            if (static_cast<uint8_t>(received[i]) != uartFloodByte(static_cast<uint32_t>(i)))
                QFAIL(qPrintable(QStringLiteral("byte %1 is wrong").arg(i)));
        // Between the two samples the guest wrote more than half of the flood (over 128 KiB),
        // all of it behind a full pipe: the peak resident set may not grow by anything like that.
        QVERIFY(rssStalled > 0 && rssLate > 0);
        QVERIFY2(rssLate - rssStalled < 64,
                 qPrintable(QStringLiteral("%1 -> %2 KiB").arg(rssStalled).arg(rssLate)));
    }

    // hostile-pci-config: garbage into every configuration register of every function (the
    // chipset, IDE, VGA and a virtio disk) by both mechanisms, then BARs over RAM, over each
    // other and over fixed devices. The guest checks after each step that its RAM, COM1 and the
    // configuration mechanisms still work; kvmscope refuses each overlapping placement with one
    // warning per function up to a bound, and never stops.
    void pciConfigGarbageLeavesRamAndFixedDevicesAlone() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString virtioDisk = scratchImage(dir, "virtio.img", 1 << 20);
        const QString ideDisk = scratchImage(dir, "ide.img", 1 << 20);
        QVERIFY(!virtioDisk.isEmpty() && !ideDisk.isEmpty());
        const CliResult result =
            runKvmscope({"--headless", "--timeout", "100", "--disk", virtioDisk, "--disk",
                         ideDisk + ",if=ide", guestPath("hostile-pci-config")},
                        {}, kTimeoutMs);
        verifyNoRuntimeReport(result);
        QVERIFY2(!result.out.contains("FAILED"), describe(result));
        QVERIFY2(result.finished && result.exitCode == statusFor(kPciConfigDone), describe(result));
        for (const char* id :
             {"0x12378086", "0x70008086", "0x70108086", "0x11111234", "0x10421AF4"})
            QVERIFY2(result.out.contains(QLatin1String(id)), describe(result));
        // Every deliberate overlap was refused by name (RAM, another BAR, the ECAM window, the
        // APIC range, fixed ports), each function's warnings bounded.
        for (const char* refused :
             {"overlaps guest RAM", "overlaps VGA", "overlaps PCI ECAM", "overlaps the APICs",
              "overlaps debug-exit port", "overlaps PCI bus 0"})
            QVERIFY2(result.err.contains(QLatin1String(refused)), describe(result));
        QVERIFY2(linesContaining(result.err, "the guest placed BAR") <= 3 * 8, describe(result));
    }

    // hostile-ide: every ATA command byte to all four drive positions and every SCSI operation
    // code to the CD, with garbage around them, then bus-master DMA with bad descriptor tables.
    // Each DMA case ends the way the 82371SB datasheet says (3.6.2, table of Interrupt/Active):
    // a master abort (a table or region outside RAM, or no end) sets the bus-master error bit;
    // a table shorter than the transfer clears Active without an interrupt; a longer one leaves
    // Active set; an LBA past the end is IDNF. The disk still works afterwards (the guest checks
    // a PIO write read back by DMA, and IDENTIFY).
    void ideCommandStormFailsEachBadRequestAlone() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString disk = scratchImage(dir, "ide.img", 1 << 20);
        const QString cd = scratchImage(dir, "cd.iso", 1 << 20);
        QVERIFY(!disk.isEmpty() && !cd.isEmpty());
        const CliResult result =
            runKvmscope({"--headless", "--timeout", "200", "--disk", disk + ",if=ide", "--cdrom",
                         cd, guestPath("hostile-ide")},
                        {}, kTimeoutMs * 2);
        verifyNoRuntimeReport(result);
        QVERIFY2(!result.out.contains("FAILED"), describe(result));
        QVERIFY2(result.finished && result.exitCode == statusFor(kIdeDone), describe(result));
        const QRegularExpression caseLine(
            QStringLiteral(R"(dma ([a-z0-9-]+): (completed|failed) \(bus master 0x([0-9A-F]{2}), )"
                           R"(status 0x([0-9A-F]{2}), error 0x([0-9A-F]{2})\))"));
        struct Outcome {
            QString result;
            unsigned busMaster = 0;
            unsigned error = 0;
        };
        QHash<QString, Outcome> outcomes;
        for (auto it = caseLine.globalMatch(result.out); it.hasNext();) {
            const auto match = it.next();
            outcomes.insert(match.captured(1),
                            {match.captured(2), match.captured(3).toUInt(nullptr, 16),
                             match.captured(5).toUInt(nullptr, 16)});
        }
        constexpr unsigned kBusMasterActive = 0x01, kBusMasterError = 0x02, kIdNotFound = 0x10;
        for (const char* masterAbort :
             {"table-outside-ram", "read-to-outside-ram", "write-from-outside-ram",
              "region-across-ram-end", "table-runs-out-of-ram"}) {
            QVERIFY2(outcomes.contains(masterAbort), masterAbort);
            QCOMPARE(outcomes[masterAbort].result, QStringLiteral("failed"));
            QVERIFY2(outcomes[masterAbort].busMaster & kBusMasterError, masterAbort);
        }
        QCOMPARE(outcomes.value("table-shorter").result, QStringLiteral("failed"));
        QCOMPARE(outcomes.value("table-shorter").busMaster & (kBusMasterActive | kBusMasterError),
                 0u);
        QCOMPARE(outcomes.value("table-longer").result, QStringLiteral("completed"));
        QVERIFY(outcomes.value("table-longer").busMaster & kBusMasterActive);
        for (const char* valid : {"count-0-is-64k", "256-sectors", "check-read"})
            QCOMPARE(outcomes.value(valid).result, QStringLiteral("completed"));
        QCOMPARE(outcomes.value("lba-past-the-end").result, QStringLiteral("failed"));
        QVERIFY(outcomes.value("lba-past-the-end").error & kIdNotFound);
        QCOMPARE(outcomes.value("engine-not-started").result, QStringLiteral("failed"));
    }

    // hostile-virtqueue: one broken chain or ring per case against virtio-blk. A chain the
    // device cannot follow (outside RAM, looping, past the table, out of order, an indirect
    // table outside RAM, of an odd length, nested or looping) and rings outside RAM or of a size
    // that is not a power of two put the device in DEVICE_NEEDS_RESET (VIRTIO 1.2, 2.1.2); a
    // request it can follow but not do ends with its status (5.2.6: UNSUPP, IOERR). The device
    // works again after each reset, and the disk afterwards (the guest writes a sector through
    // the queue and reads it back).
    void virtqueueRuleBreaksNeedResetOrFail() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString disk = scratchImage(dir, "virtio.img", 1 << 20);
        QVERIFY(!disk.isEmpty());
        const CliResult result = runKvmscope(
            {"--headless", "--timeout", "100", "--disk", disk, guestPath("hostile-virtqueue")}, {},
            kTimeoutMs);
        verifyNoRuntimeReport(result);
        QVERIFY2(!result.out.contains("FAILED"), describe(result));
        QVERIFY2(result.finished && result.exitCode == statusFor(kVirtqueueDone), describe(result));
        const QRegularExpression caseLine(
            QStringLiteral(R"(virtq ([a-z0-9-]+): ([a-z -]+[0-9]*))"));
        QHash<QString, QString> outcomes;
        for (auto it = caseLine.globalMatch(result.out); it.hasNext();) {
            const auto match = it.next();
            outcomes.insert(match.captured(1), match.captured(2).trimmed());
        }
        for (const char* broken : {"header-outside-ram", "data-outside-ram", "huge-length", "loop",
                                   "next-past-the-table", "head-past-the-table",
                                   "index-jumps-ahead", "readable-after-writable", "header-only",
                                   "indirect-outside-ram", "indirect-odd-length", "indirect-nested",
                                   "indirect-loop", "rings-outside-ram", "size-not-a-power-of-two"})
            QVERIFY2(outcomes.value(broken) == "needs-reset",
                     qPrintable(QStringLiteral("%1: %2\n%3")
                                    .arg(broken, outcomes.value(broken), describe(result))));
        QCOMPARE(outcomes.value("valid-read"), QStringLiteral("used status 0"));
        QCOMPARE(outcomes.value("zero-length-data"), QStringLiteral("used status 0"));
        QCOMPARE(outcomes.value("unknown-type"), QStringLiteral("used status 2"));
        QCOMPARE(outcomes.value("sector-past-the-end"), QStringLiteral("used status 1"));
        QCOMPARE(outcomes.value("check-write"), QStringLiteral("used status 0"));
        QCOMPARE(outcomes.value("check-read"), QStringLiteral("used status 0"));
        // The warnings of a guest that keeps breaking the queue are bounded.
        QVERIFY2(linesContaining(result.err, "device needs reset") <= 8, describe(result));
    }
};

QTEST_GUILESS_MAIN(HostileGuestsTest)
#include "HostileGuestsTest.moc"
