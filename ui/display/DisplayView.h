#pragma once
// The Display dock: the current machine's screen, and its keyboard and mouse.
//
// Screen: a timer at the display's refresh rate (kRefreshHz) asks the machine's DisplaySource for
// what changed (core/display/DisplaySource.h: the framebuffer's dirty rows, or the VGA text
// cells) and repaints only that part of the widget. It runs only while the widget is on screen:
// a hidden view costs nothing, and its first refresh when shown again copies the whole frame. The
// screen is drawn 1:1, fitted to the widget (aspect kept) or at the largest integer factor that
// fits; saveScreenshot() writes the guest's screen at its own resolution as PNG. The fps (refreshes
// that found something new) and the copy rate go to statusLabel(), once a second while visible.
//
// Input: a click grabs the keyboard (and, once the guest turned its PS/2 mouse on, the pointer:
// hidden, its movements sent as relative PS/2 packets); while grabbed every key goes to the guest
// as PS/2 set-2 codes (ScancodeMap.h) through the machine's i8042, window shortcuts included.
// Ctrl+Alt+G releases the grab, and the keys still held are released in the guest first, so that
// none sticks. Qt's auto-repeat presses become repeated make codes, as a keyboard's typematic
// repeat sends them.
#include "display/ScancodeMap.h"
#include "display/TextScreenRenderer.h"

#include <QElapsedTimer>
#include <QImage>
#include <QLabel>
#include <QPointer>
#include <QTimer>
#include <QWidget>
#include <optional>
#include <set>

class QAction;
class QActionGroup;

namespace kvmscope {
class I8042Controller;
class Machine;
} // namespace kvmscope

namespace kvmscope::ui {

class MachineSession;

class DisplayView : public QWidget {
    Q_OBJECT
public:
    enum class ScaleMode { OneToOne, Fit, Integer };
    static constexpr int kRefreshHz = 60;
    static constexpr int kStatusIntervalMs = 1000;

    explicit DisplayView(QWidget* parent = nullptr);
    ~DisplayView() override;

    void setSession(MachineSession* session);

    ScaleMode scaleMode() const { return scaleMode_; }
    void setScaleMode(ScaleMode mode);
    // Where a `screen`-sized picture lands in a `widget`-sized area in `mode`: centred; 1:1 keeps
    // its size, Fit the largest size with the same aspect ratio, Integer the largest whole
    // multiple (at least 1).
    static QRect placement(QSize screen, QSize widget, ScaleMode mode);
    // The current screen's placement in this widget (empty before the first refresh).
    QRect screenRect() const;

    // The guest's screen as last refreshed, at its own resolution (graphics mode: the mode's
    // size; text: 720 x 400). Null before the first refresh.
    QImage screenImage() const;
    // Writes screenImage() to `path` as PNG, atomically. On failure returns false with a message
    // naming the path.
    bool saveScreenshot(const QString& path, QString* error) const;
    // Fetches what changed now instead of waiting for the timer (tests, benchmarks).
    void refresh();

    // Keyboard (and mouse) grab: see the top of this file.
    bool inputGrabbed() const { return grabbed_; }
    // The pointer too (hidden, movements to the guest's PS/2 mouse).
    bool pointerGrabbed() const { return pointerGrabbed_; }
    void grabInput();
    void releaseInput();
    // Ctrl, Alt and Delete pressed and released on the guest's keyboard.
    void sendCtrlAltDelete();

    // Refreshes per second that found something new, and what they copied, over the last status
    // interval.
    double framesPerSecond() const { return framesPerSecond_; }
    double rowsPerSecond() const { return rowsPerSecond_; }
    double bytesPerSecond() const { return bytesPerSecond_; }
    // For the window's status bar: fps, copy rate and the grab hint.
    QLabel* statusLabel() const { return statusLabel_; }
    QString statusText() const;

    QAction* screenshotAction() const { return screenshotAction_; }
    QAction* ctrlAltDeleteAction() const { return ctrlAltDeleteAction_; }
    QAction* scaleAction(ScaleMode mode) const;

    static QString releaseHint();

Q_SIGNALS:
    void inputGrabChanged(bool grabbed);
    void errorOccurred(const QString& message);
    void screenshotSaved(const QString& path);

protected:
    bool event(QEvent* event) override;
    void paintEvent(QPaintEvent* event) override;
    void showEvent(QShowEvent* event) override;
    void hideEvent(QHideEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;
    void keyReleaseEvent(QKeyEvent* event) override;
    void focusOutEvent(QFocusEvent* event) override;
    void contextMenuEvent(QContextMenuEvent* event) override;
    bool focusNextPrevChild(bool next) override;

private:
    Machine* machine() const;
    I8042Controller* keyboard() const;
    bool guestMouseEnabled() const;
    void refreshGraphics(Machine& machine);
    void refreshText(Machine& machine);
    void setScreen(const QImage& image);
    void repaintRows(uint32_t first, uint32_t count);
    void sendKeys(const QByteArray& setTwo);
    void releaseHeldKeys();
    void sendMouse(int dx, int dy, Qt::MouseButtons buttons);
    void grabPointer();
    void ungrabPointer();
    void sampleStatistics();
    void updateStatusLabel();
    void askAndSaveScreenshot();
    void clearScreen();

    QPointer<MachineSession> session_;
    QTimer refreshTimer_;
    QTimer statusTimer_;
    ScaleMode scaleMode_ = ScaleMode::Fit;

    // What is on screen: a graphics frame the DisplaySource copies into, or rendered text.
    QImage frame_;
    bool frameIsGraphics_ = false;
    bool needFullCopy_ = true; // the next graphics update copies every row
    std::optional<display::TextScreen> lastText_;
    TextScreenRenderer textRenderer_;

    // Statistics since the last sample.
    QElapsedTimer sampleClock_;
    uint64_t framesChanged_ = 0;
    uint64_t rowsCopied_ = 0;
    uint64_t bytesCopied_ = 0;
    double framesPerSecond_ = 0;
    double rowsPerSecond_ = 0;
    double bytesPerSecond_ = 0;

    bool grabbed_ = false;
    bool pointerGrabbed_ = false;
    std::set<PcKey> heldKeys_; // pressed in the guest and not released yet
    QPoint pointerAnchor_;     // where the hidden pointer is put back after each movement
    Qt::MouseButtons buttons_;

    QPointer<QLabel> statusLabel_; // in the window's status bar, which owns it then
    QAction* screenshotAction_ = nullptr;
    QAction* ctrlAltDeleteAction_ = nullptr;
    QActionGroup* scaleGroup_ = nullptr;
    QAction* scaleActions_[3] = {};
};

} // namespace kvmscope::ui
