// The debugger's "go to" expressions (ui/debugger/GoToExpression.h): numbers in both bases,
// registers (also gdb's $ form and 32-bit names), symbols, sums and differences, and errors that
// name the part that could not be read.
#include "debugger/GoToExpression.h"

#include "common/Error.h"
#include "debug/SymbolTable.h"

#include <QTest>

using namespace kvmscope;
using namespace kvmscope::ui;

namespace {

std::optional<uint64_t> registers(const QString& name) {
    if (name == QLatin1String("rip"))
        return 0x100040;
    if (name == QLatin1String("rsp"))
        return 0x7fff0;
    if (name == QLatin1String("eax"))
        return 0x1234;
    return std::nullopt;
}

debug::SymbolTable symbols() {
    return debug::SymbolTable::fromSystemMap("0000000000100000 T main\n"
                                             "0000000000100020 T add_step\n"
                                             "0000000000200000 D watched_counter\n",
                                             "System.map");
}

} // namespace

class GoToExpressionTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void evaluatesNumbersRegistersSymbolsAndSums_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<quint64>("expected");
        QTest::newRow("hex") << "0x1000" << quint64(0x1000);
        QTest::newRow("hex upper") << "0XfF" << quint64(0xff);
        QTest::newRow("decimal") << "4096" << quint64(4096);
        QTest::newRow("register") << "rip" << quint64(0x100040);
        QTest::newRow("register upper case") << "RSP" << quint64(0x7fff0);
        QTest::newRow("gdb register") << "$rip" << quint64(0x100040);
        QTest::newRow("register plus") << "rsp+0x10" << quint64(0x80000);
        QTest::newRow("register minus, spaces") << " rsp - 16 " << quint64(0x7ffe0);
        QTest::newRow("symbol") << "main" << quint64(0x100000);
        QTest::newRow("symbol plus") << "main+4" << quint64(0x100004);
        QTest::newRow("symbol and register") << "add_step+rsp" << quint64(0x17fff0 + 0x20);
        QTest::newRow("chain") << "watched_counter-0x10+2" << quint64(0x1ffff2);
        QTest::newRow("negative wraps") << "-1" << quint64(~0ull);
    }
    void evaluatesNumbersRegistersSymbolsAndSums() {
        QFETCH(QString, text);
        QFETCH(quint64, expected);
        const debug::SymbolTable table = symbols();
        QCOMPARE(evaluateGoTo(text, registers, &table), expected);
    }

    void registersComeBeforeSymbols() {
        debug::SymbolTable table = symbols();
        table.add({0x5000, 0, "rip", true});
        QCOMPARE(evaluateGoTo(QStringLiteral("rip"), registers, &table), quint64(0x100040));
        QCOMPARE(evaluateGoTo(QStringLiteral("rip"), {}, &table), quint64(0x5000));
    }

    void rejectsWhatItCannotRead_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("named"); // the message names this part
        QTest::newRow("empty") << "  "
                               << "empty";
        QTest::newRow("unknown name") << "no_such_symbol"
                                      << "no_such_symbol";
        QTest::newRow("hex without 0x") << "12ab"
                                        << "12ab";
        QTest::newRow("bad hex") << "0xzz"
                                 << "0xzz";
        QTest::newRow("dangling plus") << "main+"
                                       << "missing";
        QTest::newRow("operator") << "main*2"
                                  << "*2";
        QTest::newRow("stray character") << "main+%"
                                         << "%";
    }
    void rejectsWhatItCannotRead() {
        QFETCH(QString, text);
        QFETCH(QString, named);
        const debug::SymbolTable table = symbols();
        try {
            evaluateGoTo(text, registers, &table);
            QFAIL("no error");
        } catch (const InputError& error) {
            QVERIFY2(QString::fromUtf8(error.what()).contains(named), error.what());
        }
    }

    void saysWhenNoSymbolsAreLoaded() {
        try {
            evaluateGoTo(QStringLiteral("main"), registers, nullptr);
            QFAIL("no error");
        } catch (const InputError& error) {
            QVERIFY2(QString::fromUtf8(error.what()).contains(QLatin1String("--symbols")),
                     error.what());
        }
    }
};

QTEST_GUILESS_MAIN(GoToExpressionTest)
#include "GoToExpressionTest.moc"
