#include "debug/SymbolTable.h"

#include "common/Error.h"
#include "common/InputFile.h"

#include <algorithm>
#include <cstring>
#include <elf.h>
#include <fmt/format.h>
#include <sstream>

namespace kvmscope::debug {
namespace {

std::vector<uint8_t> readFile(const std::string& path) {
    return InputFile(path, "symbol file").readAll();
}

template <typename T>
T readAt(std::span<const uint8_t> file, uint64_t offset, const std::string& path,
         const char* what) {
    if (offset > file.size() || file.size() - offset < sizeof(T))
        throw LoadError(path,
                        fmt::format("{} at offset {:#x} lies outside the file", what, offset));
    T value;
    std::memcpy(&value, file.data() + offset, sizeof value);
    return value;
}

// Reads every STT_FUNC/STT_OBJECT symbol of the SHT_SYMTAB section (System V gABI, "Symbol
// Table"); Ehdr/Shdr/Sym are the 32- or 64-bit structures of <elf.h>.
template <typename Ehdr, typename Shdr, typename Sym>
void readElfSymbols(std::span<const uint8_t> file, const std::string& path, SymbolTable& table) {
    const auto header = readAt<Ehdr>(file, 0, path, "ELF header");
    if (header.e_shentsize != sizeof(Shdr))
        throw LoadError(path,
                        fmt::format("e_shentsize {} is not {}", header.e_shentsize, sizeof(Shdr)));
    for (unsigned i = 0; i < header.e_shnum; ++i) {
        const auto section =
            readAt<Shdr>(file, header.e_shoff + uint64_t{i} * sizeof(Shdr), path, "section header");
        if (section.sh_type != SHT_SYMTAB || section.sh_entsize != sizeof(Sym))
            continue;
        if (section.sh_link >= header.e_shnum)
            throw LoadError(path, fmt::format("symbol table links to section {}", section.sh_link));
        const auto strings = readAt<Shdr>(
            file, header.e_shoff + uint64_t{section.sh_link} * sizeof(Shdr), path, "string table");
        const uint64_t count = section.sh_size / sizeof(Sym);
        for (uint64_t n = 1; n < count; ++n) { // entry 0 is the undefined symbol
            const auto sym = readAt<Sym>(file, section.sh_offset + n * sizeof(Sym), path, "symbol");
            const unsigned type = sym.st_info & 0xf; // ELF_ST_TYPE
            if ((type != STT_FUNC && type != STT_OBJECT && type != STT_NOTYPE) ||
                sym.st_shndx == SHN_UNDEF || sym.st_shndx == SHN_ABS)
                continue;
            const uint64_t nameOffset = strings.sh_offset + sym.st_name;
            if (sym.st_name >= strings.sh_size || nameOffset >= file.size())
                throw LoadError(path, fmt::format("symbol {} has name offset {:#x} outside .strtab",
                                                  n, sym.st_name));
            const auto* start = reinterpret_cast<const char*>(file.data() + nameOffset);
            const size_t limit =
                std::min<uint64_t>(strings.sh_size - sym.st_name, file.size() - nameOffset);
            std::string name(start, strnlen(start, limit));
            // Local labels of assembly code (".L...") and empty names are no help to a reader.
            if (name.empty() || name.starts_with(".L"))
                continue;
            table.add({sym.st_value, sym.st_size, std::move(name), type == STT_FUNC});
        }
    }
}

} // namespace

SymbolTable SymbolTable::fromElfFile(const std::string& path) {
    const auto bytes = readFile(path);
    return fromElf(bytes, path);
}

SymbolTable SymbolTable::fromElf(std::span<const uint8_t> file, const std::string& path) {
    if (file.size() < EI_NIDENT || std::memcmp(file.data(), ELFMAG, SELFMAG) != 0)
        throw LoadError(path, "not an ELF file");
    SymbolTable table;
    switch (file[EI_CLASS]) {
    case ELFCLASS32:
        readElfSymbols<Elf32_Ehdr, Elf32_Shdr, Elf32_Sym>(file, path, table);
        break;
    case ELFCLASS64:
        readElfSymbols<Elf64_Ehdr, Elf64_Shdr, Elf64_Sym>(file, path, table);
        break;
    default:
        throw LoadError(
            path, fmt::format("EI_CLASS {} is neither ELFCLASS32 nor ELFCLASS64", file[EI_CLASS]));
    }
    if (table.empty())
        throw LoadError(path, "no symbols in .symtab (was the file stripped?)");
    return table;
}

SymbolTable SymbolTable::fromSystemMapFile(const std::string& path) {
    const auto bytes = readFile(path);
    return fromSystemMap(std::string(bytes.begin(), bytes.end()), path);
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
    const auto bytes = readFile(path);
    if (bytes.size() >= SELFMAG && std::memcmp(bytes.data(), ELFMAG, SELFMAG) == 0)
        return fromElf(bytes, path);
    return fromSystemMap(std::string(bytes.begin(), bytes.end()), path);
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
