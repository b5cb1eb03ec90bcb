// The loaders' memory: scratch pages (common/ScratchPages.h) that cost RSS only for the non-zero
// pages written and give pages back on release, and read-only file mappings
// (common/MappedFile.h). Residency is checked with mincore(2) and /proc/self/pagemap, so the
// tests see what the kernel backs, not only what the bytes read as.
#include "common/ScratchPages.h"

#include "common/Error.h"
#include "common/MappedFile.h"

#include <QTemporaryDir>
#include <QTest>
#include <csignal>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

using namespace kvmscope;

namespace {

const uint64_t kPage = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));

// Which of the `count` pages from `address` (page-aligned) are resident (mincore(2)): the RSS a
// buffer really costs.
std::vector<bool> resident(const uint8_t* address, uint64_t count) {
    std::vector<unsigned char> flags(count);
    if (::mincore(const_cast<uint8_t*>(address), count * kPage, flags.data()) != 0)
        qFatal("mincore failed");
    std::vector<bool> result;
    for (unsigned char flag : flags)
        result.push_back(flag & 1);
    return result;
}

// Which of the `count` pages from `address` are mapped in this process's page tables
// (/proc/self/pagemap, bit 63 "present"): for a file mapping, mincore(2) reports the page cache,
// not the process's share of it.
std::vector<bool> mappedIn(const uint8_t* address, uint64_t count) {
    const int fd = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        qFatal("cannot open /proc/self/pagemap");
    std::vector<uint64_t> entries(count);
    const off_t offset = off_t(reinterpret_cast<uintptr_t>(address) / kPage * sizeof(uint64_t));
    const ssize_t length = ssize_t(count * sizeof(uint64_t));
    const bool read = ::pread(fd, entries.data(), size_t(length), offset) == length;
    ::close(fd);
    if (!read)
        qFatal("cannot read /proc/self/pagemap");
    std::vector<bool> result;
    for (uint64_t entry : entries)
        result.push_back((entry >> 63) & 1);
    return result;
}

std::vector<uint8_t> filled(uint64_t size, uint8_t value) {
    return std::vector<uint8_t>(size, value);
}

} // namespace

