// An IDE channel (devices/ide/IdeChannel.h) as a hostile guest drives it: random accesses to its
// command block, control block and bus master, attribute calls, and hardware resets, with a
// disk or a CD-ROM (or none) at each end of the cable over small in-memory images, and guest RAM
// the input fills, where the PRD tables and DMA regions live. Tables without an end, regions
// outside RAM, transfers longer or shorter than the table, commands while busy and data port
// accesses outside DRQ must end in a status or a BMIS bit, never a crash, a hang or an access
// outside RAM.
//
// Input: a configuration byte (bit 0 master is a CD-ROM, bit 1 a slave is there, bit 2 the slave
// is a CD-ROM, bit 3 no master), a 16-bit length N, N bytes copied into guest RAM from 0, then
// the 6-byte records of fuzz/DeviceFuzzing.h over one flat range of 17 ports: 0-7 the command
// block, 8 the control block, 9-16 the bus master. Host input is a hardware reset.
#include "DeviceFuzzing.h"
#include "devices/ide/IdeChannel.h"
#include "machine/GuestMemory.h"
#include "storage/DiskImage.h"

#include <memory>

namespace {

using namespace kvmscope;

constexpr uint64_t kRam = 1 << 20;
constexpr uint64_t kDiskSize = 64 * 1024;
constexpr uint64_t kIsoSize = 24 * 2048;
constexpr uint64_t kPorts =
    ide::kCommandBlockPorts + ide::kControlBlockPorts + ide::kBusMasterPorts;

storage::DiskImage& openImage(fuzz::MemoryFile& file, uint64_t size, bool readOnly) {
    file.assignZeros(size);
    storage::DiskSpec spec;
    spec.path = file.path();
    spec.formatGiven = true;
    spec.readOnly = readOnly;
    return *new storage::DiskImage(spec); // one per process, kept to the end
}

storage::DiskImage& disk() {
    static fuzz::MemoryFile file("fuzz_ide.img");
    static storage::DiskImage& image = openImage(file, kDiskSize, false);
    return image;
}

storage::DiskImage& iso() {
    static fuzz::MemoryFile file("fuzz_ide.iso");
    static storage::DiskImage& image = openImage(file, kIsoSize, true);
    return image;
}

// The channel's three ranges as one, so that DeviceDriver's selector reaches all of them.
class FlatPorts : public BusDevice {
public:
    explicit FlatPorts(ide::IdeChannel& channel) : channel_(channel) {}
    void read(uint64_t offset, std::span<uint8_t> data) override {
        auto [block, at] = route(offset);
        block.read(at, data);
    }
    void write(uint64_t offset, std::span<const uint8_t> data) override {
        auto [block, at] = route(offset);
        block.write(at, data);
    }

private:
    std::pair<BusDevice&, uint64_t> route(uint64_t offset) {
        if (offset < ide::kCommandBlockPorts)
            return {channel_.commandBlock(), offset};
        offset -= ide::kCommandBlockPorts;
        if (offset < ide::kControlBlockPorts)
            return {channel_.controlBlock(), offset};
        return {channel_.busMaster(), offset - ide::kControlBlockPorts};
    }
    ide::IdeChannel& channel_;
};

ide::DriveSpec spec(bool present, bool cdrom) {
    if (!present)
        return {};
    return cdrom ? ide::DriveSpec{ide::DriveKind::Cdrom, &iso(), "FUZZ-CD"}
                 : ide::DriveSpec{ide::DriveKind::Disk, &disk(), "FUZZ-DISK"};
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::InputReader input(data, size);
    const auto config = input.read<uint8_t>();
    const auto ramBytes = input.read<uint16_t>();
    GuestMemory memory(kRam);
    const auto prefix = input.take(ramBytes);
    if (!prefix.empty())
        memory.write(0, prefix.data(), prefix.size());

    fuzz::FuzzIrqLine irq;
    ide::IdeChannel channel("IDE (fuzz)", irq, &memory, spec(!(config & 8), config & 1),
                            spec(config & 2, config & 4));
    FlatPorts ports(channel);
    fuzz::DeviceDriver driver(
        {ports, channel, kPorts, [&](uint8_t, uint32_t) { channel.reset(); }});
    const auto records = input.rest();
    driver.run(records.data(), records.size());
    return 0;
}
