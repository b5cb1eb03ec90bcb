#include "window/NewMachineDialog.h"

#include "common/Error.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QPushButton>
#include <QSpinBox>
#include <QStringListModel>
#include <QVBoxLayout>

namespace kvmscope::ui {
namespace {

constexpr boot::ImageFormat kFormats[] = {
    boot::ImageFormat::Auto,       boot::ImageFormat::Linux,     boot::ImageFormat::Pvh,
    boot::ImageFormat::Multiboot2, boot::ImageFormat::Multiboot, boot::ImageFormat::Elf,
    boot::ImageFormat::Flat};

QWidget* withBrowseButton(QWidget* parent, QLineEdit* edit, QPushButton*& button) {
    auto* row = new QWidget(parent);
    auto* layout = new QHBoxLayout(row);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(edit, 1);
    button = new QPushButton(QObject::tr("Browse…"), row);
    layout->addWidget(button);
    return row;
}

// The firmware choices: automatic picks SeaBIOS when there are disks and no image, as the
// command line does.
enum class FirmwareChoice { Automatic, None, Bios };

} // namespace

NewMachineDialog::NewMachineDialog(Creator creator, QWidget* parent)
    : QDialog(parent), creator_(std::move(creator)) {
    setWindowTitle(tr("New machine"));
    const MachineConfig defaults;

    name_ = new QLineEdit(this);
    name_->setPlaceholderText(tr("the image's file name"));
    image_ = new QLineEdit(this);
    image_->setObjectName(QStringLiteral("imagePath"));
    format_ = new QComboBox(this);
    for (boot::ImageFormat format : kFormats)
        format_->addItem(QString::fromLatin1(boot::toString(format)),
                         QVariant::fromValue(static_cast<int>(format)));
    initrd_ = new QLineEdit(this);
    commandLine_ = new QLineEdit(this);
    disks_ = new QStringListModel(this);
    diskList_ = new QListView(this);
    diskList_->setObjectName(QStringLiteral("disks"));
    diskList_->setModel(disks_);
    diskList_->setMaximumHeight(90);
    diskList_->setToolTip(tr("One disk per row, as --disk takes it: FILE[,format=raw][,readonly]"
                             "[,if=virtio|ide]. Double-click a row to edit it."));
    cdrom_ = new QLineEdit(this);
    cdrom_->setObjectName(QStringLiteral("cdromPath"));
    cdrom_->setPlaceholderText(tr("an ISO image for the IDE CD-ROM drive"));
    firmware_ = new QComboBox(this);
    firmware_->setObjectName(QStringLiteral("firmware"));
    firmware_->addItem(tr("Automatic: SeaBIOS for disks and CDs, none for an image"),
                       static_cast<int>(FirmwareChoice::Automatic));
    firmware_->addItem(tr("None: kvmscope loads the image and enters it"),
                       static_cast<int>(FirmwareChoice::None));
    firmware_->addItem(tr("SeaBIOS: boots from the disks and the CD"),
                       static_cast<int>(FirmwareChoice::Bios));
    memory_ = new QLineEdit(QStringLiteral("%1M").arg(defaults.memorySize >> 20), this);
    memory_->setObjectName(QStringLiteral("memory"));
    memory_->setToolTip(tr("Binary units: 64K, 256M, 2G, or bytes"));
    cpus_ = new QSpinBox(this);
    cpus_->setRange(0, static_cast<int>(MachineConfig::kMaxCpus) + 1); // validate() says why not
    cpus_->setValue(static_cast<int>(defaults.cpus));
    startPaused_ = new QCheckBox(tr("Start &paused (run it with Run, F5)"), this);
    startPaused_->setObjectName(QStringLiteral("startPaused"));
    startPaused_->setToolTip(tr("Ticked: the machine waits before its first instruction, to set "
                                "breakpoints or attach gdb. Unticked: it runs at once."));
    error_ = new QLabel(this);
    error_->setObjectName(QStringLiteral("errorLabel"));
    error_->setWordWrap(true);
    error_->setStyleSheet(QStringLiteral("color: #b00000"));
    error_->hide();

    QPushButton* browseImageButton = nullptr;
    QPushButton* browseInitrdButton = nullptr;
    auto* form = new QFormLayout;
    form->addRow(tr("&Name"), name_);
    form->addRow(tr("&Image"), withBrowseButton(this, image_, browseImageButton));
    form->addRow(tr("&Format"), format_);
    form->addRow(tr("Init&rd / module"), withBrowseButton(this, initrd_, browseInitrdButton));
    form->addRow(tr("&Command line"), commandLine_);
    auto* disksRow = new QWidget(this);
    auto* disksLayout = new QHBoxLayout(disksRow);
    disksLayout->setContentsMargins(0, 0, 0, 0);
    disksLayout->addWidget(diskList_, 1);
    auto* diskButtons = new QVBoxLayout;
    auto* addDiskButton = new QPushButton(tr("Add…"), disksRow);
    auto* removeDiskButton = new QPushButton(tr("Remove"), disksRow);
    diskButtons->addWidget(addDiskButton);
    diskButtons->addWidget(removeDiskButton);
    diskButtons->addStretch();
    disksLayout->addLayout(diskButtons);
    form->addRow(tr("&Disks"), disksRow);
    QPushButton* browseCdromButton = nullptr;
    form->addRow(tr("C&D image"), withBrowseButton(this, cdrom_, browseCdromButton));
    form->addRow(tr("Firm&ware"), firmware_);
    connect(addDiskButton, &QPushButton::clicked, this, &NewMachineDialog::addDisk);
    connect(removeDiskButton, &QPushButton::clicked, this, &NewMachineDialog::removeDisk);
    connect(browseCdromButton, &QPushButton::clicked, this, &NewMachineDialog::browseCdrom);
    form->addRow(tr("&Memory"), memory_);
    form->addRow(tr("&vcpus"), cpus_);
    form->addRow(QString(), startPaused_);
    connect(browseImageButton, &QPushButton::clicked, this, &NewMachineDialog::browseImage);
    connect(browseInitrdButton, &QPushButton::clicked, this, &NewMachineDialog::browseInitrd);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    connect(buttons, &QDialogButtonBox::accepted, this, &NewMachineDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &NewMachineDialog::reject);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(error_);
    layout->addWidget(buttons);
    resize(520, sizeHint().height());
}

void NewMachineDialog::setImagePath(const QString& path) {
    image_->setText(path);
}

bool NewMachineDialog::startPaused() const {
    return startPaused_->isChecked();
}

void NewMachineDialog::setStartPaused(bool paused) {
    startPaused_->setChecked(paused);
}

MachineConfig NewMachineDialog::config() const {
    MachineConfig config;
    const QString image = image_->text().trimmed();
    config.name = name_->text().trimmed().isEmpty() ? QFileInfo(image).fileName().toStdString()
                                                    : name_->text().trimmed().toStdString();
    if (config.name.empty())
        config.name = "vm";
    config.boot.imagePath = image.toStdString();
    config.boot.format = static_cast<boot::ImageFormat>(format_->currentData().toInt());
    config.boot.initrdPath = initrd_->text().trimmed().toStdString();
    config.boot.commandLine = commandLine_->text().toStdString();
    for (const QString& disk : disks_->stringList())
        if (!disk.trimmed().isEmpty())
            config.disks.push_back(storage::parseDiskSpec(disk.trimmed().toStdString(), "disk"));
    const QString cdrom = cdrom_->text().trimmed();
    if (!cdrom.isEmpty())
        config.disks.push_back(storage::cdromSpec(cdrom.toStdString()));
    switch (static_cast<FirmwareChoice>(firmware_->currentData().toInt())) {
    case FirmwareChoice::Automatic:
        config.firmware.kind = image.isEmpty() && !config.disks.empty()
                                   ? firmware::FirmwareKind::Bios
                                   : firmware::FirmwareKind::None;
        break;
    case FirmwareChoice::None:
        config.firmware.kind = firmware::FirmwareKind::None;
        break;
    case FirmwareChoice::Bios:
        config.firmware.kind = firmware::FirmwareKind::Bios;
        break;
    }
    // Unnamed and without an image: named by its first disk's file, as the command line does.
    if (name_->text().trimmed().isEmpty() && image.isEmpty() && !config.disks.empty())
        config.name =
            QFileInfo(QString::fromStdString(config.disks.front().path)).fileName().toStdString();
    config.memorySize = parseSize(memory_->text().trimmed().toStdString(), "memory");
    config.cpus = static_cast<unsigned>(cpus_->value());
    config.boot.cpus = config.cpus;
    return config;
}

QString NewMachineDialog::errorText() const {
    return error_->isVisible() || !error_->text().isEmpty() ? error_->text() : QString();
}

void NewMachineDialog::showError(const QString& text) {
    error_->setText(text);
    error_->setVisible(!text.isEmpty());
}

void NewMachineDialog::accept() {
    MachineConfig machineConfig;
    try {
        machineConfig = config();
        if (machineConfig.boot.imagePath.empty() &&
            machineConfig.firmware.kind != firmware::FirmwareKind::Bios) {
            showError(tr("Choose an image to boot, or disks or a CD for the firmware."));
            return;
        }
        machineConfig.validate();
    } catch (const InputError& error) {
        showError(QString::fromUtf8(error.what()));
        return;
    }
    const QString failure = creator_ ? creator_(machineConfig) : QString();
    if (!failure.isEmpty()) {
        showError(failure);
        return; // stay open: the person fixes the field and tries again
    }
    showError({});
    QDialog::accept();
}

void NewMachineDialog::browseImage() {
    const QString path = QFileDialog::getOpenFileName(this, tr("Guest image"), image_->text());
    if (!path.isEmpty())
        image_->setText(path);
}

void NewMachineDialog::browseInitrd() {
    const QString path =
        QFileDialog::getOpenFileName(this, tr("Initrd or module"), initrd_->text());
    if (!path.isEmpty())
        initrd_->setText(path);
}

void NewMachineDialog::addDisk() {
    const QString path = QFileDialog::getOpenFileName(this, tr("Disk image (raw)"));
    if (path.isEmpty())
        return;
    // A comma in a file name is written twice in a --disk spec.
    QString spec = path;
    spec.replace(QLatin1Char(','), QStringLiteral(",,"));
    const int row = disks_->rowCount();
    disks_->insertRows(row, 1);
    disks_->setData(disks_->index(row), spec);
}

void NewMachineDialog::removeDisk() {
    const QModelIndex current = diskList_->currentIndex();
    if (current.isValid())
        disks_->removeRows(current.row(), 1);
}

void NewMachineDialog::browseCdrom() {
    const QString path = QFileDialog::getOpenFileName(this, tr("CD image"), cdrom_->text(),
                                                      tr("ISO images (*.iso);;All files (*)"));
    if (!path.isEmpty())
        cdrom_->setText(path);
}

} // namespace kvmscope::ui
