#include "boot/linux/BzImagePayload.h"

#include "boot/ImageLoader.h"
#include "boot/acpi/AcpiTables.h"
#include "boot/linux/LinuxLoader.h"
#include "boot/linux/PvhLoader.h"
#include "unit/boot/BootTestImages.h"

#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QTest>
#include <algorithm>
#include <asm/bootparam.h>
#include <cstddef>
#include <fmt/format.h>
#include <fstream>
#include <lzma.h>
#include <sys/mman.h>
#include <tuple>
#include <zlib.h>
#include <zstd.h>

using namespace kvmscope;
using namespace kvmscope::boot;
using boottest::contains;
using boottest::Segment;

namespace {

constexpr uint64_t kRam = 64ull << 20;
constexpr uint64_t kKernel = 0x1000000;
constexpr uint64_t kSetupHeaderOffset = offsetof(boot_params, hdr);
constexpr uint64_t kSetupSize = 5 * 512; // setup_sects 4
constexpr uint32_t kPayloadOffset = 0x100;

// A small PVH vmlinux: text at 16 MiB, the entry note (4-byte descriptor) in a PT_NOTE segment.
std::vector<uint8_t> vmlinux() {
    std::vector<uint8_t> note;
    boottest::put<uint32_t>(note, 0, 4);  // n_namesz: "Xen\0"
    boottest::put<uint32_t>(note, 4, 4);  // n_descsz
    boottest::put<uint32_t>(note, 8, 18); // XEN_ELFNOTE_PHYS32_ENTRY
    boottest::put<uint32_t>(note, 12, 0x006e6558);
    boottest::put<uint32_t>(note, 16, kKernel + 0x20);
    // Varied bytes, so that the compressors have something to do and corruption shows.
    return boottest::elf64(0xffffffff81000000,
                           {Segment{kKernel, 0xffffffff81000000, boottest::pattern(0x8000, 5)},
                            Segment{0, 0, note, 0, PT_NOTE}})
        .bytes;
}

void appendLength(std::vector<uint8_t>& bytes, uint32_t length) {
    boottest::put<uint32_t>(bytes, bytes.size(), length);
}

std::vector<uint8_t> xz(const std::vector<uint8_t>& input) {
    // What scripts/xz_wrap.sh asks for: CRC32 check (the x86 BCJ filter does not matter here).
    std::vector<uint8_t> output(lzma_stream_buffer_bound(input.size()));
    size_t size = 0;
    if (lzma_easy_buffer_encode(LZMA_PRESET_DEFAULT, LZMA_CHECK_CRC32, nullptr, input.data(),
                                input.size(), output.data(), &size, output.size()) != LZMA_OK)
        qFatal("lzma_easy_buffer_encode failed");
    output.resize(size);
    appendLength(output, static_cast<uint32_t>(input.size()));
    return output;
}

std::vector<uint8_t> gzip(const std::vector<uint8_t>& input) {
    z_stream stream{};
    if (deflateInit2(&stream, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        qFatal("deflateInit2 failed");
    std::vector<uint8_t> output(deflateBound(&stream, input.size()) + 32);
    stream.next_in = const_cast<Bytef*>(input.data());
    stream.avail_in = static_cast<uInt>(input.size());
    stream.next_out = output.data();
    stream.avail_out = static_cast<uInt>(output.size());
    if (deflate(&stream, Z_FINISH) != Z_STREAM_END)
        qFatal("deflate failed");
    output.resize(stream.total_out);
    deflateEnd(&stream);
    return output; // gzip's ISIZE trailer is the length word
}

std::vector<uint8_t> zstd(const std::vector<uint8_t>& input) {
    // The zstd command line (which the kernel's build runs) adds the frame checksum.
    ZSTD_CCtx* context = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, 19);
    ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1);
    std::vector<uint8_t> output(ZSTD_compressBound(input.size()));
    const size_t size =
        ZSTD_compress2(context, output.data(), output.size(), input.data(), input.size());
    ZSTD_freeCCtx(context);
    if (ZSTD_isError(size))
        qFatal("ZSTD_compress2 failed");
    output.resize(size);
    appendLength(output, static_cast<uint32_t>(input.size()));
    return output;
}

// A bzImage whose protected-mode part holds a stand-in decompressor, then `payload` at
// payload_offset, then a few trailing bytes.
std::vector<uint8_t> bzImage(const std::vector<uint8_t>& payload, uint16_t version = 0x020f,
                             uint32_t cmdlineSize = 2047) {
    std::vector<uint8_t> image(kSetupSize, 0);
    setup_header header{};
    header.setup_sects = 4;
    header.boot_flag = 0xaa55;
    header.jump = static_cast<uint16_t>(
        0xeb | ((kSetupHeaderOffset + sizeof(setup_header) - kLinuxHeaderMagicOffset) << 8));
    header.header = kLinuxHeaderMagic;
    header.version = version;
    header.loadflags = LOADED_HIGH;
    header.kernel_alignment = 0x200000;
    header.relocatable_kernel = 1;
    header.xloadflags = XLF_KERNEL_64;
    header.cmdline_size = cmdlineSize;
    header.pref_address = kKernel;
    header.init_size = 0x100000;
    header.payload_offset = kPayloadOffset;
    header.payload_length = static_cast<uint32_t>(payload.size());
    boottest::put(image, kSetupHeaderOffset, header);
    const auto decompressor = boottest::pattern(kPayloadOffset, 1);
    image.insert(image.end(), decompressor.begin(), decompressor.end());
    image.insert(image.end(), payload.begin(), payload.end());
    image.resize(image.size() + 0x20, 0x90);
    return image;
}

std::string extractError(const std::vector<uint8_t>& image) {
    return boottest::errorOf<LoadError>([&] { extractBzImagePayload(image, "/boot/vmlinuz"); });
}

// The start of the 4 KiB page holding `byte`, for mincore(2).
void* pageOf(const uint8_t* byte) {
    return reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(byte) & ~uintptr_t(0xfff));
}

