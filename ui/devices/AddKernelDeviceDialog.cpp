#include "devices/AddKernelDeviceDialog.h"

#include "common/Error.h"
#include "session/MachineSession.h"

#include <QDialogButtonBox>
#include <QLabel>
#include <QListView>
#include <QPushButton>
#include <QScrollBar>
#include <QStandardItemModel>
#include <QVBoxLayout>

namespace kvmscope::ui {
namespace {

constexpr int kTypeRole = Qt::UserRole + 1;

} // namespace

AddKernelDeviceDialog::AddKernelDeviceDialog(MachineSession& session, QWidget* parent)
    : QDialog(parent), session_(session) {
    setWindowTitle(tr("Add kernel device — %1").arg(session.name()));
    types_ = new QStandardItemModel(this);
    // The test ioctl creates nothing, so probing every type is cheap and leaves the VM unchanged.
    for (const MachineHost::KernelDeviceOffer& offer : session.kernelDeviceOffers()) {
        QString text = QString::fromStdString(offer.name);
        auto* item = new QStandardItem;
        item->setData(offer.type, kTypeRole);
        item->setEditable(false);
        if (offer.added > 0) {
            // A type KVM allows once per VM (VFIO) is offered, but not again.
            text += offer.onePerVm ? tr(" (already on this machine; one per VM)")
                                   : tr(" (already on this machine)");
            if (offer.onePerVm)
                item->setFlags(item->flags() & ~Qt::ItemIsEnabled);
        }
        item->setText(text);
        types_->appendRow(item);
    }

    list_ = new QListView(this);
    list_->setObjectName(QStringLiteral("deviceTypes"));
    list_->setModel(types_);
    list_->setSelectionMode(QAbstractItemView::SingleSelection);
    for (int row = 0; row < types_->rowCount(); ++row) {
        if (types_->item(row)->isEnabled()) {
            list_->setCurrentIndex(types_->index(row, 0));
            break;
        }
    }
    // Every entry whole: as wide as the longest one.
    list_->setMinimumWidth(list_->sizeHintForColumn(0) + 2 * list_->frameWidth() +
                           list_->verticalScrollBar()->sizeHint().width());

    auto* intro = new QLabel(
        types_->rowCount() > 0
            ? tr("Device types this host's KVM offers for %1:").arg(session.name())
            : tr("This host's KVM offers no kernel device type (KVM_CREATE_DEVICE_TEST refused "
                 "every one)."),
        this);
    intro->setWordWrap(true);
    error_ = new QLabel(this);
    error_->setObjectName(QStringLiteral("errorLabel"));
    error_->setWordWrap(true);
    error_->setStyleSheet(QStringLiteral("color: #b00000"));
    error_->hide();

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("Add"));
    // Add only for a type that can be added (a VFIO device that is there already cannot).
    QPushButton* add = buttons->button(QDialogButtonBox::Ok);
    auto updateAdd = [this, add] {
        const QModelIndex current = list_->currentIndex();
        add->setEnabled(current.isValid() && (current.flags() & Qt::ItemIsEnabled));
    };
    updateAdd();
    connect(list_->selectionModel(), &QItemSelectionModel::currentChanged, this, updateAdd);
    connect(buttons, &QDialogButtonBox::accepted, this, &AddKernelDeviceDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(list_, &QListView::doubleClicked, this, &AddKernelDeviceDialog::accept);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(intro);
    layout->addWidget(list_);
    layout->addWidget(error_);
    layout->addWidget(buttons);
}

QList<uint32_t> AddKernelDeviceDialog::offeredTypes() const {
    QList<uint32_t> types;
    for (int row = 0; row < types_->rowCount(); ++row)
        types << types_->item(row)->data(kTypeRole).toUInt();
    return types;
}

bool AddKernelDeviceDialog::selectType(uint32_t type) {
    for (int row = 0; row < types_->rowCount(); ++row) {
        if (types_->item(row)->data(kTypeRole).toUInt() == type) {
            list_->setCurrentIndex(types_->index(row, 0));
            return true;
        }
    }
    return false;
}

QString AddKernelDeviceDialog::errorText() const {
    return error_->text();
}

void AddKernelDeviceDialog::accept() {
    const QModelIndex current = list_->currentIndex();
    if (!current.isValid() || !(current.flags() & Qt::ItemIsEnabled))
        return;
    const auto type = current.data(kTypeRole).toUInt();
    try {
        added_ = &session_.addKernelDevice(type);
    } catch (const Error& failure) {
        error_->setText(
            tr("%1: %2").arg(QString::fromStdString(MachineHost::kernelDeviceTypeName(type)),
                             QString::fromUtf8(failure.what())));
        error_->show();
        return;
    }
    QDialog::accept();
}

} // namespace kvmscope::ui
