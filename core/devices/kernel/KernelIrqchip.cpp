#include "devices/kernel/KernelIrqchip.h"

#include <fmt/format.h>

namespace kvmscope {
namespace {

// kvm_pic_state fields in <asm/kvm.h> order; the 8259A's registers (Intel 8259A datasheet).
struct PicField {
    const char* name;
    uint8_t kvm_pic_state::*member;
    bool writable;
    const char* description;
};

constexpr PicField kPicFields[] = {
    {"irr", &kvm_pic_state::irr, false, "interrupt request register"},
    {"imr", &kvm_pic_state::imr, true, "interrupt mask register (OCW1)"},
    {"isr", &kvm_pic_state::isr, false, "in-service register"},
    {"last_irr", &kvm_pic_state::last_irr, false, "IRR at the last edge check"},
    {"priority_add", &kvm_pic_state::priority_add, false, "highest-priority IRQ (rotation)"},
    {"irq_base", &kvm_pic_state::irq_base, false, "vector base (ICW2)"},
    {"read_reg_select", &kvm_pic_state::read_reg_select, false, "OCW3 read ISR instead of IRR"},
    {"poll", &kvm_pic_state::poll, false, "poll command pending"},
    {"special_mask", &kvm_pic_state::special_mask, false, "special mask mode"},
    {"init_state", &kvm_pic_state::init_state, false, "ICW sequence position"},
    {"auto_eoi", &kvm_pic_state::auto_eoi, false, "automatic end of interrupt (ICW4)"},
    {"rotate_on_auto_eoi", &kvm_pic_state::rotate_on_auto_eoi, false, "rotate on AEOI"},
    {"special_fully_nested_mode", &kvm_pic_state::special_fully_nested_mode, false,
     "special fully nested mode (ICW4)"},
    {"init4", &kvm_pic_state::init4, false, "ICW4 expected"},
    {"elcr", &kvm_pic_state::elcr, true, "edge/level control register"},
    {"elcr_mask", &kvm_pic_state::elcr_mask, false, "ELCR bits that may be set"},
};

constexpr uint64_t kIoapicBase = 0, kIoapicId = 1, kIoapicSelect = 2, kIoapicIrr = 3;
constexpr uint64_t kIoapicRedirection = 0x10; // + pin

uint32_t chipId(uint32_t group) {
    switch (group) {
    case KernelIrqchip::PicMaster:
        return KVM_IRQCHIP_PIC_MASTER;
    case KernelIrqchip::PicSlave:
        return KVM_IRQCHIP_PIC_SLAVE;
    default:
        return KVM_IRQCHIP_IOAPIC;
    }
}

} // namespace

KernelIrqchip::KernelIrqchip(kvm::Vm& vm) : vm_(vm) {
    for (uint32_t group : {PicMaster, PicSlave}) {
        const char* groupName = group == PicMaster ? "PIC master" : "PIC slave";
        for (uint64_t i = 0; i < std::size(kPicFields); ++i)
            attributes_.push_back(
                {group, i, groupName, kPicFields[i].name, AttrType::U8,
                 kPicFields[i].writable ? AttrAccess::ReadWrite : AttrAccess::Read,
                 kPicFields[i].description});
    }
    attributes_.push_back({Ioapic, kIoapicBase, "IOAPIC", "base_address", AttrType::U64,
                           AttrAccess::Read, "MMIO base of the IOAPIC"});
    attributes_.push_back(
        {Ioapic, kIoapicId, "IOAPIC", "id", AttrType::U32, AttrAccess::Read, "IOAPIC id"});
    attributes_.push_back({Ioapic, kIoapicSelect, "IOAPIC", "ioregsel", AttrType::U32,
                           AttrAccess::Read, "register select (IOREGSEL)"});
    attributes_.push_back({Ioapic, kIoapicIrr, "IOAPIC", "irr", AttrType::U32, AttrAccess::Read,
                           "pins with a pending request"});
    for (uint64_t pin = 0; pin < KVM_IOAPIC_NUM_PINS; ++pin)
        attributes_.push_back({Ioapic, kIoapicRedirection + pin, "IOAPIC",
                               fmt::format("redirection[{}]", pin), AttrType::U64,
                               AttrAccess::ReadWrite,
                               "redirection table entry: vector, delivery, mask, destination"});
}

AttrValue KernelIrqchip::getAttr(uint32_t group, uint64_t attr) const {
    requireAttr(group, attr);
    const kvm_irqchip chip = vm_.getIrqchip(chipId(group));
    if (group != Ioapic)
        return AttrValue::of(chip.chip.pic.*(kPicFields[attr].member));
    const auto& ioapic = chip.chip.ioapic;
    switch (attr) {
    case kIoapicBase:
        return AttrValue::of(ioapic.base_address);
    case kIoapicId:
        return AttrValue::of(ioapic.id);
    case kIoapicSelect:
        return AttrValue::of(ioapic.ioregsel);
    case kIoapicIrr:
        return AttrValue::of(ioapic.irr);
    default:
        return AttrValue::of(ioapic.redirtbl[attr - kIoapicRedirection].bits);
    }
}

void KernelIrqchip::setAttr(uint32_t group, uint64_t attr, const AttrValue& value) {
    const AttributeInfo info = requireAttr(group, attr);
    requireWritable(info, value);
    kvm_irqchip chip = vm_.getIrqchip(chipId(group));
    if (group != Ioapic)
        chip.chip.pic.*(kPicFields[attr].member) = static_cast<uint8_t>(value.scalar);
    else
        chip.chip.ioapic.redirtbl[attr - kIoapicRedirection].bits = value.scalar;
    vm_.setIrqchip(chip);
}

} // namespace kvmscope
