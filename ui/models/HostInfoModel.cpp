#include "models/HostInfoModel.h"

#include "common/Error.h"
#include "debug/Debugger.h"
#include "debug/HostDebugProbe.h"
#include "devices/kernel/SystemAttributes.h"
#include "kvm/DeviceFd.h"
#include "kvm/System.h"
#include "kvm/Vm.h"

#include <algorithm>

namespace kvmscope::ui {
namespace {

struct CapabilityInfo {
    long capability;
    const char* name;
    const char* meaning;
};

// The capabilities kvmscope uses or whose absence explains a missing feature (api.rst section 8
// and the KVM_CHECK_EXTENSION notes of each ioctl in section 4).
constexpr CapabilityInfo kCapabilities[] = {
    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP", "in-kernel PIC, IOAPIC and local APICs"},
    {KVM_CAP_PIT2, "KVM_CAP_PIT2", "in-kernel i8254 timer (KVM_CREATE_PIT2)"},
    {KVM_CAP_SPLIT_IRQCHIP, "KVM_CAP_SPLIT_IRQCHIP",
     "local APICs in the kernel, the rest in user space"},
    {KVM_CAP_X2APIC_API, "KVM_CAP_X2APIC_API", "32-bit APIC ids for x2APIC guests"},
    {KVM_CAP_SYNC_REGS, "KVM_CAP_SYNC_REGS", "registers shared in kvm_run: fewer ioctls per exit"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT",
     "a vcpu can be paused without a signal race"},
    {KVM_CAP_SET_GUEST_DEBUG, "KVM_CAP_SET_GUEST_DEBUG",
     "single-stepping and hardware breakpoints"},
    {KVM_CAP_DEBUGREGS, "KVM_CAP_DEBUGREGS", "DR0-DR7 readable (KVM_GET_DEBUGREGS)"},
    {KVM_CAP_VCPU_EVENTS, "KVM_CAP_VCPU_EVENTS", "pending exceptions/interrupts/NMIs readable"},
    {KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE", "vcpu run state (halted, waiting for SIPI) readable"},
    {KVM_CAP_XSAVE, "KVM_CAP_XSAVE", "AVX and later register state readable (KVM_GET_XSAVE)"},
    {KVM_CAP_XCRS, "KVM_CAP_XCRS", "XCR0 readable"},
    {KVM_CAP_X86_SMM, "KVM_CAP_X86_SMM", "System Management Mode for firmware guests"},
    {KVM_CAP_TSC_CONTROL, "KVM_CAP_TSC_CONTROL", "guest TSC frequency can be set"},
    {KVM_CAP_ADJUST_CLOCK, "KVM_CAP_ADJUST_CLOCK", "kvmclock readable and adjustable"},
    {KVM_CAP_NESTED_STATE, "KVM_CAP_NESTED_STATE", "a guest's own VMX/SVM state can be saved"},
    {KVM_CAP_DIRTY_LOG_RING, "KVM_CAP_DIRTY_LOG_RING", "dirty pages reported through a ring"},
    {KVM_CAP_DEVICE_CTRL, "KVM_CAP_DEVICE_CTRL", "kernel devices (KVM_CREATE_DEVICE)"},
    {KVM_CAP_SYS_ATTRIBUTES, "KVM_CAP_SYS_ATTRIBUTES", "/dev/kvm attributes (XSAVE components)"},
    {KVM_CAP_VCPU_ATTRIBUTES, "KVM_CAP_VCPU_ATTRIBUTES", "vcpu attributes (TSC offset)"},
    {KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD",
     "port/MMIO writes signalled without an exit to user space"},
    {KVM_CAP_IRQFD, "KVM_CAP_IRQFD", "interrupts injected through an eventfd"},
    {KVM_CAP_NR_MEMSLOTS, "KVM_CAP_NR_MEMSLOTS", "number of guest memory slots"},
    {KVM_CAP_MAX_VCPU_ID, "KVM_CAP_MAX_VCPU_ID", "largest vcpu id + 1"},
    {KVM_CAP_HYPERV, "KVM_CAP_HYPERV", "Hyper-V enlightenments for Windows guests"},
};

QString errorText(const Error& error) {
    return QObject::tr("error: %1").arg(QString::fromUtf8(error.what()));
}

} // namespace

HostInfoModel::HostInfoModel(QObject* parent) : QStandardItemModel(0, ColumnCount, parent) {
    setHorizontalHeaderLabels({tr("Item"), tr("Value"), tr("Meaning")});
}

QString HostInfoModel::sectionName(Section section) {
    switch (section) {
    case SummarySection:
        return tr("Summary");
    case CapabilitiesSection:
        return tr("Capabilities");
    case DeviceTypesSection:
        return tr("Kernel device types");
    case AttributesSection:
        return tr("System attributes");
    case DebuggingSection:
        return tr("Debugging");
    }
    return {};
}

QStandardItem* HostInfoModel::addSection(Section section) {
    auto* item = new QStandardItem(sectionName(section));
    item->setEditable(false);
    QList<QStandardItem*> row{item};
    for (int column = 1; column < ColumnCount; ++column) {
        row.append(new QStandardItem);
        row.back()->setEditable(false);
    }
    appendRow(row);
    return item;
}

void HostInfoModel::addRow(QStandardItem* section, const QString& name, const QString& value,
                           const QString& meaning, QVariant present) {
    QList<QStandardItem*> row{new QStandardItem(name), new QStandardItem(value),
                              new QStandardItem(meaning)};
    for (QStandardItem* item : row) {
        item->setEditable(false);
        item->setData(present, PresentRole);
        if (present.isValid() && !present.toBool())
            item->setForeground(Qt::gray);
    }
    section->appendRow(row);
}

void HostInfoModel::load(kvm::System* system, const QString& unavailableReason) {
    removeRows(0, rowCount());
    QStandardItem* summary = addSection(SummarySection);
    if (system) {
        loadSummary(*system, summary);
        loadCapabilities(*system, addSection(CapabilitiesSection));
        loadDeviceTypes(*system, addSection(DeviceTypesSection));
        loadAttributes(*system, addSection(AttributesSection));
        loadDebugging(*system, addSection(DebuggingSection));
    } else {
        addRow(summary, tr("KVM"), tr("unavailable"), unavailableReason, false);
    }
    loaded_ = true;
}

void HostInfoModel::loadSummary(kvm::System& system, QStandardItem* section) {
    auto guarded = [section](const QString& name, const QString& meaning, auto read) {
        try {
            addRow(section, name, read(), meaning);
        } catch (const Error& error) {
            addRow(section, name, errorText(error), meaning, false);
        }
    };
    guarded(tr("API version"), tr("KVM_GET_API_VERSION; 12 is the only stable API"),
            [&] { return QString::number(system.apiVersion()); });
    const bool hardware = kvm::System::hardwareVirtualization();
    addRow(section, tr("Virtualization"),
           hardware ? tr("hardware (VMX/SVM)") : tr("software nested layer"),
           hardware ? tr("the CPU runs guest code directly")
                    : tr("no vmx/svm flag in /proc/cpuinfo: KVM runs under another hypervisor "
                         "or emulates; exits and ring-0 code are much slower"),
           hardware);
    guarded(tr("Max vcpus"), tr("KVM_CAP_MAX_VCPUS: the most vcpus one VM may have"),
            [&] { return QString::number(system.maxVcpus()); });
    guarded(tr("Recommended vcpus"), tr("KVM_CAP_NR_VCPUS: more than this may run slowly"),
            [&] { return QString::number(system.checkExtension(KVM_CAP_NR_VCPUS)); });
    guarded(tr("MSRs"), tr("KVM_GET_MSR_INDEX_LIST: MSRs saved and shown per vcpu"),
            [&] { return QString::number(system.msrIndexList().size()); });
    guarded(tr("CPUID entries"), tr("KVM_GET_SUPPORTED_CPUID: leaves a guest can be given"),
            [&] { return QString::number(system.supportedCpuid().size()); });
    guarded(tr("vcpu mmap size"), tr("KVM_GET_VCPU_MMAP_SIZE: bytes of kvm_run per vcpu"),
            [&] { return QString::number(system.vcpuMmapSize()); });
}

void HostInfoModel::loadCapabilities(kvm::System& system, QStandardItem* section) {
    for (const CapabilityInfo& info : kCapabilities) {
        const QString name = QString::fromLatin1(info.name);
        const QString meaning = QString::fromLatin1(info.meaning);
        try {
            const int value = system.checkExtension(info.capability);
            addRow(section, name, value ? QString::number(value) : tr("absent"), meaning,
                   value != 0);
        } catch (const Error& error) {
            addRow(section, name, errorText(error), meaning, false);
        }
    }
}

void HostInfoModel::loadDeviceTypes(kvm::System& system, QStandardItem* section) {
    // KVM_CREATE_DEVICE_TEST needs a VM fd: a throwaway VM, closed when this returns.
    std::vector<uint32_t> offered;
    try {
        const kvm::Vm vm = system.createVm();
        offered = kvm::System::probeDeviceTypes(vm);
    } catch (const Error& error) {
        addRow(section, tr("probe"), errorText(error), tr("creating a VM to probe failed"), false);
        return;
    }
    // Type 0 is not a device; the rest are the kernel headers' enum kvm_device_type.
    for (uint32_t type = 1; type < KVM_DEV_TYPE_MAX; ++type) {
        const bool present = std::find(offered.begin(), offered.end(), type) != offered.end();
        addRow(section, QString::fromStdString(kvm::DeviceFd::typeName(type)),
               present ? tr("offered") : tr("not offered"),
               present ? tr("can be added with Machine ▸ Add kernel device…")
                       : tr("this host's KVM has no such device (other architectures' types "
                            "are never offered on x86)"),
               present);
    }
}

void HostInfoModel::loadAttributes(kvm::System& system, QStandardItem* section) {
    try {
        const SystemAttributes attributes(system);
        for (const AttributeInfo& info : attributes.attributes()) {
            const QString name = QString::fromStdString(info.name);
            const QString meaning = QString::fromStdString(info.description);
            try {
                const AttrValue value = attributes.getAttr(info.group, info.attr);
                addRow(section, name, QStringLiteral("0x%1").arg(value.scalar, 0, 16), meaning,
                       true);
            } catch (const Error& error) {
                addRow(section, name, errorText(error), meaning, false);
            }
        }
        if (attributes.attributes().empty())
            addRow(section, tr("(none)"), {},
                   tr("KVM_CAP_SYS_ATTRIBUTES absent or no known "
                      "attribute"),
                   false);
    } catch (const Error& error) {
        addRow(section, tr("attributes"), errorText(error), {}, false);
    }
}

void HostInfoModel::loadDebugging(kvm::System& system, QStandardItem* section) {
    // The debugger's host probe (a tiny guest per mechanism), then what each breakpoint kind
    // gets from it with every debug register free: the same choice the engine makes.
    const debug::HostDebugSupport& support = debug::hostDebugSupport(system);
    for (const auto& entry : debug::HostDebugSupport::entries()) {
        const debug::ProbeFinding& finding = support.*entry.finding;
        addRow(section, QString::fromLatin1(entry.name),
               finding.works ? tr("works") : tr("does not work"),
               QString::fromStdString(finding.detail), finding.works);
    }
    const std::pair<debug::BreakpointKind, QString> kinds[] = {
        {debug::BreakpointKind::Software, tr("Breakpoints use")},
        {debug::BreakpointKind::Hardware, tr("Hardware breakpoints use")},
        {debug::BreakpointKind::WriteWatch, tr("Write watchpoints use")},
        {debug::BreakpointKind::ReadWriteWatch, tr("Read/write watchpoints use")},
    };
    for (const auto& [kind, name] : kinds) {
        const debug::MechanismChoice choice =
            debug::chooseMechanism(kind, false, support, debug::Debugger::kDebugRegisterSlots);
        addRow(section, name,
               choice.mechanism ? QString::fromLatin1(debug::toString(*choice.mechanism))
                                : tr("none: refused"),
               QString::fromStdString(choice.note), choice.mechanism.has_value());
    }
}

QModelIndex HostInfoModel::find(Section section, const QString& name, int column) const {
    const QString title = sectionName(section);
    for (int row = 0; row < rowCount(); ++row) {
        QStandardItem* sectionItem = item(row);
        if (!sectionItem || sectionItem->text() != title)
            continue;
        for (int child = 0; child < sectionItem->rowCount(); ++child)
            if (sectionItem->child(child)->text() == name)
                return index(child, column, sectionItem->index());
    }
    return {};
}

QString HostInfoModel::valueText(Section section, const QString& name) const {
    return find(section, name).data().toString();
}

bool HostInfoModel::present(Section section, const QString& name) const {
    return find(section, name).data(PresentRole).toBool();
}

} // namespace kvmscope::ui
