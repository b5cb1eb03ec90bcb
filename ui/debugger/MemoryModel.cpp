#include "debugger/MemoryModel.h"

#include "debug/Debugger.h"
#include "debugger/DebugTarget.h"
#include "session/MachineSession.h"

#include <QColor>
#include <QFont>
#include <algorithm>

namespace kvmscope::ui {
namespace {

constexpr uint64_t kPage = 0x1000;

} // namespace

MemoryModel::MemoryModel(QObject* parent) : QAbstractTableModel(parent) {}

void MemoryModel::setSession(MachineSession* session) {
    session_ = session;
}

void MemoryModel::clear() {
    snapshot_.reset();
    guest_ = {};
    vcpu_ = 0;
    stale_ = false;
    previous_.clear();
    previousValid_.clear();
    beginResetModel();
    bytes_.clear();
    valid_.clear();
    endResetModel();
    setStatus(tr("no machine"));
}

void MemoryModel::setSnapshot(const inspect::VcpuSnapshot& snapshot,
                              const inspect::GuestView& guest) {
    // A new stop of the vcpu shown: the bytes of the last one are what the new ones are compared
    // with. Another vcpu selected, or a snapshot taken again at the same stop (an edit), is no
    // new stop: the comparison stays with the last one.
    const bool newStop =
        !snapshot_ || (snapshot_->vcpu == snapshot.vcpu && snapshot_->stop != snapshot.stop);
    snapshot_ = snapshot;
    guest_ = guest;
    vcpu_ = snapshot.vcpu;
    stale_ = false;
    refresh(newStop);
}

void MemoryModel::setStale(size_t vcpu) {
    vcpu_ = vcpu;
    stale_ = true;
    refresh(false);
}

void MemoryModel::setSpace(Space space) {
    if (space == space_)
        return;
    space_ = space;
    previous_.clear();
    previousValid_.clear();
    refresh(true);
}

void MemoryModel::goTo(uint64_t address) {
    base_ = address & ~uint64_t(kBytesPerRow - 1);
    refresh(false);
}

void MemoryModel::setRowCount(int rows) {
    rows_ = std::max(1, rows);
    refresh(false);
}

void MemoryModel::setStatus(const QString& status) {
    if (status == status_)
        return;
    status_ = status;
    Q_EMIT statusChanged(status_);
}

bool MemoryModel::read() {
    const size_t size = static_cast<size_t>(rows_) * kBytesPerRow;
    if (stale_ || !snapshot_ || !guest_.valid())
        return false;
    std::vector<uint8_t> bytes(size, 0);
    std::vector<bool> valid(size, false);
    // Page by page: a view can straddle RAM's end or an unmapped page, and the rest must show.
    for (size_t offset = 0; offset < size;) {
        const uint64_t at = base_ + offset;
        const size_t chunk =
            static_cast<size_t>(std::min<uint64_t>(size - offset, kPage - (at % kPage)));
        const size_t got = space_ == Space::Physical
                               ? (guest_.readPhysical(at, bytes.data() + offset, chunk) ? chunk : 0)
                               : guest_.readLinear(*snapshot_, at, bytes.data() + offset, chunk);
        std::fill(valid.begin() + static_cast<ptrdiff_t>(offset),
                  valid.begin() + static_cast<ptrdiff_t>(offset + got), true);
        offset += chunk;
    }
    // The same number of rows: new values in place. A reset would destroy an open editor while
    // the view commits it (an edit is read back at once), which Qt warns about.
    if (bytes.size() == bytes_.size() && rowCount() > 0) {
        bytes_ = std::move(bytes);
        valid_ = std::move(valid);
        Q_EMIT dataChanged(index(0, 0), index(rowCount() - 1, columnCount() - 1));
        return true;
    }
    beginResetModel();
    bytes_ = std::move(bytes);
    valid_ = std::move(valid);
    endResetModel();
    return true;
}

void MemoryModel::refresh(bool newStop) {
    if (newStop && !bytes_.empty()) {
        previous_ = bytes_;
        previousValid_ = valid_;
        previousBase_ = base_;
    }
    if (!guest_.valid()) {
        beginResetModel();
        bytes_.clear();
        valid_.clear();
        endResetModel();
        setStatus(tr("no machine"));
        return;
    }
    stale_ = !read();
    const QString space =
        space_ == Space::Physical ? tr("guest-physical") : tr("guest-virtual (vcpu %1)").arg(vcpu_);
    if (stale_)
        setStatus(
            tr("%1 at 0x%2 — running: the bytes of the last stop").arg(space).arg(base_, 0, 16));
    else
        setStatus(tr("%1 at 0x%2 — double-click a byte to edit it").arg(space).arg(base_, 0, 16));
}

std::optional<uint8_t> MemoryModel::byteAt(uint64_t address) const {
    if (address < base_ || address - base_ >= bytes_.size())
        return std::nullopt;
    const size_t offset = static_cast<size_t>(address - base_);
    if (!valid_[offset])
        return std::nullopt;
    return bytes_[offset];
}

QModelIndex MemoryModel::indexOf(uint64_t address) const {
    if (address < base_ || address - base_ >= bytes_.size())
        return {};
    const auto offset = static_cast<int>(address - base_);
    return index(offset / kBytesPerRow, FirstByteColumn + offset % kBytesPerRow);
}

int MemoryModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(bytes_.size() / kBytesPerRow);
}

int MemoryModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant MemoryModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid())
        return {};
    const size_t rowStart = static_cast<size_t>(index.row()) * kBytesPerRow;
    if (role == Qt::FontRole) {
        QFont font(QStringLiteral("monospace"));
        font.setStyleHint(QFont::Monospace);
        return font;
    }
    if (index.column() == AddressColumn) {
        if (role == Qt::DisplayRole)
            return QStringLiteral("%1").arg(base_ + rowStart, 16, 16, QLatin1Char('0'));
        if (role == Qt::ForegroundRole)
            return QColor(Qt::darkGray);
        return {};
    }
    if (index.column() == AsciiColumn) {
        if (role != Qt::DisplayRole)
            return {};
        QString text;
        for (size_t i = rowStart; i < rowStart + kBytesPerRow && i < bytes_.size(); ++i)
            text += !valid_[i] ? QLatin1Char(' ')
                    : bytes_[i] >= 0x20 && bytes_[i] < 0x7f
                        ? QLatin1Char(static_cast<char>(bytes_[i]))
                        : QLatin1Char('.');
        return text;
    }
    const size_t offset = rowStart + static_cast<size_t>(index.column() - FirstByteColumn);
    if (offset >= bytes_.size())
        return {};
    const uint64_t address = base_ + offset;
    bool changed = false;
    if (valid_[offset] && !previous_.empty() && address >= previousBase_ &&
        address - previousBase_ < previous_.size()) {
        const size_t before = static_cast<size_t>(address - previousBase_);
        changed = previousValid_[before] && previous_[before] != bytes_[offset];
    }
    switch (role) {
    case Qt::DisplayRole:
    case Qt::EditRole:
        return valid_[offset] ? QStringLiteral("%1").arg(bytes_[offset], 2, 16, QLatin1Char('0'))
                              : QStringLiteral("??");
    case Qt::ForegroundRole:
        if (!valid_[offset])
            return QColor(Qt::gray);
        return changed ? QColor(Qt::red) : QVariant();
    case Qt::ToolTipRole:
        return QStringLiteral("0x%1").arg(address, 0, 16);
    case ChangedRole:
        return changed;
    default:
        return {};
    }
}

QVariant MemoryModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    if (section == AddressColumn)
        return tr("Address");
    if (section == AsciiColumn)
        return tr("ASCII");
    return QStringLiteral("%1").arg(section - FirstByteColumn, 0, 16).toUpper();
}

Qt::ItemFlags MemoryModel::flags(const QModelIndex& index) const {
    Qt::ItemFlags flags = QAbstractTableModel::flags(index);
    if (!index.isValid() || index.column() < FirstByteColumn || index.column() >= AsciiColumn)
        return flags;
    const size_t offset = static_cast<size_t>(index.row()) * kBytesPerRow +
                          static_cast<size_t>(index.column() - FirstByteColumn);
    // Paused (or not started yet): a stopped machine's memory is for reading only.
    if (offset < valid_.size() && valid_[offset] && !stale_ && session_ && session_->canRun())
        flags |= Qt::ItemIsEditable;
    return flags;
}

bool MemoryModel::setData(const QModelIndex& index, const QVariant& value, int role) {
    if (role != Qt::EditRole || !(flags(index) & Qt::ItemIsEditable) || !session_)
        return false;
    bool ok = false;
    const uint value8 = value.toString().trimmed().toUInt(&ok, 16);
    if (!ok || value8 > 0xff) {
        Q_EMIT errorOccurred(tr("'%1' is not a byte in hexadecimal (00-ff)").arg(value.toString()));
        return false;
    }
    if (!session_->vcpuInspectable(vcpu_)) {
        Q_EMIT errorOccurred(tr("memory can be edited while the machine is paused"));
        return false;
    }
    const uint64_t address = base_ + static_cast<uint64_t>(index.row()) * kBytesPerRow +
                             static_cast<uint64_t>(index.column() - FirstByteColumn);
    const auto byte = static_cast<uint8_t>(value8);
    try {
        debug::Debugger& debugger = debuggerOf(*session_);
        const size_t written =
            space_ == Space::Physical
                ? debugger.guest().writePhysical(address, &byte, 1)
                : debugger.guest().writeLinear(static_cast<uint32_t>(vcpu_), address, &byte, 1);
        if (written != 1) {
            Q_EMIT errorOccurred(tr("0x%1 is not mapped").arg(address, 0, 16));
            return false;
        }
    } catch (const std::exception& error) {
        Q_EMIT errorOccurred(QString::fromUtf8(error.what()));
        return false;
    }
    // Read back what the guest will see.
    refresh(false);
    return true;
}

} // namespace kvmscope::ui
