// HostInfoModel on the real /dev/kvm: the API version is 12 (api.rst 4.1), the in-kernel irqchip
// is offered (every x86 KVM has it), the probed device types and counts are there, the debugger's
// host probe with the mechanism each breakpoint kind gets, and a missing /dev/kvm is shown as the
// reason instead of data.
#include "host/HostInfoModel.h"

#include "GuiTestSupport.h"
#include "debug/HostDebugProbe.h"
#include "kvm/Vm.h"

#include <QAbstractItemModelTester>
#include <algorithm>

using namespace kvmscope;
using namespace kvmscope::ui;

class HostInfoModelTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void withoutKvmShowsTheReason() {
        HostInfoModel model;
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.load(nullptr, QStringLiteral("no /dev/kvm here"));
        QVERIFY(model.loaded());
        QCOMPARE(model.valueText(HostInfoModel::SummarySection, QStringLiteral("KVM")),
                 QStringLiteral("unavailable"));
        QCOMPARE(model
                     .find(HostInfoModel::SummarySection, QStringLiteral("KVM"),
                           HostInfoModel::MeaningColumn)
                     .data()
                     .toString(),
                 QStringLiteral("no /dev/kvm here"));
    }

    void listsTheHostsKvm() {
        KVMSCOPE_GUI_REQUIRE_KVM();
        kvm::System system;
        HostInfoModel model;
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.load(&system);
        QCOMPARE(model.rowCount(), 5);
        QCOMPARE(model.valueText(HostInfoModel::SummarySection, QStringLiteral("API version")),
                 QStringLiteral("12"));
        QVERIFY(
            model.present(HostInfoModel::CapabilitiesSection, QStringLiteral("KVM_CAP_IRQCHIP")));
        QCOMPARE(
            model.valueText(HostInfoModel::CapabilitiesSection, QStringLiteral("KVM_CAP_IRQCHIP")),
            QString::number(system.checkExtension(KVM_CAP_IRQCHIP)));
        QVERIFY(!model
                     .find(HostInfoModel::CapabilitiesSection, QStringLiteral("KVM_CAP_PIT2"),
                           HostInfoModel::MeaningColumn)
                     .data()
                     .toString()
                     .isEmpty());
        QCOMPARE(model.valueText(HostInfoModel::SummarySection, QStringLiteral("Max vcpus")),
                 QString::number(system.maxVcpus()));
        QCOMPARE(model.valueText(HostInfoModel::SummarySection, QStringLiteral("MSRs")),
                 QString::number(system.msrIndexList().size()));
        QCOMPARE(model.valueText(HostInfoModel::SummarySection, QStringLiteral("CPUID entries")),
                 QString::number(system.supportedCpuid().size()));
        // Device types: VFIO is listed either way, and "offered" matches a fresh probe.
        const kvm::Vm vm = system.createVm();
        const auto offered = kvm::System::probeDeviceTypes(vm);
        const bool vfio =
            std::find(offered.begin(), offered.end(), KVM_DEV_TYPE_VFIO) != offered.end();
        QCOMPARE(
            model.present(HostInfoModel::DeviceTypesSection, QStringLiteral("KVM_DEV_TYPE_VFIO")),
            vfio);
        QVERIFY(model.find(HostInfoModel::DeviceTypesSection, QStringLiteral("KVM_DEV_TYPE_VFIO"))
                    .isValid());
    }

    void showsWhatTheDebuggerProbeSawAndWhatBreakpointsUse() {
        KVMSCOPE_GUI_REQUIRE_KVM();
        kvm::System system;
        HostInfoModel model;
        model.load(&system);
        const debug::HostDebugSupport& support = debug::hostDebugSupport(system);
        // One row per mechanism: works or not, and what its probe guest did.
        for (const auto& entry : debug::HostDebugSupport::entries()) {
            const QString name = QString::fromLatin1(entry.name);
            const debug::ProbeFinding& finding = support.*entry.finding;
            QCOMPARE(model.present(HostInfoModel::DebuggingSection, name), finding.works);
            QCOMPARE(model.valueText(HostInfoModel::DebuggingSection, name),
                     finding.works ? QStringLiteral("works") : QStringLiteral("does not work"));
            QCOMPARE(model.find(HostInfoModel::DebuggingSection, name, HostInfoModel::MeaningColumn)
                         .data()
                         .toString(),
                     QString::fromStdString(finding.detail));
        }
        // The mechanism a breakpoint gets here, or that it is refused, as the engine decides.
        const auto software =
            debug::chooseMechanism(debug::BreakpointKind::Software, false, support, 4);
        QCOMPARE(
            model.valueText(HostInfoModel::DebuggingSection, QStringLiteral("Breakpoints use")),
            software.mechanism ? QString::fromLatin1(debug::toString(*software.mechanism))
                               : QStringLiteral("none: refused"));
        const auto write =
            debug::chooseMechanism(debug::BreakpointKind::WriteWatch, false, support, 4);
        QCOMPARE(
            model.present(HostInfoModel::DebuggingSection, QStringLiteral("Write watchpoints use")),
            write.mechanism.has_value());
    }
};

QTEST_MAIN(HostInfoModelTest)
#include "HostInfoModelTest.moc"
