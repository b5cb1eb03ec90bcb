// DeviceTreeModel on a real machine: every device listed with its groups and attributes, the
// UART's writable scratch register edited through the model, read-only attributes refused, and
// a refresh that only announces values that changed.
#include "devices/DeviceTreeModel.h"

#include "GuiTestSupport.h"
#include "devices/Uart16550.h"
#include "machine/Machine.h"
#include "session/MachineSession.h"

#include <QAbstractItemModelTester>
#include <QSignalSpy>

using namespace kvmscope;
using namespace kvmscope::ui;
using namespace kvmscope::testing;

class DeviceTreeModelTest : public QObject {
    Q_OBJECT
private:
    std::unique_ptr<kvm::System> system_;
    std::unique_ptr<MachineSession> session_;
    std::unique_ptr<DeviceTreeModel> model_;

    QModelIndex uart() const { return model_->findDevice(QStringLiteral("UART")); }

private Q_SLOTS:
    void initTestCase() {
        KVMSCOPE_GUI_REQUIRE_KVM();
        system_ = std::make_unique<kvm::System>();
        KVMSCOPE_GUI_GUEST_CONFIG(config, "hang");
        session_ = std::make_unique<MachineSession>(config, *system_);
        model_ = std::make_unique<DeviceTreeModel>();
        new QAbstractItemModelTester(
            model_.get(), QAbstractItemModelTester::FailureReportingMode::QtTest, model_.get());
        model_->setSession(session_.get());
        session_->run();
        QTRY_VERIFY_WITH_TIMEOUT(session_->serialTranscript().contains("hang"), kGuestTimeoutMs);
    }

    void cleanupTestCase() {
        model_.reset();
        session_.reset();
    }

    void everyDeviceOfTheMachineIsListed() {
        QCOMPARE(model_->rowCount(), static_cast<int>(session_->machine().devices().size()));
        QVERIFY(uart().isValid());
        QVERIFY(model_->findDevice(QStringLiteral("PIT")).isValid());
        QVERIFY(model_->findDevice(QStringLiteral("vcpu 0")).isValid());
    }

    void uartShowsItsRegistersAndStatistics() {
        const QModelIndex device = uart();
        QCOMPARE(model_->data(device.siblingAtColumn(DeviceTreeModel::TypeColumn)).toString(),
                 QString::fromLatin1(toString(DeviceKind::UserSpace)));
        QVERIFY(model_->rowCount(device) >= 2); // registers, statistics
        for (const char* name : {"LCR", "LSR", "SCR", "IER"})
            QVERIFY2(model_->findAttribute(device, {}, QString::fromLatin1(name)).isValid(), name);
        // The guest printed "hang\n": the transmit counter says so once the running machine's
        // refresh timer has read it again.
        const QModelIndex transmitted = model_->findAttribute(device, QStringLiteral("statistics"),
                                                              QStringLiteral("bytes transmitted"));
        QVERIFY(transmitted.isValid());
        const uint64_t sent = session_->machine()
                                  .serial()
                                  .getAttr(Uart16550::kStatisticsGroup, attrId("bytes transmitted"))
                                  .scalar;
        QVERIFY(sent >= 5);
        QTRY_COMPARE_WITH_TIMEOUT(transmitted.data().toString(),
                                  QStringLiteral("0x%1 (%2)").arg(sent, 0, 16).arg(sent),
                                  kGuestTimeoutMs);
    }

    void editingTheScratchRegisterRoundTrips() {
        const QModelIndex scr = model_->findAttribute(uart(), {}, QStringLiteral("SCR"));
        QVERIFY(scr.isValid());
        QVERIFY(model_->flags(scr) & Qt::ItemIsEditable);
        QSignalSpy errors(model_.get(), &DeviceTreeModel::attributeError);
        QVERIFY(model_->setData(scr, QStringLiteral("0x5a")));
        QCOMPARE(errors.count(), 0);
        QCOMPARE(
            session_->machine().serial().getAttr(Uart16550::kRegistersGroup, attrId("SCR")).scalar,
            uint64_t(0x5a));
        QCOMPARE(scr.data().toString(), QStringLiteral("0x5a (90)"));
        QVERIFY(model_->setData(scr, QStringLiteral("165")));
        QCOMPARE(
            session_->machine().serial().getAttr(Uart16550::kRegistersGroup, attrId("SCR")).scalar,
            uint64_t(165));
    }

