#pragma once
// COM1 of the current machine in a libvterm terminal (terminal/TerminalWidget.h) with a "Save
// log" button. It shows the session's transcript when the session changes, then follows its
// coalesced serialOutput() signal; typed keys go to the guest's COM1.
#include <QPointer>
#include <QWidget>

class QVBoxLayout;

namespace kvmscope::ui {

class MachineSession;
class TerminalWidget;

class SerialConsoleView : public QWidget {
    Q_OBJECT
public:
    explicit SerialConsoleView(QWidget* parent = nullptr);

    void setSession(MachineSession* session);
    // Everything shown so far, as text (for tests and copy).
    QString text() const;
    // Writes text() (scrollback and screen) to `path` as UTF-8, atomically (QSaveFile): the file
    // is either complete or untouched. On failure returns false with a message naming the path.
    bool saveLog(const QString& path, QString* error) const;

private:
    void recreateDisplay();
    void append(const QByteArray& bytes);
    void sendInput(const QByteArray& bytes);
    void askAndSaveLog();

    QPointer<MachineSession> session_;
    QVBoxLayout* layout_ = nullptr;
    TerminalWidget* terminal_ = nullptr; // a fresh one per machine (recreateDisplay)
};

} // namespace kvmscope::ui
