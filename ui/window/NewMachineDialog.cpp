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
#include <QPushButton>
#include <QSpinBox>
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
    if (image_->text().trimmed().isEmpty()) {
        showError(tr("Choose an image to boot."));
        return;
    }
    MachineConfig machineConfig;
    try {
        machineConfig = config();
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

} // namespace kvmscope::ui
