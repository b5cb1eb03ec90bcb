// The capabilities list (pci/PciCapabilities.h; PCI Local Bus Specification 3.0, 6.7) and the
// MSI-X table (pci/MsixTable.h, 6.8.2), on a configuration space and a table alone: the list is
// linked from 0x34 with the status bit set, walked as software walks it (a loop ends the walk),
// only the bits a capability declares writable change, and a masked vector keeps its message
// pending until it is unmasked.
#include "pci/PciCapabilities.h"

#include "common/Error.h"
#include "pci/MsixTable.h"

#include <QTest>
#include <array>

using namespace kvmscope;
using namespace kvmscope::pci;

namespace {

std::vector<PciCapability> walk(const PciConfigSpace& config) {
    return walkCapabilities(
        [&config](unsigned offset, unsigned size) { return config.read(offset, size); });
}

} // namespace

class PciCapabilitiesTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void noListWithoutTheStatusBit() {
        PciConfigSpace config;
        config.set8(kCapabilitiesPointer, 0x40); // a stray pointer alone is no list
        QVERIFY(walk(config).empty());
    }

    void capabilitiesAreLinkedFromThePointerInOrder() {
        PciConfigSpace config;
        PciCapabilityList list(config);
        const std::array<uint8_t, 3> first{1, 2, 3}; // 5 bytes: the next one goes to 0x48
        const std::array<uint8_t, 10> second{};
        QCOMPARE(list.add(kCapabilityIdVendorSpecific, first), 0x40u);
        QCOMPARE(list.add(kCapabilityIdMsix, second), 0x48u);
        QVERIFY(config.get16(kStatus) & kStatusCapabilities);
        QCOMPARE(config.get8(kCapabilitiesPointer), uint8_t{0x40});
        QCOMPARE(config.get8(0x41), uint8_t{0x48});
        QCOMPARE(config.get8(0x49), uint8_t{0}); // the last
        QCOMPARE(config.get8(0x42), uint8_t{1});
        const auto found = walk(config);
        QCOMPARE(found.size(), size_t{2});
        QCOMPARE(found[0].id, kCapabilityIdVendorSpecific);
        QCOMPARE(found[0].offset, 0x40u);
        QCOMPARE(found[1].id, kCapabilityIdMsix);
        QCOMPARE(found[1].offset, 0x48u);
        QCOMPARE(list.containing(0x4b)->offset, 0x48u);
        QVERIFY(list.containing(0x46) == nullptr); // the padding between them
    }

    void onlyDeclaredBitsAreWritable() {
        PciConfigSpace config;
        PciCapabilityList list(config);
        const std::array<uint8_t, 2> body{0x12, 0x34};
        const std::array<uint8_t, 2> writable{0x00, 0xf0};
        const unsigned at = list.add(kCapabilityIdMsix, body, writable);
        config.write(at, 0xffff'ffff, 4); // ID, next pointer and both bytes
        QCOMPARE(config.get8(at), kCapabilityIdMsix);
        QCOMPARE(config.get8(at + 1), uint8_t{0});
        QCOMPARE(config.get8(at + 2), uint8_t{0x12});
        QCOMPARE(config.get8(at + 3), uint8_t{0xf4});
        config.write(kCapabilitiesPointer, 0x80, 1); // the pointer is read-only
        QCOMPARE(config.get8(kCapabilitiesPointer), uint8_t{0x40});
    }

    void aCapabilityThatDoesNotFitIsRefused() {
        PciConfigSpace config;
        PciCapabilityList list(config);
        std::vector<uint8_t> big(0xbe, 0); // 0x40 + 2 + 0xbe = 0x100: just fits
        list.add(kCapabilityIdVendorSpecific, big);
        const std::array<uint8_t, 1> more{};
        QVERIFY_THROWS_EXCEPTION(kvmscope::Error, list.add(kCapabilityIdVendorSpecific, more));
    }

    void aLoopingListEndsTheWalk() {
        PciConfigSpace config;
        config.set16(kStatus, kStatusCapabilities);
        config.set8(kCapabilitiesPointer, 0x40);
        config.set8(0x40, 0x09);
        config.set8(0x41, 0x50);
        config.set8(0x50, 0x11);
        config.set8(0x51, 0x43); // bits 1-0 are reserved: this points at 0x40 again
        const auto found = walk(config);
        QCOMPARE(found.size(), size_t{2});
        config.set8(0x51, 0x20); // into the header: the end
        QCOMPARE(walk(config).size(), size_t{2});
    }

    void msixVectorsStartMaskedAndKeepTheirMessagePending() {
        MsixTable table(3);
        QCOMPARE(table.tableBytes(), uint64_t{48});
        QCOMPARE(table.pbaBytes(), uint64_t{8});
        QVERIFY(table.vectorMasked(1));
        const std::array<uint8_t, 4> address{0x03, 0x00, 0xe0, 0xfe}; // bits 1-0 read 0
        const std::array<uint8_t, 4> data{0x41, 0x00, 0x00, 0x00};
        QCOMPARE(table.writeTable(16 + MsixTable::kAddressLow, address).value(), 1u);
        table.writeTable(16 + MsixTable::kData, data);
        QCOMPARE(table.message(1), (MsiMessage{0xfee0'0000, 0x41}));
        table.setControl(true, false);
        QVERIFY(!table.signal(1)); // masked: pending instead
        QVERIFY(table.pending(1));
        std::array<uint8_t, 8> pba{};
        table.readPba(0, pba);
        QCOMPARE(pba[0], uint8_t{0x02});
        const std::array<uint8_t, 4> unmask{0xfe, 0xff, 0xff, 0xff}; // reserved bits stay 0
        table.writeTable(16 + MsixTable::kVectorControl, unmask);
        std::array<uint8_t, 4> control{};
        table.readTable(16 + MsixTable::kVectorControl, control);
        QCOMPARE(control[0], uint8_t{0});
        QCOMPARE(table.takeDeliverable(), std::vector<unsigned>{1});
        QVERIFY(!table.pending(1));
        QCOMPARE(table.signal(1).value(), (MsiMessage{0xfee0'0000, 0x41}));
    }

    void theFunctionMaskHoldsEveryVector() {
        MsixTable table(2);
        const std::array<uint8_t, 4> unmask{0, 0, 0, 0};
        table.writeTable(MsixTable::kVectorControl, unmask);
        table.setControl(true, true);
        QVERIFY(!table.signal(0));
        QVERIFY(table.takeDeliverable().empty());
        table.setControl(true, false);
        QCOMPARE(table.takeDeliverable(), std::vector<unsigned>{0});
        QVERIFY(!table.signal(7)); // no such vector
    }

    void tableReadsPastTheEndAreZeroAndWritesDropped() {
        MsixTable table(1);
        const std::array<uint8_t, 4> bytes{1, 2, 3, 4};
        QVERIFY(!table.writeTable(16, bytes));
        std::array<uint8_t, 8> out{};
        out.fill(0xff);
        table.readTable(16, out);
        QCOMPARE(out[0], uint8_t{0});
        QVERIFY_THROWS_EXCEPTION(kvmscope::Error, MsixTable(0));
    }
};

QTEST_APPLESS_MAIN(PciCapabilitiesTest)
#include "PciCapabilitiesTest.moc"
