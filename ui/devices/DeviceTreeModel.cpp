#include "devices/DeviceTreeModel.h"

#include "machine/Machine.h"
#include "session/MachineSession.h"

#include <QBrush>
#include <QFont>

namespace kvmscope::ui {
namespace {

constexpr int kMaxBytesShown = 64;

} // namespace

struct DeviceTreeModel::Node {
    enum class Kind { Root, Device, Group, Attribute };
    Kind kind = Kind::Root;
    Node* parent = nullptr;
    int row = 0;
    std::vector<std::unique_ptr<Node>> children;

    kvmscope::Device* device = nullptr; // Device rows, and the owner of Group/Attribute rows
    QString name;                       // device, group or attribute name
    AttributeInfo info;                 // Attribute rows
    QString valueText;                  // Attribute rows: what the Value column shows
    bool readFailed = false;
    bool stale = false; // not re-read because its vcpu runs

    Node* add(std::unique_ptr<Node> child) {
        child->parent = this;
        child->row = static_cast<int>(children.size());
        children.push_back(std::move(child));
        return children.back().get();
    }
};

DeviceTreeModel::DeviceTreeModel(QObject* parent)
    : QAbstractItemModel(parent), root_(std::make_unique<Node>()) {
    refreshTimer_.setInterval(kRefreshIntervalMs);
    connect(&refreshTimer_, &QTimer::timeout, this, &DeviceTreeModel::refresh);
}

DeviceTreeModel::~DeviceTreeModel() = default;

MachineSession* DeviceTreeModel::session() const {
    return session_;
}

void DeviceTreeModel::setSession(MachineSession* session) {
    if (session_ == session)
        return;
    if (session_)
        disconnect(session_, nullptr, this, nullptr);
    session_ = session;
    if (session_) {
        connect(session_, &MachineSession::stateChanged, this, [this] {
            updateTimer();
            refresh();
        });
        connect(session_, &MachineSession::vcpuParkedChanged, this, &DeviceTreeModel::refresh);
        connect(session_, &MachineSession::devicesChanged, this, &DeviceTreeModel::rebuild);
    }
    rebuild();
    updateTimer();
}

void DeviceTreeModel::setLive(bool live) {
    if (live == live_)
        return;
    live_ = live;
    updateTimer();
    if (live_)
        refresh(); // what changed while nobody looked
}

void DeviceTreeModel::updateTimer() {
    if (live_ && session_ && session_->state() == MachineSession::State::Running)
        refreshTimer_.start();
    else
        refreshTimer_.stop();
}

void DeviceTreeModel::rebuild() {
    beginResetModel();
    root_ = std::make_unique<Node>();
    if (session_) {
        for (kvmscope::Device* device : session_->devices()) {
            auto deviceNode = std::make_unique<Node>();
            deviceNode->kind = Node::Kind::Device;
            deviceNode->device = device;
            deviceNode->name = QString::fromStdString(device->name());
            Node* deviceRow = root_->add(std::move(deviceNode));
            Node* groupRow = nullptr;
            for (const AttributeInfo& info : device->attributes()) {
                const QString groupName = QString::fromStdString(info.groupName);
                if (!groupRow || groupRow->name != groupName) {
                    auto groupNode = std::make_unique<Node>();
                    groupNode->kind = Node::Kind::Group;
                    groupNode->device = device;
                    groupNode->name = groupName;
                    groupRow = deviceRow->add(std::move(groupNode));
                }
                auto attributeNode = std::make_unique<Node>();
                attributeNode->kind = Node::Kind::Attribute;
                attributeNode->device = device;
                attributeNode->info = info;
                attributeNode->name = QString::fromStdString(info.name);
                Node* attributeRow = groupRow->add(std::move(attributeNode));
                readValue(*attributeRow);
            }
        }
    }
    endResetModel();
}

bool DeviceTreeModel::deviceReadable(const Device& device) const {
    // A vcpu's attributes and its LAPIC's are read on its own thread (VcpuRunner::call), which
    // would wait for a running vcpu: only ask while every vcpu is parked.
    if (!device.readsOnVcpuThread())
        return true;
    if (!session_)
        return false;
    for (size_t vcpu = 0; vcpu < session_->vcpuCount(); ++vcpu)
        if (!session_->vcpuParked(vcpu))
            return false;
    return true;
}

bool DeviceTreeModel::readValue(Node& attribute) {
    QString text;
    bool failed = false;
    if (!canRead(attribute.info.access)) {
        text = canWrite(attribute.info.access) ? tr("(write-only)") : tr("(present)");
    } else if (!deviceReadable(*attribute.device)) {
        const bool wasStale = attribute.stale;
        attribute.stale = true;
        return !wasStale;
    } else {
        try {
            text = formatValue(attribute.info.type, attribute.device->getAttr(attribute.info.group,
                                                                              attribute.info.attr));
        } catch (const Error& error) {
            text = QString::fromUtf8(error.what());
            failed = true;
        }
    }
    const bool changed =
        text != attribute.valueText || failed != attribute.readFailed || attribute.stale;
    attribute.valueText = text;
    attribute.readFailed = failed;
    attribute.stale = false;
    return changed;
}

void DeviceTreeModel::refresh() {
    for (auto& device : root_->children)
        for (auto& group : device->children)
            for (auto& attribute : group->children)
                if (readValue(*attribute))
                    Q_EMIT dataChanged(indexOf(attribute.get(), ValueColumn),
                                       indexOf(attribute.get(), ValueColumn));
}

QString DeviceTreeModel::formatValue(AttrType type, const AttrValue& value) {
    switch (type) {
    case AttrType::Bool:
        return value.scalar ? QStringLiteral("true") : QStringLiteral("false");
    case AttrType::U8:
    case AttrType::U16:
    case AttrType::U32:
    case AttrType::U64:
        return QStringLiteral("0x%1 (%2)").arg(value.scalar, 0, 16).arg(value.scalar);
    case AttrType::Bytes: {
        const int shown = std::min(static_cast<int>(value.bytes.size()), kMaxBytesShown);
        QByteArray bytes(reinterpret_cast<const char*>(value.bytes.data()), shown);
        QString text = QString::fromLatin1(bytes.toHex(' '));
        if (static_cast<int>(value.bytes.size()) > shown)
            text += tr(" … (%1 bytes)").arg(value.bytes.size());
        return text;
    }
    }
    return {};
}

bool DeviceTreeModel::parseValue(AttrType type, const QString& input, AttrValue& value) {
    const QString text = input.trimmed().section(QLatin1Char(' '), 0, 0); // "0x2a (42)" -> "0x2a"
    if (type == AttrType::Bytes)
        return false; // byte strings are shown, not edited
    if (type == AttrType::Bool) {
        if (text.compare(QLatin1String("true"), Qt::CaseInsensitive) == 0 ||
            text == QLatin1String("1")) {
            value = AttrValue::of(1);
            return true;
        }
        if (text.compare(QLatin1String("false"), Qt::CaseInsensitive) == 0 ||
            text == QLatin1String("0")) {
            value = AttrValue::of(0);
            return true;
        }
        return false;
    }
    bool ok = false;
    const qulonglong parsed = text.startsWith(QLatin1String("0x"), Qt::CaseInsensitive)
                                  ? text.mid(2).toULongLong(&ok, 16)
                                  : text.toULongLong(&ok, 10);
    if (!ok)
        return false;
    value = AttrValue::of(parsed); // the device checks the range for its type
    return true;
}

QModelIndex DeviceTreeModel::findDevice(const QString& namePart) const {
    for (const auto& device : root_->children)
        if (device->name.contains(namePart, Qt::CaseInsensitive))
            return indexOf(device.get(), NameColumn);
    return {};
}

QModelIndex DeviceTreeModel::findAttribute(const QModelIndex& deviceIndex, const QString& group,
                                           const QString& name, int column) const {
    const Node* device = nodeOf(deviceIndex);
    if (!device || device->kind != Node::Kind::Device)
        return {};
    for (const auto& groupNode : device->children) {
        if (!group.isEmpty() && groupNode->name != group)
            continue;
        for (const auto& attribute : groupNode->children)
            if (attribute->name == name)
                return indexOf(attribute.get(), column);
    }
    return {};
}

DeviceTreeModel::Node* DeviceTreeModel::nodeOf(const QModelIndex& index) const {
    return index.isValid() ? static_cast<Node*>(index.internalPointer()) : nullptr;
}

QModelIndex DeviceTreeModel::indexOf(const Node* node, int column) const {
    if (!node || node == root_.get())
        return {};
    return createIndex(node->row, column, const_cast<Node*>(node));
}

QModelIndex DeviceTreeModel::index(int row, int column, const QModelIndex& parent) const {
    const Node* parentNode = parent.isValid() ? nodeOf(parent) : root_.get();
    if (!parentNode || row < 0 || column < 0 || column >= ColumnCount ||
        row >= static_cast<int>(parentNode->children.size()))
        return {};
    return createIndex(row, column, parentNode->children[static_cast<size_t>(row)].get());
}

QModelIndex DeviceTreeModel::parent(const QModelIndex& child) const {
    const Node* node = nodeOf(child);
    if (!node || !node->parent || node->parent == root_.get())
        return {};
    return indexOf(node->parent, 0);
}

int DeviceTreeModel::rowCount(const QModelIndex& parent) const {
    if (parent.isValid() && parent.column() != 0)
        return 0;
    const Node* node = parent.isValid() ? nodeOf(parent) : root_.get();
    return node ? static_cast<int>(node->children.size()) : 0;
}

int DeviceTreeModel::columnCount(const QModelIndex&) const {
    return ColumnCount;
}

QVariant DeviceTreeModel::data(const QModelIndex& index, int role) const {
    const Node* node = nodeOf(index);
    if (!node)
        return {};
    if (node->kind != Node::Kind::Attribute) {
        if (role == Qt::DisplayRole && index.column() == NameColumn)
            return node->name;
        if (role == Qt::DisplayRole && index.column() == TypeColumn &&
            node->kind == Node::Kind::Device)
            return QString::fromLatin1(toString(node->device->kind()));
        if (role == Qt::FontRole && node->kind == Node::Kind::Device) {
            QFont font;
            font.setBold(true);
            return font;
        }
        return {};
    }
    const AttributeInfo& info = node->info;
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case NameColumn:
            return node->name;
        case ValueColumn:
            return node->valueText;
        case TypeColumn:
            return QString::fromLatin1(toString(info.type));
        case AccessColumn:
            return QString::fromLatin1(toString(info.access));
        case DescriptionColumn:
            return QString::fromStdString(info.description);
        }
        return {};
    case Qt::EditRole:
        return index.column() == ValueColumn ? node->valueText.section(QLatin1Char(' '), 0, 0)
                                             : QVariant();
    case Qt::ToolTipRole:
        if (node->stale)
            return tr("running — value at last stop");
        return QStringLiteral("group %1, attr %2: %3")
            .arg(info.group)
            .arg(info.attr)
            .arg(QString::fromStdString(info.description));
    case Qt::ForegroundRole:
        if (index.column() == ValueColumn && node->readFailed)
            return QBrush(Qt::darkRed);
        if (index.column() == ValueColumn && node->stale)
            return QBrush(Qt::gray);
        return {};
    }
    return {};
}

