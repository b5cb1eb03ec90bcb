#include "trace/ExitTrace.h"

#include "kvm/compat.h"

#include <QTest>
#include <thread>

using kvmscope::trace::ExitRecord;
using kvmscope::trace::ExitTrace;

class ExitTraceTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void drainReturnsOnlyNewRecordsInOrder() {
        ExitTrace trace(8);
        for (uint64_t i = 0; i < 5; ++i) {
            ExitRecord record;
            record.reason = KVM_EXIT_IO;
            record.address = 0x3f8 + i;
            trace.record(record);
        }
        auto first = trace.drain(0);
        QCOMPARE(first.size(), size_t(5));
        QCOMPARE(first.front().sequence, uint64_t(1));
        QCOMPARE(first.back().address, uint64_t(0x3fc));
        QVERIFY(trace.drain(first.back().sequence).empty());
    }

    void ringKeepsTheMostRecentRecords() {
        ExitTrace trace(4);
        for (int i = 0; i < 10; ++i)
            trace.record(ExitRecord{});
        const auto records = trace.drain(0);
        QCOMPARE(records.size(), size_t(4));
        QCOMPARE(records.front().sequence, uint64_t(7)); // 1..6 were overwritten: a visible gap
        QCOMPARE(records.back().sequence, uint64_t(10));
        QCOMPARE(trace.totalExits(), uint64_t(10));
    }

    void countsPerReason() {
        ExitTrace trace(4);
        ExitRecord io;
        io.reason = KVM_EXIT_IO;
        ExitRecord mmio;
        mmio.reason = KVM_EXIT_MMIO;
        for (int i = 0; i < 3; ++i)
            trace.record(io);
        trace.record(mmio);
        QCOMPARE(trace.count(KVM_EXIT_IO), uint64_t(3));
        QCOMPARE(trace.count(KVM_EXIT_MMIO), uint64_t(1));
        QCOMPARE(trace.count(KVM_EXIT_HLT), uint64_t(0));
        QCOMPARE(trace.counts()[KVM_EXIT_IO], uint64_t(3));
    }

    void concurrentReaderSeesConsistentSequences() {
        ExitTrace trace(64);
        std::atomic<bool> done{false};
        std::thread writer([&] {
            for (int i = 0; i < 20000; ++i)
                trace.record(ExitRecord{});
            done = true;
        });
        uint64_t last = 0;
        while (!done) {
            for (const auto& record : trace.drain(last)) {
                QVERIFY(record.sequence > last);
                last = record.sequence;
            }
        }
        writer.join();
        for (const auto& record : trace.drain(last))
            last = record.sequence;
        QCOMPARE(last, uint64_t(20000));
    }
};

QTEST_APPLESS_MAIN(ExitTraceTest)
#include "ExitTraceTest.moc"
