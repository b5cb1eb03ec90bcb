#include "devices/DevicesView.h"

#include "devices/DeviceTreeModel.h"

#include <QHeaderView>
#include <QTreeView>
#include <QVBoxLayout>

namespace kvmscope::ui {

DevicesView::DevicesView(QWidget* parent) : QWidget(parent) {
    model_ = new DeviceTreeModel(this);
    tree_ = new QTreeView(this);
    tree_->setModel(model_);
    tree_->setUniformRowHeights(true);
    tree_->setAlternatingRowColors(true);
    tree_->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed);
    tree_->header()->setSectionResizeMode(DeviceTreeModel::NameColumn,
                                          QHeaderView::ResizeToContents);
    tree_->header()->setSectionResizeMode(DeviceTreeModel::ValueColumn,
                                          QHeaderView::ResizeToContents);
    // "user-space device", "kernel device (KVM_CREATE_DEVICE)": as wide as the text.
    tree_->header()->setSectionResizeMode(DeviceTreeModel::TypeColumn,
                                          QHeaderView::ResizeToContents);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    layout->addWidget(tree_);
    connect(model_, &DeviceTreeModel::attributeError, this, &DevicesView::attributeError);
    connect(model_, &QAbstractItemModel::modelReset, this, &DevicesView::expandDevices);
}

void DevicesView::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    model_->setLive(true);
}

void DevicesView::hideEvent(QHideEvent* event) {
    QWidget::hideEvent(event);
    model_->setLive(false);
}

void DevicesView::setSession(MachineSession* session) {
    model_->setSession(session);
    expandDevices();
}

void DevicesView::expandDevices() {
    // Devices open, groups closed: the list of devices is the overview.
    for (int row = 0; row < model_->rowCount(); ++row)
        tree_->expand(model_->index(row, 0));
}

} // namespace kvmscope::ui
