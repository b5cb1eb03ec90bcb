// The per-vcpu CPUID: APIC ids in leaves 1/0xB, the HTT bit for SMP, the hypervisor bit, the
// KVM features used through hypercalls hidden on request; everything else as KVM reports it
// (machine/Cpuid.h).
#include "machine/Cpuid.h"

#include <QTest>
#include <cstring>

using namespace kvmscope;

namespace {

kvm_cpuid_entry2 leaf(uint32_t function, uint32_t eax, uint32_t ebx, uint32_t ecx, uint32_t edx) {
    kvm_cpuid_entry2 entry{};
    entry.function = function;
    entry.eax = eax;
    entry.ebx = ebx;
    entry.ecx = ecx;
    entry.edx = edx;
    return entry;
}

const kvm_cpuid_entry2& find(const std::vector<kvm_cpuid_entry2>& entries, uint32_t function) {
    for (const auto& entry : entries)
        if (entry.function == function)
            return entry;
    throw std::runtime_error("leaf missing");
}

constexpr uint32_t kCx16 = 1u << 13, kXsave = 1u << 26, kAvx = 1u << 28;
constexpr uint32_t kSse3 = 1u << 0;
constexpr uint32_t kHypervisor = 1u << 31;

std::vector<kvm_cpuid_entry2> supported() {
    return {leaf(0x1, 0x000806f8, 0x00000800, kSse3 | kCx16 | kXsave | kAvx, 0x178bfbff),
            leaf(0xB, 1, 1, 0x100, 0), leaf(0xD, 0xe7, 0x340, 0xa88, 0)};
}

} // namespace

class CpuidTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void apicIdAndCountPerVcpu() {
        const auto entries = cpuidForVcpu(supported(), {.apicId = 5, .cpuCount = 8});
        QCOMPARE(find(entries, 0x1).ebx >> 24, 5u);
        QCOMPARE((find(entries, 0x1).ebx >> 16) & 0xff, 8u);
        QVERIFY(find(entries, 0x1).edx & (1u << 28)); // HTT
        QCOMPARE(find(entries, 0xB).edx, 5u);
    }

    // A guest learns that it runs in a VM (and looks for KVM's leaves) from leaf 1 ECX[31], which
    // KVM's supported CPUID leaves clear.
    void hypervisorBitIsSetForEveryVcpu() {
        for (uint32_t apicId : {0u, 3u}) {
            const auto entries = cpuidForVcpu(supported(), {.apicId = apicId, .cpuCount = 4});
            QVERIFY(find(entries, 0x1).ecx & kHypervisor);
        }
    }

    void otherLeavesAndBitsPassThrough() {
        const auto entries = cpuidForVcpu(supported(), {.apicId = 0, .cpuCount = 1});
        QCOMPARE(find(entries, 0x1).ecx, kSse3 | kCx16 | kXsave | kAvx | kHypervisor);
        QCOMPARE(find(entries, 0x1).ebx >> 24, 0u);
        QCOMPARE(find(entries, 0xD).eax, 0xe7u);
    }

    // KVM's features leaf follows its signature leaf, at 0x40000000 or 0x100 above (beside
    // Hyper-V's leaves); another hypervisor's leaves are not touched.
    void hypercallFeaturesAreHiddenOnRequest_data() {
        QTest::addColumn<uint32_t>("base");
        QTest::newRow("at 0x40000000") << 0x40000000u;
        QTest::newRow("at 0x40000100") << 0x40000100u;
    }
    void hypercallFeaturesAreHiddenOnRequest() {
        QFETCH(uint32_t, base);
        // "KVMKVMKVM\0\0\0" as EBX, ECX, EDX; features: clocksource 0/3, async PF 4, steal time 5,
        // PV EOI 6, PV unhalt 7, PV TLB flush 9, PV send IPI 11, sched yield 13, map GPA 16,
        // stable bit 24.
        constexpr uint32_t kFeatures = 0x01017efb;
        std::vector<kvm_cpuid_entry2> leaves = supported();
        leaves.push_back(leaf(base, base + 1, 0x4b4d564b, 0x564b4d56, 0x4d));
        leaves.push_back(leaf(base + 1, kFeatures, 0, 0, 0));
        // Another hypervisor's signature ("Microsoft Hv") with a leaf after it.
        const uint32_t other = base == 0x40000000u ? 0x40000100u : 0x40000000u;
        leaves.push_back(leaf(other, other + 1, 0x7263694d, 0x666f736f, 0x76482074));
        leaves.push_back(leaf(other + 1, kFeatures, 0, 0, 0));

        const auto plain = cpuidForVcpu(leaves, {.apicId = 1, .cpuCount = 2});
        QCOMPARE(find(plain, base + 1).eax, kFeatures);

        const auto hidden =
            cpuidForVcpu(leaves, {.apicId = 1, .cpuCount = 2, .withoutHypercallFeatures = true});
        const uint32_t expected = kFeatures & ~((1u << 7) | (1u << 11) | (1u << 13) | (1u << 16));
        QCOMPARE(find(hidden, base + 1).eax, expected);
        QCOMPARE(find(hidden, base + 1).eax & 1u, 1u); // kvm-clock stays
        QCOMPARE(find(hidden, other + 1).eax, kFeatures);
        QCOMPARE(find(hidden, 0x1).ebx >> 24, 1u);
    }

    // What the SMBIOS processor structure reports comes from the vcpu's own CPUID: the vendor
    // (EBX, EDX, ECX of leaf 0), the signature and features of leaf 1, long mode, and the brand
    // string without the padding around it; missing leaves leave their fields empty.
    void smbiosProcessorFromCpuid() {
        auto text = [](const char* four) {
            uint32_t value = 0;
            std::memcpy(&value, four, 4);
            return value;
        };
        std::vector<kvm_cpuid_entry2> entries = supported();
        entries.push_back(leaf(0x0, 0x10, text("Auth"), text("cAMD"), text("enti")));
        entries.push_back(leaf(0x80000001, 0, 0, 0, 1u << 29));
        // "  Example CPU 7" in 48 bytes, NUL-padded, over three leaves.
        char brand[48] = "  Example CPU 7";
        for (uint32_t i = 0; i < 3; ++i)
            entries.push_back(leaf(0x80000002 + i, text(brand + 16 * i), text(brand + 16 * i + 4),
                                   text(brand + 16 * i + 8), text(brand + 16 * i + 12)));
        const boot::SmbiosProcessor processor = smbiosProcessorFor(entries);
        QCOMPARE(processor.vendor, std::string("AuthenticAMD"));
        QCOMPARE(processor.brand, std::string("Example CPU 7"));
        QCOMPARE(processor.signature, 0x000806f8u);
        QCOMPARE(processor.featuresEdx, 0x178bfbffu);
        QVERIFY(processor.longMode);

        const boot::SmbiosProcessor bare = smbiosProcessorFor(supported());
        QCOMPARE(bare.vendor, std::string());
        QCOMPARE(bare.brand, std::string());
        QVERIFY(!bare.longMode);
        QCOMPARE(bare.signature, 0x000806f8u);
    }
};

QTEST_APPLESS_MAIN(CpuidTest)
#include "CpuidTest.moc"
