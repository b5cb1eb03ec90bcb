#include "debugger/BreakpointsModel.h"

#include "common/Error.h"
#include "debugger/DebugTarget.h"
#include "session/MachineSession.h"
#include "trace/ExitRecord.h"

#include <QColor>
#include <algorithm>
#include <optional>

namespace kvmscope::ui {
namespace {

bool isExecution(const debug::Breakpoint& b) {
    return b.kind == debug::BreakpointKind::Software || b.kind == debug::BreakpointKind::Hardware;
}

QString hex(uint64_t value) {
    return QStringLiteral("0x%1").arg(value, 0, 16);
}

QString exitWhere(const debug::ExitBreakpoint& b) {
    switch (b.kind) {
    case debug::ExitBreakKind::ExitReason:
        return QStringLiteral("KVM_EXIT_%1")
            .arg(QString::fromLatin1(trace::exitReasonName(b.exitReason)));
    case debug::ExitBreakKind::PortWrite:
    case debug::ExitBreakKind::PortRead:
    case debug::ExitBreakKind::PortAccess:
    case debug::ExitBreakKind::MmioWrite:
    case debug::ExitBreakKind::MmioRead:
    case debug::ExitBreakKind::MmioAccess:
        break;
    }
    QString text = b.length > 1
                       ? QStringLiteral("%1-%2").arg(hex(b.address), hex(b.address + b.length - 1))
                       : hex(b.address);
    if (b.value)
        text += QStringLiteral(" = %1").arg(hex(*b.value));
    return text;
}

} // namespace

BreakpointsModel::BreakpointsModel(QObject* parent) : QAbstractTableModel(parent) {}

void BreakpointsModel::setSession(MachineSession* session) {
    beginResetModel();
    session_ = session;
    entries_.clear();
    endResetModel();
    refresh();
    Q_EMIT breakpointsChanged();
}

void BreakpointsModel::refresh() {
    std::vector<Entry> next;
    if (session_) {
        debug::Debugger& debugger = debuggerOf(*session_);
        std::vector<Entry> current;
        for (const debug::Breakpoint& b : debugger.breakpoints())
            if (!b.temporary) {
                Entry entry;
                entry.breakpoint = b;
                entry.enabled = b.enabled;
                entry.hits = static_cast<unsigned>(b.hits);
                current.push_back(entry);
            }
        for (const debug::ExitBreakpoint& b : debugger.exitBreakpoints()) {
            Entry entry;
            entry.exit = true;
            entry.exitBreakpoint = b;
            entry.enabled = b.enabled;
            entry.hits = static_cast<unsigned>(b.hits);
            current.push_back(entry);
        }
        // Known rows keep their order (ids are stable: disabling keeps them); new ones follow.
        auto take = [&current](bool exit, int id) -> std::optional<Entry> {
            const auto it = std::find_if(current.begin(), current.end(), [&](const Entry& e) {
                return e.exit == exit && e.engineId() == id;
            });
            if (it == current.end())
                return std::nullopt;
            Entry entry = std::move(*it);
            current.erase(it);
            return entry;
        };
        for (const Entry& known : entries_)
            if (auto entry = take(known.exit, known.engineId()))
                next.push_back(std::move(*entry));
        for (Entry& entry : current)
            next.push_back(std::move(entry));
    }
    beginResetModel();
    entries_ = std::move(next);
    endResetModel();
}

void BreakpointsModel::updateHits() {
    if (!session_ || entries_.empty())
        return;
    debug::Debugger& debugger = debuggerOf(*session_);
    const auto breakpoints = debugger.breakpoints();
    const auto exits = debugger.exitBreakpoints();
    for (Entry& entry : entries_) {
        if (entry.exit) {
            const auto it = std::find_if(exits.begin(), exits.end(), [&](const auto& b) {
                return b.id == entry.exitBreakpoint.id;
            });
            if (it != exits.end())
                entry.hits = static_cast<unsigned>(it->hits);
        } else {
            const auto it =
                std::find_if(breakpoints.begin(), breakpoints.end(),
                             [&](const auto& b) { return b.id == entry.breakpoint.id; });
            if (it != breakpoints.end())
                entry.hits = static_cast<unsigned>(it->hits);
        }
    }
    Q_EMIT dataChanged(index(0, HitsColumn), index(rowCount() - 1, HitsColumn));
}

void BreakpointsModel::noteStop(const debug::DebugStop& stop) {
    // The engine counted the hit on the vcpu thread before announcing the stop; this runs later,
    // on the GUI thread, so the count already includes it.
    if (stop.breakpointId != 0)
        updateHits();
}

int BreakpointsModel::addBreakpoint(uint64_t address, bool hardware) {
    if (!session_)
        throw InputError("no machine");
    debug::Debugger& debugger = debuggerOf(*session_);
    const int id =
        hardware ? debugger.addHardwareBreakpoint(address) : debugger.addBreakpoint(address);
    refresh();
    Q_EMIT breakpointsChanged();
    return id;
}

int BreakpointsModel::addWatchpoint(uint64_t address, unsigned length, bool readWrite) {
    if (!session_)
        throw InputError("no machine");
    const int id = debuggerOf(*session_).addWatchpoint(address, length, readWrite);
    refresh();
    Q_EMIT breakpointsChanged();
    return id;
}

int BreakpointsModel::addExitBreakpoint(const debug::ExitBreakpoint& breakpoint) {
    if (!session_)
        throw InputError("no machine");
    const int id = debuggerOf(*session_).addExitBreakpoint(breakpoint);
    refresh();
    Q_EMIT breakpointsChanged();
    return id;
}

void BreakpointsModel::removeEntry(int row) {
    if (row < 0 || row >= static_cast<int>(entries_.size()))
        return;
    const Entry entry = entries_[static_cast<size_t>(row)];
    if (session_) {
        debug::Debugger& debugger = debuggerOf(*session_);
        if (entry.exit)
            debugger.removeExitBreakpoint(entry.exitBreakpoint.id);
        else
            debugger.removeBreakpoint(entry.breakpoint.id);
    }
    beginRemoveRows({}, row, row);
    entries_.erase(entries_.begin() + row);
    endRemoveRows();
    Q_EMIT breakpointsChanged();
}

void BreakpointsModel::setEnabled(int row, bool enabled) {
    if (row < 0 || row >= static_cast<int>(entries_.size()) || !session_)
        return;
    Entry& entry = entries_[static_cast<size_t>(row)];
    if (entry.enabled == enabled)
        return;
    debug::Debugger& debugger = debuggerOf(*session_);
    try {
        const bool found = entry.exit
                               ? debugger.setExitBreakpointEnabled(entry.exitBreakpoint.id, enabled)
                               : debugger.setBreakpointEnabled(entry.breakpoint.id, enabled);
        if (!found) { // removed elsewhere meanwhile (a gdb client's z packet)
            refresh();
            Q_EMIT breakpointsChanged();
            return;
        }
    } catch (const std::exception& error) { // e.g. every debug register taken meanwhile
        Q_EMIT errorOccurred(QString::fromUtf8(error.what()));
        return;
    }
    // The engine's copy: a debug-register breakpoint has a new slot, or none while disabled.
    if (entry.exit) {
        for (const debug::ExitBreakpoint& b : debugger.exitBreakpoints())
            if (b.id == entry.exitBreakpoint.id)
                entry.exitBreakpoint = b;
    } else {
        for (const debug::Breakpoint& b : debugger.breakpoints())
            if (b.id == entry.breakpoint.id)
                entry.breakpoint = b;
    }
    entry.enabled = enabled;
    Q_EMIT dataChanged(index(row, 0), index(row, ColumnCount - 1));
    Q_EMIT breakpointsChanged();
}

int BreakpointsModel::findExecution(uint64_t address) const {
    for (size_t row = 0; row < entries_.size(); ++row)
        if (!entries_[row].exit && isExecution(entries_[row].breakpoint) &&
            entries_[row].breakpoint.address == address)
            return static_cast<int>(row);
    return -1;
}

bool BreakpointsModel::toggleAt(uint64_t address) {
    refresh();
    if (const int row = findExecution(address); row >= 0) {
        removeEntry(row);
        return false;
    }
    addBreakpoint(address);
    return true;
}

BreakpointsModel::Marker BreakpointsModel::markerAt(uint64_t address) const {
    const int row = findExecution(address);
    if (row < 0)
        return Marker::None;
    return entries_[static_cast<size_t>(row)].enabled ? Marker::Enabled : Marker::Disabled;
}

const debug::HostDebugSupport* BreakpointsModel::hostSupport() const {
    return session_ ? &debuggerOf(*session_).hostSupport() : nullptr;
}

unsigned BreakpointsModel::freeDebugRegisters() const {
    return session_ ? debuggerOf(*session_).freeDebugRegisters() : 0;
}

int BreakpointsModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(entries_.size());
}

int BreakpointsModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant BreakpointsModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= static_cast<int>(entries_.size()))
        return {};
    const Entry& entry = entries_[static_cast<size_t>(index.row())];
    if (role == Qt::CheckStateRole && index.column() == EnabledColumn)
        return entry.enabled ? Qt::Checked : Qt::Unchecked;
    if (role == Qt::ForegroundRole && !entry.enabled)
        return QColor(Qt::gray);
    if (role == Qt::ToolTipRole) {
        QString text = QString::fromStdString(entry.exit ? entry.exitBreakpoint.describe()
                                                         : entry.breakpoint.describe()) +
                       (entry.enabled ? QString() : tr(": not armed"));
        // A fallback says why the better mechanisms could not be used on this host.
        if (!entry.exit && !entry.breakpoint.mechanismNote.empty())
            text += QStringLiteral("\n") + QString::fromStdString(entry.breakpoint.mechanismNote);
        return text;
    }
    if (role != Qt::DisplayRole)
        return {};
    const debug::Breakpoint& b = entry.breakpoint;
    switch (index.column()) {
    case IdColumn:
        return entry.engineId();
    case KindColumn:
        return entry.exit
                   ? tr("exit: %1")
                         .arg(QString::fromLatin1(debug::toString(entry.exitBreakpoint.kind)))
                   : QString::fromLatin1(debug::toString(b.kind));
    case MechanismColumn:
        if (entry.exit)
            return tr("exit check");
        if (b.mechanism == debug::BreakMechanism::DebugRegister)
            return b.slot >= 0 ? tr("debug register DR%1").arg(b.slot)
                               : tr("debug register (none held while disabled)");
        return QString::fromLatin1(debug::toString(b.mechanism));
    case WhereColumn:
        if (entry.exit)
            return exitWhere(entry.exitBreakpoint);
        return b.length > 1 ? tr("%1 (%2 bytes)").arg(hex(b.address)).arg(b.length)
                            : hex(b.address);
    case SymbolColumn:
        if (entry.exit || !session_)
            return {};
        return QString::fromStdString(debuggerOf(*session_).guest().symbols().describe(b.address));
    case HitsColumn:
        return entry.hits;
    default:
        return {};
    }
}

