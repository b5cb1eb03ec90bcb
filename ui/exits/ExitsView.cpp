#include "exits/ExitsView.h"

#include "exits/ExitAddressCountersModel.h"
#include "exits/ExitCountersModel.h"
#include "exits/ExitRateChart.h"
#include "exits/ExitRateHistory.h"
#include "exits/RecentExitsModel.h"

#include <QCheckBox>
#include <QFileDialog>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>

namespace kvmscope::ui {

ExitsView::ExitsView(QWidget* parent) : QWidget(parent) {
    counters_ = new ExitCountersModel(this);
    recent_ = new RecentExitsModel(this);
    rateHistory_ = new ExitRateHistory(this);
    rateChart_ = new ExitRateChart(this);
    rateChart_->setHistory(rateHistory_);

    countersTable_ = new QTableView(this);
    countersTable_->setModel(counters_);
    countersTable_->verticalHeader()->hide();
    // Columns as wide as their text (headers included), so no counter or header is cut.
    countersTable_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    countersTable_->horizontalHeader()->setStretchLastSection(true);

    // Exits per port / MMIO address, sorted on numbers (SortRole), busiest first.
    addresses_ = new ExitAddressCountersModel(this);
    addresses_->setLive(false); // until shown
    addressesSorted_ = new QSortFilterProxyModel(this);
    addressesSorted_->setSourceModel(addresses_);
    addressesSorted_->setSortRole(ExitAddressCountersModel::SortRole);
    addressesSorted_->setDynamicSortFilter(true);
    addressTable_ = new QTableView(this);
    addressTable_->setObjectName(QStringLiteral("exitsByAddress"));
    addressTable_->setModel(addressesSorted_);
    addressTable_->setSortingEnabled(true);
    addressTable_->sortByColumn(ExitAddressCountersModel::ExitsColumn, Qt::DescendingOrder);
    addressTable_->verticalHeader()->hide();
    addressTable_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    addressTable_->horizontalHeader()->setStretchLastSection(true);
    addressTable_->setToolTip(
        tr("Exits by port and MMIO address. Each vcpu counts up to %1 addresses on their own; "
           "exits at further addresses go to the row \"other addresses\".")
            .arg(ExitAddressCountersModel::kMaxAddressesPerVcpu));
    auto* byAddress = new QGroupBox(tr("By address"), this);
    auto* byAddressLayout = new QVBoxLayout(byAddress);
    byAddressLayout->setContentsMargins(2, 2, 2, 2);
    byAddressLayout->addWidget(addressTable_);
    auto* countersSplitter = new QSplitter(Qt::Vertical, this);
    countersSplitter->addWidget(countersTable_);
    countersSplitter->addWidget(byAddress);

    recentTable_ = new QTableView(this);
    recentTable_->setModel(recent_);
    recentTable_->verticalHeader()->hide();
    recentTable_->verticalHeader()->setDefaultSectionSize(recentTable_->fontMetrics().height() + 4);
    recentTable_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    recentTable_->horizontalHeader()->setStretchLastSection(true);
    // Follow the newest exit unless frozen. The model has dropped the rows the new ones push out
    // before it announces them, so the bottom scrolled to is the bottom that stays.
    connect(recent_, &QAbstractItemModel::rowsInserted, recentTable_, [this] {
        if (!freeze_->isChecked())
            recentTable_->scrollToBottom();
    });

    freeze_ = new QCheckBox(tr("Freeze"), this);
    freeze_->setObjectName(QStringLiteral("freezeExits"));
    freeze_->setToolTip(tr("Stop collecting recent exits so the table can be read"));
    connect(freeze_, &QCheckBox::toggled, recent_, &RecentExitsModel::setFrozen);
    auto* clear = new QPushButton(tr("Clear"), this);
    connect(clear, &QPushButton::clicked, recent_, &RecentExitsModel::clear);
    auto* exportButton = new QPushButton(tr("Export CSV…"), this);
    connect(exportButton, &QPushButton::clicked, this, &ExitsView::exportCsv);

    auto* buttons = new QHBoxLayout;
    buttons->addWidget(freeze_);
    buttons->addStretch(1);
    buttons->addWidget(clear);
    buttons->addWidget(exportButton);

    auto* splitter = new QSplitter(Qt::Horizontal, this);
    splitter->addWidget(countersSplitter);
    splitter->addWidget(recentTable_);
    splitter->setStretchFactor(0, 2);
    splitter->setStretchFactor(1, 3);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    layout->addLayout(buttons);
    layout->addWidget(rateChart_);
    layout->addWidget(splitter, 1);
}

void ExitsView::setSession(MachineSession* session) {
    counters_->setSession(session);
    addresses_->setSession(session);
    recent_->setSession(session);
    rateHistory_->setSession(session);
}

void ExitsView::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    addresses_->setLive(true);
}

void ExitsView::hideEvent(QHideEvent* event) {
    QWidget::hideEvent(event);
    addresses_->setLive(false); // nobody sees it: skip the snapshots
}

void ExitsView::exportCsv() {
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export exits"), QStringLiteral("exits.csv"), tr("CSV files (*.csv)"));
    if (path.isEmpty())
        return;
    QString error;
    if (!recent_->exportCsv(path, &error))
        Q_EMIT errorOccurred(error);
    else
        Q_EMIT exported(path);
}

} // namespace kvmscope::ui
