// The per-vcpu CPUID: APIC ids in leaves 1/0xB and the HTT bit for SMP; everything else as KVM
// reports it (machine/Cpuid.h).
#include "machine/Cpuid.h"

#include <QTest>

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

std::vector<kvm_cpuid_entry2> supported() {
    return {leaf(0x1, 0x000806f8, 0x00000800, kSse3 | kCx16 | kXsave | kAvx, 0x178bfbff),
            leaf(0xB, 1, 1, 0x100, 0), leaf(0xD, 0xe7, 0x340, 0xa88, 0)};
}

} // namespace

class CpuidTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void apicIdAndCountPerVcpu() {
        const auto entries = cpuidForVcpu(supported(), 5, 8);
        QCOMPARE(find(entries, 0x1).ebx >> 24, 5u);
        QCOMPARE((find(entries, 0x1).ebx >> 16) & 0xff, 8u);
        QVERIFY(find(entries, 0x1).edx & (1u << 28)); // HTT
        QCOMPARE(find(entries, 0xB).edx, 5u);
    }

    void otherLeavesAndBitsPassThrough() {
        const auto entries = cpuidForVcpu(supported(), 0, 1);
        QCOMPARE(find(entries, 0x1).ecx, kSse3 | kCx16 | kXsave | kAvx);
        QCOMPARE(find(entries, 0x1).ebx >> 24, 0u);
        QCOMPARE(find(entries, 0xD).eax, 0xe7u);
    }
};

QTEST_APPLESS_MAIN(CpuidTest)
#include "CpuidTest.moc"