QVariant BreakpointsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case EnabledColumn:
        return tr("Enabled");
    case IdColumn:
        return tr("Id");
    case KindColumn:
        return tr("Kind");
    case MechanismColumn:
        return tr("Mechanism");
    case WhereColumn:
        return tr("Address / port");
    case SymbolColumn:
        return tr("Symbol");
    case HitsColumn:
        return tr("Hits");
    default:
        return {};
    }
}

Qt::ItemFlags BreakpointsModel::flags(const QModelIndex& index) const {
    Qt::ItemFlags flags = QAbstractTableModel::flags(index);
    if (index.isValid() && index.column() == EnabledColumn)
        flags |= Qt::ItemIsUserCheckable;
    return flags;
}

bool BreakpointsModel::setData(const QModelIndex& index, const QVariant& value, int role) {
    if (!index.isValid() || index.column() != EnabledColumn || role != Qt::CheckStateRole)
        return false;
    const bool enabled = value.value<Qt::CheckState>() == Qt::Checked;
    setEnabled(index.row(), enabled);
    // False when the engine refused (the row keeps its state) or the row went away meanwhile.
    return index.row() < static_cast<int>(entries_.size()) &&
           entries_[static_cast<size_t>(index.row())].enabled == enabled;
}

} // namespace kvmscope::ui
