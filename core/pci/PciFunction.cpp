#include "pci/PciFunction.h"

#include "log/Log.h"

#include <algorithm>
#include <bit>
#include <fmt/format.h>

namespace kvmscope::pci {
namespace {

// Refusals past this many per function are logged at debug level only: a guest that keeps
// moving BARs onto RAM must not fill the log.
constexpr uint64_t kLoggedRefusals = 8;

// Bits of the command register software may write (6.2.2): I/O and memory space, bus master,
// parity error response, SERR# enable, interrupt disable. A device class may narrow them.
constexpr uint16_t kCommandWritable = kCommandIoSpace | kCommandMemorySpace | kCommandBusMaster |
                                      kCommandParityError | kCommandSerr | kCommandInterruptDisable;

// The largest address a BAR of `kind` may decode, inclusive: x86 has 64 KiB of I/O ports.
uint64_t barLimit(BarKind kind) {
    switch (kind) {
    case BarKind::Io:
        return 0xffff;
    case BarKind::Memory32:
        return 0xffff'ffff;
    case BarKind::Memory64:
        break;
    }
    return ~uint64_t{0};
}

unsigned barOffset(unsigned index) {
    return kBar0 + 4 * index;
}

} // namespace

const char* toString(BarKind kind) {
    switch (kind) {
    case BarKind::Io:
        return "I/O";
    case BarKind::Memory32:
        return "32-bit memory";
    case BarKind::Memory64:
        return "64-bit memory";
    }
    return "?";
}

PciFunction::PciFunction(std::string name, const PciIdentity& identity)
    : name_(std::move(name)), interruptPin_(identity.interruptPin) {
    if (identity.interruptPin > kInterruptPins)
        throw Error(fmt::format("{}: interrupt pin {} is not INTA#-INTD# (1-4)", name_,
                                identity.interruptPin));
    config_.set16(kVendorId, identity.vendorId);
    config_.set16(kDeviceId, identity.deviceId);
    config_.set8(kRevisionId, identity.revisionId);
    config_.setRaw(kClassCode, identity.classCode, 3);
    config_.set8(kHeaderType, identity.headerType);
    config_.set16(kSubsystemVendorId, identity.subsystemVendorId);
    config_.set16(kSubsystemId, identity.subsystemId);
    config_.set8(kInterruptPin, identity.interruptPin);
    // 6.2.4: 0xff until firmware or the OS writes the line it routed the pin to.
    config_.set8(kInterruptLine, identity.interruptPin ? 0xff : 0x00);
    config_.setWritable(kCommand, kCommandWritable, 2);
    config_.setWriteOneToClear(kStatus, kStatusWriteOneToClear, 2);
    config_.setWritable(kCacheLineSize, 0xff, 1);
    config_.setWritable(kLatencyTimer, 0xff, 1);
    config_.setWritable(kInterruptLine, 0xff, 1);
    for (unsigned i = 0; i < kBarCount; ++i) {
        bars_[i].window.function = this;
        bars_[i].window.index = i;
    }
}

PciFunction::~PciFunction() = default;

void PciFunction::addBar(unsigned index, const BarSpec& spec) {
    const bool wide = spec.kind == BarKind::Memory64;
    const uint64_t minimum = spec.kind == BarKind::Io ? 4 : 16;
    const uint64_t maximum = spec.kind == BarKind::Io ? 256 : (wide ? (1ull << 63) : (1ull << 31));
    if (index >= kBarCount || (wide && index + 1 >= kBarCount) || bars_[index].spec ||
        (wide && bars_[index + 1].spec) || !std::has_single_bit(spec.size) || spec.size < minimum ||
        spec.size > maximum || (spec.prefetchable && spec.kind == BarKind::Io))
        throw Error(fmt::format("{}: BAR {} ({}, size {:#x}) cannot be declared (6.2.5.1: a "
                                "power of two, I/O 4-256 bytes, memory at least 16)",
                                name_, index, toString(spec.kind), spec.size));
    bars_[index].spec = spec;
    const unsigned offset = barOffset(index);
    if (spec.kind == BarKind::Io) {
        // All 32 address bits writable, so sizing reads back 0xffff'ffxx. 6.2.5.1 lets a device
        // hardwire bits 31-16 to 0 (an x86 port address is 16 bits), but firmware that sizes a
        // BAR as ~(value & ~3) + 1 then takes it for a 4 GiB-sized one: SeaBIOS stops with "PCI:
        // out of I/O address space". An address above 0xffff is simply not decoded.
        config_.set32(offset, kBarIoSpace);
        config_.setWritable(offset, static_cast<uint32_t>(~(spec.size - 1)) & ~uint32_t{0x3}, 4);
        return;
    }
    const uint32_t type =
        (wide ? kBarMemoryType64 : 0) | (spec.prefetchable ? kBarPrefetchable : 0);
    config_.set32(offset, type);
    config_.setWritable(offset, static_cast<uint32_t>(~(spec.size - 1)) & kBarMemoryAddressMask, 4);
    if (wide) {
        config_.set32(offset + 4, 0);
        config_.setWritable(offset + 4, static_cast<uint32_t>(~(spec.size - 1) >> 32), 4);
    }
}

std::string PciFunction::name() const {
    if (!attached_)
        return name_;
    return fmt::format("{} (PCI 00:{:02x}.{})", name_, devfn_ >> 3, devfn_ & 7);
}

void PciFunction::attach(PciBusLink& bus, uint8_t devfn) {
    std::lock_guard lock(mutex_);
    bus_ = &bus;
    devfn_ = devfn;
    attached_ = true;
    updateBars();
    updateIntx();
}

uint32_t PciFunction::configRead(unsigned offset, unsigned size) {
    std::lock_guard lock(mutex_);
    ++configReads_;
    beforeConfigRead(offset, size);
    return config_.read(offset, size);
}

void PciFunction::configWrite(unsigned offset, uint32_t value, unsigned size) {
    std::lock_guard lock(mutex_);
    ++configWrites_;
    configWriteLocked(offset, value, size);
}

void PciFunction::configWriteLocked(unsigned offset, uint32_t value, unsigned size) {
    config_.write(offset, value, size);
    const unsigned end = offset + size;
    // The command register or any BAR: the decoded ranges may have changed.
    if (offset < kBar0 + 4 * kBarCount && end > kCommand) {
        updateBars();
        updateIntx();
    }
    afterConfigWrite(offset, size);
}

void PciFunction::afterConfigWrite(unsigned, unsigned) {}

void PciFunction::beforeConfigRead(unsigned, unsigned) {}

void PciFunction::afterBarMove(unsigned, std::optional<uint64_t>) {}

unsigned PciFunction::addCapability(uint8_t id, std::span<const uint8_t> body,
                                    std::span<const uint8_t> writable) {
    return capabilities_.add(id, body, writable);
}

void PciFunction::describeDeviceState(StateVisitor&) {}

void PciFunction::afterDeviceRestore() {}

void PciFunction::barRead(unsigned, uint64_t, std::span<uint8_t> data) {
    std::fill(data.begin(), data.end(), 0xff);
}

void PciFunction::barWrite(unsigned, uint64_t, std::span<const uint8_t>) {}

uint64_t PciFunction::barAddress(unsigned index) const {
    const BarSpec& spec = *bars_[index].spec;
    const unsigned offset = barOffset(index);
    uint64_t value = config_.get32(offset);
    if (spec.kind == BarKind::Memory64)
        value |= uint64_t{config_.get32(offset + 4)} << 32;
    const uint64_t typeBits = spec.kind == BarKind::Io ? 0x3 : 0xf;
    return value & ~typeBits & ~(spec.size - 1);
}

std::optional<uint64_t> PciFunction::decodedBar(unsigned index) const {
    std::lock_guard lock(mutex_);
    return index < kBarCount ? bars_[index].base : std::nullopt;
}

uint64_t PciFunction::refusedPlacements() const {
    std::lock_guard lock(mutex_);
    return refusedPlacements_;
}

void PciFunction::updateBars() {
    if (!bus_)
        return;
    const uint16_t command = config_.get16(kCommand);
    for (unsigned index = 0; index < kBarCount; ++index) {
        Bar& bar = bars_[index];
        if (!bar.spec)
            continue;
        const BarSpec& spec = *bar.spec;
        const bool enabled =
            command & (spec.kind == BarKind::Io ? kCommandIoSpace : kCommandMemorySpace);
        const uint64_t address = barAddress(index);
        // Address 0 means "not assigned" to firmware and OSes alike; a range past the space's
        // end cannot be decoded.
        std::optional<uint64_t> wanted;
        if (enabled && address != 0 && address <= barLimit(spec.kind) - (spec.size - 1))
            wanted = address;
        if (wanted == bar.base)
            continue;
        if (bar.base) {
            bus_->unmapBar(*this, spec.kind, *bar.base, bar.window);
            bar.base.reset();
            afterBarMove(index, std::nullopt);
        }
        if (!wanted) {
            bar.refusedAt.reset();
            continue;
        }
        std::string why = bus_->mapBar(*this, spec.kind, *wanted, spec.size, bar.window);
        if (why.empty()) {
            bar.base = wanted;
            bar.refusedAt.reset();
            afterBarMove(index, bar.base);
            continue;
        }
        if (bar.refusedAt == wanted)
            continue; // refused there before: counted and logged then
        bar.refusedAt = wanted;
        ++refusedPlacements_;
        lastRefusal_ = fmt::format("BAR {} at {:#x}: {}", index, *wanted, why);
        auto logger = log::get("pci");
        if (refusedPlacements_ <= kLoggedRefusals)
            logger->warn("{}: the guest placed {}; it is not decoded until moved", name(),
                         lastRefusal_);
        else
            logger->debug("{}: the guest placed {}", name(), lastRefusal_);
    }
}

void PciFunction::updateIntx() {
    // 6.2.3: the status bit shows the pin's level whatever the command register says.
    uint16_t status = config_.get16(kStatus);
    status =
        static_cast<uint16_t>(intxLevel_ ? status | kStatusInterrupt : status & ~kStatusInterrupt);
    config_.set16(kStatus, status);
    const bool signalled = intxLevel_ && interruptPin_ != kInterruptPinNone &&
                           !(config_.get16(kCommand) & kCommandInterruptDisable);
    if (signalled == intxSignalled_ || !bus_)
        return;
    intxSignalled_ = signalled;
    bus_->intxChanged(*this, signalled);
}

void PciFunction::setIntx(bool asserted) {
    std::lock_guard lock(mutex_);
    setIntxLocked(asserted);
}

void PciFunction::setIntxLocked(bool asserted) {
    intxLevel_ = asserted;
    updateIntx();
}

void PciFunction::configField(StateVisitor& state, std::string_view fieldName, unsigned offset,
                              unsigned size, std::string_view description) {
    const AttrType type = size == 1 ? AttrType::U8 : size == 2 ? AttrType::U16 : AttrType::U32;
    const uint32_t writable = config_.writableMask(offset, size);
    if (writable == 0) {
        state.readOnly(fieldName, type, description,
                       [this, offset, size] { return uint64_t{config_.read(offset, size)}; });
        return;
    }
    state.readWrite(
        fieldName, type, description,
        [this, offset, size] { return uint64_t{config_.read(offset, size)}; },
        [this, offset, size, writable, fieldName](uint64_t value) {
            const uint32_t current = config_.read(offset, size);
            const auto wanted = static_cast<uint32_t>(value);
            if ((wanted & ~writable) != (current & ~writable))
                throw AttributeError(fmt::format(
                    "{}: {} {:#x}: only bits {:#x} can be written (the others hold {:#x})", name_,
                    fieldName, wanted, writable, current & ~writable));
            configWriteLocked(offset, wanted, size);
        });
}

void PciFunction::describeState(StateVisitor& state) {
    state.group(kIdentityGroup, "identity");
    auto identity = [&](std::string_view fieldName, unsigned offset, unsigned size,
                        std::string_view description) {
        const AttrType type = size == 1 ? AttrType::U8 : size == 2 ? AttrType::U16 : AttrType::U32;
        state.readOnly(fieldName, type, description,
                       [this, offset, size] { return uint64_t{config_.read(offset, size)}; });
    };
    identity("vendor ID", kVendorId, 2, "0x00: who made the function (PCI-SIG's list)");
    identity("device ID", kDeviceId, 2, "0x02: which function of the vendor's");
    identity("revision ID", kRevisionId, 1, "0x08");
    identity("class code", kClassCode, 3,
             "0x09-0x0b: base class << 16 | sub-class << 8 | programming interface");
    identity("header type", kHeaderType, 1, "0x0e: bit 7 multi-function, bits 6-0 layout (0)");
    identity("subsystem vendor ID", kSubsystemVendorId, 2, "0x2c");
    identity("subsystem ID", kSubsystemId, 2, "0x2e");
    identity("interrupt pin", kInterruptPin, 1, "0x3d: 0 none, 1-4 INTA#-INTD#");
    identity("capabilities pointer", kCapabilitiesPointer, 1,
             "0x34: the first capability's offset (0: none; 6.7)");

    state.group(kRegistersGroup, "registers");
    configField(state, "command", kCommand, 2,
                "0x04: 0 I/O space, 1 memory space, 2 bus master, 6 parity error response, 8 "
                "SERR#, 10 interrupt disable");
    state.readWrite(
        "status", AttrType::U16,
        "0x06: 3 interrupt (read-only), 4 capabilities list, 9-10 DEVSEL timing; 8 and 11-15 "
        "error bits, cleared by writing 1",
        [this] { return uint64_t{config_.get16(kStatus)}; },
        [this](uint64_t value) { configWriteLocked(kStatus, static_cast<uint32_t>(value), 2); });
    configField(state, "cache line size", kCacheLineSize, 1, "0x0c, in dwords");
    configField(state, "latency timer", kLatencyTimer, 1, "0x0d, in PCI clocks");
    configField(state, "interrupt line", kInterruptLine, 1,
                "0x3c: the ISA IRQ firmware or the OS routed INTx# to (0xff: none); a note for "
                "software, the hardware ignores it");
    state.readOnly("INTx asserted", AttrType::Bool,
                   "the function's INTx# pin as its logic drives it (the status register's bit 3)",
                   [this] { return uint64_t{intxLevel_}; });

    state.group(kBarsGroup, "BARs");
    for (unsigned index = 0; index < kBarCount; ++index) {
        if (!bars_[index].spec)
            continue;
        const BarSpec spec = *bars_[index].spec;
        const bool wide = spec.kind == BarKind::Memory64;
        const unsigned offset = barOffset(index);
        // Names outlive the visit: they are string literals chosen by index.
        static constexpr std::string_view kNames[kBarCount] = {"BAR0", "BAR1", "BAR2",
                                                               "BAR3", "BAR4", "BAR5"};
        static constexpr std::string_view kSizes[kBarCount] = {
            "BAR0 size", "BAR1 size", "BAR2 size", "BAR3 size", "BAR4 size", "BAR5 size"};
        static constexpr std::string_view kDecoded[kBarCount] = {
            "BAR0 decoded at", "BAR1 decoded at", "BAR2 decoded at",
            "BAR3 decoded at", "BAR4 decoded at", "BAR5 decoded at"};
        const std::string_view description =
            spec.kind == BarKind::Io
                ? std::string_view("I/O BAR: the port address (bits 15-2), bit 0 set")
            : wide ? std::string_view("64-bit memory BAR (with the next BAR): the address, "
                                      "bits 3-0 type and prefetchable")
                   : std::string_view("32-bit memory BAR: the address, bits 3-0 type and "
                                      "prefetchable");
        state.readWrite(
            kNames[index], wide ? AttrType::U64 : AttrType::U32, description,
            [this, offset, wide] {
                uint64_t value = config_.get32(offset);
                if (wide)
                    value |= uint64_t{config_.get32(offset + 4)} << 32;
                return value;
            },
            [this, offset, wide](uint64_t value) {
                configWriteLocked(offset, static_cast<uint32_t>(value), 4);
                if (wide)
                    configWriteLocked(offset + 4, static_cast<uint32_t>(value >> 32), 4);
            });
        state.readOnly(kSizes[index], AttrType::U64, "bytes the BAR decodes",
                       [spec] { return spec.size; });
        state.readOnly(kDecoded[index], AttrType::U64,
                       "where the BAR is decoded now; all ones while it is not (its space "
                       "disabled in the command register, address 0, or a placement the bus "
                       "refused)",
                       [this, index] { return bars_[index].base.value_or(~uint64_t{0}); });
    }

    state.group(kConfigSpaceGroup, "config space");
    state.byteField("config space", config_.bytes(), AttrAccess::Read,
                    "the 256 bytes as the guest reads them");

    state.group(kStatisticsGroup, "statistics");
    state.statistic("config reads", configReads_, "configuration reads by the guest");
    state.statistic("config writes", configWrites_, "configuration writes by the guest");
    state.statistic("refused BAR placements", refusedPlacements_,
                    "BAR ranges the bus refused (over RAM, a fixed address or another range)");
    state.hidden("INTx level", intxLevel_);

    describeDeviceState(state);
}

void PciFunction::afterRestore() {
    afterDeviceRestore();
    updateBars();
    // Tell the bus the restored level whatever it heard before.
    const bool signalled = intxLevel_ && interruptPin_ != kInterruptPinNone &&
                           !(config_.get16(kCommand) & kCommandInterruptDisable);
    intxSignalled_ = !signalled;
    updateIntx();
}

} // namespace kvmscope::pci
