// fw_cfg (firmware/FwCfg.h), ports 0x510-0x51b: the port protocol and DMA transfers. Host input
// stands for the guest's memory writes: selector bits 0-6 pick a 32-bit word of the first 512
// bytes of RAM, written big endian as FWCfgDmaAccess fields are; with bit 7 set, a transfer
// starts whose FWCfgDmaAccess lies at the value's low 12 bits (16-byte aligned), as SeaBIOS
// starts one. Port writes of the DMA register reach any address, RAM or not.
#include "DeviceFuzzing.h"
#include "firmware/FirmwareFiles.h"
#include "firmware/FwCfg.h"
#include "machine/GuestMemory.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace kvmscope;
    using namespace kvmscope::firmware;
    static GuestMemory memory(GuestMemory::kMinRamSize);
    memory.fill(0, 0, memory.ramSize());
    FirmwareItemsConfig config;
    config.cpus = 2;
    config.maxCpus = 2;
    FwCfgItems items = buildFirmwareItems(memory, config);
    items.addFile("opt/kvmscope/writable", std::vector<uint8_t>(64, 0x5a), true);
    FwCfg device(memory, std::move(items));
    auto hostInput = [&](uint8_t selector, uint32_t value) {
        if (selector & 0x80) {
            const uint32_t address = value & 0xff0;
            const uint8_t low[4] = {uint8_t(address >> 24), uint8_t(address >> 16),
                                    uint8_t(address >> 8), uint8_t(address)};
            device.write(fwcfg::kDmaOffset + 4, low);
            return;
        }
        const uint8_t word[4] = {uint8_t(value >> 24), uint8_t(value >> 16), uint8_t(value >> 8),
                                 uint8_t(value)};
        memory.write(uint64_t(selector & 0x7f) * 4, word, sizeof word);
    };
    fuzz::DeviceDriver driver({device, device, fwcfg::kPortCount, hostInput});
    driver.run(data, size);
    // The items are the machine's: a guest cannot resize them or add any.
    const FwCfgItems after = device.items();
    fuzz::check(after.findFile("opt/kvmscope/writable")->data.size() == 64,
                "a DMA write resized an item");
    fuzz::check(after.files().size() == 9, "the guest changed the set of files");
    return 0;
}
