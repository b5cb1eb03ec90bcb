// The per-address exit counters: one entry per (kind, address, direction), exact counts and byte
// totals, the overflow bucket once the table is full, and snapshots taken while the vcpu thread
// writes (this test runs under ThreadSanitizer with the other unit tests).
#include "trace/AddressCounters.h"

#include <QTest>
#include <algorithm>
#include <atomic>
#include <optional>
#include <thread>

using kvmscope::trace::AccessKind;
using kvmscope::trace::AddressCounters;

namespace {

std::optional<AddressCounters::Entry> find(const AddressCounters::Snapshot& snapshot,
                                           AccessKind access, uint64_t address) {
    for (const auto& entry : snapshot.entries)
        if (entry.access == access && entry.address == address)
            return entry;
    return std::nullopt;
}

} // namespace

class AddressCountersTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void countsExitsAndBytesPerAddress() {
        AddressCounters counters;
        for (int i = 0; i < 5; ++i)
            counters.record(AccessKind::PortOut, 0x3f8, 1);
        counters.record(AccessKind::PortOut, 0x3f9, 1);
        counters.record(AccessKind::PortIn, 0x3fd, 1);
        counters.record(AccessKind::PortOut, 0x500, 2 * 16); // rep outsw of 16 words
        counters.record(AccessKind::MmioWrite, 0xfee000b0, 4);
        counters.record(AccessKind::MmioWrite, 0xfee000b0, 4);
        const auto snapshot = counters.snapshot();
        QCOMPARE(snapshot.entries.size(), size_t(5));
        QCOMPARE(counters.addressCount(), size_t(5));
        QCOMPARE(find(snapshot, AccessKind::PortOut, 0x3f8)->exits, uint64_t(5));
        QCOMPARE(find(snapshot, AccessKind::PortOut, 0x3f8)->bytes, uint64_t(5));
        QCOMPARE(find(snapshot, AccessKind::PortOut, 0x500)->bytes, uint64_t(32));
        QCOMPARE(find(snapshot, AccessKind::MmioWrite, 0xfee000b0)->exits, uint64_t(2));
        QCOMPARE(find(snapshot, AccessKind::MmioWrite, 0xfee000b0)->bytes, uint64_t(8));
        QCOMPARE(snapshot.overflowExits, uint64_t(0));
    }

    void directionAndKindAreSeparateEntries() {
        // Port 0x70 and MMIO address 0x70, read and written: four different things.
        AddressCounters counters;
        counters.record(AccessKind::PortOut, 0x70, 1);
        counters.record(AccessKind::PortIn, 0x70, 1);
        counters.record(AccessKind::PortIn, 0x70, 1);
        counters.record(AccessKind::MmioRead, 0x70, 4);
        counters.record(AccessKind::MmioWrite, 0x70, 4);
        const auto snapshot = counters.snapshot();
        QCOMPARE(snapshot.entries.size(), size_t(4));
        QCOMPARE(find(snapshot, AccessKind::PortOut, 0x70)->exits, uint64_t(1));
        QCOMPARE(find(snapshot, AccessKind::PortIn, 0x70)->exits, uint64_t(2));
        QCOMPARE(find(snapshot, AccessKind::MmioRead, 0x70)->exits, uint64_t(1));
        QCOMPARE(find(snapshot, AccessKind::MmioWrite, 0x70)->exits, uint64_t(1));
    }

    void accessesThatAreNotPortOrMmioAreIgnored() {
        AddressCounters counters;
        counters.record(AccessKind::None, 0, 0); // a HLT or debug exit has no address
        QVERIFY(counters.snapshot().entries.empty());
        QCOMPARE(counters.snapshot().overflowExits, uint64_t(0));
    }

    void fullTableCountsNewAddressesInTheOverflowBucket() {
        AddressCounters counters;
        // Page-aligned MMIO addresses, the pattern that collides most in a naive hash.
        for (uint64_t i = 0; i < AddressCounters::kMaxAddresses; ++i)
            counters.record(AccessKind::MmioRead, 0xfe000000 + i * 0x1000, 4);
        QCOMPARE(counters.addressCount(), AddressCounters::kMaxAddresses);
        for (int i = 0; i < 10; ++i)
            counters.record(AccessKind::PortIn, 0x1000 + static_cast<uint64_t>(i), 2);
        // Addresses already in the table still count in their own entry.
        counters.record(AccessKind::MmioRead, 0xfe000000, 4);
        const auto snapshot = counters.snapshot();
        QCOMPARE(snapshot.entries.size(), AddressCounters::kMaxAddresses);
        QCOMPARE(snapshot.overflowExits, uint64_t(10));
        QCOMPARE(snapshot.overflowBytes, uint64_t(20));
        QCOMPARE(find(snapshot, AccessKind::MmioRead, 0xfe000000)->exits, uint64_t(2));
        QVERIFY(!find(snapshot, AccessKind::PortIn, 0x1000));
        uint64_t total = snapshot.overflowExits;
        for (const auto& entry : snapshot.entries)
            total += entry.exits;
        QCOMPARE(total, uint64_t(AddressCounters::kMaxAddresses + 11));
    }

    void snapshotWhileTheVcpuThreadWritesIsConsistent() {
        // One writer (the vcpu thread) spreading exits over more addresses than fit; a reader
        // snapshots meanwhile. Counts only grow, every entry it sees has its key, and the final
        // snapshot accounts for every exit.
        AddressCounters counters;
        constexpr uint64_t kExits = 200000;
        constexpr uint64_t kAddresses = AddressCounters::kMaxAddresses + 44;
        std::atomic<bool> done{false};
        std::thread writer([&] {
            for (uint64_t i = 0; i < kExits; ++i)
                counters.record(i % 2 ? AccessKind::PortOut : AccessKind::MmioWrite,
                                0x400 + i % kAddresses, 1);
            done.store(true);
        });
        uint64_t lastTotal = 0;
        do {
            const auto snapshot = counters.snapshot();
            uint64_t total = snapshot.overflowExits;
            for (const auto& entry : snapshot.entries) {
                QVERIFY(entry.access == AccessKind::PortOut ||
                        entry.access == AccessKind::MmioWrite);
                QVERIFY(entry.address >= 0x400 && entry.address < 0x400 + kAddresses);
                QVERIFY(entry.exits > 0);
                total += entry.exits;
            }
            QVERIFY(snapshot.entries.size() <= AddressCounters::kMaxAddresses);
            QVERIFY(total >= lastTotal);
            lastTotal = total;
        } while (!done.load());
        writer.join();
        const auto snapshot = counters.snapshot();
        uint64_t total = snapshot.overflowExits;
        for (const auto& entry : snapshot.entries)
            total += entry.exits;
        QCOMPARE(total, kExits);
        QCOMPARE(snapshot.entries.size(), AddressCounters::kMaxAddresses);
        QVERIFY(snapshot.overflowExits > 0);
    }
};

QTEST_APPLESS_MAIN(AddressCountersTest)
#include "AddressCountersTest.moc"
