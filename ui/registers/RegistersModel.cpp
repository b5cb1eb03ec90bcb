#include "registers/RegistersModel.h"

#include "registers/DebugFpuDecoding.h"
#include "registers/MsrNames.h"
#include "registers/RegisterDecoding.h"
#include "session/MachineSession.h"

#include <QBrush>
#include <QColor>
#include <QFont>
#include <cstring>

namespace kvmscope::ui {
namespace {

constexpr quintptr kTopLevel = 0;

QString selectorText(uint16_t selector) {
    return QStringLiteral("0x%1").arg(selector, 4, 16, QLatin1Char('0'));
}

QString hexText(uint64_t value, int digits) {
    return QStringLiteral("0x%1").arg(value, digits, 16, QLatin1Char('0'));
}

uint64_t loadQword(const uint8_t* bytes) {
    uint64_t value = 0;
    std::memcpy(&value, bytes, sizeof value);
    return value;
}

} // namespace

RegistersModel::RegistersModel(QObject* parent) : QAbstractItemModel(parent) {}

MachineSession* RegistersModel::session() const {
    return session_;
}

void RegistersModel::setSession(MachineSession* session) {
    if (session_ == session)
        return;
    if (session_)
        disconnect(session_, nullptr, this, nullptr);
    session_ = session;
    vcpu_ = 0;
    if (session_) {
        connect(session_, &MachineSession::stateChanged, this,
                &RegistersModel::onSessionStateChanged);
        connect(session_, &MachineSession::snapshotTaken, this, &RegistersModel::setSnapshot);
    }
    clear();
}

void RegistersModel::setVcpu(size_t vcpu) {
    if (vcpu == vcpu_)
        return;
    vcpu_ = vcpu;
    clear();
}

void RegistersModel::clear() {
    beginResetModel();
    snapshot_.reset();
    groups_.clear();
    baseline_.clear();
    endResetModel();
    stale_ = false;
    if (session_) {
        stale_ = !session_->vcpuParked(vcpu_);
        if (const auto last = session_->snapshot(vcpu_))
            setSnapshot(*last);
    }
    Q_EMIT statusChanged(statusText());
}

QString RegistersModel::statusText() const {
    if (!session_ && !snapshot_)
        return tr("no machine");
    if (!snapshot_)
        return stale_ ? tr("vcpu %1 running — no state read yet").arg(vcpu_)
                      : tr("vcpu %1: state unavailable").arg(vcpu_);
    if (stale_)
        return tr("vcpu %1 running — state at last stop").arg(vcpu_);
    return tr("vcpu %1 %2")
        .arg(vcpu_)
        .arg(snapshot_->runState == inspect::ParkedState::Stopped ? tr("stopped") : tr("paused"));
}

void RegistersModel::onSessionStateChanged() {
    if (session_)
        setStale(!session_->vcpuParked(vcpu_));
}

void RegistersModel::setStale(bool stale) {
    if (stale == stale_)
        return;
    stale_ = stale;
    if (!groups_.empty()) // greyed or not, editable or not
        for (int group = 0; group < static_cast<int>(groups_.size()); ++group) {
            const QModelIndex parentIndex = index(group, 0);
            const int last =
                static_cast<int>(groups_[static_cast<size_t>(group)].registers.size()) - 1;
            if (last >= 0)
                Q_EMIT dataChanged(index(0, 0, parentIndex),
                                   index(last, ColumnCount - 1, parentIndex));
        }
    Q_EMIT statusChanged(statusText());
}

void RegistersModel::setSnapshot(const inspect::VcpuSnapshot& snapshot) {
    if (snapshot.vcpu != vcpu_)
        return;
    // A snapshot is taken of a parked vcpu; a session's may be of a stop it has left since.
    stale_ = session_ && !session_->vcpuParked(vcpu_);
    const bool newStop = !snapshot_ || snapshot_->stop != snapshot.stop;
    std::vector<Group> groups = buildGroups(snapshot.cpu);
    if (newStop && !groups_.empty())
        baseline_ = groups_;
    bool sameShape = groups.size() == groups_.size();
    for (size_t group = 0; sameShape && group < groups.size(); ++group)
        sameShape = groups[group].registers.size() == groups_[group].registers.size();
    if (!sameShape) {
        beginResetModel();
        groups_ = std::move(groups);
        snapshot_ = snapshot;
        markChanges();
        endResetModel();
    } else {
        groups_ = std::move(groups);
        snapshot_ = snapshot;
        markChanges();
        for (int group = 0; group < static_cast<int>(groups_.size()); ++group) {
            const QModelIndex parentIndex = index(group, 0);
            const int last =
                static_cast<int>(groups_[static_cast<size_t>(group)].registers.size()) - 1;
            if (last >= 0)
                Q_EMIT dataChanged(index(0, 0, parentIndex),
                                   index(last, ColumnCount - 1, parentIndex));
        }
    }
    Q_EMIT statusChanged(statusText());
}

void RegistersModel::markChanges() {
    for (size_t group = 0; group < groups_.size(); ++group) {
        for (size_t row = 0; row < groups_[group].registers.size(); ++row) {
            Register& reg = groups_[group].registers[row];
            reg.changed = false;
            if (group < baseline_.size() && row < baseline_[group].registers.size()) {
                const Register& before = baseline_[group].registers[row];
                reg.changed = before.value != reg.value || before.valueText != reg.valueText ||
                              before.decoded != reg.decoded;
            }
        }
    }
}

std::vector<RegistersModel::Group> RegistersModel::buildGroups(const cpu::CpuState& state) {
    const kvm_regs& r = state.regs;
    const kvm_sregs& s = state.sregs;
    auto plain = [](const char* name, uint64_t value, QString decoded = {}) {
        return Register{QString::fromLatin1(name), value,   formatRegister64(value),
                        std::move(decoded),        nullptr, false};
    };
    auto editable = [](const char* name, uint64_t value, __u64 kvm_regs::*field,
                       QString decoded = {}) {
        return Register{QString::fromLatin1(name), value, formatRegister64(value),
                        std::move(decoded),        field, false};
    };
    auto segment = [](const char* name, const kvm_segment& seg) {
        // The value compared for highlighting folds in the base, so a reload is noticed.
        return Register{QString::fromLatin1(name),
                        (uint64_t(seg.selector) << 48) ^ seg.base,
                        selectorText(seg.selector),
                        decodeSegment(seg),
                        nullptr,
                        false};
    };
    auto table = [](const char* name, const kvm_dtable& dt) {
        return Register{QString::fromLatin1(name),
                        dt.base,
                        formatRegister64(dt.base),
                        QStringLiteral("limit=0x%1").arg(dt.limit, 0, 16),
                        nullptr,
                        false};
    };

    std::vector<Group> groups;
    groups.push_back(
        {QObject::tr("General"),
         {editable("RAX", r.rax, &kvm_regs::rax), editable("RBX", r.rbx, &kvm_regs::rbx),
          editable("RCX", r.rcx, &kvm_regs::rcx), editable("RDX", r.rdx, &kvm_regs::rdx),
          editable("RSI", r.rsi, &kvm_regs::rsi), editable("RDI", r.rdi, &kvm_regs::rdi),
          editable("RSP", r.rsp, &kvm_regs::rsp), editable("RBP", r.rbp, &kvm_regs::rbp),
          editable("R8", r.r8, &kvm_regs::r8), editable("R9", r.r9, &kvm_regs::r9),
          editable("R10", r.r10, &kvm_regs::r10), editable("R11", r.r11, &kvm_regs::r11),
          editable("R12", r.r12, &kvm_regs::r12), editable("R13", r.r13, &kvm_regs::r13),
          editable("R14", r.r14, &kvm_regs::r14), editable("R15", r.r15, &kvm_regs::r15)}});
    groups.push_back({QObject::tr("Instruction"),
                      {editable("RIP", r.rip, &kvm_regs::rip,
                                QStringLiteral("linear 0x%1").arg(s.cs.base + r.rip, 0, 16)),
                       editable("RFLAGS", r.rflags, &kvm_regs::rflags, decodeRflags(r.rflags))}});
    groups.push_back(
        {QObject::tr("Segments"),
         {segment("CS", s.cs), segment("DS", s.ds), segment("ES", s.es), segment("FS", s.fs),
          segment("GS", s.gs), segment("SS", s.ss), segment("TR", s.tr), segment("LDT", s.ldt)}});
    groups.push_back(
        {QObject::tr("Control"),
         {plain("CR0", s.cr0, decodeCr0(s.cr0)), plain("CR2", s.cr2), plain("CR3", s.cr3),
          plain("CR4", s.cr4, decodeCr4(s.cr4)), plain("CR8", s.cr8),
          plain("EFER", s.efer, decodeEfer(s.efer)), plain("APIC_BASE", s.apic_base)}});
    groups.push_back(
        {QObject::tr("Descriptor tables"), {table("GDT", s.gdt), table("IDT", s.idt)}});
    groups.push_back(debugGroup(state.debugRegs));
    groups.push_back(fpuGroup(state.fpu));
    groups.push_back(msrGroup(state.msrs));
    return groups;
}

RegistersModel::Group RegistersModel::debugGroup(const kvm_debugregs& debug) {
    auto reg = [](QString name, uint64_t value, QString decoded = {}) {
        return Register{std::move(name),    value,   formatRegister64(value),
                        std::move(decoded), nullptr, false};
    };
    Group group{QObject::tr("Debug"), {}};
    for (int n = 0; n < 4; ++n)
        group.registers.push_back(
            reg(QStringLiteral("DR%1").arg(n), debug.db[n], QObject::tr("breakpoint address")));
    group.registers.push_back(reg(QStringLiteral("DR6"), debug.dr6, decodeDr6(debug.dr6)));
    group.registers.push_back(reg(QStringLiteral("DR7"), debug.dr7, decodeDr7(debug.dr7)));
    return group;
}

RegistersModel::Group RegistersModel::fpuGroup(const kvm_fpu& fpu) {
    auto reg = [](QString name, uint64_t value, QString text, QString decoded = {}) {
        return Register{std::move(name),    value,   std::move(text),
                        std::move(decoded), nullptr, false};
    };
    Group group{QObject::tr("FPU / SSE"), {}};
    group.registers.push_back(
        reg(QStringLiteral("FCW"), fpu.fcw, hexText(fpu.fcw, 4), decodeFcw(fpu.fcw)));
    group.registers.push_back(
        reg(QStringLiteral("FSW"), fpu.fsw, hexText(fpu.fsw, 4), decodeFsw(fpu.fsw)));
    group.registers.push_back(
        reg(QStringLiteral("FTW"), fpu.ftwx, hexText(fpu.ftwx, 2), decodeAbridgedTag(fpu.ftwx)));
    group.registers.push_back(reg(QStringLiteral("FOP"), fpu.last_opcode,
                                  hexText(fpu.last_opcode, 4), QObject::tr("last x87 opcode")));
    group.registers.push_back(reg(QStringLiteral("FIP"), fpu.last_ip, formatRegister64(fpu.last_ip),
                                  QObject::tr("last x87 instruction")));
    group.registers.push_back(reg(QStringLiteral("FDP"), fpu.last_dp, formatRegister64(fpu.last_dp),
                                  QObject::tr("last x87 operand")));
    group.registers.push_back(
        reg(QStringLiteral("MXCSR"), fpu.mxcsr, hexText(fpu.mxcsr, 8), decodeMxcsr(fpu.mxcsr)));
    // ST(i) in FXSAVE order (SDM vol. 1, 10.5.1.1): 10 significant bytes of each 16.
    constexpr size_t kX87Bytes = 10;
    for (int n = 0; n < 8; ++n) {
        const uint8_t* bytes = fpu.fpr[n];
        group.registers.push_back(
            reg(QStringLiteral("ST%1").arg(n),
                loadQword(bytes) ^ (uint64_t(bytes[8]) << 56) ^ (uint64_t(bytes[9]) << 48),
                formatLittleEndianHex(bytes, kX87Bytes), decodeX87(fpu.fpr[n])));
    }
    for (int n = 0; n < 16; ++n) {
        const uint8_t* bytes = fpu.xmm[n];
        group.registers.push_back(reg(QStringLiteral("XMM%1").arg(n),
                                      loadQword(bytes) ^ loadQword(bytes + 8),
                                      formatLittleEndianHex(bytes, sizeof fpu.xmm[n])));
    }
    return group;
}

RegistersModel::Group RegistersModel::msrGroup(const std::vector<kvm_msr_entry>& msrs) {
    Group group{QObject::tr("MSRs"), {}};
    for (const kvm_msr_entry& msr : msrs) {
        QString decoded = QStringLiteral("index 0x%1").arg(msr.index, 0, 16);
        if (msr.index == 0xc0000080) // IA32_EFER (SDM vol. 3A, 2.2.1)
            decoded += QLatin1Char(' ') + decodeEfer(msr.data);
        group.registers.push_back(Register{msrDisplayName(msr.index), msr.data,
                                           formatRegister64(msr.data), std::move(decoded), nullptr,
                                           false});
    }
    return group;
}

QModelIndex RegistersModel::indexOfRegister(const QString& name, int column) const {
    for (size_t group = 0; group < groups_.size(); ++group)
        for (size_t row = 0; row < groups_[group].registers.size(); ++row)
            if (groups_[group].registers[row].name.compare(name, Qt::CaseInsensitive) == 0)
                return index(static_cast<int>(row), column, index(static_cast<int>(group), 0));
    return {};
}

QModelIndex RegistersModel::index(int row, int column, const QModelIndex& parent) const {
    if (row < 0 || column < 0 || column >= ColumnCount)
        return {};
    if (!parent.isValid())
        return row < static_cast<int>(groups_.size()) ? createIndex(row, column, kTopLevel)
                                                      : QModelIndex();
    if (parent.internalId() != kTopLevel || parent.row() >= static_cast<int>(groups_.size()))
        return {};
    const auto& group = groups_[static_cast<size_t>(parent.row())];
    if (row >= static_cast<int>(group.registers.size()))
        return {};
    return createIndex(row, column, static_cast<quintptr>(parent.row()) + 1);
}

QModelIndex RegistersModel::parent(const QModelIndex& child) const {
    if (!child.isValid() || child.internalId() == kTopLevel)
        return {};
    return createIndex(static_cast<int>(child.internalId() - 1), 0, kTopLevel);
}

int RegistersModel::rowCount(const QModelIndex& parent) const {
    if (!parent.isValid())
        return static_cast<int>(groups_.size());
    if (parent.internalId() != kTopLevel || parent.column() != 0)
        return 0;
    return static_cast<int>(groups_[static_cast<size_t>(parent.row())].registers.size());
}

int RegistersModel::columnCount(const QModelIndex&) const {
    return ColumnCount;
}

QVariant RegistersModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid())
        return {};
    if (index.internalId() == kTopLevel) {
        if (role == Qt::DisplayRole && index.column() == NameColumn)
            return groups_[static_cast<size_t>(index.row())].name;
        return {};
    }
    const Register& reg =
        groups_[index.internalId() - 1].registers[static_cast<size_t>(index.row())];
    switch (role) {
    case Qt::DisplayRole:
    case Qt::EditRole:
        switch (index.column()) {
        case NameColumn:
            return reg.name;
        case ValueColumn:
            return reg.valueText;
        case DecodedColumn:
            return reg.decoded;
        }
        return {};
    case Qt::FontRole:
        if (index.column() != NameColumn) {
            QFont font(QStringLiteral("monospace"));
            font.setStyleHint(QFont::Monospace);
            font.setBold(reg.changed);
            return font;
        }
        return {};
    case Qt::BackgroundRole:
        return reg.changed ? QBrush(QColor(255, 236, 150)) : QVariant();
    case Qt::ForegroundRole:
        if (reg.changed)
            return QBrush(QColor(150, 30, 0));
        return stale_ ? QBrush(Qt::gray) : QVariant();
    case Qt::ToolTipRole:
        if (stale_)
            return tr("running — value at last stop");
        return reg.editable ? tr("double-click to edit (hex, or #decimal)") : QVariant();
    case ChangedRole:
        return reg.changed;
    case RawValueRole:
        return QVariant::fromValue<qulonglong>(reg.value);
    }
    return {};
}

