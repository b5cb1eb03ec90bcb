// MachineHost on real guests: a reboot is a new machine announced before and after, a failed one
// keeps the old machine, the exit counts of earlier boots are kept, the reboot policy, the
// symbols each policy loads, added kernel devices going with their VM, and a gdb server that
// stays at its port across a reboot (the client sees the old machine exit and can attach again).
#include "machine/MachineHost.h"

#include "CollectingSink.h"
#include "KvmTestSupport.h"
#include "common/Error.h"
#include "debug/Debugger.h"
#include "kvm/KvmError.h"
#include "kvm/System.h"
#include "kvm/Vm.h"
#include "machine/Machine.h"
#include "storage/DiskImage.h"
#include "storage/DiskSpec.h"

#include <QFile>
#include <QTemporaryDir>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <numeric>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace kvmscope;
using namespace kvmscope::testing;

namespace {

constexpr int kTimeoutMs = 30000;

uint64_t sum(const MachineHost::ExitCounts& counts) {
    return std::accumulate(counts.begin(), counts.end(), uint64_t{0});
}

// A TCP connection to 127.0.0.1:port, or -1.
int connectTo(uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// Everything the peer sends until it closes the connection (true) or `timeoutMs` passes.
bool readUntilClosed(int fd, std::string& received, int timeoutMs) {
    for (;;) {
        pollfd wait{fd, POLLIN, 0};
        if (::poll(&wait, 1, timeoutMs) <= 0)
            return false;
        char buffer[256];
        const ssize_t count = ::read(fd, buffer, sizeof buffer);
        if (count <= 0)
            return count == 0;
        received.append(buffer, static_cast<size_t>(count));
    }
}

} // namespace

class MachineHostTest : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<kvm::System> system_;

    MachineConfig configFor(const QString& guest) const {
        MachineConfig config;
        config.memorySize = 16ull << 20;
        config.boot.imagePath = guestPath(guest).toStdString();
        return config;
    }

private Q_SLOTS:
    void initTestCase() {
        KVMSCOPE_REQUIRE_KVM();
        system_ = std::make_unique<kvm::System>();
    }

    void rebootIsANewMachineAndKeepsTheExitCounts() {
        CollectingSink sink;
        MachineHost host(configFor("reset"), *system_, sink, {});
        QCOMPARE(host.boots(), 1u);
        Machine* first = &host.machine();
        first->run();
        const auto stop = first->waitForStop(kTimeoutMs);
        QVERIFY(stop);
        QCOMPARE(stop->kind, StopKind::Reset);
        QVERIFY(host.rebootsAfter(*stop));
        const MachineHost::ExitCounts firstBoot = host.exitCountsOfThisBoot();
        QVERIFY(firstBoot[KVM_EXIT_IO] > 0); // "reset" on COM1 and the write to 0xCF9
        QCOMPARE(sum(host.exitCountsOfEarlierBoots()), uint64_t{0});

        std::vector<std::string> events;
        Connection before = host.machineAboutToBeReplaced.connect([&] {
            events.push_back("before");
            QCOMPARE(&host.machine(), first); // still the old one: let go of it now
        });
        Connection after = host.machineReplaced.connect([&] { events.push_back("after"); });
        host.reboot();
        QCOMPARE(events, (std::vector<std::string>{"before", "after"}));
        QCOMPARE(host.boots(), 2u);
        QVERIFY(!host.machine().stopState()); // fresh, not running yet
        QVERIFY(host.exitCountsOfEarlierBoots() == firstBoot);
        QCOMPARE(sum(host.exitCountsOfThisBoot()), uint64_t{0});

        host.machine().run();
        const auto second = host.machine().waitForStop(kTimeoutMs);
        QVERIFY(second && second->kind == StopKind::Reset);
        QCOMPARE(sink.text().count("reset"), 2);
    }

