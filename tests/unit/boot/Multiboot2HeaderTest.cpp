// The Multiboot 2 header: where it is found and how its tags are read (Multiboot2 Specification
// 2.0, 3.1), every malformed form refused with the file, the field and the value.
#include "boot/Multiboot2Header.h"

#include "BootTestImages.h"
#include "common/Error.h"

#include <QTest>
#include <fmt/format.h>

using namespace kvmscope;
using namespace kvmscope::boot;
using boottest::contains;
using boottest::Multiboot2Tag;

namespace {

const std::string kPath = "/images/kernel.mb2";

// `header` at file offset `offset` of a file of `size` bytes (at least the header's end).
std::vector<uint8_t> imageWith(const std::vector<uint8_t>& header, uint64_t offset = 0x40,
                               size_t size = 0x400) {
    std::vector<uint8_t> image(std::max<size_t>(size, offset + header.size()), 0x90);
    std::copy(header.begin(), header.end(), image.begin() + static_cast<std::ptrdiff_t>(offset));
    return image;
}

std::string parseError(const std::vector<uint8_t>& image) {
    return boottest::errorOf<LoadError>([&] { readMultiboot2Header(image, kPath); });
}

// Rewrites header_length (at `offset` + 8) and the checksum so that only the length is wrong.
void setHeaderLength(std::vector<uint8_t>& image, uint64_t offset, uint32_t length) {
    const uint32_t architecture = boottest::get<uint32_t>(image, offset + 4);
    boottest::put<uint32_t>(image, offset + 8, length);
    boottest::put<uint32_t>(image, offset + 12,
                            0u - boottest::kMultiboot2Magic - architecture - length);
}

} // namespace

