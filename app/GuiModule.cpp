// The desktop window as a loadable module (kvmscope-gui.so): main.cpp opens it with dlopen only
// when a window is wanted, so that `kvmscope --headless` never loads Qt Gui/Widgets or libvterm.
// The module carries its own copy of the core; nothing but the parsed command line crosses over.
#include "CommandLine.h"
#include "Demos.h"
#include "log/Log.h"
#include "session/MachineSession.h"
#include "window/MainWindow.h"

#include <QApplication>
#include <QMessageBox>
#include <QTimer>
#include <QWindow>
#include <cmath>
#include <vector>

namespace {

std::vector<kvmscope::ui::DemoImage> demoImages() {
    std::vector<kvmscope::ui::DemoImage> images;
    for (const auto& demo : kvmscope::app::bundledDemos())
        images.push_back({QString::fromStdString(demo.name), QString::fromStdString(demo.path),
                          QString::fromStdString(demo.description), demo.format, demo.cpus});
    return images;
}

// Logs once, at info level, when the window system first shows the window (its first expose
// event): the moment a user sees kvmscope start (kvmscope-bench-gui times it from spawn).
class FirstExposeLogger : public QObject {
public:
    explicit FirstExposeLogger(QObject* parent) : QObject(parent) {}

protected:
    bool eventFilter(QObject* watched, QEvent* event) override {
        if (event->type() == QEvent::Expose) {
            if (auto* window = qobject_cast<QWindow*>(watched); window && window->isExposed()) {
                kvmscope::log::get("ui")->info("main window exposed");
                watched->removeEventFilter(this);
                deleteLater();
            }
        }
        return false;
    }
};

void logFirstExpose(QWidget& widget) {
    if (QWindow* handle = widget.windowHandle())
        handle->installEventFilter(new FirstExposeLogger(&widget));
}

// Opens the main window on the machine the command line names (or the default demo) and runs
// it; returns when the window closes.
int runWindow(const kvmscope::app::CommandLine& options, int argc, char** argv) {
    using namespace kvmscope;
    QApplication application(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("kvmscope"));
    QApplication::setApplicationName(QStringLiteral("kvmscope"));
    QApplication::setApplicationVersion(QStringLiteral(KVMSCOPE_VERSION));

    ui::MainWindow window(demoImages());
    window.show();
    logFirstExpose(window);
    if (options.timeoutSeconds)
        QTimer::singleShot(static_cast<int>(std::ceil(*options.timeoutSeconds * 1000.0)),
                           &application, &QApplication::closeAllWindows);
    QString error;
    // The window's one rule for a new machine (MainWindow::launchMachine): it runs at once
    // unless --paused, or --gdb, with which the guest waits for the client as headless
    // (docs/debugger.md).
    const bool paused = options.startPaused || options.gdb.has_value();
    if (window.launchMachine(options.machine, paused, &error, options.restore)) {
        if (QString gdbError;
            options.gdb && !window.startGdbServer(options.gdb->host, options.gdb->port, &gdbError))
            window.showMessage(gdbError);
    } else {
        // Not exec(): the window stays usable (Machine > New… or a demo) behind the message.
        auto* box = new QMessageBox(QMessageBox::Warning, QObject::tr("kvmscope"), error,
                                    QMessageBox::Ok, &window);
        box->setAttribute(Qt::WA_DeleteOnClose);
        box->open();
    }
    return application.exec();
}

} // namespace

// The module's one entry point (looked up by name in main.cpp).
extern "C" __attribute__((visibility("default"))) int
kvmscope_gui_main(const kvmscope::app::CommandLine* options, int argc, char** argv) {
    // The module's copy of the core keeps its own log level.
    kvmscope::log::setLevel(options->logLevel);
    return runWindow(*options, argc, argv);
}
