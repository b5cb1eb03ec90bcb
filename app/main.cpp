// kvmscope: command line entry. Only this layer decides to exit (STYLE.md "Errors").
#include "CommandLine.h"
#include "Demos.h"
#include "Headless.h"
#include "common/Error.h"
#include "log/Log.h"
#include "session/MachineSession.h"
#include "window/MainWindow.h"

#include <QApplication>
#include <QMessageBox>
#include <QTimer>
#include <cmath>
#include <cstdlib>
#include <fmt/format.h>
#include <string>
#include <vector>

namespace {

constexpr int kStatusBadInput = 2;

// A window needs a display: an explicit Qt platform (offscreen, vnc, ...) or an X11/Wayland
// session. Without one, kvmscope runs headless on the terminal as with --headless.
bool displayAvailable() {
    for (const char* variable : {"QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"}) {
        const char* value = std::getenv(variable);
        if (value && *value)
            return true;
    }
    return false;
}

std::vector<kvmscope::ui::DemoImage> demoImages() {
    std::vector<kvmscope::ui::DemoImage> images;
    for (const auto& demo : kvmscope::app::bundledDemos())
        images.push_back({QString::fromStdString(demo.name), QString::fromStdString(demo.path),
                          QString::fromStdString(demo.description), demo.format, demo.cpus});
    return images;
}

// Opens the main window on the machine the command line names (or the default demo) and runs
// it; returns when the window closes.
int runGui(const kvmscope::app::CommandLine& options, int argc, char** argv) {
    using namespace kvmscope;
    QApplication application(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("kvmscope"));
    QApplication::setApplicationName(QStringLiteral("kvmscope"));
    QApplication::setApplicationVersion(QStringLiteral(KVMSCOPE_VERSION));

    ui::MainWindow window(demoImages());
    window.show();
    if (options.timeoutSeconds)
        QTimer::singleShot(static_cast<int>(std::ceil(*options.timeoutSeconds * 1000.0)),
                           &application, &QApplication::closeAllWindows);
    QString error;
    if (ui::MachineSession* session = window.openMachine(options.machine, &error)) {
        session->run();
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

int main(int argc, char** argv) {
    using namespace kvmscope;
    const std::vector<std::string> arguments(argv, argv + argc);
    app::CommandLine options;
    try {
        options = app::parseCommandLine(arguments);
        if (options.showHelp) {
            fmt::print("{}", app::helpText());
            return 0;
        }
        if (options.showVersion) {
            fmt::print("kvmscope {}\n", KVMSCOPE_VERSION);
            return 0;
        }
        if (!log::setLevel(options.logLevel))
            throw InputError(fmt::format(
                "--log-level '{}': expected trace, debug, info, warn, error, critical or off",
                options.logLevel));
        if (options.listDemos) {
            for (const auto& demo : app::bundledDemos())
                fmt::print("{:<10} {}{}\n", demo.name, demo.description,
                           demo.isDefault ? " (default)" : "");
            return 0;
        }
        if (options.machine.boot.imagePath.empty()) {
            const app::Demo demo = app::findDemo(
                options.demo.empty() ? app::defaultDemo(app::bundledDemos()).name : options.demo);
            options.machine.boot.imagePath = demo.path;
            if (options.machine.boot.format == boot::ImageFormat::Auto)
                options.machine.boot.format = demo.format;
            if (!options.cpusGiven && demo.cpus > 1)
                options.machine.cpus = options.machine.boot.cpus = demo.cpus;
            options.machine.name = demo.name;
        }
        options.machine.validate();
    } catch (const InputError& error) {
        fmt::print(stderr, "kvmscope: {}\n", error.what());
        return kStatusBadInput;
    }
    if (!options.headless && displayAvailable())
        return runGui(options, argc, argv);
    return app::runHeadless(options);
}
