#include "pci/MsixTable.h"

#include "common/Error.h"

#include <fmt/format.h>

namespace kvmscope::pci {

MsixTable::MsixTable(unsigned vectors) {
    if (vectors == 0 || vectors > kMaxVectors)
        throw Error(fmt::format("an MSI-X table has 1-{} vectors, not {}", kMaxVectors, vectors));
    entries_.resize(vectors);
}

uint32_t MsixTable::field(const Entry& entry, unsigned offset) {
    switch (offset) {
    case kAddressLow:
        return entry.addressLow;
    case kAddressHigh:
        return entry.addressHigh;
    case kData:
        return entry.data;
    default:
        return entry.control;
    }
}

void MsixTable::readTable(uint64_t offset, std::span<uint8_t> data) const {
    for (size_t i = 0; i < data.size(); ++i) {
        const uint64_t at = offset + i;
        const uint64_t index = at / kEntrySize;
        if (index >= entries_.size()) {
            data[i] = 0;
            continue;
        }
        const auto within = static_cast<unsigned>(at % kEntrySize);
        const uint32_t value = field(entries_[index], within & ~3u);
        data[i] = static_cast<uint8_t>(value >> (8 * (within & 3)));
    }
}

std::optional<unsigned> MsixTable::writeTable(uint64_t offset, std::span<const uint8_t> data) {
    std::optional<unsigned> changed;
    for (size_t i = 0; i < data.size(); ++i) {
        const uint64_t at = offset + i;
        const uint64_t index = at / kEntrySize;
        if (index >= entries_.size())
            continue;
        Entry& entry = entries_[index];
        const auto within = static_cast<unsigned>(at % kEntrySize);
        const unsigned shift = 8 * (within & 3);
        const uint32_t byte = uint32_t{data[i]} << shift;
        const uint32_t keep = ~(0xffu << shift);
        switch (within & ~3u) {
        case kAddressLow:
            entry.addressLow = ((entry.addressLow & keep) | byte) & ~3u;
            break;
        case kAddressHigh:
            entry.addressHigh = (entry.addressHigh & keep) | byte;
            break;
        case kData:
            entry.data = (entry.data & keep) | byte;
            break;
        default:
            entry.control = ((entry.control & keep) | byte) & kVectorMasked;
            break;
        }
        changed = static_cast<unsigned>(index);
    }
    return changed;
}

void MsixTable::readPba(uint64_t offset, std::span<uint8_t> data) const {
    for (size_t i = 0; i < data.size(); ++i) {
        uint8_t byte = 0;
        for (unsigned bit = 0; bit < 8; ++bit) {
            const uint64_t vector = (offset + i) * 8 + bit;
            if (vector < entries_.size() && entries_[vector].pending)
                byte = static_cast<uint8_t>(byte | (1u << bit));
        }
        data[i] = byte;
    }
}

void MsixTable::setControl(bool enabled, bool functionMasked) {
    enabled_ = enabled;
    functionMasked_ = functionMasked;
}

bool MsixTable::vectorMasked(unsigned vector) const {
    return vector < entries_.size() && (entries_[vector].control & kVectorMasked) != 0;
}

bool MsixTable::pending(unsigned vector) const {
    return vector < entries_.size() && entries_[vector].pending;
}

MsiMessage MsixTable::message(unsigned vector) const {
    if (vector >= entries_.size())
        return {};
    const Entry& entry = entries_[vector];
    return {uint64_t{entry.addressHigh} << 32 | entry.addressLow, entry.data};
}

std::optional<MsiMessage> MsixTable::signal(unsigned vector) {
    if (vector >= entries_.size())
        return std::nullopt;
    if (functionMasked_ || vectorMasked(vector)) {
        entries_[vector].pending = true;
        return std::nullopt;
    }
    return message(vector);
}

std::vector<unsigned> MsixTable::takeDeliverable() {
    std::vector<unsigned> deliverable;
    if (!enabled_ || functionMasked_)
        return deliverable;
    for (unsigned vector = 0; vector < entries_.size(); ++vector) {
        Entry& entry = entries_[vector];
        if (entry.pending && !(entry.control & kVectorMasked)) {
            entry.pending = false;
            deliverable.push_back(vector);
        }
    }
    return deliverable;
}

void MsixTable::restorePba(std::span<const uint8_t> pba) {
    for (unsigned vector = 0; vector < entries_.size(); ++vector)
        entries_[vector].pending =
            vector / 8 < pba.size() && (pba[vector / 8] & (1u << (vector % 8))) != 0;
}

void MsixTable::reset() {
    for (Entry& entry : entries_)
        entry = Entry{};
    enabled_ = false;
    functionMasked_ = false;
}

} // namespace kvmscope::pci
