// Symbols from System.map text and lookups by address and by name, without a guest.
#include "debug/SymbolTable.h"

#include "common/Error.h"

#include <QTest>

using namespace kvmscope;
using namespace kvmscope::debug;

class SymbolTableTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void systemMapGivesFunctionPlusOffset() {
        const SymbolTable table = SymbolTable::fromSystemMap("ffffffff81000000 T _stext\n"
                                                             "ffffffff81000040 t helper\n"
                                                             "ffffffff81001000 D some_data\n"
                                                             "0000000000000000 A absolute\n"
                                                             "                 U undefined\n",
                                                             "System.map");
        QCOMPARE(table.symbols().size(), size_t{3});
        QCOMPARE(table.describe(0xffffffff81000000), std::string("_stext"));
        QCOMPARE(table.describe(0xffffffff81000010), std::string("_stext+0x10"));
        QCOMPARE(table.describe(0xffffffff81000abc), std::string("helper+0xa7c"));
        QCOMPARE(table.describe(0xffffffff80000000), std::string());
        QVERIFY(table.containing(0xffffffff81000040)->function);
        QVERIFY(!table.containing(0xffffffff81001000)->function);
        QCOMPARE(*table.addressOf("helper"), uint64_t{0xffffffff81000040});
        QVERIFY(!table.addressOf("absolute"));
    }

    void malformedLineIsAnError() {
        QVERIFY_THROWS_EXCEPTION(LoadError,
                                 SymbolTable::fromSystemMap("xyz T name\n", "System.map"));
        QVERIFY_THROWS_EXCEPTION(LoadError, SymbolTable::fromSystemMap("", "System.map"));
    }

    void sizedSymbolsEndWhereTheirSizeSays() {
        SymbolTable table;
        table.add({0x1000, 0x20, "first", true});
        table.add({0x2000, 0x10, "second", true});
        QCOMPARE(table.describe(0x101f), std::string("first+0x1f"));
        QCOMPARE(table.describe(0x1020), std::string()); // past first's end, before second
        QCOMPARE(table.describe(0x2008), std::string("second+0x8"));
    }

    void notAnElfFileIsAnError() {
        const uint8_t bytes[] = {'n', 'o', 't', ' ', 'e', 'l', 'f', 0, 0, 0, 0, 0, 0, 0, 0, 0};
        QVERIFY_THROWS_EXCEPTION(LoadError, SymbolTable::fromElf(bytes, "file"));
    }
};

QTEST_GUILESS_MAIN(SymbolTableTest)
#include "SymbolTableTest.moc"
