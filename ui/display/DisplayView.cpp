#include "display/DisplayView.h"

#include "devices/I8042Controller.h"
#include "display/DisplaySource.h"
#include "machine/Machine.h"
#include "session/MachineSession.h"

#include <QAction>
#include <QActionGroup>
#include <QContextMenuEvent>
#include <QCursor>
#include <QFileDialog>
#include <QKeyEvent>
#include <QLabel>
#include <QMenu>
#include <QMouseEvent>
#include <QPainter>
#include <QSaveFile>
#include <cmath>

namespace kvmscope::ui {
namespace {

// The window's background around the guest's screen.
const QColor kBorderColour(0x20, 0x20, 0x20);

QImage::Format imageFormat(PixelFormat format) {
    // DisplaySource.h, FrameTarget: the QImage format of each framebuffer layout.
    switch (format) {
    case PixelFormat::Xrgb8888:
        return QImage::Format_RGB32;
    case PixelFormat::Rgb888:
        return QImage::Format_BGR888;
    case PixelFormat::Rgb565:
        return QImage::Format_RGB16;
    case PixelFormat::Xrgb1555:
        return QImage::Format_RGB555;
    }
    return QImage::Format_RGB32;
}

// PS/2 mouse buttons (the first byte of a movement packet): bit 0 left, 1 right, 2 middle.
uint8_t ps2Buttons(Qt::MouseButtons buttons) {
    return uint8_t((buttons & Qt::LeftButton ? 1 : 0) | (buttons & Qt::RightButton ? 2 : 0) |
                   (buttons & Qt::MiddleButton ? 4 : 0));
}

bool isReleaseShortcut(const QKeyEvent& event) {
    const Qt::KeyboardModifiers needed = Qt::ControlModifier | Qt::AltModifier;
    return event.key() == Qt::Key_G && (event.modifiers() & needed) == needed;
}

} // namespace

DisplayView::DisplayView(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("displayView"));
    setFocusPolicy(Qt::ClickFocus);
    setMouseTracking(true);
    setMinimumSize(160, 100);
    // Every pixel inside the screen is painted each time: no background fill needed there.
    setAttribute(Qt::WA_OpaquePaintEvent);
    setToolTip(tr("Click to type into the guest; %1").arg(releaseHint()));

    refreshTimer_.setTimerType(Qt::PreciseTimer);
    refreshTimer_.setInterval(1000 / kRefreshHz);
    connect(&refreshTimer_, &QTimer::timeout, this, &DisplayView::refresh);
    statusTimer_.setInterval(kStatusIntervalMs);
    connect(&statusTimer_, &QTimer::timeout, this, &DisplayView::sampleStatistics);

    statusLabel_ = new QLabel(this);
    statusLabel_->setObjectName(QStringLiteral("displayStatusLabel"));
    statusLabel_->hide();

    screenshotAction_ = new QAction(tr("Save &screenshot…"), this);
    screenshotAction_->setObjectName(QStringLiteral("actionScreenshot"));
    screenshotAction_->setStatusTip(tr("Save the guest's screen as a PNG image"));
    connect(screenshotAction_, &QAction::triggered, this, &DisplayView::askAndSaveScreenshot);
    ctrlAltDeleteAction_ = new QAction(tr("Send Ctrl-Alt-&Del"), this);
    ctrlAltDeleteAction_->setObjectName(QStringLiteral("actionCtrlAltDelete"));
    ctrlAltDeleteAction_->setStatusTip(
        tr("Press and release Ctrl, Alt and Delete on the guest's keyboard"));
    connect(ctrlAltDeleteAction_, &QAction::triggered, this, &DisplayView::sendCtrlAltDelete);

