#pragma once
// The Debugger dock: the guest's code around RIP with a breakpoint gutter (click it to set or
// remove a breakpoint, double-click an instruction to follow its jump or call), a toolbar
// (Continue F5, Step into F11, Step over F10, Run to cursor Ctrl+F10, Add breakpoint…), the
// breakpoint list and the call stack beside it, and below the memory view (physical or virtual,
// "go to" by address, register or symbol, editable while paused) with the page walk of an
// address. Every part is handed the selected vcpu's snapshot of each stop (one read of the vcpu
// per stop, taken by the session: MachineSession::snapshotTaken) and reads guest memory relative
// to it; while the machine runs they keep what the last stop showed, and say so.
//
// The keys F5 and F10 are also the window's Run and Step: while the focus is inside this view its
// own actions take them (a ShortcutOverride), so F10 steps over a call here.
#include "debug/Debugger.h"

#include <QPointer>
#include <QWidget>
#include <optional>

class QAction;
class QComboBox;
class QLabel;
class QLineEdit;
class QTableView;
class QTabWidget;
class QToolBar;

namespace kvmscope::ui {

class BreakpointsModel;
class CallStackModel;
class CpuTablesModel;
class InterruptsModel;
class DisassemblyModel;
class MachineSession;
class MemoryModel;
class PageWalkModel;

class DebuggerView : public QWidget {
    Q_OBJECT
public:
    enum class Action {
        Continue,
        StepInto,
        StepOver,
        StepMany,
        RunToCursor,
        AddBreakpoint,
        RemoveBreakpoint,
        Follow,
        ShowPc
    };

    explicit DebuggerView(QWidget* parent = nullptr);
    ~DebuggerView() override;

    void setSession(MachineSession* session);
    MachineSession* session() const { return session_; }
    size_t currentVcpu() const;

    QAction* action(Action which) const;
    DisassemblyModel* disassembly() const { return disassembly_; }
    BreakpointsModel* breakpoints() const { return breakpoints_; }
    MemoryModel* memory() const { return memory_; }
    PageWalkModel* pageWalk() const { return pageWalk_; }
    CpuTablesModel* cpuTables() const { return cpuTables_; }
    InterruptsModel* interrupts() const { return interrupts_; }
    CallStackModel* callStack() const { return callStack_; }
    QTableView* disassemblyView() const { return disassemblyView_; }
    QTableView* memoryView() const { return memoryView_; }
    QLineEdit* memoryGoTo() const { return memoryGoTo_; }
    QComboBox* memorySpace() const { return memorySpace_; }
    QLineEdit* codeGoTo() const { return codeGoTo_; }
    QTabWidget* sideTabs() const { return sideTabs_; }
    QString statusText() const;
    std::optional<debug::DebugStop> lastStop() const { return lastStop_; }

    // Every model shows the selected vcpu's last snapshot again now, or says that it runs.
    void refreshAll();
    // The go-to fields: address, register or symbol expressions (GoToExpression.h). False with
    // the reason sent to errorOccurred when the text does not evaluate.
    bool goToCode(const QString& expression);
    bool goToMemory(const QString& expression);
    // The gutter's click on `row` of the disassembly.
    void toggleBreakpointAtRow(int row);
    // Steps `count` instructions on the selected vcpu without blocking the window: the vcpu
    // thread steps them and the stop arrives like any other (Step N…, which asks for the count).
    void stepMany(uint64_t count);

Q_SIGNALS:
    void errorOccurred(const QString& message);

protected:
    bool event(QEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;

private:
    // DebuggerViewPanes.cpp: the panes under the toolbar, each returned for the splitters.
    QWidget* createCodePane(); // the go-to field over the listing
    QWidget* createSidePane(); // breakpoints and call stack, tabbed
    QWidget* createMemoryPane();
    QWidget* createWalkPane();
    QWidget* createTablesPane();
    QWidget* createInterruptsPane();
    static QLabel* makeLabel(QWidget* parent); // selectable, wrapped text

    // DebuggerViewGoTo.cpp: the go-to fields.
    void showCodeTarget(); // Go to code's row, selected and in view once the listing has it
    std::optional<uint64_t> evaluate(const QString& expression);

    // DebuggerViewActions.cpp: the toolbar's actions and what they do.
    void createActions();
    void updateActions();
    void addBreakpoint();
    void runGuarded(const QString& what, const std::function<void()>& work);

    // DebuggerView.cpp: following the session's stops.
    // Points every model at `session`'s machine (nullptr: none, while a reset replaces it).
    void bindModels(MachineSession* session);
    // Hands the selected vcpu's snapshot and the guest's memory to the models that show a stop,
    // or tells them the vcpu runs.
    void showStop(MachineSession* session);
    void scheduleRefresh();
    void onDebugStop(const debug::DebugStop& stop);
    void updateStatus();

    QPointer<MachineSession> session_;
    std::optional<debug::DebugStop> lastStop_;
    bool refreshPending_ = false;

    BreakpointsModel* breakpoints_ = nullptr;
    DisassemblyModel* disassembly_ = nullptr;
    MemoryModel* memory_ = nullptr;
    PageWalkModel* pageWalk_ = nullptr;
    CallStackModel* callStack_ = nullptr;

    QToolBar* toolbar_ = nullptr;
    QComboBox* vcpuSelector_ = nullptr;
    QLabel* status_ = nullptr;
    QLineEdit* codeGoTo_ = nullptr;
    QTableView* disassemblyView_ = nullptr;
    // Go to code's address until its row is listed, selected and scrolled into view.
    std::optional<uint64_t> codeTarget_;
    QTabWidget* sideTabs_ = nullptr;
    QTableView* breakpointsView_ = nullptr;
    QTableView* callStackView_ = nullptr;
    QLabel* callStackReason_ = nullptr;
    QLineEdit* memoryGoTo_ = nullptr;
    QComboBox* memorySpace_ = nullptr;
    QLabel* memoryStatus_ = nullptr;
    QTableView* memoryView_ = nullptr;
    QLineEdit* walkAddress_ = nullptr;
    QTableView* walkView_ = nullptr;
    QLabel* walkSummary_ = nullptr;
    CpuTablesModel* cpuTables_ = nullptr;
    InterruptsModel* interrupts_ = nullptr;
    QLabel* interruptSentence_ = nullptr;
    QComboBox* tableSelector_ = nullptr;
    QTableView* tablesView_ = nullptr;
    QLabel* tablesSummary_ = nullptr;

    QAction* continueAction_ = nullptr;
    QAction* stepIntoAction_ = nullptr;
    QAction* stepOverAction_ = nullptr;
    QAction* stepManyAction_ = nullptr;
    int lastStepCount_ = 100;
    QAction* runToAction_ = nullptr;
    QAction* addBreakpointAction_ = nullptr;
    QAction* removeBreakpointAction_ = nullptr;
    QAction* followAction_ = nullptr;
    QAction* showPcAction_ = nullptr;
};

} // namespace kvmscope::ui
