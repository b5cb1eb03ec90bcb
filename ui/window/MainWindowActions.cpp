// MainWindow: its actions, menus and toolbar, and the commands they give the current machine.
#include "devices/AddKernelDeviceDialog.h"
#include "devices/Device.h"
#include "registers/RegistersView.h"
#include "session/MachineListModel.h"
#include "session/MachineSession.h"
#include "window/MainWindow.h"

#include <QAction>
#include <QIcon>
#include <QImage>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QSettings>
#include <QStyle>
#include <QToolBar>
#include <algorithm>

namespace kvmscope::ui {
namespace {

const QString kStartPausedKey = QStringLiteral("startPaused");

// Standard icons in a disabled state barely differ from enabled ones in some styles: the
// disabled pixmaps are made plainly faint (a third of the opacity, in grey).
QIcon withFadedDisabledMode(const QIcon& icon) {
    QIcon faded = icon;
    for (const int extent : {16, 22, 24, 32}) {
        QImage image = icon.pixmap(extent, extent).toImage().convertToFormat(QImage::Format_ARGB32);
        for (int y = 0; y < image.height(); ++y) {
            auto* line = reinterpret_cast<QRgb*>(image.scanLine(y));
            for (int x = 0; x < image.width(); ++x) {
                const int grey = qGray(line[x]);
                line[x] = qRgba(grey, grey, grey, qAlpha(line[x]) / 3);
            }
        }
        faded.addPixmap(QPixmap::fromImage(image), QIcon::Disabled);
    }
    return faded;
}

} // namespace

void MainWindow::createActions() {
    auto make = [this](const QString& text, QStyle::StandardPixmap icon,
                       const QKeySequence& shortcut, const QString& name) {
        auto* action = new QAction(withFadedDisabledMode(style()->standardIcon(icon)), text, this);
        action->setShortcut(shortcut);
        action->setObjectName(name);
        return action;
    };
    newAction_ =
        make(tr("&New…"), QStyle::SP_FileIcon, QKeySequence::New, QStringLiteral("actionNew"));
    openAction_ = make(tr("&Open image…"), QStyle::SP_DialogOpenButton, QKeySequence::Open,
                       QStringLiteral("actionOpen"));
    runAction_ = make(tr("&Run"), QStyle::SP_MediaPlay, QKeySequence(Qt::Key_F5),
                      QStringLiteral("actionRun"));
    pauseAction_ = make(tr("&Pause"), QStyle::SP_MediaPause, QKeySequence(Qt::Key_F6),
                        QStringLiteral("actionPause"));
    stepAction_ = make(tr("&Step instruction"), QStyle::SP_MediaSkipForward,
                       QKeySequence(Qt::Key_F10), QStringLiteral("actionStep"));
    resetAction_ = make(tr("R&eset"), QStyle::SP_BrowserReload, QKeySequence(tr("Ctrl+R")),
                        QStringLiteral("actionReset"));
    powerOffAction_ = make(tr("Power &off"), QStyle::SP_MediaStop, QKeySequence(tr("Ctrl+Shift+P")),
                           QStringLiteral("actionPowerOff"));
    addDeviceAction_ = make(tr("Add &kernel device…"), QStyle::SP_DriveNetIcon,
                            QKeySequence(tr("Ctrl+K")), QStringLiteral("actionAddKernelDevice"));
    removeAction_ = make(tr("&Close machine"), QStyle::SP_DialogCloseButton,
                         QKeySequence(tr("Ctrl+W")), QStringLiteral("actionRemove"));
    // QKeySequence::Quit is empty on platforms without a desktop theme (offscreen, bare X).
    quitAction_ = make(tr("&Quit"), QStyle::SP_DialogCloseButton, QKeySequence(tr("Ctrl+Q")),
                       QStringLiteral("actionQuit"));
    aboutAction_ = make(tr("&About kvmscope"), QStyle::SP_MessageBoxInformation,
                        QKeySequence(Qt::Key_F1), QStringLiteral("actionAbout"));
    // Every tool tip names its shortcut, so the toolbar teaches them.
    auto explain = [](QAction* action, const QString& what) {
        const QString keys = action->shortcut().toString(QKeySequence::NativeText);
        action->setToolTip(keys.isEmpty() ? what : QStringLiteral("%1 (%2)").arg(what, keys));
        action->setStatusTip(what);
    };
    explain(newAction_, tr("Create a machine from an image"));
    explain(openAction_, tr("Open an image with the default configuration"));
    explain(runAction_, tr("Run the machine"));
    explain(pauseAction_, tr("Pause every vcpu"));
    explain(stepAction_, tr("Execute one instruction on the selected vcpu"));
    explain(resetAction_, tr("Reset the machine: boot its image again on fresh RAM and devices"));
    explain(powerOffAction_, tr("Power the machine off"));
    explain(addDeviceAction_, tr("Create a KVM_CREATE_DEVICE device on this machine's VM"));
    explain(removeAction_, tr("Close the current machine"));
    explain(quitAction_, tr("Quit kvmscope"));
    explain(aboutAction_, tr("About kvmscope"));

    connect(newAction_, &QAction::triggered, this, &MainWindow::newMachine);
    connect(openAction_, &QAction::triggered, this, &MainWindow::openImage);
    connect(runAction_, &QAction::triggered, this, [this] {
        if (current_)
            current_->run();
        updateActions();
    });
    connect(pauseAction_, &QAction::triggered, this, [this] {
        if (current_)
            current_->pause();
    });
    connect(stepAction_, &QAction::triggered, this, &MainWindow::stepCurrentVcpu);
    connect(resetAction_, &QAction::triggered, this, [this] {
        if (!current_)
            return;
        try {
            current_->reset(true);
        } catch (const std::exception& error) {
            QMessageBox::warning(this, tr("Reset %1").arg(current_->name()),
                                 QString::fromUtf8(error.what()));
        }
        updateActions();
    });
    connect(powerOffAction_, &QAction::triggered, this, [this] {
        if (current_)
            current_->stop();
    });
    connect(addDeviceAction_, &QAction::triggered, this, &MainWindow::addKernelDevice);
    connect(removeAction_, &QAction::triggered, this, &MainWindow::removeCurrent);
    connect(quitAction_, &QAction::triggered, this, &QWidget::close);
    connect(aboutAction_, &QAction::triggered, this, &MainWindow::about);
}

void MainWindow::createMenus() {
    QMenu* machine = menuBar()->addMenu(tr("&Machine"));
    machine->addAction(newAction_);
    machine->addAction(openAction_);
    QMenu* demoMenu = machine->addMenu(tr("&Demos"));
    demoMenu->setObjectName(QStringLiteral("demosMenu"));
    for (const DemoImage& demo : demos_) {
        QAction* action = demoMenu->addAction(demo.name);
        action->setToolTip(demo.description);
        action->setStatusTip(demo.description);
        connect(action, &QAction::triggered, this, [this, demo] {
            QString error;
            if (!launchMachine(demoConfig(demo), startPausedDefault(), &error))
                QMessageBox::warning(this, tr("Demo %1").arg(demo.name), error);
        });
    }
    demoMenu->setEnabled(!demos_.empty());
    recentMenu_ = machine->addMenu(tr("&Recent machines"));
    recentMenu_->setObjectName(QStringLiteral("recentMenu"));
    updateRecentMenu();
    machine->addSeparator();
    machine->addAction(runAction_);
    machine->addAction(pauseAction_);
    machine->addAction(stepAction_);
    machine->addAction(resetAction_);
    machine->addAction(powerOffAction_);
    machine->addSeparator();
    createSnapshotActions();
    machine->addAction(saveStateAction_);
    machine->addAction(loadStateAction_);
    machine->addSeparator();
    machine->addAction(addDeviceAction_);
    gdbAction_ = machine->addAction(tr("&gdb server"));
    gdbAction_->setObjectName(QStringLiteral("gdbServerAction"));
    gdbAction_->setCheckable(true);
    gdbAction_->setToolTip(tr("Serve the current machine to gdb (target remote :1234)"));
    connect(gdbAction_, &QAction::toggled, this, [this](bool on) {
        QString error;
        if (!setGdbServerEnabled(on, &error) && on)
            showMessage(error);
    });
    startPausedAction_ = machine->addAction(tr("Start new machines &paused"));
    startPausedAction_->setObjectName(QStringLiteral("startPausedAction"));
    startPausedAction_->setCheckable(true);
    startPausedAction_->setToolTip(
        tr("New machines (Open image, Recent, Demos; New… has its own box) wait before their "
           "first instruction until Run (F5); otherwise they run at once"));
    startPausedAction_->setChecked(QSettings().value(kStartPausedKey, false).toBool());
    connect(startPausedAction_, &QAction::toggled, this,
            [](bool paused) { QSettings().setValue(kStartPausedKey, paused); });
    machine->addSeparator();
    machine->addAction(removeAction_);
    machine->addAction(quitAction_);

    QToolBar* toolbar = addToolBar(tr("Machine"));
    toolbar->setObjectName(QStringLiteral("machineToolBar"));
    toolbar->addAction(newAction_);
    toolbar->addAction(openAction_);
    toolbar->addSeparator();
    toolbar->addAction(runAction_);
    toolbar->addAction(pauseAction_);
    toolbar->addAction(stepAction_);
    toolbar->addAction(resetAction_);
    toolbar->addAction(powerOffAction_);

    // Filled after the docks exist (their toggle actions).
    menuBar()->addMenu(tr("&View"))->setObjectName(QStringLiteral("viewMenu"));
    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(aboutAction_);
}

QAction* MainWindow::action(Action which) const {
    switch (which) {
    case Action::NewMachine:
        return newAction_;
    case Action::OpenImage:
        return openAction_;
    case Action::Run:
        return runAction_;
    case Action::Pause:
        return pauseAction_;
    case Action::Step:
        return stepAction_;
    case Action::Reset:
        return resetAction_;
    case Action::PowerOff:
        return powerOffAction_;
    case Action::AddKernelDevice:
        return addDeviceAction_;
    case Action::Remove:
        return removeAction_;
    case Action::Quit:
        return quitAction_;
    case Action::About:
        return aboutAction_;
    }
    return nullptr;
}

void MainWindow::updateActions() {
    MachineSession* session = current_;
    runAction_->setEnabled(session && session->canRun());
    // A machine that is off cannot run on; say what brings it back.
    const bool off = session && session->state() == MachineSession::State::Stopped;
    const QString runKeys = runAction_->shortcut().toString(QKeySequence::NativeText);
    runAction_->setToolTip(
        off ? tr("The machine is off: Reset (%1) boots it again")
                  .arg(resetAction_->shortcut().toString(QKeySequence::NativeText))
            : tr("Run the machine (%1)").arg(runKeys));
    pauseAction_->setEnabled(session && session->canPause());
    stepAction_->setEnabled(session && session->canStep());
    resetAction_->setEnabled(session != nullptr);
    if (saveStateAction_)
        saveStateAction_->setEnabled(session && session->canStop());
    powerOffAction_->setEnabled(session && session->canStop());
    addDeviceAction_->setEnabled(session != nullptr);
    removeAction_->setEnabled(session != nullptr);
}

void MainWindow::stepCurrentVcpu() {
    if (current_)
        current_->step(registersView_->currentVcpu());
}

void MainWindow::removeCurrent() {
    if (!current_)
        return;
    const int row = machines_->rowOf(current_);
    setCurrentSession(nullptr);
    machines_->removeSession(row);
    if (machines_->count() > 0)
        setCurrentSession(machines_->session(std::min(row, machines_->count() - 1)));
}

void MainWindow::addKernelDevice() {
    if (!current_)
        return;
    AddKernelDeviceDialog dialog(*current_, this);
    if (dialog.exec() == QDialog::Accepted && dialog.addedDevice())
        showMessage(
            tr("%1: added %2")
                .arg(current_->name(), QString::fromStdString(dialog.addedDevice()->name())));
}

} // namespace kvmscope::ui
