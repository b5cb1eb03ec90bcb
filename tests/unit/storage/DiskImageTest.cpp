// Disk images as a block device opens them (storage/DiskImage.h, DiskSpec.h), without /dev/kvm:
// the --disk option's fields, the checks before a guest starts (missing, empty, truncated,
// unwritable, another format, in use), the lock that keeps two machines off one image, and
// transfers at byte offsets with scatter-gather lists.
#include "storage/DiskImage.h"

#include "common/Error.h"

#include <QTemporaryDir>
#include <QTest>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace kvmscope;
using storage::DiskImage;
using storage::DiskInterface;
using storage::DiskSpec;
using storage::parseDiskSpec;

namespace {

std::string makeFile(const QTemporaryDir& dir, const char* name, const std::string& content) {
    const std::string path = dir.filePath(QString::fromLatin1(name)).toStdString();
    const int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
    if (fd >= 0) {
        [[maybe_unused]] const auto written = ::write(fd, content.data(), content.size());
        ::close(fd);
    }
    return path;
}

QString openError(const DiskSpec& spec) {
    try {
        DiskImage image(spec);
    } catch (const LoadError& error) {
        return QString::fromStdString(error.what());
    }
    return {};
}

DiskSpec specOf(const std::string& path, bool readOnly = false) {
    DiskSpec spec;
    spec.path = path;
    spec.readOnly = readOnly;
    return spec;
}

QString parseError(const char* text) {
    try {
        parseDiskSpec(text);
    } catch (const InputError& error) {
        return QString::fromStdString(error.what());
    }
    return {};
}

} // namespace

class DiskImageTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void diskOptionFields() {
        const DiskSpec plain = parseDiskSpec("disk.img");
        QCOMPARE(QString::fromStdString(plain.path), QString("disk.img"));
        QVERIFY(!plain.readOnly && !plain.formatGiven);
        QCOMPARE(plain.interface, DiskInterface::Virtio);
        const DiskSpec all = parseDiskSpec("a,,b.img,format=raw,readonly,if=ide");
        QCOMPARE(QString::fromStdString(all.path), QString("a,b.img"));
        QVERIFY(all.readOnly && all.formatGiven);
        QCOMPARE(all.interface, DiskInterface::Ide);
        QVERIFY(!parseDiskSpec("d.img,readonly=off").readOnly);

        QVERIFY(parseError(",readonly").contains("file name is missing"));
        QVERIFY(parseError("d.img,format=qcow2").contains("format=qcow2 is not supported"));
        QVERIFY(parseError("d.img,if=scsi").contains("if=scsi is not one of virtio, ide"));
        QVERIFY(parseError("d.img,cache=none").contains("unknown field 'cache=none'"));
        QVERIFY(parseError("d.img,readonly,readonly").contains("readonly is given twice"));
        QVERIFY(parseError("d.img,readonly=maybe").contains("readonly=maybe"));
    }

    void badImagesAreRefusedNamingTheFile() {
        QTemporaryDir dir;
        const std::string missing = dir.filePath(QStringLiteral("none.img")).toStdString();
        QVERIFY(openError(specOf(missing)).startsWith(QString::fromStdString(missing)));
        QVERIFY(openError(specOf(makeFile(dir, "empty.img", ""))).contains("is empty"));
        QVERIFY(openError(specOf(makeFile(dir, "short.img", std::string(1000, 'x'))))
                    .contains("1000 bytes, not a whole number of 512-byte sectors"));
        const std::string qcow2 = std::string("QFI\xfb", 4) + std::string(508, '\0');
        const std::string qcow2Path = makeFile(dir, "q.img", qcow2);
        QVERIFY(openError(specOf(qcow2Path)).contains("is a qcow2 image"));
        DiskSpec forced = specOf(qcow2Path);
        forced.formatGiven = true; // format=raw: the bytes as they are
        QVERIFY(openError(forced).isEmpty());
        QVERIFY(openError(specOf(dir.path().toStdString())).contains("a directory"));
    }

    void unwritableImagesAreRefusedUnlessReadOnly() {
        if (::geteuid() == 0)
            QSKIP("root may write any file: the permission check cannot fail for this user");
        QTemporaryDir dir;
        const std::string path = makeFile(dir, "ro.img", std::string(512, '\0'));
        ::chmod(path.c_str(), 0444);
        QVERIFY(openError(specOf(path)).contains("for writing"));
        QVERIFY(openError(specOf(path, true)).isEmpty());
    }

    // Open file description locks conflict between two opens even in one process, as they do
    // between two kvmscope processes.
    void oneWriterLocksOutEveryOtherUser() {
        QTemporaryDir dir;
        const std::string path = makeFile(dir, "d.img", std::string(4096, '\0'));
        {
            DiskImage writer(specOf(path));
            QVERIFY(openError(specOf(path)).contains("in use"));
            QVERIFY(openError(specOf(path, true)).contains("in use"));
        }
        DiskImage reader(specOf(path, true));
        QVERIFY(openError(specOf(path, true)).isEmpty()); // readers share
        QVERIFY(openError(specOf(path)).contains("cannot write it"));
    }

    void transfersUseScatterGatherAtByteOffsets() {
        QTemporaryDir dir;
        std::string content(4096, '\0');
        for (size_t i = 0; i < content.size(); ++i)
            content[i] = static_cast<char>(i % 251);
        DiskImage image(specOf(makeFile(dir, "d.img", content)));
        QCOMPARE(image.size(), uint64_t{4096});
        QCOMPARE(image.sectors(), uint64_t{8});
        char a[100], b[412];
        iovec read[2] = {{a, sizeof a}, {b, sizeof b}};
        QCOMPARE(image.read(read, 2, 1024), 0);
        QCOMPARE(a[0], content[1024]);
        QCOMPARE(b[411], content[1535]);
        char data[512];
        std::fill(std::begin(data), std::end(data), 'z');
        iovec write{data, sizeof data};
        QCOMPARE(image.write(&write, 1, 3584), 0);
        QCOMPARE(image.flush(), 0);
        iovec back{b, 10};
        QCOMPARE(image.read(&back, 1, 4000), 0);
        QCOMPARE(b[0], 'z');
        QCOMPARE(image.read(&back, 1, 4090), EINVAL); // past the end
        QCOMPARE(image.writeZeroes(0, 512, false), 0);
        QCOMPARE(image.read(&back, 1, 0), 0);
        QCOMPARE(b[1], '\0');
    }

    void readOnlyImagesRefuseChanges() {
        QTemporaryDir dir;
        DiskImage image(specOf(makeFile(dir, "d.img", std::string(512, 'a')), true));
        char data[512] = {};
        iovec write{data, sizeof data};
        QCOMPARE(image.write(&write, 1, 0), EROFS);
        QCOMPARE(image.discard(0, 512), EROFS);
        QCOMPARE(image.writeZeroes(0, 512, true), EROFS);
    }
};

QTEST_GUILESS_MAIN(DiskImageTest)
#include "DiskImageTest.moc"
