#pragma once
// One function of a PCI device (PCI Local Bus Specification 3.0): its configuration space with
// the type 0 header (6.1, 6.2), its base address registers (6.2.5.1) and its INTx# pin (2.2.6,
// 6.2.4). A device class derives from it, says who it is (PciIdentity), declares its BARs and
// answers their accesses (barRead/barWrite), and adds the registers of its own in the
// device-specific part of the space (0x40-0xff).
//
// What the base class does as the hardware would:
// * Configuration writes change only the bits software may write; the status register's error
//   bits are write 1 to clear; identification registers are read-only.
// * BAR sizing: a BAR's low address bits below its size are hardwired to 0, so writing all ones
//   reads back the size mask with the type bits (6.2.5.1, "Address Map").
// * A BAR is decoded only while the command register's I/O space (I/O BARs) or memory space
//   (memory BARs) bit is set and its address is not 0, and only where the bus lets it: the bus
//   (PciBus) refuses a range over RAM, the platform's fixed addresses or another device's range,
//   and the BAR then stays undecoded (shown as such, counted, logged) until the guest moves it.
// * INTx#: the device's logic raises and lowers its pin with setIntx; the status register's
//   interrupt bit follows it, the command register's interrupt-disable bit keeps it off the bus.
//
// Locking: one mutex per function guards the configuration space and the BAR state; the bus is
// told of BAR moves and INTx changes with it held (lock order: function, then bus, router and
// AddressBus). A BAR's accesses reach barRead/barWrite without it: a device class takes it (or
// its own) there.
#include "devices/EmulatedDevice.h"
#include "machine/BusDevice.h"
#include "pci/PciCapabilities.h"
#include "pci/PciConfigSpace.h"

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>

namespace kvmscope::pci {

class PciFunction;

// Who a function is (6.2.1).
struct PciIdentity {
    uint16_t vendorId = 0xffff;
    uint16_t deviceId = 0xffff;
    uint32_t classCode = 0; // base class << 16 | sub-class << 8 | programming interface
    uint8_t revisionId = 0;
    uint8_t headerType = kHeaderTypeNormal; // bit 7: multi-function device
    uint16_t subsystemVendorId = 0;
    uint16_t subsystemId = 0;
    uint8_t interruptPin = kInterruptPinNone; // 1-4: INTA#-INTD#
};

enum class BarKind : uint8_t { Io, Memory32, Memory64 };

struct BarSpec {
    BarKind kind = BarKind::Memory32;
    uint64_t size = 0; // a power of two: I/O 4-256 bytes, memory at least 16 bytes
    bool prefetchable = false;
};

const char* toString(BarKind kind);

// What a function needs of the bus it sits on (PciBus implements it).
class PciBusLink {
public:
    virtual ~PciBusLink() = default;
    // Starts decoding [base, base + size) for the function's BAR; returns "" when done, else
    // why the range cannot be decoded there.
    virtual std::string mapBar(PciFunction& function, BarKind kind, uint64_t base, uint64_t size,
                               BusDevice& window) = 0;
    virtual void unmapBar(PciFunction& function, BarKind kind, uint64_t base,
                          BusDevice& window) = 0;
    // The function's INTx# output changed (asserted: true).
    virtual void intxChanged(PciFunction& function, bool asserted) = 0;
};

class PciFunction : public EmulatedDevice {
public:
    // Attribute groups; a device class numbers its own from kFirstDeviceGroup.
    static constexpr uint32_t kIdentityGroup = 0;
    static constexpr uint32_t kRegistersGroup = 1;
    static constexpr uint32_t kBarsGroup = 2;
    static constexpr uint32_t kConfigSpaceGroup = 3;
    static constexpr uint32_t kStatisticsGroup = 4;
    static constexpr uint32_t kFirstDeviceGroup = 5;

    PciFunction(std::string name, const PciIdentity& identity);
    ~PciFunction() override;
    PciFunction(const PciFunction&) = delete;
    PciFunction& operator=(const PciFunction&) = delete;

    // "<what it is> (PCI 00:DD.F)" once on a bus.
    std::string name() const override;

    // A configuration access of `size` bytes (1, 2 or 4) at `offset` (< 256), from the bus.
    uint32_t configRead(unsigned offset, unsigned size);
    void configWrite(unsigned offset, uint32_t value, unsigned size);

    // Called once by the bus that takes the function, with its device and function number.
    void attach(PciBusLink& bus, uint8_t devfn);
    uint8_t devfn() const { return devfn_; }
    // The device's INTx# pin as its logic drives it (level-triggered, 2.2.6).
    void setIntx(bool asserted);
    uint8_t interruptPin() const { return interruptPin_; }

