#pragma once
// The guest's code as a table: breakpoint gutter, address, function+offset, bytes, instruction
// (Zydis in the vcpu's mode, core/debug/Disassembler.h). The listing is either around the vcpu's
// RIP (the current row marked) or from an address the user went to, e.g. by following a jump or
// call target. It is decoded from a stop's snapshot and the guest memory as that vcpu saw it
// (setSnapshot), so going to an address asks no vcpu anything; while the vcpu runs the model
// keeps the last stop's listing and says so (setStale).
#include "inspect/GuestView.h"

#include <QAbstractTableModel>
#include <optional>
#include <vector>

namespace kvmscope::ui {

class BreakpointsModel;

class DisassemblyModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        GutterColumn,
        AddressColumn,
        SymbolColumn,
        BytesColumn,
        InstructionColumn,
        ColumnCount
    };
    enum Role {
        AddressRole = Qt::UserRole + 1, // quint64: the row's linear address
        CurrentRole,                    // bool: the row is the vcpu's RIP
        TargetRole,                     // quint64 or invalid: a direct branch's destination
    };
    static constexpr size_t kBeforePc = 8; // rows above RIP
    static constexpr size_t kAfterPc = 40; // rows from RIP on
    static constexpr size_t kListing = 48; // rows from a go-to address

    explicit DisassemblyModel(BreakpointsModel* breakpoints, QObject* parent = nullptr);

    // Lists again from `snapshot` (RIP, the code mode) through `guest`, which must stay valid
    // until the next setSnapshot or clear(). A new snapshot is a stop: the listing is current.
    void setSnapshot(const inspect::VcpuSnapshot& snapshot, const inspect::GuestView& guest);
    // The vcpu runs (or another, running one was selected): the listing stays that of the last
    // stop, marked as such.
    void setStale(size_t vcpu);
    // No machine (or one about to be replaced): no listing, and no memory held.
    void clear();
    size_t vcpu() const { return vcpu_; }
    // Lists from `address` on (the RIP row stays marked if it is in view).
    void goTo(uint64_t address);
    // Back to the listing around RIP, which follows every stop.
    void followPc();
    bool followingPc() const { return !anchor_; }
    // Goes to row's branch target; false when it has none (not a direct jump or call).
    bool follow(int row);

    std::optional<uint64_t> pc() const { return pc_; }
    int currentRow() const; // the RIP row, -1 when not in view
    int rowOf(uint64_t address) const;
    const std::vector<debug::Instruction>& instructions() const { return rows_; }
    debug::CodeMode mode() const { return mode_; }
    bool stale() const { return stale_; }
    QString statusText() const { return status_; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

Q_SIGNALS:
    void statusChanged(const QString& status);

private:
    void setStatus(const QString& status);
    void list(); // from the snapshot held, around RIP or from the anchor

    BreakpointsModel* breakpoints_;
    std::optional<inspect::VcpuSnapshot> snapshot_;
    inspect::GuestView guest_;
    size_t vcpu_ = 0;
    std::optional<uint64_t> anchor_; // nullopt: around RIP
    std::optional<uint64_t> pc_;
    debug::CodeMode mode_ = debug::CodeMode::Long64;
    std::vector<debug::Instruction> rows_;
    bool stale_ = false;
    QString status_;
};

} // namespace kvmscope::ui
