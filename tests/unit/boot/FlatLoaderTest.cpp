#include "boot/FlatLoader.h"

#include "boot/GuestLayout.h"

#include <QTest>
#include <algorithm>

using namespace kvmscope;
using namespace kvmscope::boot;

namespace {

constexpr uint64_t kRam = 64ull << 20;
const std::string kPath = "/images/boot.bin";

std::vector<uint8_t> image(size_t size) {
    std::vector<uint8_t> bytes(size);
    for (size_t i = 0; i < size; ++i)
        bytes[i] = static_cast<uint8_t>(i * 13 + 5);
    return bytes;
}

std::string loadError(uint64_t loadAddress, size_t size) {
    GuestMemory memory(kRam);
    try {
        loadFlat(image(size), kPath, loadAddress, memory);
    } catch (const LoadError& error) {
        return error.what();
    }
    return "(nothing was thrown)";
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

} // namespace

class FlatLoaderTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void bootSectorLoadsAtZeroColon7c00() {
        GuestMemory memory(kRam);
        const auto bytes = image(512);
        const BootPlan plan = loadFlat(bytes, kPath, layout::kDefaultFlatLoadAddress, memory);
        QCOMPARE(plan.format, ImageFormat::Flat);
        QCOMPARE(plan.mode, CpuMode::Real);
        QCOMPARE(plan.realModeSegment, uint16_t(0));
        QCOMPARE(plan.entry, uint64_t(0x7c00));
        QCOMPARE(plan.stack, uint64_t(0x7c00)); // SS:SP = 0000:7C00, just below the image
        QCOMPARE(plan.imageStart, uint64_t(0x7c00));
        QCOMPARE(plan.imageEnd, uint64_t(0x7c00 + 512));
        const auto loaded = memory.span(0x7c00, 512);
        QVERIFY(std::equal(loaded.begin(), loaded.end(), bytes.begin()));
        QCOMPARE(memory.readValue<uint8_t>(0x7c00 + 512), uint8_t(0));
        QCOMPARE(plan.rax, uint64_t(0));
    }

    void loadAddressAbove64KiBUsesItsSegment() {
        GuestMemory memory(kRam);
        const BootPlan plan = loadFlat(image(16), kPath, 0x17c00, memory);
        QCOMPARE(plan.realModeSegment, uint16_t(0x1000));
        QCOMPARE(plan.entry, uint64_t(0x17c00));
        QCOMPARE(plan.stack, uint64_t(0x7c00));
        QCOMPARE(memory.readValue<uint8_t>(0x17c00), image(1)[0]);
    }

    void imageAtSegmentStartGetsStackAtSegmentTop() {
        GuestMemory memory(kRam);
        const BootPlan plan = loadFlat(image(16), kPath, 0x20000, memory);
        QCOMPARE(plan.realModeSegment, uint16_t(0x2000));
        QCOMPARE(plan.stack, uint64_t(0)); // the first push wraps to 2000:FFFE
    }

    void largestImageEndsAtTheEbda() {
        GuestMemory memory(kRam);
        const BootPlan plan = loadFlat(image(layout::kEbdaAddress - 0x7c00), kPath, 0x7c00, memory);
        QCOMPARE(plan.imageEnd, layout::kEbdaAddress);
        const std::string message = loadError(0x7c00, layout::kEbdaAddress - 0x7c00 + 1);
        QVERIFY2(contains(message, kPath) && contains(message, "the MP floating pointer structure"),
                 message.c_str());
    }

    void loadAddressAt1MiBIsRejected() {
        const std::string message = loadError(0x100000, 16);
        QVERIFY2(contains(message, "load address 0x100000") && contains(message, "real mode"),
                 message.c_str());
    }

    void imageOverLowTablesIsRejected() {
        const std::string message = loadError(0x500, 16);
        QVERIFY2(contains(message, "load address 0x500") && contains(message, "the GDT"),
                 message.c_str());
        const std::string bda = loadError(0x4f0, 16);
        QVERIFY2(contains(bda, "the real-mode IVT and the BIOS data area"), bda.c_str());
    }

    // The VGA window is RAM in kvmscope, written by nothing but the guest.
    void imageInVgaWindowIsLoaded() {
        GuestMemory memory(kRam);
        const BootPlan plan = loadFlat(image(16), kPath, 0xb8000, memory);
        QCOMPARE(plan.entry, uint64_t(0xb8000));
        QCOMPARE(memory.readValue<uint8_t>(0xb8000), image(1)[0]);
    }

    void emptyImageIsRejected() { QVERIFY(contains(loadError(0x7c00, 0), "is empty")); }
};

QTEST_APPLESS_MAIN(FlatLoaderTest)
#include "FlatLoaderTest.moc"
