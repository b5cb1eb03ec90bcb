#pragma once
// The Registers dock: a vcpu selector, a status line ("vcpu 0 paused", "running — state at last
// stop") and the register tree (RegistersModel), editable while paused.
#include <QWidget>

class QComboBox;
class QLabel;
class QTreeView;

namespace kvmscope::ui {

class MachineSession;
class RegistersModel;

class RegistersView : public QWidget {
    Q_OBJECT
public:
    explicit RegistersView(QWidget* parent = nullptr);

    void setSession(MachineSession* session);
    RegistersModel* model() const { return model_; }
    QTreeView* tree() const { return tree_; }
    size_t currentVcpu() const;

Q_SIGNALS:
    void errorOccurred(const QString& message);

private:
    // Every group open except the long ones (FPU/SSE, MSRs), which open on demand.
    void expandGroups();
    RegistersModel* model_ = nullptr;
    QComboBox* vcpuSelector_ = nullptr;
    QLabel* status_ = nullptr;
    QTreeView* tree_ = nullptr;
};

} // namespace kvmscope::ui
