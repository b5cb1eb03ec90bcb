#include "debugger/CpuTablesModel.h"

#include "debug/Debugger.h"
#include "debugger/DebugTarget.h"
#include "session/MachineSession.h"

#include <QFont>
#include <QFontDatabase>

namespace kvmscope::ui {
namespace {

QString hex(uint64_t value, int digits = 0) {
    return QStringLiteral("0x%1").arg(value, digits, 16, QLatin1Char('0'));
}

QString rawText(const std::array<uint8_t, 16>& raw, unsigned size) {
    // As the guest's code wrote it: the little-endian quadwords, highest first.
    QStringList words;
    for (unsigned at = 0; at < size; at += 8) {
        uint64_t word = 0;
        const unsigned n = std::min(8u, size - at);
        for (unsigned i = 0; i < n; ++i)
            word |= uint64_t{raw[at + i]} << (8 * i);
        words.prepend(
            QStringLiteral("%1").arg(word, static_cast<int>(2 * n), 16, QLatin1Char('0')));
    }
    return words.join(QLatin1Char(' '));
}

QString yesNo(bool value) {
    return value ? QStringLiteral("yes") : QStringLiteral("no");
}

} // namespace

CpuTablesModel::CpuTablesModel(QObject* parent) : QAbstractTableModel(parent) {}

void CpuTablesModel::setSession(MachineSession* session) {
    session_ = session;
}

void CpuTablesModel::setTable(Table table) {
    if (table == table_)
        return;
    beginResetModel();
    table_ = table;
    read();
    endResetModel();
}

void CpuTablesModel::setSnapshot(const inspect::VcpuSnapshot& snapshot,
                                 const inspect::GuestView& guest) {
    beginResetModel();
    snapshot_ = snapshot;
    guest_ = guest;
    stale_ = false;
    read();
    endResetModel();
}

void CpuTablesModel::setStale() {
    if (stale_)
        return;
    stale_ = true;
    summary_ = tr("The vcpu runs: the tables as of its last stop");
    Q_EMIT summaryChanged(summary_);
}

void CpuTablesModel::clear() {
    beginResetModel();
    snapshot_.reset();
    guest_ = {};
    descriptors_.clear();
    gates_.clear();
    task_ = {};
    summary_.clear();
    endResetModel();
    Q_EMIT summaryChanged(summary_);
}

void CpuTablesModel::read() {
    descriptors_.clear();
    gates_.clear();
    task_ = {};
    summary_.clear();
    if (!snapshot_ || !guest_.valid()) {
        Q_EMIT summaryChanged(summary_);
        return;
    }
    const kvm_sregs& sregs = snapshot_->cpu.sregs;
    const inspect::TableMode mode = inspect::tableModeOf(sregs);
    const QString inMode = mode == inspect::TableMode::Long        ? tr("IA-32e mode")
                           : mode == inspect::TableMode::Protected ? tr("protected mode")
                                                                   : tr("real mode");
    switch (table_) {
    case Table::Gdt:
        descriptors_ = inspect::readGdt(guest_, *snapshot_);
        summary_ = tr("GDT at %1, limit %2: %3 entries (%4)")
                       .arg(hex(sregs.gdt.base), hex(sregs.gdt.limit))
                       .arg(descriptors_.size())
                       .arg(inMode);
        break;
    case Table::Ldt:
        descriptors_ = inspect::readLdt(guest_, *snapshot_);
        summary_ =
            descriptors_.empty()
                ? tr("No LDT loaded (LDTR selector %1)").arg(hex(sregs.ldt.selector, 4))
                : tr("LDT %1 at %2, limit %3: %4 entries")
                      .arg(hex(sregs.ldt.selector, 4), hex(sregs.ldt.base), hex(sregs.ldt.limit))
                      .arg(descriptors_.size());
        break;
    case Table::Idt:
        gates_ = inspect::readIdt(guest_, *snapshot_);
        summary_ =
            tr("%1 at %2, limit %3: %4 vectors (%5)")
                .arg(mode == inspect::TableMode::Real ? tr("Interrupt vector table") : tr("IDT"),
                     hex(sregs.idt.base), hex(sregs.idt.limit))
                .arg(gates_.size())
                .arg(inMode);
        break;
    case Table::Tss:
        task_ = inspect::readTaskState(guest_, *snapshot_);
        summary_ = task_.present
                       ? tr("%1, TR %2 at %3, limit %4%5")
                             .arg(QString::fromStdString(task_.kind), hex(task_.selector, 4),
                                  hex(task_.base), hex(task_.limit),
                                  task_.readable ? QString() : tr(" (not all of it readable)"))
                       : QString::fromStdString(task_.kind);
        break;
    }
    Q_EMIT summaryChanged(summary_);
}

QString CpuTablesModel::symbolFor(uint64_t address) const {
    return QString::fromStdString(guest_.symbols().describe(address));
}

int CpuTablesModel::rowCount(const QModelIndex& parent) const {
    if (parent.isValid())
        return 0;
    switch (table_) {
    case Table::Gdt:
    case Table::Ldt:
        return static_cast<int>(descriptors_.size());
    case Table::Idt:
        return static_cast<int>(gates_.size());
    case Table::Tss:
        return static_cast<int>(task_.fields.size());
    }
    return 0;
}

int CpuTablesModel::columnCount(const QModelIndex& parent) const {
    if (parent.isValid())
        return 0;
    switch (table_) {
    case Table::Gdt:
    case Table::Ldt:
        return DescriptorColumnCount;
    case Table::Idt:
        return GateColumnCount;
    case Table::Tss:
        return TaskColumnCount;
    }
    return 0;
}

QVariant CpuTablesModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    static const char* const descriptorHeaders[] = {
        QT_TR_NOOP("Selector"), QT_TR_NOOP("Kind"), QT_TR_NOOP("Base"), QT_TR_NOOP("Limit"),
        QT_TR_NOOP("DPL"),      QT_TR_NOOP("P"),    QT_TR_NOOP("Type"), QT_TR_NOOP("Raw")};
    static const char* const gateHeaders[] = {
        QT_TR_NOOP("Vector"),  QT_TR_NOOP("Kind"), QT_TR_NOOP("Selector:offset"),
        QT_TR_NOOP("Handler"), QT_TR_NOOP("DPL"),  QT_TR_NOOP("P"),
        QT_TR_NOOP("IST"),     QT_TR_NOOP("Raw")};
    static const char* const taskHeaders[] = {QT_TR_NOOP("Field"), QT_TR_NOOP("Offset"),
                                              QT_TR_NOOP("Value")};
    switch (table_) {
    case Table::Gdt:
    case Table::Ldt:
        return section < DescriptorColumnCount ? tr(descriptorHeaders[section]) : QVariant();
    case Table::Idt:
        return section < GateColumnCount ? tr(gateHeaders[section]) : QVariant();
    case Table::Tss:
        return section < TaskColumnCount ? tr(taskHeaders[section]) : QVariant();
    }
    return {};
}

