// MainWindow: Machine → Save state… and Load state… (docs/snapshots.md). A save pauses the
// machine (every vcpu parks, so its state is read on its own thread), writes the snapshot beside
// its target and renames it when complete, and lets the machine run on if it was running. A load
// checks the whole file before anything is created and opens its machine through the same path
// as `kvmscope --restore`, paused or running as the start-paused setting says.
#include "machine/Machine.h"
#include "session/MachineSession.h"
#include "snapshot/MachineSnapshot.h"
#include "window/MainWindow.h"

#include <QAction>
#include <QFileDialog>
#include <QFileInfo>
#include <QMessageBox>

namespace kvmscope::ui {
namespace {

constexpr int kPauseTimeoutMs = 5000;
const char* const kSnapshotFilter =
    QT_TRANSLATE_NOOP("MainWindow", "kvmscope snapshots (*.kvmsnap);;All files (*)");

} // namespace

void MainWindow::createSnapshotActions() {
    saveStateAction_ = new QAction(tr("&Save state…"), this);
    saveStateAction_->setObjectName(QStringLiteral("actionSaveState"));
    saveStateAction_->setShortcut(QKeySequence(tr("Ctrl+Shift+S")));
    saveStateAction_->setToolTip(
        tr("Save the whole machine to a file, to continue it later "
           "exactly there (%1)")
            .arg(saveStateAction_->shortcut().toString(QKeySequence::NativeText)));
    loadStateAction_ = new QAction(tr("&Load state…"), this);
    loadStateAction_->setObjectName(QStringLiteral("actionLoadState"));
    loadStateAction_->setShortcut(QKeySequence(tr("Ctrl+Shift+O")));
    loadStateAction_->setToolTip(
        tr("Open a saved machine where it was saved (%1)")
            .arg(loadStateAction_->shortcut().toString(QKeySequence::NativeText)));
    connect(saveStateAction_, &QAction::triggered, this, [this] {
        const QString path = QFileDialog::getSaveFileName(
            this, tr("Save state of %1").arg(current_ ? current_->name() : QString()),
            current_ ? current_->name() + QStringLiteral(".kvmsnap") : QString(),
            tr(kSnapshotFilter));
        if (!path.isEmpty())
            saveStateTo(path);
    });
    connect(loadStateAction_, &QAction::triggered, this, [this] {
        const QString path =
            QFileDialog::getOpenFileName(this, tr("Load state"), QString(), tr(kSnapshotFilter));
        if (!path.isEmpty())
            loadStateFrom(path);
    });
}

bool MainWindow::saveStateTo(const QString& path) {
    MachineSession* session = current_;
    if (!session)
        return false;
    const QString title = tr("Save state of %1").arg(session->name());
    if (session->state() == MachineSession::State::Stopped) {
        QMessageBox::warning(this, title,
                             tr("%1 has stopped for good; only a machine that can go on is saved")
                                 .arg(session->name()));
        return false;
    }
    const bool wasRunning = session->canPause();
    if (wasRunning)
        session->pause();
    if (!session->machine().waitUntilPaused(kPauseTimeoutMs)) {
        QMessageBox::warning(this, title,
                             tr("%1 did not pause within %2 s; nothing was saved")
                                 .arg(session->name())
                                 .arg(kPauseTimeoutMs / 1000));
        return false;
    }
    bool saved = false;
    try {
        const snapshot::SaveStats stats =
            snapshot::saveMachine(session->machine(), path.toStdString());
        showMessage(tr("Saved %1 to %2: %3 pages of RAM stored, %4 zero pages left out, %5 "
                       "devices")
                        .arg(session->name(), QFileInfo(path).fileName())
                        .arg(stats.ramPagesStored)
                        .arg(stats.ramPagesZero)
                        .arg(stats.devices));
        saved = true;
    } catch (const std::exception& error) {
        QMessageBox::warning(this, title, QString::fromUtf8(error.what()));
    }
    if (wasRunning)
        session->run();
    updateActions();
    return saved;
}

MachineSession* MainWindow::loadStateFrom(const QString& path) {
    std::shared_ptr<const snapshot::MachineImage> image;
    try {
        image = std::make_shared<const snapshot::MachineImage>(path.toStdString());
    } catch (const std::exception& error) {
        QMessageBox::warning(this, tr("Load state"), QString::fromUtf8(error.what()));
        return nullptr;
    }
    QString error;
    MachineSession* session = launchMachine(image->config(), startPausedDefault(), &error, image);
    if (!session)
        QMessageBox::warning(this, tr("Load state"), error);
    return session;
}

} // namespace kvmscope::ui
