#pragma once
// One IDE channel of a PIIX3-compatible controller: the ATA register file at its command block
// (eight ports: 0x1f0 primary, 0x170 secondary) and control block (one port: 0x3f6, 0x376), up
// to two drives behind it (master and slave: an ATA disk or an ATAPI CD-ROM each), its interrupt
// line (ISA IRQ 14 primary, 15 secondary), and its half of the bus master (eight ports at the
// IDE function's BAR4 + 0 primary, + 8 secondary), which moves DMA transfers between a drive
// and guest RAM through a PRD table (devices/ide/PrdTable.h).
//
// Register semantics (ATA/ATAPI-6, section 7): writes to the command block go to both drives'
// shadow registers, reads come from the selected drive; a missing drive reads status 0, so that
// firmware sees no drive there, and takes no command. A register written moves its old value to
// "previous", which 48-bit commands take as their high-order bytes and HOB in device control
// reads back. Reading status acknowledges the interrupt; the alternate status does not. INTRQ
// reaches the IRQ line unless nIEN is set. SRST holds both drives busy and, when released,
// resets them (signatures, status). Commands written while the drive is busy (BSY or DRQ) are
// ignored, DEVICE RESET to a CD-ROM excepted.
//
// Bus master (PIIX3 datasheet, 2.7.1-2.7.3 and 3.6): BMIC start/stop and direction, BMIS active,
// error and interrupt (the last two write 1 to clear), BMIDTP the table's address. A DMA command
// waits (BSY) until the bus master is started; the transfer then runs at once: regions exactly
// the transfer's size end with Active clear and Interrupt set; longer regions with both set; too
// short a table ends the command without an interrupt and with Active clear (the datasheet's
// error case); a table or region outside RAM, or a table without EOT within 8192 entries, sets
// Error and ends the command with ABRT and an interrupt. The transfer goes in the direction of
// the drive's command whatever BMIC's direction bit says (as QEMU's PIIX does).
//
// Locking: one mutex guards the channel and its drives; image I/O runs under it on the vcpu
// thread that made the access. The one call made with it held is IrqLine::setLevel.
#include "devices/EmulatedDevice.h"
#include "devices/IrqLine.h"
#include "devices/ide/IdeDrive.h"
#include "machine/BusDevice.h"

#include <array>
#include <memory>
#include <mutex>
#include <string>

namespace kvmscope {
class GuestMemory;
}

namespace kvmscope::ide {

// What sits on one end of the cable.
struct DriveSpec {
    DriveKind kind = DriveKind::Disk;
    storage::DiskImage* image = nullptr; // none: no drive there
    std::string serial;                  // identify words 10-19
};

class IdeChannel : public EmulatedDevice, private IdeBus {
public:
    static constexpr uint32_t kChannelGroup = 0;
    static constexpr uint32_t kMasterGroup = 1;
    static constexpr uint32_t kSlaveGroup = 2;
    static constexpr uint32_t kStatisticsGroup = 3;

    // `memory` is where the bus master's PRD tables and regions live; without it (nullptr)
    // every DMA transfer ends as a master abort. The images must outlive the channel.
    IdeChannel(std::string name, IrqLine& irq, GuestMemory* memory, DriveSpec master,
               DriveSpec slave = {});
    ~IdeChannel() override;

    // The three port ranges, each a BusDevice with offsets from its own base: the command block
    // (kCommandBlockPorts), the control block (kControlBlockPorts) and the bus master
    // (kBusMasterPorts).
    BusDevice& commandBlock() { return commandBlock_; }
    BusDevice& controlBlock() { return controlBlock_; }
    BusDevice& busMaster() { return busMaster_; }

    // A hardware reset (the machine's reset line): the drives as after power-on, the bus master
    // stopped.
    void reset();

    std::string name() const override { return name_; }
    // Read-only views for tests and the device tree.
    const IdeDrive* drive(unsigned slot) const { return drives_.at(slot).get(); }

protected:
    void describeState(StateVisitor& state) override;
    std::mutex& stateMutex() const override { return mutex_; }
    void afterRestore() override;

private:
    class Ports : public BusDevice {
    public:
        enum class Block { Command, Control, BusMaster };
        Ports(IdeChannel& channel, Block block) : channel_(channel), block_(block) {}
        void read(uint64_t offset, std::span<uint8_t> data) override;
        void write(uint64_t offset, std::span<const uint8_t> data) override;

    private:
        IdeChannel& channel_;
        Block block_;
    };

    // All of these run with mutex_ held.
    void interrupt() override; // IdeBus
    void readCommandBlock(uint64_t offset, std::span<uint8_t> data);
    void writeCommandBlock(uint64_t offset, std::span<const uint8_t> data);
    uint8_t status(bool acknowledge);
    void writeControl(uint8_t value);
    uint8_t readBusMasterByte(uint64_t offset) const;
    void writeBusMasterByte(uint64_t offset, uint8_t value);
    void writeCommand(uint8_t opcode);
    void executeDiagnostic();
    void resetDrives();
    void runDma();
    void updateIrq();
    unsigned selected() const { return selected_; }

    std::string name_;
    IrqLine& irq_;
    GuestMemory* memory_;
    mutable std::mutex mutex_;
    Ports commandBlock_{*this, Ports::Block::Command};
    Ports controlBlock_{*this, Ports::Block::Control};
    Ports busMaster_{*this, Ports::Block::BusMaster};

    std::array<TaskFile, 2> regs_{};                  // each drive's registers (shadows)
    std::array<std::unique_ptr<IdeDrive>, 2> drives_; // master, slave; null: none
    uint8_t selected_ = 0;          // DEV of the last device register write: 0 master, 1 slave
    uint8_t control_ = 0;           // device control: HOB, SRST, nIEN
    bool interruptPending_ = false; // a drive asserted INTRQ and status was not read since
    bool irqLevel_ = false;         // what the IRQ line shows
    uint8_t bmic_ = 0;              // bus master command
    uint8_t bmis_ = 0;              // bus master status
    uint32_t bmidtp_ = 0;           // descriptor table pointer

    // Counters.
    uint64_t interrupts_ = 0;
    uint64_t ignoredCommands_ = 0;   // to a missing drive, a busy one, or during SRST
    uint64_t strayDataAccesses_ = 0; // data port accesses outside DRQ
    uint64_t dmaErrors_ = 0;         // PRD tables too short, outside RAM or without an end
};

} // namespace kvmscope::ide
