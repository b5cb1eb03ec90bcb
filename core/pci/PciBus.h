#pragma once
// PCI bus 0 and the two ways software reaches its configuration spaces:
//  * configuration mechanism #1 (PCI Local Bus Specification 3.0, 3.2.2.3.2): CONFIG_ADDRESS, the
//    dword at port 0xCF8 (bit 31 enable, 23-16 bus, 15-11 device, 10-8 function, 7-2 register),
//    then CONFIG_DATA at 0xCFC-0xCFF, read or written a byte, word or dword at a time at the
//    offset of the byte within the register's dword. Only a dword access reaches CONFIG_ADDRESS:
//    a byte at 0xCF9 is the reset control register, and narrower accesses to 0xCF8 are counted
//    and dropped (reads return all ones), as on the PIIX, which passes them on to ISA.
//  * the enhanced configuration access mechanism (ECAM, "MMCONFIG": PCI Express Base
//    Specification 4.0, 7.2.2): a memory window in which function f of device d on bus b has its
//    space at (b << 20 | d << 15 | f << 12). Both reach the same spaces; a conventional
//    function has 256 bytes, and the rest of its 4 KiB reads as all ones.
// A configuration read of a function that does not exist returns all ones (3.2.2.3.4: a master
// abort, which the host bridge turns into 0xFFFFFFFF).
//
// The bus also places the functions' BARs: a range is decoded only where it lies clear of RAM,
// the platform's fixed addresses and every other device's range, else refused (the function
// keeps the register value and does not decode it); and it wires each function's INTx# to its
// PIRQ line (PciIntxRouter).
//
// Locking: the function table is filled while the machine is assembled and only read after;
// CONFIG_ADDRESS is one atomic register (two vcpus racing on it race on real hardware too, which
// is why OSes take a lock around the two accesses).
#include "devices/EmulatedDevice.h"
#include "machine/AddressBus.h"
#include "machine/BusDevice.h"
#include "pci/PciFunction.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string_view>
#include <vector>

namespace kvmscope::pci {

class PciIntxRouter;

// An address range no BAR may take: [start, end), with what it is for the log.
struct ReservedRange {
    uint64_t start;
    uint64_t end;
    std::string what;
};

class PciBus final : public PciBusLink, public EmulatedDevice {
public:
    // CONFIG_ADDRESS (3.2.2.3.2, figure 3-1).
    static constexpr uint32_t kConfigEnable = 1u << 31;
    static constexpr uint32_t kConfigAddressBits = 0x80ff'fffc; // 30-24 and 1-0 read as 0
    static constexpr uint64_t kDataPortCount = 4;
    static constexpr uint64_t kEcamBytesPerBus = 1u << 20;
    static constexpr uint64_t kEcamBytesPerFunction = 1u << 12;

    static constexpr uint32_t kRegistersGroup = 0;
    static constexpr uint32_t kStatisticsGroup = 1;

    // BARs go on `ioBus` and `mmioBus`, never over the reserved ranges; INTx# goes to `router`
    // (may be null: no interrupts). `ecamBuses` is how many buses the ECAM window covers.
    PciBus(AddressBus& ioBus, AddressBus& mmioBus, PciIntxRouter* router,
           std::vector<ReservedRange> reservedIo, std::vector<ReservedRange> reservedMmio,
           unsigned ecamBuses);
    ~PciBus() override;

    std::string name() const override { return "PCI bus 0 (configuration mechanism #1, ECAM)"; }

    // Puts `function` at device `device`, function `functionNumber` of bus 0, before the vcpus
    // run. Throws Error when the place is taken or out of range.
    void add(unsigned device, unsigned functionNumber, PciFunction& function);
    PciFunction* function(unsigned bus, unsigned device, unsigned functionNumber) const;
    std::vector<PciFunction*> functions() const;

    // A configuration access; `offset` < 4096, `size` 1, 2 or 4. Beyond a function's 256 bytes,
    // or without a function there, reads return all ones and writes are dropped.
    uint32_t configRead(unsigned bus, unsigned device, unsigned functionNumber, unsigned offset,
                        unsigned size);
    void configWrite(unsigned bus, unsigned device, unsigned functionNumber, unsigned offset,
                     uint32_t value, unsigned size);

    // The bus devices to register: CONFIG_ADDRESS (one port, 0xCF8), CONFIG_DATA (four ports,
    // 0xCFC) and the ECAM window (ecamSize() bytes).
    BusDevice& addressPort() { return addressPort_; }
    BusDevice& dataPort() { return dataPort_; }
    BusDevice& ecam() { return ecam_; }
    uint64_t ecamSize() const { return uint64_t{ecamBuses_} * kEcamBytesPerBus; }
    uint32_t configAddress() const { return configAddress_.load(); }

    // PciBusLink.
    std::string mapBar(PciFunction& function, BarKind kind, uint64_t base, uint64_t size,
                       BusDevice& window) override;
    void unmapBar(PciFunction& function, BarKind kind, uint64_t base, BusDevice& window) override;
    void intxChanged(PciFunction& function, bool asserted) override;

protected:
    void describeState(StateVisitor& state) override;
    std::mutex& stateMutex() const override { return mutex_; }

private:
    struct Port : BusDevice {
        PciBus* bus = nullptr;
        void (PciBus::*onRead)(uint64_t, std::span<uint8_t>) = nullptr;
        void (PciBus::*onWrite)(uint64_t, std::span<const uint8_t>) = nullptr;
        void read(uint64_t offset, std::span<uint8_t> data) override {
            (bus->*onRead)(offset, data);
        }
        void write(uint64_t offset, std::span<const uint8_t> data) override {
            (bus->*onWrite)(offset, data);
        }
    };
    void addressRead(uint64_t offset, std::span<uint8_t> data);
    void addressWrite(uint64_t offset, std::span<const uint8_t> data);
    void dataRead(uint64_t offset, std::span<uint8_t> data);
    void dataWrite(uint64_t offset, std::span<const uint8_t> data);
    void ecamRead(uint64_t offset, std::span<uint8_t> data);
    void ecamWrite(uint64_t offset, std::span<const uint8_t> data);
    void count(uint64_t& counter);

    AddressBus& ioBus_;
    AddressBus& mmioBus_;
    PciIntxRouter* router_;
    std::vector<ReservedRange> reservedIo_;
    std::vector<ReservedRange> reservedMmio_;
    unsigned ecamBuses_;
    std::array<PciFunction*, kDevicesPerBus * kFunctionsPerDevice> functions_{};
    Port addressPort_;
    Port dataPort_;
    Port ecam_;
    std::atomic<uint32_t> configAddress_{0};

    mutable std::mutex mutex_; // the counters
    uint64_t oddAddressAccesses_ = 0;
    uint64_t absentFunctionAccesses_ = 0;
    uint64_t mechanism1Accesses_ = 0;
    uint64_t ecamAccesses_ = 0;
};

} // namespace kvmscope::pci
