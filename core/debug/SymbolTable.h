#pragma once
// Guest symbols for the debugger: function and object addresses from the guest's ELF symbol
// table (.symtab, 32- or 64-bit) or from a System.map ("address type name" per line, as the Linux
// build writes it). Answers address → "function+offset" and name → address.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace kvmscope::debug {

struct Symbol {
    uint64_t address = 0;
    uint64_t size = 0; // 0 when unknown (System.map has no sizes)
    std::string name;
    bool function = false; // STT_FUNC, or a System.map text symbol (t/T)
};

class SymbolTable {
public:
    // Throws LoadError(path, ...) when the file cannot be read or has no usable symbols.
    static SymbolTable fromElfFile(const std::string& path);
    static SymbolTable fromElf(std::span<const uint8_t> file, const std::string& path);
    static SymbolTable fromSystemMapFile(const std::string& path);
    static SymbolTable fromSystemMap(const std::string& text, const std::string& path);
    // ELF when the file starts with the ELF magic, System.map otherwise.
    static SymbolTable load(const std::string& path);

    void add(Symbol symbol); // keeps the table sorted
    const std::vector<Symbol>& symbols() const { return symbols_; }
    bool empty() const { return symbols_.empty(); }

    // The symbol that contains `address`: the closest one at or below it, within its size when
    // the size is known. nullptr when none.
    const Symbol* containing(uint64_t address) const;
    // "name+0x12", "name" at offset 0, or "" when no symbol contains the address.
    std::string describe(uint64_t address) const;
    std::optional<uint64_t> addressOf(const std::string& name) const;

private:
    std::vector<Symbol> symbols_; // sorted by address
};

} // namespace kvmscope::debug
