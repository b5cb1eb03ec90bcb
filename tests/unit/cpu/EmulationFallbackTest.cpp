// What kvmscope does with an instruction the host's emulator refused (cpu/EmulationFallback.h):
// int3 is a trap (skip, then #BP), fwait is #NM under CR0.MP+TS, #MF with FSW.ES, else nothing;
// everything else is left to stop the VM.
#include "cpu/EmulationFallback.h"

#include <QTest>
#include <array>

using namespace kvmscope::cpu;
using Kind = FallbackAction::Kind;

class EmulationFallbackTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void int3IsATrapDeliveringBreakpoint() {
        const std::array<uint8_t, 3> bytes{0xCC, 0x90, 0x90};
        const FallbackAction action = decideFallback(bytes, 0x80050033, 0);
        QCOMPARE(action.kind, Kind::SkipAndRaise);
        QCOMPARE(action.length, uint8_t{1});
        QCOMPARE(action.vector, uint8_t{3});
    }

    void fwaitFollowsCr0AndTheFpuStatus() {
        const std::array<uint8_t, 1> fwait{0x9B};
        const uint64_t mp = kCr0MonitorCoprocessor;
        const uint64_t ts = kCr0TaskSwitched;
        QCOMPARE(decideFallback(fwait, mp, 0).kind, Kind::Skip);
        QCOMPARE(decideFallback(fwait, mp, 0).length, uint8_t{1});
        QCOMPARE(decideFallback(fwait, ts, 0).kind, Kind::Skip); // TS without MP: no #NM
        const FallbackAction unavailable = decideFallback(fwait, mp | ts, 0);
        QCOMPARE(unavailable.kind, Kind::Raise);
        QCOMPARE(unavailable.vector, uint8_t{7});
        const FallbackAction pending = decideFallback(fwait, mp, kFpuStatusErrorSummary);
        QCOMPARE(pending.kind, Kind::Raise);
        QCOMPARE(pending.vector, uint8_t{16});
        // #NM takes priority over a pending x87 error (SDM vol. 2B, WAIT/FWAIT exceptions).
        QCOMPARE(decideFallback(fwait, mp | ts, kFpuStatusErrorSummary).vector, uint8_t{7});
    }

    void otherInstructionsAreNotHandled() {
        const std::array<uint8_t, 3> clac{0x0F, 0x01, 0xCA};
        const std::array<uint8_t, 4> popcnt{0xF3, 0x48, 0x0F, 0xB8};
        const std::array<uint8_t, 2> intn{0xCD, 0x80};
        QCOMPARE(decideFallback(clac, 0, 0).kind, Kind::NotHandled);
        QCOMPARE(decideFallback(popcnt, 0, 0).kind, Kind::NotHandled);
        QCOMPARE(decideFallback(intn, 0, 0).kind, Kind::NotHandled);
        QCOMPARE(decideFallback({}, 0, 0).kind, Kind::NotHandled);
    }
};

QTEST_GUILESS_MAIN(EmulationFallbackTest)
#include "EmulationFallbackTest.moc"
