#pragma once
// The most recent exits of a machine, drained from every vcpu's ExitTrace on the session's
// statistics timer (never one signal per exit): time / vcpu / reason / access / address / size /
// data / RIP. At most maxRows() rows are kept (the oldest go first); freezing stops the draining
// so a person can read the table while the guest goes on; the table exports to CSV.
#include "trace/ExitRecord.h"

#include <QAbstractTableModel>
#include <QPointer>
#include <deque>
#include <vector>

class QIODevice;

namespace kvmscope::ui {

class MachineSession;

class RecentExitsModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        TimeColumn,
        VcpuColumn,
        ReasonColumn,
        AccessColumn,
        AddressColumn,
        SizeColumn,
        DataColumn,
        RipColumn,
        ColumnCount
    };
    static constexpr int kDefaultMaxRows = 2000;

    explicit RecentExitsModel(QObject* parent = nullptr);

    void setSession(MachineSession* session);
    void setMaxRows(int rows);
    int maxRows() const { return maxRows_; }
    void setFrozen(bool frozen);
    bool frozen() const { return frozen_; }
    void clear();

    // Takes the records written since the last drain (unless frozen) and appends them.
    void drain();
    // Appends the records of one drain: in time order after the rows already there, the oldest
    // rows going once there are more than maxRows(). Tests hand it made-up records.
    void append(std::vector<trace::ExitRecord> records);

    // Header line then one line per row; false (and `error`) when the device refuses.
    bool writeCsv(QIODevice& device, QString* error = nullptr) const;
    bool exportCsv(const QString& path, QString* error = nullptr) const;

    const trace::ExitRecord& record(int row) const { return rows_[static_cast<size_t>(row)]; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    QString cellText(const trace::ExitRecord& record, int column) const;
    // Drops the oldest rows until `incoming` more fit within maxRows_.
    void trimToMaxRows(int incoming = 0);

    QPointer<MachineSession> session_;
    std::vector<uint64_t> lastSequence_; // per vcpu
    std::deque<trace::ExitRecord> rows_;
    uint64_t firstTimestampNs_ = 0; // times are shown relative to the first exit seen
    int maxRows_ = kDefaultMaxRows;
    bool frozen_ = false;
};

} // namespace kvmscope::ui
