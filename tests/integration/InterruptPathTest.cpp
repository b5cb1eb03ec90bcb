// The path of an interrupt on a real machine (core/inspect/InterruptPath.h): the uart-echo guest
// programs the 8259 pair and the UART's receive interrupt, leaves the I/O APIC's pins masked and
// waits in hlt; each byte the test sends raises IRQ 4, which the guest echoes upper-cased. The
// trace must follow the line's real state: never raised before the first byte, raised and open
// through the PIC after it, and, once the test masks IRQ 4 in the PIC through the irqchip's
// attributes, held at both masks while the request stands.
#include "inspect/InterruptPath.h"

#include "CollectingSink.h"
#include "KvmTestSupport.h"
#include "devices/Device.h"
#include "machine/Machine.h"

#include <QScopeGuard>

using namespace kvmscope;
using namespace kvmscope::testing;

class InterruptPathTest : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<kvm::System> system_;
    CollectingSink sink_;
    std::unique_ptr<Machine> machine_;

    static constexpr int kTimeoutMs = 60000;

    // Traces IRQ 4 until `done` holds for the trace (the guest between two instructions of its
    // handler is no place to judge the path from), resuming the machine between tries; returns
    // the last trace with the machine paused.
    template <typename Done> inspect::InterruptPath traceCom1Until(Done done) {
        inspect::InterruptPath path;
        for (int attempt = 0; attempt < 100; ++attempt) {
            path = traceCom1();
            if (done(path))
                break;
            machine_->run();
            QTest::qWait(50);
        }
        return path;
    }

    // Pauses the machine and traces IRQ 4 with every vcpu's state.
    inspect::InterruptPath traceCom1() {
        machine_->pause();
        if (!machine_->waitUntilPaused(kTimeoutMs))
            qFatal("the machine did not pause");
        std::vector<cpu::CpuState> vcpus;
        for (size_t index = 0; index < machine_->vcpuCount(); ++index)
            vcpus.push_back(machine_->vcpu(index).readState());
        const auto chips = inspect::readInterruptChips(*machine_);
        const auto lines = machine_->irqLines();
        return inspect::traceInterrupt(4, lines, chips, vcpus);
    }

    Device* irqchip() {
        for (Device* device : machine_->devices())
            if (device->kind() == DeviceKind::InKernelChip &&
                device->name().find("irqchip") != std::string::npos)
                return device;
        return nullptr;
    }

private Q_SLOTS:
    void initTestCase() {
        KVMSCOPE_REQUIRE_KVM();
        system_ = std::make_unique<kvm::System>();
        MachineConfig config;
        config.memorySize = 32ull << 20;
        config.boot.imagePath = guestPath("uart-echo").toStdString();
        machine_ = std::make_unique<Machine>(config, *system_, sink_);
        machine_->boot();
        machine_->run();
        QVERIFY2(sink_.waitFor("ready", kTimeoutMs), sink_.text().constData());
    }

    void neverRaisedBeforeTheFirstByte() {
        auto resume = qScopeGuard([this] { machine_->run(); });
        const inspect::InterruptPath path = traceCom1();
        QCOMPARE(path.block, inspect::InterruptBlock::NotRaised);
        QCOMPARE(QString::fromStdString(path.sentence),
                 QStringLiteral("IRQ 4 (COM1): never raised"));
        // The PCI routing lines on IRQ 4 are not its drivers while no PIRQ is routed there.
        QCOMPARE(path.lines.size(), size_t(1));
    }

    void aByteTakesThePicRouteToVcpuZero() {
        const uint8_t byte = 'a';
        machine_->serial().receive({&byte, 1});
        auto resume = qScopeGuard([this] { machine_->run(); });
        QVERIFY2(sink_.waitFor("A", kTimeoutMs), sink_.text().constData());
        // Once the handler has run to its EOI and iret: nothing pending, both ends open.
        const inspect::InterruptPath path =
            traceCom1Until([](const inspect::InterruptPath& traced) {
                return traced.block == inspect::InterruptBlock::Idle;
            });
        QVERIFY(path.raises >= 1);
        QVERIFY(path.lastRaiseExit > 0);
        QVERIFY(path.redirection.masked); // the guest uses the PIC only
        QVERIFY(!path.picMasked);
        QCOMPARE(path.picVector, uint8_t(0x20 + 4)); // uart-echo's ICW2 base
        QCOMPARE(path.targetVcpus, std::vector<uint32_t>{0});
        QCOMPARE(path.block, inspect::InterruptBlock::Idle);
        QVERIFY2(path.sentence.find("nothing pending, and the path is open: PIC → vector 0x24") !=
                     std::string::npos,
                 path.sentence.c_str());
    }

    // An IRQ left masked: traced while the request stands, the sentence names both masks.
    void aMaskedIrqStopsAtTheMask() {
        Device* chip = irqchip();
        QVERIFY(chip);
        machine_->pause();
        QVERIFY(machine_->waitUntilPaused(kTimeoutMs));
        uint64_t imrAttr = ~0ull;
        for (const AttributeInfo& info : chip->attributes())
            if (info.group == 0 && info.name == "imr")
                imrAttr = info.attr;
        QVERIFY(imrAttr != ~0ull);
        const uint64_t imr = chip->getAttr(0, imrAttr).scalar;
        chip->setAttr(0, imrAttr, AttrValue::of(imr | 0x10));
        const uint64_t raisesBefore = traceCom1().raises;
        machine_->run();

        const uint8_t byte = 'b';
        machine_->serial().receive({&byte, 1});
        // The UART raises the line when the byte arrives.
        const inspect::InterruptPath path = traceCom1Until(
            [&](const inspect::InterruptPath& traced) { return traced.raises > raisesBefore; });
        auto resume = qScopeGuard([this] { machine_->run(); });
        QVERIFY2(path.raises > raisesBefore, path.sentence.c_str());
        // Traced with the request standing: the line high, held at both masks.
        QVERIFY2(path.lineHigh, path.sentence.c_str());
        QCOMPARE(path.block, inspect::InterruptBlock::IoapicMasked);
        QVERIFY2(path.sentence.find("IOAPIC pin 4 is masked and the PIC masks IRQ 4 (IMR)") !=
                     std::string::npos,
                 path.sentence.c_str());
        QVERIFY(path.picMasked && path.redirection.masked);
    }

    void cleanupTestCase() {
        if (machine_)
            machine_->requestStop({StopKind::UserStop, 0, 0, "test done"});
    }
};

QTEST_GUILESS_MAIN(InterruptPathTest)
#include "InterruptPathTest.moc"
