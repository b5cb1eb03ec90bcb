#pragma once
// A device's saved state (devices/DeviceState.h, SavedDeviceState: every field its declarations
// mark as saved, by group and name) as bytes in a snapshot section, and back. Fields are stored
// by name, not position, so a device whose declarations gain or reorder fields still reads its
// old snapshots field by field (EmulatedDevice::restoreState then says which field is missing).
//
// Encoding (little-endian): the field count (u32), then per field: group (u16 length + bytes),
// name (u16 length + bytes), type (u8, AttrType), value (u64) for scalars or length (u32) + bytes
// for Bytes.
#include "devices/DeviceState.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace kvmscope::snapshot {

std::vector<uint8_t> encodeDeviceState(const SavedDeviceState& state);
// Throws LoadError naming `file`, `section` and what is wrong (a length past the end, an unknown
// type, bytes left over) for bytes encodeDeviceState did not write.
SavedDeviceState decodeDeviceState(std::span<const uint8_t> bytes, const std::string& file,
                                   const std::string& section);

} // namespace kvmscope::snapshot
