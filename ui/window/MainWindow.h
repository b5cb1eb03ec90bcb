#pragma once
// kvmscope's main window: the machine list (left), one dock per concern (registers, devices,
// serial console, exits, host), a toolbar and menus to create/run/pause/step/power off machines
// and add kernel devices, and a status bar with the current machine's state, exits per second and
// uptime. The window looks at one machine at a time (the list's current row); every view follows
// that choice. Dropping an image file opens the New machine dialog with it; the images opened last
// are under Machine ▸ Recent machines. Geometry, dock layout and recent images are kept with
// QSettings.
#include "machine/MachineConfig.h"
#include "window/DemoImage.h"

#include <QMainWindow>
#include <QPointer>
#include <QTimer>
#include <memory>
#include <vector>

class QAction;
class QDockWidget;
class QLabel;
class QListView;
class QMenu;
class QMimeData;

namespace kvmscope {
namespace kvm {
class System;
}
namespace snapshot {
class MachineImage;
}
} // namespace kvmscope

namespace kvmscope::ui {

class DebuggerView;
class DevicesView;
class DisplayView;
class ExitsView;
class HostView;
class MachineListModel;
class MachineSession;
class NewMachineDialog;
class RegistersView;
class SerialConsoleView;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    enum class Action {
        NewMachine,
        OpenImage,
        Run,
        Pause,
        Step,
        Reset,
        PowerOff,
        AddKernelDevice,
        Remove,
        Quit,
        About
    };
    static constexpr int kStatusIntervalMs = 500;
    static constexpr int kRecentCapacity = 8; // images under Machine ▸ Recent machines

    explicit MainWindow(std::vector<DemoImage> demos = {}, QWidget* parent = nullptr);
    ~MainWindow() override;

    // Creates and boots a machine, adds it to the list and makes it current. Returns nullptr and
    // sets `error` (the core's message: LoadError, InputError, KvmError) when that fails.
    // `restore`: the first machine is that snapshot's (kvmscope --restore; MachineSession).
    MachineSession* openMachine(const MachineConfig& config, QString* error = nullptr,
                                std::shared_ptr<const snapshot::MachineImage> restore = {});
    MachineSession* openDemo(const DemoImage& demo, QString* error = nullptr);
    // A demo's configuration: its name, image, format and suggested vcpus.
    static MachineConfig demoConfig(const DemoImage& demo);
    // An image's default configuration: named by its file, format detected.
    static MachineConfig imageConfig(const QString& path);
    // A machine for the image at `path` with the default configuration (format detected).
    MachineSession* openImagePath(const QString& path, QString* error = nullptr);

    // The one rule for a machine a person opens (the command line, Machine ▸ New…, Open image…,
    // Recent machines, Demos): openMachine(), then it runs at once unless `startPaused`. The
    // entry points pass the New… dialog's box, --paused or --gdb, or else startPausedDefault().
    MachineSession* launchMachine(const MachineConfig& config, bool startPaused,
                                  QString* error = nullptr,
                                  std::shared_ptr<const snapshot::MachineImage> restore = {});
    // Machine ▸ Save state… and Load state… without their file dialogs. A save pauses a running
    // machine, writes `path` and lets it run on; false with the reason shown when it could not.
    // A load checks the whole file first and opens its machine as --restore does.
    bool saveStateTo(const QString& path);
    MachineSession* loadStateFrom(const QString& path);
    // Machine ▸ Start new machines paused (kept in the settings).
    bool startPausedDefault() const;
    void setStartPausedDefault(bool paused);
    QAction* startPausedAction() const { return startPausedAction_; }
    // Open image… and Recent machines without their file dialog: a machine for `path`, launched.
    MachineSession* launchImagePath(const QString& path, QString* error = nullptr);

    // Shows Machine ▸ New… (not blocking) with the image field set to `imagePath`; the dialog
    // stays reachable through newMachineDialog() until it closes.
    NewMachineDialog* showNewMachineDialog(const QString& imagePath = {});
    NewMachineDialog* newMachineDialog() const;

    // Images of machines opened successfully, newest first (QSettings, at most kRecentCapacity).
    QStringList recentImages() const;
    QMenu* recentMenu() const { return recentMenu_; }
    // The first local file a drag carries, or an empty string.
    static QString droppedImagePath(const QMimeData* mime);

    MachineSession* currentSession() const;
    void setCurrentSession(MachineSession* session);
    MachineListModel* machines() const { return machines_; }
    const std::vector<DemoImage>& demos() const { return demos_; }

    QAction* action(Action which) const;
    RegistersView* registersView() const { return registersView_; }
    DevicesView* devicesView() const { return devicesView_; }
    ExitsView* exitsView() const { return exitsView_; }
    SerialConsoleView* serialConsole() const { return serialConsole_; }
    HostView* hostView() const { return hostView_; }
    DisplayView* displayView() const { return displayView_; }
    DebuggerView* debuggerView() const { return debuggerView_; }
    // Fills the Host dock (opens /dev/kvm and probes a throwaway VM) unless already done; called
    // when the dock is first shown.
    void loadHostInfo();
    // The status bar's texts: state, exits/s, uptime.
    QString statusStateText() const;
    QString statusExitsText() const;
    QString statusUptimeText() const;

