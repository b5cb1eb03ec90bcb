#include "views/ExitRateChart.h"

#include "models/ExitRateHistory.h"

#include <QPainter>
#include <QPainterPath>
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

ExitRateChart::ExitRateChart(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("exitRateChart"));
    setToolTip(tr("VM exits per second over the last %1 s").arg(ExitRateHistory::kWindowSeconds));
}

void ExitRateChart::setHistory(ExitRateHistory* history) {
    if (history_)
        disconnect(history_, nullptr, this, nullptr);
    history_ = history;
    if (history_)
        connect(history_, &ExitRateHistory::changed, this, qOverload<>(&QWidget::update));
    update();
}

QString ExitRateChart::caption() const {
    if (!history_ || history_->points().empty())
        return tr("exits/s: no samples");
    return tr("%1 exits/s (peak %2 in %3 s)")
        .arg(QString::number(history_->lastRate(), 'f', 0),
             QString::number(history_->maxRate(), 'f', 0))
        .arg(ExitRateHistory::kWindowSeconds);
}

QSize ExitRateChart::sizeHint() const {
    return {400, 90};
}

QSize ExitRateChart::minimumSizeHint() const {
    return {120, 50};
}

void ExitRateChart::paintEvent(QPaintEvent*) {
    QPainter painter(this);
    painter.setRenderHint(QPainter::Antialiasing);
    const QRectF area = QRectF(rect()).adjusted(4, 4, -4, -4);
    painter.fillRect(rect(), palette().base());
    painter.setPen(palette().mid().color());
    painter.drawRect(area);

    const double top = history_ ? niceCeiling(history_->maxRate()) : 1.0;
    painter.setPen(palette().text().color());
    painter.drawText(area.adjusted(4, 2, -4, -2), Qt::AlignTop | Qt::AlignLeft, caption());
    painter.drawText(area.adjusted(4, 2, -4, -2), Qt::AlignTop | Qt::AlignRight,
                     QString::number(top, 'f', 0));
    if (!history_ || history_->points().size() < 2)
        return;

    // Newest point at the right edge; the window's start at the left edge.
    const double newest = history_->points().back().x();
    const double oldest = newest - ExitRateHistory::kWindowSeconds;
    auto toWidget = [&](const QPointF& point) {
        const double x =
            area.left() + (point.x() - oldest) / ExitRateHistory::kWindowSeconds * area.width();
        const double y = area.bottom() - point.y() / top * area.height();
        return QPointF(x, y);
    };
    QPainterPath line;
    line.moveTo(toWidget(history_->points().front()));
    for (const QPointF& point : history_->points())
        line.lineTo(toWidget(point));
    QPainterPath fill = line;
    fill.lineTo(toWidget({newest, 0}));
    fill.lineTo(toWidget({history_->points().front().x(), 0}));
    fill.closeSubpath();
    QColor accent = palette().highlight().color();
    painter.fillPath(fill, QColor(accent.red(), accent.green(), accent.blue(), 50));
    painter.setPen(QPen(accent, 1.5));
    painter.drawPath(line);
}

} // namespace kvmscope::ui
