#include "session/SessionSerialSink.h"

namespace kvmscope::ui {

SessionSerialSink::SessionSerialSink(QObject* parent) : QObject(parent) {
    throttle_.setSingleShot(true);
    throttle_.setInterval(kDeliveryIntervalMs);
    connect(&throttle_, &QTimer::timeout, this, &SessionSerialSink::deliverThrottled);
}

void SessionSerialSink::serialOutput(std::span<const uint8_t> bytes) {
    bool becameNonEmpty = false;
    {
        std::lock_guard lock(mutex_);
        becameNonEmpty = pending_.isEmpty() && !bytes.empty();
        pending_.append(reinterpret_cast<const char*>(bytes.data()),
                        static_cast<qsizetype>(bytes.size()));
        if (pending_.size() > kMaxPendingBytes) {
            const qsizetype excess = pending_.size() - kMaxPendingBytes;
            pending_.remove(0, excess);
            dropped_ += static_cast<quint64>(excess);
        }
    }
    if (becameNonEmpty)
        QMetaObject::invokeMethod(this, &SessionSerialSink::deliverPending, Qt::QueuedConnection);
}

quint64 SessionSerialSink::droppedBytes() const {
    std::lock_guard lock(mutex_);
    return dropped_;
}

void SessionSerialSink::deliverPending() {
    if (throttle_.isActive())
        return; // the throttle's end delivers what arrives meanwhile
    QByteArray bytes;
    {
        std::lock_guard lock(mutex_);
        bytes.swap(pending_);
    }
    if (bytes.isEmpty())
        return;
    throttle_.start();
    Q_EMIT output(bytes);
}

void SessionSerialSink::deliverThrottled() {
    // Bytes that arrived while throttled did not post (the buffer was not empty): take them now.
    deliverPending();
}

} // namespace kvmscope::ui
