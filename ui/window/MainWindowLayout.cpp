// MainWindow: where its docks go. The first start and View > Reset layout place them in
// proportion to the window; a restart restores the layout the person left.
#include "window/MainWindow.h"

#include <QDockWidget>
#include <QMenuBar>
#include <QSettings>
#include <QStatusBar>
#include <QTimer>
#include <QToolBar>
#include <algorithm>

namespace kvmscope::ui {

QDockWidget* MainWindow::dockNamed(const char* name) const {
    return findChild<QDockWidget*>(QString::fromLatin1(name));
}

void MainWindow::applyDefaultLayout() {
    // Left: the machines, and below them the devices with the host behind a tab. Right of them
    // the guest's screen beside its registers, so both can be watched at once. Along the bottom,
    // the whole width: the console, the exits and the debugger, tabbed.
    QDockWidget* machinesDock = dockNamed("machinesDock");
    QDockWidget* devicesDock = dockNamed("devicesDock");
    QDockWidget* hostDock = dockNamed("hostDock");
    QDockWidget* displayDock = dockNamed("displayDock");
    QDockWidget* registersDock = dockNamed("registersDock");
    QDockWidget* serialDock = dockNamed("serialDock");
    QDockWidget* exitsDock = dockNamed("exitsDock");
    QDockWidget* debuggerDock = dockNamed("debuggerDock");
    for (QDockWidget* dock : findChildren<QDockWidget*>()) {
        dock->setFloating(false);
        dock->show();
    }
    addDockWidget(Qt::LeftDockWidgetArea, machinesDock);
    splitDockWidget(machinesDock, devicesDock, Qt::Vertical);
    tabifyDockWidget(devicesDock, hostDock);
    addDockWidget(Qt::RightDockWidgetArea, displayDock);
    splitDockWidget(displayDock, registersDock, Qt::Horizontal);
    addDockWidget(Qt::BottomDockWidgetArea, serialDock);
    tabifyDockWidget(serialDock, exitsDock);
    tabifyDockWidget(exitsDock, debuggerDock);
    devicesDock->raise();
    serialDock->raise();
    sizeDefaultLayout();
    // Moving docks queues a relayout of the window that would spread the space anew: size them
    // again once it has run.
    QTimer::singleShot(0, this, &MainWindow::sizeDefaultLayout);
}

void MainWindow::sizeDefaultLayout() {
    QDockWidget* machinesDock = dockNamed("machinesDock");
    QDockWidget* devicesDock = dockNamed("devicesDock");
    QDockWidget* displayDock = dockNamed("displayDock");
    QDockWidget* registersDock = dockNamed("registersDock");
    QDockWidget* serialDock = dockNamed("serialDock");
    // Proportions of the window, so that a bigger window gives every dock more room: the left
    // column a fifth (220-400 px), the registers a quarter of the rest, the bottom row about
    // half, and in the left column three quarters for the devices.
    const int width = std::max(this->width(), 800);
    const int height = std::max(this->height(), 500);
    const int left = std::clamp(width / 5, 220, 400);
    const int registers = std::clamp((width - left) / 4, 320, 520);
    // The height the docks share: the window's less its menu bar, tool bar and status bar.
    int bars = statusBar()->sizeHint().height();
    if (menuWidget())
        bars += menuWidget()->sizeHint().height();
    for (QToolBar* toolbar : findChildren<QToolBar*>())
        if (!toolbar->isFloating() && toolbar->isVisible())
            bars += toolbar->sizeHint().height();
    const int docks = std::max(height - bars, 400);
    const int bottom = docks / 2; // a dozen code rows and more in the Debugger at 1920x1080
    const int top = docks - bottom;
    resizeDocks({machinesDock, displayDock, registersDock},
                {left, width - left - registers, registers}, Qt::Horizontal);
    resizeDocks({displayDock, serialDock}, {top, bottom}, Qt::Vertical);
    resizeDocks({machinesDock, devicesDock}, {top / 4, top * 3 / 4}, Qt::Vertical);
}

void MainWindow::restoreLayout() {
    QSettings settings;
    settings.beginGroup(QStringLiteral("MainWindow"));
    if (!restoreGeometry(settings.value(QStringLiteral("geometry")).toByteArray()))
        resize(1280, 800);
    const bool restored = restoreState(settings.value(QStringLiteral("state")).toByteArray());
    settings.endGroup();
    if (!restored) {
        applyDefaultLayout();
        return;
    }
    // A dock that was floating comes back as its own window: in front of the main window, or a
    // ticked View entry would name a dock that cannot be seen.
    QTimer::singleShot(0, this, [this] {
        for (QDockWidget* dock : findChildren<QDockWidget*>())
            if (dock->isFloating() && dock->isVisible())
                dock->raise();
    });
}

void MainWindow::saveLayout() const {
    QSettings settings;
    settings.beginGroup(QStringLiteral("MainWindow"));
    settings.setValue(QStringLiteral("geometry"), saveGeometry());
    settings.setValue(QStringLiteral("state"), saveState());
    settings.endGroup();
}

} // namespace kvmscope::ui
