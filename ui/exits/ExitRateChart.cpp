#include "exits/ExitRateChart.h"

#include "exits/ExitRateHistory.h"

#include <QChart>
#include <QLineSeries>
#include <QValueAxis>
#include <cmath>

namespace kvmscope::ui {
namespace {

// The y axis ends at a round number above the peak (1, 2, 5 × 10^n) so the scale reads easily.
double niceCeiling(double value) {
    if (value <= 1.0)
        return 1.0;
    const double magnitude = std::pow(10.0, std::floor(std::log10(value)));
    for (double step : {1.0, 2.0, 5.0, 10.0})
        if (value <= step * magnitude)
            return step * magnitude;
    return 10.0 * magnitude;
}

} // namespace

// The chart is handed to QChartView's constructor: the plain constructor makes a chart of its
// own, which setChart() would then release without deleting (QChartView::setChart).
ExitRateChart::ExitRateChart(QWidget* parent) : QChartView(new QChart, parent) {
    setObjectName(QStringLiteral("exitRateChart"));
    setToolTip(tr("VM exits per second over the last %1 s").arg(ExitRateHistory::kWindowSeconds));
    setRenderHint(QPainter::Antialiasing);

    QChart* chart = this->chart(); // owned by the view
    chart->legend()->hide();
    chart->setMargins(QMargins(2, 2, 2, 2));
    chart->setBackgroundRoundness(0);
    chart->setBackgroundBrush(palette().base());
    chart->setTitleBrush(palette().text());
    series_ = new QLineSeries(chart);
    series_->setPen(QPen(palette().highlight().color(), 2));
    chart->addSeries(series_);
    timeAxis_ = new QValueAxis(chart);
    timeAxis_->setRange(-ExitRateHistory::kWindowSeconds, 0);
    timeAxis_->setLabelFormat(QStringLiteral("%d s"));
    timeAxis_->setTickCount(7);
    rateAxis_ = new QValueAxis(chart);
    rateAxis_->setRange(0, 1);
    rateAxis_->setLabelFormat(QStringLiteral("%.0f"));
    rateAxis_->setTickCount(3);
    for (QValueAxis* axis : {timeAxis_, rateAxis_}) {
        axis->setLabelsBrush(palette().text());
        axis->setGridLineColor(palette().mid().color());
    }
    chart->addAxis(timeAxis_, Qt::AlignBottom);
    chart->addAxis(rateAxis_, Qt::AlignLeft);
    series_->attachAxis(timeAxis_);
    series_->attachAxis(rateAxis_);
    refresh();
}

void ExitRateChart::setHistory(ExitRateHistory* history) {
    if (history_)
        disconnect(history_, nullptr, this, nullptr);
    history_ = history;
    if (history_)
        connect(history_, &ExitRateHistory::changed, this, [this] {
            if (isVisible())
                refresh();
        });
    refresh();
}

void ExitRateChart::showEvent(QShowEvent* event) {
    QChartView::showEvent(event);
    refresh();
}

QString ExitRateChart::caption() const {
    if (!history_ || history_->points().empty())
        return tr("exits/s: no samples");
    return tr("%1 exits/s (peak %2 in %3 s)")
        .arg(QString::number(history_->lastRate(), 'f', 0),
             QString::number(history_->maxRate(), 'f', 0))
        .arg(ExitRateHistory::kWindowSeconds);
}

void ExitRateChart::refresh() {
    QList<QPointF> points;
    if (history_ && !history_->points().empty()) {
        // Seconds before the newest sample, so the x axis stays put while time runs.
        const double newest = history_->points().back().x();
        points.reserve(static_cast<qsizetype>(history_->points().size()));
        for (const QPointF& point : history_->points())
            points.append({point.x() - newest, point.y()});
    }
    series_->replace(points); // one repaint for the whole series
    rateAxis_->setRange(0, niceCeiling(history_ ? history_->maxRate() : 0.0));
    chart()->setTitle(caption());
}

QSize ExitRateChart::sizeHint() const {
    return {400, 140};
}

QSize ExitRateChart::minimumSizeHint() const {
    return {160, 90};
}

} // namespace kvmscope::ui
