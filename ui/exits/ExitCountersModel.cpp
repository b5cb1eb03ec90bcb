#include "exits/ExitCountersModel.h"

#include "session/MachineSession.h"
#include "trace/ExitRecord.h"

namespace kvmscope::ui {

ExitCountersModel::ExitCountersModel(QObject* parent) : QAbstractTableModel(parent) {}

void ExitCountersModel::setSession(MachineSession* session) {
    if (session_ == session)
        return;
    if (session_)
        disconnect(session_, nullptr, this, nullptr);
    session_ = session;
    beginResetModel();
    rows_.clear();
    endResetModel();
    if (session_)
        connect(session_, &MachineSession::statisticsUpdated, this, &ExitCountersModel::update);
    update();
}

void ExitCountersModel::update() {
    std::vector<Row> rows;
    if (session_) {
        const auto& counts = session_->exitCounts();
        const auto& all = session_->exitCountsOfAllBoots();
        const auto& rates = session_->exitRates();
        for (size_t reason = 0; reason < counts.size(); ++reason)
            if (all[reason] > 0) // one sample: every boot's count includes this boot's
                rows.push_back(
                    {static_cast<uint32_t>(reason), counts[reason], all[reason], rates[reason]});
    }
    bool sameReasons = rows.size() == rows_.size();
    for (size_t row = 0; sameReasons && row < rows.size(); ++row)
        sameReasons = rows[row].reason == rows_[row].reason;
    if (!sameReasons) {
        beginResetModel();
        rows_ = std::move(rows);
        endResetModel();
        return;
    }
    rows_ = std::move(rows);
    if (!rows_.empty())
        Q_EMIT dataChanged(index(0, CountColumn),
                           index(static_cast<int>(rows_.size()) - 1, RateColumn));
}

int ExitCountersModel::rowOfReason(uint32_t reason) const {
    for (size_t row = 0; row < rows_.size(); ++row)
        if (rows_[row].reason == reason)
            return static_cast<int>(row);
    return -1;
}

int ExitCountersModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int ExitCountersModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ExitCountersModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= static_cast<int>(rows_.size()))
        return {};
    const Row& row = rows_[static_cast<size_t>(index.row())];
    if (role == Qt::TextAlignmentRole && index.column() != ReasonColumn)
        return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
    if (role != Qt::DisplayRole)
        return {};
    switch (index.column()) {
    case ReasonColumn:
        return QString::fromLatin1(trace::exitReasonName(row.reason));
    case CountColumn:
        return QVariant::fromValue<qulonglong>(row.count);
    case AllBootsColumn:
        return QVariant::fromValue<qulonglong>(row.allBoots);
    case RateColumn:
        return QString::number(row.rate, 'f', 1);
    }
    return {};
}

QVariant ExitCountersModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case ReasonColumn:
        return tr("Reason");
    case CountColumn:
        return tr("This boot");
    case AllBootsColumn:
        return tr("All boots");
    case RateColumn:
        return tr("Rate /s");
    }
    return {};
}

} // namespace kvmscope::ui
