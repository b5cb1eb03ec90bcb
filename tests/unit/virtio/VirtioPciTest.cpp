// The virtio-pci transport (virtio/VirtioPciTransport.h) carrying a virtio-blk device
// (virtio/VirtioBlockDevice.h), driven as a guest driver would through PCI configuration space
// and the BAR on plain buses, without /dev/kvm: the capabilities a driver looks for (VIRTIO 1.2,
// 4.1.4), the BAR's sizing, feature negotiation and the status state machine (2.1, 3.1), queue
// setup through common configuration (4.1.4.3), requests served after a doorbell with the
// interrupt that follows (INTx# with the ISR, or MSI-X with its masking), a read-only disk, and
// a driver that breaks its queue (DEVICE_NEEDS_RESET, never a crash).
#include "TestDriver.h"
#include "common/IoThread.h"
#include "storage/DiskImage.h"
#include "unit/pci/PciTestSupport.h"
#include "virtio/VirtioBlockDevice.h"
#include "virtio/VirtioPciTransport.h"

#include <QTemporaryDir>
#include <QTest>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fcntl.h>
#include <linux/pci_regs.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <mutex>
#include <thread>
#include <unistd.h>

using namespace kvmscope;
using kvmscope::testing::TestBuffer;
using kvmscope::testing::TestDriver;
using virtio::VirtioPciTransport;

namespace {

constexpr uint64_t kRam = 16 << 20;
constexpr uint64_t kSectors = 64;
constexpr unsigned kSlot = 4;
constexpr uint64_t kBarBase = 0xe000'0000;
constexpr uint64_t kHeader = 0x100000, kData = 0x110000, kStatusByte = 0x120000;
constexpr uint64_t kVersion1 = uint64_t{1} << VIRTIO_F_VERSION_1;
constexpr uint8_t kDriverReady =
    VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK;

struct RecordingMsi final : pci::MsiRouter {
    unsigned vectors() const override { return 8; }
    void route(unsigned vector, const pci::MsiMessage& message) override {
        routes.emplace_back(vector, message);
    }
    void send(unsigned vector, const pci::MsiMessage& message) override {
        sent.emplace_back(vector, message);
    }
    std::vector<std::pair<unsigned, pci::MsiMessage>> routes;
    std::vector<std::pair<unsigned, pci::MsiMessage>> sent;
};

struct RecordingDoorbells final : virtio::DoorbellWiring {
    bool attach(uint64_t address, uint32_t length, int) override {
        attached.push_back(address);
        return length == 2;
    }
    void detach(uint64_t address, uint32_t, int) override { detached.push_back(address); }
    std::vector<uint64_t> attached;
    std::vector<uint64_t> detached;
};

// A device whose requests wait until the test lets them finish: a request in flight.
class GatedDevice final : public virtio::VirtioDevice {
public:
    std::string name() const override { return "gated"; }
    uint16_t deviceId() const override { return 2; }
    uint32_t pciClassCode() const override { return 0xff'00'00; }
    uint64_t features() const override { return 0; }
    unsigned queueCount() const override { return 1; }
    uint16_t maxQueueSize() const override { return 16; }
    uint32_t configSize() const override { return 0; }
    void readConfig(uint32_t, std::span<uint8_t>) override {}
    uint32_t serve(unsigned, const virtio::Chain&) override {
        std::unique_lock lock(mutex);
        serving = true;
        changed.notify_all();
        changed.wait(lock, [this] { return released; });
        return 0;
    }
    void reset() override { ++resets; }
    void describe(StateVisitor&, uint32_t) override {}

    void waitUntilServing() {
        std::unique_lock lock(mutex);
        changed.wait_for(lock, std::chrono::seconds(10), [this] { return serving; });
    }
    void release() {
        std::lock_guard lock(mutex);
        released = true;
        changed.notify_all();
    }

    std::mutex mutex;
    std::condition_variable changed;
    bool serving = false;
    bool released = false;
    std::atomic<int> resets{0};
};

struct Options {
    bool readOnly = false;
    bool msi = false;
    bool doorbells = false;
    IoThread* ioThread = nullptr;
    GatedDevice* gated = nullptr; // owned by the transport: instead of virtio-blk
};

struct Fixture {
    QTemporaryDir dir;
    std::string path;
    GuestMemory memory{kRam};
    pci::test::Rig rig;
    RecordingMsi msi;
    RecordingDoorbells doorbells;
    std::unique_ptr<VirtioPciTransport> transport;
    TestDriver driver{memory, 16};

    explicit Fixture(const Options& options = {}) {
        path = dir.filePath(QStringLiteral("disk.img")).toStdString();
        std::vector<uint8_t> bytes(kSectors * 512);
        for (size_t i = 0; i < bytes.size(); ++i)
            bytes[i] = static_cast<uint8_t>(i / 512); // each sector holds its number
        const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0 || ::write(fd, bytes.data(), bytes.size()) != ssize_t(bytes.size()))
            qFatal("cannot write the test image");
        ::close(fd);
        storage::DiskSpec spec;
        spec.path = path;
        spec.readOnly = options.readOnly;
        std::unique_ptr<virtio::VirtioDevice> block;
        if (options.gated)
            block.reset(options.gated);
        else
            block = std::make_unique<virtio::VirtioBlockDevice>(
                memory, std::make_unique<storage::DiskImage>(spec));
        VirtioPciTransport::Wiring wiring;
        wiring.ioThread = options.ioThread;
        wiring.msi = options.msi ? &msi : nullptr;
        wiring.doorbells = options.doorbells ? &doorbells : nullptr;
        transport = std::make_unique<VirtioPciTransport>(std::move(block), memory, wiring);
        rig.bus.add(kSlot, 0, *transport);
    }
    ~Fixture() {
        // The bus keeps no ownership; the transport goes before the rig's buses.
        transport.reset();
    }