QVariant CpuTablesModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= rowCount())
        return {};
    const int row = index.row();
    const int column = index.column();
    if (role == Qt::FontRole)
        return QFontDatabase::systemFont(QFontDatabase::FixedFont);
    if (role == Qt::ToolTipRole && table_ == Table::Idt && column == HandlerColumn &&
        !gates_[static_cast<size_t>(row)].targetKnown)
        return tr("The handler's linear address needs its code segment's base, which could not "
                  "be read (or the gate names a TSS)");
    if (role != Qt::DisplayRole && role != Qt::EditRole)
        return {};
    if (table_ == Table::Gdt || table_ == Table::Ldt) {
        const inspect::SegmentDescriptor& d = descriptors_[static_cast<size_t>(row)];
        if (!d.readable)
            return column == SelectorColumn ? hex(d.selector, 4)
                   : column == KindColumn   ? QString::fromStdString(d.kind)
                                            : QVariant();
        switch (column) {
        case SelectorColumn:
            return hex(d.selector, 4);
        case KindColumn:
            return QString::fromStdString(d.kind);
        case BaseColumn:
            return d.null ? QVariant() : QVariant(hex(d.base));
        case LimitColumn:
            return d.null ? QVariant() : QVariant(hex(d.limit));
        case DplColumn:
            return d.null ? QVariant() : QVariant(d.dpl);
        case PresentColumn:
            return d.null ? QVariant() : QVariant(yesNo(d.present));
        case FlagsColumn:
            return QString::fromStdString(d.flags);
        case RawColumn:
            return rawText(d.raw, d.size);
        default:
            return {};
        }
    }
    if (table_ == Table::Idt) {
        const inspect::GateDescriptor& g = gates_[static_cast<size_t>(row)];
        if (!g.readable)
            return column == VectorColumn     ? QVariant(g.vector)
                   : column == GateKindColumn ? QVariant(QString::fromStdString(g.kind))
                                              : QVariant();
        const bool empty = g.kind == "empty";
        switch (column) {
        case VectorColumn:
            return g.vector;
        case GateKindColumn:
            return QString::fromStdString(g.kind);
        case GateTargetColumn:
            return empty ? QVariant()
                         : QVariant(QStringLiteral("%1:%2").arg(hex(g.selector, 4), hex(g.offset)));
        case HandlerColumn: {
            if (empty || !g.targetKnown)
                return {};
            const QString symbol = symbolFor(g.target);
            return symbol.isEmpty() ? hex(g.target) : hex(g.target) + QLatin1Char(' ') + symbol;
        }
        case GateDplColumn:
            return empty || g.size == 4 ? QVariant() : QVariant(g.dpl);
        case GatePresentColumn:
            return empty ? QVariant() : QVariant(yesNo(g.present));
        case IstColumn:
            return g.size == 16 && !empty ? QVariant(g.ist) : QVariant();
        case GateRawColumn:
            return rawText(g.raw, g.size);
        default:
            return {};
        }
    }
    const inspect::TaskStateField& field = task_.fields[static_cast<size_t>(row)];
    switch (column) {
    case FieldColumn:
        return QString::fromStdString(field.name);
    case OffsetColumn:
        return hex(field.offset, 2);
    case ValueColumn: {
        const QString value = hex(field.value, static_cast<int>(2 * field.size));
        if (role == Qt::EditRole)
            return value;
        const QString symbol = field.size == 8 ? symbolFor(field.value) : QString();
        return symbol.isEmpty() ? value : value + QLatin1Char(' ') + symbol;
    }
    default:
        return {};
    }
}

