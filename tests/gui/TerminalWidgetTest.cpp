#include "terminal/TerminalWidget.h"

#include <QApplication>
#include <QClipboard>
#include <QElapsedTimer>
#include <QImage>
#include <QPaintEvent>
#include <QRandomGenerator>
#include <QRegion>
#include <QScrollBar>
#include <QSignalSpy>
#include <QTest>
#include <cstdlib>

using kvmscope::ui::TerminalWidget;

namespace {

// Widgets need a platform plugin; without a display the offscreen one does (ctest sets it too).
// Runs before QTEST_MAIN's QApplication reads the variable.
const bool kOffscreenByDefault = [] {
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) {
        qputenv("QT_QPA_PLATFORM", "offscreen");
    }
    return true;
}();

QByteArray numberedLines(int count) {
    QByteArray bytes;
    for (int line = 1; line <= count; ++line) {
        bytes += "line " + QByteArray::number(line) + "\r\n";
    }
    return bytes;
}

// All bytes the widget sent towards the guest since the spy was made, concatenated.
QByteArray sentBytes(const QSignalSpy& spy) {
    QByteArray bytes;
    for (const QList<QVariant>& emission : spy) {
        bytes += emission.at(0).toByteArray();
    }
    return bytes;
}

QByteArray bytesForKey(TerminalWidget& terminal, Qt::Key key,
                       Qt::KeyboardModifiers modifiers = Qt::NoModifier) {
    QSignalSpy spy(&terminal, &TerminalWidget::inputBytes);
    QTest::keyClick(&terminal, key, modifiers);
    return sentBytes(spy);
}

QByteArray bytesForChar(TerminalWidget& terminal, char character) {
    QSignalSpy spy(&terminal, &TerminalWidget::inputBytes);
    QTest::keyClick(&terminal, character);
    return sentBytes(spy);
}

// Records the rectangles the viewport is asked to repaint.
class PaintRecorder : public QObject {
public:
    QRegion painted;
    int paintEvents = 0;

protected:
    bool eventFilter(QObject* watched, QEvent* event) override {
        if (event->type() == QEvent::Paint) {
            painted += static_cast<QPaintEvent*>(event)->region();
            ++paintEvents;
        }
        return QObject::eventFilter(watched, event);
    }
};

const QColor kConsoleRed(0xaa, 0x00, 0x00);
const QColor kConsoleGrey(0xaa, 0xaa, 0xaa); // default foreground
const QColor kBlack(0x00, 0x00, 0x00);       // default background

} // namespace

class TerminalWidgetTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void startsAtEightyByTwentyFive() {
        TerminalWidget terminal;
        QCOMPARE(terminal.rows(), 25);
        QCOMPARE(terminal.columns(), 80);
        QCOMPARE(terminal.cursorPosition(), QPoint(0, 0));
        QCOMPARE(terminal.screenText(), QString(24, QLatin1Char('\n')));
    }

    void plainTextLandsInTheFirstCells() {
        TerminalWidget terminal;
        terminal.feed(QByteArray("hello"));
        QCOMPARE(terminal.screenText().split(QLatin1Char('\n')).at(0), QStringLiteral("hello"));
        QCOMPARE(terminal.cursorPosition(), QPoint(5, 0));
        QCOMPARE(terminal.cellForeground(0, 0), kConsoleGrey);
        QCOMPARE(terminal.cellBackground(0, 0), kBlack);
    }

    void spanOverloadFeedsTheSameBytes() {
        TerminalWidget terminal;
        const uint8_t bytes[] = {'o', 'k'};
        terminal.feed(std::span<const uint8_t>(bytes));
        QCOMPARE(terminal.screenText().section(QLatin1Char('\n'), 0, 0), QStringLiteral("ok"));
    }

    void carriageReturnLineFeedStartsTheNextLine() {
        TerminalWidget terminal;
        terminal.feed(QByteArray("one\r\ntwo\r\n  three"));
        const QStringList lines = terminal.screenText().split(QLatin1Char('\n'));
        QCOMPARE(lines.size(), 25);
        QCOMPARE(lines.at(0), QStringLiteral("one"));
        QCOMPARE(lines.at(1), QStringLiteral("two"));
        QCOMPARE(lines.at(2), QStringLiteral("  three"));
        QCOMPARE(terminal.cursorPosition(), QPoint(7, 2));
    }

    void eraseDisplayAndHomeClearTheScreen() {
        TerminalWidget terminal;
        terminal.feed(QByteArray("junk\r\nmore junk\r\nstill"));
        terminal.feed(QByteArray("\x1b[2J\x1b[H"));
        QCOMPARE(terminal.screenText(), QString(24, QLatin1Char('\n')));
        QCOMPARE(terminal.cursorPosition(), QPoint(0, 0));
        terminal.feed(QByteArray("new"));
        QCOMPARE(terminal.screenText().section(QLatin1Char('\n'), 0, 0), QStringLiteral("new"));
    }

    void cursorPositionEscapeIsOneBased() {
        TerminalWidget terminal;
        terminal.feed(QByteArray("\x1b[5;10H"));
        QCOMPARE(terminal.cursorPosition(), QPoint(9, 4));
        terminal.feed(QByteArray("X"));
        QCOMPARE(terminal.screenText().split(QLatin1Char('\n')).at(4),
                 QString(9, QLatin1Char(' ')) + QLatin1Char('X'));
    }

    void sgrThirtyOneIsConsoleRed() {
        TerminalWidget terminal;
        terminal.feed(QByteArray("\x1b[31mRED\x1b[0m ok"));
        for (int column = 0; column < 3; ++column) {
            QCOMPARE(terminal.cellForeground(0, column), kConsoleRed);
            QCOMPARE(terminal.cellBackground(0, column), kBlack);
        }
        QCOMPARE(terminal.cellForeground(0, 4), kConsoleGrey);
    }

    void coloursFromAllThreeEncodings() {
        TerminalWidget terminal;
        // bold+red (bright on the Linux console), blue background, 256-colour 196 (the cube's
        // pure red), truecolour, reverse video of the default colours.
        terminal.feed(QByteArray("\x1b[1;31mA\x1b[0m\x1b[44mB\x1b[0m\x1b[38;5;196mC\x1b[0m"
                                 "\x1b[38;2;1;2;3mD\x1b[0m\x1b[7mE\x1b[0m"));
        QCOMPARE(terminal.cellForeground(0, 0), QColor(0xff, 0x55, 0x55));
        QCOMPARE(terminal.cellBackground(0, 1), QColor(0x00, 0x00, 0xaa));
        QCOMPARE(terminal.cellForeground(0, 2), QColor(0xff, 0x00, 0x00));
        QCOMPARE(terminal.cellForeground(0, 3), QColor(1, 2, 3));
        QCOMPARE(terminal.cellForeground(0, 4), kBlack);
        QCOMPARE(terminal.cellBackground(0, 4), kConsoleGrey);
        QVERIFY(!terminal.cellForeground(25, 0).isValid());
        QVERIFY(!terminal.cellBackground(0, 80).isValid());
    }

    void doubleWidthCharacterTakesTwoColumns() {
        TerminalWidget terminal;
        terminal.feed(QStringLiteral(u"\u6f22x").toUtf8());
        QCOMPARE(terminal.cursorPosition(), QPoint(3, 0));
        QCOMPARE(terminal.screenText().section(QLatin1Char('\n'), 0, 0),
                 QStringLiteral(u"\u6f22x"));
    }

    void linesScrolledOffTheTopGoToScrollback() {
        TerminalWidget terminal;
        terminal.feed(numberedLines(100));
        // 100 lines and the empty line holding the cursor: 101 lines, 25 on screen.
        QCOMPARE(terminal.scrollbackLines(), 76);
        const QStringList scrollback = terminal.scrollbackText().split(QLatin1Char('\n'));
        QCOMPARE(scrollback.first(), QStringLiteral("line 1"));
        QCOMPARE(scrollback.last(), QStringLiteral("line 76"));
        QCOMPARE(terminal.screenText().section(QLatin1Char('\n'), 0, 0), QStringLiteral("line 77"));
        const QStringList all = terminal.allText().split(QLatin1Char('\n'));
        QCOMPARE(all.size(), 101);
        for (int line = 1; line <= 100; ++line) {
            QCOMPARE(all.at(line - 1), QStringLiteral("line %1").arg(line));
        }
    }

    void scrollbackIsBounded() {
        TerminalWidget terminal;
        terminal.setScrollbackLimit(10);
        QCOMPARE(terminal.scrollbackLimit(), 10);
        terminal.feed(numberedLines(100));
        QCOMPARE(terminal.scrollbackLines(), 10);
        QCOMPARE(terminal.scrollbackText().section(QLatin1Char('\n'), 0, 0),
                 QStringLiteral("line 67"));
        terminal.setScrollbackLimit(3);
        QCOMPARE(terminal.scrollbackText(), QStringLiteral("line 74\nline 75\nline 76"));
    }

    void newOutputSnapsBackToTheBottom() {
        TerminalWidget terminal;
        terminal.feed(numberedLines(100));
        QScrollBar* scrollBar = terminal.verticalScrollBar();
        QCOMPARE(scrollBar->maximum(), 76);
        QCOMPARE(scrollBar->value(), 76);
        scrollBar->setValue(0);
        terminal.feed(QByteArray("x"));
        QCOMPARE(scrollBar->value(), scrollBar->maximum());
    }

    void shiftPageUpScrollsWithoutSendingAnything() {
        TerminalWidget terminal;
        terminal.feed(numberedLines(100));
        QScrollBar* scrollBar = terminal.verticalScrollBar();
        QCOMPARE(bytesForKey(terminal, Qt::Key_PageUp, Qt::ShiftModifier), QByteArray());
        QCOMPARE(scrollBar->value(), 76 - 25);
        QCOMPARE(bytesForKey(terminal, Qt::Key_PageDown, Qt::ShiftModifier), QByteArray());
        QCOMPARE(scrollBar->value(), 76);
        // Unshifted PageUp belongs to the guest.
        QCOMPARE(bytesForKey(terminal, Qt::Key_PageUp), QByteArray("\x1b[5~"));
    }

    void clearEmptiesScreenAndScrollback() {
        TerminalWidget terminal;
        terminal.feed(numberedLines(40));
        terminal.clear();
        QCOMPARE(terminal.scrollbackLines(), 0);
        QCOMPARE(terminal.scrollbackText(), QString());
        QCOMPARE(terminal.screenText(), QString(24, QLatin1Char('\n')));
        QCOMPARE(terminal.cursorPosition(), QPoint(0, 0));
        QCOMPARE(terminal.verticalScrollBar()->maximum(), 0);
    }

    void keysBecomeTheBytesATerminalSends() {
        TerminalWidget terminal;
        QCOMPARE(bytesForChar(terminal, 'a'), QByteArray("a"));
        QCOMPARE(bytesForChar(terminal, 'A'), QByteArray("A"));
        QCOMPARE(bytesForKey(terminal, Qt::Key_Return), QByteArray("\r"));
        QCOMPARE(bytesForKey(terminal, Qt::Key_Enter, Qt::KeypadModifier), QByteArray("\r"));
        QCOMPARE(bytesForKey(terminal, Qt::Key_Up), QByteArray("\x1b[A"));
        QCOMPARE(bytesForKey(terminal, Qt::Key_Left), QByteArray("\x1b[D"));
        QCOMPARE(bytesForKey(terminal, Qt::Key_Home), QByteArray("\x1b[H"));
        QCOMPARE(bytesForKey(terminal, Qt::Key_End), QByteArray("\x1b[F"));
        QCOMPARE(bytesForKey(terminal, Qt::Key_PageDown), QByteArray("\x1b[6~"));
        QCOMPARE(bytesForKey(terminal, Qt::Key_Delete), QByteArray("\x1b[3~"));
        QCOMPARE(bytesForKey(terminal, Qt::Key_F1), QByteArray("\x1bOP"));
        QCOMPARE(bytesForKey(terminal, Qt::Key_F5), QByteArray("\x1b[15~"));
        QCOMPARE(bytesForKey(terminal, Qt::Key_F12), QByteArray("\x1b[24~"));
        QCOMPARE(bytesForKey(terminal, Qt::Key_Backspace), QByteArray("\x7f"));
        QCOMPARE(bytesForKey(terminal, Qt::Key_Tab), QByteArray("\t"));
        QCOMPARE(bytesForKey(terminal, Qt::Key_Backtab, Qt::ShiftModifier), QByteArray("\x1b[Z"));
        QCOMPARE(bytesForKey(terminal, Qt::Key_Escape), QByteArray("\x1b"));
        QCOMPARE(bytesForKey(terminal, Qt::Key_Shift, Qt::ShiftModifier), QByteArray());
    }

    void controlLettersAreControlCharacters() {
        TerminalWidget terminal;
        QCOMPARE(bytesForKey(terminal, Qt::Key_C, Qt::ControlModifier), QByteArray("\x03"));
        QCOMPARE(bytesForKey(terminal, Qt::Key_D, Qt::ControlModifier), QByteArray("\x04"));
        QCOMPARE(bytesForKey(terminal, Qt::Key_Z, Qt::ControlModifier), QByteArray("\x1a"));
        // The ones libvterm would send as "CSI <n>;5u", which a Linux tty does not understand.
        QCOMPARE(bytesForKey(terminal, Qt::Key_I, Qt::ControlModifier), QByteArray("\t"));
        QCOMPARE(bytesForKey(terminal, Qt::Key_J, Qt::ControlModifier), QByteArray("\n"));
        QCOMPARE(bytesForKey(terminal, Qt::Key_M, Qt::ControlModifier), QByteArray("\r"));
        QCOMPARE(bytesForKey(terminal, Qt::Key_BracketLeft, Qt::ControlModifier),
                 QByteArray("\x1b"));
        QCOMPARE(bytesForKey(terminal, Qt::Key_Space, Qt::ControlModifier), QByteArray(1, '\0'));
        QCOMPARE(bytesForKey(terminal, Qt::Key_X, Qt::AltModifier), QByteArray("\x1bx"));
    }

    void cursorKeysFollowApplicationMode() {
        TerminalWidget terminal;
        terminal.feed(QByteArray("\x1b[?1h")); // DECCKM set, as readline/vi request
        QCOMPARE(bytesForKey(terminal, Qt::Key_Up), QByteArray("\x1bOA"));
        terminal.feed(QByteArray("\x1b[?1l"));
        QCOMPARE(bytesForKey(terminal, Qt::Key_Up), QByteArray("\x1b[A"));
    }

    void terminalAnswersCursorPositionReport() {
        TerminalWidget terminal;
        QSignalSpy spy(&terminal, &TerminalWidget::inputBytes);
        terminal.feed(QByteArray("\x1b[3;7H\x1b[6n"));
        QCOMPARE(sentBytes(spy), QByteArray("\x1b[3;7R"));
    }

    void copyAndPasteUseControlShift() {
        TerminalWidget terminal;
        terminal.resize(terminal.sizeHint());
        terminal.show();
        QVERIFY(QTest::qWaitForWindowExposed(&terminal));
        terminal.feed(QByteArray("hello world/path.txt   end"));

        const QSize cell = terminal.cellSize();
        const QPoint inWorld(8 * cell.width() + cell.width() / 2, cell.height() / 2);
        QTest::mouseDClick(terminal.viewport(), Qt::LeftButton, Qt::NoModifier, inWorld);
        QCOMPARE(terminal.selectedText(), QStringLiteral("world/path.txt"));

        QSignalSpy spy(&terminal, &TerminalWidget::inputBytes);
        QTest::keyClick(&terminal, Qt::Key_C, Qt::ControlModifier | Qt::ShiftModifier);
        QCOMPARE(QGuiApplication::clipboard()->text(), QStringLiteral("world/path.txt"));
        QCOMPARE(spy.count(), 0); // copying sends nothing to the guest

        QGuiApplication::clipboard()->setText(QStringLiteral("ls -l\nuname -a\r\n"));
        QTest::keyClick(&terminal, Qt::Key_V, Qt::ControlModifier | Qt::ShiftModifier);
        QCOMPARE(sentBytes(spy), QByteArray("ls -l\runame -a\r"));
    }

    void dragSelectsAcrossLines() {
        TerminalWidget terminal;
        terminal.resize(terminal.sizeHint());
        terminal.show();
        QVERIFY(QTest::qWaitForWindowExposed(&terminal));
        terminal.feed(QByteArray("first line\r\nsecond line"));
        const QSize cell = terminal.cellSize();
        QWidget* viewport = terminal.viewport();
        QTest::mousePress(viewport, Qt::LeftButton, Qt::NoModifier,
                          QPoint(6 * cell.width(), cell.height() / 2));
        QTest::mouseMove(viewport, QPoint(3 * cell.width(), cell.height() + cell.height() / 2));
        QTest::mouseRelease(viewport, Qt::LeftButton, Qt::NoModifier,
                            QPoint(3 * cell.width(), cell.height() + cell.height() / 2));
        QCOMPARE(terminal.selectedText(), QStringLiteral("line\nsec"));
    }

    void bracketedPasteIsWrapped() {
        TerminalWidget terminal;
        terminal.feed(QByteArray("\x1b[?2004h"));
        QSignalSpy spy(&terminal, &TerminalWidget::inputBytes);
        terminal.pasteText(QStringLiteral("echo hi\n"));
        QCOMPARE(sentBytes(spy), QByteArray("\x1b[200~echo hi\r\x1b[201~"));
    }

    void rowsAndColumnsFollowTheWidgetSize() {
        TerminalWidget terminal;
        terminal.resize(terminal.sizeHint());
        terminal.show();
        QVERIFY(QTest::qWaitForWindowExposed(&terminal));
        QCOMPARE(terminal.columns(), 80);
        QCOMPARE(terminal.rows(), 25);

        const QSize cell = terminal.cellSize();
        const QSize extra = terminal.size() - terminal.viewport()->size();
        terminal.resize(extra + QSize(40 * cell.width() + cell.width() / 2, 10 * cell.height()));
        QTRY_COMPARE(terminal.columns(), 40);
        QCOMPARE(terminal.rows(), 10);
        terminal.resize(extra + QSize(132 * cell.width(), 50 * cell.height()));
        QTRY_COMPARE(terminal.columns(), 132);
        QCOMPARE(terminal.rows(), 50);
    }

    void shrinkingAndGrowingKeepsTheLines() {
        TerminalWidget terminal;
        terminal.resize(terminal.sizeHint());
        terminal.show();
        QVERIFY(QTest::qWaitForWindowExposed(&terminal));
        terminal.feed(numberedLines(24));
        const QString before = terminal.allText();
        const QSize cell = terminal.cellSize();
        const QSize extra = terminal.size() - terminal.viewport()->size();

        terminal.resize(extra + QSize(80 * cell.width(), 10 * cell.height()));
        QTRY_COMPARE(terminal.rows(), 10);
        QCOMPARE(terminal.scrollbackLines(), 15); // the top lines went to the scrollback
        QCOMPARE(terminal.screenText().section(QLatin1Char('\n'), 0, 0), QStringLiteral("line 16"));

        terminal.resize(extra + QSize(80 * cell.width(), 25 * cell.height()));
        QTRY_COMPARE(terminal.rows(), 25);
        QCOMPARE(terminal.scrollbackLines(), 0); // and came back from it
        QCOMPARE(terminal.allText(), before);
    }

    void redCellsAreDrawnRed() {
        TerminalWidget terminal;
        terminal.resize(terminal.sizeHint());
        terminal.show();
        QVERIFY(QTest::qWaitForWindowExposed(&terminal));
        terminal.feed(QByteArray("\x1b[41m  \x1b[0m\x1b[31mMMMM\x1b[0m"));
        const QImage image = terminal.viewport()->grab().toImage();
        const QSize cell = terminal.cellSize();
        const qreal scale = image.devicePixelRatio();

        // Background: the middle of cell (0,0) is exactly the console red.
        const QPoint middle(cell.width() / 2, cell.height() / 2);
        QCOMPARE(image.pixelColor((QPointF(middle) * scale).toPoint()), kConsoleRed);

        // Foreground: the glyphs of columns 2..5 contain red pixels (antialiased edges aside).
        int redPixels = 0;
        const QRect glyphs(2 * cell.width(), 0, 4 * cell.width(), cell.height());
        for (int y = glyphs.top(); y <= glyphs.bottom(); ++y) {
            for (int x = glyphs.left(); x <= glyphs.right(); ++x) {
                const QColor pixel = image.pixelColor((QPointF(x, y) * scale).toPoint());
                if (pixel.red() >= 0x80 && pixel.green() < 0x40 && pixel.blue() < 0x40) {
                    ++redPixels;
                }
            }
        }
        QVERIFY2(redPixels > 10, qPrintable(QStringLiteral("%1 red pixels").arg(redPixels)));

        // And a default cell further right is background black.
        const QPoint blank(20 * cell.width() + cell.width() / 2, cell.height() / 2);
        QCOMPARE(image.pixelColor((QPointF(blank) * scale).toPoint()), kBlack);
    }

    void outputRepaintsOnlyTheDamagedCells() {
        TerminalWidget terminal;
        terminal.resize(terminal.sizeHint());
        terminal.show();
        QVERIFY(QTest::qWaitForWindowExposed(&terminal));
        terminal.feed(QByteArray("\x1b[10;20H"));
        QCoreApplication::processEvents();

        PaintRecorder recorder;
        terminal.viewport()->installEventFilter(&recorder);
        // Byte by byte, as a UART may deliver it: still one repaint of a few cells.
        for (const char byte : QByteArray("abc")) {
            terminal.feed(QByteArray(1, byte));
        }
        QTRY_VERIFY(recorder.paintEvents > 0);
        QCOMPARE(recorder.paintEvents, 1);
        const QSize cell = terminal.cellSize();
        // Columns 19..22 of row 9: the three characters and the cursor after them (2 columns
        // reserved for a cursor on a double-width character).
        const QRect expected(19 * cell.width(), 9 * cell.height(), 5 * cell.width(), cell.height());
        QVERIFY2(expected.contains(recorder.painted.boundingRect()),
                 qPrintable(QStringLiteral("painted %1,%2 %3x%4")
                                .arg(recorder.painted.boundingRect().x())
                                .arg(recorder.painted.boundingRect().y())
                                .arg(recorder.painted.boundingRect().width())
                                .arg(recorder.painted.boundingRect().height())));
    }

    void randomBytesDoNotBreakTheTerminal() {
        TerminalWidget terminal;
        terminal.resize(terminal.sizeHint());
        terminal.show();
        QVERIFY(QTest::qWaitForWindowExposed(&terminal));
        QRandomGenerator random(0x6b766d); // fixed seed: the same bytes every run
        QByteArray noise(256 * 1024, Qt::Uninitialized);
        for (char& byte : noise) {
            // Mostly escape-sequence material, so the parser goes through many states, and
            // UTF-8 lead bytes of Latin/box-drawing ranges with random (often invalid)
            // continuations. Not random scripts: rendering those only makes the font engine warn.
            static constexpr char kLeadBytes[] = {'\x1b', '[', ']', 'P', '\xc2', '\xc3', '\xe2'};
            const quint32 pick = random.bounded(10u);
            byte = pick < sizeof(kLeadBytes) ? kLeadBytes[pick]
                                             : static_cast<char>(random.bounded(0xc0u));
        }
        for (qsizetype offset = 0; offset < noise.size(); offset += 1000) {
            terminal.feed(noise.mid(offset, 1000));
        }
        QCoreApplication::processEvents();
        terminal.feed(QByteArray("\033csane")); // ESC c (RIS): full reset, then text
        QCOMPARE(terminal.rows(), 25);
        QCOMPARE(terminal.columns(), 80);
        QCOMPARE(terminal.screenText().section(QLatin1Char('\n'), 0, 0), QStringLiteral("sane"));
        QVERIFY(!terminal.viewport()->grab().isNull());
    }

    void oneMegabyteOfOutput() {
        TerminalWidget terminal;
        terminal.resize(terminal.sizeHint());
        terminal.show();
        QVERIFY(QTest::qWaitForWindowExposed(&terminal));

        QByteArray output;
        int lines = 0;
        while (output.size() < (1 << 20)) {
            ++lines;
            output += "[" + QByteArray::number(lines) +
                      "] \x1b[32mok\x1b[0m the quick brown fox jumps over the lazy dog\r\n";
        }
        QElapsedTimer timer;
        timer.start();
        // In UART-sized chunks, as the serial device delivers it, with the event loop in between.
        for (qsizetype offset = 0; offset < output.size(); offset += 4096) {
            terminal.feed(output.mid(offset, 4096));
            if ((offset / 4096) % 16 == 0) {
                QCoreApplication::processEvents();
            }
        }
        QCoreApplication::processEvents();
        qInfo("fed %lld bytes (%d lines) in %lld ms", static_cast<long long>(output.size()), lines,
              static_cast<long long>(timer.elapsed()));

        QCOMPARE(terminal.scrollbackLines(), terminal.scrollbackLimit());
        const QStringList screen = terminal.screenText().split(QLatin1Char('\n'));
        QVERIFY2(screen.at(23).startsWith(QStringLiteral("[%1] ok").arg(lines)),
                 qPrintable(screen.at(23)));
    }
};

QTEST_MAIN(TerminalWidgetTest)
#include "TerminalWidgetTest.moc"
