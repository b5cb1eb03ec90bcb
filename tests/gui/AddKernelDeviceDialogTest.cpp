// Machine ▸ Add kernel device…: the dialog lists the types the machine's VM accepts, and adding
// one (VFIO, the type x86 hosts offer) shows a new device with its attributes in the device tree.
#include "devices/AddKernelDeviceDialog.h"

#include "GuiTestSupport.h"
#include "devices/Device.h"
#include "devices/DeviceTreeModel.h"
#include "devices/kernel/KernelDevice.h"
#include "kvm/Vm.h"
#include "machine/Machine.h"
#include "session/MachineSession.h"

#include <QAbstractItemModelTester>
#include <QDialogButtonBox>
#include <QListView>
#include <QPushButton>

using namespace kvmscope;
using namespace kvmscope::ui;
using namespace kvmscope::testing;

class AddKernelDeviceDialogTest : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<kvm::System> system_;

private Q_SLOTS:
    void initTestCase() {
        KVMSCOPE_GUI_REQUIRE_KVM();
        system_ = std::make_unique<kvm::System>();
    }

    void listsWhatTheVmOffers() {
        KVMSCOPE_GUI_GUEST_CONFIG(config, "spin");
        MachineSession session(config, *system_);
        AddKernelDeviceDialog dialog(session);
        QList<uint32_t> expected;
        for (uint32_t type : kvm::System::probeDeviceTypes(session.machine().vm()))
            if (type != 0)
                expected << type;
        QCOMPARE(dialog.offeredTypes(), expected);
        QVERIFY(!dialog.selectType(KVM_DEV_TYPE_MAX)); // never a valid type
    }

    void addingVfioShowsANewDeviceWithItsAttributes() {
        KVMSCOPE_GUI_GUEST_CONFIG(config, "spin");
        config.inspectKernelDevices = false; // the machine creates none of its own
        MachineSession session(config, *system_);
        DeviceTreeModel model;
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setSession(&session);
        const int devicesBefore = model.rowCount();
        const size_t sessionDevicesBefore = session.devices().size();

        AddKernelDeviceDialog dialog(session);
        if (!dialog.selectType(KVM_DEV_TYPE_VFIO))
            QSKIP("this host's KVM does not offer KVM_DEV_TYPE_VFIO");
        dialog.accept();
        QVERIFY2(dialog.addedDevice(), qPrintable(dialog.errorText()));
        QCOMPARE(dialog.result(), int(QDialog::Accepted));

        QCOMPARE(session.devices().size(), sessionDevicesBefore + 1);
        QCOMPARE(session.devices().back(), dialog.addedDevice());
        QCOMPARE(model.rowCount(), devicesBefore + 1);
        const QModelIndex added = model.index(devicesBefore, DeviceTreeModel::NameColumn);
        QCOMPARE(added.data().toString(), QStringLiteral("KVM_DEV_TYPE_VFIO"));
        QCOMPARE(added.siblingAtColumn(DeviceTreeModel::TypeColumn).data().toString().isEmpty(),
                 false);
        // Its attributes (the VFIO file group, Documentation/virt/kvm/devices/vfio.rst).
        QVERIFY(!dialog.addedDevice()->attributes().empty());
        QVERIFY(model.rowCount(added) > 0);
        const QModelIndex group = model.index(0, 0, added);
        QVERIFY(model.rowCount(group) > 0);

        // The first of its type keeps the type's name; a later one of the same type (on hosts
        // whose kernel allows several) is numbered.
        auto* kernelDevice = dynamic_cast<KernelDevice*>(dialog.addedDevice());
        QVERIFY(kernelDevice);
        kernelDevice->setInstance(2);
        QCOMPARE(QString::fromStdString(kernelDevice->name()),
                 QStringLiteral("KVM_DEV_TYPE_VFIO #2"));
        kernelDevice->setInstance(1);

        // A second VFIO device: the kernel allows one per VM. The entry says so and cannot be
        // chosen; Add stays off, and accepting anyway adds nothing.
        AddKernelDeviceDialog again(session);
        auto* list = again.findChild<QListView*>(QStringLiteral("deviceTypes"));
        QVERIFY(list);
        QModelIndex vfio;
        for (int row = 0; row < list->model()->rowCount(); ++row)
            if (list->model()->index(row, 0).data().toString().startsWith(
                    QStringLiteral("KVM_DEV_TYPE_VFIO")))
                vfio = list->model()->index(row, 0);
        QVERIFY(vfio.isValid());
        // A disabled entry cannot become the current one (Qt's views refuse it) ...
        again.selectType(KVM_DEV_TYPE_VFIO);
        QVERIFY(list->currentIndex() != vfio);
        QVERIFY(vfio.data().toString().contains(QStringLiteral("one per VM")));
        QVERIFY(!(vfio.flags() & Qt::ItemIsEnabled));
        // ... and with nothing else to choose, Add is off and accepting adds nothing.
        if (!list->currentIndex().isValid()) {
            auto* buttons = again.findChild<QDialogButtonBox*>();
            QVERIFY(buttons);
            QVERIFY(!buttons->button(QDialogButtonBox::Ok)->isEnabled());
            again.accept();
            QVERIFY(!again.addedDevice());
            QCOMPARE(again.result(), int(QDialog::Rejected));
            QCOMPARE(model.rowCount(), devicesBefore + 1);
        }
    }
};

QTEST_MAIN(AddKernelDeviceDialogTest)
#include "AddKernelDeviceDialogTest.moc"
