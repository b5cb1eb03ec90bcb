#pragma once
// Decodings for the register view's debug and FPU/SSE groups. Bit positions follow the Intel
// SDM: DR6 (vol. 3B, 17.2.3), DR7 (vol. 3B, 17.2.4), the x87 control word (vol. 1, 8.1.5), status
// word (vol. 1, 8.1.3), FXSAVE's abridged tag word (vol. 1, 10.5.1.1) and MXCSR (vol. 1, 10.2.3).
#include <QString>
#include <cstddef>
#include <cstdint>

namespace kvmscope::ui {

// "B0 BS", or "" when no condition is set.
QString decodeDr6(uint64_t dr6);
// One entry per enabled breakpoint, e.g. "bp0 L exec len1; bp2 G write len4 GD".
QString decodeDr7(uint64_t dr7);
// "masks=IM DM ZM OM UM PM PC=extended RC=nearest".
QString decodeFcw(uint16_t fcw);
// "TOP=7 C1 IE", flags and condition codes that are set.
QString decodeFsw(uint16_t fsw);
// Physical registers holding a value: "R0 R7", or "empty".
QString decodeAbridgedTag(uint8_t ftw);
// "masks=IM DM ZM OM UM PM RC=nearest PE" (flags, masks, rounding, DAZ/FZ).
QString decodeMxcsr(uint32_t mxcsr);

// A little-endian register of `size` bytes as one hex number, most significant byte first:
// "0x0000000000000000ffffffff00000001" for an XMM register.
QString formatLittleEndianHex(const uint8_t* bytes, size_t size);
// An x87 register (80-bit extended precision, FXSAVE layout) as its approximate value.
QString decodeX87(const uint8_t (&fpr)[16]);

} // namespace kvmscope::ui
