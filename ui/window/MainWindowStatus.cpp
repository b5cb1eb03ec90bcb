// MainWindow: the status bar (state, exits per second, uptime) and the messages shown in it.
#include "display/DisplayView.h"
#include "log/Log.h"
#include "session/MachineSession.h"
#include "window/MainWindow.h"

#include <QLabel>
#include <QStatusBar>

namespace kvmscope::ui {
namespace {

constexpr int kMessageTimeoutMs = 10000;

QString formatUptime(qint64 ms) {
    const qint64 seconds = ms / 1000;
    return QStringLiteral("%1:%2:%3.%4")
        .arg(seconds / 3600)
        .arg((seconds / 60) % 60, 2, 10, QLatin1Char('0'))
        .arg(seconds % 60, 2, 10, QLatin1Char('0'))
        .arg((ms % 1000) / 100);
}

} // namespace

void MainWindow::createStatusBar() {
    stateLabel_ = new QLabel(this);
    stateLabel_->setObjectName(QStringLiteral("stateLabel"));
    exitsLabel_ = new QLabel(this);
    exitsLabel_->setObjectName(QStringLiteral("exitsLabel"));
    uptimeLabel_ = new QLabel(this);
    uptimeLabel_->setObjectName(QStringLiteral("uptimeLabel"));
    statusBar()->addPermanentWidget(stateLabel_, 1);
    statusBar()->addPermanentWidget(exitsLabel_);
    statusBar()->addPermanentWidget(uptimeLabel_);
    statusBar()->addPermanentWidget(displayView_->statusLabel()); // fps and the grab hint
}

QString MainWindow::statusStateText() const {
    return stateLabel_->text();
}

QString MainWindow::statusExitsText() const {
    return exitsLabel_->text();
}

QString MainWindow::statusUptimeText() const {
    return uptimeLabel_->text();
}

void MainWindow::updateStatus() {
    if (!current_) {
        stateLabel_->setText(tr("No machine"));
        exitsLabel_->clear();
        uptimeLabel_->clear();
        return;
    }
    stateLabel_->setText(tr("%1: %2").arg(current_->name(), current_->statusText()));
    // Totals over every boot: a guest that resets itself keeps counting.
    const QString exits = tr("%1 exits/s (%2 total)")
                              .arg(QString::number(current_->exitsPerSecond(), 'f', 0))
                              .arg(current_->totalExitsOfAllBoots());
    exitsLabel_->setText(current_->resetCount() == 0
                             ? exits
                             : tr("%1, boot %2").arg(exits).arg(current_->resetCount() + 1));
    uptimeLabel_->setText(tr("uptime %1").arg(formatUptime(current_->uptimeMs())));
}

void MainWindow::showMessage(const QString& text) {
    statusBar()->showMessage(text, kMessageTimeoutMs);
    log::get("ui")->info("{}", text.toStdString());
}

} // namespace kvmscope::ui