std::optional<std::pair<uint64_t, unsigned>> CpuTablesModel::rawPlace(int row) const {
    if (row < 0 || row >= rowCount())
        return std::nullopt;
    switch (table_) {
    case Table::Gdt:
    case Table::Ldt: {
        const inspect::SegmentDescriptor& d = descriptors_[static_cast<size_t>(row)];
        return d.readable ? std::optional(std::pair(d.linear, d.size)) : std::nullopt;
    }
    case Table::Idt: {
        const inspect::GateDescriptor& g = gates_[static_cast<size_t>(row)];
        return g.readable ? std::optional(std::pair(g.linear, g.size)) : std::nullopt;
    }
    case Table::Tss: {
        const inspect::TaskStateField& f = task_.fields[static_cast<size_t>(row)];
        return std::pair(task_.base + f.offset, f.size);
    }
    }
    return std::nullopt;
}

Qt::ItemFlags CpuTablesModel::flags(const QModelIndex& index) const {
    Qt::ItemFlags flags = QAbstractTableModel::flags(index);
    if (!index.isValid())
        return flags;
    const bool rawColumn = (table_ == Table::Gdt || table_ == Table::Ldt)
                               ? index.column() == RawColumn
                           : table_ == Table::Idt ? index.column() == GateRawColumn
                                                  : index.column() == ValueColumn;
    // Paused (or not started yet): a stopped machine's tables are for reading only.
    if (rawColumn && !stale_ && session_ && session_->canRun() && rawPlace(index.row()))
        flags |= Qt::ItemIsEditable;
    return flags;
}

bool CpuTablesModel::setData(const QModelIndex& index, const QVariant& value, int role) {
    if (role != Qt::EditRole || !(flags(index) & Qt::ItemIsEditable))
        return false;
    return writeRaw(index.row(), value.toString());
}

bool CpuTablesModel::writeRaw(int row, const QString& text) {
    const auto place = rawPlace(row);
    if (!place || !session_ || !snapshot_)
        return false;
    const auto [linear, size] = *place;
    // The same form as shown: quadwords, highest first, separated by spaces ("0x" optional).
    QStringList words = text.simplified().split(QLatin1Char(' '), Qt::SkipEmptyParts);
    std::array<uint8_t, 16> bytes{};
    const unsigned wordBytes = std::min(8u, size);
    bool ok = words.size() == static_cast<qsizetype>((size + 7) / 8);
    for (qsizetype i = 0; ok && i < words.size(); ++i) {
        QString word = words[words.size() - 1 - i];
        if (word.startsWith(QLatin1String("0x"), Qt::CaseInsensitive))
            word = word.mid(2);
        const uint64_t value = word.toULongLong(&ok, 16);
        if (ok && wordBytes < 8 && value >> (8 * wordBytes))
            ok = false;
        for (unsigned b = 0; ok && b < wordBytes; ++b)
            bytes[static_cast<size_t>(i) * 8 + b] = static_cast<uint8_t>(value >> (8 * b));
    }
    if (!ok) {
        Q_EMIT errorOccurred(tr("'%1' is not %2 in hexadecimal")
                                 .arg(text, size > 8 ? tr("two quadwords, highest first")
                                                     : tr("a %1-byte value").arg(size)));
        return false;
    }
    if (!session_->vcpuInspectable(snapshot_->vcpu)) {
        Q_EMIT errorOccurred(tr("the tables can be edited while the machine is paused"));
        return false;
    }
    try {
        debug::Debugger& debugger = debuggerOf(*session_);
        if (debugger.guest().writeLinear(snapshot_->vcpu, linear, bytes.data(), size) != size) {
            Q_EMIT errorOccurred(tr("%1 is not mapped").arg(hex(linear)));
            return false;
        }
    } catch (const std::exception& error) {
        Q_EMIT errorOccurred(QString::fromUtf8(error.what()));
        return false;
    }
    // Read back what the guest now has.
    beginResetModel();
    read();
    endResetModel();
    return true;
}

} // namespace kvmscope::ui
