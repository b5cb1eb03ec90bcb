// The Debugger dock against the debug-target guest (resources/guests/debug-target) on /dev/kvm:
// the listing at a breakpoint (symbol, current row, lengths as the disassembler decodes them),
// a breakpoint set by clicking the gutter and reached by Continue, a disabled breakpoint that no
// longer stops, memory at a symbol edited while paused and seen by the guest, the call stack
// through frame pointers, the page walk against KVM_TRANSLATE, an exit breakpoint from the
// dialog, the view's F10/F11 inside the main window, and --symbols.
#include "debugger/DebuggerView.h"

#include "DebuggerViewFixture.h"
#include "common/Error.h"
#include "debug/Debugger.h"
#include "debugger/AddBreakpointDialog.h"
#include "debugger/BreakpointsModel.h"
#include "debugger/CallStackModel.h"
#include "debugger/DisassemblyModel.h"
#include "debugger/InterruptsModel.h"
#include "debugger/MemoryModel.h"
#include "debugger/PageWalkModel.h"
#include "machine/Machine.h"
#include "registers/RegistersModel.h"
#include "registers/RegistersView.h"
#include "session/MachineSession.h"
#include "window/MainWindow.h"

#include <QAbstractItemModelTester>
#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QDockWidget>
#include <QLineEdit>
#include <QRegularExpression>
#include <QSettings>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableView>
#include <QTemporaryDir>
#include <QTimer>

using namespace kvmscope;
using namespace kvmscope::ui;
using namespace kvmscope::testing;

namespace {

// The guest's result line: add_step(total, n) for n = 1..8 adds 36 to total and to the counter.
constexpr uint64_t kStepTotal = 36;

} // namespace

class DebuggerViewTest : public QObject, private DebuggerViewFixture {
    Q_OBJECT
private:
    // Continues (or starts) the machine and waits until the view shows the next stop at `pc`.
    bool continueToStop(uint64_t pc, debug::DebugStopReason reason) {
        QSignalSpy stops(session_.get(), &MachineSession::debugStopped);
        view_->action(DebuggerView::Action::Continue)->trigger();
        if (!stops.wait(kGuestTimeoutMs) && stops.isEmpty())
            return false;
        return waitForView(pc, reason);
    }

    bool waitForView(uint64_t pc, debug::DebugStopReason reason) {
        auto shown = [&] {
            const auto stop = view_->lastStop();
            return stop && stop->reason == reason && stop->pc == pc &&
                   session_->state() == MachineSession::State::Paused &&
                   !view_->disassembly()->stale() && view_->disassembly()->pc() == pc;
        };
        if (QTest::qWaitFor(shown, kGuestTimeoutMs))
            return true;
        const auto stop = view_->lastStop();
        qWarning("no stop shown at %#llx: last stop %s", static_cast<unsigned long long>(pc),
                 stop ? stop->description.c_str() : "none");
        return false;
    }

private Q_SLOTS:
    void initTestCase() {
        KVMSCOPE_GUI_REQUIRE_KVM();
        useCleanSettings("DebuggerViewTest");
    }

    void init() { openSession(true); }

    void cleanup() { closeSession(); }

