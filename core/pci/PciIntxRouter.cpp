#include "pci/PciIntxRouter.h"

namespace kvmscope::pci {

PciIntxRouter::PciIntxRouter(std::array<IrqLine*, kLinks> apicLines,
                             std::array<IrqLine*, kIsaIrqs> isaLines)
    : apicLines_(apicLines), isaLines_(isaLines) {}

int PciIntxRouter::irqOf(uint8_t route) {
    if (route & kRouteDisabled)
        return -1;
    const unsigned irq = route & kRouteIrqMask;
    return (kRoutableIrqs >> irq) & 1 ? static_cast<int>(irq) : -1;
}

void PciIntxRouter::setSource(unsigned link, unsigned source, bool asserted) {
    std::lock_guard lock(mutex_);
    if (link >= kLinks || source >= sources_[link].size())
        return;
    const bool before = linkLevel(link);
    sources_[link].set(source, asserted);
    const bool after = linkLevel(link);
    if (before == after)
        return;
    if (apicLines_[link])
        apicLines_[link]->setLevel(after);
    driveIsaLines();
}

void PciIntxRouter::setRoute(unsigned link, uint8_t route) {
    std::lock_guard lock(mutex_);
    if (link >= kLinks || routes_[link] == route)
        return;
    routes_[link] = route;
    driveIsaLines();
}

void PciIntxRouter::driveIsaLines() {
    std::array<bool, kIsaIrqs> levels{};
    for (unsigned link = 0; link < kLinks; ++link) {
        const int irq = irqOf(routes_[link]);
        if (irq >= 0 && linkLevel(link))
            levels[static_cast<unsigned>(irq)] = true;
    }
    for (unsigned irq = 0; irq < kIsaIrqs; ++irq) {
        if (levels[irq] == isaLevels_[irq])
            continue;
        isaLevels_[irq] = levels[irq];
        if (isaLines_[irq])
            isaLines_[irq]->setLevel(levels[irq]);
    }
}

bool PciIntxRouter::linkAsserted(unsigned link) const {
    std::lock_guard lock(mutex_);
    return link < kLinks && linkLevel(link);
}

int PciIntxRouter::routedIrq(unsigned link) const {
    std::lock_guard lock(mutex_);
    return link < kLinks ? irqOf(routes_[link]) : -1;
}

} // namespace kvmscope::pci
