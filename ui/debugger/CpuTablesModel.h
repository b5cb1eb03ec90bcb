#pragma once
// The CPU's tables at a stop, one at a time: the GDT, the LDT, the IDT and the TSS of the
// snapshot's vcpu, decoded in its mode (core/inspect/DescriptorTables.h). An entry's raw bytes
// can be edited while the machine is paused: they are written back where the entry lies (a
// linear address, through the vcpu's paging) and the table is read again, so what shows is what
// the guest now has. Handlers and bases are named with the guest's symbols where it has them.
#include "inspect/DescriptorTables.h"

#include <QAbstractTableModel>
#include <QPointer>
#include <optional>

namespace kvmscope::ui {

class MachineSession;

class CpuTablesModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum class Table { Gdt, Ldt, Idt, Tss };
    // The columns of a descriptor table (GDT, LDT); the IDT and the TSS have their own below.
    enum DescriptorColumn {
        SelectorColumn,
        KindColumn,
        BaseColumn,
        LimitColumn,
        DplColumn,
        PresentColumn,
        FlagsColumn,
        RawColumn,
        DescriptorColumnCount
    };
    enum GateColumn {
        VectorColumn,
        GateKindColumn,
        GateTargetColumn,
        HandlerColumn,
        GateDplColumn,
        GatePresentColumn,
        IstColumn,
        GateRawColumn,
        GateColumnCount
    };
    enum TaskColumn { FieldColumn, OffsetColumn, ValueColumn, TaskColumnCount };

    explicit CpuTablesModel(QObject* parent = nullptr);

    void setSession(MachineSession* session);
    void setTable(Table table);
    Table table() const { return table_; }
    // Reads the current table of `snapshot`'s vcpu; `guest` must stay valid until the next call.
    void setSnapshot(const inspect::VcpuSnapshot& snapshot, const inspect::GuestView& guest);
    void setStale();
    void clear();
    // What the table is and where it lies ("GDT at 0x1000, 7 entries, limit 0x37"), or why
    // there is none.
    QString summary() const { return summary_; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;
    Qt::ItemFlags flags(const QModelIndex& index) const override;
    bool setData(const QModelIndex& index, const QVariant& value, int role = Qt::EditRole) override;

Q_SIGNALS:
    void summaryChanged(const QString& summary);
    void errorOccurred(const QString& message);

private:
    void read();
    QString symbolFor(uint64_t address) const;
    // The linear address and size of `row`'s raw bytes, when the row has them.
    std::optional<std::pair<uint64_t, unsigned>> rawPlace(int row) const;
    bool writeRaw(int row, const QString& text);

    QPointer<MachineSession> session_;
    Table table_ = Table::Gdt;
    std::optional<inspect::VcpuSnapshot> snapshot_;
    inspect::GuestView guest_;
    bool stale_ = false;
    std::vector<inspect::SegmentDescriptor> descriptors_;
    std::vector<inspect::GateDescriptor> gates_;
    inspect::TaskState task_;
    QString summary_;
};

} // namespace kvmscope::ui
