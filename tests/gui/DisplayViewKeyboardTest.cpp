// The Display view's keyboard on a real guest: kbd-echo polls the i8042 and prints every byte it
// reads on COM1, so the test sees exactly what a guest receives for the Qt key events it sends to
// the view: PS/2 set-2 codes from ScancodeMap, translated to set 1 by the controller as PC
// firmware leaves it (IBM PS/2 Technical Reference, 8042 chapter: set 1 make codes, break = make
// | 0x80, E0 prefixes kept).
#include "GuiTestSupport.h"
#include "display/DisplayView.h"
#include "machine/Machine.h"
#include "session/MachineSession.h"

#include <QApplication>
#include <QKeyEvent>

using namespace kvmscope;
using namespace kvmscope::ui;
using namespace kvmscope::testing;

namespace {

// The console turns "\n" into "\r\n", as a terminal on a serial line wants.
const QByteArray kReady = "kbd-echo: ready\r\n";

} // namespace

class DisplayViewKeyboardTest : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<kvm::System> system_;
    std::unique_ptr<MachineSession> session_;
    std::unique_ptr<DisplayView> view_;

    // What the guest read from port 0x60 since it said it was ready.
    QByteArray echoed() const {
        const QByteArray transcript = session_->serialTranscript();
        const qsizetype ready = transcript.indexOf(kReady);
        return ready < 0 ? QByteArray() : transcript.mid(ready + kReady.size());
    }

    // Sends `key` as a press (auto-repeated or not) or release, as a platform plugin would.
    void sendKey(QEvent::Type type, int key, Qt::KeyboardModifiers modifiers = Qt::NoModifier,
                 bool autoRepeat = false) {
        QKeyEvent event(type, key, modifiers, QString(), autoRepeat);
        QApplication::sendEvent(view_.get(), &event);
    }

