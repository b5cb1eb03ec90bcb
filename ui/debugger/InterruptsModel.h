#pragma once
// One row per interrupt line (GSI 0-23) at a stop: who drives it and how often it was raised,
// the PIC's and the I/O APIC's view of it, the vcpus it goes to, and the one sentence that says
// where it stops (core/inspect/InterruptPath.h). Read when the machine stops, from the vcpus'
// snapshots of that stop, the in-kernel chips and the lines' records; while the machine runs
// the rows are kept and marked stale.
#include "inspect/InterruptPath.h"

#include <QAbstractTableModel>
#include <QPointer>

namespace kvmscope::ui {

class MachineSession;

class InterruptsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        IrqColumn,
        DevicesColumn,
        LineColumn,
        PicColumn,
        IoapicColumn,
        TargetColumn,
        StopsColumn,
        ColumnCount
    };

    explicit InterruptsModel(QObject* parent = nullptr);

    void setSession(MachineSession* session);
    // Reads the chips and the lines now, with every vcpu's snapshot of this stop; a vcpu without
    // a current snapshot makes the rows stale instead.
    void refresh();
    void setStale();
    void clear();
    bool stale() const { return stale_; }
    const std::vector<inspect::InterruptPath>& paths() const { return paths_; }
    QString summary() const { return summary_; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

Q_SIGNALS:
    void summaryChanged(const QString& summary);

private:
    QString cellText(const inspect::InterruptPath& path, int column) const;
    void setSummary(const QString& summary);

    QPointer<MachineSession> session_;
    std::vector<inspect::InterruptPath> paths_;
    bool stale_ = false;
    QString summary_;
};

} // namespace kvmscope::ui