    void listingShowsStopSymbolAndDecoderLengths() {
        // The image's own .symtab is loaded when no --symbols is given.
        QVERIFY(!debugger().guest().symbols().empty());
        const uint64_t addStep = symbol("add_step");
        view_->breakpoints()->addBreakpoint(addStep);
        QVERIFY(continueToStop(addStep, debug::DebugStopReason::Breakpoint));

        DisassemblyModel& listing = *view_->disassembly();
        const int current = listing.currentRow();
        QVERIFY(current > 0); // rows before RIP too
        QCOMPARE(listing.index(current, DisassemblyModel::SymbolColumn).data().toString(),
                 QStringLiteral("add_step"));
        QVERIFY(listing.index(current, DisassemblyModel::AddressColumn)
                    .data(DisassemblyModel::CurrentRole)
                    .toBool());
        QVERIFY(view_->statusText().contains(QLatin1String("add_step")));
        QCOMPARE(listing.mode(), debug::CodeMode::Long64);

        // Every row from RIP on: the length Zydis decodes from the guest's bytes (read here
        // straight from guest RAM: the low 2 MiB are identity-mapped), rows back to back, and
        // as many bytes shown as the instruction has.
        const auto sregs = session_->machine().vcpu(0).call([](kvm::Vcpu& v) { return v.sregs(); });
        const debug::Disassembler decoder = debug::Disassembler::forState(sregs);
        const auto& rows = listing.instructions();
        for (size_t row = static_cast<size_t>(current); row + 1 < rows.size(); ++row) {
            std::array<uint8_t, 15> bytes{};
            session_->machine().memory().read(rows[row].address, bytes.data(), bytes.size());
            const auto decoded = decoder.decode(rows[row].address, bytes);
            QVERIFY(decoded);
            QCOMPARE(rows[row].length, decoded->length);
            QCOMPARE(rows[row + 1].address, rows[row].address + rows[row].length);
            const QString shown =
                listing.index(static_cast<int>(row), DisassemblyModel::BytesColumn)
                    .data()
                    .toString();
            QCOMPARE(shown.split(QLatin1Char(' ')).size(), int(decoded->length));
        }
        // Rows before RIP end exactly at it.
        QCOMPARE(rows[static_cast<size_t>(current) - 1].address +
                     rows[static_cast<size_t>(current) - 1].length,
                 addStep);
    }

    void gutterClickSetsBreakpointThatContinueReaches() {
        const uint64_t addStep = symbol("add_step");
        const uint64_t frameLeaf = symbol("frame_leaf");
        view_->breakpoints()->addBreakpoint(addStep);
        QVERIFY(continueToStop(addStep, debug::DebugStopReason::Breakpoint));

        // Go to frame_leaf and click the gutter of its first row.
        QVERIFY(view_->goToCode(QStringLiteral("frame_leaf")));
        DisassemblyModel& listing = *view_->disassembly();
        QCOMPARE(listing.index(0, DisassemblyModel::AddressColumn)
                     .data(DisassemblyModel::AddressRole)
                     .value<quint64>(),
                 frameLeaf);
        QTableView* table = view_->disassemblyView();
        const QRect gutter = table->visualRect(listing.index(0, DisassemblyModel::GutterColumn));
        QVERIFY(gutter.isValid());
        QTest::mouseClick(table->viewport(), Qt::LeftButton, {}, gutter.center());
        const auto armed = debugger().breakpoints();
        QVERIFY(std::any_of(armed.begin(), armed.end(),
                            [&](const debug::Breakpoint& b) { return b.address == frameLeaf; }));
        QCOMPARE(listing.index(0, DisassemblyModel::GutterColumn).data().toString(),
                 QStringLiteral("●"));
        // The list tells which mechanism the host allowed.
        BreakpointsModel& list = *view_->breakpoints();
        QCOMPARE(list.rowCount(), 2);
        const QString mechanism =
            list.index(1, BreakpointsModel::MechanismColumn).data().toString();
        QVERIFY2(mechanism.contains(QLatin1String("int3")) ||
                     mechanism.contains(QLatin1String("debug register")) ||
                     mechanism.contains(QLatin1String("stepping")),
                 qPrintable(mechanism));

        // Disable add_step's breakpoint (the engine's flag): Continue passes its 7 other calls
        // and stops at frame_leaf, where the current row moves.
        QVERIFY(list.setData(list.index(0, BreakpointsModel::EnabledColumn), Qt::Unchecked,
                             Qt::CheckStateRole));
        QVERIFY(!debugger().breakpoints().front().enabled);
        QCOMPARE(list.rowCount(), 2); // still listed, unchecked
        QVERIFY(continueToStop(frameLeaf, debug::DebugStopReason::Breakpoint));
        QVERIFY(listing.followingPc());
        const int current = listing.currentRow();
        QVERIFY(current >= 0);
        QCOMPARE(listing.instructions()[static_cast<size_t>(current)].address, frameLeaf);
        QCOMPARE(listing.index(current, DisassemblyModel::SymbolColumn).data().toString(),
                 QStringLiteral("frame_leaf"));
        QCOMPARE(list.index(1, BreakpointsModel::HitsColumn).data().toUInt(), 1u);
        QCOMPARE(list.index(0, BreakpointsModel::HitsColumn).data().toUInt(), 1u);

        // Enabling it again arms it in the engine (the same id); clicking the gutter at
        // frame_leaf again removes that one.
        QVERIFY(list.setData(list.index(0, BreakpointsModel::EnabledColumn), Qt::Checked,
                             Qt::CheckStateRole));
        QCOMPARE(debugger().breakpoints().size(), size_t(2));
        QVERIFY(debugger().breakpoints().front().enabled);
        view_->toggleBreakpointAtRow(current);
        const auto left = debugger().breakpoints();
        QCOMPARE(left.size(), size_t(1));
        QCOMPARE(left.front().address, addStep);
    }

