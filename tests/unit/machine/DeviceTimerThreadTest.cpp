// The machine's device timers (machine/DeviceTimerThread.h) on the real clock: nothing starts until
// a timer is armed, a periodic timer's handler runs on the thread until it is disarmed, an expiry
// time in the past fires at once, and a timer can be destroyed while its handler waits for a lock
// (the RTC's teardown). Timing is checked loosely: a busy or emulated host delays wake-ups.
#include "machine/DeviceTimerThread.h"

#include <QTest>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

using kvmscope::DeviceTimerThread;
using namespace std::chrono_literals;

namespace {

std::chrono::nanoseconds realtimeNow() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::system_clock::now().time_since_epoch());
}

// Waits up to `limit` for `condition`.
template <typename Condition> bool waitFor(Condition condition, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > end)
            return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

} // namespace

class DeviceTimerThreadTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void nothingStartsUntilATimerIsArmed() {
        DeviceTimerThread timers("kvmscope-test");
        auto timer = timers.createTimer([] {});
        timer->disarm();
        QVERIFY(!timers.started());
        timer->arm(realtimeNow() + 1h, 0ns);
        QVERIFY(timers.started());
    }

    void periodicTimerRunsOnTheThreadUntilDisarmed() {
        DeviceTimerThread timers("kvmscope-test");
        std::atomic<int> expiries{0};
        std::atomic<bool> onOtherThread{true};
        const auto testThread = std::this_thread::get_id();
        auto timer = timers.createTimer([&] {
            if (std::this_thread::get_id() == testThread)
                onOtherThread = false;
            ++expiries;
        });
        timer->arm(realtimeNow() + 1ms, 2ms);
        QVERIFY(waitFor([&] { return expiries >= 5; }, 10s));
        QVERIFY(onOtherThread);
        timer->disarm();
        std::this_thread::sleep_for(20ms); // a wake-up already under way may still finish
        const int settled = expiries;
        std::this_thread::sleep_for(50ms);
        QCOMPARE(expiries.load(), settled);
    }

    void pastExpiryFiresAtOnceAndOneShotOnlyOnce() {
        DeviceTimerThread timers("kvmscope-test");
        std::atomic<int> expiries{0};
        auto timer = timers.createTimer([&] { ++expiries; });
        timer->arm(realtimeNow() - 1s, 0ns);
        QVERIFY(waitFor([&] { return expiries == 1; }, 10s));
        std::this_thread::sleep_for(50ms);
        QCOMPARE(expiries.load(), 1);
    }

    // The device's teardown: the handler takes the device's lock, which the destroying thread
    // does not hold; the destructor waits for the handler and no call comes after it.
    void destroyingWaitsForARunningHandler() {
        DeviceTimerThread timers("kvmscope-test");
        std::mutex deviceLock;
        std::atomic<bool> inHandler{false};
        std::atomic<bool> destroyed{false};
        std::atomic<bool> calledAfterDestruction{false};
        std::unique_ptr<kvmscope::DeviceTimer> timer;
        timer = timers.createTimer([&] {
            inHandler = true;
            std::lock_guard lock(deviceLock);
            if (destroyed)
                calledAfterDestruction = true;
        });
        std::unique_lock held(deviceLock);
        timer->arm(realtimeNow(), 1ms);
        QVERIFY(waitFor([&] { return inHandler.load(); }, 10s));
        std::thread destroyer([&] {
            auto doomed = std::move(timer);
            doomed.reset();
            destroyed = true;
        });
        std::this_thread::sleep_for(10ms);
        QVERIFY(!destroyed); // waiting for the handler, which waits for the lock
        held.unlock();
        destroyer.join();
        QVERIFY(destroyed);
        std::this_thread::sleep_for(10ms);
        QVERIFY(!calledAfterDestruction);
    }
};

QTEST_APPLESS_MAIN(DeviceTimerThreadTest)
#include "DeviceTimerThreadTest.moc"
