// The device's side of a split virtqueue (virtio/SplitQueue.h) against a test driver in plain
// guest RAM, without /dev/kvm: chains taken in order, returned with their lengths, interrupts as
// the driver asked for them, and every broken rule a QueueError rather than a crash or a hang.
#include "TestDriver.h"

#include <QTest>

using namespace kvmscope;
using kvmscope::testing::TestDriver;
using virtio::Chain;
using virtio::QueueError;
using virtio::SplitQueue;

namespace {

constexpr uint64_t kRam = 16 << 20;

QString errorOf(SplitQueue& queue) {
    Chain chain;
    try {
        queue.pop(chain);
    } catch (const QueueError& error) {
        return QString::fromStdString(error.what());
    }
    return {};
}

} // namespace

class SplitQueueTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void layoutsAreChecked() {
        GuestMemory memory(kRam);
        virtio::QueueLayout layout{8, 0x10000, 0x10080, 0x11000};
        QVERIFY(virtio::checkQueueLayout(memory, layout).empty());
        layout.size = 6;
        QVERIFY(QString::fromStdString(virtio::checkQueueLayout(memory, layout))
                    .contains("not a power of 2"));
        layout.size = 8;
        layout.usedRing = 0x11002;
        QVERIFY(QString::fromStdString(virtio::checkQueueLayout(memory, layout))
                    .contains("used ring at 0x11002 is not 4-byte aligned"));
        layout.usedRing = kRam - 8;
        QVERIFY(QString::fromStdString(virtio::checkQueueLayout(memory, layout))
                    .contains("not in RAM"));
        QVERIFY_THROWS_EXCEPTION(QueueError, SplitQueue(memory, layout, false, false));
    }

    void chainsComeInOrderWithTheirBuffers() {
        GuestMemory memory(kRam);
        TestDriver driver(memory, 8);
        SplitQueue queue(memory, driver.layout(), false, false);
        Chain chain;
        QVERIFY(!queue.pop(chain));
        driver.offer(0, {{0x100000, 16, false}, {0x101000, 512, true}, {0x102000, 1, true}});
        driver.offer(3, {{0x103000, 100, false}});
        QVERIFY(queue.pop(chain));
        QCOMPARE(chain.head, uint16_t{0});
        QCOMPARE(chain.buffers.size(), size_t{3});
        QCOMPARE(chain.readableBytes(), uint64_t{16});
        QCOMPARE(chain.writableBytes(), uint64_t{513});
        QVERIFY(chain.buffers[1].deviceWritable);
        QVERIFY(queue.pop(chain));
        QCOMPARE(chain.head, uint16_t{3});
        QCOMPARE(chain.buffers.size(), size_t{1});
        QVERIFY(!queue.pop(chain));

        queue.push(3, 0);
        queue.push(0, 513);
        QCOMPARE(driver.usedIndex(), uint16_t{2});
        QCOMPARE(driver.used(0).id, 3u);
        QCOMPARE(driver.used(1).id, 0u);
        QCOMPARE(driver.used(1).length, 513u);
    }

    // Indices run modulo 2^16 while slots run modulo the size (2.7.6).
    void indicesWrapAround() {
        GuestMemory memory(kRam);
        TestDriver driver(memory, 4);
        SplitQueue queue(memory, driver.layout(), false, false);
        driver.setAvailableIndex(65534);
        queue.restoreIndices(65534, 65534);
        Chain chain;
        for (int i = 0; i < 3; ++i) {
            driver.offer(static_cast<uint16_t>(i), {{0x100000, 8, false}});
            QVERIFY(queue.pop(chain));
            QCOMPARE(chain.head, uint16_t(i));
            queue.push(chain.head, 0);
        }
        QCOMPARE(queue.nextAvailable(), uint16_t{1});
        QCOMPARE(driver.usedIndex(), uint16_t{1});
    }

    // A snapshot's indices (2.7.10 with EVENT_IDX): a queue rebuilt from nextAvailable,
    // nextUsed and lastSignalledUsed decides on interrupts as the original would have.
    void restoredIndicesKeepTheEventIndexState() {
        GuestMemory memory(kRam);
        TestDriver driver(memory, 8);
        SplitQueue original(memory, driver.layout(), false, true);
        Chain chain;
        driver.setUsedEvent(2); // interrupt once the used index passes 2
        for (int i = 0; i < 2; ++i) {
            driver.offer(static_cast<uint16_t>(i), {{0x100000, 8, false}});
            QVERIFY(original.pop(chain));
            original.push(chain.head, 0);
            QVERIFY(!original.driverWantsInterrupt());
        }
        // One more returned but not yet looked at (the save came in between).
        driver.offer(2, {{0x100000, 8, false}});
        QVERIFY(original.pop(chain));
        original.push(chain.head, 0);
        QCOMPARE(original.lastSignalledUsed(), uint16_t{2});
        SplitQueue restored(memory, driver.layout(), false, true);
        restored.restoreIndices(original.nextAvailable(), original.nextUsed(),
                                original.lastSignalledUsed());
        QCOMPARE(restored.nextAvailable(), uint16_t{3});
        QCOMPARE(restored.nextUsed(), uint16_t{3});
        QVERIFY(restored.driverWantsInterrupt()); // 2 < used_event + 1 <= 3
        QVERIFY(original.driverWantsInterrupt());
        // Without the third index the crossing is lost: no interrupt where one was due.
        SplitQueue forgetful(memory, driver.layout(), false, true);
        forgetful.restoreIndices(3, 3);
        QVERIFY(!forgetful.driverWantsInterrupt());
        // avail_event follows the restored queue's pops.
        driver.offer(3, {{0x100000, 8, false}});
        QVERIFY(restored.pop(chain));
        QCOMPARE(driver.availableEvent(), uint16_t{4});
    }

    void indirectTablesAreWalked() {
        GuestMemory memory(kRam);
        TestDriver driver(memory, 8);
        const uint64_t table = 0x200000;
        virtio::ring::Descriptor entries[3] = {{0x100000, 16, virtio::ring::kNext, 2},
                                               {0, 0, 0, 0},
                                               {0x101000, 1, virtio::ring::kWrite, 0}};
        memory.write(table, entries, sizeof entries);
        driver.writeDescriptor(5, {table, sizeof entries, virtio::ring::kIndirect, 0});
        driver.offerHead(5);
        SplitQueue queue(memory, driver.layout(), true, false);
        Chain chain;
        QVERIFY(queue.pop(chain));
        QCOMPARE(chain.head, uint16_t{5});
        QCOMPARE(chain.buffers.size(), size_t{2});
        QCOMPARE(chain.buffers[1].address, uint64_t{0x101000});

        // Not negotiated: refused.
        driver.offerHead(5);
        SplitQueue plain(memory, driver.layout(), false, false);
        plain.restoreIndices(1, 0);
        QVERIFY(errorOf(plain).contains("VIRTIO_RING_F_INDIRECT_DESC was not negotiated"));
    }

    void brokenChainsAreQueueErrors_data() {
        QTest::addColumn<int>("breakage");
        QTest::addColumn<QString>("expected");
        QTest::newRow("loop") << 0 << "loops";
        QTest::newRow("next past the queue") << 1 << "past the queue";
        QTest::newRow("head past the queue") << 2 << "names descriptor 9";
        QTest::newRow("buffer outside RAM") << 3 << "is not in RAM";
        QTest::newRow("readable after writable") << 4 << "follows a device-writable";
        QTest::newRow("index far ahead") << 5 << "more than the queue's 8 entries";
        QTest::newRow("indirect and next") << 6 << "both indirect and chained";
        QTest::newRow("indirect table loops") << 7 << "loops";
        QTest::newRow("nested indirect") << 8 << "itself indirect";
        QTest::newRow("indirect of odd size") << 9 << "not a multiple of 16";
        QTest::newRow("buffer wraps past 2^64") << 10 << "is not in RAM";
    }

    void brokenChainsAreQueueErrors() {
        QFETCH(int, breakage);
        QFETCH(QString, expected);
        GuestMemory memory(kRam);
        TestDriver driver(memory, 8);
        const uint64_t table = 0x200000;
        switch (breakage) {
        case 0: // 0 -> 1 -> 0 -> ...
            driver.writeDescriptor(0, {0x100000, 8, virtio::ring::kNext, 1});
            driver.writeDescriptor(1, {0x100000, 8, virtio::ring::kNext, 0});
            driver.offerHead(0);
            break;
        case 1:
            driver.writeDescriptor(0, {0x100000, 8, virtio::ring::kNext, 8});
            driver.offerHead(0);
            break;
        case 2:
            driver.offerHead(9);
            break;
        case 3:
            driver.offer(0, {{kRam - 4, 8, false}});
            break;
        case 4:
            driver.offer(0, {{0x100000, 8, true}, {0x101000, 8, false}});
            break;
        case 5:
            driver.setAvailableIndex(9);
            break;
        case 6:
            driver.writeDescriptor(0,
                                   {table, 16, virtio::ring::kIndirect | virtio::ring::kNext, 1});
            driver.offerHead(0);
            break;
        case 7: {
            const virtio::ring::Descriptor loop[2] = {{0x100000, 8, virtio::ring::kNext, 1},
                                                      {0x100000, 8, virtio::ring::kNext, 0}};
            memory.write(table, loop, sizeof loop);
            driver.writeDescriptor(0, {table, sizeof loop, virtio::ring::kIndirect, 0});
            driver.offerHead(0);
            break;
        }
        case 8: {
            const virtio::ring::Descriptor nested{table, 16, virtio::ring::kIndirect, 0};
            memory.writeValue(table, nested);
            driver.writeDescriptor(0, {table, 16, virtio::ring::kIndirect, 0});
            driver.offerHead(0);
            break;
        }
        case 9:
            driver.writeDescriptor(0, {table, 24, virtio::ring::kIndirect, 0});
            driver.offerHead(0);
            break;
        case 10:
            driver.offer(0, {{~uint64_t{0} - 4, 64, false}});
            break;
        }
        SplitQueue queue(memory, driver.layout(), true, false);
        const QString error = errorOf(queue);
        QVERIFY2(error.contains(expected), qPrintable(error));
    }

    void interruptsFollowTheAvailableFlags() {
        GuestMemory memory(kRam);
        TestDriver driver(memory, 8);
        SplitQueue queue(memory, driver.layout(), false, false);
        QVERIFY(!queue.driverWantsInterrupt()); // nothing returned
        queue.push(0, 0);
        QVERIFY(queue.driverWantsInterrupt());
        driver.setAvailableFlags(virtio::ring::kAvailableNoInterrupt);
        queue.push(1, 0);
        QVERIFY(!queue.driverWantsInterrupt());
    }

    // 2.7.10: with VIRTIO_RING_F_EVENT_IDX the driver names the used index it wants an
    // interrupt at, and the device names the available index it wants a notification at.
    void interruptsFollowTheUsedEvent() {
        GuestMemory memory(kRam);
        TestDriver driver(memory, 8);
        SplitQueue queue(memory, driver.layout(), false, true);
        driver.setUsedEvent(2); // interrupt when the used index passes 2
        Chain chain;
        for (uint16_t head = 0; head < 4; ++head)
            driver.offer(head, {{0x100000, 8, false}});
        QVERIFY(queue.pop(chain));
        QCOMPARE(driver.availableEvent(), uint16_t{1});
        queue.push(chain.head, 0); // used index 1
        QVERIFY(!queue.driverWantsInterrupt());
        queue.push(1, 0);
        QVERIFY(!queue.driverWantsInterrupt()); // 2: not past the event yet
        queue.push(2, 0);
        QVERIFY(queue.driverWantsInterrupt()); // 3: passed 2
        queue.push(3, 0);
        QVERIFY(!queue.driverWantsInterrupt()); // already signalled past it
    }
};

QTEST_APPLESS_MAIN(SplitQueueTest)
#include "SplitQueueTest.moc"
