#pragma once
// The call stack of a stopped vcpu by the frame-pointer chain: in 64-bit code [rbp] holds the
// caller's rbp and [rbp+8] the return address (the System V x86-64 ABI's frame layout when
// functions keep a frame pointer; 32-bit code: [ebp], [ebp+4]). Frame 0 is RIP. The walk ends at
// a null, misaligned, non-canonical or unmapped frame pointer, at one that does not move up the
// stack (a loop or garbage), or after kMaxFrames; stopReason() says which. Code built without
// frame pointers gives a short or wrong chain: there is no unwind information to do better.
// The walk starts from a stop's snapshot (RIP, RBP, RSP, the code mode) and reads the stack
// through the guest memory as that vcpu saw it (setSnapshot): no vcpu is asked.
#include "inspect/GuestView.h"

#include <QAbstractTableModel>
#include <cstdint>
#include <vector>

namespace kvmscope::ui {

class CallStackModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { FrameColumn, AddressColumn, FunctionColumn, FramePointerColumn, ColumnCount };
    static constexpr int kMaxFrames = 64;

    struct Frame {
        uint64_t pc = 0;           // RIP, then each return address
        uint64_t framePointer = 0; // the rbp this frame's return address was found through
        QString function;          // function+offset, empty without symbols
    };

    explicit CallStackModel(QObject* parent = nullptr);

    // Walks the stack of `snapshot` through `guest` (used only during the call).
    void setSnapshot(const inspect::VcpuSnapshot& snapshot, const inspect::GuestView& guest);
    // The vcpu runs: the stack stays that of the last stop, and says so.
    void setStale();
    void clear(); // no machine

    const std::vector<Frame>& frames() const { return frames_; }
    QString stopReason() const { return stopReason_; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

Q_SIGNALS:
    void stopReasonChanged(const QString& reason);

private:
    std::vector<Frame> frames_;
    QString stopReason_;
};

} // namespace kvmscope::ui
