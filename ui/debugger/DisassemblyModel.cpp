#include "debugger/DisassemblyModel.h"

#include "debugger/BreakpointsModel.h"

#include <QBrush>
#include <QColor>
#include <QFont>

namespace kvmscope::ui {
namespace {

QString hex(uint64_t value, int digits) {
    return QStringLiteral("%1").arg(value, digits, 16, QLatin1Char('0'));
}

} // namespace

DisassemblyModel::DisassemblyModel(BreakpointsModel* breakpoints, QObject* parent)
    : QAbstractTableModel(parent), breakpoints_(breakpoints) {
    if (breakpoints_)
        connect(breakpoints_, &BreakpointsModel::breakpointsChanged, this, [this] {
            if (!rows_.empty())
                Q_EMIT dataChanged(index(0, GutterColumn),
                                   index(static_cast<int>(rows_.size()) - 1, GutterColumn));
        });
}

void DisassemblyModel::setSnapshot(const inspect::VcpuSnapshot& snapshot,
                                   const inspect::GuestView& guest) {
    snapshot_ = snapshot;
    guest_ = guest;
    vcpu_ = snapshot.vcpu;
    stale_ = false;
    list();
}

void DisassemblyModel::setStale(size_t vcpu) {
    vcpu_ = vcpu;
    stale_ = true;
    // Never wait for a running vcpu: the listing stays that of the last stop.
    setStatus(rows_.empty() ? tr("vcpu %1 running: no listing yet").arg(vcpu_)
                            : tr("vcpu %1 running: the listing of the last stop").arg(vcpu_));
}

void DisassemblyModel::clear() {
    anchor_.reset();
    beginResetModel();
    rows_.clear();
    pc_.reset();
    snapshot_.reset();
    guest_ = {};
    stale_ = false;
    endResetModel();
    setStatus(tr("no machine"));
}

void DisassemblyModel::goTo(uint64_t address) {
    anchor_ = address;
    list();
}

void DisassemblyModel::followPc() {
    anchor_.reset();
    list();
}

bool DisassemblyModel::follow(int row) {
    if (row < 0 || row >= static_cast<int>(rows_.size()))
        return false;
    const auto target = rows_[static_cast<size_t>(row)].target;
    if (!target)
        return false;
    goTo(*target);
    return true;
}

void DisassemblyModel::setStatus(const QString& status) {
    if (status == status_)
        return;
    status_ = status;
    Q_EMIT statusChanged(status_);
}

void DisassemblyModel::list() {
    if (!snapshot_) {
        setStatus(guest_.valid() ? tr("vcpu %1: state unavailable").arg(vcpu_) : tr("no machine"));
        return;
    }
    if (stale_)
        return; // the listing of the last stop stays until the next one
    const inspect::VcpuSnapshot& at = *snapshot_;
    std::vector<debug::Instruction> rows;
    try {
        rows = anchor_ ? guest_.disassemble(at, *anchor_, kListing)
                       : guest_.disassembleAroundPc(at, kBeforePc, kAfterPc);
    } catch (const std::exception& error) {
        setStatus(QString::fromUtf8(error.what()));
        return;
    }
    beginResetModel();
    rows_ = std::move(rows);
    pc_ = at.pc;
    mode_ = at.codeMode();
    endResetModel();
    const uint64_t start = anchor_ ? *anchor_ : *pc_;
    if (rows_.empty())
        setStatus(tr("vcpu %1: nothing to decode at 0x%2 (unmapped, or not an instruction)")
                      .arg(vcpu_)
                      .arg(start, 0, 16));
    else
        setStatus(tr("vcpu %1, %2 code%3")
                      .arg(vcpu_)
                      .arg(QString::fromLatin1(debug::toString(mode_)))
                      .arg(anchor_ ? tr(", from 0x%1").arg(*anchor_, 0, 16) : tr(", around RIP")));
}

int DisassemblyModel::rowOf(uint64_t address) const {
    for (size_t row = 0; row < rows_.size(); ++row)
        if (rows_[row].address == address)
            return static_cast<int>(row);
    return -1;
}

int DisassemblyModel::currentRow() const {
    return pc_ ? rowOf(*pc_) : -1;
}

int DisassemblyModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int DisassemblyModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant DisassemblyModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= static_cast<int>(rows_.size()))
        return {};
    const debug::Instruction& insn = rows_[static_cast<size_t>(index.row())];
    const bool current = pc_ && insn.address == *pc_;
    const auto marker =
        breakpoints_ ? breakpoints_->markerAt(insn.address) : BreakpointsModel::Marker::None;
    switch (role) {
    case AddressRole:
        return QVariant::fromValue<quint64>(insn.address);
    case CurrentRole:
        return current;
    case TargetRole:
        return insn.target ? QVariant::fromValue<quint64>(*insn.target) : QVariant();
    case Qt::BackgroundRole:
        if (current)
            return QBrush(stale_ ? QColor(0xe0, 0xe0, 0xe0) : QColor(0xff, 0xf0, 0x9a));
        return {};
    case Qt::ForegroundRole:
        if (index.column() == GutterColumn)
            return QColor(marker == BreakpointsModel::Marker::Enabled ? Qt::red : Qt::gray);
        if (index.column() == SymbolColumn || index.column() == BytesColumn)
            return QColor(Qt::darkGray);
        return {};
    case Qt::FontRole:
        if (index.column() == AddressColumn || index.column() == BytesColumn ||
            index.column() == InstructionColumn) {
            QFont font(QStringLiteral("monospace"));
            font.setStyleHint(QFont::Monospace);
            font.setBold(current && index.column() != BytesColumn);
            return font;
        }
        return {};
    case Qt::ToolTipRole:
        if (index.column() == GutterColumn)
            return marker == BreakpointsModel::Marker::None ? tr("Click to set a breakpoint here")
                                                            : tr("Click to remove this breakpoint");
        if (insn.target)
            return tr("Double-click to follow to 0x%1").arg(*insn.target, 0, 16);
        return {};
    case Qt::DisplayRole:
        break;
    default:
        return {};
    }
    switch (index.column()) {
    case GutterColumn: {
        QString text = marker == BreakpointsModel::Marker::Enabled    ? QStringLiteral("●")
                       : marker == BreakpointsModel::Marker::Disabled ? QStringLiteral("○")
                                                                      : QString();
        return current ? text + QStringLiteral("▶") : text;
    }
    case AddressColumn:
        return hex(insn.address, mode_ == debug::CodeMode::Long64 ? 16 : 8);
    case SymbolColumn:
        return QString::fromStdString(insn.symbol);
    case BytesColumn: {
        QString bytes;
        for (unsigned i = 0; i < insn.length; ++i)
            bytes +=
                hex(insn.bytes[i], 2) + (i + 1 < insn.length ? QStringLiteral(" ") : QString());
        return bytes;
    }
    case InstructionColumn:
        return QString::fromStdString(insn.text);
    default:
        return {};
    }
}

QVariant DisassemblyModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case GutterColumn:
        return QString();
    case AddressColumn:
        return tr("Address");
    case SymbolColumn:
        return tr("Symbol");
    case BytesColumn:
        return tr("Bytes");
    case InstructionColumn:
        return tr("Instruction");
    default:
        return {};
    }
}

} // namespace kvmscope::ui
