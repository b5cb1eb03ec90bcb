#pragma once
// QEMU's firmware configuration device (fw_cfg), as SeaBIOS and OVMF expect it on x86: a 16-bit
// selector register at port 0x510, an 8-bit data register at 0x511 that reads the selected item
// byte by byte, and a 64-bit big-endian DMA address register at 0x514 through which the firmware
// has whole items copied into its memory. Every section number refers to QEMU's
// docs/specs/fw_cfg.rst ("QEMU Firmware Configuration (fw_cfg) Device").
//
// The items are a table: legacy items under fixed selectors (signature, id, RAM size, CPU
// counts), and named files from selector 0x0020 on, listed in the file directory (0x0019) sorted
// by name as QEMU lists them. FwCfgItems holds that table; FwCfg is the device that serves it.
//
// Locking: the mutex guards the registers, the counters and the items; a DMA transfer reads and
// writes guest memory under it (on the vcpu thread that triggered it).
#include "devices/EmulatedDevice.h"
#include "machine/BusDevice.h"

#include <array>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kvmscope {
class GuestMemory;
}

namespace kvmscope::firmware {

// Selector keys ("Firmware Configuration Items"; the legacy ones beyond the signature, id and
// file directory as QEMU assigns them and SeaBIOS's src/fw/paravirt.c reads them).
namespace fwcfg {
inline constexpr uint16_t kSignature = 0x0000; // "QEMU"
inline constexpr uint16_t kId = 0x0001;        // revision / feature bitmap, 32-bit little endian
inline constexpr uint16_t kRamSize = 0x0003;   // RAM size in bytes, 64-bit little endian
inline constexpr uint16_t kNoGraphic = 0x0004; // 16-bit: no display (SeaBIOS: serial console)
inline constexpr uint16_t kNbCpus = 0x0005;    // 16-bit: cpus present at boot
inline constexpr uint16_t kBootMenu = 0x000e;  // 16-bit: show the boot menu
inline constexpr uint16_t kMaxCpus = 0x000f;   // 16-bit: the most cpus the machine may have
inline constexpr uint16_t kFileDir = 0x0019;   // the file directory
inline constexpr uint16_t kFileFirst = 0x0020; // the first file's selector
// "Selector (Control) Register": bit 14 asked for write access to the item before QEMU 2.4; it
// selects the same item and is otherwise ignored (writes go through DMA, checked per item).
inline constexpr uint16_t kWriteFlag = 0x4000;
// Bit 15: an architecture-specific item (x86: 0x8000 on).
inline constexpr uint16_t kArchLocal = 0x8000;

// "Revision / feature bitmap".
inline constexpr uint32_t kIdTraditional = 1u << 0;
inline constexpr uint32_t kIdDma = 1u << 1;

// "File Directory": a file's name field, its terminating NUL included.
inline constexpr size_t kFileNameSize = 56;
inline constexpr size_t kFileEntrySize = 64; // size(4) select(2) reserved(2) name(56)

// "Guest-side DMA Interface": the FWCfgDmaAccess control word.
inline constexpr uint32_t kDmaError = 1u << 0;
inline constexpr uint32_t kDmaRead = 1u << 1;
inline constexpr uint32_t kDmaSkip = 1u << 2;
inline constexpr uint32_t kDmaSelect = 1u << 3;
inline constexpr uint32_t kDmaWrite = 1u << 4;
inline constexpr size_t kDmaAccessSize = 16; // control(4) length(4) address(8), big endian
// What the DMA address register reads as when DMA is there ("Signature"): "QEMU CFG".
inline constexpr std::array<uint8_t, 8> kDmaSignature{'Q', 'E', 'M', 'U', ' ', 'C', 'F', 'G'};

// "Register Locations", x86: offsets from the selector port (the data port is always the next
// one; the DMA register's two 32-bit halves follow at 0x514 and 0x518).
inline constexpr uint16_t kSelectorOffset = 0;
inline constexpr uint16_t kDataOffset = 1;
inline constexpr uint16_t kDmaOffset = 4;
inline constexpr uint16_t kPortCount = 12; // 0x510-0x51b
} // namespace fwcfg

// One item of the table.
struct FwCfgItem {
    uint16_t selector = 0;
    std::string name; // a file's name, or what a legacy item is ("signature", "RAM size")
    bool isFile = false;
    bool writable = false; // the guest may overwrite its bytes through DMA (not resize them)
    std::vector<uint8_t> data;
};

// The items the device serves. Starts with the signature, the id (DMA supported) and the file
// directory, which follows every change of the files.
class FwCfgItems {
public:
    FwCfgItems();

