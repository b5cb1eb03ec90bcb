// The I/O thread (common/IoThread.h) without /dev/kvm: eventfds stand for KVM_IOEVENTFD's, and
// the tests check that handlers run on the thread, that unwatch means the handler has stopped,
// and that calls from other threads wait for their task.
#include "common/IoThread.h"

#include "common/Error.h"

#include <QTest>
#include <atomic>
#include <chrono>
#include <sys/eventfd.h>
#include <thread>
#include <unistd.h>

using kvmscope::IoThread;

namespace {

struct EventFd {
    int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    ~EventFd() { ::close(fd); }
    void signal() const {
        const uint64_t one = 1;
        QVERIFY(::write(fd, &one, sizeof one) == sizeof one);
    }
    uint64_t drain() const {
        uint64_t count = 0;
        return ::read(fd, &count, sizeof count) == sizeof count ? count : 0;
    }
};

} // namespace

class IoThreadTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void handlersRunOnTheThreadForEachSignal() {
        IoThread thread("kvmscope-io");
        EventFd notify;
        std::atomic<uint64_t> seen{0};
        std::atomic<bool> onThread{false};
        thread.watch(notify.fd, [&] {
            onThread = thread.onThread();
            seen += notify.drain();
        });
        for (int i = 0; i < 100; ++i)
            notify.signal();
        QTRY_COMPARE(seen.load(), uint64_t{100});
        QVERIFY(onThread.load());
        thread.unwatch(notify.fd);
    }

    void unwatchReturnsOnlyOnceTheHandlerHasStopped() {
        IoThread thread("kvmscope-io");
        EventFd notify;
        std::atomic<bool> running{false};
        std::atomic<bool> release{false};
        std::atomic<int> runs{0};
        thread.watch(notify.fd, [&] {
            notify.drain();
            running = true;
            while (!release.load())
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            ++runs;
            running = false;
        });
        notify.signal();
        QTRY_VERIFY(running.load()); // the handler holds until released
        std::atomic<bool> unwatched{false};
        std::thread unwatcher([&] {
            thread.unwatch(notify.fd);
            unwatched = true;
        });
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        QVERIFY(!unwatched.load()); // still running: unwatch waits
        release = true;
        unwatcher.join();
        QVERIFY(!running.load());
        QCOMPARE(runs.load(), 1);
        notify.signal();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        QCOMPARE(runs.load(), 1); // never again
    }

    void callWaitsForItsTask() {
        IoThread thread("kvmscope-io");
        int value = 0;
        thread.call([&] { value = 42; });
        QCOMPARE(value, 42);
        // From the thread itself: at once, not a deadlock.
        EventFd notify;
        std::atomic<bool> nested{false};
        thread.watch(notify.fd, [&] {
            notify.drain();
            thread.call([&] { nested = true; });
        });
        notify.signal();
        QTRY_VERIFY(nested.load());
    }

    void watchingTwiceOrABadFdIsAnError() {
        IoThread thread("kvmscope-io");
        EventFd notify;
        thread.watch(notify.fd, [] {});
        QVERIFY_THROWS_EXCEPTION(kvmscope::Error, thread.watch(notify.fd, [] {}));
        QVERIFY_THROWS_EXCEPTION(kvmscope::Error, thread.watch(-1, [] {}));
        QVERIFY_THROWS_EXCEPTION(kvmscope::Error, thread.watch(-1, [] {})); // not kept
    }

    // Destroyed with a fd still watched and a signal pending: the destructor joins, and the
    // handler does not run after it.
    void destructionWithWatchedFds() {
        EventFd notify;
        std::atomic<int> runs{0};
        {
            IoThread thread("kvmscope-io");
            thread.watch(notify.fd, [&] {
                notify.drain();
                ++runs;
            });
            notify.signal();
        }
        const int after = runs.load();
        notify.signal();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        QCOMPARE(runs.load(), after);
    }
};

QTEST_GUILESS_MAIN(IoThreadTest)
#include "IoThreadTest.moc"
