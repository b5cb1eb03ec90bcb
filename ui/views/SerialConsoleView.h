#pragma once
// COM1 of the current machine: the libvterm TerminalWidget when it is built in, otherwise a
// read-only text view that still forwards typed keys. It shows the session's transcript when the
// session changes, then follows its coalesced serialOutput() signal.
#include <QPointer>
#include <QWidget>

class QPlainTextEdit;
class QVBoxLayout;

namespace kvmscope::ui {

class MachineSession;

class SerialConsoleView : public QWidget {
    Q_OBJECT
public:
    explicit SerialConsoleView(QWidget* parent = nullptr);

    void setSession(MachineSession* session);
    // Everything shown so far, as text (for tests and copy).
    QString text() const;
    // Whether the libvterm terminal is in use (false: the plain-text fallback).
    static bool hasTerminal();
    // Writes text() (scrollback and screen) to `path` as UTF-8, atomically (QSaveFile): the file
    // is either complete or untouched. On failure returns false with a message naming the path.
    bool saveLog(const QString& path, QString* error) const;

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void recreateDisplay();
    void append(const QByteArray& bytes);
    void sendInput(const QByteArray& bytes);
    void askAndSaveLog();

    QPointer<MachineSession> session_;
    QVBoxLayout* layout_ = nullptr;
    QWidget* display_ = nullptr;         // the terminal or the fallback
    QPlainTextEdit* fallback_ = nullptr; // set when the fallback is in use
};

} // namespace kvmscope::ui
