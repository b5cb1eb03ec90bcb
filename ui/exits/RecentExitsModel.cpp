#include "exits/RecentExitsModel.h"

#include "machine/Machine.h"
#include "session/MachineSession.h"

#include <QFile>
#include <QIODevice>
#include <algorithm>

namespace kvmscope::ui {
namespace {

QString hex(uint64_t value) {
    return QStringLiteral("0x%1").arg(value, 0, 16);
}

bool hasAccess(const trace::ExitRecord& record) {
    return record.access != trace::AccessKind::None;
}

} // namespace

RecentExitsModel::RecentExitsModel(QObject* parent) : QAbstractTableModel(parent) {}

void RecentExitsModel::setSession(MachineSession* session) {
    if (session_ == session)
        return;
    if (session_)
        disconnect(session_, nullptr, this, nullptr);
    session_ = session;
    clear();
    if (session_) {
        lastSequence_.assign(session_->vcpuCount(), 0);
        connect(session_, &MachineSession::statisticsUpdated, this, &RecentExitsModel::drain);
        connect(session_, &MachineSession::stateChanged, this, &RecentExitsModel::drain);
        // A reboot: the old machine's last exits stay in the table, and the new machine's
        // traces count from zero again (a guest that resets itself keeps a full table).
        connect(session_, &MachineSession::machineAboutToBeReplaced, this,
                &RecentExitsModel::drain);
        connect(session_, &MachineSession::machineReplaced, this,
                [this] { lastSequence_.assign(session_->vcpuCount(), 0); });
    }
    drain();
}

void RecentExitsModel::setMaxRows(int rows) {
    maxRows_ = std::max(1, rows);
    trimToMaxRows();
}

void RecentExitsModel::setFrozen(bool frozen) {
    frozen_ = frozen;
    if (!frozen_)
        drain();
}

void RecentExitsModel::clear() {
    beginResetModel();
    rows_.clear();
    firstTimestampNs_ = 0;
    endResetModel();
}

void RecentExitsModel::drain() {
    if (!session_ || frozen_)
        return;
    std::vector<trace::ExitRecord> fresh;
    for (size_t vcpu = 0; vcpu < session_->vcpuCount(); ++vcpu) {
        auto records = session_->machine().vcpu(vcpu).trace().drain(lastSequence_[vcpu]);
        if (records.empty())
            continue;
        lastSequence_[vcpu] = records.back().sequence;
        // Only the newest maxRows_ of a burst can be shown anyway.
        const size_t keep = std::min(records.size(), static_cast<size_t>(maxRows_));
        fresh.insert(fresh.end(), records.end() - static_cast<std::ptrdiff_t>(keep), records.end());
    }
    append(std::move(fresh));
}

void RecentExitsModel::append(std::vector<trace::ExitRecord> fresh) {
    if (fresh.empty())
        return;
    std::stable_sort(fresh.begin(), fresh.end(),
                     [](const auto& a, const auto& b) { return a.timestampNs < b.timestampNs; });
    if (firstTimestampNs_ == 0)
        firstTimestampNs_ = fresh.front().timestampNs;
    // Of more records than the table holds, only the newest can stay.
    const auto capacity = static_cast<size_t>(maxRows_);
    if (fresh.size() > capacity)
        fresh.erase(fresh.begin(), fresh.end() - static_cast<std::ptrdiff_t>(capacity));
    // The rows the new ones push out go before the new ones come, so the table never holds more
    // than maxRows_. The Exits dock scrolls to the newest row on rowsInserted: inserted first, it
    // scrolled to the bottom of a table about to shrink, past the end of the rows that stayed,
    // and a paint before the view's next layout showed the table blank.
    trimToMaxRows(static_cast<int>(fresh.size()));
    const int first = static_cast<int>(rows_.size());
    beginInsertRows({}, first, first + static_cast<int>(fresh.size()) - 1);
    rows_.insert(rows_.end(), fresh.begin(), fresh.end());
    endInsertRows();
}

void RecentExitsModel::trimToMaxRows(int incoming) {
    const int excess = static_cast<int>(rows_.size()) + incoming - maxRows_;
    if (excess <= 0)
        return;
    beginRemoveRows({}, 0, excess - 1);
    rows_.erase(rows_.begin(), rows_.begin() + excess);
    endRemoveRows();
}

QString RecentExitsModel::cellText(const trace::ExitRecord& record, int column) const {
    switch (column) {
    case TimeColumn: {
        const uint64_t ns =
            record.timestampNs >= firstTimestampNs_ ? record.timestampNs - firstTimestampNs_ : 0;
        return QString::number(static_cast<double>(ns) / 1e9, 'f', 6);
    }
    case VcpuColumn:
        return QString::number(record.vcpu);
    case ReasonColumn:
        return QString::fromLatin1(trace::exitReasonName(record.reason));
    case AccessColumn:
        if (!hasAccess(record))
            return {};
        return record.count > 1 ? QStringLiteral("%1 x%2")
                                      .arg(QString::fromLatin1(trace::toString(record.access)))
                                      .arg(record.count)
                                : QString::fromLatin1(trace::toString(record.access));
    case AddressColumn:
        return hasAccess(record) ? hex(record.address) : QString();
    case SizeColumn:
        return hasAccess(record) ? QString::number(record.size) : QString();
    case DataColumn:
        return hasAccess(record) ? hex(record.data) : QString();
    case RipColumn:
        return record.ripValid ? hex(record.rip) : QString();
    }
    return {};
}

bool RecentExitsModel::writeCsv(QIODevice& device, QString* error) const {
    QByteArray text;
    for (int column = 0; column < ColumnCount; ++column)
        text += (column ? "," : "") + headerData(column, Qt::Horizontal).toString().toUtf8();
    text += '\n';
    for (const auto& record : rows_) {
        for (int column = 0; column < ColumnCount; ++column)
            text += (column ? "," : "") + cellText(record, column).toUtf8(); // no commas in cells
        text += '\n';
    }
    if (device.write(text) != text.size()) {
        if (error)
            *error = device.errorString();
        return false;
    }
    return true;
}

bool RecentExitsModel::exportCsv(const QString& path, QString* error) const {
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate | QIODevice::Text)) {
        if (error)
            *error = tr("%1: cannot open for writing: %2").arg(path, file.errorString());
        return false;
    }
    QString writeError;
    if (!writeCsv(file, &writeError)) {
        if (error)
            *error = tr("%1: %2").arg(path, writeError);
        return false;
    }
    return true;
}

int RecentExitsModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int RecentExitsModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant RecentExitsModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= static_cast<int>(rows_.size()))
        return {};
    if (role == Qt::DisplayRole)
        return cellText(rows_[static_cast<size_t>(index.row())], index.column());
    return {};
}

QVariant RecentExitsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case TimeColumn:
        return tr("Time (s)");
    case VcpuColumn:
        return tr("vcpu");
    case ReasonColumn:
        return tr("Reason");
    case AccessColumn:
        return tr("Access");
    case AddressColumn:
        return tr("Port/address");
    case SizeColumn:
        return tr("Size");
    case DataColumn:
        return tr("Data");
    case RipColumn:
        return tr("RIP");
    }
    return {};
}

} // namespace kvmscope::ui
