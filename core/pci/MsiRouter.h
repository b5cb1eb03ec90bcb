#pragma once
// How a function's MSI-X messages reach the interrupt controller without the function knowing
// KVM (as devices/IrqLine.h is for INTx#): the machine hands it a router backed by KVM_IRQFD and
// a GSI route per vector, or by KVM_SIGNAL_MSI; tests hand it a recorder.
#include "pci/MsixTable.h"

namespace kvmscope::pci {

class MsiRouter {
public:
    virtual ~MsiRouter() = default;
    // How many vectors the router serves (vector numbers 0 to vectors() - 1).
    virtual unsigned vectors() const = 0;
    // The table entry of `vector` now holds `message`: a route kept in the kernel follows it.
    // Called with the function's lock held; must not call back into the function.
    virtual void route(unsigned vector, const MsiMessage& message) = 0;
    // Sends `vector`'s message (`message`, as last routed). Same rules as route.
    virtual void send(unsigned vector, const MsiMessage& message) = 0;
};

} // namespace kvmscope::pci
