#include "inspect/GuestView.h"

#include "debug/Debugger.h"
#include "machine/Machine.h"

#include <algorithm>
#include <memory>

namespace kvmscope::inspect {

GuestView GuestView::ofBytes(uint64_t base, std::vector<uint8_t> bytes,
                             const debug::SymbolTable* symbols) {
    // Shared: a GuestView is copied into every view that holds one.
    auto ram = std::make_shared<const std::vector<uint8_t>>(std::move(bytes));
    auto physical = [base, ram](uint64_t address, void* destination, size_t length) {
        if (address < base || address - base > ram->size() ||
            length > ram->size() - (address - base))
            return false;
        std::copy_n(ram->data() + (address - base), length, static_cast<uint8_t*>(destination));
        return true;
    };
    return GuestView(debug::AddressSpace(std::move(physical), {}, symbols));
}

GuestView guestViewOf(Machine& machine) {
    return GuestView(machine.debugger().guest().space());
}

} // namespace kvmscope::inspect
