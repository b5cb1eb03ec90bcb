// A machine with a virtio disk on /dev/kvm, driven from the host side as a driver would drive it
// (the guest stays parked): the function sits at 00:04.0, its doorbell goes into the kernel
// (KVM_IOEVENTFD) once the BAR is placed and the queue enabled, MSI-X routes reach KVM
// (KVM_IRQFD, KVM_SET_GSI_ROUTING), a request rung through the MMIO path is served on the I/O
// thread, and the machine comes apart cleanly with all of it registered.
#include "CollectingSink.h"
#include "KvmTestSupport.h"
#include "kvm/compat.h"
#include "machine/Machine.h"
#include "machine/PcPlatform.h"
#include "pci/PciBus.h"
#include "virtio/Ring.h"
#include "virtio/VirtioPciTransport.h"

#include <QTemporaryDir>
#include <chrono>
#include <fcntl.h>
#include <linux/pci_regs.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <thread>
#include <unistd.h>

using namespace kvmscope;
using namespace kvmscope::testing;
using virtio::VirtioPciTransport;

namespace {

constexpr uint64_t kBarBase = 0xd000'0000;
constexpr uint64_t kDescriptors = 0x20000, kAvailable = 0x21000, kUsed = 0x22000;
constexpr uint64_t kHeader = 0x30000, kData = 0x31000, kStatusByte = 0x32000;
constexpr uint16_t kQueueSize = 16;

} // namespace

class VirtioMachineTest : public QObject {
    Q_OBJECT
private:
    QTemporaryDir dir_;
    std::unique_ptr<kvm::System> system_;
    CollectingSink sink_;
    std::unique_ptr<Machine> machine_;

    unsigned slot() const { return pc::kPciFirstVirtioSlot; }
    uint32_t config(unsigned offset, unsigned size) {
        return machine_->pciBus().configRead(0, slot(), 0, offset, size);
    }
    void setConfig(unsigned offset, uint32_t value, unsigned size) {
        machine_->pciBus().configWrite(0, slot(), 0, offset, value, size);
    }
    void setBar(uint64_t offset, uint64_t value, unsigned size) {
        uint8_t bytes[8];
        for (unsigned i = 0; i < 8; ++i)
            bytes[i] = static_cast<uint8_t>(value >> (8 * i));
        QVERIFY(machine_->mmioBus().write(kBarBase + offset, {bytes, size}));
    }
    uint64_t bar(uint64_t offset, unsigned size) {
        uint8_t bytes[8] = {};
        if (!machine_->mmioBus().read(kBarBase + offset, {bytes, size}))
            return ~uint64_t{0};
        uint64_t value = 0;
        for (unsigned i = 0; i < size; ++i)
            value |= uint64_t{bytes[i]} << (8 * i);
        return value;
    }
    VirtioPciTransport* transport() {
        return dynamic_cast<VirtioPciTransport*>(machine_->pciBus().function(0, slot(), 0));
    }

private Q_SLOTS:
    void initTestCase() {
        KVMSCOPE_REQUIRE_KVM();
        const std::string path = dir_.filePath(QStringLiteral("disk.img")).toStdString();
        std::vector<uint8_t> bytes(64 * 512);
        for (size_t i = 0; i < bytes.size(); ++i)
            bytes[i] = static_cast<uint8_t>(i / 512);
        const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        QVERIFY(fd >= 0 && ::write(fd, bytes.data(), bytes.size()) == ssize_t(bytes.size()));
        ::close(fd);
        system_ = std::make_unique<kvm::System>();
        MachineConfig config;
        config.memorySize = 32ull << 20;
        config.boot.imagePath = guestPath("hello").toStdString();
        storage::DiskSpec disk;
        disk.path = path;
        config.disks.push_back(disk);
        machine_ = std::make_unique<Machine>(config, *system_, sink_);
    }

    void theFunctionSitsAtSlot4() {
        QVERIFY(transport());
        QCOMPARE(config(pci::kVendorId, 2), 0x1af4u);
        QCOMPARE(config(pci::kDeviceId, 2), 0x1042u);
    }