    scaleGroup_ = new QActionGroup(this);
    const std::pair<ScaleMode, QString> modes[] = {
        {ScaleMode::OneToOne, tr("Scale &1:1")},
        {ScaleMode::Fit, tr("Scale to &fit")},
        {ScaleMode::Integer, tr("Scale by &integer factor")},
    };
    for (const auto& [mode, text] : modes) {
        QAction* action = scaleGroup_->addAction(text);
        action->setCheckable(true);
        action->setChecked(mode == scaleMode_);
        connect(action, &QAction::triggered, this, [this, mode = mode] { setScaleMode(mode); });
        scaleActions_[int(mode)] = action;
    }
    setSession(nullptr);
}

DisplayView::~DisplayView() {
    releaseInput();
}

QString DisplayView::releaseHint() {
    return tr("Press Ctrl+Alt+G to release");
}

Machine* DisplayView::machine() const {
    return session_ ? &session_->machine() : nullptr;
}

I8042Controller* DisplayView::keyboard() const {
    if (!session_)
        return nullptr;
    for (Device* device : session_->devices())
        if (auto* controller = dynamic_cast<I8042Controller*>(device))
            return controller;
    return nullptr;
}

bool DisplayView::guestMouseEnabled() const {
    I8042Controller* controller = keyboard();
    return controller &&
           controller->getAttr(I8042Controller::kMouseGroup, attrId("enabled")).scalar != 0;
}

void DisplayView::setSession(MachineSession* session) {
    releaseInput();
    session_ = session;
    clearScreen();
    framesPerSecond_ = rowsPerSecond_ = bytesPerSecond_ = 0;
    framesChanged_ = rowsCopied_ = bytesCopied_ = 0;
    sampleClock_.start();
    ctrlAltDeleteAction_->setEnabled(session_ != nullptr);
    screenshotAction_->setEnabled(session_ != nullptr);
    if (session_ && isVisible())
        refresh();
    updateStatusLabel();
}

void DisplayView::clearScreen() {
    frame_ = QImage();
    frameIsGraphics_ = false;
    needFullCopy_ = true;
    lastText_.reset();
    update();
}

void DisplayView::setScaleMode(ScaleMode mode) {
    scaleMode_ = mode;
    scaleActions_[int(mode)]->setChecked(true);
    update();
}

QAction* DisplayView::scaleAction(ScaleMode mode) const {
    return scaleActions_[int(mode)];
}

QRect DisplayView::placement(QSize screen, QSize widget, ScaleMode mode) {
    if (screen.isEmpty() || widget.isEmpty())
        return {};
    QSize size = screen;
    switch (mode) {
    case ScaleMode::OneToOne:
        break;
    case ScaleMode::Fit:
        size = screen.scaled(widget, Qt::KeepAspectRatio);
        break;
    case ScaleMode::Integer: {
        const int factor = std::max(
            1, std::min(widget.width() / screen.width(), widget.height() / screen.height()));
        size = screen * factor;
        break;
    }
    }
    // Centred; a screen larger than the widget (1:1, Integer) is cut off on the right and bottom.
    return {QPoint(std::max(0, (widget.width() - size.width()) / 2),
                   std::max(0, (widget.height() - size.height()) / 2)),
            size};
}

QRect DisplayView::screenRect() const {
    return placement(frame_.size(), size(), scaleMode_);
}

QImage DisplayView::screenImage() const {
    return frame_.copy();
}

bool DisplayView::saveScreenshot(const QString& path, QString* error) const {
    auto fail = [&](const QString& why) {
        if (error)
            *error = tr("Cannot save the screenshot to %1: %2").arg(path, why);
        return false;
    };
    if (frame_.isNull())
        return fail(tr("no screen yet"));
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return fail(file.errorString());
    if (!frame_.save(&file, "PNG"))
        return fail(tr("PNG encoding failed"));
    if (!file.commit())
        return fail(file.errorString());
    return true;
}

void DisplayView::askAndSaveScreenshot() {
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Save screenshot"), QStringLiteral("screen.png"), tr("PNG images (*.png)"));
    if (path.isEmpty())
        return;
    QString error;
    if (saveScreenshot(path, &error))
        Q_EMIT screenshotSaved(path);
    else
        Q_EMIT errorOccurred(error);
}

