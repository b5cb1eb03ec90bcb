#include "devices/kernel/KernelPit.h"

#include <fmt/format.h>

namespace kvmscope {
namespace {

struct ChannelField {
    const char* name;
    AttrType type;
    const char* description;
};

// In kvm_pit_channel_state order (<asm/kvm.h>); meanings from the Intel 8254 datasheet.
constexpr ChannelField kChannelFields[] = {
    {"count", AttrType::U32, "initial count (0 means 65536)"},
    {"latched_count", AttrType::U16, "count latched by a counter-latch command"},
    {"count_latched", AttrType::U8, "a latched count is waiting to be read"},
    {"status_latched", AttrType::U8, "a latched status is waiting to be read"},
    {"status", AttrType::U8, "latched status byte (read-back command)"},
    {"read_state", AttrType::U8, "LSB/MSB read sequence position"},
    {"write_state", AttrType::U8, "LSB/MSB write sequence position"},
    {"write_latch", AttrType::U8, "first byte of a two-byte count write"},
    {"rw_mode", AttrType::U8, "access mode: 1 LSB, 2 MSB, 3 LSB then MSB"},
    // KVM resets every channel to mode 0xff (arch/x86/kvm/i8254.c, kvm_pit_reset) until a
    // control word programs it.
    {"mode", AttrType::U8, "counter mode 0-5; 0xff: never programmed since reset"},
    {"bcd", AttrType::U8, "BCD counting"},
    {"gate", AttrType::U8, "gate input level"},
    {"count_load_time", AttrType::U64, "host time (ns) when the count was loaded"},
};

uint64_t channelField(const kvm_pit_channel_state& c, uint64_t index) {
    switch (index) {
    case 0:
        return c.count;
    case 1:
        return c.latched_count;
    case 2:
        return c.count_latched;
    case 3:
        return c.status_latched;
    case 4:
        return c.status;
    case 5:
        return c.read_state;
    case 6:
        return c.write_state;
    case 7:
        return c.write_latch;
    case 8:
        return c.rw_mode;
    case 9:
        return c.mode;
    case 10:
        return c.bcd;
    case 11:
        return c.gate;
    default:
        return static_cast<uint64_t>(c.count_load_time);
    }
}

} // namespace

KernelPit::KernelPit(kvm::Vm& vm) : vm_(vm) {
    for (uint32_t channel = 0; channel < 3; ++channel)
        for (uint64_t i = 0; i < std::size(kChannelFields); ++i)
            attributes_.push_back({channel, i, fmt::format("channel {}", channel),
                                   kChannelFields[i].name, kChannelFields[i].type, AttrAccess::Read,
                                   kChannelFields[i].description});
    attributes_.push_back({kGlobalGroup, 0, "PIT", "flags", AttrType::U32, AttrAccess::Read,
                           "KVM_PIT_FLAGS_HPET_LEGACY when the HPET took over IRQ 0"});
}

AttrValue KernelPit::getAttr(uint32_t group, uint64_t attr) const {
    requireAttr(group, attr);
    const kvm_pit_state2 state = vm_.getPit2();
    if (group == kGlobalGroup)
        return AttrValue::of(state.flags);
    return AttrValue::of(channelField(state.channels[group], attr));
}

void KernelPit::setAttr(uint32_t group, uint64_t attr, const AttrValue& value) {
    requireWritable(requireAttr(group, attr), value); // every attribute is read-only: throws
}

} // namespace kvmscope