    void aRequestIsServedWithTheKernelWiringInPlace() {
        const unsigned barRegister = pci::kBar0 + 4 * VirtioPciTransport::kBar;
        setConfig(barRegister, static_cast<uint32_t>(kBarBase), 4);
        setConfig(barRegister + 4, 0, 4);
        setConfig(pci::kCommand, pci::kCommandMemorySpace | pci::kCommandBusMaster, 2);
        QCOMPARE(transport()->decodedBar(VirtioPciTransport::kBar).value_or(0), kBarBase);

        // MSI-X on, vector 0 to the local APIC of CPU 0 (an MSI route through KVM).
        unsigned msix = 0;
        for (const auto& capability : pci::walkCapabilities(
                 [this](unsigned offset, unsigned size) { return config(offset, size); }))
            if (capability.id == pci::kCapabilityIdMsix)
                msix = capability.offset;
        const bool haveMsix = msix != 0;
        if (haveMsix) {
            setConfig(msix + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2);
            setBar(VirtioPciTransport::kMsixTableOffset + PCI_MSIX_ENTRY_LOWER_ADDR, 0xfee0'0000,
                   4);
            setBar(VirtioPciTransport::kMsixTableOffset + PCI_MSIX_ENTRY_DATA, 0x41, 4);
            setBar(VirtioPciTransport::kMsixTableOffset + PCI_MSIX_ENTRY_VECTOR_CTRL, 0, 4);
        }

        setBar(VIRTIO_PCI_COMMON_STATUS, 0, 1);
        setBar(VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER, 1);
        setBar(VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
        setBar(VIRTIO_PCI_COMMON_GF, 1, 4); // VIRTIO_F_VERSION_1
        const uint8_t ready =
            VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK;
        setBar(VIRTIO_PCI_COMMON_STATUS, ready, 1);
        QCOMPARE(bar(VIRTIO_PCI_COMMON_STATUS, 1), uint64_t{ready});
        setBar(VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
        setBar(VIRTIO_PCI_COMMON_Q_SIZE, kQueueSize, 2);
        setBar(VIRTIO_PCI_COMMON_Q_DESCLO, kDescriptors, 8);
        setBar(VIRTIO_PCI_COMMON_Q_AVAILLO, kAvailable, 8);
        setBar(VIRTIO_PCI_COMMON_Q_USEDLO, kUsed, 8);
        setBar(VIRTIO_PCI_COMMON_Q_MSIX, haveMsix ? 0 : VirtioPciTransport::kNoVector, 2);
        setBar(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
        setBar(VIRTIO_PCI_COMMON_STATUS, ready | VIRTIO_CONFIG_S_DRIVER_OK, 1);
        if (machine_->vm().checkExtension(KVM_CAP_IOEVENTFD) > 0)
            QVERIFY(transport()->doorbellInKernel(0));

        // A read of sector 6: header, 512 bytes in, status.
        GuestMemory& memory = machine_->memory();
        memory.writeValue(kHeader, virtio_blk_outhdr{VIRTIO_BLK_T_IN, 0, 6});
        const virtio::ring::Descriptor chain[] = {
            {kHeader, 16, virtio::ring::kNext, 1},
            {kData, 512, virtio::ring::kNext | virtio::ring::kWrite, 2},
            {kStatusByte, 1, virtio::ring::kWrite, 0},
        };
        memory.write(kDescriptors, chain, sizeof chain);
        memory.writeValue<uint16_t>(kAvailable + 4, 0);
        memory.writeValue<uint16_t>(kAvailable + 2, 1);
        // The host's write is an MMIO access: it signals the doorbell's eventfd itself.
        setBar(VirtioPciTransport::kNotifyOffset, 0, 2);
        for (int i = 0; i < 1000 && memory.readValue<uint16_t>(kUsed + 2) == 0; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        QCOMPARE(memory.readValue<uint16_t>(kUsed + 2), uint16_t{1});
        QCOMPARE(memory.readValue<uint8_t>(kStatusByte), uint8_t{VIRTIO_BLK_S_OK});
        QCOMPARE(memory.readValue<uint8_t>(kData + 17), uint8_t{6});
        QCOMPARE(transport()->needsResetReason(), std::string());
    }

    void theMachineComesApartWithEverythingRegistered() {
        machine_.reset();
        QVERIFY(true);
    }
};

QTEST_GUILESS_MAIN(VirtioMachineTest)
#include "VirtioMachineTest.moc"
