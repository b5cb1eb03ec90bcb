#pragma once
// Guest RAM: anonymous host memory mapped into the guest's physical address space, split around
// the 32-bit PCI/MMIO hole, with one audited accessor for every host-side access to it.
#include "common/Error.h"
#include "machine/PcPlatform.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace kvmscope {

// A guest-physical access that does not lie entirely inside guest RAM.
class GuestMemoryError : public Error {
public:
    GuestMemoryError(uint64_t address, uint64_t length, const std::string& what);
    uint64_t address() const { return address_; }
    uint64_t length() const { return length_; }

private:
    uint64_t address_;
    uint64_t length_;
};

// One contiguous range of guest-physical memory backed by host memory (one KVM memslot).
struct MemoryRegion {
    uint64_t guestAddress = 0;
    uint64_t size = 0;
    uint8_t* host = nullptr;
    std::string name;

    uint64_t end() const { return guestAddress + size; } // exclusive
};

class GuestMemory {
public:
    // The 32-bit hole for PCI and MMIO devices (IOAPIC, LAPIC, framebuffer): RAM that would lie
    // in [3 GiB, 4 GiB) is placed above 4 GiB instead, as PC firmware does (machine/PcPlatform.h).
    static constexpr uint64_t kMmioHoleStart = pc::kMmioHoleStart;
    static constexpr uint64_t kMmioHoleEnd = pc::kMmioHoleEnd;
    static constexpr uint64_t kMinRamSize = 1ull << 20;
    static constexpr uint64_t kMaxRamSize = 1ull << 40; // 1 TiB; reserved lazily

    // Reserves `ramSize` bytes (a multiple of 4 KiB) with MAP_NORESERVE; pages are only backed
    // when touched. Throws InputError for a size out of range, Error when mmap fails.
    explicit GuestMemory(uint64_t ramSize);
    ~GuestMemory();
    GuestMemory(const GuestMemory&) = delete;
    GuestMemory& operator=(const GuestMemory&) = delete;

    // Where `ramSize` bytes of RAM go in guest-physical memory, as GuestMemory(ramSize) maps
    // them: [0, min(ramSize, kMmioHoleStart)), then the rest from kMmioHoleEnd on. Maps nothing.
    struct Placement {
        uint64_t guestAddress = 0;
        uint64_t size = 0;
    };
    static std::vector<Placement> layout(uint64_t ramSize);

    uint64_t ramSize() const { return ramSize_; }
    // RAM regions in ascending guest address order: below the hole, then above 4 GiB.
    const std::vector<MemoryRegion>& regions() const { return regions_; }

    // True when [address, address + length) lies inside one region (length 0 is never inside).
    bool contains(uint64_t address, uint64_t length) const;
    // Host view of [address, address + length); throws GuestMemoryError unless contains().
    std::span<uint8_t> span(uint64_t address, uint64_t length);
    std::span<const uint8_t> span(uint64_t address, uint64_t length) const;

    void read(uint64_t address, void* destination, uint64_t length) const;
    void write(uint64_t address, const void* source, uint64_t length);
    void fill(uint64_t address, uint8_t value, uint64_t length);

    template <typename T> T readValue(uint64_t address) const {
        static_assert(std::is_trivially_copyable_v<T>);
        T value;
        read(address, &value, sizeof value);
        return value;
    }
    template <typename T> void writeValue(uint64_t address, const T& value) {
        static_assert(std::is_trivially_copyable_v<T>);
        write(address, &value, sizeof value);
    }

    // The largest address + 1 of RAM below 4 GiB (for e820 / multiboot mem_upper).
    uint64_t lowRamEnd() const;

private:
    const MemoryRegion* find(uint64_t address, uint64_t length) const;

    uint64_t ramSize_;
    uint8_t* mapping_ = nullptr;
    std::vector<MemoryRegion> regions_;
};

} // namespace kvmscope
