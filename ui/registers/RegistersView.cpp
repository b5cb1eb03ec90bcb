#include "registers/RegistersView.h"

#include "registers/RegistersModel.h"
#include "session/MachineSession.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QTreeView>
#include <QVBoxLayout>

namespace kvmscope::ui {
namespace {

// Groups longer than this (the FPU/SSE registers, the MSRs) start collapsed.
constexpr int kExpandedRowLimit = 20;

} // namespace

RegistersView::RegistersView(QWidget* parent) : QWidget(parent) {
    model_ = new RegistersModel(this);
    vcpuSelector_ = new QComboBox(this);
    vcpuSelector_->setObjectName(QStringLiteral("vcpuSelector"));
    status_ = new QLabel(this);
    status_->setObjectName(QStringLiteral("registersStatus"));
    tree_ = new QTreeView(this);
    tree_->setModel(model_);
    tree_->setUniformRowHeights(true);
    tree_->setAlternatingRowColors(true);
    tree_->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed);
    tree_->header()->setSectionResizeMode(QHeaderView::ResizeToContents);

    auto* top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("vcpu"), this));
    top->addWidget(vcpuSelector_);
    top->addWidget(status_, 1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    layout->addLayout(top);
    layout->addWidget(tree_);

    connect(vcpuSelector_, &QComboBox::currentIndexChanged, this, [this](int index) {
        if (index >= 0)
            model_->setVcpu(static_cast<size_t>(index));
    });
    connect(model_, &RegistersModel::statusChanged, status_, &QLabel::setText);
    connect(model_, &RegistersModel::errorOccurred, this, &RegistersView::errorOccurred);
    connect(model_, &QAbstractItemModel::modelReset, this, &RegistersView::expandGroups);
    status_->setText(model_->statusText());
}

void RegistersView::setSession(MachineSession* session) {
    {
        const QSignalBlocker blocker(vcpuSelector_);
        vcpuSelector_->clear();
        if (session)
            for (size_t vcpu = 0; vcpu < session->vcpuCount(); ++vcpu)
                vcpuSelector_->addItem(QString::number(vcpu));
    }
    model_->setSession(session);
    expandGroups();
}

void RegistersView::expandGroups() {
    tree_->expandAll();
    for (int row = 0; row < model_->rowCount(); ++row) {
        const QModelIndex group = model_->index(row, RegistersModel::NameColumn);
        if (model_->rowCount(group) > kExpandedRowLimit)
            tree_->collapse(group);
    }
}

size_t RegistersView::currentVcpu() const {
    return static_cast<size_t>(std::max(0, vcpuSelector_->currentIndex()));
}

} // namespace kvmscope::ui
