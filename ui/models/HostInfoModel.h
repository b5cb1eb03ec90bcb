#pragma once
// What this host's KVM offers, as a read-only tree section -> item with columns name / value /
// meaning: API version, hardware or nested virtualization, vcpu limits, the capabilities kvmscope
// relies on (KVM_CHECK_EXTENSION, api.rst 4.4), the KVM_CREATE_DEVICE types, the system
// attributes and the MSR and CPUID counts, and the debug mechanisms the debugger's host probe saw
// work (debug/HostDebugProbe.h) with the one each breakpoint kind uses — so a user can see why
// something is slow or missing. The data is read once by load(); device types need a VM, so load()
// creates a throwaway one, and the probe runs its own (once per process).
#include <QStandardItemModel>

namespace kvmscope::kvm {
class System;
}

namespace kvmscope::ui {

class HostInfoModel : public QStandardItemModel {
    Q_OBJECT
public:
    enum Column { NameColumn, ValueColumn, MeaningColumn, ColumnCount };
    enum Section {
        SummarySection,
        CapabilitiesSection,
        DeviceTypesSection,
        AttributesSection,
        DebuggingSection,
    };
    enum Role { PresentRole = Qt::UserRole + 1 }; // bool: capability / device type offered

    explicit HostInfoModel(QObject* parent = nullptr);

    // Reads everything from `system`; a null system shows `unavailableReason` instead.
    void load(kvm::System* system, const QString& unavailableReason = {});
    bool loaded() const { return loaded_; }

    static QString sectionName(Section section);
    // The row named `name` ("API version", "KVM_CAP_IRQCHIP", ...) of `section`, column `column`.
    QModelIndex find(Section section, const QString& name, int column = ValueColumn) const;
    QString valueText(Section section, const QString& name) const;
    bool present(Section section, const QString& name) const;

private:
    QStandardItem* addSection(Section section);
    static void addRow(QStandardItem* section, const QString& name, const QString& value,
                       const QString& meaning, QVariant present = {});
    void loadSummary(kvm::System& system, QStandardItem* section);
    void loadCapabilities(kvm::System& system, QStandardItem* section);
    void loadDeviceTypes(kvm::System& system, QStandardItem* section);
    void loadAttributes(kvm::System& system, QStandardItem* section);
    void loadDebugging(kvm::System& system, QStandardItem* section);

    bool loaded_ = false;
};

} // namespace kvmscope::ui
