#pragma once
// The Exits dock: exits/s over the last minute, per-reason counters and the recent exits, with a
// freeze toggle and CSV export.
// Below the per-reason counters, exits per port / MMIO address (sortable), sampled only while the
// dock is visible.
#include <QWidget>

class QCheckBox;
class QSortFilterProxyModel;
class QTableView;

namespace kvmscope::ui {

class ExitAddressCountersModel;
class ExitCountersModel;
class ExitRateChart;
class ExitRateHistory;
class MachineSession;
class RecentExitsModel;

class ExitsView : public QWidget {
    Q_OBJECT
public:
    explicit ExitsView(QWidget* parent = nullptr);

    void setSession(MachineSession* session);
    ExitCountersModel* countersModel() const { return counters_; }
    RecentExitsModel* recentModel() const { return recent_; }
    QTableView* recentTable() const { return recentTable_; }
    QCheckBox* freezeToggle() const { return freeze_; }
    ExitRateHistory* rateHistory() const { return rateHistory_; }
    ExitRateChart* rateChart() const { return rateChart_; }
    ExitAddressCountersModel* addressModel() const { return addresses_; }
    QTableView* addressTable() const { return addressTable_; }

Q_SIGNALS:
    void errorOccurred(const QString& message);
    void exported(const QString& path);

protected:
    void showEvent(QShowEvent* event) override;
    void hideEvent(QHideEvent* event) override;

private:
    void exportCsv();

    ExitCountersModel* counters_ = nullptr;
    RecentExitsModel* recent_ = nullptr;
    QTableView* countersTable_ = nullptr;
    QTableView* recentTable_ = nullptr;
    QCheckBox* freeze_ = nullptr;
    ExitRateHistory* rateHistory_ = nullptr;
    ExitRateChart* rateChart_ = nullptr;
    ExitAddressCountersModel* addresses_ = nullptr;
    QSortFilterProxyModel* addressesSorted_ = nullptr;
    QTableView* addressTable_ = nullptr;
};

} // namespace kvmscope::ui