QVariant RegistersModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case NameColumn:
        return tr("Register");
    case ValueColumn:
        return tr("Value");
    case DecodedColumn:
        return tr("Decoded");
    }
    return {};
}

Qt::ItemFlags RegistersModel::flags(const QModelIndex& index) const {
    if (!index.isValid())
        return Qt::NoItemFlags;
    Qt::ItemFlags result = Qt::ItemIsEnabled | Qt::ItemIsSelectable;
    if (index.internalId() != kTopLevel && index.column() == ValueColumn && !stale_) {
        const Register& reg =
            groups_[index.internalId() - 1].registers[static_cast<size_t>(index.row())];
        if (reg.editable)
            result |= Qt::ItemIsEditable;
    }
    return result;
}

bool RegistersModel::setData(const QModelIndex& index, const QVariant& value, int role) {
    if (role != Qt::EditRole || !index.isValid() || index.internalId() == kTopLevel ||
        index.column() != ValueColumn || !session_)
        return false;
    const Register& reg =
        groups_[index.internalId() - 1].registers[static_cast<size_t>(index.row())];
    if (!reg.editable) {
        Q_EMIT errorOccurred(tr("%1 is read-only in this view").arg(reg.name));
        return false;
    }
    if (stale_ || !session_->vcpuParked(vcpu_)) {
        Q_EMIT errorOccurred(
            tr("vcpu %1 is running: pause it to edit %2").arg(vcpu_).arg(reg.name));
        return false;
    }
    uint64_t parsed = 0;
    if (!parseRegisterValue(value.toString(), parsed)) {
        Q_EMIT errorOccurred(
            tr("%1: '%2' is not a value (hex, or #decimal)").arg(reg.name, value.toString()));
        return false;
    }
    // The session writes it and hands this model the snapshot taken after it (snapshotTaken).
    // `reg` goes with the groups the new snapshot replaces.
    const QString name = reg.name;
    QString error;
    if (!session_->writeRegister(vcpu_, {reg.editable, parsed}, &error)) {
        Q_EMIT errorOccurred(tr("writing %1: %2").arg(name, error));
        return false;
    }
    return true;
}

} // namespace kvmscope::ui
