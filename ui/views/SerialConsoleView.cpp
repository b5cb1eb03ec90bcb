#include "views/SerialConsoleView.h"

#include "session/MachineSession.h"

#include <QFileDialog>
#include <QHBoxLayout>
#include <QKeyEvent>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSaveFile>
#include <QScrollBar>
#include <QVBoxLayout>

#if defined(KVMSCOPE_UI_HAS_TERMINAL) && __has_include("terminal/TerminalWidget.h")
#include "terminal/TerminalWidget.h"
#define KVMSCOPE_USE_TERMINAL 1
#else
#define KVMSCOPE_USE_TERMINAL 0
#endif

namespace kvmscope::ui {
namespace {

constexpr int kFallbackMaxBlocks = 5000; // lines kept by the plain-text fallback

} // namespace

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

bool SerialConsoleView::hasTerminal() {
    return KVMSCOPE_USE_TERMINAL != 0;
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
    if (display_) {
        layout_->removeWidget(display_);
        display_->deleteLater();
        display_ = nullptr;
        fallback_ = nullptr;
    }
#if KVMSCOPE_USE_TERMINAL
    auto* terminal = new TerminalWidget(this);
    connect(terminal, &TerminalWidget::inputBytes, this, &SerialConsoleView::sendInput);
    display_ = terminal;
#else
    fallback_ = new QPlainTextEdit(this);
    fallback_->setReadOnly(true);
    fallback_->setMaximumBlockCount(kFallbackMaxBlocks);
    fallback_->setLineWrapMode(QPlainTextEdit::NoWrap);
    QFont font(QStringLiteral("monospace"));
    font.setStyleHint(QFont::Monospace);
    fallback_->setFont(font);
    fallback_->installEventFilter(this);
    display_ = fallback_;
#endif
    display_->setObjectName(QStringLiteral("serialDisplay"));
    setFocusProxy(display_);
    layout_->addWidget(display_);
}

QString SerialConsoleView::text() const {
#if KVMSCOPE_USE_TERMINAL
    return static_cast<TerminalWidget*>(display_)->allText();
#else
    return fallback_->toPlainText();
#endif
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
    if (bytes.isEmpty())
        return;
#if KVMSCOPE_USE_TERMINAL
    static_cast<TerminalWidget*>(display_)->feed(bytes);
#else
    // The fallback is not a terminal: drop carriage returns and other control bytes but
    // newlines and tabs, so the text reads as the guest meant it.
    QByteArray printable;
    printable.reserve(bytes.size());
    for (char byte : bytes) {
        const auto value = static_cast<unsigned char>(byte);
        if (value == '\n' || value == '\t' || value >= 0x20)
            printable.append(byte);
    }
    QScrollBar* bar = fallback_->verticalScrollBar();
    const bool atBottom = bar->value() == bar->maximum();
    QTextCursor cursor(fallback_->document());
    cursor.movePosition(QTextCursor::End);
    cursor.insertText(QString::fromUtf8(printable));
    if (atBottom)
        bar->setValue(bar->maximum());
#endif
}

void SerialConsoleView::sendInput(const QByteArray& bytes) {
    if (session_)
        session_->sendSerialInput(bytes);
}

bool SerialConsoleView::eventFilter(QObject* watched, QEvent* event) {
    if (watched == fallback_ && event->type() == QEvent::KeyPress) {
        auto* key = static_cast<QKeyEvent*>(event);
        QByteArray bytes;
        switch (key->key()) {
        case Qt::Key_Return:
        case Qt::Key_Enter:
            bytes = "\r";
            break;
        case Qt::Key_Backspace:
            bytes = "\x7f";
            break;
        default:
            bytes = key->text().toUtf8();
        }
        // Let copy shortcuts through to the text view.
        if (key->matches(QKeySequence::Copy) || key->matches(QKeySequence::SelectAll))
            return false;
        if (!bytes.isEmpty()) {
            sendInput(bytes);
            return true;
        }
    }
    return QWidget::eventFilter(watched, event);
}

} // namespace kvmscope::ui
