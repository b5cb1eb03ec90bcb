#pragma once
// COM1's output for the GUI. The UART calls serialOutput() on a vcpu thread, possibly for every
// byte; this sink only appends to a buffer under a short lock and, when the buffer goes from
// empty to non-empty, posts ONE queued notification to the GUI thread (design: "Devices publish
// output through coalesced signals"). The GUI side takes everything buffered at once, at most
// about 30 times a second, so a guest flooding the port costs one event per frame, not per byte.
#include "devices/SerialSink.h"

#include <QByteArray>
#include <QObject>
#include <QTimer>
#include <mutex>

namespace kvmscope::ui {

class SessionSerialSink : public QObject, public SerialSink {
    Q_OBJECT
public:
    // Bytes held for a GUI that does not drain (a blocked event loop); older ones are dropped.
    static constexpr qsizetype kMaxPendingBytes = 4 << 20;
    static constexpr int kDeliveryIntervalMs = 33; // ~30 Hz

    explicit SessionSerialSink(QObject* parent = nullptr);

    // SerialSink, on a vcpu thread.
    void serialOutput(std::span<const uint8_t> bytes) override;

    quint64 droppedBytes() const;

Q_SIGNALS:
    // GUI thread: the bytes the guest transmitted since the previous delivery.
    void output(const QByteArray& bytes);

private:
    void deliverPending();   // GUI thread, through the queued notification
    void deliverThrottled(); // GUI thread, when the throttle interval ends

    mutable std::mutex mutex_;
    QByteArray pending_;  // guarded by mutex_
    quint64 dropped_ = 0; // guarded by mutex_
    QTimer throttle_;     // GUI thread only: running while deliveries are held back
};

} // namespace kvmscope::ui
