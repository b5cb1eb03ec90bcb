#pragma once
// The "go to" field of the debugger views: an address written as a number ("0x1000", "4096"), a
// register ("rip", "rsp", "cr3", gdb's "$rip" too), a symbol ("add_step"), or a sum of these
// ("rsp+0x10", "add_step+4", "rbp-8"). Registers are looked up first, then symbols, so a guest
// symbol named like a register is reached with its address.
#include <QString>
#include <cstdint>
#include <functional>
#include <optional>

namespace kvmscope::debug {
class SymbolTable;
}

namespace kvmscope::ui {

// The value of a register by its lower-case name, nullopt when there is no such register (or no
// state to read it from).
using RegisterLookup = std::function<std::optional<uint64_t>(const QString& name)>;

// Evaluates `text`; throws InputError with a message naming the part it could not read.
uint64_t evaluateGoTo(const QString& text, const RegisterLookup& registers,
                      const debug::SymbolTable* symbols);

} // namespace kvmscope::ui
