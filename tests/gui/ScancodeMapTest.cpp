// ScancodeMap: Qt keys to PS/2 scan code set 2, checked against the set-2 column of the
// Microsoft "Keyboard Scan Code Specification" (rev. 1.3a, appendix C), key by key for the
// whole US 104-key keyboard, and the make/break sequences around the codes.
#include "display/ScancodeMap.h"

#include <QKeyEvent>
#include <QTest>
#include <set>

using namespace kvmscope::ui;

namespace {

struct Case {
    int qtKey;
    Qt::KeyboardModifiers modifiers;
    quint32 nativeScanCode; // XKB keycode (evdev + 8), 0 when Qt's key says enough
    const char* make;       // set 2, hex
};

constexpr Qt::KeyboardModifiers kNone = Qt::NoModifier;
constexpr Qt::KeyboardModifiers kKeypad = Qt::KeypadModifier;

// The 104 keys, one entry each, by the key's unshifted Qt key.
const Case kKeyboard[] = {
    {Qt::Key_Escape, kNone, 0, "76"},
    {Qt::Key_F1, kNone, 0, "05"},
    {Qt::Key_F2, kNone, 0, "06"},
    {Qt::Key_F3, kNone, 0, "04"},
    {Qt::Key_F4, kNone, 0, "0c"},
    {Qt::Key_F5, kNone, 0, "03"},
    {Qt::Key_F6, kNone, 0, "0b"},
    {Qt::Key_F7, kNone, 0, "83"},
    {Qt::Key_F8, kNone, 0, "0a"},
    {Qt::Key_F9, kNone, 0, "01"},
    {Qt::Key_F10, kNone, 0, "09"},
    {Qt::Key_F11, kNone, 0, "78"},
    {Qt::Key_F12, kNone, 0, "07"},
    {Qt::Key_Print, kNone, 0, "e012e07c"},
    {Qt::Key_ScrollLock, kNone, 0, "7e"},
    {Qt::Key_Pause, kNone, 0, "e11477e1f014f077"},
    {Qt::Key_QuoteLeft, kNone, 0, "0e"},
    {Qt::Key_1, kNone, 0, "16"},
    {Qt::Key_2, kNone, 0, "1e"},
    {Qt::Key_3, kNone, 0, "26"},
    {Qt::Key_4, kNone, 0, "25"},
    {Qt::Key_5, kNone, 0, "2e"},
    {Qt::Key_6, kNone, 0, "36"},
    {Qt::Key_7, kNone, 0, "3d"},
    {Qt::Key_8, kNone, 0, "3e"},
    {Qt::Key_9, kNone, 0, "46"},
    {Qt::Key_0, kNone, 0, "45"},
    {Qt::Key_Minus, kNone, 0, "4e"},
    {Qt::Key_Equal, kNone, 0, "55"},
    {Qt::Key_Backspace, kNone, 0, "66"},
    {Qt::Key_Tab, kNone, 0, "0d"},
    {Qt::Key_Q, kNone, 0, "15"},
    {Qt::Key_W, kNone, 0, "1d"},
    {Qt::Key_E, kNone, 0, "24"},
    {Qt::Key_R, kNone, 0, "2d"},
    {Qt::Key_T, kNone, 0, "2c"},
    {Qt::Key_Y, kNone, 0, "35"},
    {Qt::Key_U, kNone, 0, "3c"},
    {Qt::Key_I, kNone, 0, "43"},
    {Qt::Key_O, kNone, 0, "44"},
    {Qt::Key_P, kNone, 0, "4d"},
    {Qt::Key_BracketLeft, kNone, 0, "54"},
    {Qt::Key_BracketRight, kNone, 0, "5b"},
    {Qt::Key_Backslash, kNone, 0, "5d"},
    {Qt::Key_CapsLock, kNone, 0, "58"},
    {Qt::Key_A, kNone, 0, "1c"},
    {Qt::Key_S, kNone, 0, "1b"},
    {Qt::Key_D, kNone, 0, "23"},
    {Qt::Key_F, kNone, 0, "2b"},
    {Qt::Key_G, kNone, 0, "34"},
    {Qt::Key_H, kNone, 0, "33"},
    {Qt::Key_J, kNone, 0, "3b"},
    {Qt::Key_K, kNone, 0, "42"},
    {Qt::Key_L, kNone, 0, "4b"},
    {Qt::Key_Semicolon, kNone, 0, "4c"},
    {Qt::Key_Apostrophe, kNone, 0, "52"},
    {Qt::Key_Return, kNone, 0, "5a"},
    {Qt::Key_Shift, kNone, 50, "12"},
    {Qt::Key_Z, kNone, 0, "1a"},
    {Qt::Key_X, kNone, 0, "22"},
    {Qt::Key_C, kNone, 0, "21"},
    {Qt::Key_V, kNone, 0, "2a"},
    {Qt::Key_B, kNone, 0, "32"},
    {Qt::Key_N, kNone, 0, "31"},
    {Qt::Key_M, kNone, 0, "3a"},
    {Qt::Key_Comma, kNone, 0, "41"},
    {Qt::Key_Period, kNone, 0, "49"},
    {Qt::Key_Slash, kNone, 0, "4a"},
    {Qt::Key_Shift, kNone, 62, "59"},
    {Qt::Key_Control, kNone, 37, "14"},
    {Qt::Key_Super_L, kNone, 133, "e01f"},
    {Qt::Key_Alt, kNone, 64, "11"},
    {Qt::Key_Space, kNone, 0, "29"},
    {Qt::Key_Alt, kNone, 108, "e011"},
    {Qt::Key_Super_R, kNone, 134, "e027"},
    {Qt::Key_Menu, kNone, 0, "e02f"},
    {Qt::Key_Control, kNone, 105, "e014"},
    {Qt::Key_Insert, kNone, 0, "e070"},
    {Qt::Key_Home, kNone, 0, "e06c"},
    {Qt::Key_PageUp, kNone, 0, "e07d"},
    {Qt::Key_Delete, kNone, 0, "e071"},
    {Qt::Key_End, kNone, 0, "e069"},
    {Qt::Key_PageDown, kNone, 0, "e07a"},
    {Qt::Key_Up, kNone, 0, "e075"},
    {Qt::Key_Left, kNone, 0, "e06b"},
    {Qt::Key_Down, kNone, 0, "e072"},
    {Qt::Key_Right, kNone, 0, "e074"},
    {Qt::Key_NumLock, kKeypad, 0, "77"},
    {Qt::Key_Slash, kKeypad, 0, "e04a"},
    {Qt::Key_Asterisk, kKeypad, 0, "7c"},
    {Qt::Key_Minus, kKeypad, 0, "7b"},
    {Qt::Key_7, kKeypad, 0, "6c"},
    {Qt::Key_8, kKeypad, 0, "75"},
    {Qt::Key_9, kKeypad, 0, "7d"},
    {Qt::Key_Plus, kKeypad, 0, "79"},
    {Qt::Key_4, kKeypad, 0, "6b"},
    {Qt::Key_5, kKeypad, 0, "73"},
    {Qt::Key_6, kKeypad, 0, "74"},
    {Qt::Key_1, kKeypad, 0, "69"},
    {Qt::Key_2, kKeypad, 0, "72"},
    {Qt::Key_3, kKeypad, 0, "7a"},
    {Qt::Key_Enter, kKeypad, 0, "e05a"},
    {Qt::Key_0, kKeypad, 0, "70"},
    {Qt::Key_Period, kKeypad, 0, "71"},
};

QByteArray make(int qtKey, Qt::KeyboardModifiers modifiers = kNone, quint32 native = 0) {
    const auto key = ScancodeMap::keyFor(qtKey, modifiers, native);
    return key ? ScancodeMap::makeSequence(*key).toHex() : QByteArray("none");
}

} // namespace

class ScancodeMapTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void everyKeyOfAUs104KeyKeyboardHasItsSetTwoCode() {
        QCOMPARE(std::size(kKeyboard), size_t(104));
        std::set<PcKey> distinct;
        for (const Case& key : kKeyboard) {
            const auto pcKey = ScancodeMap::keyFor(key.qtKey, key.modifiers, key.nativeScanCode);
            QVERIFY2(pcKey, qPrintable(QString("Qt key %1").arg(key.qtKey, 0, 16)));
            QCOMPARE(ScancodeMap::makeSequence(*pcKey).toHex(), QByteArray(key.make));
            distinct.insert(*pcKey);
        }
        // 104 different keys: no two Qt keys collapsed onto one PC key by mistake.
        QCOMPARE(distinct.size(), size_t(104));
    }

    void shiftedCharactersAreTheirUnshiftedKey() {
        const std::pair<int, int> pairs[] = {
            {Qt::Key_Exclam, Qt::Key_1},
            {Qt::Key_At, Qt::Key_2},
            {Qt::Key_NumberSign, Qt::Key_3},
            {Qt::Key_Dollar, Qt::Key_4},
            {Qt::Key_Percent, Qt::Key_5},
            {Qt::Key_AsciiCircum, Qt::Key_6},
            {Qt::Key_Ampersand, Qt::Key_7},
            {Qt::Key_Asterisk, Qt::Key_8},
            {Qt::Key_ParenLeft, Qt::Key_9},
            {Qt::Key_ParenRight, Qt::Key_0},
            {Qt::Key_Underscore, Qt::Key_Minus},
            {Qt::Key_Plus, Qt::Key_Equal},
            {Qt::Key_BraceLeft, Qt::Key_BracketLeft},
            {Qt::Key_BraceRight, Qt::Key_BracketRight},
            {Qt::Key_Bar, Qt::Key_Backslash},
            {Qt::Key_Colon, Qt::Key_Semicolon},
            {Qt::Key_QuoteDbl, Qt::Key_Apostrophe},
            {Qt::Key_AsciiTilde, Qt::Key_QuoteLeft},
            {Qt::Key_Less, Qt::Key_Comma},
            {Qt::Key_Greater, Qt::Key_Period},
            {Qt::Key_Question, Qt::Key_Slash},
            {Qt::Key_Backtab, Qt::Key_Tab},
        };
        for (const auto& [shifted, plain] : pairs)
            QCOMPARE(make(shifted, Qt::ShiftModifier), make(plain));
    }

    void keypadKeysDifferFromTheirMainBlockTwins() {
        // Num Lock off: the keypad's second functions keep the keypad's codes, without E0.
        QCOMPARE(make(Qt::Key_Home, kKeypad), QByteArray("6c"));
        QCOMPARE(make(Qt::Key_Home), QByteArray("e06c"));
        QCOMPARE(make(Qt::Key_Delete, kKeypad), QByteArray("71"));
        QCOMPARE(make(Qt::Key_Delete), QByteArray("e071"));
        QCOMPARE(make(Qt::Key_Enter, kKeypad), QByteArray("e05a"));
        QCOMPARE(make(Qt::Key_Return), QByteArray("5a"));
        QCOMPARE(make(Qt::Key_Asterisk, kKeypad), QByteArray("7c"));
        QCOMPARE(make(Qt::Key_Asterisk, Qt::ShiftModifier), QByteArray("3e"));
        // The keypad's Enter told by its keycode, whatever Qt calls it.
        QCOMPARE(make(Qt::Key_Return, kNone, 96 + 8), QByteArray("e05a"));
    }

    void modifiersWithoutANativeCodeAreTheLeftKeys() {
        QCOMPARE(make(Qt::Key_Shift), QByteArray("12"));
        QCOMPARE(make(Qt::Key_Control), QByteArray("14"));
        QCOMPARE(make(Qt::Key_Alt), QByteArray("11"));
        QCOMPARE(make(Qt::Key_Meta), QByteArray("e01f"));
        QCOMPARE(make(Qt::Key_AltGr), QByteArray("e011"));
    }

    void breakSequencesPutF0BeforeTheCode() {
        auto breakOf = [](int qtKey, Qt::KeyboardModifiers modifiers = kNone) {
            return ScancodeMap::breakSequence(*ScancodeMap::keyFor(qtKey, modifiers)).toHex();
        };
        QCOMPARE(breakOf(Qt::Key_A), QByteArray("f01c"));
        QCOMPARE(breakOf(Qt::Key_Left), QByteArray("e0f06b"));
        QCOMPARE(breakOf(Qt::Key_Slash, kKeypad), QByteArray("e0f04a"));
        QCOMPARE(breakOf(Qt::Key_Print), QByteArray("e0f07ce0f012"));
        QCOMPARE(breakOf(Qt::Key_Pause), QByteArray()); // Pause has no break code
    }

    void keysAPcKeyboardDoesNotHaveAreNotMapped() {
        QCOMPARE(make(Qt::Key_VolumeUp), QByteArray("none"));
        QCOMPARE(make(Qt::Key_Eacute), QByteArray("none"));
        QCOMPARE(make(Qt::Key_unknown), QByteArray("none"));
    }

    void keyEventsCarryTheirNativeScanCode() {
        const QKeyEvent rightCtrl(QEvent::KeyPress, Qt::Key_Control, Qt::ControlModifier, 105, 0,
                                  0);
        QCOMPARE(ScancodeMap::makeSequence(*ScancodeMap::keyFor(rightCtrl)).toHex(),
                 QByteArray("e014"));
        const QKeyEvent letter(QEvent::KeyPress, Qt::Key_A, Qt::NoModifier, QStringLiteral("a"));
        QCOMPARE(ScancodeMap::makeSequence(*ScancodeMap::keyFor(letter)).toHex(), QByteArray("1c"));
    }

    void ctrlAltDeleteIsPressedAndReleasedInOrder() {
        QCOMPARE(ScancodeMap::ctrlAltDelete().toHex(), QByteArray("1411e071e0f071f011f014"));
    }
};

QTEST_GUILESS_MAIN(ScancodeMapTest)
#include "ScancodeMapTest.moc"
