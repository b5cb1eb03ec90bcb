#pragma once
// A small encoder for the ACPI Machine Language subset kvmscope's DSDT needs, following the AML
// grammar of ACPI 6.4 chapter 20 ("ACPI Machine Language (AML) Specification"). kvmscope builds
// without iasl, so the DSDT is assembled here from these pieces; each function returns the
// complete encoding of one term, ready to be concatenated into a TermList.
#include <cstdint>
#include <string_view>
#include <vector>

namespace kvmscope::boot::acpi::aml {

using Bytes = std::vector<uint8_t>;

// 20.2.3 data objects and 20.2.5.4 opcodes used below.
constexpr uint8_t kZeroOp = 0x00;
constexpr uint8_t kOneOp = 0x01;
constexpr uint8_t kNameOp = 0x08;
constexpr uint8_t kBytePrefix = 0x0a;
constexpr uint8_t kWordPrefix = 0x0b;
constexpr uint8_t kDWordPrefix = 0x0c;
constexpr uint8_t kQWordPrefix = 0x0e;
constexpr uint8_t kScopeOp = 0x10;
constexpr uint8_t kBufferOp = 0x11;
constexpr uint8_t kPackageOp = 0x12;
constexpr uint8_t kExtOpPrefix = 0x5b;
constexpr uint8_t kDeviceOp = 0x82; // after kExtOpPrefix
constexpr uint8_t kRootChar = 0x5c; // '\'

// The largest value a PkgLength can hold: 28 bits (20.2.4).
constexpr uint64_t kMaxPkgLength = (1u << 28) - 1;

// 20.2.4 PkgLength for a package whose contents after the PkgLength are `contentLength` bytes.
// The encoded value counts the PkgLength bytes themselves: one byte holds up to 63; otherwise
// bits 7-6 of the lead byte give the number of following bytes (1-3), its bits 3-0 are the low
// nibble and each following byte the next 8 bits. Throws Error beyond kMaxPkgLength.
Bytes pkgLength(uint64_t contentLength);

// 20.2.2 NameString: an optional root prefix '\' and one NameSeg. The segment is upper-case
// letters, digits and '_', not starting with a digit; shorter than 4 characters it is padded with
// '_' as ASL does ("_S5" is the NameSeg "_S5_"). Throws Error for anything else.
Bytes nameString(std::string_view name);

// 20.2.3 ComputationalData: the shortest of ZeroOp, OneOp, ByteConst, WordConst, DWordConst and
// QWordConst that holds `value`.
Bytes integer(uint64_t value);

// A DWordConst holding the compressed EISA id of a 7-character PNP id such as "PNP0501"
// (ACPI 6.4, 19.6 "EISAID" and 6.1.5 "_HID": three letters of 5 bits each, 'A' = 1, then four hex
// digits, stored big-endian so the bytes read 0x41 0xd0 0x05 0x01 for "PNP0501"). Throws Error if
// malformed.
Bytes eisaId(std::string_view pnpId);

// DefName := NameOp NameString DataRefObject (20.2.5.1).
Bytes name(std::string_view nameString, const Bytes& value);
// DefPackage := PackageOp PkgLength NumElements PackageElementList (20.2.5.4), at most 255
// elements.
Bytes package(const std::vector<Bytes>& elements);
// DefBuffer := BufferOp PkgLength BufferSize ByteList (20.2.5.4).
Bytes buffer(const Bytes& bytes);
// DefScope := ScopeOp PkgLength NameString TermList (20.2.5.1).
Bytes scope(std::string_view nameString, const Bytes& termList);
// DefDevice := DeviceOp PkgLength NameString TermList (20.2.5.2).
Bytes device(std::string_view nameString, const Bytes& termList);

} // namespace kvmscope::boot::acpi::aml
