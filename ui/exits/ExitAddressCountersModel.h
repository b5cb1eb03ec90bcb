#pragma once
// Exits per I/O port and per MMIO address of a machine, all vcpus together: address / kind (PIO,
// MMIO) / direction / owning device / exits / rate per second / bytes. Follows MachineSession's
// statistics samples (a timer) by snapshotting each vcpu's trace::AddressCounters, never the
// exits themselves; while not live (the Exits view is hidden) samples are skipped.
//
// Rows appear in the order addresses are first seen and stay; sorting is left to a
// QSortFilterProxyModel on SortRole, which gives numbers rather than display text. Each vcpu
// counts up to trace::AddressCounters::kMaxAddresses addresses on its own; exits at further
// addresses go into one row, "other addresses" (access None).
#include "trace/AddressCounters.h"
#include "trace/ExitRecord.h"

#include <QAbstractTableModel>
#include <QElapsedTimer>
#include <QPointer>
#include <map>
#include <utility>
#include <vector>

namespace kvmscope::ui {

class MachineSession;

class ExitAddressCountersModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        AddressColumn,
        KindColumn,
        DirectionColumn,
        DeviceColumn,
        ExitsColumn,
        RateColumn,
        BytesColumn,
        ColumnCount
    };
    // Numbers for sorting (address, exits, rate, bytes); text columns give their text.
    static constexpr int SortRole = Qt::UserRole + 1;
    // Addresses each vcpu counts on its own before the "other addresses" row takes over.
    static constexpr size_t kMaxAddressesPerVcpu = trace::AddressCounters::kMaxAddresses;

    explicit ExitAddressCountersModel(QObject* parent = nullptr);

    void setSession(MachineSession* session);
    // Off: statistics samples are ignored (nothing to draw). On again: takes one at once.
    void setLive(bool live);
    bool live() const { return live_; }
    void update(); // snapshots every vcpu's counters now

    // The row of (access, address), or -1. The overflow row is (AccessKind::None, 0).
    int rowOf(trace::AccessKind access, uint64_t address) const;
    quint64 exits(int row) const { return rows_.at(static_cast<size_t>(row)).exits; }
    quint64 bytes(int row) const { return rows_.at(static_cast<size_t>(row)).bytes; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    using Key = std::pair<trace::AccessKind, uint64_t>;
    struct Row {
        trace::AccessKind access = trace::AccessKind::None;
        uint64_t address = 0;
        QString device; // owner on the machine's bus, empty when nothing decodes the address
        quint64 exits = 0;
        quint64 bytes = 0;
        double rate = 0;
    };

    void clear();
    QString deviceAt(trace::AccessKind access, uint64_t address) const;

    QPointer<MachineSession> session_;
    std::vector<Row> rows_;
    std::map<Key, size_t> rowOfKey_;
    QElapsedTimer sampleClock_; // since the previous update, for the rates
    bool live_ = true;
};

} // namespace kvmscope::ui
