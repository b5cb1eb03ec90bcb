// The core's notification list (common/Signal.h): order and arguments, disconnection by the
// Connection, and the promise clients rely on to tear down safely: once disconnect returns, the
// slot is not running and will not run again, even while other threads emit.
#include "common/Signal.h"

#include <QTest>
#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

using namespace kvmscope;

class SignalTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void slotsRunInConnectionOrderWithTheArguments() {
        Signal<int, std::string> signal;
        std::vector<std::string> calls;
        const Connection first = signal.connect([&calls](int n, const std::string& text) {
            calls.push_back("a" + std::to_string(n) + text);
        });
        const Connection second = signal.connect([&calls](int n, const std::string& text) {
            calls.push_back("b" + std::to_string(n) + text);
        });
        signal.emit(7, "x");
        QCOMPARE(calls, (std::vector<std::string>{"a7x", "b7x"}));
        QCOMPARE(signal.connectionCount(), size_t{2});
    }

    void aDestroyedOrResetConnectionIsNoLongerCalled() {
        Signal<int> signal;
        int kept = 0;
        int dropped = 0;
        const Connection keep = signal.connect([&kept](int) { ++kept; });
        {
            const Connection scoped = signal.connect([&dropped](int) { ++dropped; });
            signal.emit(1);
        }
        Connection reset = signal.connect([&dropped](int) { ++dropped; });
        reset.reset();
        QVERIFY(!reset.connected());
        signal.emit(2);
        QCOMPARE(kept, 2);
        QCOMPARE(dropped, 1);
        QCOMPARE(signal.connectionCount(), size_t{1});
    }

    void aMovedConnectionDisconnectsOnce() {
        Signal<> signal;
        int calls = 0;
        Connection original = signal.connect([&calls] { ++calls; });
        Connection moved = std::move(original);
        QVERIFY(!original.connected()); // moved from: empty, disconnects nothing
        QVERIFY(moved.connected());
        signal.emit();
        moved = Connection();
        signal.emit();
        QCOMPARE(calls, 1);
        QCOMPARE(signal.connectionCount(), size_t{0});
    }

    // The teardown promise: a slot is running on another thread when this thread disconnects it;
    // disconnect must wait for it to return, so that what the slot touches may be freed after.
    void disconnectWaitsForASlotThatIsRunning() {
        Signal<int> signal;
        std::promise<void> slotEntered;
        std::promise<void> releaseSlot;
        std::shared_future<void> release = releaseSlot.get_future().share();
        std::atomic<bool> slotFinished{false};
        Connection connection = signal.connect([&](int) {
            slotEntered.set_value();
            release.wait();
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            slotFinished = true;
        });
        std::thread emitter([&signal] { signal.emit(1); });
        slotEntered.get_future().wait();
        std::thread releaser([&releaseSlot] {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            releaseSlot.set_value();
        });
        connection.reset(); // blocks until the slot has returned
        QVERIFY(slotFinished.load());
        emitter.join();
        releaser.join();
    }

    // Many threads emit while others connect and disconnect (run under ThreadSanitizer too).
    void concurrentEmitConnectAndDisconnect() {
        Signal<uint64_t> signal;
        std::atomic<uint64_t> received{0};
        const Connection always =
            signal.connect([&received](uint64_t value) { received.fetch_add(value); });
        std::atomic<bool> done{false};
        std::vector<std::thread> emitters;
        constexpr int kEmitters = 3;
        constexpr uint64_t kEmitsEach = 5000;
        for (int i = 0; i < kEmitters; ++i)
            emitters.emplace_back([&signal] {
                for (uint64_t n = 0; n < kEmitsEach; ++n)
                    signal.emit(1);
            });
        std::thread churn([&signal, &done] {
            while (!done.load()) {
                std::atomic<int> local{0};
                Connection temporary = signal.connect([&local](uint64_t) { ++local; });
                temporary.reset(); // `local` dies next: nothing may call the slot after this
            }
        });
        for (auto& thread : emitters)
            thread.join();
        done = true;
        churn.join();
        QCOMPARE(received.load(), kEmitters * kEmitsEach);
    }
};

QTEST_GUILESS_MAIN(SignalTest)
#include "SignalTest.moc"
