#pragma once
// The Host dock: what this machine's KVM offers (HostInfoModel) as a tree with the sections open.
#include <QWidget>

class QTreeView;

namespace kvmscope::kvm {
class System;
}

namespace kvmscope::ui {

class HostInfoModel;

class HostView : public QWidget {
    Q_OBJECT
public:
    explicit HostView(QWidget* parent = nullptr);

    // Fills the model from `system` (or shows `unavailableReason` when it is null).
    void load(kvm::System* system, const QString& unavailableReason = {});
    HostInfoModel* model() const { return model_; }
    QTreeView* tree() const { return tree_; }

private:
    HostInfoModel* model_ = nullptr;
    QTreeView* tree_ = nullptr;
};

} // namespace kvmscope::ui
