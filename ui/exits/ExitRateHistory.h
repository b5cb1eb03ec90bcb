#pragma once
// The exits/s of one session over the last kWindowSeconds, one point per statistics sample
// (MachineSession::statisticsUpdated, every kStatisticsIntervalMs): the data behind the Exits
// dock's rate chart. x is seconds since the history started, y the session's exitsPerSecond().
#include <QElapsedTimer>
#include <QObject>
#include <QPointF>
#include <QPointer>
#include <deque>

namespace kvmscope::ui {

class MachineSession;

class ExitRateHistory : public QObject {
    Q_OBJECT
public:
    static constexpr double kWindowSeconds = 60.0;

    explicit ExitRateHistory(QObject* parent = nullptr);

    // Follows `session` from now on (the previous session's points are dropped).
    void setSession(MachineSession* session);
    MachineSession* session() const;

    const std::deque<QPointF>& points() const { return points_; }
    double lastRate() const { return points_.empty() ? 0.0 : points_.back().y(); }
    double maxRate() const;
    void clear();

Q_SIGNALS:
    void changed();

private:
    void sample();

    QPointer<MachineSession> session_;
    QElapsedTimer clock_;
    std::deque<QPointF> points_;
};

} // namespace kvmscope::ui