BootOptions pvhOptions(std::string commandLine = {}) {
    BootOptions options;
    options.imagePath = "/boot/vmlinuz";
    options.format = ImageFormat::Pvh;
    options.commandLine = std::move(commandLine);
    return options;
}

} // namespace

class BzImagePayloadTest : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void compressedPayloadsAreExtracted_data() {
        QTest::addColumn<int>("compression");
        QTest::newRow("xz") << int(PayloadCompression::Xz);
        QTest::newRow("gzip") << int(PayloadCompression::Gzip);
        QTest::newRow("zstd") << int(PayloadCompression::Zstd);
        QTest::newRow("uncompressed") << int(PayloadCompression::None);
    }
    void compressedPayloadsAreExtracted() {
        QFETCH(int, compression);
        const auto elf = vmlinux();
        const auto kind = PayloadCompression(compression);
        const auto payload = kind == PayloadCompression::Xz     ? xz(elf)
                             : kind == PayloadCompression::Gzip ? gzip(elf)
                             : kind == PayloadCompression::Zstd ? zstd(elf)
                                                                : elf;
        const auto image = bzImage(payload);
        const BzImagePayload extracted = extractBzImagePayload(image, "/boot/vmlinuz");
        QCOMPARE(extracted.compression, kind);
        QCOMPARE(extracted.fileOffset, kSetupSize + kPayloadOffset);
        QCOMPARE(extracted.compressedSize, uint64_t(payload.size()));
        QVERIFY(extracted.vmlinux == elf);
    }

    // A vmlinux of several decompression chunks (1 MiB) with a long run of zeros, as a real
    // one has (bss, padding): the bytes come out whole, and the zero pages are never backed.
    void largePayloadsComeOutWholeWithoutTheirZeroPages_data() {
        QTest::addColumn<int>("compression");
        QTest::addColumn<bool>("zeroPagesSkipped");
        QTest::newRow("xz") << int(PayloadCompression::Xz) << true;
        QTest::newRow("gzip") << int(PayloadCompression::Gzip) << true;
        // One-shot into the buffer: zstd writes the zeros itself (BzImagePayload.cpp).
        QTest::newRow("zstd") << int(PayloadCompression::Zstd) << false;
        QTest::newRow("uncompressed") << int(PayloadCompression::None) << true;
    }
    void largePayloadsComeOutWholeWithoutTheirZeroPages() {
        QFETCH(int, compression);
        QFETCH(bool, zeroPagesSkipped);
        auto text = boottest::pattern(3u << 20, 9);
        std::fill(text.begin() + (1u << 20), text.begin() + (2u << 20), 0);
        const boottest::ElfFile elf =
            boottest::elf64(0xffffffff81000000, {Segment{kKernel, 0xffffffff81000000, text}});
        const auto kind = PayloadCompression(compression);
        const auto payload = kind == PayloadCompression::Xz     ? xz(elf.bytes)
                             : kind == PayloadCompression::Gzip ? gzip(elf.bytes)
                             : kind == PayloadCompression::Zstd ? zstd(elf.bytes)
                                                                : elf.bytes;
        const DecompressedBzImage extracted =
            decompressBzImagePayload(bzImage(payload), "/boot/vmlinuz");
        QCOMPARE(extracted.compression, kind);
        const std::span<const uint8_t> bytes = extracted.vmlinux.bytes();
        // The middle of the zero run, 1.5 MiB into the segment.
        unsigned char residency = 1;
        QCOMPARE(
            ::mincore(pageOf(bytes.data() + elf.segmentOffsets[0] + (3u << 19)), 4096, &residency),
            0);
        QCOMPARE(residency & 1, zeroPagesSkipped ? 0 : 1);
        // Read after the residency check: reading maps the shared zero page in.
        QVERIFY(std::equal(bytes.begin(), bytes.end(), elf.bytes.begin(), elf.bytes.end()));
    }

    // moveVmlinuxSegments leaves guest memory as loadElfSegments does, gives the copied pages
    // back, and keeps the bytes a later segment still reads: here the second segment's file
    // bytes lie inside the first one's (the gABI allows it).
    void movedSegmentsMatchCopiedOnesAndLeaveNoCopyBehind() {
        auto big = boottest::pattern(3u << 20, 4);
        boottest::ElfFile elf = boottest::elf64(
            0xffffffff81000000, {Segment{kKernel, 0xffffffff81000000, big, (3u << 20) + 0x3000},
                                 Segment{kKernel + (4u << 20), 0, boottest::pattern(0x2000, 8)}});
        // Point the second segment at bytes 0x1000-0x3000 of the first.
        boottest::put<uint64_t>(elf.bytes,
                                boottest::phdr64Field(elf, 1, offsetof(Elf64_Phdr, p_offset)),
                                elf.segmentOffsets[0] + 0x1000);
        const ElfImage parsed = parseElf(elf.bytes, "vmlinux");
        GuestMemory copied(kRam);
        const LoadedRange copiedRange = loadElfSegments(parsed, elf.bytes, "vmlinux", copied, {});
        ScratchPages scratch(elf.bytes.size());
        scratch.append(elf.bytes);
        GuestMemory moved(kRam);
        const LoadedRange movedRange = moveVmlinuxSegments(parsed, scratch, "vmlinux", moved, {});
        QCOMPARE(movedRange.start, copiedRange.start);
        QCOMPARE(movedRange.end, copiedRange.end);
        const uint64_t length = copiedRange.end - copiedRange.start;
        QVERIFY(std::ranges::equal(copied.span(copiedRange.start, length),
                                   moved.span(movedRange.start, length)));
        std::vector<uint8_t> second(0x2000);
        moved.read(kKernel + (4u << 20), second.data(), second.size());
        QVERIFY(std::equal(second.begin(), second.end(), big.begin() + 0x1000));
        // The first segment's pages, past the shared ones, are gone from the scratch buffer.
        unsigned char residency = 1;
        QCOMPARE(::mincore(pageOf(scratch.bytes().data() + elf.segmentOffsets[0] + (1u << 20)),
                           4096, &residency),
                 0);
        QCOMPARE(residency & 1, 0);
    }

    void movingRefusesASegmentOutsideRamBeforeWritingAny() {
        const boottest::ElfFile elf =
            boottest::elf64(0, {Segment{kKernel, 0, boottest::pattern(0x1000, 2)},
                                Segment{kRam + 0x100000, 0x100000, boottest::pattern(0x1000, 3)}});
        const ElfImage parsed = parseElf(elf.bytes, "vmlinux");
        ScratchPages scratch(elf.bytes.size());
        scratch.append(elf.bytes);
        GuestMemory memory(kRam);
        const std::string error = boottest::errorOf<LoadError>(
            [&] { moveVmlinuxSegments(parsed, scratch, "vmlinux", memory, {}); });
        QVERIFY2(contains(error, "vmlinux: program header 1"), error.c_str());
        QCOMPARE(memory.readValue<uint8_t>(kKernel), uint8_t(0));
    }

    void pvhBootsABzImageByItsPayload() {
        GuestMemory memory(kRam);
        const BootPlan plan =
            loadPvh(bzImage(xz(vmlinux())), pvhOptions("console=ttyS0"), {}, memory);
        QCOMPARE(plan.format, ImageFormat::Pvh);
        QCOMPARE(plan.entry, kKernel + 0x20);
        std::vector<uint8_t> text(0x8000);
        memory.read(kKernel, text.data(), text.size());
        QVERIFY(text == boottest::pattern(0x8000, 5));
        QVERIFY(contains(plan.notes.front(), "xz payload"));
        // Auto-detection keeps a bzImage on the boot protocol.
        QCOMPARE(detectFormat(bzImage(xz(vmlinux()))), ImageFormat::Linux);
    }

    // Where the host emulates ring 0, a bzImage left to detection boots by PVH when its payload
    // has the entry note; a forced --format linux, a hardware host, a payload without the note
    // and one kvmscope cannot decompress keep the boot protocol.
    void emulatingHostBootsADetectedBzImageByPvh() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const auto write = [&](const char* name, const std::vector<uint8_t>& bytes) {
            const std::string path = dir.filePath(name).toStdString();
            std::ofstream(path, std::ios::binary)
                .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
            return path;
        };
        const std::string withNote = write("with-note", bzImage(xz(vmlinux())));
        const std::string withoutNote = write(
            "without-note",
            bzImage(xz(boottest::elf64(0xffffffff81000000, {Segment{kKernel, 0xffffffff81000000,
                                                                    boottest::pattern(0x8000, 5)}})
                           .bytes)));
        const std::string unknownPayload = write("unknown", bzImage(boottest::pattern(0x1000, 3)));
        const auto load = [](const std::string& path, ImageFormat format, bool emulated) {
            BootOptions options;
            options.imagePath = path;
            options.format = format;
            options.hostEmulatesRing0 = emulated;
            options.commandLine = "console=ttyS0";
            GuestMemory memory(kRam);
            return loadImage(options, memory);
        };

        const BootPlan byPvh = load(withNote, ImageFormat::Auto, true);
        QCOMPARE(byPvh.format, ImageFormat::Pvh);
        QVERIFY(byPvh.bzImageBootedByPvh);
        QCOMPARE(byPvh.entry, kKernel + 0x20);
        QVERIFY(!byPvh.addedKernelParameters.empty());

        for (const auto& [path, format, emulated] :
             {std::tuple{withNote, ImageFormat::Linux, true},
              std::tuple{withNote, ImageFormat::Auto, false},
              std::tuple{withoutNote, ImageFormat::Auto, true},
              std::tuple{unknownPayload, ImageFormat::Auto, true}}) {
            const BootPlan plan = load(path, format, emulated);
            QCOMPARE(plan.format, ImageFormat::Linux);
            QVERIFY(!plan.bzImageBootedByPvh);
        }
    }

    void pvhCommandLineObeysTheSetupHeaderCmdlineSize() {
        GuestMemory memory(kRam);
        const std::string error = boottest::errorOf<LoadError>([&] {
            loadPvh(bzImage(gzip(vmlinux()), 0x020f, 16), pvhOptions(std::string(17, 'x')), {},
                    memory);
        });
        QVERIFY2(contains(error, "the command line is 17 bytes, longer than 16 (the bzImage's "
                                 "setup header cmdline_size)"),
                 error.c_str());
    }

    void otherCompressionsAreNamed_data() {
        QTest::addColumn<QByteArray>("magic");
        QTest::addColumn<QString>("name");
        QTest::newRow("bzip2") << QByteArray("BZh91AY&SY") << "bzip2";
        QTest::newRow("lzma") << QByteArray("\x5d\x00\x00\x80\x00", 5) << "lzma";
        QTest::newRow("lzo") << QByteArray("\x89LZO\x00", 5) << "lzo";
        QTest::newRow("lz4") << QByteArray("\x02\x21\x4c\x18", 4) << "lz4";
    }
    void otherCompressionsAreNamed() {
        QFETCH(QByteArray, magic);
        QFETCH(QString, name);
        std::vector<uint8_t> payload(magic.begin(), magic.end());
        payload.resize(0x40, 0x11);
        const std::string error = extractError(bzImage(payload));
        QVERIFY2(contains(error, "/boot/vmlinuz: the kernel payload (payload_offset 0x100) is " +
                                     name.toStdString() + "-compressed") &&
                     contains(error, "only xz, gzip and zstd") && contains(error, "--format linux"),
                 error.c_str());
    }

    void unknownMagicIsShown() {
        const std::string error = extractError(bzImage(std::vector<uint8_t>(0x40, 0xee)));
        QVERIFY2(contains(error, "starts with [ee ee ee ee ee ee], the magic of no known kernel "
                                 "compression"),
                 error.c_str());
    }

    // payload_offset came with 2.08; an older header is refused before it is looked for.
    void oldProtocolIsRefused() {
        const std::string error = extractError(bzImage(xz(vmlinux()), 0x0207));
        QVERIFY2(contains(error, "/boot/vmlinuz: setup header") &&
                     contains(error, "boot protocol 2.07"),
                 error.c_str());
    }

    void payloadBeyondTheFileIsRefused() {
        auto image = bzImage(xz(vmlinux()));
        image.resize(kSetupSize + kPayloadOffset + 0x10);
        const std::string error = extractError(image);
        QVERIFY2(contains(error, "payload_offset 0x100 + payload_length") &&
                     contains(error, "extends beyond the end of the file"),
                 error.c_str());
    }

    void corruptStreamsAreRefused_data() {
        QTest::addColumn<int>("compression");
        QTest::newRow("xz") << int(PayloadCompression::Xz);
        QTest::newRow("gzip") << int(PayloadCompression::Gzip);
        QTest::newRow("zstd") << int(PayloadCompression::Zstd);
    }
    void corruptStreamsAreRefused() {
        QFETCH(int, compression);
        const auto kind = PayloadCompression(compression);
        auto payload = kind == PayloadCompression::Xz     ? xz(vmlinux())
                       : kind == PayloadCompression::Gzip ? gzip(vmlinux())
                                                          : zstd(vmlinux());
        for (size_t i = payload.size() / 3; i < payload.size() / 3 + 16; ++i)
            payload[i] ^= 0x5a;
        const std::string error = extractError(bzImage(payload));
        QVERIFY2(contains(error, fmt::format("the {} kernel payload", toString(kind))),
                 error.c_str());
    }

    void declaredLengthMustMatch() {
        auto payload = zstd(vmlinux());
        const uint32_t real = static_cast<uint32_t>(vmlinux().size());
        boottest::put<uint32_t>(payload, payload.size() - 4, real + 0x10);
        std::string error = extractError(bzImage(payload));
        QVERIFY2(contains(error, fmt::format("decompresses to {:#x} bytes, but its last four "
                                             "bytes declare {:#x}",
                                             real, real + 0x10)),
                 error.c_str());
        payload = xz(vmlinux());
        boottest::put<uint32_t>(payload, payload.size() - 4, real - 0x10);
        error = extractError(bzImage(payload));
        QVERIFY2(
            contains(error, fmt::format("decompresses to more than the {:#x} bytes", real - 0x10)),
            error.c_str());
        boottest::put<uint32_t>(payload, payload.size() - 4, 0x40000000);
        error = extractError(bzImage(payload));
        QVERIFY2(contains(error, "declares an uncompressed length of 0x40000000 bytes"),
                 error.c_str());
    }

    void decompressedPayloadMustBeElf() {
        const std::string error = extractError(bzImage(gzip(boottest::pattern(0x1000, 2))));
        QVERIFY2(contains(error, "the decompressed gzip kernel payload (0x1000 bytes) is not an "
                                 "ELF file"),
                 error.c_str());
    }

    // The bzImage path tells the kernel where the RSDP is from protocol 2.14 on.
    void linuxZeroPageCarriesTheRsdpAddress() {
        GuestMemory acpiMemory(kRam);
        const uint64_t rsdp = writeAcpiTables(acpiMemory, AcpiConfig{});
        BootOptions options = pvhOptions();
        options.format = ImageFormat::Linux;
        for (const uint16_t version : {uint16_t(0x020d), uint16_t(0x020e), uint16_t(0x020f)}) {
            GuestMemory memory(kRam);
            loadLinux(bzImage(xz(vmlinux()), version), options, {}, memory);
            const auto zeroPage = memory.readValue<boot_params>(0x9000);
            QCOMPARE(zeroPage.acpi_rsdp_addr, version >= 0x020e ? rsdp : uint64_t(0));
        }
    }

    // Debian's own kernel (test.sh fetches it and sets KVMSCOPE_TEST_BZIMAGE): its xz payload
    // is the vmlinux with the PVH note, and it loads by PVH.
    void realKernelPayloadIsAPvhVmlinux() {
        const QByteArray path = qgetenv("KVMSCOPE_TEST_BZIMAGE");
        if (path.isEmpty())
            QSKIP("KVMSCOPE_TEST_BZIMAGE is not set (test.sh sets it to Debian's kernel, fetched "
                  "by tests/guests/fetch-debian-kernel.sh)");
        const auto image = readImageFile(path.toStdString(), "image");
        QElapsedTimer timer;
        timer.start();
        const BzImagePayload payload = extractBzImagePayload(image, path.toStdString());
        qInfo("%s: %s payload of %llu bytes -> %zu-byte vmlinux in %lld ms", path.constData(),
              toString(payload.compression), (unsigned long long)payload.compressedSize,
              payload.vmlinux.size(), (long long)timer.elapsed());
        QVERIFY(hasPvhEntryNote(payload.vmlinux));
        const auto note = findPvhEntryNote(payload.vmlinux, path.toStdString());
        QVERIFY(note.has_value());
        GuestMemory memory(512ull << 20);
        BootOptions options = pvhOptions("console=ttyS0");
        options.imagePath = path.toStdString();
        const BootPlan plan = loadPvh(image, options, {}, memory);
        QCOMPARE(plan.entry, note->entry);
        QVERIFY(plan.imageStart >= 0x100000 && plan.entry < plan.imageEnd);
        for (const auto& line : plan.notes)
            qInfo("%s", line.c_str());
    }
};

QTEST_APPLESS_MAIN(BzImagePayloadTest)
#include "BzImagePayloadTest.moc"
