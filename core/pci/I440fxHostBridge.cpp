#include "pci/I440fxHostBridge.h"

namespace kvmscope::pci {

I440fxHostBridge::I440fxHostBridge()
    : PciFunction("i440FX host bridge",
                  PciIdentity{kVendorIntel, kDevice82441, kClassHostBridge, kRevision,
                              kHeaderTypeNormal, 0, 0, kInterruptPinNone}) {
    PciConfigSpace& space = config();
    // 3.2.3 PCICMD: MAE (1) and BME (2) are hardwired to 1; PERRE (6) and SERRE (8) writable.
    space.set16(kCommand, kCommandDefault);
    space.setWritable(kCommand, kCommandParityError | kCommandSerr, 2);
    // 3.2.4 PCISTS: FB2B and DEVSEL medium read-only; RTA, RMA, SSE, DPE write 1 to clear.
    space.set16(kStatus, kStatusDefault);
    // The host bridge has no cache line size register and a latency timer of its own (MLT).
    space.setWritable(kCacheLineSize, 0, 1);
    space.setWritable(kInterruptLine, 0, 1);
    space.set8(kInterruptLine, 0);
    space.set8(kPam0, 0x00);
    space.setWritable(kPam0, kPam0Writable, 1);
    for (unsigned i = 1; i < kPamCount; ++i)
        space.setWritable(kPam0 + i, kPamWritable, 1);
    // 3.2.19 DRB: 01h at reset (8 MB rows before firmware sizes memory).
    for (unsigned i = 0; i < kDrbCount; ++i) {
        space.set8(kDrb0 + i, 0x01);
        space.setWritable(kDrb0 + i, 0xff, 1);
    }
    space.set8(kSmram, kSmramBaseSegment);
    space.setWritable(kSmram, kSmramOpen | kSmramClose | kSmramLock | kSmramEnable, 1);
}

void I440fxHostBridge::afterConfigWrite(unsigned offset, unsigned size) {
    if (offset > kSmram || offset + size <= kSmram)
        return;
    PciConfigSpace& space = config();
    uint8_t smram = space.get8(kSmram);
    // 3.2.21: D_OPEN and D_CLS are not meant to be set together; with D_LCK set D_OPEN reads 0
    // and only D_CLS stays writable until reset.
    if (smram & kSmramLock) {
        smram = static_cast<uint8_t>(smram & ~kSmramOpen);
        space.set8(kSmram, smram);
        space.setWritable(kSmram, kSmramClose, 1);
    }
}

void I440fxHostBridge::describeDeviceState(StateVisitor& state) {
    state.group(kFirstDeviceGroup, "i440FX");
    static constexpr std::string_view kPamNames[kPamCount] = {"PAM0", "PAM1", "PAM2", "PAM3",
                                                              "PAM4", "PAM5", "PAM6"};
    configField(state, kPamNames[0], kPam0, 1,
                "0x59: 0xF0000-0xFFFFF, bit 4 read enable, bit 5 write enable (stored: the area "
                "is RAM in kvmscope whatever it says)");
    for (unsigned i = 1; i < kPamCount; ++i)
        configField(state, kPamNames[i], kPam0 + i, 1,
                    "0x5a-0x5f: two 16 KiB areas of 0xC0000-0xEFFFF, bits 0/1 and 4/5 read/write "
                    "enables (stored only)");
    configField(state, "SMRAM", kSmram, 1,
                "0x72: 6 D_OPEN, 5 D_CLS, 4 D_LCK, 3 G_SMRAME, 2-0 C_BASE_SEG (010); stored, "
                "kvmscope has no SMM");
    static constexpr std::string_view kDrbNames[kDrbCount] = {"DRB0", "DRB1", "DRB2", "DRB3",
                                                              "DRB4", "DRB5", "DRB6", "DRB7"};
    for (unsigned i = 0; i < kDrbCount; ++i)
        configField(state, kDrbNames[i], kDrb0 + i, 1,
                    "0x60-0x67: DRAM row boundary in 8 MiB units (stored)");
}

} // namespace kvmscope::pci
