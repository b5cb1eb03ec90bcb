#include "session/MachineListModel.h"

#include "session/MachineSession.h"

#include <QFileInfo>

namespace kvmscope::ui {

MachineListModel::MachineListModel(QObject* parent) : QAbstractListModel(parent) {}

MachineListModel::~MachineListModel() {
    beginResetModel();
    sessions_.clear();
    endResetModel();
}

int MachineListModel::addSession(std::unique_ptr<MachineSession> session) {
    const int row = count();
    MachineSession* raw = session.get();
    beginInsertRows({}, row, row);
    sessions_.push_back(std::move(session));
    endInsertRows();
    connect(raw, &MachineSession::stateChanged, this, [this, raw] { sessionChanged(raw); });
    return row;
}

void MachineListModel::removeSession(int row) {
    if (row < 0 || row >= count())
        return;
    beginRemoveRows({}, row, row);
    auto session = std::move(sessions_[static_cast<size_t>(row)]);
    sessions_.erase(sessions_.begin() + row);
    endRemoveRows();
    session.reset(); // stops and joins the vcpu threads
}

MachineSession* MachineListModel::session(int row) const {
    return row >= 0 && row < count() ? sessions_[static_cast<size_t>(row)].get() : nullptr;
}

int MachineListModel::rowOf(const MachineSession* session) const {
    for (int row = 0; row < count(); ++row)
        if (sessions_[static_cast<size_t>(row)].get() == session)
            return row;
    return -1;
}

void MachineListModel::sessionChanged(MachineSession* session) {
    const int row = rowOf(session);
    if (row >= 0)
        Q_EMIT dataChanged(index(row), index(row));
}

int MachineListModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : count();
}

QVariant MachineListModel::data(const QModelIndex& index, int role) const {
    MachineSession* s = index.isValid() ? session(index.row()) : nullptr;
    if (!s)
        return {};
    switch (role) {
    case Qt::DisplayRole:
        return tr("%1 — %2").arg(s->name(), MachineSession::stateText(s->state()));
    case Qt::ToolTipRole:
        return tr("%1\n%2\n%3").arg(s->name(), s->imagePath(), s->statusText());
    case NameRole:
        return s->name();
    case StateRole:
        return QVariant::fromValue(s->state());
    case StateTextRole:
        return s->statusText();
    case ImageRole:
        return s->imagePath();
    case SessionRole:
        return QVariant::fromValue(static_cast<QObject*>(s));
    }
    return {};
}

QHash<int, QByteArray> MachineListModel::roleNames() const {
    auto names = QAbstractListModel::roleNames();
    names[NameRole] = "name";
    names[StateRole] = "state";
    names[StateTextRole] = "stateText";
    names[ImageRole] = "image";
    return names;
}

} // namespace kvmscope::ui
