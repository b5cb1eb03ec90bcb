// The host profile without /dev/kvm: the virtualization kind read from /proc/cpuinfo's flags
// (hardware, nested under a hypervisor, or none), a profile of a host without KVM, and the text
// report `kvmscope --host-info` prints. The facts read from a real KVM are checked by
// test_gui_host_info_model and test_cli_options.
#include "host/HostProfile.h"

#include <QTest>

using namespace kvmscope::host;

class HostProfileTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void virtualizationKindFromTheFlags_data() {
        QTest::addColumn<QString>("cpuinfo");
        QTest::addColumn<int>("expected");
        const QString head = QStringLiteral("processor\t: 0\nvendor_id\t: X\nflags\t\t: fpu pae ");
        QTest::newRow("bare vmx") << head + "vmx sse2\n" << int(Virtualization::HardwareVmx);
        QTest::newRow("bare svm") << head + "svm lm\n" << int(Virtualization::HardwareSvm);
        QTest::newRow("vmx in a VM") << head + "vmx hypervisor\n" << int(Virtualization::NestedVmx);
        QTest::newRow("svm in a VM") << head + "hypervisor svm\n" << int(Virtualization::NestedSvm);
        QTest::newRow("neither") << head + "hypervisor lm\n" << int(Virtualization::SoftwareLayer);
        QTest::newRow("no flags line")
            << QStringLiteral("processor\t: 0\n") << int(Virtualization::SoftwareLayer);
        // A flag's name inside another word is not the flag.
        QTest::newRow("substring") << head + "svmx vmxe\n" << int(Virtualization::SoftwareLayer);
        // Only the first processor's flags count (they are the same on every CPU of a host).
        QTest::newRow("first processor") << head + "lm\nprocessor\t: 1\nflags\t\t: vmx\n"
                                         << int(Virtualization::SoftwareLayer);
    }

    void virtualizationKindFromTheFlags() {
        QFETCH(QString, cpuinfo);
        QFETCH(int, expected);
        QCOMPARE(int(detectVirtualization(cpuinfo.toStdString())), expected);
    }

    void unavailableProfileSaysWhy() {
        const HostProfile profile = HostProfile::unavailable("this host has no /dev/kvm");
        QVERIFY(!profile.virtualization);
        QCOMPARE(profile.sections.size(), size_t{1});
        const HostFact* kvm = profile.find(HostSection::Summary, "KVM");
        QVERIFY(kvm);
        QCOMPARE(kvm->value, std::string("unavailable"));
        QCOMPARE(kvm->meaning, std::string("this host has no /dev/kvm"));
        QCOMPARE(kvm->present, std::optional<bool>(false));
        QVERIFY(!profile.find(HostSection::Capabilities, "KVM"));
        QVERIFY(!profile.find(HostSection::Summary, "API version"));
    }

    void reportAlignsEachSectionsColumns() {
        HostProfile profile;
        profile.sections.push_back({HostSection::Summary,
                                    {{"API version", "12", "the stable API", std::nullopt},
                                     {"Max vcpus", "1024", "per VM", std::nullopt}}});
        profile.sections.push_back(
            {HostSection::Capabilities, {{"KVM_CAP_X", "absent", "", false}}});
        const std::string text = formatHostProfile(profile);
        QCOMPARE(QString::fromStdString(text),
                 QStringLiteral("Summary\n"
                                "  API version  12    the stable API\n"
                                "  Max vcpus    1024  per VM\n"
                                "\n"
                                "Capabilities\n"
                                "  KVM_CAP_X  absent\n"));
    }

    void sectionsHaveTheirNames() {
        QCOMPARE(QString::fromLatin1(toString(HostSection::DeviceTypes)),
                 QStringLiteral("Kernel device types"));
        QCOMPARE(QString::fromLatin1(toString(HostSection::Debugging)),
                 QStringLiteral("Debugging"));
        QCOMPARE(QString::fromLatin1(toString(Virtualization::NestedSvm)),
                 QStringLiteral("nested (SVM under a hypervisor)"));
    }
};

QTEST_GUILESS_MAIN(HostProfileTest)
#include "HostProfileTest.moc"
