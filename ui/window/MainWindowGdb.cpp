// MainWindow: Machine > gdb server, the current machine's gdb stub.
#include "session/MachineSession.h"
#include "window/MainWindow.h"

#include <QAction>

namespace kvmscope::ui {

bool MainWindow::setGdbServerEnabled(bool enabled, QString* error) {
    if (enabled) {
        // gdb's customary port, or the next free one when another stub holds it.
        constexpr uint16_t kFirstPort = 1234;
        constexpr uint16_t kPortsTried = 16;
        return serveGdb("127.0.0.1", kFirstPort, kPortsTried, error);
    }
    if (current_ && current_->gdbServing()) {
        current_->stopGdb();
        showMessage(tr("gdb: stopped"));
    }
    showGdbServing();
    return true;
}

bool MainWindow::startGdbServer(const std::string& host, uint16_t port, QString* error) {
    return serveGdb(host, port, 1, error);
}

bool MainWindow::serveGdb(const std::string& host, uint16_t firstPort, uint16_t ports,
                          QString* error) {
    QString failure;
    const bool served = current_ ? current_->serveGdb({host, firstPort}, ports, &failure)
                                 : (failure = tr("gdb: no machine to serve"), false);
    showGdbServing();
    if (!served) {
        if (error)
            *error = failure;
        return false;
    }
    showMessage(tr("gdb: listening on %1").arg(current_->gdbAddress()));
    return true;
}

void MainWindow::showGdbServing() {
    if (!gdbAction_)
        return;
    const QSignalBlocker blocker(gdbAction_);
    gdbAction_->setChecked(current_ && current_->gdbServing());
}

uint16_t MainWindow::gdbServerPort() const {
    return current_ ? current_->gdbPort() : 0;
}

} // namespace kvmscope::ui
