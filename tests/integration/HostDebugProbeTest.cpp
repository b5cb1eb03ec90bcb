// The debugger's host probe (debug/HostDebugProbe.h) on this host's /dev/kvm: every mechanism
// gets a finding that says what its probe guest did, the findings do not change from one probe
// to the next, and the ring-3 probe guests really run at CPL 3. The table is printed, so a run
// on any host records what that host's KVM delivers (docs/debugger.md).
#include "debug/HostDebugProbe.h"

#include "KvmTestSupport.h"
#include "kvm/System.h"

using namespace kvmscope;

class HostDebugProbeTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { KVMSCOPE_REQUIRE_KVM(); }

    void everyMechanismHasAFindingSayingWhatItsGuestDid() {
        kvm::System system;
        const debug::HostDebugSupport support = debug::probeHostDebugSupport(system);
        for (const auto& entry : debug::HostDebugSupport::entries()) {
            const debug::ProbeFinding& finding = support.*entry.finding;
            qInfo("%-32s %-14s %s", entry.name, finding.works ? "works" : "does not work",
                  finding.detail.c_str());
            // "... gave KVM_EXIT_...": the probe ran and names the exit it saw.
            QVERIFY2(finding.detail.find("gave KVM_EXIT_") != std::string::npos,
                     finding.detail.c_str());
            const bool ring3 = std::string_view(entry.name).ends_with("ring 3");
            if (ring3 || std::string_view(entry.name).ends_with("ring 0"))
                QVERIFY2(finding.detail.find(ring3 ? "ring 3" : "ring 0") != std::string::npos,
                         finding.detail.c_str());
        }
    }

    void findingsAreTheSameOnEveryProbe() {
        kvm::System system;
        const debug::HostDebugSupport first = debug::probeHostDebugSupport(system);
        const debug::HostDebugSupport second = debug::probeHostDebugSupport(system);
        for (const auto& entry : debug::HostDebugSupport::entries())
            QVERIFY2((first.*entry.finding).works == (second.*entry.finding).works, entry.name);
        // The cached answer is one of them.
        const debug::HostDebugSupport& cached = debug::hostDebugSupport(system);
        for (const auto& entry : debug::HostDebugSupport::entries())
            QVERIFY2((cached.*entry.finding).works == (first.*entry.finding).works, entry.name);
    }

    void ringThreeProbeGuestRunsAtCplThree() {
        kvm::System system;
        const debug::ProbeFinding privilege = debug::probeRing3Privilege(system);
        qInfo("%s", privilege.detail.c_str());
        QVERIFY2(privilege.works, privilege.detail.c_str());
    }

    // The MXCSR probe first runs a control (a valid value). Where it reaches hlt, the finding
    // says what the reserved bit did; where the host cannot run even the control (a kvm_pvm host
    // emulates ring-0 LDMXCSR and fails it), the finding names that and does not claim the fault.
    void mxcsrProbeRunsItsControlAndNamesTheOutcome() {
        kvm::System system;
        const debug::ProbeFinding fault = debug::probeLdmxcsrReservedBitFault(system);
        qInfo("%s", fault.detail.c_str());
        if (fault.detail.find("of the default MXCSR 0x1f80") != std::string::npos) {
            QVERIFY2(!fault.works, fault.detail.c_str());
            QVERIFY2(fault.detail.find("KVM_EXIT_") != std::string::npos, fault.detail.c_str());
            return;
        }
        QVERIFY2(fault.detail.find("reserved bit 16") != std::string::npos, fault.detail.c_str());
        QVERIFY2(fault.detail.find("KVM_EXIT_SHUTDOWN") != std::string::npos ||
                     fault.detail.find("KVM_EXIT_HLT") != std::string::npos,
                 fault.detail.c_str());
    }
};

QTEST_GUILESS_MAIN(HostDebugProbeTest)
#include "HostDebugProbeTest.moc"
