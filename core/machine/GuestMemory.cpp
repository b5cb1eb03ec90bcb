#include "machine/GuestMemory.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <sys/mman.h>

namespace kvmscope {

GuestMemoryError::GuestMemoryError(uint64_t address, uint64_t length, const std::string& what)
    : Error(fmt::format("guest-physical access [{:#x}, +{:#x}) {}", address, length, what)),
      address_(address), length_(length) {}

GuestMemory::GuestMemory(uint64_t ramSize) : ramSize_(ramSize) {
    if (ramSize < kMinRamSize || ramSize > kMaxRamSize)
        throw InputError(
            fmt::format("memory size {:#x} is out of range (1 MiB to 1 TiB)", ramSize));
    if (ramSize % 4096 != 0)
        throw InputError(fmt::format("memory size {:#x} is not a multiple of 4 KiB", ramSize));

    void* mapping = mmap(nullptr, ramSize, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mapping == MAP_FAILED)
        throw Error(fmt::format("cannot reserve {} MiB of guest memory: {}", ramSize >> 20,
                                std::strerror(errno)));
    mapping_ = static_cast<uint8_t*>(mapping);
    // Guest RAM is large and mostly untouched: ask for transparent huge pages and keep it out of
    // core dumps of kvmscope itself.
    madvise(mapping_, ramSize, MADV_HUGEPAGE);
    madvise(mapping_, ramSize, MADV_DONTDUMP);

    const uint64_t low = std::min(ramSize, kMmioHoleStart);
    regions_.push_back({0, low, mapping_, "ram-low"});
    if (ramSize > low)
        regions_.push_back({kMmioHoleEnd, ramSize - low, mapping_ + low, "ram-high"});
}

GuestMemory::~GuestMemory() {
    if (mapping_)
        munmap(mapping_, ramSize_);
}

const MemoryRegion* GuestMemory::find(uint64_t address, uint64_t length) const {
    if (length == 0)
        return nullptr;
    for (const auto& region : regions_) {
        // Written so that address + length never overflows.
        if (address >= region.guestAddress && address - region.guestAddress < region.size &&
            length <= region.size - (address - region.guestAddress))
            return &region;
    }
    return nullptr;
}

bool GuestMemory::contains(uint64_t address, uint64_t length) const {
    return find(address, length) != nullptr;
}

std::span<uint8_t> GuestMemory::span(uint64_t address, uint64_t length) {
    const MemoryRegion* region = find(address, length);
    if (!region)
        throw GuestMemoryError(address, length, "is outside guest RAM");
    return {region->host + (address - region->guestAddress), static_cast<size_t>(length)};
}

std::span<const uint8_t> GuestMemory::span(uint64_t address, uint64_t length) const {
    return const_cast<GuestMemory*>(this)->span(address, length);
}

void GuestMemory::read(uint64_t address, void* destination, uint64_t length) const {
    if (length == 0)
        return;
    const auto source = span(address, length);
    std::memcpy(destination, source.data(), source.size());
}

void GuestMemory::write(uint64_t address, const void* source, uint64_t length) {
    if (length == 0)
        return;
    const auto destination = span(address, length);
    std::memcpy(destination.data(), source, destination.size());
}

void GuestMemory::fill(uint64_t address, uint8_t value, uint64_t length) {
    if (length == 0)
        return;
    const auto destination = span(address, length);
    std::memset(destination.data(), value, destination.size());
}

uint64_t GuestMemory::lowRamEnd() const {
    return regions_.front().end();
}

} // namespace kvmscope