    // The disks stay open and locked across a reboot: the new machine takes over the old one's
    // images (a second open of an image this process holds would be refused as in use).
    void aRebootKeepsTheDisks() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::string virtioImage = dir.filePath(QStringLiteral("virtio.img")).toStdString();
        const std::string ideImage = dir.filePath(QStringLiteral("ide.img")).toStdString();
        for (const std::string& path : {virtioImage, ideImage}) {
            QFile file(QString::fromStdString(path));
            QVERIFY(file.open(QIODevice::WriteOnly));
            QVERIFY(file.resize(1 << 20));
        }
        MachineConfig config = configFor("reset");
        config.disks.push_back(storage::parseDiskSpec(virtioImage));
        config.disks.push_back(storage::parseDiskSpec(ideImage + ",if=ide"));
        CollectingSink sink;
        MachineHost host(config, *system_, sink, {});
        const auto images = host.machine().diskImages();
        QCOMPARE(images.size(), size_t(2));
        host.machine().run();
        const auto stop = host.machine().waitForStop(kTimeoutMs);
        QVERIFY(stop && stop->kind == StopKind::Reset);
        host.reboot();
        QCOMPARE(host.boots(), 2u);
        QVERIFY(host.machine().diskImages() == images);
        // Another machine still cannot have them while this one runs.
        QVERIFY_THROWS_EXCEPTION(LoadError, storage::DiskImage(config.disks[0]));
    }

    void thePolicyRebootsOnlyAfterAGuestReset() {
        CollectingSink sink;
        MachineHost host(configFor("spin"), *system_, sink, {});
        const MachineStop reset{StopKind::Reset, 0, 0, "reset"};
        const MachineStop crash{StopKind::Crash, 0, 0, "triple fault"};
        const MachineStop off{StopKind::PowerOff, 0, 0, "ACPI S5"};
        QVERIFY(host.rebootsAfter(reset));
        QVERIFY(!host.rebootsAfter(crash)); // a crash is shown, not hidden by a reboot
        QVERIFY(!host.rebootsAfter(off));
        host.setRebootOnGuestReset(false); // --no-reboot
        QVERIFY(!host.rebootsAfter(reset));
    }

    void aFailedRebootKeepsTheOldMachine() {
        QTemporaryDir dir;
        const QString copy = dir.filePath(QStringLiteral("spin"));
        QVERIFY(QFile::copy(guestPath("spin"), copy));
        MachineConfig config = configFor("spin");
        config.boot.imagePath = copy.toStdString();
        CollectingSink sink;
        MachineHost host(config, *system_, sink, {});
        Machine* first = &host.machine();
        bool announced = false;
        Connection before = host.machineAboutToBeReplaced.connect([&] { announced = true; });
        QVERIFY(QFile::remove(copy));
        QVERIFY_THROWS_EXCEPTION(InputError, host.reboot());
        QVERIFY(!announced);
        QCOMPARE(&host.machine(), first);
        QCOMPARE(host.boots(), 1u);
        host.machine().run(); // and it still runs
        QVERIFY2(sink.waitFor("spin", kTimeoutMs), sink.text().constData());
    }

    void symbolsFollowThePolicy() {
        CollectingSink sink;
        // debug-target is an ELF with a .symtab (add_step, ...).
        MachineHost window(configFor("debug-target"), *system_, sink,
                           {true, MachineHost::Symbols::NamedOrImage, nullptr});
        QVERIFY(!window.machine().debugger().guest().symbols().empty());
        MachineHost terminal(configFor("debug-target"), *system_, sink,
                             {true, MachineHost::Symbols::Named, nullptr});
        QVERIFY(terminal.machine().debugger().guest().symbols().empty());
        window.reboot(); // every boot loads them again
        QVERIFY(!window.machine().debugger().guest().symbols().empty());
    }

    void addedKernelDevicesGoWithTheirMachine() {
        CollectingSink sink;
        // Without the kernel devices a machine makes for inspection (one VFIO among them).
        MachineConfig config = configFor("spin");
        config.inspectKernelDevices = false;
        MachineHost host(config, *system_, sink, {});
        const auto offered = kvm::System::probeDeviceTypes(host.machine().vm());
        // The in-kernel irqchip is already made another way; any other type will do.
        uint32_t type = 0;
        for (uint32_t candidate : offered)
            if (candidate == KVM_DEV_TYPE_VFIO)
                type = candidate;
        if (type == 0)
            QSKIP("this host's KVM offers no KVM_DEV_TYPE_VFIO to add");
        const size_t base = host.devices().size();
        Device& added = host.addKernelDevice(type);
        QCOMPARE(host.devices().size(), base + 1);
        QCOMPARE(host.devices().back(), &added);
        // KVM allows one VFIO device per VM (virt/kvm/vfio.c: EBUSY): the kernel's refusal comes
        // through as an error naming the ioctl, and nothing is added.
        QVERIFY_THROWS_EXCEPTION(kvm::KvmError, host.addKernelDevice(type));
        QCOMPARE(host.devices().size(), base + 1);
        host.reboot(); // the new VM has none
        QCOMPARE(host.devices().size(), base);
        host.addKernelDevice(type); // and may have its own
        QCOMPARE(host.devices().size(), base + 1);
    }

    void gdbServerStaysAtItsPortAcrossAReboot() {
        CollectingSink sink;
        MachineHost host(configFor("spin"), *system_, sink, {});
        host.serveGdb({"127.0.0.1", 0});
        QVERIFY(host.gdbServing());
        const uint16_t port = host.gdbPort();
        QVERIFY(port != 0);
        QCOMPARE(QString::fromStdString(host.gdbAddress()),
                 QStringLiteral("127.0.0.1:%1").arg(port));
        QVERIFY_THROWS_EXCEPTION(Error, host.serveGdb({"127.0.0.1", 0})); // one per machine

        const int client = connectTo(port);
        QVERIFY(client >= 0);
        QTRY_VERIFY_WITH_TIMEOUT(host.gdbClientConnected(), kTimeoutMs);
        host.reboot();
        // The old machine's connection ends (after its exit reply, when it had stopped) ...
        std::string received;
        const bool closed = readUntilClosed(client, received, kTimeoutMs);
        ::close(client);
        QVERIFY2(closed, received.c_str());
        // ... and the same port serves the new machine.
        QVERIFY(host.gdbServing());
        QCOMPARE(host.gdbPort(), port);
        const int again = connectTo(port);
        QVERIFY(again >= 0);
        QTRY_VERIFY_WITH_TIMEOUT(host.gdbClientConnected(), kTimeoutMs);
        ::close(again);
        host.stopGdb();
        QVERIFY(!host.gdbServing());
        QCOMPARE(host.gdbPort(), uint16_t{0});
        QVERIFY(connectTo(port) < 0);
    }
};

QTEST_GUILESS_MAIN(MachineHostTest)
#include "MachineHostTest.moc"
