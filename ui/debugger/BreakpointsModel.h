#pragma once
// Every breakpoint of the machine's debugger in one list: execution breakpoints, watchpoints and
// exit breakpoints (port, MMIO, exit reason), with the mechanism each execution breakpoint uses
// (int3, a debug register, or single-stepping with an address check), so the user sees what the
// host allowed (docs/debugger.md, "Software breakpoints"). Rows can be enabled and disabled
// (the check box) and removed; the Hits column counts the stops this model saw at each one.
//
// The engine has no enable flag: a breakpoint exists (armed) or not. Disabling one therefore
// removes it from the engine and keeps it here; enabling adds it again (it gets a new id).
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
        bool enabled = true;          // false: removed from the engine, remembered here
        debug::Breakpoint breakpoint; // id = the engine's while enabled
        debug::ExitBreakpoint exitBreakpoint;
        unsigned hits = 0;
        int engineId() const { return exit ? exitBreakpoint.id : breakpoint.id; }
    };

    explicit BreakpointsModel(QObject* parent = nullptr);

    void setSession(MachineSession* session); // forgets every remembered (disabled) entry
    // Takes the engine's current lists (breakpoints added elsewhere, e.g. by a gdb client, show
    // up; temporary ones of step over / run to do not).
    void refresh();
    // A stop: counts a hit on the breakpoint that caused it.
    void noteStop(const debug::DebugStop& stop);

    // Each throws InputError (the engine's message) when the engine refuses.
    int addBreakpoint(uint64_t address, bool hardware = false);
    int addExitBreakpoint(const debug::ExitBreakpoint& breakpoint);
    void removeEntry(int row);
    void setEnabled(int row, bool enabled);
    // The gutter's click: removes the execution breakpoint at `address` (enabled or not), or
    // adds a software breakpoint there. Returns true when one exists afterwards.
    bool toggleAt(uint64_t address);
    Marker markerAt(uint64_t address) const;

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
    void arm(Entry& entry); // adds `entry` to the engine, sets its new id
    int findExecution(uint64_t address) const;

    QPointer<MachineSession> session_;
    std::vector<Entry> entries_;
};

} // namespace kvmscope::ui
