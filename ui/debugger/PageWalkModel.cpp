#include "debugger/PageWalkModel.h"

#include "session/MachineSession.h"

#include <QColor>
#include <QFont>

namespace kvmscope::ui {
namespace {

QString hex(uint64_t value) {
    return QStringLiteral("0x%1").arg(value, 0, 16);
}

QString pageSizeText(uint64_t size) {
    if (size >= (1ull << 30))
        return QStringLiteral("%1 GiB").arg(size >> 30);
    if (size >= (1ull << 20))
        return QStringLiteral("%1 MiB").arg(size >> 20);
    return QStringLiteral("%1 KiB").arg(size >> 10);
}

} // namespace

PageWalkModel::PageWalkModel(QObject* parent) : QAbstractTableModel(parent) {}

void PageWalkModel::setSession(MachineSession* session) {
    session_ = session;
}

void PageWalkModel::clear() {
    beginResetModel();
    snapshot_.reset();
    guest_ = {};
    stale_ = false;
    walk_.reset();
    kvm_.reset();
    endResetModel();
    Q_EMIT summaryChanged(summary());
}

void PageWalkModel::setSnapshot(const inspect::VcpuSnapshot& snapshot,
                                const inspect::GuestView& guest) {
    snapshot_ = snapshot;
    guest_ = guest;
    stale_ = false;
    walk();
}

void PageWalkModel::setAddress(uint64_t linear) {
    linear_ = linear;
    walk();
}

void PageWalkModel::walk() {
    if (!snapshot_ || stale_) {
        if (walk_)
            return; // running: keep the last walk
        Q_EMIT summaryChanged(summary());
        return;
    }
    std::optional<inspect::KvmTranslation> kvm;
    if (const inspect::KvmTranslation* known = snapshot_->translation(linear_))
        kvm = *known;
    else if (session_)
        kvm = session_->kvmTranslation(snapshot_->vcpu, linear_);
    beginResetModel();
    walk_ = guest_.translate(*snapshot_, linear_);
    kvm_ = kvm;
    endResetModel();
    Q_EMIT summaryChanged(summary());
}

bool PageWalkModel::agrees() const {
    if (!walk_ || !kvm_)
        return false;
    if (walk_->valid != kvm_->valid)
        return false;
    return !walk_->valid || walk_->physical == kvm_->physical;
}

QString PageWalkModel::summary() const {
    if (!walk_)
        return tr("0x%1: no walk (the vcpu runs, or no machine)").arg(linear_, 0, 16);
    QString text =
        tr("0x%1, %2: ").arg(linear_, 0, 16).arg(QString::fromLatin1(debug::toString(walk_->mode)));
    if (walk_->valid) {
        text += tr("physical %1").arg(hex(walk_->physical));
        if (walk_->pageSize)
            text += tr(" in a %1 page").arg(pageSizeText(walk_->pageSize));
        text += tr(" (%1, %2, %3)")
                    .arg(walk_->writable ? tr("writable") : tr("read-only"),
                         walk_->user ? tr("user") : tr("supervisor"),
                         walk_->executable ? tr("executable") : tr("no-execute"));
    } else {
        text += tr("not mapped: %1").arg(QString::fromStdString(walk_->fault));
    }
    if (kvm_) {
        text += kvm_->valid ? tr(" — KVM_TRANSLATE: %1").arg(hex(kvm_->physical))
                            : tr(" — KVM_TRANSLATE: not mapped");
        text += agrees() ? tr(" (agrees)") : tr(" (DISAGREES)");
    }
    return text;
}

int PageWalkModel::rowCount(const QModelIndex& parent) const {
    if (parent.isValid() || !walk_)
        return 0;
    return static_cast<int>(walk_->steps.size()) + 1 + (kvm_ ? 1 : 0);
}

int PageWalkModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant PageWalkModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || !walk_)
        return {};
    const auto steps = static_cast<int>(walk_->steps.size());
    const int row = index.row();
    if (role == Qt::FontRole && index.column() != MeaningColumn) {
        QFont font(QStringLiteral("monospace"));
        font.setStyleHint(QFont::Monospace);
        return font;
    }
    if (row < steps) {
        if (role != Qt::DisplayRole)
            return {};
        const debug::WalkStep& step = walk_->steps[static_cast<size_t>(row)];
        switch (index.column()) {
        case StepColumn:
            return QString::fromStdString(step.table);
        case TableColumn:
            return hex(step.tableAddress);
        case IndexColumn:
            return step.index;
        case EntryAddressColumn:
            return hex(step.entryAddress);
        case EntryColumn:
            return QStringLiteral("%1").arg(step.entry, 16, 16, QLatin1Char('0'));
        case MeaningColumn:
            return QString::fromStdString(step.meaning);
        default:
            return {};
        }
    }
    const bool kvmRow = row > steps;
    if (role == Qt::ForegroundRole && kvmRow && !agrees())
        return QColor(Qt::red);
    if (role == Qt::FontRole) {
        QFont font;
        font.setBold(true);
        return font;
    }
    if (role != Qt::DisplayRole)
        return {};
    if (index.column() == StepColumn)
        return kvmRow ? tr("KVM_TRANSLATE") : tr("kvmscope");
    if (index.column() == EntryAddressColumn) {
        if (kvmRow)
            return kvm_->valid ? hex(kvm_->physical) : tr("not mapped");
        return walk_->valid ? hex(walk_->physical) : tr("not mapped");
    }
    if (index.column() == MeaningColumn) {
        if (kvmRow)
            return agrees() ? tr("agrees with the walk") : tr("disagrees with the walk");
        if (!walk_->valid)
            return QString::fromStdString(walk_->fault);
        return walk_->pageSize ? tr("%1 page").arg(pageSizeText(walk_->pageSize))
                               : tr("no paging: linear = physical");
    }
    return {};
}

QVariant PageWalkModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case StepColumn:
        return tr("Level");
    case TableColumn:
        return tr("Table");
    case IndexColumn:
        return tr("Index");
    case EntryAddressColumn:
        return tr("Entry at / result");
    case EntryColumn:
        return tr("Entry");
    case MeaningColumn:
        return tr("Meaning");
    default:
        return {};
    }
}

} // namespace kvmscope::ui
