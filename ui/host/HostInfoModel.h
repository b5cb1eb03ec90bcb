#pragma once
// The host's profile (host/HostProfile.h: virtualization kind, limits, capabilities, kernel
// device types, system attributes, the debugger's probe) as a read-only tree section -> fact with
// columns name / value / meaning, the same facts `kvmscope --host-info` prints.
#include "host/HostProfile.h"

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
        SummarySection = host::HostSection::Summary,
        CapabilitiesSection = host::HostSection::Capabilities,
        DeviceTypesSection = host::HostSection::DeviceTypes,
        AttributesSection = host::HostSection::Attributes,
        DebuggingSection = host::HostSection::Debugging,
    };
    enum Role { PresentRole = Qt::UserRole + 1 }; // bool: capability / device type offered

    explicit HostInfoModel(QObject* parent = nullptr);

    // The profile of `system` (read once per process); a null system shows `unavailableReason`.
    void load(kvm::System* system, const QString& unavailableReason = {});
    void show(const host::HostProfile& profile);
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

    bool loaded_ = false;
};

} // namespace kvmscope::ui
