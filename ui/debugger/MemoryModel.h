#pragma once
// Guest memory as hex and ASCII, 16 bytes a row: guest-physical (RAM as the machine holds it)
// or guest-virtual as the selected vcpu saw it at its stop, through kvmscope's page walker and
// the paging registers of the stop's snapshot (inspect/GuestView.h): reading asks no vcpu.
// Bytes that cannot be read (outside RAM, an unmapped page) show as "??". Hex cells are editable
// while the machine is paused; an edit is written through the debugger (writePhysical /
// writeLinear) and read back. Bytes that changed since the previous stop are shown in red.
#include "inspect/GuestView.h"

#include <QAbstractTableModel>
#include <QPointer>
#include <cstdint>
#include <optional>
#include <vector>

namespace kvmscope::ui {

class MachineSession;

class MemoryModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum class Space { Physical, Virtual };
    enum Column { AddressColumn, FirstByteColumn, AsciiColumn = FirstByteColumn + 16, ColumnCount };
    enum Role { ChangedRole = Qt::UserRole + 1 };
    static constexpr int kBytesPerRow = 16;
    static constexpr int kDefaultRows = 32;

    explicit MemoryModel(QObject* parent = nullptr);

    // The session edits are written through; the bytes come from setSnapshot's guest memory.
    void setSession(MachineSession* session);
    // Reads the bytes again as `snapshot`'s vcpu saw them through `guest`, which must stay valid
    // until the next setSnapshot or clear(). The first snapshot of a new stop makes the bytes
    // read before it the baseline for the changed-byte marks.
    void setSnapshot(const inspect::VcpuSnapshot& snapshot, const inspect::GuestView& guest);
    // The vcpu runs: the bytes of the last stop stay, and are not editable.
    void setStale(size_t vcpu);
    void clear(); // no machine
    void setSpace(Space space);
    Space space() const { return space_; }
    // Shows `address` in the first row (rounded down to 16 bytes).
    void goTo(uint64_t address);
    uint64_t baseAddress() const { return base_; }
    void setRowCount(int rows);

    // The byte at `address` as last read; nullopt when outside the view or unreadable.
    std::optional<uint8_t> byteAt(uint64_t address) const;
    QModelIndex indexOf(uint64_t address) const; // the hex cell of `address`
    bool stale() const { return stale_; }
    QString statusText() const { return status_; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;
    Qt::ItemFlags flags(const QModelIndex& index) const override;
    bool setData(const QModelIndex& index, const QVariant& value, int role = Qt::EditRole) override;

Q_SIGNALS:
    void statusChanged(const QString& status);
    void errorOccurred(const QString& message);

private:
    // Reads [base_, base_ + size) into bytes_/valid_; false when there is no stop to read at.
    bool read();
    // Reads again; `newStop`: the bytes shown so far become the changed-byte marks' baseline.
    void refresh(bool newStop);
    void setStatus(const QString& status);

    QPointer<MachineSession> session_;
    std::optional<inspect::VcpuSnapshot> snapshot_;
    inspect::GuestView guest_;
    size_t vcpu_ = 0;
    Space space_ = Space::Physical;
    uint64_t base_ = 0;
    int rows_ = kDefaultRows;
    std::vector<uint8_t> bytes_;
    std::vector<bool> valid_;
    std::vector<uint8_t> previous_; // at the previous stop, for ChangedRole
    std::vector<bool> previousValid_;
    uint64_t previousBase_ = 0;
    bool stale_ = false;
    QString status_;
};

} // namespace kvmscope::ui
