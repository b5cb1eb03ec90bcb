#include "debug/SymbolTable.h"

#include "common/ElfFile.h"
#include "common/Error.h"
#include "common/InputFile.h"
#include "common/MappedFile.h"

#include <algorithm>
#include <elf.h>
#include <fmt/format.h>
#include <sstream>

namespace kvmscope::debug {
namespace {

// A symbol file is mapped, not read onto the heap (common/MappedFile.h): a vmlinux with its debug
// information runs to hundreds of MiB, of which the symbol and string tables are a small part,
// and only the pages read come in.
MappedFile mapSymbolFile(const std::string& path) {
    const InputFile file(path, "symbol file");
    if (file.size() == 0)
        throw LoadError(path, "the symbol file is empty");
    return MappedFile(file.fd(), file.size(), path);
}

// A file truncated while it was mapped reads as zeros past its new end: what was made of them is
// not the file's.
void checkUnchanged(const MappedFile& file, const std::string& path) {
    if (file.shrank())
        throw LoadError(path, "the symbol file shrank (or could not be read) while being read");
}

// Every STT_FUNC, STT_OBJECT and STT_NOTYPE symbol of `symbols` that names a place in a section
// (gABI "Symbol Table").
void addElfSymbols(const ElfSymbols& symbols, SymbolTable& table) {
    for (uint64_t index = 1; index < symbols.count(); ++index) { // entry 0 is the undefined symbol
        const Elf64_Sym symbol = symbols.entry(index);
        const unsigned type = ELF64_ST_TYPE(symbol.st_info);
        if ((type != STT_FUNC && type != STT_OBJECT && type != STT_NOTYPE) ||
            symbol.st_shndx == SHN_UNDEF || symbol.st_shndx == SHN_ABS)
            continue;
        const std::string_view name = symbols.name(symbol, index);
        // Local labels of assembly code (".L...") and empty names are no help to a reader.
        if (name.empty() || name.starts_with(".L"))
            continue;
        table.add({symbol.st_value, symbol.st_size, std::string(name), type == STT_FUNC});
    }
}

} // namespace

SymbolTable SymbolTable::fromElfFile(const std::string& path) {
    const MappedFile file = mapSymbolFile(path);
    SymbolTable table = fromElf(file.bytes(), path);
    checkUnchanged(file, path);
    return table;
}

SymbolTable SymbolTable::fromElf(std::span<const uint8_t> file, const std::string& path) {
    const ElfFile elf(file, path);
    SymbolTable table;
    // SHT_SYMTAB only: the gABI calls it the complete symbol table and SHT_DYNSYM "a minimal set
    // of dynamic linking symbols", and a kernel has no .dynsym at all.
    for (const ElfSection& section : elf.sections())
        if (section.header.sh_type == SHT_SYMTAB)
            addElfSymbols(elf.symbols(section), table);
    if (table.empty())
        throw LoadError(path, "no symbols in .symtab (was the file stripped?)");
    return table;
}

SymbolTable SymbolTable::fromSystemMapFile(const std::string& path) {
    const MappedFile file = mapSymbolFile(path);
    const std::span<const uint8_t> bytes = file.bytes();
    SymbolTable table = fromSystemMap(std::string(bytes.begin(), bytes.end()), path);
    checkUnchanged(file, path);
    return table;
}

SymbolTable SymbolTable::fromSystemMap(const std::string& text, const std::string& path) {
    // nm's format: "ffffffff81000000 T _stext". Types (nm(1)): t/T text, d/D/b/B/r/R data;
    // a/A absolute, w/W/U undefined or weak references carry no location worth naming.
    SymbolTable table;
    std::istringstream lines(text);
    std::string line;
    unsigned number = 0;
    while (std::getline(lines, line)) {
        ++number;
        if (line.empty())
            continue;
        std::istringstream fields(line);
        std::string addressText, type, name;
        // nm prints undefined and weak references without an address: "   U name".
        if (line.find_first_not_of(' ') != 0) {
            if (fields >> type >> name && type.size() == 1)
                continue;
            throw LoadError(path, fmt::format("line {}: expected \"address type name\"", number));
        }
        if (!(fields >> addressText >> type >> name) || type.size() != 1)
            throw LoadError(path, fmt::format("line {}: expected \"address type name\"", number));
        uint64_t address = 0;
        try {
            size_t used = 0;
            address = std::stoull(addressText, &used, 16);
            if (used != addressText.size())
                throw std::invalid_argument(addressText);
        } catch (const std::exception&) {
            throw LoadError(path, fmt::format("line {}: bad address \"{}\"", number, addressText));
        }
        const char kind = static_cast<char>(std::tolower(static_cast<unsigned char>(type[0])));
        if (kind != 't' && kind != 'd' && kind != 'b' && kind != 'r')
            continue;
        table.add({address, 0, name, kind == 't'});
    }
    if (table.empty())
        throw LoadError(path, "no symbols in the System.map");
    return table;
}

SymbolTable SymbolTable::load(const std::string& path) {
    const MappedFile file = mapSymbolFile(path);
    const std::span<const uint8_t> bytes = file.bytes();
    SymbolTable table = hasElfMagic(bytes)
                            ? fromElf(bytes, path)
                            : fromSystemMap(std::string(bytes.begin(), bytes.end()), path);
    checkUnchanged(file, path);
    return table;
}

void SymbolTable::add(Symbol symbol) {
    auto position = std::upper_bound(
        symbols_.begin(), symbols_.end(), symbol.address,
        [](uint64_t address, const Symbol& other) { return address < other.address; });
    symbols_.insert(position, std::move(symbol));
}

const Symbol* SymbolTable::containing(uint64_t address) const {
    auto position =
        std::upper_bound(symbols_.begin(), symbols_.end(), address,
                         [](uint64_t value, const Symbol& other) { return value < other.address; });
    // Walk back over symbols at the same or lower address: prefer a function whose size covers
    // the address, then any symbol without a size (System.map, assembly labels).
    while (position != symbols_.begin()) {
        --position;
        if (position->size == 0 || address < position->address + position->size)
            return &*position;
        if (position->function)
            return nullptr; // a sized function ends before the address: it is outside any symbol
    }
    return nullptr;
}

std::string SymbolTable::describe(uint64_t address) const {
    const Symbol* symbol = containing(address);
    if (!symbol)
        return {};
    const uint64_t offset = address - symbol->address;
    return offset == 0 ? symbol->name : fmt::format("{}+{:#x}", symbol->name, offset);
}

std::optional<uint64_t> SymbolTable::addressOf(const std::string& name) const {
    for (const Symbol& symbol : symbols_)
        if (symbol.name == name)
            return symbol.address;
    return std::nullopt;
}

} // namespace kvmscope::debug