void DisplayView::refresh() {
    Machine* current = machine();
    if (!current)
        return;
    try {
        if (current->display().kind() == display::DisplayKind::Graphics)
            refreshGraphics(*current);
        else
            refreshText(*current);
    } catch (const std::exception& failure) {
        // KVM_GET_DIRTY_LOG failing is a kernel refusal, not something the next tick will fix.
        refreshTimer_.stop();
        Q_EMIT errorOccurred(tr("Display: %1").arg(QString::fromUtf8(failure.what())));
    }
}

void DisplayView::setScreen(const QImage& image) {
    const bool resized = image.size() != frame_.size();
    frame_ = image;
    if (resized) {
        update(); // the border around the screen changes too
        updateStatusLabel();
    }
}

void DisplayView::refreshGraphics(Machine& machine) {
    display::DisplaySource& source = machine.display();
    // Two rounds at most: the mode can change between graphicsMode() and update(), which then
    // says so (ModeMismatch) and the image is made again for the mode it found.
    ScanoutMode mode = source.graphicsMode();
    for (int round = 0; round < 2; ++round) {
        const QImage::Format format = imageFormat(mode.format());
        if (!frameIsGraphics_ || frame_.width() != int(mode.width) ||
            frame_.height() != int(mode.height) || frame_.format() != format) {
            QImage image(int(mode.width), int(mode.height), format);
            image.fill(Qt::black);
            frameIsGraphics_ = true;
            setScreen(image);
            needFullCopy_ = true;
            lastText_.reset();
        }
        const display::FrameTarget target{frame_.bits(), size_t(frame_.bytesPerLine()), mode.width,
                                          mode.height, mode.format()};
        const display::FrameUpdate result = source.update(target, needFullCopy_);
        switch (result.status) {
        case display::UpdateStatus::Copied: {
            needFullCopy_ = false;
            const uint32_t rows = result.rowsCopied();
            ++framesChanged_;
            rowsCopied_ += rows;
            bytesCopied_ += uint64_t(rows) * result.mode.rowBytes();
            if (rows == mode.height)
                update(screenRect());
            else
                for (const display::RowRange& range : result.rows)
                    repaintRows(range.first, range.count);
            return;
        }
        case display::UpdateStatus::Unchanged:
            return;
        case display::UpdateStatus::TextMode:
            refreshText(machine);
            return;
        case display::UpdateStatus::ModeMismatch:
            mode = result.mode;
            frameIsGraphics_ = false;
            break;
        }
    }
}

void DisplayView::refreshText(Machine& machine) {
    display::TextScreen screen = machine.display().textScreen();
    if (!frameIsGraphics_ && lastText_ && *lastText_ == screen)
        return;
    frameIsGraphics_ = false;
    setScreen(textRenderer_.render(screen));
    needFullCopy_ = true;
    lastText_ = screen;
    ++framesChanged_;
    update(screenRect());
}

void DisplayView::repaintRows(uint32_t first, uint32_t count) {
    const QRect rect = screenRect();
    if (rect.isEmpty() || frame_.height() == 0)
        return;
    // Rows of the frame to widget lines, rounded outwards (a scaled row can cover a fraction).
    const double scale = double(rect.height()) / frame_.height();
    const int top = rect.top() + int(std::floor(first * scale));
    const int bottom = rect.top() + int(std::ceil((first + count) * scale));
    update(QRect(rect.left(), top, rect.width(), bottom - top + 1));
}

void DisplayView::paintEvent(QPaintEvent* event) {
    QPainter painter(this);
    const QRect rect = screenRect();
    const QRegion border = QRegion(event->rect()).subtracted(rect);
    for (const QRect& part : border)
        painter.fillRect(part, kBorderColour);
    if (frame_.isNull())
        return;
    if (rect.size() == frame_.size())
        painter.drawImage(rect.topLeft(), frame_, event->rect().translated(-rect.topLeft()));
    else
        painter.drawImage(rect, frame_); // nearest-neighbour: cheap, and sharp at whole factors
}