QVariant DeviceTreeModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case NameColumn:
        return tr("Name");
    case ValueColumn:
        return tr("Value");
    case TypeColumn:
        return tr("Type");
    case AccessColumn:
        return tr("Access");
    case DescriptionColumn:
        return tr("Description");
    }
    return {};
}

Qt::ItemFlags DeviceTreeModel::flags(const QModelIndex& index) const {
    const Node* node = nodeOf(index);
    if (!node)
        return Qt::NoItemFlags;
    Qt::ItemFlags result = Qt::ItemIsEnabled | Qt::ItemIsSelectable;
    if (node->kind == Node::Kind::Attribute && index.column() == ValueColumn &&
        canWrite(node->info.access) && node->info.type != AttrType::Bytes)
        result |= Qt::ItemIsEditable;
    return result;
}

bool DeviceTreeModel::setData(const QModelIndex& index, const QVariant& value, int role) {
    Node* node = nodeOf(index);
    if (role != Qt::EditRole || !node || node->kind != Node::Kind::Attribute ||
        index.column() != ValueColumn)
        return false;
    const QString where =
        QStringLiteral("%1: %2").arg(QString::fromStdString(node->device->name()), node->name);
    if (!canWrite(node->info.access) || node->info.type == AttrType::Bytes) {
        Q_EMIT attributeError(tr("%1 is read-only").arg(where));
        return false;
    }
    if (!deviceReadable(*node->device)) {
        Q_EMIT attributeError(tr("%1: pause the machine to change a vcpu attribute").arg(where));
        return false;
    }
    AttrValue parsed;
    if (!parseValue(node->info.type, value.toString(), parsed)) {
        Q_EMIT attributeError(
            tr("%1: '%2' is not a %3 value")
                .arg(where, value.toString(), QString::fromLatin1(toString(node->info.type))));
        return false;
    }
    try {
        node->device->setAttr(node->info.group, node->info.attr, parsed);
    } catch (const Error& error) {
        Q_EMIT attributeError(QString::fromUtf8(error.what()));
        return false;
    }
    readValue(*node);
    Q_EMIT dataChanged(indexOf(node, ValueColumn), indexOf(node, ValueColumn));
    // Writing one register may change others (e.g. LCR.DLAB changes what DLL shows).
    refresh();
    return true;
}

} // namespace kvmscope::ui
