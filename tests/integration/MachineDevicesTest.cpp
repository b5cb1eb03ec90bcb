// Every device of a real machine, user-space and kernel, through the one attribute model.
#include "CollectingSink.h"
#include "KvmTestSupport.h"
#include "devices/CmosRtc.h"
#include "devices/Device.h"
#include "devices/EmulatedDevice.h"
#include "devices/kernel/KernelLapic.h"
#include "kvm/compat.h"
#include "machine/Machine.h"
#include "machine/PcPlatform.h"
#include "pci/PciBus.h"

using namespace kvmscope;
using namespace kvmscope::testing;

class MachineDevicesTest : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<kvm::System> system_;
    CollectingSink sink_;
    std::unique_ptr<Machine> machine_;

    Device* findDevice(DeviceKind kind, const std::string& namePart) {
        for (Device* device : machine_->devices())
            if (device->kind() == kind && device->name().find(namePart) != std::string::npos)
                return device;
        return nullptr;
    }

private Q_SLOTS:
    void initTestCase() {
        KVMSCOPE_REQUIRE_KVM();
        system_ = std::make_unique<kvm::System>();
        MachineConfig config;
        config.memorySize = 32ull << 20;
        config.cpus = 2;
        config.boot.imagePath = guestPath("hello").toStdString();
        machine_ = std::make_unique<Machine>(config, *system_, sink_);
        machine_->boot();
    }

    void everyReadableAttributeCanBeRead() {
        int read = 0;
        for (Device* device : machine_->devices()) {
            for (const AttributeInfo& info : device->attributes()) {
                QVERIFY(device->hasAttr(info.group, info.attr));
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
    }

    void inKernelChipsAreListed() {
        QVERIFY(findDevice(DeviceKind::InKernelChip, "irqchip"));
        Device* pit = findDevice(DeviceKind::InKernelChip, "PIT");
        QVERIFY(pit);
        QVERIFY(pit->hasAttr(0, 0)); // channel 0 count
    }

    void irqchipMaskRoundTripsThroughTheKernel() {
        Device* irqchip = findDevice(DeviceKind::InKernelChip, "irqchip");
        QVERIFY(irqchip);
        const AttributeInfo* imr = nullptr;
        const auto attributes = irqchip->attributes();
        for (const auto& info : attributes)
            if (info.group == 0 && info.name == "imr")
                imr = &info;
        QVERIFY(imr);
        irqchip->setAttr(imr->group, imr->attr, AttrValue::of(0xa5));
        QCOMPARE(irqchip->getAttr(imr->group, imr->attr).scalar, uint64_t(0xa5));
        QVERIFY_THROWS_EXCEPTION(AttributeError,
                                 irqchip->setAttr(imr->group, imr->attr, AttrValue::of(0x1ff)));
    }

    void eachVcpuHasItsAttributes() {
        int vcpus = 0;
        for (Device* device : machine_->devices()) {
            if (device->kind() != DeviceKind::Vcpu)
                continue;
            ++vcpus;
            if (device->hasAttr(KVM_VCPU_TSC_CTRL, KVM_VCPU_TSC_OFFSET))
                (void)device->getAttr(KVM_VCPU_TSC_CTRL, KVM_VCPU_TSC_OFFSET);
        }
        QCOMPARE(vcpus, 2);
    }

    // Each vcpu's in-kernel local APIC is a device (docs/devices.md, "Local APICs"): its id is the
    // vcpu's index, the registers a person may edit round-trip through KVM_SET_LAPIC, and the
    // 256-bit IRR/ISR/TMR read as 32 bytes.
    void eachVcpuHasItsLocalApic() {
        for (uint32_t index = 0; index < 2; ++index) {
            Device* lapic =
                findDevice(DeviceKind::InKernelChip, "LAPIC (vcpu " + std::to_string(index));
            QVERIFY(lapic);
            const uint64_t id = lapic->getAttr(KernelLapic::Registers, KernelLapic::kId).scalar;
            QCOMPARE(id >> 24, uint64_t(index));
            const uint64_t version =
                lapic->getAttr(KernelLapic::Registers, KernelLapic::kVersion).scalar;
            QVERIFY((version & 0xff) >= 0x10);      // an integrated APIC (SDM Vol. 3A, 11.4.8)
            QVERIFY(((version >> 16) & 0xff) >= 5); // at least six LVT entries

            lapic->setAttr(KernelLapic::Registers, KernelLapic::kTaskPriority,
                           AttrValue::of(0x20 + index));
            QCOMPARE(lapic->getAttr(KernelLapic::Registers, KernelLapic::kTaskPriority).scalar,
                     uint64_t(0x20 + index));
            const uint32_t lvtError = KernelLapic::kLvtMasked | 0xfe;
            lapic->setAttr(KernelLapic::LocalVectorTable, KernelLapic::kLvtError,
                           AttrValue::of(lvtError));
            QCOMPARE(lapic->getAttr(KernelLapic::LocalVectorTable, KernelLapic::kLvtError).scalar,
                     uint64_t(lvtError));
            lapic->setAttr(KernelLapic::Registers, KernelLapic::kTaskPriority, AttrValue::of(0));

            QCOMPARE(
                lapic->getAttr(KernelLapic::Vectors, KernelLapic::kInterruptRequest).bytes.size(),
                size_t(32));
            // Read-only registers refuse a write, naming the register.
            QVERIFY_THROWS_EXCEPTION(AttributeError, lapic->setAttr(KernelLapic::Registers,
                                                                    KernelLapic::kProcessorPriority,
                                                                    AttrValue::of(0)));
        }
    }

    void kernelDevicesMatchWhatTheHostOffers() {
        const auto types = kvm::System::probeDeviceTypes(machine_->vm());
        int kernelDevices = 0;
        for (Device* device : machine_->devices())
            kernelDevices += device->kind() == DeviceKind::KernelDevice;
        QCOMPARE(kernelDevices, static_cast<int>(types.size()));
        if (std::find(types.begin(), types.end(), uint32_t(KVM_DEV_TYPE_VFIO)) != types.end()) {
            Device* vfio = findDevice(DeviceKind::KernelDevice, "VFIO");
            QVERIFY(vfio);
            QVERIFY(vfio->hasAttr(KVM_DEV_VFIO_FILE, KVM_DEV_VFIO_FILE_ADD));
            QVERIFY_THROWS_EXCEPTION(AttributeError,
                                     vfio->getAttr(KVM_DEV_VFIO_FILE, KVM_DEV_VFIO_FILE_ADD));
        }
    }

    void systemAttributesAreShownWhenTheHostHasThem() {
        Device* systemDevice = findDevice(DeviceKind::System, "");
        QVERIFY(systemDevice);
        if (system_->hasAttr(KVM_X86_GRP_SYSTEM, KVM_X86_XCOMP_GUEST_SUPP)) {
            const uint64_t value =
                systemDevice->getAttr(KVM_X86_GRP_SYSTEM, KVM_X86_XCOMP_GUEST_SUPP).scalar;
            QVERIFY(value & 0x3); // x87 and SSE state are always there
        }
    }

    // Each row of the platform table is on the I/O bus with exactly its ports (PcPlatform.h).
    void legacyDevicesAreWhereThePlatformTableSays() {
        for (const pc::LegacyDevice& row : pc::kLegacyDevices) {
            const AddressBus::Range* range = machine_->ioBus().find(row.port);
            QVERIFY2(range, row.name.data());
            QCOMPARE(range->base, uint64_t(row.port));
            QCOMPARE(range->length, uint64_t(row.portCount));
        }
        QVERIFY(!machine_->ioBus().find(0x520)); // nothing there
    }

    // PCI bus 0 (docs/devices.md, "PCI"): the chipset functions answer through the ports and the
    // ECAM window, and are devices with attributes.
    void pciBridgesAreOnBusZero() {
        pci::PciBus& bus = machine_->pciBus();
        QCOMPARE(bus.configRead(0, pc::kPciHostBridgeSlot, 0, 0, 4), 0x1237'8086u);
        QCOMPARE(bus.configRead(0, pc::kPciIsaBridgeSlot, 0, 0, 4), 0x7000'8086u);
        const AddressBus::Range* ecam = machine_->mmioBus().find(pc::kPciEcamAddress);
        QVERIFY(ecam);
        QCOMPARE(ecam->length, pc::kPciEcamSize);
        uint8_t id[4] = {};
        QVERIFY(
            machine_->mmioBus().read(pc::kPciEcamAddress + (pc::kPciIsaBridgeSlot << 15), {id, 4}));
        QCOMPARE(id[0] | id[1] << 8 | id[2] << 16 | id[3] << 24, 0x7000'8086);
        QVERIFY(findDevice(DeviceKind::UserSpace, "i440FX host bridge (PCI 00:00.0)"));
        Device* isa = findDevice(DeviceKind::UserSpace, "PIIX3 ISA bridge (PCI 00:01.0)");
        QVERIFY(isa);
        QCOMPARE(isa->getAttr(pci::PciFunction::kIdentityGroup, attrId("class code")).scalar,
                 uint64_t(0x060100));
    }

    // The RTC's interrupts through KVM's irqchip, seen from the device (the guest checks its own
    // side): the rtc-irq guest enables them, takes them and turns them off again before it exits,
    // so the timer is disarmed and the line low at the end, with every edge counted.
    void rtcRaisesIrq8() {
        CollectingSink sink;
        MachineConfig config;
        config.memorySize = 32ull << 20;
        config.boot.imagePath = guestPath("rtc-irq").toStdString();
        Machine machine(config, *system_, sink);
        machine.boot();
        Device* rtc = nullptr;
        for (Device* device : machine.devices())
            if (device->name().find("MC146818A") != std::string::npos)
                rtc = device;
        QVERIFY(rtc);
        const auto attr = [rtc](const char* name) {
            return rtc->getAttr(CmosRtc::kInterruptGroup, attrId(name)).scalar;
        };
        QCOMPARE(attr("timer period"), uint64_t(0)); // nothing enabled: no timer
        machine.run();
        const auto stop = machine.waitForStop(60000);
        QVERIFY2(stop.has_value(), sink.text().constData());
        QVERIFY2(stop->kind == StopKind::DebugExit && stop->debugExitValue == 0x31,
                 sink.text().constData());
        // Two update interrupts, an alarm, at least 32 periodic ones and the two edges of the
        // acknowledgement check.
        QVERIFY2(attr("interrupts raised") >= 36, sink.text().constData());
        QCOMPARE(attr("IRQ level"), uint64_t(0));
        QCOMPARE(attr("timer period"), uint64_t(0));
        QCOMPARE(attr("periodic rate"), uint64_t(64));
    }

    // A state restore re-arms the RTC's timer (snapshots restore every device this way): with the
    // rtc-irq guest waiting for its interrupts, the RTC is given a fresh RTC's state (nothing
    // enabled: the timer stops) and then its own saved state back, and the guest, which waits in
    // hlt for each interrupt, reaches its end only if the timer runs again. Its own checks may
    // fail (status 101): the pause falls into what it measures.
    void rtcTimerFollowsAStateRestore() {
        CollectingSink sink;
        MachineConfig config;
        config.memorySize = 32ull << 20;
        config.boot.imagePath = guestPath("rtc-irq").toStdString();
        Machine machine(config, *system_, sink);
        machine.boot();
        EmulatedDevice* rtc = nullptr;
        for (Device* device : machine.devices())
            if (device->name().find("MC146818A") != std::string::npos)
                rtc = dynamic_cast<EmulatedDevice*>(device);
        QVERIFY(rtc);
        const auto attr = [rtc](const char* name) {
            return rtc->getAttr(CmosRtc::kInterruptGroup, attrId(name)).scalar;
        };
        machine.run();
        QTRY_VERIFY_WITH_TIMEOUT(sink.text().contains("rtc-irq: ready"), 30000);
        machine.pause();
        QVERIFY(machine.waitUntilPaused(10000));
        QCOMPARE(attr("timer period"), uint64_t(1'000'000'000 / 64));
        const SavedDeviceState running = rtc->saveState();

        const SavedDeviceState idle = CmosRtc(config.memorySize).saveState();
        rtc->restoreState(idle);
        QCOMPARE(attr("timer period"), uint64_t(0));
        QCOMPARE(attr("IRQ level"), uint64_t(0));
        rtc->restoreState(running);
        QCOMPARE(attr("timer period"), uint64_t(1'000'000'000 / 64));

        machine.run();
        const auto stop = machine.waitForStop(60000);
        QVERIFY2(stop.has_value(), sink.text().constData());
        QVERIFY2(stop->kind == StopKind::DebugExit &&
                     (stop->debugExitValue == 0x31 || stop->debugExitValue == 0x32),
                 sink.text().constData());
        QVERIFY2(sink.text().contains("rtc-irq: interrupts"), sink.text().constData());
    }
};

QTEST_GUILESS_MAIN(MachineDevicesTest)
#include "MachineDevicesTest.moc"
