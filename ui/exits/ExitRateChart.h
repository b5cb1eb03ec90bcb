#pragma once
// The Exits dock's rate chart, on Qt Charts: exits/s over the last 60 s of an ExitRateHistory,
// newest at the right (x in seconds before now), the y axis ending at a round number above the
// peak, and the current and peak rate as the chart's title.
#include <QChartView>

class QLineSeries;
class QValueAxis;

namespace kvmscope::ui {

class ExitRateHistory;

class ExitRateChart : public QChartView {
    Q_OBJECT
public:
    explicit ExitRateChart(QWidget* parent = nullptr);

    void setHistory(ExitRateHistory* history);
    ExitRateHistory* history() const { return history_; }
    // "1234 exits/s (peak 5678 in 60 s)", the chart's title.
    QString caption() const;
    // The series as drawn: (seconds before the newest sample, exits/s).
    const QLineSeries* series() const { return series_; }

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    // Redrawn only while on screen (a hidden dock tab costs nothing); caught up when shown.
    void showEvent(QShowEvent* event) override;

private:
    void refresh();

    ExitRateHistory* history_ = nullptr;
    QLineSeries* series_ = nullptr;
    QValueAxis* timeAxis_ = nullptr;
    QValueAxis* rateAxis_ = nullptr;
};

} // namespace kvmscope::ui
