#pragma once
// One vcpu's registers as a two-level tree: groups (general, instruction, segments, control,
// descriptor tables, debug, FPU/SSE, the MSRs the host lists) and their registers, with columns
// name / value / decoded. Values that changed since the previous stop are highlighted. The model
// is handed each stop's VcpuSnapshot as a value (setSnapshot; bound to a session it takes the
// session's snapshots of its vcpu) and never asks a vcpu itself; while the vcpu runs it keeps the
// state of the last stop and says so (stale()). General registers, RIP and RFLAGS are editable
// while parked: an edit goes through the session (MachineSession::writeRegister), which writes it
// and hands the model the snapshot taken again after it.
#include "inspect/VcpuSnapshot.h"

#include <QAbstractItemModel>
#include <QPointer>
#include <optional>
#include <vector>

namespace kvmscope::ui {

class MachineSession;

class RegistersModel : public QAbstractItemModel {
    Q_OBJECT
public:
    enum Column { NameColumn, ValueColumn, DecodedColumn, ColumnCount };
    // RawValueRole: the register's value; for ST and XMM (wider than 64 bits) a 64-bit fold of
    // it that is only meant for change detection — their DisplayRole text is the full value.
    enum Role { ChangedRole = Qt::UserRole + 1, RawValueRole };

    explicit RegistersModel(QObject* parent = nullptr);

    // Follows `session`'s snapshots of vcpu() and its run state; edits are written through it.
    void setSession(MachineSession* session);
    MachineSession* session() const;
    // Shows `vcpu` (its last snapshot, when bound to a session): nothing is highlighted yet.
    void setVcpu(size_t vcpu);
    size_t vcpu() const { return vcpu_; }

    // Shows `snapshot` (of vcpu()): a new stop's values are compared with the previous stop's
    // and the changed ones highlighted; a snapshot of the same stop (taken again after an edit)
    // keeps the comparison with the previous stop. A snapshot of another vcpu is ignored.
    void setSnapshot(const inspect::VcpuSnapshot& snapshot);
    // True while the vcpu runs: the values are those of the last stop (greyed, not editable).
    void setStale(bool stale);
    bool stale() const { return stale_; }
    QString statusText() const;
    const std::optional<inspect::VcpuSnapshot>& snapshot() const { return snapshot_; }

    // The index of a register by name ("RAX", "RIP", "CR0", ...), column `column`.
    QModelIndex indexOfRegister(const QString& name, int column = ValueColumn) const;

    QModelIndex index(int row, int column, const QModelIndex& parent = {}) const override;
    QModelIndex parent(const QModelIndex& child) const override;
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;
    Qt::ItemFlags flags(const QModelIndex& index) const override;
    bool setData(const QModelIndex& index, const QVariant& value, int role = Qt::EditRole) override;

Q_SIGNALS:
    void errorOccurred(const QString& message);
    void statusChanged(const QString& status);

private:
    struct Register {
        QString name;
        uint64_t value = 0;
        QString valueText;
        QString decoded;
        __u64 kvm_regs::*editable = nullptr; // the kvm_regs field an edit writes, if any
        bool changed = false;
    };
    struct Group {
        QString name;
        std::vector<Register> registers;
    };

    static std::vector<Group> buildGroups(const cpu::CpuState& state);
    static Group debugGroup(const kvm_debugregs& debug);
    static Group fpuGroup(const kvm_fpu& fpu);
    static Group msrGroup(const std::vector<kvm_msr_entry>& msrs);
    void markChanges();
    void clear();
    void onSessionStateChanged();

    QPointer<MachineSession> session_;
    size_t vcpu_ = 0;
    bool stale_ = false;
    std::optional<inspect::VcpuSnapshot> snapshot_;
    std::vector<Group> groups_;
    std::vector<Group> baseline_; // the groups at the previous stop
};

} // namespace kvmscope::ui
