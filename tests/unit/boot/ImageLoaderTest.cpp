#include "boot/ImageLoader.h"

#include "BootTestImages.h"

#include <QTemporaryDir>
#include <QTest>
#include <fcntl.h>
#include <fstream>
#include <unistd.h>

using namespace kvmscope;
using namespace kvmscope::boot;
using boottest::contains;
using boottest::Segment;

namespace {

constexpr uint64_t kRam = 64ull << 20;

std::vector<uint8_t> multibootAt(uint64_t offset, size_t size = 0x4000) {
    std::vector<uint8_t> image(size, 0x90);
    boottest::putMultibootHeader(image, offset, 0x3);
    return image;
}

// readImageFile and mapImageFile: the same checks and the same messages, one copying and one
// mapping the file.
using FileReader = std::vector<uint8_t> (*)(const std::string&, const char*);
const std::pair<const char*, FileReader> kReaders[] = {
    {"readImageFile", readImageFile},
    {"mapImageFile",
     [](const std::string& path, const char* what) {
         const MappedFile file = mapImageFile(path, what);
         return std::vector<uint8_t>(file.bytes().begin(), file.bytes().end());
     }},
};

std::vector<uint8_t> elfKernel64() {
    return boottest::elf64(0x100000, {Segment{0x100000, 0x100000, boottest::pattern(64, 1)}}).bytes;
}

} // namespace

class ImageLoaderTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void init() { QVERIFY(dir_.isValid()); }

    void formatNamesRoundTrip() {
        for (ImageFormat format :
             {ImageFormat::Auto, ImageFormat::Flat, ImageFormat::Multiboot, ImageFormat::Elf}) {
            ImageFormat parsed = ImageFormat::Auto;
            QVERIFY(parseImageFormat(toString(format), parsed));
            QCOMPARE(parsed, format);
        }
        ImageFormat untouched = ImageFormat::Flat;
        QVERIFY(!parseImageFormat("ELF", untouched));
        QVERIFY(!parseImageFormat("bzimage", untouched));
        QVERIFY(!parseImageFormat("", untouched));
        QCOMPARE(untouched, ImageFormat::Flat);
        QCOMPARE(std::string(toString(CpuMode::Long64)), std::string("64-bit long mode"));
        QCOMPARE(std::string(toString(CpuMode::Real)), std::string("real mode"));
    }

    void multibootHeaderIsFoundAlignedInFirst8KiB() {
        QCOMPARE(detectFormat(multibootAt(0)), ImageFormat::Multiboot);
        QCOMPARE(detectFormat(multibootAt(0x1000)), ImageFormat::Multiboot);
        QCOMPARE(detectFormat(multibootAt(8192 - 12)), ImageFormat::Multiboot); // ends at 8 KiB
        QCOMPARE(detectFormat(multibootAt(8192 - 8)), ImageFormat::Flat);       // crosses it
        QCOMPARE(detectFormat(multibootAt(8192)), ImageFormat::Flat);
        QCOMPARE(detectFormat(multibootAt(2)), ImageFormat::Flat); // not 4-byte aligned
        // A header cut off by the end of the file is not a header.
        auto cut = multibootAt(0x20);
        cut.resize(0x28);
        QCOMPARE(detectFormat(cut), ImageFormat::Flat);
    }

    void badChecksumIsNotAHeader() {
        auto image = multibootAt(0x100);
        boottest::put<uint32_t>(image, 0x108, 0);
        QCOMPARE(detectFormat(image), ImageFormat::Flat);
        // ... but a valid header after the bad one is.
        boottest::putMultibootHeader(image, 0x200, 0x3);
        QCOMPARE(detectFormat(image), ImageFormat::Multiboot);
    }

    void multibootWinsOverElfAndElfOverFlat() {
        auto text = boottest::pattern(0x100, 1);
        boottest::putMultibootHeader(text, 0, 0x3);
        const auto multibootElf = boottest::elf32(0x100000, {Segment{0x100000, 0x100000, text}});
        QCOMPARE(detectFormat(multibootElf.bytes), ImageFormat::Multiboot);
        QCOMPARE(detectFormat(elfKernel64()), ImageFormat::Elf);
        QCOMPARE(detectFormat(std::vector<uint8_t>{0xfa, 0xfc, 0xeb, 0xfe}), ImageFormat::Flat);
        QCOMPARE(detectFormat(std::vector<uint8_t>{0x7f, 'E', 'L'}), ImageFormat::Flat);
        QCOMPARE(detectFormat(std::vector<uint8_t>{}), ImageFormat::Flat);
    }

    void readImageFileReadsEveryByte_data() { addReaderRows(); }
    void readImageFileReadsEveryByte() {
        QFETCH(int, reader);
        const auto bytes = boottest::pattern(100000, 3);
        const std::string path = write("image.bin", bytes);
        QCOMPARE(kReaders[reader].second(path, "image"), bytes);
    }

    void missingFileIsALoadErrorNamingIt_data() { addReaderRows(); }
    void missingFileIsALoadErrorNamingIt() {
        QFETCH(int, reader);
        const std::string path = dir_.filePath("missing.bin").toStdString();
        const std::string message =
            boottest::errorOf<LoadError>([&] { kReaders[reader].second(path, "initrd"); });
        QVERIFY2(contains(message, path) && contains(message, "cannot open the initrd") &&
                     contains(message, "No such file"),
                 message.c_str());
    }

    void emptyFileIsRejected_data() { addReaderRows(); }
    void emptyFileIsRejected() {
        QFETCH(int, reader);
        const std::string path = write("empty.bin", {});
        const std::string message =
            boottest::errorOf<LoadError>([&] { kReaders[reader].second(path, "image"); });
        QVERIFY2(contains(message, path) && contains(message, "the image is empty"),
                 message.c_str());
    }

    void directoryIsRejected_data() { addReaderRows(); }
    void directoryIsRejected() {
        QFETCH(int, reader);
        const std::string path = dir_.path().toStdString();
        const std::string message =
            boottest::errorOf<LoadError>([&] { kReaders[reader].second(path, "image"); });
        QVERIFY2(contains(message, "not a regular file"), message.c_str());
    }

    void tooLargeFileIsRejectedWithoutReadingIt_data() { addReaderRows(); }
    void tooLargeFileIsRejectedWithoutReadingIt() {
        QFETCH(int, reader);
        const std::string path = dir_.filePath("huge.bin").toStdString();
        const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
        QVERIFY(fd >= 0);
        QCOMPARE(::ftruncate(fd, off_t(kMaxImageFileSize + 1)), 0); // sparse: costs no disk
        ::close(fd);
        const std::string message =
            boottest::errorOf<LoadError>([&] { kReaders[reader].second(path, "image"); });
        QVERIFY2(contains(message, "0x80000001 bytes"), message.c_str());
    }

    // The mapping covers the size fstat reported: bytes appended to the file later are not
    // read (and could not be: they lie beyond the mapping).
    void mappingKeepsTheSizeItWasMadeWith() {
        const auto bytes = boottest::pattern(5000, 9);
        const std::string path = write("growing.bin", bytes);
        const MappedFile file = mapImageFile(path, "image");
        std::ofstream(path, std::ios::binary | std::ios::app).write("more", 4);
        QCOMPARE(file.size(), uint64_t(bytes.size()));
        QCOMPARE(std::vector<uint8_t>(file.bytes().begin(), file.bytes().end()), bytes);
    }

    void autoDetectionLoadsEachFormat() {
        {
            GuestMemory memory(kRam);
            const BootPlan plan = loadImage(options(write("flat.bin", {0xf4})), memory);
            QCOMPARE(plan.format, ImageFormat::Flat);
            QCOMPARE(memory.readValue<uint8_t>(0x7c00), uint8_t(0xf4));
            QVERIFY(contains(plan.notes.front(), "detected format flat"));
        }
        {
            GuestMemory memory(kRam);
            const BootPlan plan = loadImage(options(write("kernel64", elfKernel64())), memory);
            QCOMPARE(plan.format, ImageFormat::Elf);
            QCOMPARE(plan.mode, CpuMode::Long64);
        }
        {
            GuestMemory memory(kRam);
            auto text = boottest::pattern(0x100, 1);
            boottest::putMultibootHeader(text, 0, 0x3);
            const auto kernel = boottest::elf32(0x100000, {Segment{0x100000, 0x100000, text}});
            BootOptions opts = options(write("kernel32", kernel.bytes));
            opts.initrdPath = write("rootfs.cpio", boottest::pattern(5000, 2));
            opts.commandLine = "quiet";
            const BootPlan plan = loadImage(opts, memory);
            QCOMPARE(plan.format, ImageFormat::Multiboot);
            QCOMPARE(plan.rax, uint64_t(0x2badb002));
            const uint64_t module = memory.readValue<uint32_t>(plan.rbx + 24);
            QCOMPARE(memory.readValue<uint32_t>(module), uint32_t(0x101000));
            QCOMPARE(memory.readValue<uint32_t>(module + 4), uint32_t(0x101000 + 5000));
        }
    }

    void customLoadAddressReachesTheFlatLoader() {
        GuestMemory memory(kRam);
        BootOptions opts = options(write("flat.bin", {0xf4}));
        opts.format = ImageFormat::Flat;
        opts.loadAddress = 0x20000;
        const BootPlan plan = loadImage(opts, memory);
        QCOMPARE(plan.realModeSegment, uint16_t(0x2000));
        QCOMPARE(memory.readValue<uint8_t>(0x20000), uint8_t(0xf4));
    }

    void forcedElfOnAFlatFileNamesFileAndMismatch() {
        GuestMemory memory(kRam);
        BootOptions opts = options(
            write("boot.bin", {0xfa, 0xfc, 0xeb, 0xfe, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
        opts.format = ImageFormat::Elf;
        const std::string message = boottest::errorOf<LoadError>([&] { loadImage(opts, memory); });
        QVERIFY2(contains(message, opts.imagePath) && contains(message, "not an ELF file") &&
                     contains(message, "fa fc eb fe"),
                 message.c_str());
    }

    void forcedMultibootOnAPlainElfIsRefused() {
        GuestMemory memory(kRam);
        BootOptions opts = options(write("kernel64", elfKernel64()));
        opts.format = ImageFormat::Multiboot;
        const std::string message = boottest::errorOf<LoadError>([&] { loadImage(opts, memory); });
        QVERIFY2(contains(message, opts.imagePath) && contains(message, "no multiboot header"),
                 message.c_str());
    }

    void forcedFlatLoadsAnElfAsBytes() {
        GuestMemory memory(kRam);
        BootOptions opts = options(write("kernel64", elfKernel64()));
        opts.format = ImageFormat::Flat;
        const BootPlan plan = loadImage(opts, memory);
        QCOMPARE(plan.mode, CpuMode::Real);
        QCOMPARE(memory.readValue<uint32_t>(0x7c00), uint32_t(0x464c457f)); // "\x7fELF"
    }

    void initrdWithoutMultibootIsAnInputError() {
        GuestMemory memory(kRam);
        BootOptions opts = options(write("kernel64", elfKernel64()));
        opts.initrdPath = write("initrd", {1});
        const std::string message = boottest::errorOf<InputError>([&] { loadImage(opts, memory); });
        QVERIFY2(contains(message, "initrd") && contains(message, "elf"), message.c_str());
    }

    void commandLineForNonMultibootIsNoted() {
        GuestMemory memory(kRam);
        BootOptions opts = options(write("kernel64", elfKernel64()));
        opts.commandLine = "console=ttyS0";
        const BootPlan plan = loadImage(opts, memory);
        bool noted = false;
        for (const auto& note : plan.notes)
            noted = noted || (contains(note, "console=ttyS0") && contains(note, "ignored"));
        QVERIFY(noted);
    }

private:
    static void addReaderRows() {
        QTest::addColumn<int>("reader");
        for (size_t i = 0; i < std::size(kReaders); ++i)
            QTest::newRow(kReaders[i].first) << int(i);
    }

    std::string write(const char* name, const std::vector<uint8_t>& bytes) {
        const std::string path = dir_.filePath(name).toStdString();
        std::ofstream out(path, std::ios::binary);
        out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
        return path;
    }

    static BootOptions options(const std::string& path) {
        BootOptions options;
        options.imagePath = path;
        return options;
    }

    QTemporaryDir dir_;
};

QTEST_APPLESS_MAIN(ImageLoaderTest)
#include "ImageLoaderTest.moc"
