// The virtio-pci transport's register file (virtio/VirtioPciTransport.h) with a virtio-blk
// device, as a hostile driver drives it: configuration space writes and reads (the capabilities,
// MSI-X Message Control, the configuration access window, BAR moves), accesses of any width
// anywhere in the BAR (common configuration, ISR, device configuration, doorbells, the MSI-X
// table and PBA), writes into guest RAM where the rings and buffers are, and doorbells served at
// once. Every path must end as a register value, DEVICE_NEEDS_RESET or a request status: never a
// crash, a hang, or an exception out of the device. Writing 0 to device_status always resets it
// (nothing is in flight on one thread).
//
// Input: a flags byte (bit 0: an MSI-X router, bit 1: a read-only image), then operations until
// the input ends, each an opcode byte (mod 6) and its fields:
//   0 config write: offset u8, size selector u8 (1, 2, 4), value u32
//   1 config read:  offset u8, size selector u8
//   2 BAR write:    offset u16 (mod 16 KiB), size selector u8 (1, 2, 4, 8), value u64
//   3 BAR read:     offset u16, size selector u8
//   4 RAM write:    address u32 (mod RAM), length u8, the bytes
//   5 doorbell:     queue u8 (mod 2: one queue exists)
// The BAR starts at 0xE0000000 with memory space and bus mastering on; the input may move it.
#include "FuzzSupport.h"
#include "log/Log.h"
#include "machine/AddressBus.h"
#include "machine/GuestMemory.h"
#include "pci/PciBus.h"
#include "storage/DiskImage.h"
#include "virtio/VirtioBlockDevice.h"
#include "virtio/VirtioPciTransport.h"

#include <linux/virtio_pci.h>
#include <memory>

namespace {

using namespace kvmscope;

constexpr uint64_t kRam = 1 << 20;
constexpr uint64_t kImageSize = 64 * 1024;
constexpr uint64_t kBarStart = 0xe000'0000;
constexpr unsigned kSlot = 4;
constexpr unsigned kConfigSizes[] = {1, 2, 4};
constexpr unsigned kBarSizes[] = {1, 2, 4, 8};

class FuzzMsi final : public pci::MsiRouter {
public:
    unsigned vectors() const override { return 8; }
    void route(unsigned vector, const pci::MsiMessage&) override {
        fuzz::check(vector < 8, "a route for a vector the router does not have");
    }
    void send(unsigned vector, const pci::MsiMessage&) override {
        fuzz::check(vector < 8, "a message from a vector the router does not have");
    }
};

storage::DiskImage* openImage(bool readOnly) {
    static fuzz::MemoryFile file("fuzz_virtio_pci.img");
    static bool sized = false;
    if (!sized) {
        file.assignZeros(kImageSize);
        sized = true;
    }
    storage::DiskSpec spec;
    spec.path = file.path();
    spec.formatGiven = true;
    spec.readOnly = readOnly;
    return new storage::DiskImage(spec);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const bool quiet = [] {
        log::setLevel("off"); // every DEVICE_NEEDS_RESET logs a warning
        return true;
    }();
    (void)quiet;
    fuzz::InputReader input(data, size);
    const uint8_t flags = input.read<uint8_t>();
    try {
        GuestMemory memory(kRam);
        AddressBus io("I/O port");
        AddressBus mmio("MMIO");
        pci::PciBus bus(io, mmio, nullptr, {}, {{0, kRam, "guest RAM"}}, 1);
        FuzzMsi msi;
        virtio::VirtioPciTransport::Wiring wiring;
        wiring.msi = (flags & 1) ? &msi : nullptr;
        auto block = std::make_unique<virtio::VirtioBlockDevice>(
            memory, std::unique_ptr<storage::DiskImage>(openImage(flags & 2)));
        virtio::VirtioPciTransport transport(std::move(block), memory, wiring);
        bus.add(kSlot, 0, transport);
        const unsigned barRegister = pci::kBar0 + 4 * virtio::VirtioPciTransport::kBar;
        bus.configWrite(0, kSlot, 0, barRegister, static_cast<uint32_t>(kBarStart), 4);
        bus.configWrite(0, kSlot, 0, pci::kCommand,
                        pci::kCommandMemorySpace | pci::kCommandBusMaster, 2);

        while (!input.empty()) {
            const unsigned opcode = input.read<uint8_t>() % 6u;
            switch (opcode) {
            case 0: {
                const auto offset = input.read<uint8_t>();
                const unsigned width = kConfigSizes[input.read<uint8_t>() % 3];
                bus.configWrite(0, kSlot, 0, offset, input.read<uint32_t>(), width);
                break;
            }
            case 1: {
                const auto offset = input.read<uint8_t>();
                bus.configRead(0, kSlot, 0, offset, kConfigSizes[input.read<uint8_t>() % 3]);
                break;
            }
            case 2:
            case 3: {
                const bool writing = opcode == 2;
                const uint64_t offset =
                    input.read<uint16_t>() % virtio::VirtioPciTransport::kBarSize;
                const unsigned width = kBarSizes[input.read<uint8_t>() % 4];
                const uint64_t value = writing ? input.read<uint64_t>() : 0;
                const auto base = transport.decodedBar(virtio::VirtioPciTransport::kBar);
                if (!base || offset + width > virtio::VirtioPciTransport::kBarSize)
                    break;
                uint8_t bytes[8];
                for (unsigned i = 0; i < 8; ++i)
                    bytes[i] = static_cast<uint8_t>(value >> (8 * i));
                if (!writing) {
                    mmio.read(*base + offset, {bytes, width});
                    break;
                }
                mmio.write(*base + offset, {bytes, width});
                if (offset == VIRTIO_PCI_COMMON_STATUS && width == 1 && bytes[0] == 0)
                    fuzz::check(transport.deviceStatus() == 0,
                                "device_status reads non-zero after a reset with nothing in "
                                "flight");
                break;
            }
            case 4: {
                const uint64_t address = input.read<uint32_t>() % kRam;
                const auto bytes = input.take(input.read<uint8_t>());
                memory.write(address, bytes.data(),
                             std::min<uint64_t>(bytes.size(), kRam - address));
                break;
            }
            default:
                transport.serveQueue(input.read<uint8_t>() % 2);
                break;
            }
        }
    } catch (const std::exception& error) {
        fuzz::failOnException("the virtio-pci transport", error);
    }
    return 0;
}
