// MainWindow: opening machines (New…, Open image…, the start-paused rule), recent images, drops.
#include "common/Error.h"
#include "session/MachineListModel.h"
#include "session/MachineSession.h"
#include "window/MainWindow.h"
#include "window/NewMachineDialog.h"

#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QListView>
#include <QMenu>
#include <QMessageBox>
#include <QMimeData>
#include <QSettings>
#include <QUrl>
#include <algorithm>

namespace kvmscope::ui {
namespace {

const QString kRecentKey = QStringLiteral("recentImages");

} // namespace

MachineSession* MainWindow::openMachine(const MachineConfig& config, QString* error,
                                        std::shared_ptr<const snapshot::MachineImage> restore) {
    kvm::System* kvmSystem = system(error);
    if (!kvmSystem)
        return nullptr;
    std::unique_ptr<MachineSession> session;
    try {
        session = std::make_unique<MachineSession>(config, *kvmSystem, nullptr, std::move(restore));
    } catch (const Error& failure) {
        if (error)
            *error = QString::fromUtf8(failure.what());
        return nullptr;
    }
    MachineSession* raw = session.get();
    connect(raw, &MachineSession::stateChanged, this, [this, raw] {
        if (raw == current_) {
            updateActions();
            updateStatus();
        }
        if (raw->state() == MachineSession::State::Stopped) {
            showMessage(tr("%1: %2").arg(raw->name(), raw->statusText()));
            reportCrash(*raw);
        }
    });
    // A reset replaces the session's machine: the views that hold its devices and vcpus let go
    // of the old one first. The exits and the console follow the session across boots.
    connect(raw, &MachineSession::machineAboutToBeReplaced, this, [this, raw] {
        if (raw == current_)
            bindMachineViews(nullptr);
    });
    connect(raw, &MachineSession::machineReplaced, this, [this, raw] {
        if (raw == current_) {
            bindMachineViews(raw);
            updateActions();
            updateStatus();
        }
        showMessage(tr("%1: reset (boot %2)").arg(raw->name()).arg(raw->resetCount() + 1));
    });
    connect(raw, &MachineSession::rebootFailed, this, [this, raw](const QString& reason) {
        showMessage(
            tr("%1: the guest reset, but booting again failed: %2").arg(raw->name(), reason));
    });
    rememberImage(QString::fromStdString(config.boot.imagePath));
    const int row = machines_->addSession(std::move(session));
    machineList_->setCurrentIndex(machines_->index(row));
    setCurrentSession(raw);
    return raw;
}

MachineConfig MainWindow::demoConfig(const DemoImage& demo) {
    MachineConfig config;
    config.name = demo.name.toStdString();
    config.boot.imagePath = demo.path.toStdString();
    config.boot.format = demo.format;
    config.cpus = config.boot.cpus = std::max(1u, demo.cpus);
    return config;
}

MachineSession* MainWindow::openDemo(const DemoImage& demo, QString* error) {
    return openMachine(demoConfig(demo), error);
}

MachineConfig MainWindow::imageConfig(const QString& path) {
    MachineConfig config;
    config.name = QFileInfo(path).fileName().toStdString();
    config.boot.imagePath = path.toStdString();
    return config;
}

MachineSession* MainWindow::openImagePath(const QString& path, QString* error) {
    return openMachine(imageConfig(path), error);
}

MachineSession* MainWindow::launchMachine(const MachineConfig& config, bool startPaused,
                                          QString* error,
                                          std::shared_ptr<const snapshot::MachineImage> restore) {
    MachineSession* session = openMachine(config, error, std::move(restore));
    if (!session)
        return nullptr;
    if (startPaused)
        showMessage(tr("%1: created paused before its first instruction; Run (F5) starts it")
                        .arg(session->name()));
    else
        session->run();
    return session;
}

MachineSession* MainWindow::launchImagePath(const QString& path, QString* error) {
    return launchMachine(imageConfig(path), startPausedDefault(), error);
}

bool MainWindow::startPausedDefault() const {
    return startPausedAction_ && startPausedAction_->isChecked();
}

void MainWindow::setStartPausedDefault(bool paused) {
    startPausedAction_->setChecked(paused);
}

void MainWindow::newMachine() {
    showNewMachineDialog();
}

NewMachineDialog* MainWindow::showNewMachineDialog(const QString& imagePath) {
    if (!newMachineDialog_) {
        // Window-modal and not exec()'d: the event loop (and running guests) carry on.
        newMachineDialog_ = new NewMachineDialog(
            [this](const MachineConfig& config) {
                QString error;
                return launchMachine(config, newMachineDialog_->startPaused(), &error) ? QString()
                                                                                       : error;
            },
            this);
        newMachineDialog_->setAttribute(Qt::WA_DeleteOnClose);
        newMachineDialog_->setStartPaused(startPausedDefault());
    }
    if (!imagePath.isEmpty())
        newMachineDialog_->setImagePath(imagePath);
    newMachineDialog_->open();
    newMachineDialog_->raise();
    return newMachineDialog_;
}

NewMachineDialog* MainWindow::newMachineDialog() const {
    return newMachineDialog_;
}

void MainWindow::openImage() {
    const QString path = QFileDialog::getOpenFileName(this, tr("Open guest image"));
    if (path.isEmpty())
        return;
    QString error;
    if (!launchImagePath(path, &error))
        QMessageBox::warning(this, tr("Open image"), error);
}

QStringList MainWindow::recentImages() const {
    return QSettings().value(kRecentKey).toStringList();
}

void MainWindow::rememberImage(const QString& path) {
    if (path.isEmpty())
        return;
    const QString absolute = QFileInfo(path).absoluteFilePath();
    QStringList recent = recentImages();
    recent.removeAll(absolute);
    recent.prepend(absolute);
    while (recent.size() > kRecentCapacity)
        recent.removeLast();
    QSettings().setValue(kRecentKey, recent);
    updateRecentMenu();
}

void MainWindow::updateRecentMenu() {
    recentMenu_->clear();
    const QStringList recent = recentImages();
    for (const QString& path : recent) {
        QAction* action = recentMenu_->addAction(QFileInfo(path).fileName());
        action->setToolTip(path);
        action->setStatusTip(path);
        action->setData(path);
        connect(action, &QAction::triggered, this, [this, path] {
            QString error;
            if (!launchImagePath(path, &error))
                QMessageBox::warning(this, tr("Recent machine"), error);
        });
    }
    if (recent.isEmpty())
        recentMenu_->addAction(tr("(none yet)"))->setEnabled(false);
}

QString MainWindow::droppedImagePath(const QMimeData* mime) {
    if (!mime || !mime->hasUrls())
        return {};
    for (const QUrl& url : mime->urls())
        if (url.isLocalFile() && QFileInfo(url.toLocalFile()).isFile())
            return url.toLocalFile();
    return {};
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
    if (!droppedImagePath(event->mimeData()).isEmpty())
        event->acceptProposedAction();
}

void MainWindow::dragMoveEvent(QDragMoveEvent* event) {
    if (!droppedImagePath(event->mimeData()).isEmpty())
        event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
    const QString path = droppedImagePath(event->mimeData());
    if (path.isEmpty())
        return;
    event->acceptProposedAction();
    showNewMachineDialog(path);
}

} // namespace kvmscope::ui