    void memoryShowsSymbolAndEditReachesGuest() {
        const uint64_t addStep = symbol("add_step");
        const uint64_t counter = symbol("watched_counter");
        const int id = view_->breakpoints()->addBreakpoint(addStep);
        QVERIFY(continueToStop(addStep, debug::DebugStopReason::Breakpoint)); // first call

        MemoryModel& memory = *view_->memory();
        view_->memorySpace()->setCurrentIndex(1); // virtual, through the guest's own tables
        QCOMPARE(memory.space(), MemoryModel::Space::Virtual);
        QVERIFY(view_->goToMemory(QStringLiteral("watched_counter")));
        QCOMPARE(memory.baseAddress(), counter & ~uint64_t(15));
        // The bytes the model shows are guest RAM's (identity-mapped there).
        for (uint64_t offset = 0; offset < 8; ++offset) {
            const auto shown = memory.byteAt(counter + offset);
            QVERIFY(shown);
            QCOMPARE(*shown, session_->machine().memory().readValue<uint8_t>(counter + offset));
        }
        QCOMPARE(*memory.byteAt(counter), uint8_t(0)); // before the first add
        QCOMPARE(memory.indexOf(counter).data().toString(), QStringLiteral("00"));

        // Edit while paused: 100 in the counter's low byte, typed into the view's own editor as a
        // person does. Committing it must not pull the editor from under the view (the read-back
        // updates the cells in place rather than resetting the model).
        QTest::failOnWarning(QRegularExpression(QStringLiteral("closeEditor")));
        QVERIFY(memory.flags(memory.indexOf(counter)) & Qt::ItemIsEditable);
        QTableView* memoryView = view_->memoryView();
        const QModelIndex cell = memoryView->model() == &memory && memoryView->isVisible()
                                     ? memory.indexOf(counter)
                                     : QModelIndex();
        if (cell.isValid()) {
            memoryView->setCurrentIndex(cell);
            memoryView->edit(cell);
            auto* editor = memoryView->findChild<QLineEdit*>();
            QVERIFY(editor);
            editor->setText(QStringLiteral("64"));
            QTest::keyClick(editor, Qt::Key_Return);
            QApplication::processEvents();
        } else {
            QVERIFY(memory.setData(memory.indexOf(counter), QStringLiteral("64"), Qt::EditRole));
        }
        QCOMPARE(*memory.byteAt(counter), uint8_t(0x64));
        QCOMPARE(session_->machine().memory().readValue<uint64_t>(counter), uint64_t(100));
        // ... also seen in the physical view.
        view_->memorySpace()->setCurrentIndex(0);
        QVERIFY(view_->goToMemory(QStringLiteral("0x%1").arg(counter, 0, 16)));
        QCOMPARE(*memory.byteAt(counter), uint8_t(0x64));

        // The guest adds 1..8 on top and prints what it sees.
        QVERIFY(debugger().removeBreakpoint(id));
        view_->action(DebuggerView::Action::Continue)->trigger();
        const QByteArray expected =
            QStringLiteral("total %1, counter %2").arg(kStepTotal).arg(kStepTotal + 100).toLatin1();
        QTRY_VERIFY_WITH_TIMEOUT(session_->serialTranscript().contains(expected), kGuestTimeoutMs);
        // Running (or powered off) now: editing is refused.
        QTRY_VERIFY(!(memory.flags(memory.indexOf(counter)) & Qt::ItemIsEditable));
    }

