#pragma once
// Every device of a machine (user space, in-kernel chips, kernel devices, vcpus, the system) as a
// tree device -> group -> attribute, with columns name / value / type / access / description —
// one model for all of them, because they all share the Device attribute model. Writable
// attributes are editable (setData -> Device::setAttr); a refusal (AttributeError) is reported
// through attributeError() for the window to show. While the guest runs the values are re-read
// on a timer and only the ones that changed emit dataChanged.
#include "devices/Device.h"

#include <QAbstractItemModel>
#include <QPointer>
#include <QTimer>
#include <memory>
#include <vector>

namespace kvmscope::ui {

class MachineSession;

class DeviceTreeModel : public QAbstractItemModel {
    Q_OBJECT
public:
    enum Column {
        NameColumn,
        ValueColumn,
        TypeColumn,
        AccessColumn,
        DescriptionColumn,
        ColumnCount
    };
    static constexpr int kRefreshIntervalMs = 500;

    explicit DeviceTreeModel(QObject* parent = nullptr);
    ~DeviceTreeModel() override;

    void setSession(MachineSession* session);
    MachineSession* session() const;

    // Re-reads every readable attribute (those of vcpu devices only while the vcpus are parked).
    void refresh();
    // Whether the values follow a running guest (on the refresh timer). The view turns it off
    // while it is not on screen (a hidden dock tab): nobody sees those reads. On by default.
    void setLive(bool live);
    bool live() const { return live_; }

    // Index of a device row by (a part of) its name, and of an attribute under it.
    QModelIndex findDevice(const QString& namePart) const;
    QModelIndex findAttribute(const QModelIndex& device, const QString& group, const QString& name,
                              int column = ValueColumn) const;

    QModelIndex index(int row, int column, const QModelIndex& parent = {}) const override;
    QModelIndex parent(const QModelIndex& child) const override;
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;
    Qt::ItemFlags flags(const QModelIndex& index) const override;
    bool setData(const QModelIndex& index, const QVariant& value, int role = Qt::EditRole) override;

    static QString formatValue(AttrType type, const AttrValue& value);
    // Parses a value typed by the user for `type` (hex with 0x, decimal, true/false).
    static bool parseValue(AttrType type, const QString& text, AttrValue& value);

Q_SIGNALS:
    void attributeError(const QString& message);

private:
    struct Node;
    Node* nodeOf(const QModelIndex& index) const;
    QModelIndex indexOf(const Node* node, int column) const;
    void rebuild();
    bool readValue(Node& attribute); // true when the displayed text changed
    bool deviceReadable(const Device& device) const;
    void updateTimer();

    QPointer<MachineSession> session_;
    std::unique_ptr<Node> root_;
    QTimer refreshTimer_;
    bool live_ = true;
};

} // namespace kvmscope::ui