    // For tests and the device tree: where BAR `index` is decoded now, if it is.
    std::optional<uint64_t> decodedBar(unsigned index) const;
    uint64_t refusedPlacements() const;

protected:
    // Declares BAR `index` (a 64-bit BAR takes `index + 1` too); in the constructor only.
    void addBar(unsigned index, const BarSpec& spec);
    // A BAR's accesses, `offset` from its decoded base; without the function's lock.
    virtual void barRead(unsigned index, uint64_t offset, std::span<uint8_t> data);
    virtual void barWrite(unsigned index, uint64_t offset, std::span<const uint8_t> data);
    // After a configuration write (guest or attribute) that touched [offset, offset + size),
    // with the lock held: a device class applies its registers' side effects here.
    virtual void afterConfigWrite(unsigned offset, unsigned size);
    // Before a guest's configuration read of [offset, offset + size), with the lock held: for a
    // register whose value comes from elsewhere (a window onto a BAR).
    virtual void beforeConfigRead(unsigned offset, unsigned size);
    // BAR `index` is now decoded at `base`, or no longer decoded (nullopt): after the bus mapped
    // or unmapped its window, with the lock held. For what follows a BAR besides its window: a
    // framebuffer that is a memslot of its own, a device's ioeventfds.
    virtual void afterBarMove(unsigned index, std::optional<uint64_t> base);
    // Appends a capability to the list (6.7; PciCapabilities.h); in the constructor only.
    unsigned addCapability(uint8_t id, std::span<const uint8_t> body,
                           std::span<const uint8_t> writable = {});
    const PciCapabilityList& capabilities() const { return capabilities_; }
    // setIntx with the lock already held (from a BAR access or a hook).
    void setIntxLocked(bool asserted);
    // The device class's own registers, in groups from kFirstDeviceGroup; with the lock held.
    virtual void describeDeviceState(StateVisitor& state);
    // After a restore, with the lock held, once every field is in and before the BARs are
    // decoded again: the device class recomputes what follows from its fields (the state a
    // register write would have set up). May throw AttributeError for fields that cannot go
    // together; the restore then fails and the machine is discarded.
    virtual void afterDeviceRestore();

    // The configuration space, for the constructor and the hooks above (lock held).
    PciConfigSpace& config() { return config_; }
    const PciConfigSpace& config() const { return config_; }
    std::mutex& stateMutex() const final { return mutex_; }
    // A configuration write as the guest's, with the lock held (for attribute setters).
    void configWriteLocked(unsigned offset, uint32_t value, unsigned size);
    // A scalar attribute written through the configuration space: `size` bytes at `offset`,
    // refused when it changes a bit software cannot write.
    void configField(StateVisitor& state, std::string_view name, unsigned offset, unsigned size,
                     std::string_view description);

private:
    void describeState(StateVisitor& state) final;
    void afterRestore() final;

    struct BarWindow final : BusDevice {
        PciFunction* function = nullptr;
        unsigned index = 0;
        void read(uint64_t offset, std::span<uint8_t> data) override {
            function->barRead(index, offset, data);
        }
        void write(uint64_t offset, std::span<const uint8_t> data) override {
            function->barWrite(index, offset, data);
        }
    };
    struct Bar {
        std::optional<BarSpec> spec;  // empty: not implemented (or the upper half of a 64-bit)
        std::optional<uint64_t> base; // where it is decoded now
        // Where the bus last refused it: retried on every update (what was in the way may have
        // moved), counted and logged once per address.
        std::optional<uint64_t> refusedAt;
        BarWindow window;
    };

    uint64_t barAddress(unsigned index) const; // as the registers say, type bits cleared
    // Brings the decoded ranges in line with the registers and the command register.
    void updateBars();
    void updateIntx();

    std::string name_;
    mutable std::mutex mutex_;
    PciConfigSpace config_;
    PciCapabilityList capabilities_{config_};
    std::array<Bar, kBarCount> bars_;
    PciBusLink* bus_ = nullptr;
    uint8_t devfn_ = 0;
    bool attached_ = false;
    uint8_t interruptPin_ = 0;
    bool intxLevel_ = false;     // the device logic's INTx# level
    bool intxSignalled_ = false; // what the bus was told (level and not disabled)
    uint64_t configReads_ = 0;
    uint64_t configWrites_ = 0;
    uint64_t refusedPlacements_ = 0;
    std::string lastRefusal_;
};

} // namespace kvmscope::pci
