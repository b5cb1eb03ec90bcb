#pragma once
// A small painted line chart of an ExitRateHistory: exits/s over the last 60 s, newest on the
// right, with the current and peak rate written in the corner. Painted by hand (no Qt Charts
// dependency) because one line and two labels are all it shows.
#include <QWidget>

namespace kvmscope::ui {

class ExitRateHistory;

class ExitRateChart : public QWidget {
    Q_OBJECT
public:
    explicit ExitRateChart(QWidget* parent = nullptr);

    void setHistory(ExitRateHistory* history);
    ExitRateHistory* history() const { return history_; }
    // "1234 exits/s (peak 5678)", the text in the chart's corner.
    QString caption() const;

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    ExitRateHistory* history_ = nullptr;
};

} // namespace kvmscope::ui
