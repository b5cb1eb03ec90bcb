#pragma once
// How one linear address becomes guest-physical, step by step (core/debug/PageWalker.h): each
// paging-structure entry the walk read (table, its address, the index taken from the linear
// address, the entry and what it says), then kvmscope's result and KVM_TRANSLATE's answer for the
// same address, so a disagreement shows at once. KVM_TRANSLATE on x86 reports only validity and
// the physical address (docs/debugger.md, "Page walker"), so only those are compared.
// The walk goes through the page tables of a stop's snapshot (setSnapshot); KVM's answer comes
// with the snapshot (it has RIP's and the pane's address's), or, for an address set since, from
// the session (MachineSession::kvmTranslation), which asks the parked vcpu once.
#include "debug/PageWalker.h"
#include "inspect/GuestView.h"

#include <QAbstractTableModel>
#include <QPointer>
#include <optional>

namespace kvmscope::ui {

class MachineSession;

class PageWalkModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        StepColumn,
        TableColumn,
        IndexColumn,
        EntryAddressColumn,
        EntryColumn,
        MeaningColumn,
        ColumnCount
    };

    explicit PageWalkModel(QObject* parent = nullptr);

    // Where KVM's answer for an address the snapshot lacks comes from; without a session (a
    // made-up snapshot) only the snapshot's answers are shown.
    void setSession(MachineSession* session);
    // Walks the address again through the tables of `snapshot` (CR3 and the tables may have
    // changed since the last stop); `guest` must stay valid until the next setSnapshot or clear().
    void setSnapshot(const inspect::VcpuSnapshot& snapshot, const inspect::GuestView& guest);
    // The vcpu runs: the last walk stays.
    void setStale() { stale_ = true; }
    void clear(); // no machine
    void setAddress(uint64_t linear);
    uint64_t address() const { return linear_; }

    const std::optional<debug::Translation>& translation() const { return walk_; }
    const std::optional<inspect::KvmTranslation>& kvmTranslation() const { return kvm_; }
    // Both were read and they agree on validity and, when valid, the physical address.
    bool agrees() const;
    QString summary() const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

Q_SIGNALS:
    void summaryChanged(const QString& summary);

private:
    void walk(); // linear_ through the snapshot held, when it is current

    QPointer<MachineSession> session_;
    std::optional<inspect::VcpuSnapshot> snapshot_;
    inspect::GuestView guest_;
    bool stale_ = false;
    uint64_t linear_ = 0;
    std::optional<debug::Translation> walk_;
    std::optional<inspect::KvmTranslation> kvm_;
};

} // namespace kvmscope::ui
