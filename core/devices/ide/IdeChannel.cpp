#include "devices/ide/IdeChannel.h"

#include "devices/ide/AtaDisk.h"
#include "devices/ide/AtapiCdrom.h"
#include "devices/ide/PrdTable.h"
#include "storage/DiskImage.h"

#include <algorithm>

namespace kvmscope::ide {
namespace {

constexpr uint8_t kBmicWritable = kBmicStart | kBmicToMemory;
constexpr uint8_t kBmisWriteOneToClear = kBmisError | kBmisInterrupt;
constexpr uint8_t kBmisWritable = kBmisDrive0Dma | kBmisDrive1Dma;

void returnByte(std::span<uint8_t> data, uint8_t value) {
    std::fill(data.begin(), data.end(), uint8_t(0));
    if (!data.empty())
        data[0] = value;
}

std::unique_ptr<IdeDrive> makeDrive(const DriveSpec& spec, TaskFile& regs, IdeBus& bus) {
    if (!spec.image)
        return nullptr;
    if (spec.kind == DriveKind::Cdrom)
        return std::make_unique<AtapiCdrom>(*spec.image, regs, bus, spec.serial);
    return std::make_unique<AtaDisk>(*spec.image, regs, bus, spec.serial);
}

} // namespace

IdeChannel::IdeChannel(std::string name, IrqLine& irq, GuestMemory* memory, DriveSpec master,
                       DriveSpec slave)
    : name_(std::move(name)), irq_(irq), memory_(memory) {
    drives_[0] = makeDrive(master, regs_[0], *this);
    drives_[1] = makeDrive(slave, regs_[1], *this);
    resetDrives();
}

IdeChannel::~IdeChannel() = default;

void IdeChannel::Ports::read(uint64_t offset, std::span<uint8_t> data) {
    std::lock_guard lock(channel_.mutex_);
    switch (block_) {
    case Block::Command:
        channel_.readCommandBlock(offset, data);
        break;
    case Block::Control:
        returnByte(data, offset == 0 ? channel_.status(false) : 0xff);
        break;
    case Block::BusMaster:
        for (size_t i = 0; i < data.size(); ++i)
            data[i] = channel_.readBusMasterByte(offset + i);
        break;
    }
}

void IdeChannel::Ports::write(uint64_t offset, std::span<const uint8_t> data) {
    if (data.empty())
        return;
    std::lock_guard lock(channel_.mutex_);
    switch (block_) {
    case Block::Command:
        channel_.writeCommandBlock(offset, data);
        break;
    case Block::Control:
        if (offset == 0)
            channel_.writeControl(data[0]);
        break;
    case Block::BusMaster:
        for (size_t i = 0; i < data.size(); ++i)
            channel_.writeBusMasterByte(offset + i, data[i]);
        break;
    }
}

void IdeChannel::reset() {
    std::lock_guard lock(mutex_);
    control_ = 0;
    bmic_ = 0;
    bmis_ &= kBmisWritable;
    bmidtp_ = 0;
    resetDrives();
}

void IdeChannel::resetDrives() {
    selected_ = 0;
    for (unsigned slot = 0; slot < 2; ++slot) {
        regs_[slot].device = 0;
        if (drives_[slot]) {
            drives_[slot]->reset();
        } else {
            // Nothing drives the bus there: the shadow registers keep a disk's signature and
            // the status reads 0.
            regs_[slot].setSignature(0, 0);
            regs_[slot].status = 0;
            regs_[slot].error = 0;
        }
    }
    interruptPending_ = false;
    updateIrq();
}

void IdeChannel::interrupt() {
    interruptPending_ = true;
    // PIIX3 2.7.2: BMIS Interrupt is set by the rising edge of the channel's interrupt line,
    // which nIEN keeps low.
    if (!(control_ & kControlInterruptDisable))
        bmis_ |= kBmisInterrupt;
    ++interrupts_;
    updateIrq();
}

void IdeChannel::updateIrq() {
    const bool level = interruptPending_ && !(control_ & kControlInterruptDisable);
    if (level != irqLevel_) {
        irqLevel_ = level;
        irq_.setLevel(level);
    }
}

uint8_t IdeChannel::status(bool acknowledge) {
    if (!drives_[selected()])
        return 0; // no drive: nothing pulls the status lines up
    if (acknowledge) {
        interruptPending_ = false;
        updateIrq();
    }
    return regs_[selected()].status;
}

void IdeChannel::readCommandBlock(uint64_t offset, std::span<uint8_t> data) {
    const TaskFile& regs = regs_[selected()];
    const bool hob = (control_ & kControlHighOrderByte) != 0;
    switch (offset) {
    case kData:
        if (!drives_[selected()] || !drives_[selected()]->readData(data)) {
            std::fill(data.begin(), data.end(), uint8_t(0));
            ++strayDataAccesses_;
        }
        return;
    case kErrorFeatures:
        return returnByte(data, hob ? regs.featuresPrevious : regs.error);
    case kSectorCount:
        return returnByte(data, hob ? regs.countPrevious : regs.count);
    case kLbaLow:
        return returnByte(data, hob ? regs.lbaLowPrevious : regs.lbaLow);
    case kLbaMid:
        return returnByte(data, hob ? regs.lbaMidPrevious : regs.lbaMid);
    case kLbaHigh:
        return returnByte(data, hob ? regs.lbaHighPrevious : regs.lbaHigh);
    case kDevice:
        return returnByte(data, regs.device);
    case kStatusCommand:
        return returnByte(data, status(true));
    default:
        return returnByte(data, 0xff);
    }
}

void IdeChannel::writeCommandBlock(uint64_t offset, std::span<const uint8_t> data) {
    if (offset == kData) {
        if (!drives_[selected()] || !drives_[selected()]->writeData(data))
            ++strayDataAccesses_;
        return;
    }
    if (offset >= kCommandBlockPorts)
        return;
    const uint8_t value = data[0];
    // 7.8: a write to any command block register clears HOB.
    control_ &= static_cast<uint8_t>(~kControlHighOrderByte);
    if (offset == kStatusCommand)
        return writeCommand(value);
    for (TaskFile& regs : regs_) {
        auto shift = [value](uint8_t& current, uint8_t& previous) {
            previous = current;
            current = value;
        };
        switch (offset) {
        case kErrorFeatures:
            shift(regs.features, regs.featuresPrevious);
            break;
        case kSectorCount:
            shift(regs.count, regs.countPrevious);
            break;
        case kLbaLow:
            shift(regs.lbaLow, regs.lbaLowPrevious);
            break;
        case kLbaMid:
            shift(regs.lbaMid, regs.lbaMidPrevious);
            break;
        case kLbaHigh:
            shift(regs.lbaHigh, regs.lbaHighPrevious);
            break;
        case kDevice:
            regs.device = value;
            break;
        default:
            break;
        }
    }
    if (offset == kDevice)
        selected_ = (value & kDeviceSlave) ? 1 : 0;
}

void IdeChannel::writeCommand(uint8_t opcode) {
    IdeDrive* drive = drives_[selected()].get();
    const uint8_t busy = kStatusBusy | kStatusDataRequest;
    const bool resetOverride = drive && drive->kind() == DriveKind::Cdrom &&
                               opcode == kCmdDeviceReset && !(control_ & kControlSoftReset);
    if (!drive || (control_ & kControlSoftReset) ||
        ((regs_[selected()].status & busy) && !resetOverride)) {
        ++ignoredCommands_;
        return;
    }
    // Writing the command register acknowledges a pending interrupt (7.4).
    interruptPending_ = false;
    updateIrq();
    if (opcode == kCmdExecuteDiagnostic)
        return executeDiagnostic();
    drive->command(opcode);
    runDma();
}

void IdeChannel::executeDiagnostic() {
    // 8.11: both drives run their diagnostics and show their signatures; device 0 reports the
    // result for both (01h: passed, device 1 passed or absent) and raises the interrupt.
    for (unsigned slot = 0; slot < 2; ++slot) {
        if (drives_[slot]) {
            const uint8_t device = regs_[slot].device;
            drives_[slot]->reset();
            regs_[slot].device = device;
            regs_[slot].command = kCmdExecuteDiagnostic;
        }
    }
    regs_[selected()].error = kErrorDiagnosticPassed;
    interrupt();
}

void IdeChannel::writeControl(uint8_t value) {
    const bool wasReset = (control_ & kControlSoftReset) != 0;
    control_ = value;
    const bool reset = (value & kControlSoftReset) != 0;
    if (reset && !wasReset) {
        for (unsigned slot = 0; slot < 2; ++slot)
            if (drives_[slot])
                drives_[slot]->holdInReset();
        interruptPending_ = false;
    } else if (!reset && wasReset) {
        resetDrives();
    }
    updateIrq();
}

uint8_t IdeChannel::readBusMasterByte(uint64_t offset) const {
    switch (offset) {
    case kBusMasterCommand:
        return bmic_;
    case kBusMasterStatus:
        return bmis_;
    case kBusMasterTable:
    case kBusMasterTable + 1:
    case kBusMasterTable + 2:
    case kBusMasterTable + 3:
        return static_cast<uint8_t>(bmidtp_ >> (8 * (offset - kBusMasterTable)));
    default:
        return 0; // reserved (offsets 1 and 3), and past the range
    }
}

void IdeChannel::writeBusMasterByte(uint64_t offset, uint8_t value) {
    switch (offset) {
    case kBusMasterCommand: {
        const bool wasStarted = (bmic_ & kBmicStart) != 0;
        uint8_t next = value & kBmicWritable;
        // 2.7.1: the direction must not change while the bus master is active.
        if (wasStarted && (bmis_ & kBmisActive))
            next = static_cast<uint8_t>((next & ~kBmicToMemory) | (bmic_ & kBmicToMemory));
        bmic_ = next;
        if ((next & kBmicStart) && !wasStarted) {
            bmis_ |= kBmisActive;
            runDma();
        } else if (!(next & kBmicStart)) {
            // Stopping the bus master ends its part; a drive still waiting keeps waiting.
            bmis_ &= static_cast<uint8_t>(~kBmisActive);
        }
        break;
    }
    case kBusMasterStatus:
        bmis_ = static_cast<uint8_t>((bmis_ & ~(value & kBmisWriteOneToClear) & ~kBmisWritable) |
                                     (value & kBmisWritable));
        break;
    case kBusMasterTable:
    case kBusMasterTable + 1:
    case kBusMasterTable + 2:
    case kBusMasterTable + 3: {
        const unsigned shift = 8 * static_cast<unsigned>(offset - kBusMasterTable);
        bmidtp_ = (bmidtp_ & ~(0xffu << shift)) | (uint32_t{value} << shift);
        bmidtp_ &= kBmidtpMask;
        break;
    }
    default:
        break;
    }
}

void IdeChannel::runDma() {
    if (!(bmic_ & kBmicStart) || !(bmis_ & kBmisActive))
        return;
    IdeDrive* drive = drives_[selected()].get();
    if (!drive || drive->phase() != Phase::DmaWait) {
        drive = nullptr;
        for (auto& candidate : drives_)
            if (candidate && candidate->phase() == Phase::DmaWait)
                drive = candidate.get();
        if (!drive)
            return;
    }
    if (drive->dmaBytes() == 0) {
        bmis_ &= static_cast<uint8_t>(~kBmisActive);
        drive->dmaTransfer({});
        return;
    }
    const PrdWalk walk = memory_ ? walkPrdTable(*memory_, bmidtp_, drive->dmaBytes())
                                 : PrdWalk{PrdEnd::OutsideRam, {}, 0};
    switch (walk.end) {
    case PrdEnd::Exact:
        bmis_ &= static_cast<uint8_t>(~kBmisActive);
        drive->dmaTransfer(walk.regions);
        break;
    case PrdEnd::TableLonger:
        drive->dmaTransfer(walk.regions); // Active stays set until the driver stops the engine
        break;
    case PrdEnd::TableShorter:
        ++dmaErrors_;
        bmis_ &= static_cast<uint8_t>(~kBmisActive);
        drive->dmaFailed(false);
        break;
    case PrdEnd::OutsideRam:
    case PrdEnd::NoEnd:
        ++dmaErrors_;
        bmis_ = static_cast<uint8_t>((bmis_ & ~kBmisActive) | kBmisError);
        drive->dmaFailed(true);
        break;
    }
}

void IdeChannel::afterRestore() {
    selected_ &= 1;
    for (auto& drive : drives_)
        if (drive)
            drive->sanitize();
    bmic_ &= kBmicWritable;
    bmidtp_ &= kBmidtpMask;
    irq_.setLevel(irqLevel_);
}

void IdeChannel::describeState(StateVisitor& state) {
    state.group(kChannelGroup, "channel");
    state.field("device control", control_, AttrAccess::Read,
                "the last device control write: 7 HOB, 2 SRST, 1 nIEN");
    state.field("selected", selected_, AttrAccess::Read, "the selected drive: 0 master, 1 slave");
    state.field("interrupt pending", interruptPending_, AttrAccess::Read,
                "a drive asserted INTRQ and status was not read since");
    state.field("IRQ level", irqLevel_, AttrAccess::Read,
                "what the IRQ line shows: interrupt pending and nIEN clear");
    state.field("BMIC", bmic_, AttrAccess::Read, "bus master command: 0 start, 3 to memory");
    state.field("BMIS", bmis_, AttrAccess::Read,
                "bus master status: 0 active, 1 error, 2 interrupt, 5-6 drive DMA capable");
    state.field("BMIDTP", bmidtp_, AttrAccess::Read, "bus master PRD table address");

    const char* const groupNames[2] = {"master", "slave"};
    for (unsigned slot = 0; slot < 2; ++slot) {
        TaskFile& regs = regs_[slot];
        state.group(slot == 0 ? kMasterGroup : kSlaveGroup, groupNames[slot]);
        state.readOnly("present", AttrType::Bool, "a drive is attached",
                       [this, slot] { return uint64_t(drives_[slot] != nullptr); });
        state.readOnly(
            "kind", AttrType::U8, "0 ATA disk, 1 ATAPI CD-ROM (when present)",
            [this, slot] { return drives_[slot] ? uint64_t(drives_[slot]->kind()) : 0; });
        state.field("status", regs.status, AttrAccess::Read,
                    "7 BSY, 6 DRDY, 5 DF, 4 DSC, 3 DRQ, 0 ERR (a missing drive reads 0)");
        state.field("error", regs.error, AttrAccess::Read,
                    "6 UNC, 4 IDNF, 2 ABRT; ATAPI: the sense key in 7-4");
        state.field("command", regs.command, AttrAccess::Read, "the last command taken");
        state.field("features", regs.features, AttrAccess::Read, "features");
        state.field("sector count", regs.count, AttrAccess::Read,
                    "sector count; ATAPI: interrupt reason (0 CoD, 1 IO)");
        state.field("LBA low", regs.lbaLow, AttrAccess::Read, "LBA 7-0 / sector number");
        state.field("LBA mid", regs.lbaMid, AttrAccess::Read,
                    "LBA 15-8 / cylinder low; ATAPI: byte count low");
        state.field("LBA high", regs.lbaHigh, AttrAccess::Read,
                    "LBA 23-16 / cylinder high; ATAPI: byte count high");
        state.field("device", regs.device, AttrAccess::Read, "device/head: 6 LBA, 4 DEV, 3-0");
        state.field("features previous", regs.featuresPrevious, AttrAccess::Read,
                    "the value before the last write (48-bit commands' high byte)");
        state.field("sector count previous", regs.countPrevious, AttrAccess::Read,
                    "count 15-8 for 48-bit commands");
        state.field("LBA low previous", regs.lbaLowPrevious, AttrAccess::Read, "LBA 31-24");
        state.field("LBA mid previous", regs.lbaMidPrevious, AttrAccess::Read, "LBA 39-32");
        state.field("LBA high previous", regs.lbaHighPrevious, AttrAccess::Read, "LBA 47-40");
        if (drives_[slot])
            drives_[slot]->describeState(state);
    }

    state.group(kStatisticsGroup, "statistics");
    state.statistic("interrupts", interrupts_, "INTRQ assertions by the drives");
    state.statistic("ignored commands", ignoredCommands_,
                    "commands to a missing or busy drive, or during SRST");
    state.statistic("stray data accesses", strayDataAccesses_,
                    "data port accesses without DRQ, or past the block");
    state.statistic("DMA errors", dmaErrors_,
                    "transfers whose PRD table was too short, outside RAM or without an end");
}

} // namespace kvmscope::ide
