// Port 0x402: reads say a debug console is there, writes become the firmware's log lines.
#include "firmware/DebugConsole.h"

#include "../devices/DeviceTestSupport.h"

#include <QTest>
#include <string>

using namespace kvmscope;
using kvmscope::firmware::DebugConsole;
using kvmscope::testing::inb;
using kvmscope::testing::outb;

namespace {
void print(DebugConsole& console, std::string_view text) {
    for (const char c : text)
        outb(console, 0, static_cast<uint8_t>(c));
}
} // namespace

class DebugConsoleTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void readsReturnTheDebugconValue() {
        DebugConsole console;
        QCOMPARE(inb(console, 0), uint8_t(0xe9)); // SeaBIOS's QEMU_DEBUGCON_READBACK
    }

    void writesBecomeLinesAndTheLastOnesAreKept() {
        DebugConsole console;
        print(console, "SeaBIOS (version 1.16.2)\r\nBooting from ");
        QCOMPARE(console.lines(),
                 (std::vector<std::string>{"SeaBIOS (version 1.16.2)", "Booting from "}));
        for (size_t i = 0; i < DebugConsole::kKeptLines + 3; ++i)
            print(console, "line " + std::to_string(i) + "\n");
        const auto lines = console.lines();
        QCOMPARE(lines.size(), DebugConsole::kKeptLines);
        QCOMPARE(lines.back(), "line " + std::to_string(DebugConsole::kKeptLines + 2));
        const auto log = console.getAttr(DebugConsole::kRegistersGroup, attrId("log")).bytes;
        QVERIFY(std::string(log.begin(), log.end()).ends_with(lines.back() + "\n"));
        QCOMPARE(console.getAttr(DebugConsole::kStatisticsGroup, attrId("lines")).scalar,
                 uint64_t(DebugConsole::kKeptLines + 4));
    }

    void anEndlessLineIsBroken() {
        DebugConsole console;
        print(console, std::string(DebugConsole::kMaxLineLength + 5, 'x'));
        const auto lines = console.lines();
        QCOMPARE(lines.size(), size_t(2));
        QCOMPARE(lines[0].size(), DebugConsole::kMaxLineLength);
    }
};

QTEST_APPLESS_MAIN(DebugConsoleTest)
#include "DebugConsoleTest.moc"
