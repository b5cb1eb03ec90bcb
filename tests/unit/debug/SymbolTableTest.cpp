// Symbols from System.map text and from ELF symbol tables, and lookups by address and by name,
// without a guest.
#include "debug/SymbolTable.h"

#include "common/Error.h"
#include "unit/common/ElfTestFiles.h"

#include <QTemporaryDir>
#include <QTest>
#include <fstream>

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

    void elfSymtabGivesFunctionsAndObjectsOfEitherClass() {
        for (const bool is64 : {true, false}) {
            const std::vector<elftest::SymbolSpec> symbols{
                {.name = "kernel_main", .value = 0x100000, .size = 0x40},
                {.name = "counter", .value = 0x102000, .size = 8, .type = STT_OBJECT},
                // An assembler's local label, a reference to another file, an absolute value and
                // the source file: none names a place in this file worth showing.
                {.name = ".Lloop", .value = 0x100010, .type = STT_NOTYPE},
                {.name = "undefined", .section = SHN_UNDEF},
                {.name = "absolute", .value = 0x42, .type = STT_NOTYPE, .section = SHN_ABS},
                {.name = "file.c", .type = STT_FILE, .section = SHN_ABS},
                {.name = "entry_label", .value = 0x100040, .type = STT_NOTYPE},
            };
            const auto sections = is64 ? elftest::symbolSections<Elf64_Sym>(symbols, 2)
                                       : elftest::symbolSections<Elf32_Sym>(symbols, 2);
            const auto file = is64 ? elftest::elf64({}, sections) : elftest::elf32({}, sections);
            const SymbolTable table = SymbolTable::fromElf(file.bytes, "kernel.elf");
            QCOMPARE(table.symbols().size(), size_t{3});
            QCOMPARE(table.describe(0x100010), std::string("kernel_main+0x10"));
            QCOMPARE(table.describe(0x100044), std::string("entry_label+0x4"));
            QVERIFY(table.containing(0x100000)->function);
            QVERIFY(!table.containing(0x102004)->function);
            QCOMPARE(*table.addressOf("counter"), uint64_t{0x102000});
            QVERIFY(!table.addressOf("undefined"));
            QVERIFY(!table.addressOf("absolute"));
        }
    }

    void strippedElfIsAnError() {
        const auto file = elftest::elf64({}, {{.name = ".text", .bytes = {0xf4}}});
        try {
            SymbolTable::fromElf(file.bytes, "stripped.elf");
            QFAIL("a file without .symtab gave symbols");
        } catch (const LoadError& error) {
            QCOMPARE(std::string(error.what()),
                     std::string("stripped.elf: no symbols in .symtab (was the file stripped?)"));
        }
    }

    void filesAreReadThroughTheirMapping() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const auto write = [&](const char* name, std::span<const uint8_t> bytes) {
            const std::string path = dir.filePath(QString::fromUtf8(name)).toStdString();
            std::ofstream(path, std::ios::binary)
                .write(reinterpret_cast<const char*>(bytes.data()),
                       static_cast<std::streamsize>(bytes.size()));
            return path;
        };
        const auto elf =
            elftest::elf64({}, elftest::symbolSections<Elf64_Sym>(
                                   {{.name = "kernel_main", .value = 0x100000, .size = 0x40}}, 2));
        const std::string elfPath = write("kernel.elf", elf.bytes);
        QCOMPARE(*SymbolTable::fromElfFile(elfPath).addressOf("kernel_main"), uint64_t{0x100000});
        QCOMPARE(*SymbolTable::load(elfPath).addressOf("kernel_main"), uint64_t{0x100000});
        const std::string map = "ffffffff81000000 T _stext\n";
        const std::string mapPath =
            write("System.map", {reinterpret_cast<const uint8_t*>(map.data()), map.size()});
        QCOMPARE(*SymbolTable::load(mapPath).addressOf("_stext"), uint64_t{0xffffffff81000000});
        QCOMPARE(*SymbolTable::fromSystemMapFile(mapPath).addressOf("_stext"),
                 uint64_t{0xffffffff81000000});

        const std::string emptyPath = write("empty", {});
        try {
            SymbolTable::load(emptyPath);
            QFAIL("an empty symbol file gave symbols");
        } catch (const LoadError& error) {
            QCOMPARE(std::string(error.what()), emptyPath + ": the symbol file is empty");
        }
    }
};

QTEST_GUILESS_MAIN(SymbolTableTest)
#include "SymbolTableTest.moc"
