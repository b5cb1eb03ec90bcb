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

    void badSizesAreInputErrors() {
        QVERIFY_THROWS_EXCEPTION(kvmscope::InputError, GuestMemory(4096));
        QVERIFY_THROWS_EXCEPTION(kvmscope::InputError, GuestMemory((1ull << 20) + 1));
        QVERIFY_THROWS_EXCEPTION(kvmscope::InputError, GuestMemory(GuestMemory::kMaxRamSize * 2));
    }
};

QTEST_APPLESS_MAIN(GuestMemoryTest)
#include "GuestMemoryTest.moc"
