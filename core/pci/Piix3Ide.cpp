#include "pci/Piix3Ide.h"

#include "devices/ide/IdeChannel.h"
#include "pci/Piix3IsaBridge.h"

#include <algorithm>

namespace kvmscope::pci {

Piix3Ide::Piix3Ide(ide::IdeChannel& primary, ide::IdeChannel& secondary)
    : PciFunction("PIIX3 IDE controller",
                  PciIdentity{Piix3IsaBridge::kVendorIntel, kDevice82371SbIde,
                              kClassIdeLegacyBusMaster, Piix3IsaBridge::kRevision,
                              kHeaderTypeNormal, 0, 0, kInterruptPinNone}),
      channels_{&primary, &secondary} {
    PciConfigSpace& space = config();
    space.set16(kStatus, kStatusDefault);
    // 2.3.3 PCICMD: I/O space (bit 0) and bus master (bit 2) are the function's; the rest are
    // hardwired to 0 on this chip.
    space.setWritable(kCommand, kCommandIoSpace | kCommandBusMaster, 2);
    space.setWritable(kCacheLineSize, 0, 1);
    space.setWritable(kInterruptLine, 0, 1);
    for (unsigned channel = 0; channel < kChannels; ++channel) {
        space.setWritable(kIdeTiming + 2 * channel, kIdeTimingWritable, 2);
        legacy_[channel].command = GatedPorts{};
        legacy_[channel].command.ide = this;
        legacy_[channel].command.channel = channel;
        legacy_[channel].command.target = &channels_[channel]->commandBlock();
        legacy_[channel].control.ide = this;
        legacy_[channel].control.channel = channel;
        legacy_[channel].control.target = &channels_[channel]->controlBlock();
    }
    space.setWritable(kSlaveIdeTiming, 0xff, 1);
    addBar(kBusMasterBar, BarSpec{BarKind::Io, kBusMasterPorts, false});
}

void Piix3Ide::enableDecodeAsFirmware() {
    std::lock_guard lock(stateMutex());
    for (unsigned channel = 0; channel < kChannels; ++channel)
        configWriteLocked(kIdeTiming + 2 * channel, kIdeDecodeEnable, 2);
    configWriteLocked(kCommand, kCommandIoSpace | kCommandBusMaster, 2);
}

void Piix3Ide::afterConfigWrite(unsigned offset, unsigned size) {
    for (unsigned channel = 0; channel < kChannels; ++channel) {
        const unsigned reg = kIdeTiming + 2 * channel;
        if (offset < reg + 2 && reg < offset + size)
            decode_[channel] = (config().get16(reg) & kIdeDecodeEnable) != 0;
    }
}

// BMIBA: 0-7 the primary channel's bus master registers, 8-15 the secondary's (2.7). An access
// is at most 4 bytes and aligned by the bus, so it never spans the two halves.
void Piix3Ide::barRead(unsigned index, uint64_t offset, std::span<uint8_t> data) {
    if (index != kBusMasterBar || offset >= kBusMasterPorts) {
        std::fill(data.begin(), data.end(), 0xff);
        return;
    }
    channels_[offset / 8]->busMaster().read(offset % 8, data);
}

void Piix3Ide::barWrite(unsigned index, uint64_t offset, std::span<const uint8_t> data) {
    if (index != kBusMasterBar || offset >= kBusMasterPorts)
        return;
    channels_[offset / 8]->busMaster().write(offset % 8, data);
}

void Piix3Ide::GatedPorts::read(uint64_t offset, std::span<uint8_t> data) {
    if (!ide->decodes(channel)) {
        ++ide->floatingAccesses_;
        std::fill(data.begin(), data.end(), 0xff); // nothing drives the ISA bus
        return;
    }
    target->read(offset, data);
}

void Piix3Ide::GatedPorts::write(uint64_t offset, std::span<const uint8_t> data) {
    if (!ide->decodes(channel)) {
        ++ide->floatingAccesses_;
        return;
    }
    target->write(offset, data);
}

void Piix3Ide::describeDeviceState(StateVisitor& state) {
    state.group(kFirstDeviceGroup, "IDE timing");
    configField(state, "IDETIM primary", kIdeTiming, 2,
                "0x40: bit 15 decode enable of ports 0x1f0-0x1f7 and 0x3f6; timing bits stored");
    configField(state, "IDETIM secondary", kIdeTiming + 2, 2,
                "0x42: bit 15 decode enable of ports 0x170-0x177 and 0x376; timing bits stored");
    configField(state, "SIDETIM", kSlaveIdeTiming, 1, "0x44: slave drive timing, stored");
    state.readOnly("accesses while decode is off", AttrType::U64,
                   "legacy port accesses that found the channel's IDETIM decode enable clear "
                   "(reads return 0xff)",
                   [this] { return floatingAccesses_.load(); });
}

} // namespace kvmscope::pci
