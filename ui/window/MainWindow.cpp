// MainWindow: its docks, and which machine they show (the current session).
#include "window/MainWindow.h"

#include "boot/BootPlan.h"
#include "common/Error.h"
#include "console/SerialConsoleView.h"
#include "debugger/DebuggerView.h"
#include "devices/DevicesView.h"
#include "display/DisplayView.h"
#include "exits/ExitsView.h"
#include "host/HostInfoModel.h"
#include "host/HostView.h"
#include "machine/Machine.h"
#include "machine/MachineHost.h"
#include "registers/RegistersView.h"
#include "session/MachineListModel.h"
#include "session/MachineSession.h"

#include <QAction>
#include <QCloseEvent>
#include <QDockWidget>
#include <QLabel>
#include <QListView>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QVBoxLayout>

namespace kvmscope::ui {
namespace {

// "multiboot", or "linux (detected)" when the format was left to detection.
QString formatText(MachineSession& session) {
    const boot::ImageFormat asked = session.config().boot.format;
    const boot::BootPlan* plan = session.machine().bootPlan();
    if (asked != boot::ImageFormat::Auto || !plan)
        return QString::fromLatin1(boot::toString(asked));
    return QObject::tr("%1 (detected)").arg(QString::fromLatin1(boot::toString(plan->format)));
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

} // namespace kvmscope::ui
