#pragma once
// Per-reason exit counters of a machine, all vcpus together: reason / count in this boot / count
// over all boots of the session / rate per second, one row per reason seen in any boot. Follows
// MachineSession's statistics samples (a timer), never the exits themselves; a guest that resets
// itself keeps its totals.
#include <QAbstractTableModel>
#include <QPointer>
#include <vector>

namespace kvmscope::ui {

class MachineSession;

class ExitCountersModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { ReasonColumn, CountColumn, AllBootsColumn, RateColumn, ColumnCount };

    explicit ExitCountersModel(QObject* parent = nullptr);

    void setSession(MachineSession* session);
    void update(); // takes the session's latest sample

    // The row of KVM_EXIT_<reason>, or -1.
    int rowOfReason(uint32_t reason) const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    struct Row {
        uint32_t reason = 0;
        quint64 count = 0;    // this boot
        quint64 allBoots = 0; // every boot, this one included
        double rate = 0;
    };
    QPointer<MachineSession> session_;
    std::vector<Row> rows_;
};

} // namespace kvmscope::ui
