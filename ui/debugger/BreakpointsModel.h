#pragma once
// Every breakpoint of the machine's debugger in one list: execution breakpoints, watchpoints and
// exit breakpoints (port, MMIO, exit reason), with the mechanism each execution breakpoint uses
// (int3, a debug register, or single-stepping with an address check), so the user sees what the
// host allowed (docs/debugger.md, "Software breakpoints"). Rows can be enabled and disabled
// (the check box) and removed; the Hits column shows the engine's count of stops at each one.
//
// The list mirrors the engine: the check box is the engine's enable flag
// (Debugger::setBreakpointEnabled / setExitBreakpointEnabled), so a breakpoint keeps its id while
// disabled, and a gdb client that set it still removes it by that id. Re-enabling can fail (its
// debug register was taken meanwhile): the engine's message goes out through errorOccurred.
#include "debug/Debugger.h"

#include <QAbstractTableModel>
#include <QPointer>
#include <vector>

namespace kvmscope::ui {

class MachineSession;

class BreakpointsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        EnabledColumn,
        IdColumn,
        KindColumn,
        MechanismColumn,
        WhereColumn,
        SymbolColumn,
        HitsColumn,
        ColumnCount
    };
    enum class Marker { None, Enabled, Disabled }; // for the disassembly's gutter

    struct Entry {
        bool exit = false;            // an exit breakpoint (exitBreakpoint), else breakpoint
        bool enabled = true;          // the engine's flag, as of the last refresh
        debug::Breakpoint breakpoint; // the engine's copy, as of the last refresh
        debug::ExitBreakpoint exitBreakpoint;
        unsigned hits = 0; // the engine's count, as of the last stop or refresh
        int engineId() const { return exit ? exitBreakpoint.id : breakpoint.id; }
    };

    explicit BreakpointsModel(QObject* parent = nullptr);

    void setSession(MachineSession* session);
    // Takes the engine's current lists (breakpoints added elsewhere, e.g. by a gdb client, show
    // up; temporary ones of step over / run to do not). Known rows keep their place.
    void refresh();
    // A stop: the Hits column takes the engine's counts (the stopping breakpoint's went up).
    void noteStop(const debug::DebugStop& stop);

    // Each throws InputError (the engine's message) when the engine refuses.
    int addBreakpoint(uint64_t address, bool hardware = false);
    int addWatchpoint(uint64_t address, unsigned length, bool readWrite);
    int addExitBreakpoint(const debug::ExitBreakpoint& breakpoint);
    void removeEntry(int row);
    void setEnabled(int row, bool enabled);
    // The gutter's click: removes the execution breakpoint at `address` (enabled or not), or
    // adds a software breakpoint there. Returns true when one exists afterwards.
    bool toggleAt(uint64_t address);
    Marker markerAt(uint64_t address) const;
    // For the add-breakpoint dialog's "which mechanism" line: what the host's KVM allows
    // (nullptr without a machine) and how many of DR0-DR3 no enabled breakpoint holds.
    const debug::HostDebugSupport* hostSupport() const;
    unsigned freeDebugRegisters() const;

    const std::vector<Entry>& entries() const { return entries_; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;
    Qt::ItemFlags flags(const QModelIndex& index) const override;
    bool setData(const QModelIndex& index, const QVariant& value, int role = Qt::EditRole) override;

Q_SIGNALS:
    // The set of breakpoints changed (the disassembly redraws its gutter).
    void breakpointsChanged();
    void errorOccurred(const QString& message);

private:
    void updateHits(); // the engine's counts into the Hits column
    int findExecution(uint64_t address) const;

    QPointer<MachineSession> session_;
    std::vector<Entry> entries_;
};

} // namespace kvmscope::ui
