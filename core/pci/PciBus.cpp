#include "pci/PciBus.h"

#include "pci/PciIntxRouter.h"

#include <algorithm>
#include <fmt/format.h>

namespace kvmscope::pci {
namespace {

uint32_t littleEndian(std::span<const uint8_t> data) {
    uint32_t value = 0;
    for (size_t i = 0; i < data.size() && i < 4; ++i)
        value |= uint32_t{data[i]} << (8 * i);
    return value;
}

void store(std::span<uint8_t> data, uint32_t value) {
    for (size_t i = 0; i < data.size(); ++i)
        data[i] = i < 4 ? static_cast<uint8_t>(value >> (8 * i)) : 0xff;
}

} // namespace

PciBus::PciBus(AddressBus& ioBus, AddressBus& mmioBus, PciIntxRouter* router,
               std::vector<ReservedRange> reservedIo, std::vector<ReservedRange> reservedMmio,
               unsigned ecamBuses)
    : ioBus_(ioBus), mmioBus_(mmioBus), router_(router), reservedIo_(std::move(reservedIo)),
      reservedMmio_(std::move(reservedMmio)), ecamBuses_(std::clamp(ecamBuses, 1u, 256u)) {
    addressPort_ = {};
    addressPort_.bus = this;
    addressPort_.onRead = &PciBus::addressRead;
    addressPort_.onWrite = &PciBus::addressWrite;
    dataPort_.bus = this;
    dataPort_.onRead = &PciBus::dataRead;
    dataPort_.onWrite = &PciBus::dataWrite;
    ecam_.bus = this;
    ecam_.onRead = &PciBus::ecamRead;
    ecam_.onWrite = &PciBus::ecamWrite;
}

PciBus::~PciBus() = default;

void PciBus::add(unsigned device, unsigned functionNumber, PciFunction& function) {
    if (device >= kDevicesPerBus || functionNumber >= kFunctionsPerDevice)
        throw Error(fmt::format("PCI: {} cannot go at {:02x}.{}: 32 devices of 8 functions",
                                function.name(), device, functionNumber));
    PciFunction*& slot = functions_[devfn(device, functionNumber)];
    if (slot)
        throw Error(fmt::format("PCI: {} cannot go at 00:{:02x}.{}: {} is there", function.name(),
                                device, functionNumber, slot->name()));
    slot = &function;
    function.attach(*this, devfn(device, functionNumber));
}

PciFunction* PciBus::function(unsigned bus, unsigned device, unsigned functionNumber) const {
    if (bus != 0 || device >= kDevicesPerBus || functionNumber >= kFunctionsPerDevice)
        return nullptr;
    return functions_[devfn(device, functionNumber)];
}

std::vector<PciFunction*> PciBus::functions() const {
    std::vector<PciFunction*> list;
    for (PciFunction* function : functions_)
        if (function)
            list.push_back(function);
    return list;
}

void PciBus::count(uint64_t& counter) {
    std::lock_guard lock(mutex_);
    ++counter;
}

uint32_t PciBus::configRead(unsigned bus, unsigned device, unsigned functionNumber, unsigned offset,
                            unsigned size) {
    PciFunction* target = function(bus, device, functionNumber);
    if (!target) {
        count(absentFunctionAccesses_);
        return 0xffff'ffff;
    }
    if (offset >= kConfigSpaceSize)
        return 0xffff'ffff;
    return target->configRead(offset, size);
}

void PciBus::configWrite(unsigned bus, unsigned device, unsigned functionNumber, unsigned offset,
                         uint32_t value, unsigned size) {
    PciFunction* target = function(bus, device, functionNumber);
    if (!target) {
        count(absentFunctionAccesses_);
        return;
    }
    if (offset < kConfigSpaceSize)
        target->configWrite(offset, value, size);
}

// CONFIG_ADDRESS: a dword at 0xCF8 only.
void PciBus::addressRead(uint64_t offset, std::span<uint8_t> data) {
    if (offset != 0 || data.size() != 4) {
        count(oddAddressAccesses_);
        store(data, 0xffff'ffff);
        return;
    }
    store(data, configAddress_.load());
}

void PciBus::addressWrite(uint64_t offset, std::span<const uint8_t> data) {
    if (offset != 0 || data.size() != 4) {
        count(oddAddressAccesses_);
        return;
    }
    configAddress_.store(littleEndian(data) & kConfigAddressBits);
}

// CONFIG_DATA: the byte lanes 0xCFC-0xCFF select the bytes of the addressed dword.
void PciBus::dataRead(uint64_t offset, std::span<uint8_t> data) {
    const uint32_t address = configAddress_.load();
    const size_t size =
        std::min<size_t>(data.size(), kDataPortCount - std::min(offset, kDataPortCount));
    if (!(address & kConfigEnable) || size == 0) {
        store(data, 0xffff'ffff);
        return;
    }
    count(mechanism1Accesses_);
    const uint32_t value =
        configRead((address >> 16) & 0xff, (address >> 11) & 0x1f, (address >> 8) & 0x7,
                   (address & 0xfc) + static_cast<unsigned>(offset), static_cast<unsigned>(size));
    store(data.first(size), value);
    store(data.subspan(size), 0xffff'ffff);
}

void PciBus::dataWrite(uint64_t offset, std::span<const uint8_t> data) {
    const uint32_t address = configAddress_.load();
    const size_t size =
        std::min<size_t>(data.size(), kDataPortCount - std::min(offset, kDataPortCount));
    if (!(address & kConfigEnable) || size == 0)
        return;
    count(mechanism1Accesses_);
    configWrite((address >> 16) & 0xff, (address >> 11) & 0x1f, (address >> 8) & 0x7,
                (address & 0xfc) + static_cast<unsigned>(offset), littleEndian(data.first(size)),
                static_cast<unsigned>(size));
}

// ECAM: each access stays within its function's 4 KiB; an 8-byte access is two dwords.
void PciBus::ecamRead(uint64_t offset, std::span<uint8_t> data) {
    count(ecamAccesses_);
    for (size_t done = 0; done < data.size();) {
        const uint64_t at = offset + done;
        const uint64_t inFunction = at % kEcamBytesPerFunction;
        const size_t size = std::min<size_t>(
            {data.size() - done, 4, static_cast<size_t>(kEcamBytesPerFunction - inFunction)});
        const uint32_t value =
            at >= ecamSize()
                ? 0xffff'ffff
                : configRead(static_cast<unsigned>(at >> 20), (at >> 15) & 0x1f, (at >> 12) & 0x7,
                             static_cast<unsigned>(inFunction), static_cast<unsigned>(size));
        store(data.subspan(done, size), value);
        done += size;
    }
}

void PciBus::ecamWrite(uint64_t offset, std::span<const uint8_t> data) {
    count(ecamAccesses_);
    for (size_t done = 0; done < data.size();) {
        const uint64_t at = offset + done;
        const uint64_t inFunction = at % kEcamBytesPerFunction;
        const size_t size = std::min<size_t>(
            {data.size() - done, 4, static_cast<size_t>(kEcamBytesPerFunction - inFunction)});
        if (at < ecamSize())
            configWrite(static_cast<unsigned>(at >> 20), (at >> 15) & 0x1f, (at >> 12) & 0x7,
                        static_cast<unsigned>(inFunction), littleEndian(data.subspan(done, size)),
                        static_cast<unsigned>(size));
        done += size;
    }
}

std::string PciBus::mapBar(PciFunction& function, BarKind kind, uint64_t base, uint64_t size,
                           BusDevice& window) {
    const bool io = kind == BarKind::Io;
    const uint64_t last = base + size - 1;
    for (const ReservedRange& range : io ? reservedIo_ : reservedMmio_)
        if (base < range.end && range.start <= last)
            return fmt::format("[{:#x}, {:#x}] overlaps {} at [{:#x}, {:#x}]", base, last,
                               range.what, range.start, range.end - 1);
    const std::string owner = fmt::format("{} BAR", function.name());
    return (io ? ioBus_ : mmioBus_).map(base, size, window, owner);
}

void PciBus::unmapBar(PciFunction&, BarKind kind, uint64_t base, BusDevice& window) {
    (kind == BarKind::Io ? ioBus_ : mmioBus_).unmap(base, window);
}

void PciBus::intxChanged(PciFunction& function, bool asserted) {
    const unsigned pin = function.interruptPin();
    if (!router_ || pin == kInterruptPinNone)
        return;
    const unsigned slot = function.devfn() >> 3;
    router_->setSource(PciIntxRouter::pirqLink(slot, pin - 1), function.devfn() * 4u + (pin - 1),
                       asserted);
}

void PciBus::describeState(StateVisitor& state) {
    state.group(kRegistersGroup, "registers");
    state.readWrite(
        "CONFIG_ADDRESS", AttrType::U32,
        "port 0xCF8: 31 enable, 23-16 bus, 15-11 device, 10-8 function, 7-2 register",
        [this] { return uint64_t{configAddress_.load()}; },
        [this](uint64_t value) {
            configAddress_.store(static_cast<uint32_t>(value) & kConfigAddressBits);
        });
    state.readOnly("ECAM buses", AttrType::U32, "buses the ECAM window covers (1 MiB each)",
                   [this] { return uint64_t{ecamBuses_}; });
    state.group(kStatisticsGroup, "statistics");
    state.statistic("mechanism #1 accesses", mechanism1Accesses_,
                    "CONFIG_DATA accesses while CONFIG_ADDRESS was enabled");
    state.statistic("ECAM accesses", ecamAccesses_, "accesses to the ECAM window");
    state.statistic("absent function accesses", absentFunctionAccesses_,
                    "configuration accesses to a function that does not exist (all ones)");
    state.statistic("odd CONFIG_ADDRESS accesses", oddAddressAccesses_,
                    "byte or word accesses to 0xCF8 (only a dword reaches the register)");
}

} // namespace kvmscope::pci
