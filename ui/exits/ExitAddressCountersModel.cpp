#include "exits/ExitAddressCountersModel.h"

#include "machine/Machine.h"
#include "session/MachineSession.h"

namespace kvmscope::ui {
namespace {

bool isPort(trace::AccessKind access) {
    return access == trace::AccessKind::PortIn || access == trace::AccessKind::PortOut;
}

QString directionText(trace::AccessKind access) {
    switch (access) {
    case trace::AccessKind::PortIn:
        return QStringLiteral("in");
    case trace::AccessKind::PortOut:
        return QStringLiteral("out");
    case trace::AccessKind::MmioRead:
        return QStringLiteral("read");
    case trace::AccessKind::MmioWrite:
        return QStringLiteral("write");
    case trace::AccessKind::None:
        break;
    }
    return {};
}

} // namespace

ExitAddressCountersModel::ExitAddressCountersModel(QObject* parent) : QAbstractTableModel(parent) {}

void ExitAddressCountersModel::setSession(MachineSession* session) {
    if (session_ == session)
        return;
    if (session_)
        disconnect(session_, nullptr, this, nullptr);
    session_ = session;
    clear();
    if (session_) {
        connect(session_, &MachineSession::statisticsUpdated, this,
                &ExitAddressCountersModel::update);
        // A reset boots a new machine whose counters start at zero, on another bus layout.
        connect(session_, &MachineSession::machineAboutToBeReplaced, this,
                &ExitAddressCountersModel::clear);
    }
    update();
}

void ExitAddressCountersModel::setLive(bool live) {
    if (live_ == live)
        return;
    live_ = live;
    if (live_)
        update();
    else
        sampleClock_.invalidate(); // a rate over the hidden time would mean nothing
}

void ExitAddressCountersModel::clear() {
    beginResetModel();
    rows_.clear();
    rowOfKey_.clear();
    endResetModel();
    sampleClock_.invalidate();
}

QString ExitAddressCountersModel::deviceAt(trace::AccessKind access, uint64_t address) const {
    if (!session_ || access == trace::AccessKind::None)
        return {};
    Machine& machine = session_->machine();
    const AddressBus& bus = isPort(access) ? machine.ioBus() : machine.mmioBus();
    // A PCI BAR's range is movable: rangeAt finds it too.
    const auto range = bus.rangeAt(address);
    return range ? QString::fromStdString(range->owner) : QString();
}

void ExitAddressCountersModel::update() {
    if (!live_ || !session_)
        return;
    // Sum the vcpus' tables; each vcpu's overflow bucket adds to one "other addresses" row.
    std::map<Key, std::pair<quint64, quint64>> totals; // exits, bytes
    Machine& machine = session_->machine();
    for (size_t vcpu = 0; vcpu < machine.vcpuCount(); ++vcpu) {
        const auto snapshot = machine.vcpu(vcpu).addressCounters().snapshot();
        for (const auto& entry : snapshot.entries) {
            auto& total = totals[{entry.access, entry.address}];
            total.first += entry.exits;
            total.second += entry.bytes;
        }
        if (snapshot.overflowExits > 0) {
            auto& total = totals[{trace::AccessKind::None, 0}];
            total.first += snapshot.overflowExits;
            total.second += snapshot.overflowBytes;
        }
    }
    const double seconds =
        sampleClock_.isValid() ? static_cast<double>(sampleClock_.restart()) / 1000.0 : 0.0;
    if (!sampleClock_.isValid())
        sampleClock_.start();

    std::vector<Row> added;
    for (const auto& [key, total] : totals) {
        const auto found = rowOfKey_.find(key);
        if (found == rowOfKey_.end()) {
            added.push_back(Row{key.first, key.second, deviceAt(key.first, key.second), total.first,
                                total.second, 0.0});
            continue;
        }
        Row& row = rows_[found->second];
        // Counters only grow within one machine; the rate is over the last sample interval.
        row.rate = seconds > 0 && total.first >= row.exits
                       ? static_cast<double>(total.first - row.exits) / seconds
                       : 0.0;
        row.exits = total.first;
        row.bytes = total.second;
    }
    if (!rows_.empty())
        Q_EMIT dataChanged(index(0, ExitsColumn),
                           index(static_cast<int>(rows_.size()) - 1, BytesColumn));
    if (!added.empty()) {
        const int first = static_cast<int>(rows_.size());
        beginInsertRows({}, first, first + static_cast<int>(added.size()) - 1);
        for (Row& row : added) {
            rowOfKey_.emplace(Key{row.access, row.address}, rows_.size());
            rows_.push_back(std::move(row));
        }
        endInsertRows();
    }
}

int ExitAddressCountersModel::rowOf(trace::AccessKind access, uint64_t address) const {
    const auto found = rowOfKey_.find({access, address});
    return found == rowOfKey_.end() ? -1 : static_cast<int>(found->second);
}

int ExitAddressCountersModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int ExitAddressCountersModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ExitAddressCountersModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= static_cast<int>(rows_.size()))
        return {};
    const Row& row = rows_[static_cast<size_t>(index.row())];
    const bool overflow = row.access == trace::AccessKind::None;
    const int column = index.column();
    if (role == Qt::TextAlignmentRole && column >= ExitsColumn)
        return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
    if (role == Qt::ToolTipRole && overflow)
        return tr("Each vcpu counts up to %1 ports and MMIO addresses on their own; exits at "
                  "further addresses are counted here together")
            .arg(kMaxAddressesPerVcpu);
    if (role == SortRole) {
        switch (column) {
        case AddressColumn:
            // The overflow row sorts after every address.
            return QVariant::fromValue<qulonglong>(overflow ? ~0ull : row.address);
        case ExitsColumn:
            return QVariant::fromValue<qulonglong>(row.exits);
        case RateColumn:
            return row.rate;
        case BytesColumn:
            return QVariant::fromValue<qulonglong>(row.bytes);
        default:
            return data(index, Qt::DisplayRole);
        }
    }
    if (role != Qt::DisplayRole)
        return {};
    switch (column) {
    case AddressColumn:
        return overflow ? tr("other addresses") : QStringLiteral("0x%1").arg(row.address, 0, 16);
    case KindColumn:
        return overflow ? QString() : isPort(row.access) ? tr("PIO") : tr("MMIO");
    case DirectionColumn:
        return directionText(row.access);
    case DeviceColumn:
        return row.device;
    case ExitsColumn:
        return QVariant::fromValue<qulonglong>(row.exits);
    case RateColumn:
        return QString::number(row.rate, 'f', 1);
    case BytesColumn:
        return QVariant::fromValue<qulonglong>(row.bytes);
    }
    return {};
}

QVariant ExitAddressCountersModel::headerData(int section, Qt::Orientation orientation,
                                              int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case AddressColumn:
        return tr("Port/address");
    case KindColumn:
        return tr("Kind");
    case DirectionColumn:
        return tr("Direction");
    case DeviceColumn:
        return tr("Device");
    case ExitsColumn:
        return tr("Exits");
    case RateColumn:
        return tr("Rate /s");
    case BytesColumn:
        return tr("Bytes");
    }
    return {};
}

} // namespace kvmscope::ui