    // Go to code: the row of the address is selected and in view, wherever the listing was
    // scrolled; Add breakpoint opens with the focus in its Address field, so a typed symbol
    // replaces the selected row's address.
    void goToCodeShowsItsRowAndAddBreakpointFocusesTheAddress() {
        const uint64_t addStep = symbol("add_step");
        view_->breakpoints()->addBreakpoint(addStep);
        QVERIFY(continueToStop(addStep, debug::DebugStopReason::Breakpoint));
        QTableView* table = view_->disassemblyView();
        table->scrollToBottom();
        QVERIFY(view_->goToCode(QStringLiteral("add_step")));
        DisassemblyModel& listing = *view_->disassembly();
        QTRY_VERIFY(listing.rowOf(addStep) >= 0);
        const QModelIndex row =
            listing.index(listing.rowOf(addStep), DisassemblyModel::AddressColumn);
        QTRY_COMPARE(table->currentIndex().row(), row.row());
        QVERIFY(table->viewport()->rect().intersects(table->visualRect(row)));

        bool checked = false;
        QTimer::singleShot(0, this, [&] {
            auto* dialog = qobject_cast<AddBreakpointDialog*>(QApplication::activeModalWidget());
            if (dialog) {
                checked = QApplication::focusWidget() == dialog->addressEdit() ||
                          dialog->focusWidget() == dialog->addressEdit();
                QCOMPARE(dialog->addressEdit()->selectedText(), dialog->addressEdit()->text());
                dialog->reject();
            }
        });
        view_->action(DebuggerView::Action::AddBreakpoint)->trigger();
        QVERIFY(checked);
    }

    void callStackFollowsFramePointers() {
        const uint64_t frameLeaf = symbol("frame_leaf");
        view_->breakpoints()->addBreakpoint(frameLeaf);
        QVERIFY(continueToStop(frameLeaf, debug::DebugStopReason::Breakpoint));
        CallStackModel& stack = *view_->callStack();
        QVERIFY2(stack.frames().size() >= 4, qPrintable(stack.stopReason()));
        auto function = [&](int frame) {
            return stack.index(frame, CallStackModel::FunctionColumn).data().toString();
        };
        QCOMPARE(function(0), QStringLiteral("frame_leaf"));
        QVERIFY2(function(1).startsWith(QLatin1String("frame_middle+")), qPrintable(function(1)));
        QVERIFY2(function(2).startsWith(QLatin1String("frame_outer+")), qPrintable(function(2)));
        QVERIFY2(function(3).startsWith(QLatin1String("kernel_main+")), qPrintable(function(3)));
        QVERIFY(!stack.stopReason().isEmpty());
        // Frame 1's return address is right after frame_middle's call.
        const auto calls = debugger().guest().disassemble(0, symbol("frame_middle"), 8);
        const auto call = std::find_if(calls.begin(), calls.end(),
                                       [](const debug::Instruction& i) { return i.isCall; });
        QVERIFY(call != calls.end());
        QCOMPARE(stack.frames()[1].pc, call->address + call->length);
    }