private Q_SLOTS:
    void initTestCase() {
        KVMSCOPE_GUI_REQUIRE_KVM();
        system_ = std::make_unique<kvm::System>();
    }

    void init() {
        KVMSCOPE_GUI_GUEST_CONFIG(config, "kbd-echo");
        session_ = std::make_unique<MachineSession>(config, *system_);
        session_->run();
        QTRY_VERIFY2_WITH_TIMEOUT(session_->serialTranscript().contains(kReady),
                                  qPrintable(session_->statusText() + QStringLiteral(": ") +
                                             QString::fromLatin1(session_->serialTranscript())),
                                  kGuestTimeoutMs);
        view_ = std::make_unique<DisplayView>();
        view_->resize(400, 300);
        view_->setSession(session_.get());
        view_->show();
        QVERIFY(QTest::qWaitForWindowExposed(view_.get()));
    }

    void cleanup() {
        view_.reset();
        session_.reset();
    }

    void keysReachTheGuestAsSetOneCodesOnlyWhileGrabbed() {
        // Not grabbed: the key is the window's, the guest sees nothing.
        QTest::keyClick(view_.get(), Qt::Key_Z);
        QVERIFY(!view_->inputGrabbed());
        QTest::mouseClick(view_.get(), Qt::LeftButton);
        QVERIFY(view_->inputGrabbed());
        QVERIFY(view_->statusText().contains(DisplayView::releaseHint()));

        QTest::keyClick(view_.get(), Qt::Key_A);
        QTRY_COMPARE_WITH_TIMEOUT(echoed(), QByteArray("1E 9E "), kGuestTimeoutMs);
        // Shift+1: QTest presses Shift, then '1' with the Shift modifier (Qt may call it '!').
        QTest::keyClick(view_.get(), Qt::Key_1, Qt::ShiftModifier);
        QTRY_COMPARE_WITH_TIMEOUT(echoed(), QByteArray("1E 9E 2A 02 82 AA "), kGuestTimeoutMs);
        QTest::keyClick(view_.get(), Qt::Key_Left);
        QTest::keyClick(view_.get(), Qt::Key_Return);
        QTRY_COMPARE_WITH_TIMEOUT(echoed(), QByteArray("1E 9E 2A 02 82 AA E0 4B E0 CB 1C 9C "),
                                  kGuestTimeoutMs);
    }

    void autoRepeatRepeatsTheMakeCode() {
        QTest::mouseClick(view_.get(), Qt::LeftButton);
        // As X11 delivers a held key: press, then (release, press) pairs marked auto-repeat, then
        // the real release. The guest sees the typematic repeat: makes, one break.
        sendKey(QEvent::KeyPress, Qt::Key_B);
        for (int i = 0; i < 2; ++i) {
            sendKey(QEvent::KeyRelease, Qt::Key_B, Qt::NoModifier, true);
            sendKey(QEvent::KeyPress, Qt::Key_B, Qt::NoModifier, true);
        }
        sendKey(QEvent::KeyRelease, Qt::Key_B);
        QTRY_COMPARE_WITH_TIMEOUT(echoed(), QByteArray("30 30 30 B0 "), kGuestTimeoutMs);
    }

    void releaseShortcutLetsGoAndReleasesHeldKeys() {
        QTest::mouseClick(view_.get(), Qt::LeftButton);
        // One event per key, as a platform plugin sends them (QTest would press the modifiers
        // again with every key).
        sendKey(QEvent::KeyPress, Qt::Key_Control);
        sendKey(QEvent::KeyPress, Qt::Key_Alt, Qt::ControlModifier);
        sendKey(QEvent::KeyPress, Qt::Key_G, Qt::ControlModifier | Qt::AltModifier);
        QVERIFY(!view_->inputGrabbed());
        QVERIFY(!view_->statusText().contains(DisplayView::releaseHint()));
        // Ctrl and Alt went down in the guest; the release let them up (G never reached it).
        QTRY_COMPARE_WITH_TIMEOUT(echoed(), QByteArray("1D 38 B8 9D "), kGuestTimeoutMs);
        sendKey(QEvent::KeyRelease, Qt::Key_G, Qt::ControlModifier | Qt::AltModifier);
        QTest::keyClick(view_.get(), Qt::Key_A);
        QTest::qWait(200);
        QCOMPARE(echoed(), QByteArray("1D 38 B8 9D "));
    }

    void mouseMovesReachTheGuestAsRelativePackets() {
        // kbd-echo turned its mouse on: the grabbing click takes the pointer too, and is not
        // itself a click in the guest.
        QTest::mouseClick(view_.get(), Qt::LeftButton);
        QVERIFY(view_->pointerGrabbed());
        const QPoint anchor = view_->rect().center();
        auto send = [&](QEvent::Type type, QPoint at, Qt::MouseButton button,
                        Qt::MouseButtons buttons) {
            QMouseEvent event(type, at, view_->mapToGlobal(at), button, buttons, Qt::NoModifier);
            QApplication::sendEvent(view_.get(), &event);
        };
        // 10 right and 5 up (Qt's y grows downwards, PS/2's upwards): a packet with the
        // always-one bit 3, no buttons, dx 0x0A, dy 0x05.
        send(QEvent::MouseMove, anchor + QPoint(10, -5), Qt::NoButton, Qt::NoButton);
        QTRY_COMPARE_WITH_TIMEOUT(echoed(), QByteArray("m08 m0A m05 "), kGuestTimeoutMs);
        // The left button down and up, where the pointer was put back.
        send(QEvent::MouseButtonPress, anchor, Qt::LeftButton, Qt::LeftButton);
        send(QEvent::MouseButtonRelease, anchor, Qt::LeftButton, Qt::NoButton);
        QTRY_COMPARE_WITH_TIMEOUT(echoed(), QByteArray("m08 m0A m05 m09 m00 m00 m08 m00 m00 "),
                                  kGuestTimeoutMs);
        // 3 left, 2 down: negative counts with the sign bits (4 for x, 5 for y) set.
        send(QEvent::MouseMove, anchor + QPoint(-3, 2), Qt::NoButton, Qt::NoButton);
        QTRY_COMPARE_WITH_TIMEOUT(echoed(),
                                  QByteArray("m08 m0A m05 m09 m00 m00 m08 m00 m00 m38 mFD mFE "),
                                  kGuestTimeoutMs);
        view_->releaseInput();
        QVERIFY(!view_->pointerGrabbed());
    }

    void ctrlAltDeleteIsOneAction() {
        view_->ctrlAltDeleteAction()->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(echoed(), QByteArray("1D 38 E0 53 E0 D3 B8 9D "),
                                  kGuestTimeoutMs);
    }

    void functionKeysGoToTheGuestNotToShortcuts() {
        QTest::mouseClick(view_.get(), Qt::LeftButton);
        QTest::keyClick(view_.get(), Qt::Key_F5);
        QTest::keyClick(view_.get(), Qt::Key_Tab);
        QTest::keyClick(view_.get(), Qt::Key_Home);
        QTest::keyClick(view_.get(), Qt::Key_Print);
        QTRY_COMPARE_WITH_TIMEOUT(echoed(),
                                  QByteArray("3F BF 0F 8F E0 47 E0 C7 E0 2A E0 37 E0 B7 E0 AA "),
                                  kGuestTimeoutMs);
    }
};

QTEST_MAIN(DisplayViewKeyboardTest)
#include "DisplayViewKeyboardTest.moc"