void DisplayView::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    // Shown again after a while off screen: what changed meanwhile is in the dirty log still,
    // but copy everything to be sure the picture is whole.
    needFullCopy_ = true;
    refresh();
    refreshTimer_.start();
    sampleClock_.start();
    framesChanged_ = rowsCopied_ = bytesCopied_ = 0;
    statusTimer_.start();
    if (statusLabel_)
        statusLabel_->show();
    updateStatusLabel();
}

void DisplayView::hideEvent(QHideEvent* event) {
    QWidget::hideEvent(event);
    refreshTimer_.stop();
    statusTimer_.stop();
    if (statusLabel_)
        statusLabel_->hide();
    releaseInput();
}

void DisplayView::resizeEvent(QResizeEvent* event) {
    QWidget::resizeEvent(event);
    if (pointerGrabbed_)
        pointerAnchor_ = rect().center();
}

void DisplayView::sampleStatistics() {
    const double seconds = double(sampleClock_.restart()) / 1000.0;
    if (seconds > 0) {
        framesPerSecond_ = double(framesChanged_) / seconds;
        rowsPerSecond_ = double(rowsCopied_) / seconds;
        bytesPerSecond_ = double(bytesCopied_) / seconds;
    }
    framesChanged_ = rowsCopied_ = bytesCopied_ = 0;
    updateStatusLabel();
}

QString DisplayView::statusText() const {
    if (!session_)
        return {};
    QString text;
    if (frameIsGraphics_)
        text = tr("Display %1x%2: %3 fps, %4 rows/s (%5 MB/s)")
                   .arg(frame_.width())
                   .arg(frame_.height())
                   .arg(framesPerSecond_, 0, 'f', 0)
                   .arg(rowsPerSecond_, 0, 'f', 0)
                   .arg(bytesPerSecond_ / 1e6, 0, 'f', 1);
    else
        text = tr("Display 80x25 text: %1 fps").arg(framesPerSecond_, 0, 'f', 0);
    return text + QStringLiteral(" — ") + (grabbed_ ? releaseHint() : tr("click to grab input"));
}

void DisplayView::updateStatusLabel() {
    if (statusLabel_)
        statusLabel_->setText(statusText());
}

// Input ------------------------------------------------------------------------------------------

void DisplayView::grabInput() {
    if (grabbed_ || !session_)
        return;
    grabbed_ = true;
    setFocus(Qt::MouseFocusReason);
    grabKeyboard();
    if (guestMouseEnabled())
        grabPointer();
    updateStatusLabel();
    Q_EMIT inputGrabChanged(true);
}

void DisplayView::releaseInput() {
    if (!grabbed_)
        return;
    releaseHeldKeys();
    ungrabPointer();
    releaseKeyboard();
    grabbed_ = false;
    updateStatusLabel();
    Q_EMIT inputGrabChanged(false);
}

void DisplayView::grabPointer() {
    pointerGrabbed_ = true;
    pointerAnchor_ = rect().center();
    setCursor(Qt::BlankCursor);
    grabMouse();
    QCursor::setPos(mapToGlobal(pointerAnchor_));
}

void DisplayView::ungrabPointer() {
    if (!pointerGrabbed_)
        return;
    if (buttons_)
        sendMouse(0, 0, Qt::NoButton); // nothing stays pressed in the guest
    pointerGrabbed_ = false;
    releaseMouse();
    unsetCursor();
}

void DisplayView::sendKeys(const QByteArray& setTwo) {
    if (setTwo.isEmpty())
        return;
    if (I8042Controller* controller = keyboard())
        controller->keyboardInput(std::span<const uint8_t>(
            reinterpret_cast<const uint8_t*>(setTwo.constData()), size_t(setTwo.size())));
}

void DisplayView::releaseHeldKeys() {
    QByteArray bytes;
    for (const PcKey& key : heldKeys_)
        bytes += ScancodeMap::breakSequence(key);
    heldKeys_.clear();
    sendKeys(bytes);
}

void DisplayView::sendCtrlAltDelete() {
    sendKeys(ScancodeMap::ctrlAltDelete());
}

