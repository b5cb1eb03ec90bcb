#include "boot/ImagePlacement.h"

#include "common/Error.h"

#include <fmt/format.h>

namespace kvmscope::boot {
namespace {

std::string describeRam(const GuestMemory& memory) {
    std::string text;
    for (const auto& region : memory.regions()) {
        if (!text.empty())
            text += " and ";
        text += fmt::format("[{:#x}, {:#x})", region.guestAddress, region.end());
    }
    return "guest RAM is " + text;
}

void checkNotReserved(const std::string& file, const std::string& what, uint64_t start,
                      uint64_t size, const layout::ReservedRange& reserved) {
    if (rangesOverlap(start, size, reserved.start, reserved.end - reserved.start))
        throw LoadError(file,
                        fmt::format("{}: [{:#x}, {:#x}) overlaps {} [{:#x}, {:#x})", what, start,
                                    start + size, reserved.what, reserved.start, reserved.end));
}

} // namespace

bool rangesOverlap(uint64_t aStart, uint64_t aSize, uint64_t bStart, uint64_t bSize) {
    if (aSize == 0 || bSize == 0)
        return false;
    return aStart < bStart + bSize && bStart < aStart + aSize;
}

void checkImagePlacement(const std::string& file, const std::string& what, uint64_t start,
                         uint64_t size, const GuestMemory& memory,
                         std::initializer_list<layout::ReservedRange> alsoReserved) {
    if (size == 0)
        throw LoadError(file, fmt::format("{}: is empty", what));
    if (size > UINT64_MAX - start)
        throw LoadError(file, fmt::format("{}: start {:#x} + size {:#x} wraps around the 64-bit "
                                          "address space",
                                          what, start, size));
    if (!memory.contains(start, size))
        throw LoadError(file, fmt::format("{}: [{:#x}, {:#x}) is outside guest RAM ({})", what,
                                          start, start + size, describeRam(memory)));
    for (const auto& reserved : layout::kReservedForAllImages)
        checkNotReserved(file, what, start, size, reserved);
    for (const auto& reserved : alsoReserved)
        checkNotReserved(file, what, start, size, reserved);
}

AddressFieldsExtent addressFieldsExtent(const std::string& file, const std::string& fields,
                                        uint64_t loadAddress, uint64_t loadEndAddress,
                                        uint64_t bssEndAddress, uint64_t fileOffset,
                                        uint64_t available) {
    AddressFieldsExtent extent;
    extent.loadSize = available; // load_end_addr 0: the rest of the file
    if (loadEndAddress != 0) {
        if (loadEndAddress <= loadAddress)
            throw LoadError(file, fmt::format("{} load_end_addr {:#x} is not above load_addr {:#x}",
                                              fields, loadEndAddress, loadAddress));
        extent.loadSize = loadEndAddress - loadAddress;
        if (extent.loadSize > available)
            throw LoadError(file, fmt::format("{} load_end_addr {:#x} asks for {:#x} bytes from "
                                              "file offset {:#x}, but the file has only {:#x} "
                                              "bytes there",
                                              fields, loadEndAddress, extent.loadSize, fileOffset,
                                              available));
    }
    const uint64_t loadEnd = loadAddress + extent.loadSize;
    extent.end = loadEnd; // bss_end_addr 0: no bss
    if (bssEndAddress != 0) {
        if (bssEndAddress < loadEnd)
            throw LoadError(file, fmt::format("{} bss_end_addr {:#x} is below the end of the "
                                              "loaded bytes {:#x}",
                                              fields, bssEndAddress, loadEnd));
        extent.end = bssEndAddress;
    }
    return extent;
}

} // namespace kvmscope::boot
