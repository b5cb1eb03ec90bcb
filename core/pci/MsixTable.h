#pragma once
// The memory-space half of MSI-X (PCI Local Bus Specification 3.0, 6.8.2 "MSI-X Capability and
// Table Structure"): the table of vectors (16 bytes each: message address, upper address, data,
// vector control) and the pending bit array (PBA), which a function places in one of its BARs,
// and the two bits of the capability's Message Control that govern them (MSI-X Enable, Function
// Mask). What the function does when its logic signals a vector follows 6.8.3.4 "Per-vector
// Masking and Function Masking": a masked vector sets its pending bit instead of sending, and
// sends once unmasked with the bit set, clearing it.
//
// Plain data, no lock: the function that owns it guards it.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace kvmscope::pci {

// What a vector sends: a dword write of `data` at `address` (6.8.2.6-6.8.2.8).
struct MsiMessage {
    uint64_t address = 0;
    uint32_t data = 0;
    bool operator==(const MsiMessage&) const = default;
};

class MsixTable {
public:
    static constexpr unsigned kEntrySize = 16;    // 6.8.2.6
    static constexpr unsigned kMaxVectors = 2048; // Table Size is 11 bits, N - 1
    static constexpr uint32_t kVectorMasked = 1u; // Vector Control bit 0 (6.8.2.9)
    static constexpr unsigned kAddressLow = 0x0;  // bits 1-0 hardwired to 0: dword aligned
    static constexpr unsigned kAddressHigh = 0x4;
    static constexpr unsigned kData = 0x8;
    static constexpr unsigned kVectorControl = 0xc; // bits 31-1 reserved: read 0

    // `vectors` entries (1-2048), each masked after reset, nothing pending.
    explicit MsixTable(unsigned vectors);

    unsigned vectors() const { return static_cast<unsigned>(entries_.size()); }
    uint64_t tableBytes() const { return uint64_t{kEntrySize} * vectors(); }
    uint64_t pbaBytes() const { return (vectors() + 63u) / 64u * 8u; } // whole qwords

    // Accesses of 1-8 bytes at `offset` from the start of the table or the PBA; bytes past the
    // end read 0 and writes there are dropped. A table write returns the vector it changed.
    void readTable(uint64_t offset, std::span<uint8_t> data) const;
    std::optional<unsigned> writeTable(uint64_t offset, std::span<const uint8_t> data);
    // The PBA is read-only (6.8.2.10: software writes are ignored).
    void readPba(uint64_t offset, std::span<uint8_t> data) const;

    // Message Control's MSI-X Enable and Function Mask bits, as the capability holds them.
    void setControl(bool enabled, bool functionMasked);
    bool enabled() const { return enabled_; }
    bool functionMasked() const { return functionMasked_; }
    bool vectorMasked(unsigned vector) const;
    bool pending(unsigned vector) const;
    MsiMessage message(unsigned vector) const;

    // The function's logic signals `vector`: the message to send now, or nothing (the vector or
    // the function is masked: its pending bit is set instead; or `vector` is out of range). Only
    // meaningful while enabled(): a disabled function interrupts through INTx instead.
    std::optional<MsiMessage> signal(unsigned vector);
    // Vectors that are pending and no longer masked, their pending bits cleared: the caller sends
    // their messages now (after an unmask in the table or in Message Control).
    std::vector<unsigned> takeDeliverable();
    // Back to the state after reset (every vector masked, nothing pending, disabled).
    void reset();
    // A restore's: the PBA as readPba gives it (bits past the last vector ignored), without
    // sending anything; the caller calls takeDeliverable when the function may send again.
    void restorePba(std::span<const uint8_t> pba);

private:
    struct Entry {
        uint32_t addressLow = 0;
        uint32_t addressHigh = 0;
        uint32_t data = 0;
        uint32_t control = kVectorMasked;
        bool pending = false;
    };
    static uint32_t field(const Entry& entry, unsigned offset);

    std::vector<Entry> entries_;
    bool enabled_ = false;
    bool functionMasked_ = false;
};

} // namespace kvmscope::pci
