// The models of a stop on made-up snapshots, without /dev/kvm: each is handed a VcpuSnapshot and
// the guest's memory as values (docs/design.md, "One snapshot per stop") and never asks a vcpu,
// so hand-written registers and a few bytes of code and stack are all they need. The registers'
// rows and their change highlighting across stops and edits, the listing around RIP and a
// followed call, the frame-pointer walk, the page walk against KVM's answer, the memory view's
// changed bytes, and the go-to fields' registers.
#include "debug/SymbolTable.h"
#include "debugger/CallStackModel.h"
#include "debugger/DebugTarget.h"
#include "debugger/DisassemblyModel.h"
#include "debugger/MemoryModel.h"
#include "debugger/PageWalkModel.h"
#include "inspect/GuestView.h"
#include "inspect/VcpuSnapshot.h"
#include "registers/RegistersModel.h"

#include <QAbstractItemModelTester>
#include <QBrush>
#include <QColor>
#include <QSignalSpy>
#include <QTest>
#include <vector>

using namespace kvmscope;
using namespace kvmscope::ui;

namespace {

constexpr uint64_t kCr0Pe = 1;              // CR0.PE: protected mode, paging off
constexpr uint32_t kLstar = 0xc0000082;     // IA32_LSTAR
constexpr uint64_t kCodeBase = 0x1000;      // where the code below sits (linear = physical)
constexpr uint64_t kCallAddress = 0x1008;   // `call leaf`
constexpr uint64_t kReturnAddress = 0x100d; // after it
constexpr uint64_t kLeafAddress = 0x1010;   // leaf: `ret`
constexpr uint64_t kOuterReturn = 0x2000;   // outer's caller, past the code
constexpr uint64_t kStackPointer = 0x7ff0;  // [esp] = kReturnAddress
constexpr uint64_t kFramePointer = 0x7ff8;  // [ebp] = 0 (the chain ends), [ebp+4] = kOuterReturn
constexpr size_t kRamSize = 0x8000;         // RAM: guest-physical 0 to 32 KiB

// 32-bit code (Intel syntax):
//   0x1000 outer: push ebp / mov ebp, esp / mov eax, 1 / call leaf / pop ebp / ret / nop
//   0x1010 leaf:  ret
const std::vector<uint8_t> kCode = {0x55, 0x89, 0xe5, 0xb8, 0x01, 0x00, 0x00, 0x00, 0xe8,
                                    0x03, 0x00, 0x00, 0x00, 0x5d, 0xc3, 0x90, 0xc3};

void store32(std::vector<uint8_t>& ram, uint64_t address, uint32_t value) {
    for (int byte = 0; byte < 4; ++byte)
        ram[address + static_cast<size_t>(byte)] = static_cast<uint8_t>(value >> (8 * byte));
}

// RAM with the code and a two-frame stack: leaf's return address on top, outer's frame above.
std::vector<uint8_t> guestRam() {
    std::vector<uint8_t> ram(kRamSize, 0);
    std::copy(kCode.begin(), kCode.end(), ram.begin() + static_cast<ptrdiff_t>(kCodeBase));
    store32(ram, kStackPointer, kReturnAddress);
    store32(ram, kFramePointer, 0);
    store32(ram, kFramePointer + 4, kOuterReturn);
    return ram;
}

debug::SymbolTable guestSymbols() {
    debug::SymbolTable symbols;
    symbols.add({kCodeBase, 0x10, "outer", true});
    symbols.add({kLeafAddress, 1, "leaf", true});
    return symbols;
}

// vcpu 0 of a flat 32-bit protected-mode guest (paging off) at `rip`, at stop `stop`.
inspect::VcpuSnapshot snapshotAt(uint64_t rip, uint64_t stop) {
    inspect::VcpuSnapshot snapshot;
    snapshot.vcpu = 0;
    snapshot.stop = stop;
    snapshot.runState = inspect::ParkedState::Paused;
    cpu::CpuState& state = snapshot.cpu;
    state.regs.rip = rip;
    state.regs.rax = 1;
    state.regs.rbx = 0x1234;
    state.regs.rsp = kStackPointer;
    state.regs.rbp = kFramePointer;
    state.regs.rflags = 0x2;
    state.sregs.cr0 = kCr0Pe;
    for (kvm_segment* segment : {&state.sregs.cs, &state.sregs.ds, &state.sregs.ss}) {
        segment->limit = 0xffffffff;
        segment->present = 1;
        segment->db = 1;
        segment->g = 1;
        segment->s = 1;
    }
    state.sregs.cs.type = 0xb;
    state.sregs.ds.type = state.sregs.ss.type = 0x3;
    state.debugRegs.dr7 = 0x400;
    state.fpu.fcw = 0x37f;
    state.fpu.mxcsr = 0x1f80;
    state.msrs = {{kLstar, 0, 0xffffffff81000000}};
    snapshot.pc = rip; // CS base 0
    snapshot.translations = {{rip, true, rip}};
    return snapshot;
}

uint64_t rawValue(const RegistersModel& model, const char* name) {
    return model.indexOfRegister(QString::fromLatin1(name))
        .data(RegistersModel::RawValueRole)
        .toULongLong();
}

bool highlighted(const RegistersModel& model, const char* name) {
    return model.indexOfRegister(QString::fromLatin1(name))
        .data(RegistersModel::ChangedRole)
        .toBool();
}

template <typename Model> void testModel(Model& model) {
    new QAbstractItemModelTester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest,
                                 &model);
}

} // namespace

class SnapshotModelsTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void registersShowTheSnapshotInGroups() {
        RegistersModel model;
        testModel(model);
        QCOMPARE(model.statusText(), QStringLiteral("no machine"));
        model.setSnapshot(snapshotAt(kCallAddress, 1));
        QStringList groups;
        for (int row = 0; row < model.rowCount(); ++row)
            groups << model.index(row, RegistersModel::NameColumn).data().toString();
        QCOMPARE(groups, QStringList({"General", "Instruction", "Segments", "Control",
                                      "Descriptor tables", "Debug", "FPU / SSE", "MSRs"}));
        QCOMPARE(model.rowCount(model.index(0, 0)), 16); // RAX ... R15
        QCOMPARE(rawValue(model, "RIP"), kCallAddress);
        QCOMPARE(model.indexOfRegister(QStringLiteral("RIP")).data().toString(),
                 QStringLiteral("0x0000000000001008"));
        QCOMPARE(rawValue(model, "RBX"), uint64_t(0x1234));
        QCOMPARE(rawValue(model, "DR7"), uint64_t(0x400));
        QCOMPARE(rawValue(model, "MXCSR"), uint64_t(0x1f80));
        const QModelIndex lstar = model.indexOfRegister(QStringLiteral("IA32_LSTAR"));
        QVERIFY(lstar.isValid());
        QCOMPARE(lstar.data(RegistersModel::RawValueRole).toULongLong(),
                 qulonglong(0xffffffff81000000));
        QVERIFY(model.indexOfRegister(QStringLiteral("CS"), RegistersModel::DecodedColumn)
                    .data()
                    .toString()
                    .startsWith(QStringLiteral("base=0x0 ")));
        QVERIFY(model.statusText().endsWith(QStringLiteral("paused")));
        // The first stop shown compares with nothing.
        QVERIFY(!highlighted(model, "RIP"));
        QVERIFY(!model.indexOfRegister(QStringLiteral("RIP")).data(Qt::BackgroundRole).isValid());
    }

    void aNewStopHighlightsWhatChangedAndAnEditKeepsTheComparison() {
        RegistersModel model;
        testModel(model);
        model.setSnapshot(snapshotAt(kCodeBase + 3, 1));
        inspect::VcpuSnapshot next = snapshotAt(kCallAddress, 2); // `mov eax, 1` ran
        next.cpu.regs.rax = 2;
        model.setSnapshot(next);
        QVERIFY(highlighted(model, "RIP"));
        QVERIFY(highlighted(model, "RAX"));
        QVERIFY(!highlighted(model, "RBX"));
        QVERIFY(!highlighted(model, "CR0"));
        QVERIFY(model.indexOfRegister(QStringLiteral("RAX")).data(Qt::BackgroundRole).isValid());

        // RBX edited at the same stop: the snapshot taken again keeps the stop's number, so the
        // comparison stays with the previous stop (RIP and RAX still marked, RBX now too).
        inspect::VcpuSnapshot edited = next;
        edited.cpu.regs.rbx = 0x99;
        model.setSnapshot(edited);
        QCOMPARE(rawValue(model, "RBX"), uint64_t(0x99));
        QVERIFY(highlighted(model, "RBX"));
        QVERIFY(highlighted(model, "RIP"));
        QVERIFY(highlighted(model, "RAX"));

        // The next stop compares with this one: nothing moved.
        inspect::VcpuSnapshot same = edited;
        same.stop = 3;
        model.setSnapshot(same);
        QVERIFY(!highlighted(model, "RIP"));
        QVERIFY(!highlighted(model, "RBX"));
    }

    void staleStateIsGreyAndNotEditable() {
        RegistersModel model;
        testModel(model);
        model.setSnapshot(snapshotAt(kCallAddress, 1));
        const QModelIndex rax = model.indexOfRegister(QStringLiteral("RAX"));
        QVERIFY(model.flags(rax) & Qt::ItemIsEditable);
        QVERIFY(!(model.flags(model.indexOfRegister(QStringLiteral("CR0"))) & Qt::ItemIsEditable));
        QSignalSpy status(&model, &RegistersModel::statusChanged);
        model.setStale(true);
        QCOMPARE(status.count(), 1);
        QVERIFY(model.statusText().contains(QStringLiteral("running — state at last stop")));
        QVERIFY(!(model.flags(rax) & Qt::ItemIsEditable));
        QCOMPARE(rax.data(Qt::ForegroundRole).value<QBrush>().color(), QColor(Qt::gray));
        QCOMPARE(rawValue(model, "RAX"), uint64_t(1)); // the last stop's value stays
        // Without a session an edit has nowhere to go.
        model.setStale(false);
        QVERIFY(!model.setData(rax, QStringLiteral("0x5")));
        QCOMPARE(rawValue(model, "RAX"), uint64_t(1));
    }

    void aStoppedMachineAndAnotherVcpusSnapshot() {
        RegistersModel model;
        inspect::VcpuSnapshot stopped = snapshotAt(kCallAddress, 1);
        stopped.runState = inspect::ParkedState::Stopped;
        model.setSnapshot(stopped);
        QVERIFY(model.statusText().endsWith(QStringLiteral("stopped")));
        inspect::VcpuSnapshot other = snapshotAt(kLeafAddress, 7);
        other.vcpu = 1;
        model.setSnapshot(other); // not the vcpu shown
        QCOMPARE(rawValue(model, "RIP"), kCallAddress);
    }

    void listingAroundRipAndAFollowedCall() {
        const debug::SymbolTable symbols = guestSymbols();
        const inspect::GuestView guest = inspect::GuestView::ofBytes(0, guestRam(), &symbols);
        DisassemblyModel model(nullptr);
        testModel(model);
        model.setSnapshot(snapshotAt(kCallAddress, 1), guest);
        QCOMPARE(model.mode(), debug::CodeMode::Protected32);
        QVERIFY(!model.stale());
        QCOMPARE(model.pc().value_or(0), kCallAddress);
        const int current = model.currentRow();
        QCOMPARE(current, 3); // push, mov, mov before it
        QCOMPARE(model.index(0, DisassemblyModel::AddressColumn).data().toString(),
                 QStringLiteral("00001000"));
        QCOMPARE(model.index(0, DisassemblyModel::SymbolColumn).data().toString(),
                 QStringLiteral("outer"));
        QVERIFY(model.index(current, DisassemblyModel::InstructionColumn)
                    .data()
                    .toString()
                    .startsWith(QStringLiteral("call")));
        QCOMPARE(model.index(current, DisassemblyModel::BytesColumn).data().toString(),
                 QStringLiteral("e8 03 00 00 00"));
        QVERIFY(model.index(current, 0).data(DisassemblyModel::CurrentRole).toBool());
        QCOMPARE(model.index(current, 0).data(DisassemblyModel::TargetRole).value<quint64>(),
                 kLeafAddress);
        QVERIFY(model.statusText().contains(QStringLiteral("around RIP")));

        // Following the call lists from its target, read from the same stop's memory.
        QVERIFY(model.follow(current));
        QVERIFY(!model.followingPc());
        QCOMPARE(model.instructions().front().address, kLeafAddress);
        QCOMPARE(model.index(0, DisassemblyModel::SymbolColumn).data().toString(),
                 QStringLiteral("leaf"));
        QCOMPARE(model.currentRow(), -1); // RIP is not in view
        model.followPc();
        QCOMPARE(model.currentRow(), 3);

        // Running: the listing stays, marked as the last stop's.
        model.setStale(0);
        QVERIFY(model.stale());
        QCOMPARE(model.currentRow(), 3);
        QVERIFY(model.statusText().contains(QStringLiteral("the listing of the last stop")));
        model.clear();
        QCOMPARE(model.rowCount(), 0);
        QCOMPARE(model.statusText(), QStringLiteral("no machine"));
    }

    void callStackWalksTheFramePointers() {
        const debug::SymbolTable symbols = guestSymbols();
        const inspect::GuestView guest = inspect::GuestView::ofBytes(0, guestRam(), &symbols);
        CallStackModel model;
        testModel(model);
        // Stopped at leaf's `ret`: its return address is on top of the stack, and EBP is still
        // outer's frame, whose caller's frame pointer is 0.
        model.setSnapshot(snapshotAt(kLeafAddress, 1), guest);
        const auto& frames = model.frames();
        QCOMPARE(frames.size(), size_t(3));
        QCOMPARE(frames[0].pc, kLeafAddress);
        QCOMPARE(frames[1].pc, kReturnAddress);
        QCOMPARE(frames[2].pc, kOuterReturn);
        QCOMPARE(frames[2].framePointer, kFramePointer);
        QCOMPARE(model.index(0, CallStackModel::FunctionColumn).data().toString(),
                 QStringLiteral("leaf"));
        QCOMPARE(model.index(1, CallStackModel::FunctionColumn).data().toString(),
                 QStringLiteral("outer+0xd"));
        QCOMPARE(model.index(2, CallStackModel::FunctionColumn).data().toString(),
                 QStringLiteral("?"));
        QCOMPARE(model.stopReason(), QStringLiteral("end of the chain (frame pointer 0)"));
        model.setStale();
        QCOMPARE(model.stopReason(), QStringLiteral("running: the stack of the last stop"));
        QCOMPARE(model.frames().size(), size_t(3));
    }

    void pageWalkComparesWithTheSnapshotsKvmTranslation() {
        const inspect::GuestView guest = inspect::GuestView::ofBytes(0, guestRam());
        PageWalkModel model;
        testModel(model);
        inspect::VcpuSnapshot snapshot = snapshotAt(kCallAddress, 1);
        snapshot.translations.push_back({0x1234, true, 0x1234});
        snapshot.translations.push_back({0x2000, true, 0x5000}); // KVM disagreeing, made up
        model.setAddress(0x1234);
        model.setSnapshot(snapshot, guest);
        QVERIFY(model.translation());
        QCOMPARE(model.translation()->mode, debug::PagingMode::None);
        QCOMPARE(model.translation()->physical, uint64_t(0x1234));
        QVERIFY(model.kvmTranslation());
        QVERIFY2(model.agrees(), qPrintable(model.summary()));
        QCOMPARE(model.rowCount(), 2); // no paging: kvmscope's result and KVM_TRANSLATE's
        QCOMPARE(model.index(1, PageWalkModel::MeaningColumn).data().toString(),
                 QStringLiteral("agrees with the walk"));

        model.setAddress(0x2000);
        QVERIFY(!model.agrees());
        QVERIFY(model.summary().contains(QStringLiteral("DISAGREES")));
        QCOMPARE(model.index(1, PageWalkModel::StepColumn).data(Qt::ForegroundRole).value<QColor>(),
                 QColor(Qt::red));

        // An address the snapshot was not taken with, and no session to ask: the walk alone.
        model.setAddress(0x3000);
        QVERIFY(!model.kvmTranslation());
        QCOMPARE(model.rowCount(), 1);
        QVERIFY(model.translation()->valid);
    }

    void memoryMarksTheBytesAStopChanged() {
        std::vector<uint8_t> ram = guestRam();
        MemoryModel model;
        testModel(model);
        model.goTo(kCodeBase);
        model.setSnapshot(snapshotAt(kCallAddress, 1), inspect::GuestView::ofBytes(0, ram));
        QCOMPARE(model.byteAt(kCodeBase).value_or(0), uint8_t(0x55));
        QVERIFY(!model.stale());
        QVERIFY(!model.indexOf(kCodeBase).data(MemoryModel::ChangedRole).toBool());

        ram[kCodeBase] = 0x90;
        model.setSnapshot(snapshotAt(kCallAddress, 2), inspect::GuestView::ofBytes(0, ram));
        QCOMPARE(model.byteAt(kCodeBase).value_or(0), uint8_t(0x90));
        QVERIFY(model.indexOf(kCodeBase).data(MemoryModel::ChangedRole).toBool());
        QVERIFY(!model.indexOf(kCodeBase + 1).data(MemoryModel::ChangedRole).toBool());

        // The same stop again (a register edited): still compared with the previous stop.
        model.setSnapshot(snapshotAt(kCallAddress, 2), inspect::GuestView::ofBytes(0, ram));
        QVERIFY(model.indexOf(kCodeBase).data(MemoryModel::ChangedRole).toBool());

        // Past the end of RAM: unreadable.
        model.goTo(kRamSize - 16);
        QVERIFY(model.byteAt(kRamSize - 1));
        QVERIFY(!model.byteAt(kRamSize));
        QCOMPARE(model.indexOf(kRamSize).data().toString(), QStringLiteral("??"));

        // Virtual: through the snapshot's paging registers (off here: the same bytes).
        model.setSpace(MemoryModel::Space::Virtual);
        model.goTo(kCodeBase);
        QCOMPARE(model.byteAt(kCodeBase).value_or(0), uint8_t(0x90));
        model.setStale(0);
        QVERIFY(model.stale());
        QVERIFY(model.statusText().contains(QStringLiteral("running")));
    }

    void goToFieldsReadTheSnapshotsRegisters() {
        inspect::VcpuSnapshot snapshot = snapshotAt(kCallAddress, 1);
        snapshot.cpu.regs.rax = 0x1'0000'0002;
        const RegisterLookup lookup = registerLookup(snapshot);
        QCOMPARE(lookup(QStringLiteral("rax")).value_or(0), uint64_t(0x1'0000'0002));
        QCOMPARE(lookup(QStringLiteral("eax")).value_or(0), uint64_t(2));
        QCOMPARE(lookup(QStringLiteral("pc")).value_or(0), kCallAddress);
        QCOMPARE(lookup(QStringLiteral("cr0")).value_or(0), kCr0Pe);
        QVERIFY(!lookup(QStringLiteral("xyz")));
        QVERIFY(!registerLookup(std::nullopt)(QStringLiteral("rax")));
        QCOMPARE(evaluateGoTo(QStringLiteral("esp+4"), lookup, nullptr), kStackPointer + 4);
    }
};

QTEST_MAIN(SnapshotModelsTest)
#include "SnapshotModelsTest.moc"
