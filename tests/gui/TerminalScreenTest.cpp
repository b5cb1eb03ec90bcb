#include "terminal/TerminalScreen.h"

#include <QSignalSpy>
#include <QTest>

using kvmscope::ui::CellBoundary;
using kvmscope::ui::TerminalCell;
using kvmscope::ui::TerminalScreen;

namespace {

TerminalScreen::Update feed(TerminalScreen& screen, const QByteArray& bytes) {
    return screen.feed(bytes.constData(), static_cast<size_t>(bytes.size()));
}

QByteArray numberedLines(int first, int last) {
    QByteArray bytes;
    for (int line = first; line <= last; ++line) {
        bytes += "line " + QByteArray::number(line) + "\r\n";
    }
    return bytes;
}

QString screenLine(const TerminalScreen& screen, int row) {
    return screen.screenText().split(QLatin1Char('\n')).at(row);
}

constexpr QRgb kConsoleRed = 0xffaa0000;

} // namespace

// The terminal model on its own: no widget, no display, not even a QGuiApplication.
class TerminalScreenTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void startsEmptyAtTheDefaultSize() {
        TerminalScreen screen;
        QCOMPARE(screen.rows(), TerminalScreen::kDefaultRows);
        QCOMPARE(screen.columns(), TerminalScreen::kDefaultColumns);
        QCOMPARE(screen.cursorPosition(), QPoint(0, 0));
        QVERIFY(screen.cursorVisible());
        QCOMPARE(screen.cursorShape(), TerminalScreen::CursorShape::Block);
        QCOMPARE(screen.scrollbackLines(), 0);
        QCOMPARE(screen.combinedLineCount(), TerminalScreen::kDefaultRows);
        QVERIFY(!screen.hasPendingOutput());
    }

    void damageCoversTheWrittenCellsAndTheCursor() {
        TerminalScreen screen;
        feed(screen, "\x1b[10;20H"); // takes the damage of the reset along
        const TerminalScreen::Update update = feed(screen, "abc");
        QVERIFY(!update.scrollbackChanged);
        // Columns 19..21 written, the cursor moved 19 -> 22 (two columns each: it may sit on a
        // double-width character).
        QCOMPARE(update.damage, QRect(19, 9, 5, 1));
        QCOMPARE(screen.cursorPosition(), QPoint(22, 9));
        // Taken once: nothing is left for the next call.
        QVERIFY(feed(screen, "\x1b[6n").damage.isEmpty());
    }

    void linesScrolledOffGoToTheScrollback() {
        TerminalScreen screen;
        const TerminalScreen::Update update = feed(screen, numberedLines(1, 30));
        QVERIFY(update.scrollbackChanged);
        QCOMPARE(screen.scrollbackLines(), 6);
        QCOMPARE(screen.scrollbackText(), QStringLiteral("line 1\nline 2\nline 3\nline 4\nline "
                                                         "5\nline 6"));
        QCOMPARE(screenLine(screen, 0), QStringLiteral("line 7"));
        QCOMPARE(screen.lineText(6, 0, screen.columns()), QStringLiteral("line 7"));
        QVERIFY(screen.allText().startsWith(QStringLiteral("line 1\n")));
        // Scrollback lines are stored trimmed and read back padded with default blanks.
        const TerminalCell blank = screen.cellAt(0, 70);
        QCOMPARE(blank.codepoint, char32_t{0});
        QCOMPARE(blank.foreground, screen.screenCell(0, 70).foreground);
        QCOMPARE(blank.background, screen.screenCell(0, 70).background);
    }

    void boundedScrollbackKeepsStableLineNumbers() {
        TerminalScreen screen;
        screen.setScrollbackLimit(3);
        feed(screen, numberedLines(1, 30));
        QCOMPARE(screen.scrollbackLimit(), 3);
        QCOMPARE(screen.scrollbackText(), QStringLiteral("line 4\nline 5\nline 6"));
        // Three lines dropped: combined line 0 ("line 4") is stable line 3.
        QCOMPARE(screen.stableLineNumber(0), int64_t{3});

        // "ne 5" .. "line" of line 8, as a selection anchored there names it.
        const CellBoundary start{screen.stableLineNumber(1), 2};
        const CellBoundary end{screen.stableLineNumber(4), 4};
        QCOMPARE(screen.text(start, end), QStringLiteral("ne 5\nline 6\nline 7\nline"));

        // Two more lines scroll "line 4" and "line 5" out of the scrollback: the same boundaries
        // still name the same text, minus what was dropped.
        feed(screen, numberedLines(31, 32));
        QCOMPARE(screen.text(start, end), QStringLiteral("line 6\nline 7\nline"));
    }

    void clearEmptiesScreenAndScrollback() {
        TerminalScreen screen;
        feed(screen, numberedLines(1, 40));
        const TerminalScreen::Update update = screen.clear();
        QVERIFY(update.scrollbackChanged);
        QCOMPARE(screen.scrollbackLines(), 0);
        QCOMPARE(screen.screenText(), QString(TerminalScreen::kDefaultRows - 1, QLatin1Char('\n')));
        QCOMPARE(screen.cursorPosition(), QPoint(0, 0));
    }

    void resizeMovesLinesThroughTheScrollbackWithTheirColours() {
        TerminalScreen screen;
        feed(screen, "\x1b[31mred\x1b[0m plain\r\ntwo\r\nthree\r\nfour");
        screen.resize(2, 40);
        QCOMPARE(screen.rows(), 2);
        QCOMPARE(screen.columns(), 40);
        // The cursor's line stays on screen; the lines above it went to the scrollback.
        QCOMPARE(screen.scrollbackText(), QStringLiteral("red plain\ntwo"));
        QCOMPARE(screen.cellAt(0, 0).foreground, kConsoleRed);

        screen.resize(25, 80);
        QCOMPARE(screen.scrollbackLines(), 0);
        QCOMPARE(screenLine(screen, 0), QStringLiteral("red plain"));
        QCOMPARE(screen.cursorPosition(), QPoint(4, 3));
        // Handed back to libvterm with its colours, and "default" still default.
        const TerminalCell red = screen.screenCell(0, 0);
        QCOMPARE(red.foreground, kConsoleRed);
        QVERIFY(!red.defaultForeground);
        QVERIFY(screen.screenCell(0, 5).defaultForeground);
        QVERIFY(screen.screenCell(0, 5).defaultBackground);
    }

    void cursorShapeAndVisibilityFollowTheGuest() {
        TerminalScreen screen;
        feed(screen, "\x1b[4 q"); // DECSCUSR: steady underline
        QCOMPARE(screen.cursorShape(), TerminalScreen::CursorShape::Underline);
        feed(screen, "\x1b[6 q");
        QCOMPARE(screen.cursorShape(), TerminalScreen::CursorShape::Bar);
        feed(screen, "\x1b[2 q");
        QCOMPARE(screen.cursorShape(), TerminalScreen::CursorShape::Block);

        const TerminalScreen::Update hidden = feed(screen, "\x1b[?25l");
        QVERIFY(!screen.cursorVisible());
        QVERIFY(hidden.damage.contains(QPoint(0, 0))); // the cell it leaves is repainted
        feed(screen, "\x1b[?25h");
        QVERIFY(screen.cursorVisible());
    }

    void titleAndBellAreSignals() {
        TerminalScreen screen;
        QSignalSpy titles(&screen, &TerminalScreen::titleChanged);
        QSignalSpy bells(&screen, &TerminalScreen::bell);
        feed(screen, "\x1b]2;guest shell\x07");
        QCOMPARE(titles.count(), 1);
        QCOMPARE(titles.at(0).at(0).toString(), QStringLiteral("guest shell"));
        QCOMPARE(bells.count(), 0); // that BEL ended the OSC string
        feed(screen, "\x07\x07");
        QCOMPARE(bells.count(), 2);
    }

    void answersWaitUntilTaken() {
        TerminalScreen screen;
        feed(screen, "\x1b[3;7H\x1b[6n");
        QVERIFY(screen.hasPendingOutput());
        QCOMPARE(screen.takePendingOutput(), QByteArray("\x1b[3;7R"));
        QVERIFY(!screen.hasPendingOutput());
    }

    void keysAreEncodedInTheGuestsModes() {
        TerminalScreen screen;
        screen.sendKey(Qt::Key_Up, Qt::NoModifier, {});
        QCOMPARE(screen.takePendingOutput(), QByteArray("\x1b[A"));
        feed(screen, "\x1b[?1h"); // application cursor keys
        screen.sendKey(Qt::Key_Up, Qt::NoModifier, {});
        QCOMPARE(screen.takePendingOutput(), QByteArray("\x1bOA"));

        screen.sendKey(Qt::Key_C, Qt::ControlModifier, QStringLiteral("\x03"));
        QCOMPARE(screen.takePendingOutput(), QByteArray("\x03"));
        screen.sendKey(Qt::Key_M, Qt::ControlModifier | Qt::AltModifier, {});
        QCOMPARE(screen.takePendingOutput(), QByteArray("\x1b\r"));
        screen.sendKey(Qt::Key_Eacute, Qt::NoModifier, QStringLiteral("é"));
        QCOMPARE(screen.takePendingOutput(), QByteArray("\xc3\xa9")); // text goes out as UTF-8
        screen.sendKey(Qt::Key_Shift, Qt::ShiftModifier, {});
        QVERIFY(!screen.hasPendingOutput());
    }

    void pasteTypesCarriageReturnsInsideBrackets() {
        TerminalScreen screen;
        screen.paste(QStringLiteral("a\r\nb\nc"));
        QCOMPARE(screen.takePendingOutput(), QByteArray("a\rb\rc"));
        feed(screen, "\x1b[?2004h");
        screen.paste(QStringLiteral("x\n"));
        QCOMPARE(screen.takePendingOutput(), QByteArray("\x1b[200~x\r\x1b[201~"));
    }

    void wordsAreIdentifiersPathsAndAddresses() {
        TerminalScreen screen;
        feed(screen, "ls /usr/lib:x  0xffff8000 \xe4\xb8\xad\xe6\x96\x87!");
        const int line = screen.scrollbackLines();
        QCOMPARE(screen.wordAt(line, 5), std::make_pair(3, 13));   // "/usr/lib:x"
        QCOMPARE(screen.wordAt(line, 13), std::make_pair(13, 14)); // a space alone
        QCOMPARE(screen.wordAt(line, 20), std::make_pair(15, 25)); // "0xffff8000"
        // Two double-width letters; the right half of one selects from its left half.
        QCOMPARE(screen.wordAt(line, 27), std::make_pair(26, 30));
        QCOMPARE(screen.wordAt(line, 30), std::make_pair(30, 31)); // '!' is not a word character
        QCOMPARE(screen.wordAt(line, 79), std::make_pair(79, 80));
    }
};

QTEST_GUILESS_MAIN(TerminalScreenTest)
#include "TerminalScreenTest.moc"
