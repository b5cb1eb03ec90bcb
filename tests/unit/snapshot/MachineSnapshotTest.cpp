// The sections a machine's snapshot adds to the file (snapshot/KvmState.h, MachineRecord.h,
// CpuidCheck.h, MachineSnapshot.h), without /dev/kvm: round trips of a vcpu's and the VM's
// kernel state and of the machine's configuration; every cut of a section and every record of
// the wrong size refused naming the section; the CPUID check naming the leaf, register and bit;
// and whole files crafted with the writer whose RAM size, vcpu count or disk image disagree with
// what the machine section says, refused by MachineImage naming the file and the section.
#include "snapshot/MachineSnapshot.h"

#include "common/Error.h"
#include "machine/GuestMemory.h"
#include "snapshot/ByteCodec.h"
#include "snapshot/CpuidCheck.h"
#include "snapshot/RamImage.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>
#include <cstring>
#include <sys/time.h>

using namespace kvmscope;
using namespace kvmscope::snapshot;

namespace {

VcpuState sampleVcpu() {
    VcpuState state;
    state.regs.rip = 0x100123;
    state.regs.rax = 0xdeadbeefcafe;
    state.sregs.cr0 = 0x80000011;
    state.sregs.efer = 0x500;
    state.xsave.assign(sizeof(kvm_xsave), 0);
    state.xsave[24] = 0x80;
    state.xsave[25] = 0x1f;
    state.xcrs = kvm_xcrs{};
    state.xcrs->nr_xcrs = 1;
    state.xcrs->xcrs[0].value = 7;
    state.msrs = {{0x10, 0, 123456789}, {0xc0000080, 0, 0x500}};
    state.lapic.regs[0x20] = 1;
    state.events.nmi.pending = 1;
    state.mpState.mp_state = KVM_MP_STATE_HALTED;
    state.debugRegs.dr7 = 0x400;
    kvm_cpuid_entry2 leaf1{};
    leaf1.function = 1;
    leaf1.ecx = 1u << 0; // SSE3
    leaf1.edx = 1u << 4; // TSC
    state.cpuid = {leaf1};
    return state;
}

QString loadErrorOf(const std::function<void()>& load) {
    try {
        load();
    } catch (const LoadError& error) {
        return QString::fromStdString(error.what());
    }
    return {};
}

MachineConfig smallConfig() {
    MachineConfig config;
    config.name = "ticks";
    config.memorySize = 16ull << 20;
    config.cpus = 1;
    config.boot.imagePath = "guest.elf";
    config.boot.commandLine = "console=ttyS0";
    return config;
}

// A whole snapshot of `config`'s machine with `vcpus` vcpu sections and `ramSize` bytes of RAM.
void writeSnapshot(const std::string& path, const MachineRecord& record, unsigned vcpus,
                   uint64_t ramSize) {
    SnapshotWriter writer(path);
    writer.section(kMachineSection, encodeMachine(record));
    writer.section(kVmSection, encodeVm(VmState{
                                   {KVM_IRQCHIP_PIC_MASTER, 0, {}},
                                   {KVM_IRQCHIP_PIC_SLAVE, 0, {}},
                                   {KVM_IRQCHIP_IOAPIC, 0, {}},
                                   {},
                                   {},
                               }));
    for (unsigned index = 0; index < vcpus; ++index)
        writer.section(vcpuSectionName(index), encodeVcpu(sampleVcpu()));
    GuestMemory memory(ramSize);
    writeRam(writer, memory);
    writer.finish();
}

} // namespace

class MachineSnapshotTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void vcpuStateRoundTrips() {
        const VcpuState saved = sampleVcpu();
        const VcpuState read = decodeVcpu(encodeVcpu(saved), "f", "vcpu.0");
        QCOMPARE(read.regs.rip, saved.regs.rip);
        QCOMPARE(read.regs.rax, saved.regs.rax);
        QCOMPARE(read.sregs.efer, saved.sregs.efer);
        QCOMPARE(read.xsave, saved.xsave);
        QVERIFY(read.xcrs && read.xcrs->xcrs[0].value == 7);
        QCOMPARE(read.msrs.size(), size_t{2});
        QCOMPARE(read.msrs[0].index, 0x10u);
        QCOMPARE(uint64_t{read.msrs[0].data}, uint64_t{123456789});
        QCOMPARE(read.lapic.regs[0x20], char(1));
        QCOMPARE(read.events.nmi.pending, uint8_t{1});
        QCOMPARE(read.mpState.mp_state, uint32_t{KVM_MP_STATE_HALTED});
        QCOMPARE(read.debugRegs.dr7, uint64_t{0x400});
        QCOMPARE(read.cpuid.size(), size_t{1});
        QCOMPARE(read.cpuid[0].edx, 1u << 4);
    }

    void vmStateRoundTrips() {
        VmState saved;
        saved.picMaster.chip_id = KVM_IRQCHIP_PIC_MASTER;
        saved.picMaster.chip.pic.imr = 0xfb;
        saved.picSlave.chip_id = KVM_IRQCHIP_PIC_SLAVE;
        saved.ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
        saved.ioapic.chip.ioapic.id = 3;
        saved.pit.channels[0].count = 0x1234;
        saved.clock.clock = 987654321;
        const VmState read = decodeVm(encodeVm(saved), "f", "vm");
        QCOMPARE(read.picMaster.chip.pic.imr, uint8_t{0xfb});
        QCOMPARE(read.ioapic.chip.ioapic.id, 3u);
        QCOMPARE(read.pit.channels[0].count, 0x1234u);
        QCOMPARE(uint64_t{read.clock.clock}, uint64_t{987654321});
    }

    // Every cut of a vcpu section is refused, naming the file and the section.
    void everyCutOfAVcpuSectionIsRefused() {
        const auto bytes = encodeVcpu(sampleVcpu());
        for (size_t length = 0; length < bytes.size(); length += 7) {
            const QString error = loadErrorOf(
                [&] { decodeVcpu(std::span(bytes).first(length), "snap.kvmsnap", "vcpu.3"); });
            QVERIFY2(error.startsWith("snap.kvmsnap: section 'vcpu.3'"),
                     qPrintable(QStringLiteral("%1 bytes: %2").arg(length).arg(error)));
        }
    }

    // A kernel struct stored whole with another size (another kernel's layout) is refused.
    void aRecordOfAnotherSizeIsRefused() {
        RecordWriter out;
        const uint8_t shortRegs[10] = {};
        out.add("regs", shortRegs);
        const QString error = loadErrorOf([&] { decodeVcpu(out.encode(), "f", "vcpu.0"); });
        QVERIFY2(error.contains("section 'vcpu.0': record 'regs' holds 10 bytes"),
                 qPrintable(error));
        const QString missing = loadErrorOf([&] { decodeVm(RecordWriter().encode(), "f", "vm"); });
        QVERIFY2(missing.contains("section 'vm': record 'pic master' is missing"),
                 qPrintable(missing));
    }

    void machineRecordRoundTrips() {
        QTemporaryDir dir;
        const QString disk = dir.filePath("disk.img");
        QFile file(disk);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(QByteArray(4096, '\0'));
        file.close();
        MachineConfig config = smallConfig();
        config.cpus = 3;
        config.boot.cpus = 3;
        storage::DiskSpec spec;
        spec.path = disk.toStdString();
        spec.interface = storage::DiskInterface::Ide;
        spec.readOnly = true;
        config.disks.push_back(spec);
        config.framebuffer.enabled = false;
        const MachineRecord saved = recordMachine(config);
        const MachineRecord read = decodeMachine(encodeMachine(saved), "f");
        QCOMPARE(read.config.memorySize, config.memorySize);
        QCOMPARE(read.config.cpus, 3u);
        QCOMPARE(read.config.boot.commandLine, config.boot.commandLine);
        QCOMPARE(read.config.disks.size(), size_t{1});
        QCOMPARE(read.config.disks[0].path, spec.path);
        QVERIFY(read.config.disks[0].interface == storage::DiskInterface::Ide);
        QVERIFY(read.config.disks[0].readOnly);
        QVERIFY(!read.config.framebuffer.enabled);
        QVERIFY(read.disks == saved.disks);
        checkFiles(read, "f"); // unchanged: accepted

        struct timeval times[2] = {{1, 0}, {1, 0}};
        QCOMPARE(::utimes(QFile::encodeName(disk).constData(), times), 0);
        const QString error = loadErrorOf([&] { checkFiles(read, "snap.kvmsnap"); });
        QVERIFY2(error.contains("snap.kvmsnap: section 'machine': the disk image") &&
                     error.contains("changed since the save: modification time"),
                 qPrintable(error));
    }

    void everyCutOfTheMachineSectionIsRefused() {
        const auto bytes = encodeMachine(recordMachine(smallConfig()));
        for (size_t length = 0; length < bytes.size(); ++length) {
            const QString error =
                loadErrorOf([&] { decodeMachine(std::span(bytes).first(length), "f"); });
            QVERIFY2(error.startsWith("f: section 'machine'"),
                     qPrintable(QStringLiteral("%1 bytes: %2").arg(length).arg(error)));
        }
    }

    // A feature the guest saw and the host lacks is named by leaf, register and bit; bits KVM
    // keeps up to date itself (OSXSAVE) do not count.
    void cpuidFeaturesTheHostLacksAreNamed() {
        kvm_cpuid_entry2 guest{};
        guest.function = 7;
        guest.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
        guest.ebx = (1u << 16) | (1u << 3); // AVX512F, BMI1
        kvm_cpuid_entry2 host = guest;
        host.ebx = 1u << 3;
        const QString error =
            loadErrorOf([&] { checkCpuidSubset({guest}, {host}, "f", "vcpu.1"); });
        QVERIFY2(error.contains("section 'vcpu.1'") &&
                     error.contains("leaf 0x7 subleaf 0 EBX bit 16"),
                 qPrintable(error));
        kvm_cpuid_entry2 leaf1{};
        leaf1.function = 1;
        leaf1.ecx = 1u << 27; // OSXSAVE
        kvm_cpuid_entry2 hostLeaf1{};
        hostLeaf1.function = 1;
        checkCpuidSubset({leaf1}, {hostLeaf1}, "f", "vcpu.0");
    }

    // A host whose vcpus run with more than KVM_GET_SUPPORTED_CPUID lists (kvm_pvm reads back
    // the host's SSE3 and up) continues a guest that saw those bits; one whose vcpus lack them
    // too still refuses it.
    void cpuidBitsAVcpuOfTheHostHasCount() {
        kvm_cpuid_entry2 guest{};
        guest.function = 1;
        guest.ecx = 0x77f83203;
        kvm_cpuid_entry2 supported = guest;
        supported.ecx = 0x81202000;
        kvm_cpuid_entry2 running = guest;
        checkCpuidSubset({guest}, {supported}, "f", "vcpu.0", {running});
        running.ecx &= ~1u; // no SSE3 on this host's vcpus either
        const QString error =
            loadErrorOf([&] { checkCpuidSubset({guest}, {supported}, "f", "vcpu.0", {running}); });
        QVERIFY2(error.contains("leaf 0x1 subleaf 0 ECX bit 0"), qPrintable(error));
    }

    void aConsistentFileIsRead() {
        QTemporaryDir dir;
        const std::string path = dir.filePath("good.kvmsnap").toStdString();
        writeSnapshot(path, recordMachine(smallConfig()), 1, 16ull << 20);
        const MachineImage image(path);
        QCOMPARE(image.config().memorySize, uint64_t{16} << 20);
        QCOMPARE(image.vcpus().size(), size_t{1});
        QCOMPARE(image.vcpus()[0].regs.rip, uint64_t{0x100123});
    }

    void anotherRamSizeIsRefused() {
        QTemporaryDir dir;
        const std::string path = dir.filePath("ram.kvmsnap").toStdString();
        writeSnapshot(path, recordMachine(smallConfig()), 1, 8ull << 20);
        const QString error = loadErrorOf([&] { MachineImage image(path); });
        QVERIFY2(error.contains(QString::fromStdString(path) + ": section 'ram': RAM of 8388608 "
                                                               "bytes, where section 'machine' "
                                                               "says the machine has 16777216"),
                 qPrintable(error));
    }

    void anotherVcpuCountIsRefused() {
        QTemporaryDir dir;
        const std::string fewer = dir.filePath("fewer.kvmsnap").toStdString();
        MachineConfig two = smallConfig();
        two.cpus = two.boot.cpus = 2;
        writeSnapshot(fewer, recordMachine(two), 1, 16ull << 20);
        QString error = loadErrorOf([&] { MachineImage image(fewer); });
        QVERIFY2(error.contains("section 'vcpu.1' is missing: section 'machine' says the machine "
                                "has 2 vcpus"),
                 qPrintable(error));
        const std::string more = dir.filePath("more.kvmsnap").toStdString();
        writeSnapshot(more, recordMachine(smallConfig()), 2, 16ull << 20);
        error = loadErrorOf([&] { MachineImage image(more); });
        QVERIFY2(error.contains("section 'vcpu.1' is not one this kvmscope knows (section "
                                "'machine' says the machine has 1 vcpus)"),
                 qPrintable(error));
    }
};

QTEST_GUILESS_MAIN(MachineSnapshotTest)
#include "MachineSnapshotTest.moc"