    // A legacy item under a fixed selector below kFileFirst or from kArchLocal on (not the
    // signature, id or directory). Throws InputError for a selector that is taken or in the
    // files' range.
    void addLegacy(uint16_t selector, std::string description, std::vector<uint8_t> data);
    // A named file. Files are kept sorted by name and numbered from kFileFirst in that order, as
    // QEMU numbers them, so adding a file may renumber the ones after it. Throws InputError for
    // an empty name, one of kFileNameSize bytes or more, a name already there, or more files
    // than selectors.
    void addFile(std::string name, std::vector<uint8_t> data, bool writable = false);
    // Replaces a file's bytes (its size may change); throws InputError when there is no such
    // file.
    void setFileData(std::string_view name, std::vector<uint8_t> data);

    // The item `selector` names, the write flag ignored; null when there is none.
    const FwCfgItem* find(uint16_t selector) const;
    FwCfgItem* find(uint16_t selector);
    const FwCfgItem* findFile(std::string_view name) const;
    // Legacy items in selector order, then the files in name (= selector) order.
    const std::vector<FwCfgItem>& legacyItems() const { return legacy_; }
    const std::vector<FwCfgItem>& files() const { return files_; }

private:
    void rebuildDirectory();

    std::vector<FwCfgItem> legacy_; // sorted by selector
    std::vector<FwCfgItem> files_;  // sorted by name; selector = kFileFirst + index
};

class FwCfg : public BusDevice, public EmulatedDevice {
public:
    static constexpr uint32_t kRegistersGroup = 0;
    static constexpr uint32_t kStatisticsGroup = 1;
    static constexpr uint32_t kItemsGroup = 2;

    // `memory` is what DMA transfers read and write; it must outlive the device.
    FwCfg(GuestMemory& memory, FwCfgItems items);

    // Offsets from the selector port (fwcfg::kSelectorOffset ...). The selector takes a 16-bit
    // write; the data port reads the selected item (an N-byte read returns the next N bytes) and
    // ignores writes; the DMA register reads as "QEMU CFG" and takes 32-bit writes of its halves
    // (or one 64-bit write). Other accesses count as odd and read as zero.
    void read(uint64_t offset, std::span<uint8_t> data) override;
    void write(uint64_t offset, std::span<const uint8_t> data) override;

    // Replaces a file's bytes before the guest runs (the machine fills the ACPI and SMBIOS files
    // at boot); the set of items stays what it was. Throws InputError when there is no such
    // file.
    void setFileData(std::string_view name, std::vector<uint8_t> data);
    // A copy of the items, for tests and the device view.
    FwCfgItems items() const;

    std::string name() const override { return "fw_cfg"; }

protected:
    void describeState(StateVisitor& state) override;
    std::mutex& stateMutex() const override { return mutex_; }

private:
    // Each under mutex_.
    void select(uint16_t selector);
    uint8_t readDataByte();
    void runDma(uint64_t accessAddress);
    bool dmaRead(uint64_t address, uint32_t length);
    bool dmaWrite(uint64_t address, uint32_t length);
    void skip(uint32_t length);
    uint64_t selectedSize() const;

    GuestMemory& memory_;
    mutable std::mutex mutex_;
    FwCfgItems items_;
    uint16_t selector_ = fwcfg::kSignature; // the last key selected (port or DMA)
    uint32_t offset_ = 0;                   // next byte of the selected item
    uint64_t dmaAddress_ = 0;               // the DMA address register; 0 after each transfer
    uint64_t selects_ = 0;
    uint64_t dataBytesRead_ = 0;
    uint64_t dataWritesIgnored_ = 0;
    uint64_t dmaTransfers_ = 0;
    uint64_t dmaErrors_ = 0;         // transfers that ended with the error bit
    uint64_t dmaBadDescriptors_ = 0; // FWCfgDmaAccess outside RAM: nothing could be reported
    uint64_t oddAccesses_ = 0;       // wrong width, unknown offset
    std::vector<std::string> itemDescriptions_; // the items group's, in declaration order
};

} // namespace kvmscope::firmware
