#include "exits/ExitRateHistory.h"

#include "session/MachineSession.h"

#include <algorithm>

namespace kvmscope::ui {

ExitRateHistory::ExitRateHistory(QObject* parent) : QObject(parent) {}

MachineSession* ExitRateHistory::session() const {
    return session_;
}

void ExitRateHistory::setSession(MachineSession* session) {
    if (session_ == session)
        return;
    if (session_)
        disconnect(session_, nullptr, this, nullptr);
    session_ = session;
    if (session_)
        connect(session_, &MachineSession::statisticsUpdated, this, &ExitRateHistory::sample);
    clear();
}

void ExitRateHistory::clear() {
    points_.clear();
    clock_.start();
    Q_EMIT changed();
}

double ExitRateHistory::maxRate() const {
    double max = 0;
    for (const QPointF& point : points_)
        max = std::max(max, point.y());
    return max;
}

void ExitRateHistory::sample() {
    if (!session_)
        return;
    const double now = static_cast<double>(clock_.elapsed()) / 1000.0;
    points_.emplace_back(now, session_->exitsPerSecond());
    while (!points_.empty() && points_.front().x() < now - kWindowSeconds)
        points_.pop_front();
    Q_EMIT changed();
}

} // namespace kvmscope::ui
