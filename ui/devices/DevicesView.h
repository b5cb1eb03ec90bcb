#pragma once
// The Devices dock: every device's attributes in one tree (DeviceTreeModel); values of
// read-write attributes are edited in place.
#include <QWidget>

class QTreeView;

namespace kvmscope::ui {

class DeviceTreeModel;
class MachineSession;

class DevicesView : public QWidget {
    Q_OBJECT
public:
    explicit DevicesView(QWidget* parent = nullptr);

    void setSession(MachineSession* session);
    DeviceTreeModel* model() const { return model_; }
    QTreeView* tree() const { return tree_; }

Q_SIGNALS:
    void attributeError(const QString& message);

protected:
    // The values follow the guest only while the tree is on screen.
    void showEvent(QShowEvent* event) override;
    void hideEvent(QHideEvent* event) override;

private:
    void expandDevices();

    DeviceTreeModel* model_ = nullptr;
    QTreeView* tree_ = nullptr;
};

} // namespace kvmscope::ui
