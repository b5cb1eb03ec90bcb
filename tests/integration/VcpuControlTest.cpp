// Drives a running guest through the core's API: pause, read registers, single-step, edit
// registers, resume — all vcpu ioctls happen on the vcpu's own thread.
#include "CollectingSink.h"
#include "KvmTestSupport.h"
#include "machine/Machine.h"

#include <thread>

using namespace kvmscope;
using namespace kvmscope::testing;

namespace {

constexpr int kTimeoutMs = 20000;

// Length of the instruction at `rip` in the spin guest's loop (docs/guests.md: a 16-bit
// `inc eax` = 66 40, and a short `jmp` = EB rel8).
int spinInstructionLength(GuestMemory& memory, uint64_t linear, uint64_t& jumpTarget) {
    const uint8_t first = memory.readValue<uint8_t>(linear);
    jumpTarget = 0;
    if (first == 0x66 && memory.readValue<uint8_t>(linear + 1) == 0x40)
        return 2;
    if (first == 0xeb) {
        const auto displacement = static_cast<int8_t>(memory.readValue<uint8_t>(linear + 1));
        jumpTarget = linear + 2 + static_cast<uint64_t>(static_cast<int64_t>(displacement));
        return 2;
    }
    return -1;
}

} // namespace

class VcpuControlTest : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<kvm::System> system_;
    CollectingSink sink_;
    std::unique_ptr<Machine> machine_;

private Q_SLOTS:
    void initTestCase() {
        KVMSCOPE_REQUIRE_KVM();
        system_ = std::make_unique<kvm::System>();
    }

    void init() {
        MachineConfig config;
        config.memorySize = 16ull << 20;
        config.boot.imagePath = guestPath("spin").toStdString();
        machine_ = std::make_unique<Machine>(config, *system_, sink_);
        machine_->boot();
        machine_->run();
        // "spin\r\n" (console16 sends CR LF) is the last output; the loop follows at once.
        QVERIFY2(sink_.waitFor("spin\r\n", kTimeoutMs), sink_.text().constData());
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }

    void cleanup() { machine_.reset(); }

    // A vcpu that has not touched its x87/SSE state shows the reset values (SDM Vol. 3A 9.1.1,
    // Table 9-1: FCW 0x037F, MXCSR 0x1F80), not the zeros of an unwritten save area.
    void freshVcpuShowsTheFpuResetValues() {
        CollectingSink sink;
        MachineConfig config;
        config.memorySize = 16ull << 20;
        config.boot.imagePath = guestPath("spin").toStdString();
        Machine fresh(config, *system_, sink);
        fresh.boot();
        const cpu::CpuState state = fresh.vcpu(0).readState(kTimeoutMs);
        QCOMPARE(state.fpu.fcw, uint16_t(0x037f));
        QCOMPARE(state.fpu.mxcsr, uint32_t(0x1f80));
    }

    void pauseParksAndRegistersAreReadable() {
        machine_->pause();
        QVERIFY(machine_->waitUntilPaused(kTimeoutMs));
        QCOMPARE(machine_->vcpu(0).state(), cpu::RunState::Paused);
        const cpu::CpuState state = machine_->vcpu(0).readState();
        uint64_t target = 0;
        const uint64_t linear = state.sregs.cs.base + state.regs.rip;
        QVERIFY2(spinInstructionLength(machine_->memory(), linear, target) > 0,
                 qPrintable(QString::fromStdString(cpu::formatRegisters(state))));
    }

    void singleStepAdvancesOneInstruction() {
        machine_->pause();
        QVERIFY(machine_->waitUntilPaused(kTimeoutMs));
        auto& vcpu = machine_->vcpu(0);
        for (int i = 0; i < 6; ++i) {
            const cpu::CpuState before = vcpu.readState();
            const uint64_t linear = before.sregs.cs.base + before.regs.rip;
            uint64_t jumpTarget = 0;
            const int length = spinInstructionLength(machine_->memory(), linear, jumpTarget);
            QVERIFY(length > 0);
            vcpu.step();
            QVERIFY(vcpu.waitUntilParked(kTimeoutMs));
            const cpu::CpuState after = vcpu.readState();
            const uint64_t expected = jumpTarget ? jumpTarget - before.sregs.cs.base
                                                 : before.regs.rip + static_cast<uint64_t>(length);
            QCOMPARE(after.regs.rip, expected);
            if (!jumpTarget)
                QCOMPARE(static_cast<uint32_t>(after.regs.rax),
                         static_cast<uint32_t>(before.regs.rax) + 1);
        }
    }

    void editedRegisterIsSeenByTheGuest() {
        machine_->pause();
        QVERIFY(machine_->waitUntilPaused(kTimeoutMs));
        auto& vcpu = machine_->vcpu(0);
        cpu::CpuState state = vcpu.readState();
        state.regs.rax = 0x1000;
        vcpu.writeState(state, cpu::PartRegs);
        QCOMPARE(vcpu.readState().regs.rax, uint64_t(0x1000));
        machine_->run();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        machine_->pause();
        QVERIFY(machine_->waitUntilPaused(kTimeoutMs));
        // The loop only increments EAX: it kept counting from the value written.
        QVERIFY(static_cast<uint32_t>(vcpu.readState().regs.rax) > 0x1000);
    }

    void resumeRunsAgainAndExitsAreTraced() {
        machine_->pause();
        QVERIFY(machine_->waitUntilPaused(kTimeoutMs));
        const uint64_t exitsBefore = machine_->vcpu(0).trace().totalExits();
        QVERIFY(exitsBefore > 0); // at least the UART writes of "spin"
        const auto records = machine_->vcpu(0).trace().drain(0);
        QVERIFY(!records.empty());
        bool sawUartWrite = false;
        const bool syncRegs = (system_->checkExtension(KVM_CAP_SYNC_REGS) & KVM_SYNC_X86_REGS) != 0;
        for (const auto& record : records) {
            if (record.reason != KVM_EXIT_IO || record.address != 0x3f8 ||
                record.access != trace::AccessKind::PortOut)
                continue;
            sawUartWrite = true;
            // With KVM_CAP_SYNC_REGS the record carries the RIP of the `out`, inside the
            // guest's image (flat, loaded at 0x7c00, a few hundred bytes).
            if (syncRegs) {
                QVERIFY(record.ripValid);
                QVERIFY2(record.rip >= 0x7c00 && record.rip < 0x7e00,
                         qPrintable(QString::number(record.rip, 16)));
            }
        }
        QVERIFY(sawUartWrite);
        machine_->run();
        QTRY_COMPARE_WITH_TIMEOUT(machine_->vcpu(0).state(), cpu::RunState::Running, kTimeoutMs);
    }

    void readingStateWhileRunningFailsClearly() {
        QTRY_COMPARE_WITH_TIMEOUT(machine_->vcpu(0).state(), cpu::RunState::Running, kTimeoutMs);
        QVERIFY_THROWS_EXCEPTION(Error, machine_->vcpu(0).readState(200));
    }

    void stopEndsEveryVcpuThread() {
        machine_->requestStop({StopKind::UserStop, 0, 0, "test"});
        QVERIFY(machine_->waitUntilPaused(kTimeoutMs));
        QCOMPARE(machine_->stopState()->kind, StopKind::UserStop);
    }
};

QTEST_GUILESS_MAIN(VcpuControlTest)
#include "VcpuControlTest.moc"
