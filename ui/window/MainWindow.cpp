#include "window/MainWindow.h"

#include "boot/BootPlan.h"
#include "common/Error.h"
#include "console/SerialConsoleView.h"
#include "debugger/DebuggerView.h"
#include "devices/AddKernelDeviceDialog.h"
#include "devices/Device.h"
#include "devices/DevicesView.h"
#include "display/DisplayView.h"
#include "exits/ExitsView.h"
#include "host/HostInfoModel.h"
#include "host/HostView.h"
#include "log/Log.h"
#include "machine/Machine.h"
#include "machine/MachineHost.h"
#include "registers/RegistersView.h"
#include "session/MachineListModel.h"
#include "session/MachineSession.h"
#include "trace/ExitRecord.h"
#include "window/NewMachineDialog.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QIcon>
#include <QImage>
#include <QLabel>
#include <QListView>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QSettings>
#include <QStatusBar>
#include <QStyle>
#include <QTimer>
#include <QToolBar>
#include <QUrl>
#include <QVBoxLayout>
#include <algorithm>

namespace kvmscope::ui {
namespace {

constexpr int kMessageTimeoutMs = 10000;
const QString kStartPausedKey = QStringLiteral("startPaused");

// "multiboot", or "linux (detected)" when the format was left to detection.
QString formatText(MachineSession& session) {
    const boot::ImageFormat asked = session.config().boot.format;
    const boot::BootPlan* plan = session.machine().bootPlan();
    if (asked != boot::ImageFormat::Auto || !plan)
        return QString::fromLatin1(boot::toString(asked));
    return QObject::tr("%1 (detected)").arg(QString::fromLatin1(boot::toString(plan->format)));
}

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

QString formatUptime(qint64 ms) {
    const qint64 seconds = ms / 1000;
    return QStringLiteral("%1:%2:%3.%4")
        .arg(seconds / 3600)
        .arg((seconds / 60) % 60, 2, 10, QLatin1Char('0'))
        .arg(seconds % 60, 2, 10, QLatin1Char('0'))
        .arg((ms % 1000) / 100);
}

} // namespace

MainWindow::MainWindow(std::vector<DemoImage> demos, QWidget* parent)
    : QMainWindow(parent), demos_(std::move(demos)) {
    setWindowTitle(tr("kvmscope"));
    setObjectName(QStringLiteral("kvmscopeMainWindow"));
    machines_ = new MachineListModel(this);

    // No central widget: the docks share the whole window (docs/gui.md, "Layout"). The machine
    // summary lives under the machine list.
    overview_ = new QLabel(this);
    overview_->setObjectName(QStringLiteral("overview"));
    overview_->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    overview_->setWordWrap(true);
    overview_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    overview_->setMargin(4);
    setDockNestingEnabled(true);
    setAcceptDrops(true);

    createActions();
    createMenus();
    createDocks();
    createStatusBar();
    restoreLayout();

    statusTimer_.setInterval(kStatusIntervalMs);
    connect(&statusTimer_, &QTimer::timeout, this, &MainWindow::updateStatus);
    statusTimer_.start();
    setCurrentSession(nullptr);
}

MainWindow::~MainWindow() {
    // Views first (they watch sessions), then the sessions, then the KVM system fd.
    setCurrentSession(nullptr);
    delete machines_;
    machines_ = nullptr;
}

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

void MainWindow::createDocks() {
    auto dock = [this](const QString& title, const QString& name, QWidget* widget,
                       Qt::DockWidgetArea area) {
        auto* dockWidget = new QDockWidget(title, this);
        dockWidget->setObjectName(name);
        dockWidget->setWidget(widget);
        addDockWidget(area, dockWidget);
        if (auto* viewMenu = menuBar()->findChild<QMenu*>(QStringLiteral("viewMenu")))
            viewMenu->addAction(dockWidget->toggleViewAction());
        return dockWidget;
    };

    machineList_ = new QListView(this);
    machineList_->setObjectName(QStringLiteral("machineList"));
    machineList_->setModel(machines_);
    machineList_->setSelectionMode(QAbstractItemView::SingleSelection);
    connect(machineList_->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            [this](const QModelIndex& current) { onCurrentRowChanged(current.row()); });
    auto* machinesPane = new QWidget(this);
    auto* machinesLayout = new QVBoxLayout(machinesPane);
    machinesLayout->setContentsMargins(0, 0, 0, 0);
    machinesLayout->addWidget(machineList_, 1);
    machinesLayout->addWidget(overview_);
    dock(tr("Machines"), QStringLiteral("machinesDock"), machinesPane, Qt::LeftDockWidgetArea);

    registersView_ = new RegistersView(this);
    connect(registersView_, &RegistersView::errorOccurred, this, &MainWindow::showMessage);
    dock(tr("Registers"), QStringLiteral("registersDock"), registersView_, Qt::RightDockWidgetArea);

    devicesView_ = new DevicesView(this);
    connect(devicesView_, &DevicesView::attributeError, this, [this](const QString& message) {
        showMessage(message);
        QMessageBox::warning(this, tr("Device attribute"), message);
    });
    dock(tr("Devices"), QStringLiteral("devicesDock"), devicesView_, Qt::LeftDockWidgetArea);

    serialConsole_ = new SerialConsoleView(this);
    dock(tr("Serial console (COM1)"), QStringLiteral("serialDock"), serialConsole_,
         Qt::BottomDockWidgetArea);

    exitsView_ = new ExitsView(this);
    connect(exitsView_, &ExitsView::errorOccurred, this, &MainWindow::showMessage);
    connect(exitsView_, &ExitsView::exported, this,
            [this](const QString& path) { showMessage(tr("Exits exported to %1").arg(path)); });
    dock(tr("Exits"), QStringLiteral("exitsDock"), exitsView_, Qt::BottomDockWidgetArea);
    // The Debugger: code, breakpoints, stack and memory, a tab beside the console and the exits.
    debuggerView_ = new DebuggerView(this);
    connect(debuggerView_, &DebuggerView::errorOccurred, this, &MainWindow::showMessage);
    dock(tr("Debugger"), QStringLiteral("debuggerDock"), debuggerView_, Qt::BottomDockWidgetArea);

    // The guest's screen, keyboard and mouse, beside the Registers (applyDefaultLayout).
    displayView_ = new DisplayView(this);
    connect(displayView_, &DisplayView::errorOccurred, this, &MainWindow::showMessage);
    connect(displayView_, &DisplayView::screenshotSaved, this,
            [this](const QString& path) { showMessage(tr("Screenshot saved to %1").arg(path)); });
    dock(tr("Display"), QStringLiteral("displayDock"), displayView_, Qt::RightDockWidgetArea);
    for (QObject* object : addDeviceAction_->associatedObjects())
        if (auto* menu = qobject_cast<QMenu*>(object))
            menu->insertActions(addDeviceAction_, {displayView_->ctrlAltDeleteAction(),
                                                   displayView_->screenshotAction()});

    // Behind the Devices tab: probing the host opens /dev/kvm and creates a VM, so it waits
    // until the user looks.
    hostView_ = new HostView(this);
    QDockWidget* host =
        dock(tr("Host"), QStringLiteral("hostDock"), hostView_, Qt::LeftDockWidgetArea);
    connect(host, &QDockWidget::visibilityChanged, this, [this](bool visible) {
        if (visible)
            loadHostInfo();
    });

    if (auto* viewMenu = menuBar()->findChild<QMenu*>(QStringLiteral("viewMenu"))) {
        viewMenu->addSeparator();
        resetLayoutAction_ = viewMenu->addAction(tr("&Reset layout"));
        resetLayoutAction_->setObjectName(QStringLiteral("resetLayoutAction"));
        resetLayoutAction_->setToolTip(
            tr("Every dock back in its place, sized to the window (the first start's layout)"));
        connect(resetLayoutAction_, &QAction::triggered, this, &MainWindow::applyDefaultLayout);
    }
}

void MainWindow::loadHostInfo() {
    if (hostView_->model()->loaded())
        return;
    QString error;
    kvm::System* kvmSystem = system(&error);
    hostView_->load(kvmSystem, error);
}

void MainWindow::createStatusBar() {
    stateLabel_ = new QLabel(this);
    stateLabel_->setObjectName(QStringLiteral("stateLabel"));
    exitsLabel_ = new QLabel(this);
    exitsLabel_->setObjectName(QStringLiteral("exitsLabel"));
    uptimeLabel_ = new QLabel(this);
    uptimeLabel_->setObjectName(QStringLiteral("uptimeLabel"));
    statusBar()->addPermanentWidget(stateLabel_, 1);
    statusBar()->addPermanentWidget(exitsLabel_);
    statusBar()->addPermanentWidget(uptimeLabel_);
    statusBar()->addPermanentWidget(displayView_->statusLabel()); // fps and the grab hint
}

void MainWindow::closeEvent(QCloseEvent* event) {
    saveLayout();
    event->accept();
}

MachineSession* MainWindow::currentSession() const {
    return current_;
}

kvm::System* MainWindow::system(QString* error) {
    if (!system_) {
        try {
            system_ = std::make_unique<kvm::System>();
        } catch (const Error& failure) {
            if (error)
                *error = QString::fromUtf8(failure.what());
            return nullptr;
        }
    }
    return system_.get();
}

void MainWindow::bindViews(MachineSession* session) {
    bindMachineViews(session);
    exitsView_->setSession(session);
    serialConsole_->setSession(session);
}

void MainWindow::bindMachineViews(MachineSession* session) {
    registersView_->setSession(session);
    devicesView_->setSession(session);
    displayView_->setSession(session);
    debuggerView_->setSession(session);
}

void MainWindow::setCurrentSession(MachineSession* session) {
    current_ = session;
    bindViews(session);
    if (session) {
        const int row = machines_->rowOf(session);
        if (row >= 0 && machineList_->currentIndex().row() != row)
            machineList_->setCurrentIndex(machines_->index(row));
        const MachineConfig& config = session->config();
        // A bundled demo is named as one; its path says nothing a person needs (it is in the
        // tool tip).
        QString image = session->imagePath().toHtmlEscaped();
        for (const DemoImage& demo : demos_)
            if (demo.path == session->imagePath())
                image = tr("the bundled demo <i>%1</i>").arg(demo.name.toHtmlEscaped());
        overview_->setToolTip(session->imagePath());
        overview_->setText(
            tr("<b>%1</b><br>Image: %2<br>Format: %3<br>Memory: %4 MiB, "
               "vcpus: %5<br>Command line: %6")
                .arg(session->name().toHtmlEscaped(), image, formatText(*session))
                .arg(config.memorySize >> 20)
                .arg(config.cpus)
                .arg(QString::fromStdString(config.boot.commandLine).toHtmlEscaped()));
        setWindowTitle(tr("%1 — kvmscope").arg(session->name()));
    } else {
        overview_->setText(
            tr("<b>No machine</b><br>Machine ▸ New… or Machine ▸ Demos to start one."));
        setWindowTitle(tr("kvmscope"));
    }
    showGdbServing();
    updateActions();
    updateStatus();
}

void MainWindow::onCurrentRowChanged(int row) {
    MachineSession* session = machines_->session(row);
    if (session != current_)
        setCurrentSession(session);
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
    powerOffAction_->setEnabled(session && session->canStop());
    addDeviceAction_->setEnabled(session != nullptr);
    removeAction_->setEnabled(session != nullptr);
}

QString MainWindow::statusStateText() const {
    return stateLabel_->text();
}

QString MainWindow::statusExitsText() const {
    return exitsLabel_->text();
}

QString MainWindow::statusUptimeText() const {
    return uptimeLabel_->text();
}

void MainWindow::updateStatus() {
    if (!current_) {
        stateLabel_->setText(tr("No machine"));
        exitsLabel_->clear();
        uptimeLabel_->clear();
        return;
    }
    stateLabel_->setText(tr("%1: %2").arg(current_->name(), current_->statusText()));
    // Totals over every boot: a guest that resets itself keeps counting.
    const QString exits = tr("%1 exits/s (%2 total)")
                              .arg(QString::number(current_->exitsPerSecond(), 'f', 0))
                              .arg(current_->totalExitsOfAllBoots());
    exitsLabel_->setText(current_->resetCount() == 0
                             ? exits
                             : tr("%1, boot %2").arg(exits).arg(current_->resetCount() + 1));
    uptimeLabel_->setText(tr("uptime %1").arg(formatUptime(current_->uptimeMs())));
}

void MainWindow::showMessage(const QString& text) {
    statusBar()->showMessage(text, kMessageTimeoutMs);
    log::get("ui")->info("{}", text.toStdString());
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
