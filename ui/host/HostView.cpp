#include "host/HostView.h"

#include "host/HostInfoModel.h"

#include <QHeaderView>
#include <QTreeView>
#include <QVBoxLayout>

namespace kvmscope::ui {

HostView::HostView(QWidget* parent) : QWidget(parent) {
    model_ = new HostInfoModel(this);
    tree_ = new QTreeView(this);
    tree_->setObjectName(QStringLiteral("hostTree"));
    tree_->setModel(model_);
    tree_->setUniformRowHeights(true);
    tree_->setAlternatingRowColors(true);
    tree_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    tree_->header()->setSectionResizeMode(HostInfoModel::NameColumn, QHeaderView::ResizeToContents);
    tree_->header()->setSectionResizeMode(HostInfoModel::ValueColumn,
                                          QHeaderView::ResizeToContents);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    layout->addWidget(tree_);
}

void HostView::load(kvm::System* system, const QString& unavailableReason) {
    model_->load(system, unavailableReason);
    tree_->expandAll();
}

} // namespace kvmscope::ui