    void aValueOutOfRangeIsRefusedWithTheDevicesMessage() {
        const QModelIndex scr = model_->findAttribute(uart(), {}, QStringLiteral("SCR"));
        QSignalSpy errors(model_.get(), &DeviceTreeModel::attributeError);
        QVERIFY(!model_->setData(scr, QStringLiteral("0x1ff")));
        QCOMPARE(errors.count(), 1);
        QVERIFY(!errors.at(0).at(0).toString().isEmpty());
        QVERIFY(!model_->setData(scr, QStringLiteral("not a number")));
        QCOMPARE(errors.count(), 2);
    }

    void editingAReadOnlyAttributeIsRefused() {
        const QModelIndex lsr = model_->findAttribute(uart(), {}, QStringLiteral("LSR"));
        QVERIFY(lsr.isValid());
        QCOMPARE(lsr.siblingAtColumn(DeviceTreeModel::AccessColumn).data().toString(),
                 QString::fromLatin1(toString(AttrAccess::Read)));
        QVERIFY(!(model_->flags(lsr) & Qt::ItemIsEditable));
        const QString before = lsr.data().toString();
        QSignalSpy errors(model_.get(), &DeviceTreeModel::attributeError);
        QVERIFY(!model_->setData(lsr, QStringLiteral("0x0")));
        QCOMPARE(errors.count(), 1);
        QVERIFY(errors.at(0).at(0).toString().contains(QStringLiteral("read-only")));
        QCOMPARE(lsr.data().toString(), before);
    }

    // Only the UART's rows are counted: with the vcpus paused the in-kernel PIT still ticks and
    // sets IRQ 0 in the in-kernel PIC, whose rows change on their own (seen in the nested VM,
    // where a refresh takes long enough for a tick to fall between two).
    void refreshAnnouncesOnlyChangedValues() {
        session_->pause();
        QTRY_COMPARE_WITH_TIMEOUT(session_->state(), MachineSession::State::Paused,
                                  kGuestTimeoutMs);
        model_->refresh();
        QSignalSpy changed(model_.get(), &QAbstractItemModel::dataChanged);
        const QModelIndex device = uart();
        auto uartChanges = [&] {
            QList<QModelIndex> rows;
            for (const QList<QVariant>& arguments : changed) {
                const QModelIndex row = arguments.at(0).toModelIndex();
                for (QModelIndex up = row.parent(); up.isValid(); up = up.parent())
                    if (up == device)
                        rows.append(row);
            }
            return rows;
        };
        model_->refresh();
        QCOMPARE(uartChanges().count(), 0); // a halted guest changes nothing in the UART
        session_->machine().serial().setAttr(Uart16550::kRegistersGroup, attrId("SCR"),
                                             AttrValue::of(0x11));
        model_->refresh();
        const QModelIndex scr = model_->findAttribute(device, {}, QStringLiteral("SCR"));
        QCOMPARE(uartChanges(), QList<QModelIndex>{scr});
        QCOMPARE(scr.data().toString(), QStringLiteral("0x11 (17)"));
    }

    // Not live (the view is off screen): a change the running guest could make is not read on
    // the timer; live again, it is read at once.
    void offScreenTheTreeStopsReading() {
        QVERIFY(model_->live());
        model_->setLive(false);
        QSignalSpy changed(model_.get(), &QAbstractItemModel::dataChanged);
        session_->machine().serial().setAttr(Uart16550::kRegistersGroup, attrId("SCR"),
                                             AttrValue::of(0x5a));
        QTest::qWait(DeviceTreeModel::kRefreshIntervalMs * 3);
        const QModelIndex scr = model_->findAttribute(uart(), {}, QStringLiteral("SCR"));
        QVERIFY(scr.data().toString() != QStringLiteral("0x5a (90)"));
        model_->setLive(true);
        QCOMPARE(scr.data().toString(), QStringLiteral("0x5a (90)"));
        QVERIFY(changed.count() >= 1);
    }

    void vcpuAttributesAreReadWhilePaused() {
        const QModelIndex vcpu = model_->findDevice(QStringLiteral("vcpu 0"));
        QVERIFY(vcpu.isValid());
        if (model_->rowCount(vcpu) == 0)
            QSKIP("this host's KVM offers no vcpu attributes");
        const QModelIndex group = model_->index(0, 0, vcpu);
        const QModelIndex value = model_->index(0, DeviceTreeModel::ValueColumn, group);
        QVERIFY(value.data().toString().startsWith(QStringLiteral("0x")));
    }
};

QTEST_MAIN(DeviceTreeModelTest)
#include "DeviceTreeModelTest.moc"
