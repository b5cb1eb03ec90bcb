#include "debugger/InterruptsModel.h"

#include "machine/Machine.h"
#include "session/MachineSession.h"

#include <QFont>
#include <QPalette>

namespace kvmscope::ui {
namespace {

QString blockName(inspect::InterruptBlock block) {
    using inspect::InterruptBlock;
    switch (block) {
    case InterruptBlock::NotRaised:
        return QObject::tr("not raised");
    case InterruptBlock::PicMasked:
        return QObject::tr("PIC mask");
    case InterruptBlock::PicInService:
        return QObject::tr("PIC in service");
    case InterruptBlock::IoapicMasked:
        return QObject::tr("IOAPIC mask");
    case InterruptBlock::IoapicRemoteIrr:
        return QObject::tr("IOAPIC remote IRR");
    case InterruptBlock::NoTarget:
        return QObject::tr("no target");
    case InterruptBlock::ApicDisabled:
        return QObject::tr("LAPIC disabled");
    case InterruptBlock::Lint0Closed:
        return QObject::tr("LINT0 closed");
    case InterruptBlock::InService:
        return QObject::tr("LAPIC in service");
    case InterruptBlock::Priority:
        return QObject::tr("priority");
    case InterruptBlock::InterruptsOff:
        return QObject::tr("IF = 0");
    case InterruptBlock::Shadow:
        return QObject::tr("interrupt shadow");
    case InterruptBlock::Pending:
        return QObject::tr("pending");
    case InterruptBlock::Idle:
        return QObject::tr("open");
    }
    return {};
}

// Whether the row is where a person looks first: raised and held somewhere.
bool held(const inspect::InterruptPath& path) {
    using inspect::InterruptBlock;
    return path.raises > 0 && path.block != InterruptBlock::Idle &&
           path.block != InterruptBlock::Pending && path.block != InterruptBlock::NotRaised;
}

} // namespace

InterruptsModel::InterruptsModel(QObject* parent) : QAbstractTableModel(parent) {}

void InterruptsModel::setSession(MachineSession* session) {
    session_ = session;
}

void InterruptsModel::clear() {
    beginResetModel();
    paths_.clear();
    stale_ = false;
    endResetModel();
    setSummary({});
}

void InterruptsModel::setStale() {
    if (stale_)
        return;
    stale_ = true;
    if (!paths_.empty())
        Q_EMIT dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1));
    setSummary(tr("The machine runs: these rows are from its last stop."));
}

void InterruptsModel::refresh() {
    if (!session_)
        return clear();
    std::vector<cpu::CpuState> vcpus;
    for (size_t vcpu = 0; vcpu < session_->vcpuCount(); ++vcpu) {
        const auto snapshot =
            session_->vcpuInspectable(vcpu) ? session_->snapshot(vcpu) : std::nullopt;
        if (!snapshot)
            return setStale();
        vcpus.push_back(snapshot->cpu);
    }
    try {
        const inspect::InterruptChips chips = inspect::readInterruptChips(session_->machine());
        const std::vector<IrqLineRecord> lines = session_->machine().irqLines();
        beginResetModel();
        paths_ = inspect::traceInterrupts(lines, chips, vcpus);
        stale_ = false;
        endResetModel();
        int raised = 0, heldCount = 0;
        for (const auto& path : paths_) {
            raised += path.raises > 0;
            heldCount += held(path);
        }
        setSummary(tr("%1 of %2 lines raised since start; %3 held on the way. Select a row for "
                      "where its request stops.")
                       .arg(raised)
                       .arg(paths_.size())
                       .arg(heldCount));
    } catch (const std::exception& error) {
        beginResetModel();
        paths_.clear();
        endResetModel();
        setSummary(tr("The interrupt chips cannot be read: %1").arg(error.what()));
    }
}

void InterruptsModel::setSummary(const QString& summary) {
    if (summary == summary_)
        return;
    summary_ = summary;
    Q_EMIT summaryChanged(summary_);
}

int InterruptsModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(paths_.size());
}

int InterruptsModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QString InterruptsModel::cellText(const inspect::InterruptPath& path, int column) const {
    switch (column) {
    case IrqColumn:
        return QString::number(path.irq);
    case DevicesColumn: {
        QStringList owners;
        for (const auto& line : path.lines)
            if (!owners.contains(QString::fromStdString(line.owner)))
                owners << QString::fromStdString(line.owner);
        if (path.irq == 0 && owners.isEmpty())
            owners << tr("PIT (in-kernel)");
        return owners.join(QStringLiteral(", "));
    }
    case LineColumn: {
        if (path.lines.empty())
            return {};
        QString text = path.lineHigh ? tr("high") : tr("low");
        text += tr(", %n raise(s)", nullptr, static_cast<int>(path.raises));
        if (path.lastRaiseExit)
            text += tr(", last at exit %1").arg(path.lastRaiseExit);
        if (path.lastStatus)
            text += *path.lastStatus > 0    ? tr(", delivered")
                    : *path.lastStatus == 0 ? tr(", coalesced")
                                            : tr(", refused");
        return text;
    }
    case PicColumn: {
        if (!path.viaPic)
            return QStringLiteral("–");
        QStringList parts{path.picMasked ? tr("masked") : tr("open")};
        if (path.picRequested)
            parts << tr("IRR");
        if (path.picInService)
            parts << tr("ISR");
        parts << tr("vector %1").arg(path.picVector, 2, 16, QLatin1Char('0'));
        return parts.join(QStringLiteral(", "));
    }
    case IoapicColumn: {
        if (!path.viaIoapic)
            return QStringLiteral("–");
        const auto& entry = path.redirection;
        QStringList parts{entry.masked ? tr("masked") : tr("open")};
        parts << tr("vector %1").arg(entry.vector, 2, 16, QLatin1Char('0'));
        parts << (entry.levelTriggered ? tr("level") : tr("edge"));
        parts
            << (entry.logical ? tr("logical %1") : tr("APIC id %1")).arg(entry.destination, 0, 16);
        if (entry.remoteIrr)
            parts << tr("remote IRR");
        return parts.join(QStringLiteral(", "));
    }
    case TargetColumn: {
        QStringList vcpus;
        for (uint32_t vcpu : path.targetVcpus)
            vcpus << tr("vcpu %1").arg(vcpu);
        return vcpus.join(QStringLiteral(", "));
    }
    case StopsColumn:
        return blockName(path.block);
    }
    return {};
}

QVariant InterruptsModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= rowCount())
        return {};
    const inspect::InterruptPath& path = paths_[static_cast<size_t>(index.row())];
    switch (role) {
    case Qt::DisplayRole:
        return cellText(path, index.column());
    case Qt::ToolTipRole:
        return QString::fromStdString(path.sentence);
    case Qt::ForegroundRole:
        if (stale_)
            return QPalette().color(QPalette::Disabled, QPalette::Text);
        return {};
    case Qt::FontRole:
        if (index.column() == StopsColumn && held(path)) {
            QFont font;
            font.setBold(true);
            return font;
        }
        return {};
    default:
        return {};
    }
}

QVariant InterruptsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case IrqColumn:
        return tr("IRQ");
    case DevicesColumn:
        return tr("Driven by");
    case LineColumn:
        return tr("Line");
    case PicColumn:
        return tr("PIC");
    case IoapicColumn:
        return tr("IOAPIC entry");
    case TargetColumn:
        return tr("Goes to");
    case StopsColumn:
        return tr("Stops at");
    }
    return {};
}

} // namespace kvmscope::ui