    void pageWalkAgreesWithKvmTranslate() {
        const uint64_t addStep = symbol("add_step");
        view_->breakpoints()->addBreakpoint(addStep);
        QVERIFY(continueToStop(addStep, debug::DebugStopReason::Breakpoint));
        PageWalkModel& walk = *view_->pageWalk();
        // watched_counter: in the guest's first 2 MiB, mapped by 4 KiB pages.
        QVERIFY(view_->goToMemory(QStringLiteral("watched_counter")));
        QVERIFY(walk.translation());
        QCOMPARE(walk.translation()->mode, debug::PagingMode::Level4);
        QCOMPARE(walk.translation()->steps.size(), size_t(4));
        QCOMPARE(walk.translation()->pageSize, uint64_t(0x1000));
        QCOMPARE(walk.translation()->physical, symbol("watched_counter"));
        QVERIFY2(walk.agrees(), qPrintable(walk.summary()));
        QCOMPARE(walk.rowCount(), 4 + 2); // the steps, kvmscope's result, KVM_TRANSLATE's
        QCOMPARE(walk.index(0, PageWalkModel::StepColumn).data().toString(),
                 QStringLiteral("PML4"));
        // The alias GiB at 1 GiB (large pages) and an unmapped address at 3 GiB.
        walk.setAddress(0x40000000 + 0x1234);
        QVERIFY2(walk.agrees(), qPrintable(walk.summary()));
        QVERIFY(walk.translation()->pageSize >= 0x200000);
        QCOMPARE(walk.translation()->physical, uint64_t(0x1234));
        walk.setAddress(0xC0000000);
        QVERIFY(!walk.translation()->valid);
        QVERIFY2(walk.agrees(), qPrintable(walk.summary()));
    }

    void exitBreakpointFromDialogStopsAtTheUart() {
        AddBreakpointDialog dialog(*view_->breakpoints(), {}, &debugger().guest().symbols());
        dialog.setKind(AddBreakpointDialog::Kind::PortWrite);
        dialog.addressEdit()->setText(QStringLiteral("0x3f8"));
        dialog.valueEdit()->setText(QStringLiteral("0x64")); // 'd', the first character
        dialog.accept();
        QVERIFY2(dialog.errorText().isEmpty(), qPrintable(dialog.errorText()));
        QCOMPARE(dialog.result(), int(QDialog::Accepted));
        BreakpointsModel& list = *view_->breakpoints();
        QCOMPARE(list.rowCount(), 1);
        QVERIFY(list.entries().front().exit);
        QCOMPARE(list.index(0, BreakpointsModel::WhereColumn).data().toString(),
                 QStringLiteral("0x3f8 = 0x64"));

        QSignalSpy stops(session_.get(), &MachineSession::debugStopped);
        view_->action(DebuggerView::Action::Continue)->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(view_->lastStop().has_value(), kGuestTimeoutMs);
        QCOMPARE(view_->lastStop()->reason, debug::DebugStopReason::ExitBreakpoint);
        QCOMPARE(view_->lastStop()->dataAddress, uint64_t(0x3f8));
        QCOMPARE(view_->lastStop()->value, uint64_t('d'));
        QTRY_COMPARE(list.index(0, BreakpointsModel::HitsColumn).data().toUInt(), 1u);

        // The Interrupts tab reads the stop: one row per I/O APIC pin, COM1's line on IRQ 4.
        InterruptsModel& interrupts = *view_->interrupts();
        QTRY_COMPARE(interrupts.rowCount(), 24);
        QVERIFY(!interrupts.stale());
        const QString com1 =
            interrupts.index(4, InterruptsModel::StopsColumn).data(Qt::ToolTipRole).toString();
        QVERIFY2(com1.startsWith(QLatin1String("IRQ 4 (COM1)")), qPrintable(com1));
        QCOMPARE(interrupts.index(4, InterruptsModel::DevicesColumn).data().toString(),
                 QStringLiteral("COM1"));

        // A bad port range is refused in the dialog, which stays open.
        AddBreakpointDialog bad(*view_->breakpoints(), {}, &debugger().guest().symbols());
        bad.setKind(AddBreakpointDialog::Kind::PortRead);
        bad.addressEdit()->setText(QStringLiteral("0xffff"));
        bad.lengthBox()->setValue(2);
        bad.accept();
        QVERIFY(bad.errorText().contains(QLatin1String("0xffff")));
        QCOMPARE(list.rowCount(), 1);
    }

