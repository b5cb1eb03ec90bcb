#pragma once
// Machine > New…: image (browse), format, initrd, kernel command line, disks (each a --disk
// spec, editable in place), a CD image, the firmware, memory and vcpus. OK
// validates the configuration (MachineConfig::validate's InputError text) and then asks the
// window to create and boot the machine; any error (LoadError naming the file, field and value,
// or the kernel's refusal) is shown in the dialog, which stays open so the person can fix it.
#include "machine/MachineConfig.h"

#include <QDialog>
#include <functional>

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QSpinBox;
class QStringListModel;
class QListView;

namespace kvmscope::ui {

class NewMachineDialog : public QDialog {
    Q_OBJECT
public:
    // Creates the machine; returns an empty string on success, else the error to show.
    using Creator = std::function<QString(const MachineConfig&)>;

    explicit NewMachineDialog(Creator creator, QWidget* parent = nullptr);

    void setImagePath(const QString& path);
    // "Start paused": the new machine waits before its first instruction until Run (F5);
    // unticked it runs at once (MainWindow::launchMachine).
    bool startPaused() const;
    void setStartPaused(bool paused);
    // The configuration the fields describe; throws InputError for a malformed memory size.
    MachineConfig config() const;
    QString errorText() const;

    // Field access for tests.
    QLineEdit* imageEdit() const { return image_; }
    QLineEdit* memoryEdit() const { return memory_; }
    QSpinBox* cpusSpin() const { return cpus_; }
    QCheckBox* startPausedBox() const { return startPaused_; }
    QComboBox* formatCombo() const { return format_; }
    QStringListModel* disksModel() const { return disks_; }
    QLineEdit* cdromEdit() const { return cdrom_; }
    QComboBox* firmwareCombo() const { return firmware_; }

public Q_SLOTS:
    void accept() override;

private:
    void browseImage();
    void browseInitrd();
    void addDisk();
    void removeDisk();
    void browseCdrom();
    void showError(const QString& text);

    Creator creator_;
    QLineEdit* name_ = nullptr;
    QCheckBox* startPaused_ = nullptr;
    QLineEdit* image_ = nullptr;
    QComboBox* format_ = nullptr;
    QLineEdit* initrd_ = nullptr;
    QLineEdit* commandLine_ = nullptr;
    QStringListModel* disks_ = nullptr;
    QListView* diskList_ = nullptr;
    QLineEdit* cdrom_ = nullptr;
    QComboBox* firmware_ = nullptr;
    QLineEdit* memory_ = nullptr;
    QSpinBox* cpus_ = nullptr;
    QLabel* error_ = nullptr;
};

} // namespace kvmscope::ui