    // Configuration space through ECAM.
    uint32_t config(unsigned offset, unsigned size) {
        return static_cast<uint32_t>(
            rig.mmioRead(pci::test::Rig::ecamAddress(kSlot, 0, offset), size));
    }
    void setConfig(unsigned offset, uint32_t value, unsigned size) {
        rig.mmioWrite(pci::test::Rig::ecamAddress(kSlot, 0, offset), value, size);
    }
    void mapBar(uint64_t base = kBarBase) {
        setConfig(pci::kBar0 + 4 * VirtioPciTransport::kBar, static_cast<uint32_t>(base), 4);
        setConfig(pci::kBar0 + 4 * VirtioPciTransport::kBar + 4, static_cast<uint32_t>(base >> 32),
                  4);
        setConfig(pci::kCommand, pci::kCommandMemorySpace | pci::kCommandBusMaster, 2);
    }
    // The BAR's registers.
    uint64_t bar(uint64_t offset, unsigned size) { return rig.mmioRead(kBarBase + offset, size); }
    void setBar(uint64_t offset, uint64_t value, unsigned size) {
        rig.mmioWrite(kBarBase + offset, value, size);
    }
    uint64_t common(unsigned field, unsigned size) {
        return bar(VirtioPciTransport::kCommonOffset + field, size);
    }
    void setCommon(unsigned field, uint64_t value, unsigned size) {
        setBar(VirtioPciTransport::kCommonOffset + field, value, size);
    }
    uint8_t status() { return static_cast<uint8_t>(common(VIRTIO_PCI_COMMON_STATUS, 1)); }
    void setStatus(uint8_t value) { setCommon(VIRTIO_PCI_COMMON_STATUS, value, 1); }
    uint64_t deviceFeatures() {
        setCommon(VIRTIO_PCI_COMMON_DFSELECT, 0, 4);
        uint64_t features = common(VIRTIO_PCI_COMMON_DF, 4);
        setCommon(VIRTIO_PCI_COMMON_DFSELECT, 1, 4);
        return features | common(VIRTIO_PCI_COMMON_DF, 4) << 32;
    }
    void setDriverFeatures(uint64_t features) {
        setCommon(VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
        setCommon(VIRTIO_PCI_COMMON_GF, static_cast<uint32_t>(features), 4);
        setCommon(VIRTIO_PCI_COMMON_GFSELECT, 1, 4);
        setCommon(VIRTIO_PCI_COMMON_GF, features >> 32, 4);
    }
    // 3.1.1 steps 1-6.
    void negotiate(uint64_t features = kVersion1) {
        mapBar();
        setStatus(0);
        setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE);
        setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
        setDriverFeatures(features);
        setStatus(kDriverReady);
    }
    // 4.1.5.1.3: queue 0 at the test driver's layout, as a 32-bit driver writes the addresses.
    void setUpQueue(uint16_t vector = VirtioPciTransport::kNoVector) {
        const virtio::QueueLayout& layout = driver.layout();
        setCommon(VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
        setCommon(VIRTIO_PCI_COMMON_Q_SIZE, layout.size, 2);
        setCommon(VIRTIO_PCI_COMMON_Q_DESCLO, static_cast<uint32_t>(layout.descriptorTable), 4);
        setCommon(VIRTIO_PCI_COMMON_Q_DESCHI, layout.descriptorTable >> 32, 4);
        setCommon(VIRTIO_PCI_COMMON_Q_AVAILLO, layout.availableRing, 8);
        setCommon(VIRTIO_PCI_COMMON_Q_USEDLO, layout.usedRing, 8);
        setCommon(VIRTIO_PCI_COMMON_Q_MSIX, vector, 2);
        setCommon(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
    }
    void start(uint16_t vector = VirtioPciTransport::kNoVector) {
        negotiate();
        setUpQueue(vector);
        setStatus(kDriverReady | VIRTIO_CONFIG_S_DRIVER_OK);
    }
    void notify(unsigned queue = 0) {
        setBar(VirtioPciTransport::kNotifyOffset + 4 * queue, queue, 2);
    }
    // A request on chain head 0: the header, `data` bytes in or out at kData, the status.
    void offerRequest(uint32_t type, uint64_t sector, uint32_t data = 512, bool dataIn = true) {
        const virtio_blk_outhdr header{type, 0, sector};
        memory.writeValue(kHeader, header);
        memory.writeValue<uint8_t>(kStatusByte, 0xff);
        std::vector<TestBuffer> buffers{{kHeader, 16, false}};
        if (data)
            buffers.push_back({kData, data, dataIn});
        buffers.push_back({kStatusByte, 1, true});
        driver.offer(static_cast<uint16_t>(driver.availableIndex() * 4 % 16), buffers);
    }
    uint8_t requestStatus() const { return memory.readValue<uint8_t>(kStatusByte); }
    // The used index as a driver polling it from another thread reads it (2.7.13).
    uint16_t usedIndexAcquire() const {
        const auto bytes = memory.span(driver.layout().usedRing + 2, 2);
        return __atomic_load_n(reinterpret_cast<const uint16_t*>(bytes.data()), __ATOMIC_ACQUIRE);
    }
    // INTA# of slot 4 reaches PIRQD# (PciIntxRouter::pirqLink).
    bool intx() const { return rig.apic[pci::PciIntxRouter::pirqLink(kSlot, 0)].level; }
    uint8_t sectorByteOnDisk(uint64_t sector) const {
        uint8_t byte = 0;
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        [[maybe_unused]] const auto got = ::pread(fd, &byte, 1, off_t(sector * 512));
        ::close(fd);
        return byte;
    }
    // The vendor capability of `type`, as a driver finds it (4.1.4).
    unsigned findCapability(uint8_t type) {
        const auto found = pci::walkCapabilities(
            [this](unsigned offset, unsigned size) { return config(offset, size); });
        for (const pci::PciCapability& capability : found)
            if (capability.id == pci::kCapabilityIdVendorSpecific &&
                config(capability.offset + VIRTIO_PCI_CAP_CFG_TYPE, 1) == type)
                return capability.offset;
        return 0;
    }
    unsigned msixCapability() {
        const auto found = pci::walkCapabilities(
            [this](unsigned offset, unsigned size) { return config(offset, size); });
        for (const pci::PciCapability& capability : found)
            if (capability.id == pci::kCapabilityIdMsix)
                return capability.offset;
        return 0;
    }
};

} // namespace

class VirtioPciTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void identifiesAsAModernVirtioBlockDevice() {
        Fixture f;
        QCOMPARE(f.config(pci::kVendorId, 2), 0x1af4u);
        QCOMPARE(f.config(pci::kDeviceId, 2), 0x1042u);
        QCOMPARE(f.config(pci::kRevisionId, 1), 1u);
        QCOMPARE(f.config(pci::kSubsystemVendorId, 2), 0x1af4u);
        QCOMPARE(f.config(pci::kSubsystemId, 2), 0x1042u);
        QCOMPARE(f.config(pci::kInterruptPin, 1), 1u);
    }

