#pragma once
// One vcpu's registers as a two-level tree: groups (general, instruction, segments, control,
// descriptor tables, debug, FPU/SSE, the MSRs the host lists) and their registers, with columns
// name / value / decoded. Values that changed since the previous stop are highlighted. The state is
// read through the runner (VcpuRunner::readState) only while the vcpu is parked; while it runs, the
// model keeps the state of the last stop and says so (stale()). General registers, RIP and RFLAGS
// are editable while parked and are written back with VcpuRunner::writeState(PartRegs).
#include "cpu/CpuState.h"

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
    static constexpr int kCallTimeoutMs = 200; // the vcpu is parked: a read takes microseconds

    explicit RegistersModel(QObject* parent = nullptr);

    void setSession(MachineSession* session);
    MachineSession* session() const;
    void setVcpu(size_t vcpu);
    size_t vcpu() const { return vcpu_; }

    // True while the vcpu runs: the values are those of the last stop.
    bool stale() const { return stale_; }
    QString statusText() const;
    std::optional<cpu::CpuState> snapshot() const { return state_; }

    // The index of a register by name ("RAX", "RIP", "CR0", ...), column `column`.
    QModelIndex indexOfRegister(const QString& name, int column = ValueColumn) const;

    // Re-reads the state if the vcpu is parked. `newStop`: the vcpu parked since the last read,
    // so the current values become the baseline that the next ones are compared with.
    void refresh(bool newStop = true);

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
    void onSessionStateChanged();
    void onVcpuParked(uint32_t vcpu);

    QPointer<MachineSession> session_;
    size_t vcpu_ = 0;
    bool stale_ = false;
    std::optional<cpu::CpuState> state_;
    std::vector<Group> groups_;
    std::vector<Group> baseline_; // the groups at the previous stop
};

} // namespace kvmscope::ui
