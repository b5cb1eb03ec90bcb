// Serving the queues, interrupts (MSI-X or INTx#) and the doorbells KVM takes (KVM_IOEVENTFD).
// Part of VirtioPciTransport (its header says what it is).
#include "virtio/VirtioPciShared.h"
#include "virtio/VirtioPciTransport.h"

#include <algorithm>
#include <fmt/format.h>
#include <linux/pci_regs.h>

namespace kvmscope::virtio {
using namespace pci_transport;

// ---- queues -------------------------------------------------------------------------------

bool VirtioPciTransport::servable(const Queue& queue) const {
    // 3.1.1: no buffers are used before DRIVER_OK; 6.2.2: without bus mastering the function
    // may not reach memory. A hold (a snapshot) takes nothing new either.
    return queue.enabled && queue.ring && (status_ & kStatusDriverOk) &&
           !(status_ & (kStatusNeedsReset | kStatusFailed)) && !resetPending_ && !disconnected_ &&
           requestHolds_ == 0 && (config().get16(pci::kCommand) & pci::kCommandBusMaster);
}

bool VirtioPciTransport::holdRequests(std::chrono::milliseconds timeout) {
    std::unique_lock lock(stateMutex());
    ++requestHolds_;
    // A server that sees the hold returns the chain it has and takes no other (serveQueue).
    return queuesIdle_.wait_for(lock, timeout, [this] {
        return std::none_of(queues_.begin(), queues_.end(),
                            [](const auto& queue) { return queue->busy; });
    });
}

void VirtioPciTransport::releaseRequests() {
    std::vector<unsigned> enabled;
    {
        std::lock_guard lock(stateMutex());
        if (requestHolds_ == 0 || --requestHolds_ > 0)
            return;
        for (unsigned index = 0; index < queues_.size(); ++index)
            if (queues_[index]->enabled)
                enabled.push_back(index);
    }
    // Without the lock: without an I/O thread the queue is served on this thread.
    for (const unsigned index : enabled)
        ringDoorbell(index);
}

void VirtioPciTransport::ringDoorbell(unsigned index) {
    if (wiring_.ioThread)
        queues_[index]->doorbell.signal();
    else
        serveQueue(index);
}

void VirtioPciTransport::serveQueue(unsigned index) {
    if (index >= queues_.size())
        return;
    Queue& queue = *queues_[index];
    {
        std::lock_guard lock(stateMutex());
        // One server per queue: another thread serving it takes what was just offered too,
        // since it stops only once the ring is empty under this lock.
        if (queue.busy)
            return;
        queue.busy = true;
    }
    for (;;) {
        {
            std::lock_guard lock(stateMutex());
            bool taken = false;
            if (servable(queue)) {
                try {
                    taken = queue.ring->pop(queue.chain);
                } catch (const QueueError& error) {
                    needsReset(fmt::format("queue {}: {}", index, error.what()));
                }
            }
            if (!taken) {
                queue.busy = false;
                if (resetPending_ && std::none_of(queues_.begin(), queues_.end(),
                                                  [](const auto& q) { return q->busy; }))
                    reset();
                queuesIdle_.notify_all(); // a hold waits for this
                return;
            }
            ++queue.inFlight;
        }
        uint32_t written = 0;
        std::string failure;
        try {
            written = device_->serve(index, queue.chain);
        } catch (const Error& error) {
            // QueueError from the request's framing, GuestMemoryError if RAM was not where the
            // chain said: either way the driver broke the queue.
            failure = error.what();
        }
        std::lock_guard lock(stateMutex());
        --queue.inFlight;
        if (!failure.empty()) {
            needsReset(fmt::format("queue {}: {}", index, failure));
            continue; // the next round stops: the queue is no longer servable
        }
        queue.ring->push(queue.chain.head, written);
        if (queue.ring->driverWantsInterrupt())
            signalQueue(index);
    }
}

// ---- interrupts -----------------------------------------------------------------------------

void VirtioPciTransport::signalQueue(unsigned index) {
    signalVector(queues_[index]->msixVector, kIsrQueue);
}

void VirtioPciTransport::signalConfigChange() {
    signalVector(configMsixVector_, kIsrConfig);
}

void VirtioPciTransport::signalVector(uint16_t vector, uint8_t isrBit) {
    if (msix_ && msix_->enabled()) {
        // 4.1.5.1.3: with MSI-X, NO_VECTOR means no interrupt at all.
        if (vector == kNoVector)
            return;
        if (msix_->signal(vector))
            sendMsi(vector);
        return;
    }
    // 4.1.4.5: without MSI-X, the ISR status says why and INTx# is asserted until it is read.
    isr_ |= isrBit;
    ++interrupts_;
    setIntxLocked(true);
}

void VirtioPciTransport::updateMsixControl() {
    const uint16_t control = config().get16(msixCapability_ + PCI_MSIX_FLAGS);
    const bool wasEnabled = msix_->enabled();
    msix_->setControl((control & PCI_MSIX_FLAGS_ENABLE) != 0,
                      (control & PCI_MSIX_FLAGS_MASKALL) != 0);
    if (msix_->enabled() && !wasEnabled) {
        // 6.8.3.3 (PCI 3.0): while MSI-X is enabled the function does not use INTx#; and the
        // kernel's routes take the table as it is now.
        setIntxLocked(false);
        if (wiring_.msi)
            for (unsigned vector = 0; vector < msix_->vectors(); ++vector)
                wiring_.msi->route(vector, msix_->message(vector));
    }
    for (const unsigned vector : msix_->takeDeliverable())
        sendMsi(vector);
}

void VirtioPciTransport::sendMsi(unsigned vector) {
    if (!wiring_.msi)
        return;
    ++interrupts_;
    wiring_.msi->send(vector, msix_->message(vector));
}

void VirtioPciTransport::updateDoorbells() {
    if (!wiring_.doorbells)
        return;
    for (unsigned index = 0; index < queues_.size(); ++index) {
        Queue& queue = *queues_[index];
        std::optional<uint64_t> wanted;
        if (barBase_ && queue.enabled)
            wanted = *barBase_ + kNotifyOffset + uint64_t{index} * kNotifyOffMultiplier;
        if (wanted == queue.doorbellAt)
            continue;
        if (queue.doorbellAt)
            wiring_.doorbells->detach(*queue.doorbellAt, kDoorbellWriteSize, queue.doorbell.fd());
        queue.doorbellAt.reset();
        if (wanted && wiring_.doorbells->attach(*wanted, kDoorbellWriteSize, queue.doorbell.fd()))
            queue.doorbellAt = wanted;
    }
}

} // namespace kvmscope::virtio
