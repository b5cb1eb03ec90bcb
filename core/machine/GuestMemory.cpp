#include "machine/GuestMemory.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <sys/mman.h>

namespace kvmscope {
namespace {

constexpr uint64_t kHugePageSize = 2ull << 20;

} // namespace

GuestMemoryError::GuestMemoryError(uint64_t address, uint64_t length, const std::string& what)
    : Error(fmt::format("guest-physical access [{:#x}, +{:#x}) {}", address, length, what)),
      address_(address), length_(length) {}

GuestMemory::GuestMemory(uint64_t ramSize) : ramSize_(ramSize) {
    if (ramSize < kMinRamSize || ramSize > kMaxRamSize)
        throw InputError(
            fmt::format("memory size {:#x} is out of range (1 MiB to 1 TiB)", ramSize));
    if (ramSize % 4096 != 0)
        throw InputError(fmt::format("memory size {:#x} is not a multiple of 4 KiB", ramSize));

    // Host addresses congruent to guest-physical ones modulo 2 MiB, so that a transparent huge
    // page of the host can back a 2 MiB page of the guest (KVM maps a guest large page only
    // when both sides line up): reserve 2 MiB more, then trim both ends.
    const uint64_t reserved = ramSize + kHugePageSize;
    void* mapping = mmap(nullptr, reserved, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mapping == MAP_FAILED)
        throw Error(fmt::format("cannot reserve {} MiB of guest memory: {}", ramSize >> 20,
                                std::strerror(errno)));
    const auto base = reinterpret_cast<uintptr_t>(mapping);
    const uintptr_t aligned = (base + kHugePageSize - 1) & ~uintptr_t{kHugePageSize - 1};
    if (aligned > base)
        munmap(mapping, aligned - base);
    if (const uint64_t tail = base + reserved - (aligned + ramSize); tail > 0)
        munmap(reinterpret_cast<void*>(aligned + ramSize), tail);
    mapping_ = reinterpret_cast<uint8_t*>(aligned);
    // Guest RAM is large and mostly untouched: ask for transparent huge pages, except for the
    // first 2 MiB, where the boot tables, the real-mode area and the BIOS data area lie a few
    // KiB apart (one huge page there would turn them into 2 MiB of resident memory for every
    // guest). Keep guest RAM out of core dumps of kvmscope itself, and out of any child it
    // forks (a fork would otherwise copy the page tables of every page the guest touched;
    // kvm/ExitTeardown.h forks at exit).
    madvise(mapping_, ramSize, MADV_HUGEPAGE);
    madvise(mapping_, std::min<uint64_t>(ramSize, kHugePageSize), MADV_NOHUGEPAGE);
    madvise(mapping_, ramSize, MADV_DONTDUMP);
    madvise(mapping_, ramSize, MADV_DONTFORK);

    uint64_t offset = 0;
    for (const Placement& placement : layout(ramSize)) {
        regions_.push_back({placement.guestAddress, placement.size, mapping_ + offset,
                            placement.guestAddress == 0 ? "ram-low" : "ram-high"});
        offset += placement.size;
    }
}

std::vector<GuestMemory::Placement> GuestMemory::layout(uint64_t ramSize) {
    const uint64_t low = std::min(ramSize, kMmioHoleStart);
    std::vector<Placement> placements{{0, low}};
    if (ramSize > low)
        placements.push_back({kMmioHoleEnd, ramSize - low});
    return placements;
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