void DisplayView::sendMouse(int dx, int dy, Qt::MouseButtons buttons) {
    buttons_ = buttons;
    if (I8042Controller* controller = keyboard())
        controller->mouseInput(dx, dy, ps2Buttons(buttons));
}

bool DisplayView::event(QEvent* event) {
    // While grabbed, the window's shortcuts (F5, Ctrl+Q, ...) are keys for the guest.
    if (event->type() == QEvent::ShortcutOverride && grabbed_) {
        event->accept();
        return true;
    }
    return QWidget::event(event);
}

bool DisplayView::focusNextPrevChild(bool next) {
    // Tab is a key for the guest while grabbed, not a focus move.
    return grabbed_ ? false : QWidget::focusNextPrevChild(next);
}

void DisplayView::keyPressEvent(QKeyEvent* event) {
    if (!grabbed_) {
        QWidget::keyPressEvent(event);
        return;
    }
    if (isReleaseShortcut(*event)) {
        releaseInput();
        return;
    }
    const std::optional<PcKey> key = ScancodeMap::keyFor(*event);
    if (!key)
        return;
    // An auto-repeat press is the typematic repeat: the make code again, no break in between.
    heldKeys_.insert(*key);
    sendKeys(ScancodeMap::makeSequence(*key));
}

void DisplayView::keyReleaseEvent(QKeyEvent* event) {
    if (!grabbed_) {
        QWidget::keyReleaseEvent(event);
        return;
    }
    // X11 pairs each auto-repeat press with a release; the key is still down.
    if (event->isAutoRepeat())
        return;
    const std::optional<PcKey> key = ScancodeMap::keyFor(*event);
    if (!key || heldKeys_.erase(*key) == 0)
        return; // pressed before the grab: the guest never saw it go down
    sendKeys(ScancodeMap::breakSequence(*key));
}

void DisplayView::focusOutEvent(QFocusEvent* event) {
    QWidget::focusOutEvent(event);
    // Another window took the keyboard (a dialog, the window manager): let go, as a grab that
    // cannot see its release shortcut any more would trap the user.
    if (event->reason() != Qt::PopupFocusReason)
        releaseInput();
}

void DisplayView::mousePressEvent(QMouseEvent* event) {
    if (!grabbed_) {
        if (event->button() == Qt::LeftButton && session_) {
            grabInput();
            event->accept();
            return;
        }
        QWidget::mousePressEvent(event);
        return;
    }
    if (pointerGrabbed_ && event->buttons() != buttons_)
        sendMouse(0, 0, event->buttons());
    else if (!pointerGrabbed_ && guestMouseEnabled())
        grabPointer(); // the guest turned its mouse on after the keyboard was grabbed
}

void DisplayView::mouseReleaseEvent(QMouseEvent* event) {
    // Only a button the guest saw go down goes up there: not the click that grabbed.
    if (pointerGrabbed_ && event->buttons() != buttons_)
        sendMouse(0, 0, event->buttons());
    else if (!pointerGrabbed_)
        QWidget::mouseReleaseEvent(event);
}

void DisplayView::mouseMoveEvent(QMouseEvent* event) {
    if (!pointerGrabbed_) {
        QWidget::mouseMoveEvent(event);
        return;
    }
    const QPoint delta = event->position().toPoint() - pointerAnchor_;
    if (delta.isNull())
        return; // the move that putting the pointer back caused
    // PS/2 counts y upwards, Qt downwards.
    sendMouse(delta.x(), -delta.y(), event->buttons());
    QCursor::setPos(mapToGlobal(pointerAnchor_));
}

void DisplayView::contextMenuEvent(QContextMenuEvent* event) {
    if (pointerGrabbed_)
        return; // the right button belongs to the guest
    QMenu menu(this);
    menu.addActions(scaleGroup_->actions());
    menu.addSeparator();
    menu.addAction(screenshotAction_);
    menu.addAction(ctrlAltDeleteAction_);
    menu.exec(event->globalPos());
}

} // namespace kvmscope::ui
