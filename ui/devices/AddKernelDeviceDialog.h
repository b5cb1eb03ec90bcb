#pragma once
// Machine ▸ Add kernel device…: the KVM_CREATE_DEVICE types the current machine's VM accepts
// (probed with KVM_CREATE_DEVICE_TEST, api.rst 4.79), and on OK the chosen one is created on that
// VM and shown with the machine's devices. A refusal is shown in the dialog, which stays open.
#include <QDialog>
#include <QList>

class QLabel;
class QListView;
class QStandardItemModel;

namespace kvmscope {
class Device;
}

namespace kvmscope::ui {

class MachineSession;

class AddKernelDeviceDialog : public QDialog {
    Q_OBJECT
public:
    explicit AddKernelDeviceDialog(MachineSession& session, QWidget* parent = nullptr);

    QList<uint32_t> offeredTypes() const;
    // Selects `type` in the list; false when the VM does not offer it.
    bool selectType(uint32_t type);
    // The device created by the last successful accept(), or nullptr.
    Device* addedDevice() const { return added_; }
    QString errorText() const;

    void accept() override;

private:
    MachineSession& session_;
    QStandardItemModel* types_ = nullptr;
    QListView* list_ = nullptr;
    QLabel* error_ = nullptr;
    Device* added_ = nullptr;
};

} // namespace kvmscope::ui