    // Machine ▸ gdb server: serves the current machine to gdb on 127.0.0.1, port 1234 or the
    // next free one (docs/debugger.md, "gdb remote stub"). Returns false with `error` set when no
    // port could be opened or no machine is current. Each machine has its own server: it stays
    // across the machine's resets (MachineHost) and stops when the machine is removed.
    bool setGdbServerEnabled(bool enabled, QString* error = nullptr);
    // The same at one given address (the command line's --gdb [HOST:]PORT).
    bool startGdbServer(const std::string& host, uint16_t port, QString* error = nullptr);
    // The current machine's server port; 0 while it serves none.
    uint16_t gdbServerPort() const;
    QAction* gdbServerAction() const { return gdbAction_; }

    // Shown in the status bar (and logged); errors from models and dialogs go here.
    void showMessage(const QString& text);
    // A machine that stopped with StopKind::Crash: a non-modal report with the reason, and the
    // crashed machine's registers in view.
    void reportCrash(MachineSession& session);

protected:
    void closeEvent(QCloseEvent* event) override;
    // Dropping an image file opens Machine ▸ New… with the path filled in.
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dragMoveEvent(QDragMoveEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    // MainWindow.cpp: the docks, and pointing the views at a machine.
    void createDocks();
    // Points every view at `session`'s machine (nullptr: at none).
    void bindViews(MachineSession* session);
    // Only the views that hold the machine's devices and vcpus (a reset replaces those).
    void bindMachineViews(MachineSession* session);
    void onCurrentRowChanged(int row);
    kvm::System* system(QString* error);

    // MainWindowActions.cpp: actions, menus, toolbar and the commands on the current machine.
    void createActions();
    void createMenus();
    void updateActions();
    // Machine → Save state… / Load state… (MainWindowSnapshots.cpp).
    void createSnapshotActions();
    void stepCurrentVcpu();
    void removeCurrent();
    void addKernelDevice();

    // MainWindowStatus.cpp: the status bar.
    void createStatusBar();
    void updateStatus();

    // MainWindowOpening.cpp: New…, Open image… and the recent images.
    void newMachine();
    void openImage();
    void rememberImage(const QString& path);
    void updateRecentMenu();

    // MainWindowLayout.cpp: where the docks go.
    // View ▸ Reset layout, and the first start's layout: every dock in its place, sized in
    // proportion to the window.
    void applyDefaultLayout();
    void sizeDefaultLayout(); // its sizes, in proportion to the window
    QDockWidget* dockNamed(const char* name) const;
    void restoreLayout();
    void saveLayout() const;

    // MainWindowReports.cpp: Help ▸ About.
    void about();
    // Where Help ▸ About points for the documentation; empty when neither place has it.
    static QString documentationDirectory();

    std::vector<DemoImage> demos_;
    std::unique_ptr<kvm::System> system_;
    MachineListModel* machines_ = nullptr;
    QPointer<MachineSession> current_;

    QListView* machineList_ = nullptr;
    RegistersView* registersView_ = nullptr;
    DevicesView* devicesView_ = nullptr;
    ExitsView* exitsView_ = nullptr;
    SerialConsoleView* serialConsole_ = nullptr;
    HostView* hostView_ = nullptr;
    DisplayView* displayView_ = nullptr;
    DebuggerView* debuggerView_ = nullptr;
    QLabel* overview_ = nullptr;
    QMenu* recentMenu_ = nullptr;
    QPointer<NewMachineDialog> newMachineDialog_;

    QLabel* stateLabel_ = nullptr;
    QLabel* exitsLabel_ = nullptr;
    QLabel* uptimeLabel_ = nullptr;
    QTimer statusTimer_;

    QAction* newAction_ = nullptr;
    QAction* openAction_ = nullptr;
    QAction* saveStateAction_ = nullptr;
    QAction* loadStateAction_ = nullptr;
    QAction* runAction_ = nullptr;
    QAction* pauseAction_ = nullptr;
    QAction* stepAction_ = nullptr;
    QAction* resetAction_ = nullptr;
    QAction* powerOffAction_ = nullptr;
    QAction* addDeviceAction_ = nullptr;
    QAction* removeAction_ = nullptr;
    QAction* quitAction_ = nullptr;
    QAction* aboutAction_ = nullptr;
    QAction* gdbAction_ = nullptr;
    QAction* startPausedAction_ = nullptr;
    QAction* resetLayoutAction_ = nullptr;

    // MainWindowGdb.cpp: the current machine's gdb server.
    bool serveGdb(const std::string& host, uint16_t firstPort, uint16_t ports, QString* error);
    void showGdbServing(); // the action's tick follows the current machine's server
};

} // namespace kvmscope::ui
