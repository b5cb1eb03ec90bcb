#include "console/SerialConsoleView.h"

#include "session/MachineSession.h"
#include "terminal/TerminalWidget.h"

#include <QFileDialog>
#include <QHBoxLayout>
#include <QMessageBox>
#include <QPushButton>
#include <QSaveFile>
#include <QVBoxLayout>

namespace kvmscope::ui {

SerialConsoleView::SerialConsoleView(QWidget* parent) : QWidget(parent) {
    layout_ = new QVBoxLayout(this);
    layout_->setContentsMargins(0, 0, 0, 0);
    auto* bar = new QHBoxLayout;
    auto* save = new QPushButton(tr("Save log…"), this);
    save->setObjectName(QStringLiteral("saveSerialLog"));
    save->setToolTip(tr("Save everything the guest printed on COM1 to a text file"));
    connect(save, &QPushButton::clicked, this, &SerialConsoleView::askAndSaveLog);
    bar->addStretch();
    bar->addWidget(save);
    layout_->addLayout(bar);
    recreateDisplay();
}

void SerialConsoleView::setSession(MachineSession* session) {
    if (session_)
        disconnect(session_, nullptr, this, nullptr);
    session_ = session;
    // A fresh display per machine: a terminal keeps screen state (cursor, modes) of its guest.
    recreateDisplay();
    if (session_) {
        append(session_->serialTranscript());
        connect(session_, &MachineSession::serialOutput, this, &SerialConsoleView::append);
    }
}

void SerialConsoleView::recreateDisplay() {
    if (terminal_) {
        layout_->removeWidget(terminal_);
        terminal_->deleteLater();
    }
    terminal_ = new TerminalWidget(this);
    connect(terminal_, &TerminalWidget::inputBytes, this, &SerialConsoleView::sendInput);
    terminal_->setObjectName(QStringLiteral("serialDisplay"));
    setFocusProxy(terminal_);
    layout_->addWidget(terminal_);
}

QString SerialConsoleView::text() const {
    return terminal_->allText();
}

bool SerialConsoleView::saveLog(const QString& path, QString* error) const {
    QSaveFile file(path);
    const QByteArray bytes = text().toUtf8();
    if (!file.open(QIODevice::WriteOnly) || file.write(bytes) != bytes.size() || !file.commit()) {
        if (error)
            *error = tr("Cannot save the serial log to %1: %2").arg(path, file.errorString());
        return false;
    }
    return true;
}

void SerialConsoleView::askAndSaveLog() {
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Save serial log"), QStringLiteral("serial.log"), tr("Text files (*.log *.txt)"));
    if (path.isEmpty())
        return;
    QString error;
    if (!saveLog(path, &error))
        QMessageBox::warning(this, tr("kvmscope"), error);
}

void SerialConsoleView::append(const QByteArray& bytes) {
    if (!bytes.isEmpty())
        terminal_->feed(bytes);
}

void SerialConsoleView::sendInput(const QByteArray& bytes) {
    if (session_)
        session_->sendSerialInput(bytes);
}

} // namespace kvmscope::ui