    // 4.1.4: each structure through a capability naming BAR 4, its offset and its length.
    void capabilitiesNameEveryStructure() {
        Fixture f({.msi = true});
        QVERIFY(f.config(pci::kStatus, 2) & pci::kStatusCapabilities);
        struct Expected {
            uint8_t type;
            uint32_t offset;
            uint32_t minimumLength;
        };
        const Expected expected[] = {
            {VIRTIO_PCI_CAP_COMMON_CFG, VirtioPciTransport::kCommonOffset, 0x38},
            {VIRTIO_PCI_CAP_NOTIFY_CFG, VirtioPciTransport::kNotifyOffset, 4},
            {VIRTIO_PCI_CAP_ISR_CFG, VirtioPciTransport::kIsrOffset, 1},
            {VIRTIO_PCI_CAP_DEVICE_CFG, VirtioPciTransport::kDeviceConfigOffset, 24},
        };
        for (const Expected& want : expected) {
            const unsigned at = f.findCapability(want.type);
            QVERIFY2(at >= 0x40, qPrintable(QStringLiteral("type %1").arg(want.type)));
            QCOMPARE(f.config(at + VIRTIO_PCI_CAP_BAR, 1), VirtioPciTransport::kBar);
            QCOMPARE(f.config(at + VIRTIO_PCI_CAP_OFFSET, 4), want.offset);
            QVERIFY(f.config(at + VIRTIO_PCI_CAP_LENGTH, 4) >= want.minimumLength);
            QVERIFY(f.config(at + VIRTIO_PCI_CAP_LEN, 1) >= sizeof(virtio_pci_cap));
        }
        const unsigned notify = f.findCapability(VIRTIO_PCI_CAP_NOTIFY_CFG);
        QCOMPARE(f.config(notify + offsetof(virtio_pci_notify_cap, notify_off_multiplier), 4), 4u);
        QVERIFY(f.findCapability(VIRTIO_PCI_CAP_PCI_CFG) != 0);
        // MSI-X: two vectors (the queue, configuration changes), table and PBA in BAR 4.
        const unsigned msix = f.msixCapability();
        QVERIFY(msix != 0);
        QCOMPARE(f.config(msix + PCI_MSIX_FLAGS, 2) & PCI_MSIX_FLAGS_QSIZE, 1u);
        QCOMPARE(f.config(msix + PCI_MSIX_TABLE, 4),
                 VirtioPciTransport::kMsixTableOffset | VirtioPciTransport::kBar);
        QCOMPARE(f.config(msix + PCI_MSIX_PBA, 4),
                 VirtioPciTransport::kMsixPbaOffset | VirtioPciTransport::kBar);
        // Capability bodies are read-only but for the declared bits.
        f.setConfig(notify + VIRTIO_PCI_CAP_OFFSET, 0x1234, 4);
        QCOMPARE(f.config(notify + VIRTIO_PCI_CAP_OFFSET, 4), VirtioPciTransport::kNotifyOffset);
    }

    void noMsixCapabilityWithoutARouter() {
        Fixture f;
        QCOMPARE(f.msixCapability(), 0u);
    }