    void exitReasonBreakpointHoldsATripleFault() {
        // The triple-fault guest ends in KVM_EXIT_SHUTDOWN: with an exit-reason breakpoint on it
        // the machine pauses there instead of stopping.
        cleanup();
        KVMSCOPE_GUI_GUEST_CONFIG(config, "triple-fault");
        session_ = std::make_unique<MachineSession>(config, *system_);
        view_ = std::make_unique<DebuggerView>();
        view_->setSession(session_.get());
        AddBreakpointDialog dialog(*view_->breakpoints(), {}, nullptr);
        dialog.setKind(AddBreakpointDialog::Kind::ExitReason);
        const int shutdown = dialog.reasonBox()->findData(uint(KVM_EXIT_SHUTDOWN));
        QVERIFY(shutdown >= 0);
        dialog.reasonBox()->setCurrentIndex(shutdown);
        dialog.accept();
        QVERIFY2(dialog.errorText().isEmpty(), qPrintable(dialog.errorText()));
        QCOMPARE(view_->breakpoints()->index(0, BreakpointsModel::WhereColumn).data().toString(),
                 QStringLiteral("KVM_EXIT_SHUTDOWN"));
        view_->action(DebuggerView::Action::Continue)->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(view_->lastStop().has_value(), kGuestTimeoutMs);
        QCOMPARE(view_->lastStop()->reason, debug::DebugStopReason::ExitBreakpoint);
        QTRY_COMPARE_WITH_TIMEOUT(session_->state(), MachineSession::State::Paused,
                                  kGuestTimeoutMs);
        QVERIFY(!session_->stopReason());
        // Paused, so the views read the vcpu again (no "running" listing).
        QTRY_VERIFY(!view_->disassembly()->stale());
        QCOMPARE(view_->breakpoints()->index(0, BreakpointsModel::HitsColumn).data().toUInt(), 1u);
    }

    void viewKeysWinOverWindowShortcutsAndRegistersFollow() {
        // In the window, F10 is also Machine ▸ Step and F5 Machine ▸ Run: with the focus in the
        // debugger, its own actions take them.
        cleanup();
        MainWindow window;
        window.resize(1400, 900);
        window.show();
        KVMSCOPE_GUI_GUEST_CONFIG(config, "debug-target");
        QString error;
        MachineSession* session = window.openMachine(config, &error);
        QVERIFY2(session, qPrintable(error));
        QDockWidget* dock = window.findChild<QDockWidget*>(QStringLiteral("debuggerDock"));
        QVERIFY(dock);
        dock->show();
        dock->raise();
        DebuggerView* view = window.debuggerView();
        QCOMPARE(view->session(), session);
        debug::Debugger& engine = session->machine().debugger();
        const uint64_t addStep = *engine.guest().symbols().addressOf("add_step");
        view->breakpoints()->addBreakpoint(addStep);
        view->disassemblyView()->setFocus();
        QTRY_VERIFY(view->disassemblyView()->hasFocus());
        QTest::keyClick(view->disassemblyView(), Qt::Key_F5);
        QTRY_VERIFY_WITH_TIMEOUT(view->lastStop() && view->lastStop()->pc == addStep,
                                 kGuestTimeoutMs);
        QTRY_COMPARE(session->state(), MachineSession::State::Paused);

        // add_step's first instruction is no call: F10 (step over) is one step, recorded by the
        // debugger as a Step stop at the next instruction.
        const auto first = engine.guest().disassemble(0, addStep, 1);
        QTRY_VERIFY(view->action(DebuggerView::Action::StepOver)->isEnabled());
        QTest::keyClick(view->disassemblyView(), Qt::Key_F10);
        QTRY_VERIFY_WITH_TIMEOUT(view->lastStop() &&
                                     view->lastStop()->reason == debug::DebugStopReason::Step,
                                 kGuestTimeoutMs);
        QCOMPARE(view->lastStop()->pc, addStep + first.front().length);
        // F11 steps once more.
        QTest::keyClick(view->disassemblyView(), Qt::Key_F11);
        QTRY_VERIFY_WITH_TIMEOUT(view->lastStop()->pc != addStep + first.front().length,
                                 kGuestTimeoutMs);
        // The register view follows the stops.
        RegistersModel* registers = window.registersView()->model();
        QTRY_COMPARE_WITH_TIMEOUT(registers->indexOfRegister(QStringLiteral("RIP"))
                                      .data(RegistersModel::RawValueRole)
                                      .toULongLong(),
                                  view->lastStop()->pc, kGuestTimeoutMs);
        QTRY_COMPARE(view->disassembly()->pc().value_or(0), view->lastStop()->pc);
    }

