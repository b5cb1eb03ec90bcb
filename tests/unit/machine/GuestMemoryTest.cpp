#include "machine/GuestMemory.h"

#include <QTest>

using kvmscope::GuestMemory;
using kvmscope::GuestMemoryError;

class GuestMemoryTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void smallRamIsOneRegionFromZero() {
        GuestMemory memory(64ull << 20);
        QCOMPARE(memory.regions().size(), size_t(1));
        QCOMPARE(memory.regions()[0].guestAddress, uint64_t(0));
        QCOMPARE(memory.regions()[0].size, uint64_t(64) << 20);
        QCOMPARE(memory.lowRamEnd(), uint64_t(64) << 20);
    }

    void ramAboveThreeGibMovesAboveFourGib() {
        GuestMemory memory(8ull << 30);
        QCOMPARE(memory.regions().size(), size_t(2));
        QCOMPARE(memory.regions()[0].end(), GuestMemory::kMmioHoleStart);
        QCOMPARE(memory.regions()[1].guestAddress, GuestMemory::kMmioHoleEnd);
        QCOMPARE(memory.regions()[1].size, (8ull << 30) - GuestMemory::kMmioHoleStart);
        QVERIFY(!memory.contains(GuestMemory::kMmioHoleStart, 1));
        QVERIFY(memory.contains(GuestMemory::kMmioHoleEnd, 4096));
    }

    void sixtyFourGibIsReservedLazily() {
        GuestMemory memory(64ull << 30);
        memory.writeValue<uint64_t>((64ull << 30) + GuestMemory::kMmioHoleEnd -
                                        GuestMemory::kMmioHoleStart - 8,
                                    0x1122334455667788);
        QCOMPARE(memory.readValue<uint64_t>(memory.regions()[1].end() - 8),
                 uint64_t(0x1122334455667788));
    }

    void readWriteRoundTrip() {
        GuestMemory memory(1ull << 20);
        memory.writeValue<uint32_t>(0x7c00, 0xdeadbeef);
        QCOMPARE(memory.readValue<uint32_t>(0x7c00), uint32_t(0xdeadbeef));
        QCOMPARE(memory.span(0x7c00, 4)[0], uint8_t(0xef));
    }

    void accessEndingExactlyAtRamEndIsAllowed() {
        GuestMemory memory(1ull << 20);
        QVERIFY(memory.contains((1ull << 20) - 4, 4));
        memory.writeValue<uint32_t>((1ull << 20) - 4, 1);
    }

    void accessCrossingRamEndThrows() {
        GuestMemory memory(1ull << 20);
        QVERIFY(!memory.contains((1ull << 20) - 2, 4));
        QVERIFY_THROWS_EXCEPTION(GuestMemoryError,
                                 memory.writeValue<uint32_t>((1ull << 20) - 2, 1));
    }

    void accessStraddlingTheHoleThrows() {
        GuestMemory memory(4ull << 30);
        QVERIFY(!memory.contains(GuestMemory::kMmioHoleStart - 4, 8));
        QVERIFY_THROWS_EXCEPTION(GuestMemoryError, memory.span(GuestMemory::kMmioHoleStart - 4, 8));
    }

    void addressPlusLengthOverflowIsRejected() {
        GuestMemory memory(1ull << 20);
        QVERIFY(!memory.contains(0x1000, ~0ull));
        QVERIFY(!memory.contains(~0ull - 1, 4));
        QVERIFY_THROWS_EXCEPTION(GuestMemoryError, memory.span(~0ull - 1, 4));
    }

    void zeroLengthIsNeverContainedButReadIsANoOp() {
        GuestMemory memory(1ull << 20);
        QVERIFY(!memory.contains(0, 0));
        uint8_t byte = 7;
        memory.read(~0ull, &byte, 0);
        QCOMPARE(byte, uint8_t(7));
    }

    void errorNamesAddressAndLength() {
        GuestMemory memory(1ull << 20);
        try {
            memory.span(0x200000, 0x10);
            QFAIL("no exception");
        } catch (const GuestMemoryError& error) {
            const QString message = QString::fromStdString(error.what());
            QVERIFY2(message.contains("0x200000") && message.contains("0x10"), error.what());
        }
    }

    // Edges of the one audited accessor (design: "one audited accessor"): every host-side access
    // goes through contains()/span(), so these are the checks a guest-controlled address meets.
    void addressPlusLengthWrappingBackIntoRamIsRejected() {
        GuestMemory memory(8ull << 30);
        // address + length wraps past 2^64 to a small address inside RAM: a naive
        // `address + length <= end` would accept all of these.
        QVERIFY(!memory.contains(0x10, ~0ull - 7));      // ends at 0x8 after the wrap
        QVERIFY(!memory.contains(0x1000, 0ull - 0x800)); // ends at 0x800
        const uint64_t high = memory.regions()[1].guestAddress;
        QVERIFY(!memory.contains(high + 0x1000, 0ull - 0x1000)); // ends at `high` after the wrap
        QVERIFY(!memory.contains(~0ull, 1));
        QVERIFY(!memory.contains(~0ull, ~0ull));
        QVERIFY(!memory.contains(0, ~0ull));
        QVERIFY_THROWS_EXCEPTION(GuestMemoryError, memory.span(0x10, ~0ull - 7));
        uint8_t byte = 0;
        QVERIFY_THROWS_EXCEPTION(GuestMemoryError, memory.read(~0ull, &byte, 1));
        QVERIFY_THROWS_EXCEPTION(GuestMemoryError, memory.write(~0ull - 1, &byte, 2));
        QVERIFY_THROWS_EXCEPTION(GuestMemoryError, memory.fill(0x1000, 0, 0ull - 0x800));
    }

    void zeroLengthSpanThrowsAndZeroLengthCopiesTouchNothing() {
        GuestMemory memory(1ull << 20);
        QVERIFY(!memory.contains(0x1000, 0)); // inside RAM, but empty
        QVERIFY_THROWS_EXCEPTION(GuestMemoryError, memory.span(0x1000, 0));
        memory.writeValue<uint8_t>(0x1000, 0x5a);
        const uint8_t source = 0xa5;
        memory.write(0x1000, &source, 0);
        memory.write(~0ull, &source, 0); // outside RAM, but nothing to copy
        memory.fill(0x1000, 0xff, 0);
        memory.fill(~0ull, 0xff, 0);
        QCOMPARE(memory.readValue<uint8_t>(0x1000), uint8_t(0x5a));
    }

    void lastByteOfEachRegionIsInsideAndTheNextIsNot() {
        GuestMemory memory(5ull << 30);
        QCOMPARE(memory.regions().size(), size_t(2));
        const auto& low = memory.regions()[0];
        const auto& high = memory.regions()[1];
        QCOMPARE(low.end(), GuestMemory::kMmioHoleStart);
        QCOMPARE(high.end(),
                 GuestMemory::kMmioHoleEnd + (5ull << 30) - GuestMemory::kMmioHoleStart);
        for (const auto& region : memory.regions()) {
            QVERIFY(memory.contains(region.end() - 1, 1));
            QVERIFY(memory.contains(region.guestAddress, region.size)); // the whole region
            QVERIFY(!memory.contains(region.guestAddress, region.size + 1));
            QVERIFY(!memory.contains(region.end(), 1));
            QVERIFY(!memory.contains(region.end() - 1, 2));
            memory.writeValue<uint8_t>(region.end() - 1, 0x77);
            QCOMPARE(memory.readValue<uint8_t>(region.end() - 1), uint8_t(0x77));
            QVERIFY_THROWS_EXCEPTION(GuestMemoryError,
                                     memory.readValue<uint16_t>(region.end() - 1));
        }
    }

    void holeIsOutsideRamFromItsFirstToItsLastByte() {
        GuestMemory memory(4ull << 30);
        QVERIFY(!memory.contains(GuestMemory::kMmioHoleStart, 1));
        QVERIFY(!memory.contains(GuestMemory::kMmioHoleEnd - 1, 1));
        QVERIFY(!memory.contains(0xfee00000, 4)); // the LAPIC, inside the hole
        // Starting in the hole and ending in RAM above 4 GiB, and the other way round.
        QVERIFY(!memory.contains(GuestMemory::kMmioHoleEnd - 4, 8));
        QVERIFY(!memory.contains(GuestMemory::kMmioHoleStart - 1,
                                 GuestMemory::kMmioHoleEnd - GuestMemory::kMmioHoleStart + 2));
        QVERIFY_THROWS_EXCEPTION(GuestMemoryError, memory.span(GuestMemory::kMmioHoleEnd - 4, 8));
        // The whole of RAM as one access spans two memslots: rejected, though every byte is RAM
        // except those of the hole in between.
        QVERIFY(!memory.contains(0, GuestMemory::kMmioHoleEnd + (1ull << 30)));
    }

    void regionsAreBackToBackInHostMemory() {
        // Both memslots come from one mapping: the first byte above 4 GiB follows the last byte
        // below the hole on the host side, so the accessor must never hand out a span that
        // crosses them (the guest sees a hole there).
        GuestMemory memory(4ull << 30);
        const auto& low = memory.regions()[0];
        const auto& high = memory.regions()[1];
        QCOMPARE(high.host, low.host + low.size);
        memory.writeValue<uint8_t>(GuestMemory::kMmioHoleEnd, 0x42);
        QCOMPARE(memory.span(GuestMemory::kMmioHoleEnd, 1).data(), high.host);
        QCOMPARE(memory.span(low.end() - 1, 1).data(), low.host + low.size - 1);
    }

    void ramEndingExactlyAtTheHoleIsOneRegion() {
        GuestMemory memory(GuestMemory::kMmioHoleStart);
        QCOMPARE(memory.regions().size(), size_t(1));
        QVERIFY(memory.contains(GuestMemory::kMmioHoleStart - 1, 1));
        QVERIFY(!memory.contains(GuestMemory::kMmioHoleEnd, 1));
        QCOMPARE(memory.lowRamEnd(), GuestMemory::kMmioHoleStart);
    }

    void badSizesAreInputErrors() {
        QVERIFY_THROWS_EXCEPTION(kvmscope::InputError, GuestMemory(4096));
        QVERIFY_THROWS_EXCEPTION(kvmscope::InputError, GuestMemory((1ull << 20) + 1));
        QVERIFY_THROWS_EXCEPTION(kvmscope::InputError, GuestMemory(GuestMemory::kMaxRamSize * 2));
    }
};

QTEST_APPLESS_MAIN(GuestMemoryTest)
#include "GuestMemoryTest.moc"