    // PCI 3.0, 6.2.5.1: all ones written to the 64-bit BAR read back its size.
    void theBarSizesAs16KiB64BitPrefetchable() {
        Fixture f;
        const unsigned low = pci::kBar0 + 4 * VirtioPciTransport::kBar;
        QCOMPARE(f.config(low, 4), uint32_t{pci::kBarMemoryType64 | pci::kBarPrefetchable});
        f.setConfig(low, 0xffff'ffff, 4);
        f.setConfig(low + 4, 0xffff'ffff, 4);
        QCOMPARE(f.config(low, 4), uint32_t{0xffff'c000 | 0xc});
        QCOMPARE(f.config(low + 4, 4), 0xffff'ffffu);
        for (unsigned index = 0; index < 4; ++index) // the others are not implemented
            QCOMPARE(f.config(pci::kBar0 + 4 * index, 4), 0u);
        f.mapBar();
        QCOMPARE(f.transport->decodedBar(VirtioPciTransport::kBar).value(), kBarBase);
    }

    void featuresOfferVersion1AndTheBlockFeatures() {
        Fixture f;
        f.mapBar();
        const uint64_t features = f.deviceFeatures();
        QVERIFY(features & kVersion1);
        for (const unsigned feature :
             {VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_F_BLK_SIZE, VIRTIO_BLK_F_DISCARD,
              VIRTIO_BLK_F_WRITE_ZEROES, VIRTIO_BLK_F_SIZE_MAX})
            QVERIFY2(features & (uint64_t{1} << feature), qPrintable(QString::number(feature)));
        QVERIFY(!(features & (uint64_t{1} << VIRTIO_BLK_F_RO)));
        QVERIFY(!(features & (uint64_t{1} << VIRTIO_F_RING_PACKED)));
        f.setCommon(VIRTIO_PCI_COMMON_DFSELECT, 2, 4);
        QCOMPARE(f.common(VIRTIO_PCI_COMMON_DF, 4), uint64_t{0});
    }

    // 3.1.1: FEATURES_OK stays clear for features the device refuses.
    void featuresOkIsRefusedWithoutVersion1OrForUnofferedBits() {
        Fixture f;
        f.negotiate(0);
        QCOMPARE(f.status(), uint8_t{VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER});
        f.negotiate(kVersion1 | (uint64_t{1} << VIRTIO_F_RING_PACKED));
        QVERIFY(!(f.status() & VIRTIO_CONFIG_S_FEATURES_OK));
        const uint64_t wanted = kVersion1 | (uint64_t{1} << VIRTIO_BLK_F_FLUSH);
        f.negotiate(wanted);
        QCOMPARE(f.status(), kDriverReady);
        QCOMPARE(f.transport->negotiatedFeatures(), wanted);
        // Settled: a later write changes nothing.
        f.setDriverFeatures(kVersion1);
        f.setCommon(VIRTIO_PCI_COMMON_GFSELECT, 0, 4);
        QCOMPARE(f.common(VIRTIO_PCI_COMMON_GF, 4), uint64_t{1} << VIRTIO_BLK_F_FLUSH);
    }

    void driverOkBeforeFeaturesOkNeedsReset() {
        Fixture f;
        f.mapBar();
        f.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
                    VIRTIO_CONFIG_S_DRIVER_OK);
        QVERIFY(f.status() & VIRTIO_CONFIG_S_NEEDS_RESET);
        f.setStatus(0); // a reset clears it
        QCOMPARE(f.status(), uint8_t{0});
    }

    void queuesAreSetUpThroughCommonConfiguration() {
        Fixture f({.msi = true});
        f.negotiate();
        QCOMPARE(f.common(VIRTIO_PCI_COMMON_NUMQ, 2), uint64_t{1});
        f.setCommon(VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
        QCOMPARE(f.common(VIRTIO_PCI_COMMON_Q_SIZE, 2), uint64_t{256}); // the maximum
        QCOMPARE(f.common(VIRTIO_PCI_COMMON_Q_NOFF, 2), uint64_t{0});
        QCOMPARE(f.common(VIRTIO_PCI_COMMON_Q_ENABLE, 2), uint64_t{0});
        f.setUpQueue(0);
        const virtio::QueueLayout& layout = f.driver.layout();
        QCOMPARE(f.common(VIRTIO_PCI_COMMON_Q_SIZE, 2), uint64_t{16});
        QCOMPARE(f.common(VIRTIO_PCI_COMMON_Q_ENABLE, 2), uint64_t{1});
        QCOMPARE(f.common(VIRTIO_PCI_COMMON_Q_DESCLO, 8), layout.descriptorTable);
        QCOMPARE(f.common(VIRTIO_PCI_COMMON_Q_AVAILLO, 4), layout.availableRing);
        QCOMPARE(f.common(VIRTIO_PCI_COMMON_Q_USEDLO, 8), layout.usedRing);
        QCOMPARE(f.common(VIRTIO_PCI_COMMON_Q_MSIX, 2), uint64_t{0});
        // An enabled queue keeps its layout; a vector past the table reads NO_VECTOR.
        f.setCommon(VIRTIO_PCI_COMMON_Q_SIZE, 8, 2);
        QCOMPARE(f.common(VIRTIO_PCI_COMMON_Q_SIZE, 2), uint64_t{16});
        f.setCommon(VIRTIO_PCI_COMMON_Q_MSIX, 9, 2);
        QCOMPARE(f.common(VIRTIO_PCI_COMMON_Q_MSIX, 2), uint64_t{0xffff});
        // A queue that does not exist reads size 0.
        f.setCommon(VIRTIO_PCI_COMMON_Q_SELECT, 3, 2);
        QCOMPARE(f.common(VIRTIO_PCI_COMMON_Q_SIZE, 2), uint64_t{0});
        QVERIFY(!(f.status() & VIRTIO_CONFIG_S_NEEDS_RESET));
    }

    void resetDropsQueuesAndFeatures() {
        Fixture f;
        f.start();
        f.setStatus(0);
        QCOMPARE(f.status(), uint8_t{0});
        f.setCommon(VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
        QCOMPARE(f.common(VIRTIO_PCI_COMMON_Q_ENABLE, 2), uint64_t{0});
        QCOMPARE(f.common(VIRTIO_PCI_COMMON_Q_DESCLO, 8), uint64_t{0});
        QCOMPARE(f.transport->negotiatedFeatures(), uint64_t{0});
        // A doorbell now serves nothing.
        f.offerRequest(VIRTIO_BLK_T_IN, 1);
        f.notify();
        QCOMPARE(f.driver.usedIndex(), uint16_t{0});
    }

    void theDeviceConfigurationHoldsCapacityAndLimits() {
        Fixture f;
        f.mapBar();
        const uint32_t base = VirtioPciTransport::kDeviceConfigOffset;
        QCOMPARE(f.bar(base + offsetof(virtio_blk_config, capacity), 8), kSectors);
        QCOMPARE(f.bar(base + offsetof(virtio_blk_config, blk_size), 4), uint64_t{512});
        QVERIFY(f.bar(base + offsetof(virtio_blk_config, seg_max), 4) > 0);
        QVERIFY(f.bar(base + offsetof(virtio_blk_config, max_discard_sectors), 4) > 0);
        QVERIFY(f.bar(base + offsetof(virtio_blk_config, max_write_zeroes_seg), 4) > 0);
        // The upper half of capacity as a 32-bit driver reads it.
        QCOMPARE(f.bar(base + 4, 4), uint64_t{0});
    }

    // The round trip: descriptors in RAM, a doorbell, the data, the used ring, INTx# and ISR.
    void aReadRequestRoundTripsWithIntx() {
        Fixture f;
        f.start();
        f.offerRequest(VIRTIO_BLK_T_IN, 5);
        QVERIFY(!f.intx());
        f.notify();
        QCOMPARE(f.driver.usedIndex(), uint16_t{1});
        QCOMPARE(f.driver.used(0).id, 0u);
        QCOMPARE(f.driver.used(0).length, 513u);
        QCOMPARE(f.memory.readValue<uint8_t>(kData + 100), uint8_t{5});
        QCOMPARE(f.requestStatus(), uint8_t{VIRTIO_BLK_S_OK});
        QVERIFY(f.intx());
        // 4.1.4.5: the ISR says "queue", and reading it clears it and lowers INTx#.
        QCOMPARE(f.bar(VirtioPciTransport::kIsrOffset, 1), uint64_t{1});
        QVERIFY(!f.intx());
        QCOMPARE(f.bar(VirtioPciTransport::kIsrOffset, 1), uint64_t{0});
    }

    void writesFlushesAndGetIdRoundTrip() {
        Fixture f;
        f.start();
        f.memory.fill(kData, 0x5a, 512);
        f.offerRequest(VIRTIO_BLK_T_OUT, 7, 512, false);
        f.notify();
        QCOMPARE(f.requestStatus(), uint8_t{VIRTIO_BLK_S_OK});
        QCOMPARE(f.sectorByteOnDisk(7), uint8_t{0x5a});
        f.offerRequest(VIRTIO_BLK_T_FLUSH, 0, 0);
        f.notify();
        QCOMPARE(f.requestStatus(), uint8_t{VIRTIO_BLK_S_OK});
        f.offerRequest(VIRTIO_BLK_T_GET_ID, 0, 20);
        f.notify();
        QCOMPARE(f.requestStatus(), uint8_t{VIRTIO_BLK_S_OK});
        char id[21] = {};
        f.memory.read(kData, id, 20);
        QCOMPARE(QByteArray(id), QByteArray("disk.img"));
        QCOMPARE(f.driver.usedIndex(), uint16_t{3});
    }

    void nothingIsServedBeforeDriverOk() {
        Fixture f;
        f.negotiate();
        f.setUpQueue();
        f.offerRequest(VIRTIO_BLK_T_IN, 1);
        f.notify();
        QCOMPARE(f.driver.usedIndex(), uint16_t{0});
        // DRIVER_OK looks at the queues: what was offered is served then.
        f.setStatus(kDriverReady | VIRTIO_CONFIG_S_DRIVER_OK);
        QCOMPARE(f.driver.usedIndex(), uint16_t{1});
    }

    void readOnlyDisksRefuseWritesWithIoErr() {
        Fixture f({.readOnly = true});
        f.mapBar();
        const uint64_t features = f.deviceFeatures();
        QVERIFY(features & (uint64_t{1} << VIRTIO_BLK_F_RO));
        QVERIFY(!(features & (uint64_t{1} << VIRTIO_BLK_F_DISCARD)));
        f.start();
        f.memory.fill(kData, 0xee, 512);
        f.offerRequest(VIRTIO_BLK_T_OUT, 3, 512, false);
        f.notify();
        QCOMPARE(f.driver.usedIndex(), uint16_t{1});
        QCOMPARE(f.requestStatus(), uint8_t{VIRTIO_BLK_S_IOERR});
        QCOMPARE(f.sectorByteOnDisk(3), uint8_t{3});
        QVERIFY(!(f.status() & VIRTIO_CONFIG_S_NEEDS_RESET)); // a failed request, not a bad queue
    }

    // MSI-X: the message goes through the router; a masked vector holds it in the PBA.
    void msixVectorsAreMaskedUntilTheDriverUnmasksThem() {
        Fixture f({.msi = true});
        const unsigned msix = f.msixCapability();
        f.mapBar();
        f.setConfig(msix + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2);
        const uint32_t entry = VirtioPciTransport::kMsixTableOffset + 16 * 1; // vector 1
        f.setBar(entry + PCI_MSIX_ENTRY_LOWER_ADDR, 0xfee0'0000, 4);
        f.setBar(entry + PCI_MSIX_ENTRY_UPPER_ADDR, 0, 4);
        f.setBar(entry + PCI_MSIX_ENTRY_DATA, 0x4031, 4);
        QVERIFY(!f.msi.routes.empty());
        QCOMPARE(f.msi.routes.back().second, (pci::MsiMessage{0xfee0'0000, 0x4031}));
        f.start(1);
        f.offerRequest(VIRTIO_BLK_T_IN, 2);
        f.notify();
        QCOMPARE(f.requestStatus(), uint8_t{VIRTIO_BLK_S_OK});
        QVERIFY(f.msi.sent.empty()); // masked after reset
        QVERIFY(!f.intx());          // and never INTx# with MSI-X enabled
        QCOMPARE(f.bar(VirtioPciTransport::kMsixPbaOffset, 8), uint64_t{0x2});
        f.setBar(entry + PCI_MSIX_ENTRY_VECTOR_CTRL, 0, 4);
        QCOMPARE(f.msi.sent.size(), size_t{1});
        QCOMPARE(f.msi.sent[0].first, 1u);
        QCOMPARE(f.msi.sent[0].second.data, 0x4031u);
        QCOMPARE(f.bar(VirtioPciTransport::kMsixPbaOffset, 8), uint64_t{0});
        // Function mask: the next one waits for Message Control.
        f.setConfig(msix + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL, 2);
        f.offerRequest(VIRTIO_BLK_T_IN, 3);
        f.notify();
        QCOMPARE(f.msi.sent.size(), size_t{1});
        f.setConfig(msix + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2);
        QCOMPARE(f.msi.sent.size(), size_t{2});
        QCOMPARE(f.bar(VirtioPciTransport::kIsrOffset, 1), uint64_t{0}); // no ISR with MSI-X
    }

    void withoutMsixEnabledTheQueueUsesIntx() {
        Fixture f({.msi = true});
        f.start(0);
        f.offerRequest(VIRTIO_BLK_T_IN, 2);
        f.notify();
        QVERIFY(f.msi.sent.empty());
        QVERIFY(f.intx());
    }

    // A hostile driver: the device stops and says so, kvmscope goes on.
    void aDescriptorOutsideRamNeedsReset() {
        Fixture f;
        f.start();
        const virtio_blk_outhdr header{VIRTIO_BLK_T_IN, 0, 0};
        f.memory.writeValue(kHeader, header);
        f.driver.offer(
            0, {{kHeader, 16, false}, {0xffff'ffff'0000, 512, true}, {kStatusByte, 1, true}});
        f.notify();
        QVERIFY(f.status() & VIRTIO_CONFIG_S_NEEDS_RESET);
        QCOMPARE(f.driver.usedIndex(), uint16_t{0});
        QVERIFY(QString::fromStdString(f.transport->needsResetReason()).contains("not in RAM"));
        // 2.1.2: with DRIVER_OK, a configuration change interrupt tells the driver.
        QCOMPARE(f.bar(VirtioPciTransport::kIsrOffset, 1),
                 uint64_t{VirtioPciTransport::kIsrConfig});
        // Nothing more is served until a reset, and the driver can start again after it.
        f.offerRequest(VIRTIO_BLK_T_IN, 1);
        f.notify();
        QCOMPARE(f.driver.usedIndex(), uint16_t{0});
        f.memory.fill(0x10000, 0, 0x40000); // fresh rings, as a driver sets up after a reset
        f.start();
        f.offerRequest(VIRTIO_BLK_T_IN, 1);
        f.notify();
        QCOMPARE(f.driver.usedIndex(), uint16_t{1});
        QCOMPARE(f.requestStatus(), uint8_t{VIRTIO_BLK_S_OK});
    }

    void aLoopingChainNeedsReset() {
        Fixture f;
        f.start();
        virtio::ring::Descriptor looping{kHeader, 16, virtio::ring::kNext, 1};
        f.driver.writeDescriptor(0, looping);
        looping.next = 0;
        f.driver.writeDescriptor(1, looping);
        f.driver.offerHead(0);
        f.notify();
        QVERIFY(f.status() & VIRTIO_CONFIG_S_NEEDS_RESET);
        QVERIFY(QString::fromStdString(f.transport->needsResetReason()).contains("loops"));
    }

    void aHugeLengthOrAQueueOutsideRamNeedsReset() {
        Fixture f;
        f.start();
        f.driver.offer(0, {{kHeader, 16, false}, {kData, 0xffff'ff00, true}});
        f.notify();
        QVERIFY(f.status() & VIRTIO_CONFIG_S_NEEDS_RESET);

        Fixture g;
        g.negotiate();
        g.setCommon(VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
        g.setCommon(VIRTIO_PCI_COMMON_Q_DESCLO, kRam - 16, 8); // the table leaves RAM
        g.setCommon(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
        QVERIFY(g.status() & VIRTIO_CONFIG_S_NEEDS_RESET);
        QCOMPARE(g.common(VIRTIO_PCI_COMMON_Q_ENABLE, 2), uint64_t{0});
    }

    void aChainWithoutAStatusByteNeedsReset() {
        Fixture f;
        f.start();
        f.offerRequest(VIRTIO_BLK_T_IN, 0, 0);
        f.driver.offer(0, {{kHeader, 16, false}});
        f.notify();
        QVERIFY(f.status() & VIRTIO_CONFIG_S_NEEDS_RESET);
    }

    // Doorbells follow the BAR and the queue (KVM_IOEVENTFD in a machine).
    void doorbellsAreAttachedWhileTheBarIsDecodedAndTheQueueEnabled() {
        Fixture f({.doorbells = true});
        f.negotiate();
        QVERIFY(f.doorbells.attached.empty());
        f.setUpQueue();
        const uint64_t doorbell = kBarBase + VirtioPciTransport::kNotifyOffset;
        QCOMPARE(f.doorbells.attached, std::vector<uint64_t>{doorbell});
        QVERIFY(f.transport->doorbellInKernel(0));
        // Moving the BAR moves the doorbell.
        f.setConfig(pci::kCommand, 0, 2);
        QCOMPARE(f.doorbells.detached, std::vector<uint64_t>{doorbell});
        QVERIFY(!f.transport->doorbellInKernel(0));
        f.mapBar(kBarBase + 0x10'0000);
        QCOMPARE(f.doorbells.attached.back(), doorbell + 0x10'0000);
        f.mapBar();
        QCOMPARE(f.doorbells.detached.back(), doorbell + 0x10'0000);
        QCOMPARE(f.doorbells.attached.back(), doorbell);
        // A reset drops it.
        f.setStatus(0);
        QCOMPARE(f.doorbells.detached.back(), doorbell);
        QVERIFY(!f.transport->doorbellInKernel(0));
    }

    // With an I/O thread the doorbell's eventfd wakes it, and the request is served there.
    void theIoThreadServesTheQueue() {
        IoThread thread("virtio-test");
        Fixture f({.ioThread = &thread});
        // Offered before DRIVER_OK, whose look at the queues serves it: the rings are written
        // before the I/O thread may read them.
        f.negotiate();
        f.setUpQueue();
        f.offerRequest(VIRTIO_BLK_T_IN, 9);
        f.setStatus(kDriverReady | VIRTIO_CONFIG_S_DRIVER_OK);
        f.notify();
        for (int i = 0; i < 500 && f.usedIndexAcquire() == 0; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        QCOMPARE(f.usedIndexAcquire(), uint16_t{1});
        QCOMPARE(f.memory.readValue<uint8_t>(kData), uint8_t{9});
        f.transport.reset(); // unwatches before the thread goes
    }

    // 4.1.4.3.2: a reset with a request in flight completes when the request does; until
    // then device_status reads as before, so the driver that waits for 0 never races the queue.
    void aResetWaitsForTheRequestInFlight() {
        IoThread thread("virtio-test");
        auto* gated = new GatedDevice;
        Fixture f({.ioThread = &thread, .gated = gated});
        // Whatever fails below, the request ends before the transport goes.
        struct ReleaseAtEnd {
            GatedDevice* device;
            ~ReleaseAtEnd() { device->release(); }
        } releaseAtEnd{gated};
        f.negotiate();
        f.setUpQueue();
        const int resetsBefore = gated->resets.load();
        f.driver.offer(0, {{kHeader, 16, false}});
        f.setStatus(kDriverReady | VIRTIO_CONFIG_S_DRIVER_OK); // serves what was offered
        gated->waitUntilServing();
        f.setStatus(0);
        QCOMPARE(f.status(), uint8_t{kDriverReady | VIRTIO_CONFIG_S_DRIVER_OK});
        f.setStatus(kDriverReady | VIRTIO_CONFIG_S_DRIVER_OK); // ignored while it waits
        QCOMPARE(gated->resets.load(), resetsBefore);
        gated->release();
        for (int i = 0; i < 500 && f.status() != 0; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        QCOMPARE(f.status(), uint8_t{0});
        QCOMPARE(gated->resets.load(), resetsBefore + 1);
        QCOMPARE(f.driver.usedIndex(), uint16_t{1}); // the request was returned first
        f.setCommon(VIRTIO_PCI_COMMON_Q_SELECT, 0, 2);
        QCOMPARE(f.common(VIRTIO_PCI_COMMON_Q_ENABLE, 2), uint64_t{0});
    }

    // 4.1.4.9: the configuration-space window reaches the BAR's registers.
    void theConfigurationWindowReachesTheBar() {
        Fixture f;
        f.mapBar();
        f.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE);
        const unsigned window = f.findCapability(VIRTIO_PCI_CAP_PCI_CFG);
        const unsigned data = window + offsetof(virtio_pci_cfg_cap, pci_cfg_data);
        f.setConfig(window + VIRTIO_PCI_CAP_BAR, VirtioPciTransport::kBar, 1);
        f.setConfig(window + VIRTIO_PCI_CAP_OFFSET, VIRTIO_PCI_COMMON_STATUS, 4);
        f.setConfig(window + VIRTIO_PCI_CAP_LENGTH, 1, 4);
        QCOMPARE(f.config(data, 1), uint32_t{VIRTIO_CONFIG_S_ACKNOWLEDGE});
        f.setConfig(data, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER, 1);
        QCOMPARE(f.status(), uint8_t{VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER});
        f.setConfig(window + VIRTIO_PCI_CAP_OFFSET, VirtioPciTransport::kDeviceConfigOffset, 4);
        f.setConfig(window + VIRTIO_PCI_CAP_LENGTH, 4, 4);
        QCOMPARE(f.config(data, 4), uint32_t{kSectors});
    }

    void attributesShowTheTransportTheQueueAndTheDisk() {
        Fixture f({.msi = true});
        f.start();
        f.offerRequest(VIRTIO_BLK_T_IN, 4, 1024);
        f.notify();
        auto attribute = [&](const char* groupName, const char* name) -> AttrValue {
            for (const AttributeInfo& info : f.transport->attributes())
                if (info.groupName == groupName && info.name == name)
                    return f.transport->getAttr(info.group, info.attr);
            qFatal("no attribute %s/%s", groupName, name);
        };
        QCOMPARE(attribute("virtio", "device status").scalar,
                 uint64_t{kDriverReady | VIRTIO_CONFIG_S_DRIVER_OK});
        QCOMPARE(attribute("queue 0", "size").scalar, uint64_t{16});
        QCOMPARE(attribute("queue 0", "last used index").scalar, uint64_t{1});
        QCOMPARE(attribute("requests of queue 0", "bytes read").scalar, uint64_t{1024});
        QCOMPARE(attribute("requests of queue 0", "requests").scalar, uint64_t{1});
        QCOMPARE(attribute("disk", "capacity").scalar, kSectors);
        const auto pathBytes = attribute("disk", "path").bytes;
        QCOMPARE(std::string(pathBytes.begin(), pathBytes.end()), f.path);
    }

    // Snapshots (docs/snapshots.md, "virtio-blk"): a function's saved state put into a fresh one
    // (RAM copied, as a restore's RAM section does) gives the same registers, queue settings,
    // MSI-X table and PBA, routes every vector again, puts the doorbell back into the kernel at
    // the restored BAR, and continues the ring where it was: a chain offered before the save
    // but not yet taken is served when the hold ends, with the interrupt the driver asked for.
    void savedStateContinuesInAFreshFunction() {
        Fixture a({.msi = true, .doorbells = true});
        a.start(1);
        const unsigned msix = a.msixCapability();
        a.setConfig(msix + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2);
        for (unsigned vector = 0; vector < 2; ++vector) {
            const uint32_t entry = VirtioPciTransport::kMsixTableOffset + 16 * vector;
            a.setBar(entry + PCI_MSIX_ENTRY_LOWER_ADDR, 0xfee0'0000 + 0x1000 * vector, 4);
            a.setBar(entry + PCI_MSIX_ENTRY_UPPER_ADDR, 0, 4);
            a.setBar(entry + PCI_MSIX_ENTRY_DATA, 0x4030 + vector, 4);
        }
        // Vector 1 (the queue's) unmasked; the feature select left at 1.
        a.setBar(VirtioPciTransport::kMsixTableOffset + 16 + PCI_MSIX_ENTRY_VECTOR_CTRL, 0, 4);
        a.setCommon(VIRTIO_PCI_COMMON_DFSELECT, 1, 4);
        for (int request = 0; request < 2; ++request) {
            a.offerRequest(VIRTIO_BLK_T_IN, 5 + request, 512);
            a.notify();
        }
        QCOMPARE(a.driver.usedIndex(), uint16_t{2});
        QCOMPARE(a.msi.sent.size(), size_t{2});
        // The third chain is offered and its doorbell rang while the requests are held (as at
        // a save): nothing is taken.
        QVERIFY(a.transport->holdRequests(std::chrono::milliseconds(1000)));
        a.offerRequest(VIRTIO_BLK_T_IN, 9, 512);
        a.notify();
        QCOMPARE(a.driver.usedIndex(), uint16_t{2});
        const SavedDeviceState saved = a.transport->saveState();

        Fixture b({.msi = true, .doorbells = true});
        const auto ram = a.memory.span(0, kRam);
        b.memory.write(0, ram.data(), ram.size());
        QVERIFY(b.transport->holdRequests(std::chrono::milliseconds(1000))); // as restoreMachine
        b.transport->restoreState(saved);
        const SavedDeviceState again = b.transport->saveState();
        QCOMPARE(again.size(), saved.size());
        for (size_t i = 0; i < saved.size(); ++i) {
            const SavedField& field = again[i];
            QVERIFY2(field.group == saved[i].group && field.name == saved[i].name &&
                         field.scalar == saved[i].scalar && field.bytes == saved[i].bytes,
                     qPrintable(QString::fromStdString(saved[i].group + "/" + saved[i].name)));
        }
        QCOMPARE(b.transport->decodedBar(VirtioPciTransport::kBar).value(), kBarBase);
        QCOMPARE(b.status(), uint8_t{kDriverReady | VIRTIO_CONFIG_S_DRIVER_OK});
        QCOMPARE(b.transport->negotiatedFeatures(), kVersion1);
        QCOMPARE(b.common(VIRTIO_PCI_COMMON_DFSELECT, 4), uint64_t{1});
        QCOMPARE(b.common(VIRTIO_PCI_COMMON_Q_SIZE, 2), uint64_t{16});
        QCOMPARE(b.common(VIRTIO_PCI_COMMON_Q_MSIX, 2), uint64_t{1});
        QCOMPARE(b.common(VIRTIO_PCI_COMMON_Q_ENABLE, 2), uint64_t{1});
        QCOMPARE(b.common(VIRTIO_PCI_COMMON_Q_DESCLO, 8), b.driver.layout().descriptorTable);
        QCOMPARE(b.common(VIRTIO_PCI_COMMON_Q_USEDLO, 8), b.driver.layout().usedRing);
        for (unsigned offset = 0; offset < 32; offset += 4)
            QCOMPARE(b.bar(VirtioPciTransport::kMsixTableOffset + offset, 4),
                     a.bar(VirtioPciTransport::kMsixTableOffset + offset, 4));
        // Every vector routed again, with the restored table's message; none sent yet.
        QCOMPARE(b.msi.routes.size(), size_t{2});
        QCOMPARE(b.msi.routes[1].first, 1u);
        QCOMPARE(b.msi.routes[1].second, (pci::MsiMessage{0xfee0'1000, 0x4031}));
        QVERIFY(b.msi.sent.empty());
        // The doorbell is KVM's again, at the restored BAR.
        QCOMPARE(b.doorbells.attached,
                 std::vector<uint64_t>{kBarBase + VirtioPciTransport::kNotifyOffset});
        QVERIFY(b.transport->doorbellInKernel(0));

        // The hold ends: the chain offered before the save is served without a new doorbell.
        b.transport->releaseRequests();
        QCOMPARE(b.driver.usedIndex(), uint16_t{3});
        QCOMPARE(b.driver.used(2).id, uint32_t{(2 * 4) % 16});
        QCOMPARE(b.requestStatus(), uint8_t{VIRTIO_BLK_S_OK});
        QCOMPARE(b.memory.readValue<uint8_t>(kData), uint8_t{9}); // sector 9 holds 9
        QCOMPARE(b.msi.sent.size(), size_t{1});
        QCOMPARE(b.msi.sent[0].first, 1u);
        // And the ring goes on: the next chain lands in the next used slot.
        b.offerRequest(VIRTIO_BLK_T_IN, 11, 512);
        b.notify();
        QCOMPARE(b.driver.usedIndex(), uint16_t{4});
        QCOMPARE(b.memory.readValue<uint8_t>(kData), uint8_t{11});
        a.transport->releaseRequests();
        QCOMPARE(a.driver.usedIndex(), uint16_t{3}); // the original serves it too on release
    }

    // A pending MSI-X vector (masked when its queue signalled) stays pending through a restore
    // and is sent once the driver unmasks it; INTx# and the ISR come back too.
    void pendingInterruptsSurviveARestore() {
        Fixture a({.msi = true});
        a.start(1);
        const unsigned msix = a.msixCapability();
        a.setConfig(msix + PCI_MSIX_FLAGS, PCI_MSIX_FLAGS_ENABLE, 2);
        const uint32_t entry = VirtioPciTransport::kMsixTableOffset + 16;
        a.setBar(entry + PCI_MSIX_ENTRY_LOWER_ADDR, 0xfee0'0000, 4);
        a.setBar(entry + PCI_MSIX_ENTRY_DATA, 0x4041, 4);
        a.offerRequest(VIRTIO_BLK_T_IN, 2, 512);
        a.notify(); // vector 1 is masked (reset state): pending
        QCOMPARE(a.bar(VirtioPciTransport::kMsixPbaOffset, 8), uint64_t{0x2});
        Fixture b({.msi = true});
        const auto ram = a.memory.span(0, kRam);
        b.memory.write(0, ram.data(), ram.size());
        b.transport->restoreState(a.transport->saveState());
        QCOMPARE(b.bar(VirtioPciTransport::kMsixPbaOffset, 8), uint64_t{0x2});
        QVERIFY(b.msi.sent.empty());
        b.setBar(entry + PCI_MSIX_ENTRY_VECTOR_CTRL, 0, 4);
        QCOMPARE(b.msi.sent.size(), size_t{1});
        QCOMPARE(b.msi.sent[0].second, (pci::MsiMessage{0xfee0'0000, 0x4041}));

        Fixture c;
        c.start();
        c.offerRequest(VIRTIO_BLK_T_IN, 2, 512);
        c.notify();
        QVERIFY(c.intx());
        Fixture d;
        const auto cram = c.memory.span(0, kRam);
        d.memory.write(0, cram.data(), cram.size());
        d.transport->restoreState(c.transport->saveState());
        QVERIFY(d.intx());
        QCOMPARE(d.bar(VirtioPciTransport::kIsrOffset, 1), uint64_t{1}); // read clears it
        QVERIFY(!d.intx());
    }

    // A save waits for the request the I/O thread is serving, takes no new one while held, and
    // the release serves what was offered meanwhile; a hold that times out says so.
    void holdWaitsForTheRequestInFlight() {
        IoThread io("virtio-test");
        auto* gated = new GatedDevice;
        Fixture f({.ioThread = &io, .gated = gated});
        f.start();
        f.driver.offer(0, {{kData, 16, true}});
        f.notify();
        gated->waitUntilServing();
        QVERIFY(!f.transport->holdRequests(std::chrono::milliseconds(50)));
        std::atomic<bool> held{false};
        std::thread saver([&] { held = f.transport->holdRequests(std::chrono::seconds(10)); });
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        QVERIFY(!held.load());
        gated->release();
        saver.join();
        QVERIFY(held.load());
        QCOMPARE(f.usedIndexAcquire(), uint16_t{1});
        // Held: a chain offered and rung for is not taken.
        f.driver.offer(4, {{kData, 16, true}});
        f.notify();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        QCOMPARE(f.usedIndexAcquire(), uint16_t{1});
        f.transport->releaseRequests(); // two holds: still held after one release
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        QCOMPARE(f.usedIndexAcquire(), uint16_t{1});
        f.transport->releaseRequests();
        for (int i = 0; i < 500 && f.usedIndexAcquire() != 2; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        QCOMPARE(f.usedIndexAcquire(), uint16_t{2});
        f.transport->disconnect();
    }

    // A saved state this function could not have been in is refused, naming the field or the
    // queue: a queue vector past the table, a ring outside RAM.
    void impossibleSavedStatesAreRefused() {
        Fixture a({.msi = true});
        a.start(1);
        const SavedDeviceState saved = a.transport->saveState();
        auto with = [&](const std::string& group, const std::string& name, uint64_t value) {
            SavedDeviceState changed = saved;
            for (SavedField& field : changed)
                if (field.group == group && field.name == name)
                    field.scalar = value;
            return changed;
        };
        auto refusal = [](VirtioPciTransport& transport, const SavedDeviceState& state) {
            try {
                transport.restoreState(state);
            } catch (const AttributeError& error) {
                return QString::fromUtf8(error.what());
            }
            return QString();
        };
        Fixture b({.msi = true});
        QString error = refusal(*b.transport, with("queue 0", "MSI-X vector", 77));
        QVERIFY2(error.contains("MSI-X vector") && error.contains("77"), qPrintable(error));
        Fixture c({.msi = true});
        error = refusal(*c.transport, with("queue 0", "descriptor table", kRam + 0x1000));
        QVERIFY2(error.contains("queue 0") && error.contains("not in RAM"), qPrintable(error));
        Fixture d({.msi = true});
        error = refusal(*d.transport, with("virtio", "negotiated features", uint64_t{1} << 50));
        QVERIFY2(error.contains("never offered"), qPrintable(error));
    }
};

QTEST_APPLESS_MAIN(VirtioPciTest)
#include "VirtioPciTest.moc"