    void stepManyRunsOnTheVcpuThreadAndStopsAtABreakpoint() {
        const uint64_t addStep = symbol("add_step");
        view_->breakpoints()->addBreakpoint(addStep);
        QVERIFY(continueToStop(addStep, debug::DebugStopReason::Breakpoint));
        // 3 steps off the breakpoint (the first lifts it), reported as one stop.
        QVERIFY(view_->action(DebuggerView::Action::StepMany)->isEnabled());
        view_->stepMany(3);
        QVERIFY(QTest::qWaitFor(
            [&] {
                const auto stop = view_->lastStop();
                return stop && stop->reason == debug::DebugStopReason::Step &&
                       session_->state() == MachineSession::State::Paused;
            },
            kGuestTimeoutMs));
        QVERIFY2(view_->lastStop()->description.find("stepped 3 instructions") != std::string::npos,
                 view_->lastStop()->description.c_str());
        const uint64_t afterThree = view_->lastStop()->pc;
        QVERIFY(afterThree != addStep);
        QTRY_COMPARE(view_->disassembly()->pc().value_or(0), afterThree);
        // Many more than add_step's loop iteration takes: the breakpoint at the next call ends
        // them, shown as the breakpoint's stop.
        view_->stepMany(1'000'000);
        QVERIFY(waitForView(addStep, debug::DebugStopReason::Breakpoint));
        QCOMPARE(debugger().breakpoints().front().hits, uint64_t{2});
    }

    void resetRebindsTheViewToTheNewMachine() {
        const uint64_t addStep = symbol("add_step");
        view_->breakpoints()->addBreakpoint(addStep);
        QVERIFY(continueToStop(addStep, debug::DebugStopReason::Breakpoint));
        session_->reset(false); // a new machine: its debugger has no breakpoints
        QCOMPARE(view_->breakpoints()->rowCount(), 0);
        QVERIFY(!view_->lastStop());
        QVERIFY(debugger().breakpoints().empty());
        // The view works on the new machine: a breakpoint there stops it.
        const uint64_t frameLeaf = symbol("frame_leaf");
        view_->breakpoints()->addBreakpoint(frameLeaf);
        QVERIFY(continueToStop(frameLeaf, debug::DebugStopReason::Breakpoint));
        QCOMPARE(view_->breakpoints()->index(0, BreakpointsModel::HitsColumn).data().toUInt(), 1u);
    }

    void symbolsOptionLoadsSystemMapAndNamesABadFile() {
        cleanup();
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString mapPath = dir.filePath(QStringLiteral("System.map"));
        {
            QFile map(mapPath);
            QVERIFY(map.open(QIODevice::WriteOnly));
            map.write("0000000000100000 T guest_text_start\n0000000000100800 t later_code\n");
        }
        KVMSCOPE_GUI_GUEST_CONFIG(config, "debug-target");
        config.symbolsPath = mapPath.toStdString();
        session_ = std::make_unique<MachineSession>(config, *system_);
        const debug::SymbolTable& table = session_->machine().debugger().guest().symbols();
        QCOMPARE(table.addressOf("guest_text_start").value_or(0), uint64_t(0x100000));
        QVERIFY(!table.addressOf("add_step")); // the map replaces the image's own .symtab
        QCOMPARE(table.describe(0x100804), std::string("later_code+0x4"));

        const QString badPath = dir.filePath(QStringLiteral("not-symbols"));
        {
            QFile bad(badPath);
            QVERIFY(bad.open(QIODevice::WriteOnly));
            bad.write("this is no System.map\n");
        }
        config.symbolsPath = badPath.toStdString();
        try {
            MachineSession broken(config, *system_);
            QFAIL("a bad --symbols file was accepted");
        } catch (const LoadError& error) {
            QVERIFY2(QString::fromUtf8(error.what()).contains(badPath), error.what());
        }
    }
};

QTEST_MAIN(DebuggerViewTest)
#include "DebuggerViewTest.moc"
