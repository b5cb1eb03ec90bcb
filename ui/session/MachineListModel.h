#pragma once
// The machines open in the window (several at once), one row each: name, state, image. The
// model owns the sessions; removing a row powers its machine off and destroys it.
#include <QAbstractListModel>
#include <memory>
#include <vector>

namespace kvmscope::ui {

class MachineSession;

class MachineListModel : public QAbstractListModel {
    Q_OBJECT
public:
    enum Role { NameRole = Qt::UserRole + 1, StateRole, StateTextRole, ImageRole, SessionRole };

    explicit MachineListModel(QObject* parent = nullptr);
    ~MachineListModel() override;

    // Takes ownership; returns the new row.
    int addSession(std::unique_ptr<MachineSession> session);
    void removeSession(int row);
    MachineSession* session(int row) const;
    int rowOf(const MachineSession* session) const;
    int count() const { return static_cast<int>(sessions_.size()); }

    int rowCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

private:
    void sessionChanged(MachineSession* session);

    std::vector<std::unique_ptr<MachineSession>> sessions_;
};

} // namespace kvmscope::ui
