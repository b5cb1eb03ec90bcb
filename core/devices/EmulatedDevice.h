#pragma once
// The base of every device kvmscope emulates in user space. A device implements `describeState`
// (devices/DeviceState.h) and names the mutex that guards its state; this class derives the
// attribute API and the saved state from that one declaration, always under that mutex.
#include "devices/Device.h"
#include "devices/DeviceState.h"

#include <mutex>

namespace kvmscope {

class EmulatedDevice : public Device {
public:
    DeviceKind kind() const override { return DeviceKind::UserSpace; }
    std::vector<AttributeInfo> attributes() const final;
    AttrValue getAttr(uint32_t group, uint64_t attr) const final;
    void setAttr(uint32_t group, uint64_t attr, const AttrValue& value) final;

    // Every saved field's value, by group and name.
    SavedDeviceState saveState() const;
    // Puts back a state saveState() gave, all or nothing: throws AttributeError naming the device
    // and the field when a field is unknown, missing, of another type or size, and then changes
    // nothing. Runs afterRestore() once the fields are in.
    void restoreState(const SavedDeviceState& state);

protected:
    // Lists the device's state; called with stateMutex() held. It must declare the same fields
    // in the same groups every time, whatever the device's state.
    virtual void describeState(StateVisitor& visitor) = 0;
    virtual std::mutex& stateMutex() const = 0;
    // After a restore, under the lock: recompute what follows from the fields (an IRQ level).
    virtual void afterRestore() {}
    // After an attribute write, with the lock released: for what must not run under it (a
    // reset request that stops the machine, which kicks every vcpu).
    virtual void afterAttributeWrite() {}

private:
    // Runs describeState with the lock held. Reading visitors do not write: the const_cast for
    // the const entry points is safe.
    void visit(StateVisitor& visitor) const;
};

} // namespace kvmscope
