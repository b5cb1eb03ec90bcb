#pragma once
// How one linear address becomes guest-physical, step by step (core/debug/PageWalker.h): each
// paging-structure entry the walk read (table, its address, the index taken from the linear
// address, the entry and what it says), then kvmscope's result and KVM_TRANSLATE's answer for the
// same address, so a disagreement shows at once. KVM_TRANSLATE on x86 reports only validity and
// the physical address (docs/debugger.md, "Page walker"), so only those are compared.
#include "debug/PageWalker.h"
#include "kvm/compat.h"

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

    void setSession(MachineSession* session);
    void setVcpu(size_t vcpu);
    void setAddress(uint64_t linear);
    uint64_t address() const { return linear_; }
    // Walks again while the vcpu is parked (CR3 and the tables may have changed).
    void refresh();

    const std::optional<debug::Translation>& translation() const { return walk_; }
    const std::optional<kvm_translation>& kvmTranslation() const { return kvm_; }
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
    QPointer<MachineSession> session_;
    size_t vcpu_ = 0;
    uint64_t linear_ = 0;
    std::optional<debug::Translation> walk_;
    std::optional<kvm_translation> kvm_;
};

} // namespace kvmscope::ui
