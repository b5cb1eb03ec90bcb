#pragma once
// Shared by the Debugger dock's GUI tests: a MachineSession on the debug-target guest
// (resources/guests/debug-target) with a DebuggerView bound to it, every model of the view under
// QAbstractItemModelTester. A test class inherits it; /dev/kvm is opened at the first
// openSession(), after initTestCase() has checked it (KVMSCOPE_GUI_REQUIRE_KVM).
#include "GuiTestSupport.h"
#include "debug/Debugger.h"
#include "debugger/BreakpointsModel.h"
#include "debugger/CallStackModel.h"
#include "debugger/DebuggerView.h"
#include "debugger/DisassemblyModel.h"
#include "debugger/InterruptsModel.h"
#include "debugger/MemoryModel.h"
#include "debugger/PageWalkModel.h"
#include "machine/Machine.h"
#include "session/MachineSession.h"

#include <QAbstractItemModelTester>
#include <QCoreApplication>
#include <QSettings>
#include <memory>

namespace kvmscope::testing {

class DebuggerViewFixture {
protected:
    // A clean settings store under the test's own name (the view remembers its layout there).
    static void useCleanSettings(const char* testName) {
        QCoreApplication::setOrganizationName(QStringLiteral("kvmscope-tests"));
        QCoreApplication::setApplicationName(QString::fromLatin1(testName));
        QSettings().clear();
    }

    void openSession(bool showView) {
        if (!system_)
            system_ = std::make_unique<kvm::System>();
        KVMSCOPE_GUI_GUEST_CONFIG(config, "debug-target");
        session_ = std::make_unique<ui::MachineSession>(config, *system_);
        view_ = std::make_unique<ui::DebuggerView>();
        for (QAbstractItemModel* model : std::initializer_list<QAbstractItemModel*>{
                 view_->disassembly(), view_->breakpoints(), view_->memory(), view_->pageWalk(),
                 view_->callStack(), view_->interrupts()})
            new QAbstractItemModelTester(
                model, QAbstractItemModelTester::FailureReportingMode::QtTest, model);
        view_->resize(1200, 800);
        view_->setSession(session_.get());
        if (showView)
            view_->show();
    }
    void closeSession() {
        view_.reset();
        session_.reset();
    }

    debug::Debugger& debugger() { return session_->machine().debugger(); }
    uint64_t symbol(const char* name) {
        const auto address = debugger().guest().symbols().addressOf(name);
        if (!address)
            qFatal("debug-target has no symbol %s", name);
        return *address;
    }

    std::unique_ptr<kvm::System> system_;
    std::unique_ptr<ui::MachineSession> session_;
    std::unique_ptr<ui::DebuggerView> view_;
};

} // namespace kvmscope::testing