class Multiboot2HeaderTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void headerIsFound8ByteAlignedWithinTheFirst32KiB() {
        const auto header = boottest::multiboot2Header({});
        QCOMPARE(searchMultiboot2Header(imageWith(header, 0x7ff0, 0x8000)).headerOffset,
                 std::optional<uint64_t>(0x7ff0));
        // Beyond 32768 bytes, or only 4-byte aligned: not a header.
        QVERIFY(!searchMultiboot2Header(imageWith(header, 0x8000, 0x9000)).headerOffset);
        QVERIFY(!searchMultiboot2Header(imageWith(header, 0x44)).headerOffset);
    }

    void tagsAreRead() {
        const auto header = boottest::multiboot2Header({
            {1, 0, {1, 2, 3, 4, 6, 8}},
            {1, 1, {14}},
            {2, 0, {0x100040, 0x100000, 0x101000, 0x102000}},
            {3, 0, {0x100080}},
            {4, 0, {0x2}},
            {5, 0, {800, 600, 32}},
            {6, 0, {}},
            {10, 0, {0x100000, 0x1000000, 0x1000, 1}},
        });
        const Multiboot2Header parsed = readMultiboot2Header(imageWith(header), kPath);
        QCOMPARE(parsed.offset, uint64_t(0x40));
        QCOMPARE(parsed.headerLength, uint32_t(header.size()));
        QCOMPARE(parsed.requestedTags, (std::vector<uint32_t>{1, 2, 3, 4, 6, 8}));
        QCOMPARE(parsed.optionalRequestedTags, (std::vector<uint32_t>{14}));
        QVERIFY(parsed.requests(14) && parsed.requests(6) && !parsed.requests(15));
        QVERIFY(parsed.address);
        QCOMPARE(parsed.address->header_addr, uint32_t(0x100040));
        QCOMPARE(parsed.address->bss_end_addr, uint32_t(0x102000));
        QCOMPARE(parsed.entryAddress, std::optional<uint32_t>(0x100080));
        QCOMPARE(parsed.consoleFlags, std::optional<uint32_t>(2));
        QVERIFY(parsed.framebuffer);
        QCOMPARE(parsed.framebuffer->width, uint32_t(800));
        QCOMPARE(parsed.framebuffer->depth, uint32_t(32));
        QVERIFY(parsed.moduleAlignment);
        QVERIFY(parsed.relocatable);
        QCOMPARE(parsed.relocatable->align, uint32_t(0x1000));
        QVERIFY(parsed.skipped.empty());
    }

    void optionalUnknownAndEfiTagsAreSkipped() {
        const auto header = boottest::multiboot2Header(
            {{0x7abc, 1, {1, 2, 3}}, {7, 1, {}}, {9, 1, {0x100000}}, {3, 0, {0x100000}}});
        const Multiboot2Header parsed = readMultiboot2Header(imageWith(header), kPath);
        QCOMPARE(parsed.skipped.size(), size_t(3));
        QVERIFY(contains(parsed.skipped[0], "tag type 31420 (unknown)"));
        QVERIFY(contains(parsed.skipped[1], "EFI boot services"));
        QCOMPARE(parsed.entryAddress, std::optional<uint32_t>(0x100000));
    }

    void requiredUnknownTagIsRefused() {
        const std::string message =
            parseError(imageWith(boottest::multiboot2Header({{0x7abc, 0, {1}}})));
        QVERIFY2(contains(message, kPath) && contains(message, "tag type 31420 (unknown)") &&
                     contains(message, "offset 0x50") && contains(message, "required"),
                 message.c_str());
    }

    void requiredEfiTagsAreRefused() {
        for (uint16_t type : {7, 8, 9}) {
            const std::string message = parseError(imageWith(boottest::multiboot2Header(
                {{type, 0, type == 7 ? std::vector<uint32_t>{} : std::vector{1u}}})));
            QVERIFY2(contains(message, fmt::format("tag type {}", type)) &&
                         contains(message, "without EFI"),
                     message.c_str());
        }
    }

    void requiredInformationKvmscopeCannotProvideIsRefused() {
        const std::string message =
            parseError(imageWith(boottest::multiboot2Header({{1, 0, {1, 9}}})));
        QVERIFY2(contains(message, kPath) && contains(message, "information request") &&
                     contains(message, "tag 9 (ELF sections)") &&
                     contains(message, "does not provide"),
                 message.c_str());
        // The same request marked optional is only a wish.
        readMultiboot2Header(imageWith(boottest::multiboot2Header({{1, 1, {9, 5, 13}}})), kPath);
    }

    void wrongChecksumIsRefused() {
        auto image = imageWith(boottest::multiboot2Header({}));
        boottest::put<uint32_t>(image, 0x40 + 12, 0x12345678);
        const std::string message = parseError(image);
        QVERIFY2(contains(message, "offset 0x40") && contains(message, "checksum 0x12345678") &&
                     contains(message, "not 0"),
                 message.c_str());
    }

    void missingHeaderIsRefused() {
        const std::string message = parseError(std::vector<uint8_t>(0x100, 0));
        QVERIFY2(contains(message, kPath) && contains(message, "no multiboot2 header"),
                 message.c_str());
    }

    void architectureOtherThanI386IsRefused() {
        const std::string message = parseError(imageWith(boottest::multiboot2Header({}, 4)));
        QVERIFY2(contains(message, "architecture 4") && contains(message, "MIPS"), message.c_str());
    }

    void truncatedHeaderIsRefused() {
        // The fixed part is found (the search stops at the file's end), the tags are cut off.
        auto header = boottest::multiboot2Header({{3, 0, {0x100000}}});
        std::vector<uint8_t> image(0x40 + 20, 0);
        std::copy(header.begin(), header.begin() + 20, image.begin() + 0x40);
        const std::string message = parseError(image);
        QVERIFY2(contains(message, fmt::format("header_length {:#x}", header.size())) &&
                     contains(message, "runs past the end of the file (0x54 bytes)"),
                 message.c_str());
    }

    void headerLengthTooShortForTheTagsIsRefused() {
        auto image = imageWith(boottest::multiboot2Header({}));
        setHeaderLength(image, 0x40, 16);
        const std::string message = parseError(image);
        QVERIFY2(contains(message, "header_length 0x10 does not cover the tags"), message.c_str());
    }

    void headerLengthBeyond32KiBIsRefused() {
        auto image = imageWith(boottest::multiboot2Header({}), 0x7ff0, 0x9000);
        setHeaderLength(image, 0x7ff0, 0x20);
        const std::string message = parseError(image);
        QVERIFY2(contains(message, "beyond the first 32768 bytes"), message.c_str());
    }

    void tagRunningPastHeaderLengthIsRefused() {
        // header_length ends inside the entry address tag.
        auto image = imageWith(boottest::multiboot2Header({{3, 0, {0x100000}}}));
        setHeaderLength(image, 0x40, 0x18);
        const std::string message = parseError(image);
        QVERIFY2(contains(message, "tag type 3 (entry address) at offset 0x50") &&
                     contains(message, "size 0xc runs past header_length (the header ends at "
                                       "0x58)"),
                 message.c_str());
        // header_length ends inside the second tag's 8-byte header.
        image = imageWith(boottest::multiboot2Header({{6, 0, {}}, {3, 0, {0x100000}}}));
        setHeaderLength(image, 0x40, 0x1c);
        QVERIFY(
            contains(parseError(image), "tag at offset 0x58 has no room for its 8-byte header"));
    }

    void headerLengthNotCoveringTheEndTagIsRefused() {
        auto image = imageWith(boottest::multiboot2Header({{6, 0, {}}}));
        setHeaderLength(image, 0x40, 0x18);
        const std::string message = parseError(image);
        QVERIFY2(contains(message, "no end tag (type 0) before header_length 0x18"),
                 message.c_str());
    }

    void zeroSizeTagIsRefusedNotLoopedOn() {
        auto image = imageWith(boottest::multiboot2Header({{6, 0, {}}}));
        boottest::put<uint32_t>(image, 0x40 + 16 + 4, 0);
        const std::string message = parseError(image);
        QVERIFY2(contains(message, "tag type 6 (module alignment) at offset 0x50") &&
                     contains(message, "size 0 is smaller than the 8-byte tag header"),
                 message.c_str());
    }

    void tagSmallerThanItsFieldsIsRefused() {
        const std::string message =
            parseError(imageWith(boottest::multiboot2Header({{2, 0, {0x100000, 0x100000}, 16}})));
        QVERIFY2(contains(message, "tag type 2 (address)") &&
                     contains(message, "size 16 is smaller than the 24 bytes"),
                 message.c_str());
    }

    void addressTagWithoutEntryIsRefused() {
        const std::string message =
            parseError(imageWith(boottest::multiboot2Header({{2, 0, {0x100040, 0x100000, 0, 0}}})));
        QVERIFY2(contains(message, "address tag without an entry address tag"), message.c_str());
    }

    // A header found at a file's very end: the search never reads past it.
    void headerAtTheEndOfAShortFileIsBoundsChecked() {
        const auto header = boottest::multiboot2Header({});
        std::vector<uint8_t> image(header.begin(), header.begin() + 16);
        QVERIFY(searchMultiboot2Header(image).headerOffset);
        QVERIFY(contains(parseError(image), "runs past the end of the file"));
    }
};

QTEST_APPLESS_MAIN(Multiboot2HeaderTest)
#include "Multiboot2HeaderTest.moc"
