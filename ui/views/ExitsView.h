#pragma once
// The Exits dock: exits/s over the last minute, per-reason counters and the recent exits, with a
// freeze toggle and CSV export.
#include <QWidget>

class QCheckBox;
class QTableView;

namespace kvmscope::ui {

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
    QCheckBox* freezeToggle() const { return freeze_; }
    ExitRateHistory* rateHistory() const { return rateHistory_; }
    ExitRateChart* rateChart() const { return rateChart_; }

Q_SIGNALS:
    void errorOccurred(const QString& message);
    void exported(const QString& path);

private:
    void exportCsv();

    ExitCountersModel* counters_ = nullptr;
    RecentExitsModel* recent_ = nullptr;
    QTableView* countersTable_ = nullptr;
    QTableView* recentTable_ = nullptr;
    QCheckBox* freeze_ = nullptr;
    ExitRateHistory* rateHistory_ = nullptr;
    ExitRateChart* rateChart_ = nullptr;
};

} // namespace kvmscope::ui
