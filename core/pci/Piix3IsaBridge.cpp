#include "pci/Piix3IsaBridge.h"

#include "pci/PciIntxRouter.h"

namespace kvmscope::pci {
namespace {

// Stored registers of 2.2: offset, size, reset value, writable bits.
struct StoredRegister {
    unsigned offset;
    unsigned size;
    uint32_t reset;
    uint32_t writable;
};
constexpr StoredRegister kStoredRegisters[] = {
    {0x4c, 1, 0x4d, 0x7f},               // IORT: ISA I/O recovery timer
    {0x4e, 2, 0x0003, 0x07ff},           // XBCS: X-bus chip select enable
    {0x69, 1, 0x02, 0xfe},               // TOM: top of memory
    {0x6a, 2, 0x0000, 0x0087},           // MSTAT: miscellaneous status
    {0x70, 1, 0x80, 0xef},               // MBIRQ0: motherboard device IRQ route control 0
    {0x71, 1, 0x80, 0xef},               // MBIRQ1
    {0x76, 1, 0x04, 0x87},               // MBDMA0: motherboard device DMA control
    {0x77, 1, 0x04, 0x87},               // MBDMA1
    {0x78, 2, 0x0002, 0xffef},           // PCSC: programmable chip select control
    {0x80, 1, 0x00, 0x7f},               // APICBASE: APIC base address relocation
    {0x82, 1, 0x00, 0x0f},               // DLC: deterministic latency control
    {0xa0, 1, 0x08, 0x1f},               // SMICNTL: SMI control
    {0xa2, 2, 0x0000, 0x00ff},           // SMIEN: SMI enable
    {0xa4, 4, 0x0000'0000, 0x00ff'e7ff}, // SEE: system event enable
    {0xa8, 1, 0x0f, 0xff},               // FTMR: fast off timer
    {0xaa, 2, 0x0000, 0x01ff},           // SMIREQ: SMI request
    {0xac, 1, 0x00, 0xff},               // CTLTMR: clock scale STPCLK# low timer
    {0xae, 1, 0x00, 0xff},               // CTHTMR: clock scale STPCLK# high timer
};

} // namespace

Piix3IsaBridge::Piix3IsaBridge(PciIntxRouter* router)
    : PciFunction("PIIX3 ISA bridge",
                  PciIdentity{kVendorIntel, kDevice82371SbIsa, kClassIsaBridge, kRevision,
                              kHeaderTypeMultiFunction, 0, 0, kInterruptPinNone}),
      router_(router) {
    PciConfigSpace& space = config();
    // 2.2.3 PCICMD: I/O space, memory space and bus master hardwired on; 2.2.4 PCISTS.
    space.set16(kCommand, kCommandDefault);
    space.setWritable(kCommand, kCommandSerr, 2);
    space.set16(kStatus, kStatusDefault);
    space.setWritable(kCacheLineSize, 0, 1);
    space.setWritable(kLatencyTimer, 0, 1);
    space.setWritable(kInterruptLine, 0, 1);
    space.set8(kInterruptLine, 0);
    for (unsigned i = 0; i < kPirqCount; ++i) {
        space.set8(kPirqRouteControl + i, kPirqRouteDefault);
        space.setWritable(kPirqRouteControl + i, kPirqRouteWritable, 1);
    }
    for (const StoredRegister& reg : kStoredRegisters) {
        space.setRaw(reg.offset, reg.reset, reg.size);
        space.setWritable(reg.offset, reg.writable, reg.size);
    }
}

void Piix3IsaBridge::afterConfigWrite(unsigned offset, unsigned size) {
    if (!router_)
        return;
    for (unsigned link = 0; link < kPirqCount; ++link) {
        const unsigned reg = kPirqRouteControl + link;
        if (offset <= reg && reg < offset + size)
            router_->setRoute(link, config().get8(reg));
    }
}

void Piix3IsaBridge::describeDeviceState(StateVisitor& state) {
    state.group(kFirstDeviceGroup, "PIRQ routing");
    static constexpr std::string_view kNames[kPirqCount] = {"PIRQRCA", "PIRQRCB", "PIRQRCC",
                                                            "PIRQRCD"};
    static constexpr std::string_view kLinkNames[kPirqCount] = {
        "PIRQA# asserted", "PIRQB# asserted", "PIRQC# asserted", "PIRQD# asserted"};
    for (unsigned link = 0; link < kPirqCount; ++link) {
        configField(state, kNames[link], kPirqRouteControl + link, 1,
                    "0x60-0x63: bit 7 routing disabled, bits 3-0 the ISA IRQ (3-7, 9-12, 14, 15) "
                    "the PIRQ line drives besides its I/O APIC input (GSI 16-19)");
        state.readOnly(kLinkNames[link], AttrType::Bool,
                       "whether a function wired to this PIRQ line asserts INTx#",
                       [this, link] { return uint64_t{router_ && router_->linkAsserted(link)}; });
    }
    state.group(kFirstDeviceGroup + 1, "PIIX3");
    static constexpr std::string_view kStoredNames[] = {
        "IORT",     "XBCS", "TOM",     "MSTAT", "MBIRQ0", "MBIRQ1", "MBDMA0", "MBDMA1", "PCSC",
        "APICBASE", "DLC",  "SMICNTL", "SMIEN", "SEE",    "FTMR",   "SMIREQ", "CTLTMR", "CTHTMR"};
    static_assert(std::size(kStoredNames) == std::size(kStoredRegisters));
    for (size_t i = 0; i < std::size(kStoredRegisters); ++i)
        configField(state, kStoredNames[i], kStoredRegisters[i].offset, kStoredRegisters[i].size,
                    "stored with its reset value; no effect in kvmscope");
}

} // namespace kvmscope::pci