class ScratchPagesTest : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init() { QVERIFY(dir_.isValid()); }

    void appendedBytesReadBack() {
        ScratchPages pages(4 * kPage);
        std::vector<uint8_t> expected;
        // Pieces that start and end inside pages, zeros included.
        for (const auto& piece :
             {filled(100, 1), filled(kPage, 0), filled(2 * kPage - 50, 7), filled(55, 0)}) {
            QCOMPARE(pages.append(piece), uint64_t(piece.size()));
            expected.insert(expected.end(), piece.begin(), piece.end());
        }
        QCOMPARE(pages.size(), uint64_t(expected.size()));
        QCOMPARE(std::vector<uint8_t>(pages.bytes().begin(), pages.bytes().end()), expected);
    }

    void appendStopsAtTheCapacity() {
        ScratchPages pages(10);
        QCOMPARE(pages.append(filled(8, 3)), uint64_t(8));
        QCOMPARE(pages.append(filled(8, 4)), uint64_t(2));
        QCOMPARE(pages.room(), uint64_t(0));
        QCOMPARE(pages.append(filled(1, 5)), uint64_t(0));
        QCOMPARE(pages.bytes()[9], uint8_t(4));
    }

    // A page whose bytes are all zero is never written, so it is never backed.
    void zeroPagesCostNothing() {
        ScratchPages pages(4 * kPage);
        pages.append(filled(kPage, 9));
        pages.append(filled(2 * kPage, 0));
        auto last = filled(kPage, 0);
        last.back() = 1; // one non-zero byte backs its page
        pages.append(last);
        QCOMPARE(resident(pages.bytes().data(), 4), (std::vector<bool>{true, false, false, true}));
        QCOMPARE(pages.bytes()[kPage + 17], uint8_t(0));
    }

    void releasedPagesAreGivenBackAndReadAsZero() {
        ScratchPages pages(4 * kPage);
        pages.append(filled(4 * kPage, 6));
        QCOMPARE(resident(pages.bytes().data(), 4), (std::vector<bool>(4, true)));
        // Below 2.5 pages: the third page is still partly needed and stays.
        pages.releaseBelow(2 * kPage + kPage / 2);
        QCOMPARE(resident(pages.bytes().data(), 4), (std::vector<bool>{false, false, true, true}));
        QCOMPARE(pages.bytes()[2 * kPage], uint8_t(6));
        // An earlier end changes nothing; a later one releases what lies between.
        pages.releaseBelow(kPage);
        QCOMPARE(pages.bytes()[2 * kPage + 1], uint8_t(6));
        pages.releaseBelow(UINT64_MAX);
        QCOMPARE(pages.bytes()[3 * kPage], uint8_t(0));
        QCOMPARE(pages.bytes()[0], uint8_t(0));
    }

    void directWritesAreCommitted() {
        ScratchPages pages(100);
        pages.append(filled(10, 1));
        const std::span<uint8_t> rest = pages.unwritten();
        QCOMPARE(uint64_t(rest.size()), uint64_t(90));
        rest[0] = 7;
        rest[1] = 8;
        pages.commit(2);
        QCOMPARE(pages.size(), uint64_t(12));
        QCOMPARE(pages.bytes()[11], uint8_t(8));
        QVERIFY_THROWS_EXCEPTION(Error, pages.commit(89));
        QCOMPARE(pages.size(), uint64_t(12));
    }

    void movedBufferKeepsItsBytes() {
        ScratchPages first(kPage);
        first.append(filled(10, 2));
        ScratchPages second = std::move(first);
        QCOMPARE(second.size(), uint64_t(10));
        QCOMPARE(second.bytes()[9], uint8_t(2));
        QCOMPARE(first.size(), uint64_t(0));
        QVERIFY(first.bytes().empty());
    }

    void zeroCapacityIsAnError() {
        QVERIFY_THROWS_EXCEPTION(Error, { ScratchPages pages(0); });
    }

    void mappedFileShowsTheFile() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const std::string path = dir.filePath("file.bin").toStdString();
        std::vector<uint8_t> bytes(3 * kPage + 11);
        for (size_t i = 0; i < bytes.size(); ++i)
            bytes[i] = static_cast<uint8_t>(i * 13);
        const int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_TRUNC, 0644);
        QVERIFY(fd >= 0);
        QCOMPARE(::write(fd, bytes.data(), bytes.size()), ssize_t(bytes.size()));
        MappedFile file(fd, bytes.size(), path);
        ::close(fd); // the mapping keeps the file
        QCOMPARE(std::vector<uint8_t>(file.bytes().begin(), file.bytes().end()), bytes);
        MappedFile moved = std::move(file);
        QCOMPARE(moved.size(), uint64_t(bytes.size()));
        QCOMPARE(moved.bytes()[3 * kPage + 10], bytes[3 * kPage + 10]);
        QVERIFY(file.bytes().empty());
    }

    // releaseRead drops the whole pages of a range from the RSS, keeps the partial pages at its
    // ends (they may hold bytes still to be read), and the released bytes read back the same.
    void releasedPagesLeaveTheRssAndReadBackTheSame() {
        const std::string path = dir_.filePath("released.bin").toStdString();
        std::vector<uint8_t> bytes(6 * kPage);
        for (size_t i = 0; i < bytes.size(); ++i)
            bytes[i] = static_cast<uint8_t>(i * 7 + 3);
        const int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_TRUNC, 0644);
        QVERIFY(fd >= 0);
        QCOMPARE(::write(fd, bytes.data(), bytes.size()), ssize_t(bytes.size()));
        const MappedFile file(fd, bytes.size(), path);
        ::close(fd);
        const uint8_t* data = file.bytes().data();
        uint64_t sum = 0;
        for (uint64_t page = 0; page < 6; ++page)
            sum += static_cast<const volatile uint8_t*>(data)[page * kPage];
        QVERIFY(sum > 0);
        QCOMPARE(mappedIn(data, 6), std::vector<bool>(6, true));

        // From the middle of page 1 to the middle of page 4: pages 2 and 3 are whole.
        MappedFile::releaseRead(file.bytes().subspan(kPage + 100, 3 * kPage));
        QCOMPARE(mappedIn(data, 6), (std::vector<bool>{true, true, false, false, true, true}));
        QCOMPARE(std::vector<uint8_t>(file.bytes().begin(), file.bytes().end()), bytes);
        QVERIFY(!file.shrank());
    }

    // A span that is not in a mapping (a heap buffer) is left alone: MADV_DONTNEED on anonymous
    // memory would zero it.
    void releaseReadLeavesOtherMemoryAlone() {
        std::vector<uint8_t> heap(4 * kPage, 0x77);
        MappedFile::releaseRead(heap);
        QCOMPARE(heap, std::vector<uint8_t>(4 * kPage, 0x77));
        MappedFile::releaseRead({}); // nothing at all
    }

    // Another process truncating a mapped file must not kill kvmscope: the lost pages read as
    // zero and the mapping says so; the pages the file kept still hold its bytes.
    void truncatedFileReadsAsZerosInsteadOfKilling() {
        const std::string path = dir_.filePath("shrinking.bin").toStdString();
        const int status = inChild([&] {
            const std::vector<uint8_t> bytes(3 * kPage, 0x5a);
            const int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_TRUNC, 0644);
            if (fd < 0 || ::write(fd, bytes.data(), bytes.size()) != ssize_t(bytes.size()))
                return 10;
            const MappedFile file(fd, bytes.size(), path);
            if (file.shrank())
                return 11;
            if (::ftruncate(fd, off_t(kPage)) != 0)
                return 12;
            ::close(fd);
            const volatile uint8_t* data = file.bytes().data();
            if (data[2 * kPage + 7] != 0 || !file.shrank())
                return 13;
            if (data[kPage - 1] != 0x5a)
                return 14;
            // A mapping made afterwards starts clean.
            const int again = ::open(path.c_str(), O_RDONLY);
            const MappedFile next(again, kPage, path);
            ::close(again);
            return next.bytes()[0] == 0x5a && !next.shrank() ? 0 : 15;
        });
        QVERIFY2(WIFEXITED(status), "killed reading a truncated mapped file");
        QCOMPARE(WEXITSTATUS(status), 0);
    }

    // The handler only repairs mapped files: any other SIGBUS still gets the action that was
    // there before (here the default: the process dies of SIGBUS).
    void otherBusErrorsStillKill() {
        const std::string path = dir_.filePath("plain.bin").toStdString();
        const int status = inChild([&] {
            const int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_TRUNC, 0644);
            if (fd < 0 || ::ftruncate(fd, off_t(2 * kPage)) != 0)
                return 10;
            const MappedFile guard(fd, 2 * kPage, path); // puts the handler in front
            void* plain = ::mmap(nullptr, 2 * kPage, PROT_READ, MAP_PRIVATE, fd, 0);
            if (plain == MAP_FAILED || ::ftruncate(fd, 0) != 0)
                return 11;
            const volatile uint8_t value = static_cast<const volatile uint8_t*>(plain)[kPage];
            static_cast<void>(value);
            return 0; // survived: the parent reports it
        });
        QVERIFY2(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS,
                 qPrintable(QString("wait status %1").arg(status)));
    }

    void mappingAnEmptyFileIsALoadErrorNamingIt() {
        try {
            MappedFile file(-1, 0, "/images/empty");
            QFAIL("no error");
        } catch (const LoadError& error) {
            QCOMPARE(QString(error.what()), QString("/images/empty: cannot map an empty file"));
        }
    }

    void mappingABadDescriptorIsALoadError() {
        try {
            MappedFile file(-1, 100, "/images/kernel");
            QFAIL("no error");
        } catch (const LoadError& error) {
            QVERIFY2(QString(error.what()).startsWith("/images/kernel: cannot map its 0x64 bytes"),
                     error.what());
        }
    }

private:
    // Runs `body` in a child process that starts with SIGBUS at its default action (Qt Test
    // installs its own fatal-signal handler around each test function), and returns the child's
    // wait status; `body`'s return value is the child's exit status.
    template <typename Body> static int inChild(Body body) {
        const pid_t child = ::fork();
        if (child == 0) {
            ::signal(SIGBUS, SIG_DFL);
            ::_exit(body());
        }
        int status = 0;
        if (child < 0 || ::waitpid(child, &status, 0) != child)
            qFatal("fork or waitpid failed");
        return status;
    }

    QTemporaryDir dir_;
};

QTEST_APPLESS_MAIN(ScratchPagesTest)
#include "ScratchPagesTest.moc"
