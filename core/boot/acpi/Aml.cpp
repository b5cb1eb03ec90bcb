#include "boot/acpi/Aml.h"

#include "common/Error.h"

#include <fmt/format.h>

namespace kvmscope::boot::acpi::aml {
namespace {

void append(Bytes& to, const Bytes& bytes) {
    to.insert(to.end(), bytes.begin(), bytes.end());
}

// Lead opcode(s), PkgLength, then the contents: the shape of every package-like term.
Bytes withPkgLength(std::initializer_list<uint8_t> opcode, const Bytes& contents) {
    Bytes term(opcode);
    append(term, pkgLength(contents.size()));
    append(term, contents);
    return term;
}

bool isLeadNameChar(char c) {
    return (c >= 'A' && c <= 'Z') || c == '_';
}

bool isNameChar(char c) {
    return isLeadNameChar(c) || (c >= '0' && c <= '9');
}

} // namespace

Bytes pkgLength(uint64_t contentLength) {
    // The value includes the encoding's own bytes, so try each size in turn.
    for (uint64_t extraBytes = 0; extraBytes <= 3; ++extraBytes) {
        const uint64_t total = contentLength + 1 + extraBytes;
        const uint64_t limit = extraBytes == 0 ? 0x3f : (uint64_t(1) << (4 + 8 * extraBytes)) - 1;
        if (total > limit)
            continue;
        if (extraBytes == 0)
            return {static_cast<uint8_t>(total)};
        Bytes encoded{static_cast<uint8_t>((extraBytes << 6) | (total & 0x0f))};
        for (uint64_t i = 0; i < extraBytes; ++i)
            encoded.push_back(static_cast<uint8_t>(total >> (4 + 8 * i)));
        return encoded;
    }
    throw Error(fmt::format("AML package of {} bytes exceeds the PkgLength limit of {} bytes",
                            contentLength, kMaxPkgLength));
}

Bytes nameString(std::string_view name) {
    Bytes encoded;
    std::string_view segment = name;
    if (!segment.empty() && segment.front() == '\\') {
        encoded.push_back(kRootChar);
        segment.remove_prefix(1);
    }
    bool valid = !segment.empty() && segment.size() <= 4 && isLeadNameChar(segment.front());
    for (const char c : segment)
        valid = valid && isNameChar(c);
    if (!valid)
        throw Error(fmt::format("\"{}\" is not an AML name: one segment of up to 4 characters "
                                "A-Z, 0-9, _ not starting with a digit, optionally after '\\'",
                                name));
    for (size_t i = 0; i < 4; ++i)
        encoded.push_back(static_cast<uint8_t>(i < segment.size() ? segment[i] : '_'));
    return encoded;
}

Bytes integer(uint64_t value) {
    if (value == 0)
        return {kZeroOp};
    if (value == 1)
        return {kOneOp};
    unsigned bytes = 8;
    uint8_t prefix = kQWordPrefix;
    if (value <= 0xff) {
        bytes = 1;
        prefix = kBytePrefix;
    } else if (value <= 0xffff) {
        bytes = 2;
        prefix = kWordPrefix;
    } else if (value <= 0xffff'ffff) {
        bytes = 4;
        prefix = kDWordPrefix;
    }
    Bytes encoded{prefix};
    for (unsigned i = 0; i < bytes; ++i)
        encoded.push_back(static_cast<uint8_t>(value >> (8 * i)));
    return encoded;
}

Bytes eisaId(std::string_view pnpId) {
    auto hexDigit = [](char c) -> int {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'A' && c <= 'F')
            return c - 'A' + 10;
        return -1;
    };
    bool valid = pnpId.size() == 7;
    for (size_t i = 0; valid && i < 7; ++i)
        valid = i < 3 ? (pnpId[i] >= 'A' && pnpId[i] <= 'Z') : hexDigit(pnpId[i]) >= 0;
    if (!valid)
        throw Error(
            fmt::format("\"{}\" is not an EISA id: three letters A-Z, four hex digits", pnpId));
    // Letters as 5-bit values ('A' = 1) packed into 15 bits after a zero bit, then the product
    // number's hex digits: 0 LLLLL LLLLL LLLLL DDDD DDDD DDDD DDDD, most significant byte first.
    const uint32_t letters = (uint32_t(pnpId[0] - '@') << 10) | (uint32_t(pnpId[1] - '@') << 5) |
                             uint32_t(pnpId[2] - '@');
    uint32_t product = 0;
    for (size_t i = 3; i < 7; ++i)
        product = (product << 4) | uint32_t(hexDigit(pnpId[i]));
    const uint32_t bigEndian = (letters << 16) | product;
    return {kDWordPrefix, static_cast<uint8_t>(bigEndian >> 24),
            static_cast<uint8_t>(bigEndian >> 16), static_cast<uint8_t>(bigEndian >> 8),
            static_cast<uint8_t>(bigEndian)};
}

Bytes name(std::string_view nameStr, const Bytes& value) {
    Bytes term{kNameOp};
    append(term, nameString(nameStr));
    append(term, value);
    return term;
}

Bytes package(const std::vector<Bytes>& elements) {
    if (elements.size() > 0xff)
        throw Error(
            fmt::format("AML package of {} elements: NumElements is one byte", elements.size()));
    Bytes contents{static_cast<uint8_t>(elements.size())};
    for (const Bytes& element : elements)
        append(contents, element);
    return withPkgLength({kPackageOp}, contents);
}

Bytes buffer(const Bytes& bytes) {
    Bytes contents = integer(bytes.size());
    append(contents, bytes);
    return withPkgLength({kBufferOp}, contents);
}

Bytes scope(std::string_view nameStr, const Bytes& termList) {
    Bytes contents = nameString(nameStr);
    append(contents, termList);
    return withPkgLength({kScopeOp}, contents);
}

Bytes device(std::string_view nameStr, const Bytes& termList) {
    Bytes contents = nameString(nameStr);
    append(contents, termList);
    return withPkgLength({kExtOpPrefix, kDeviceOp}, contents);
}

} // namespace kvmscope::boot::acpi::aml
