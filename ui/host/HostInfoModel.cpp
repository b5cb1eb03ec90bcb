#include "host/HostInfoModel.h"

#include "host/HostProfile.h"

namespace kvmscope::ui {
HostInfoModel::HostInfoModel(QObject* parent) : QStandardItemModel(0, ColumnCount, parent) {
    setHorizontalHeaderLabels({tr("Item"), tr("Value"), tr("Meaning")});
}

QString HostInfoModel::sectionName(Section section) {
    return QString::fromLatin1(host::toString(static_cast<host::HostSection::Id>(section)));
}

QStandardItem* HostInfoModel::addSection(Section section) {
    auto* item = new QStandardItem(sectionName(section));
    item->setEditable(false);
    QList<QStandardItem*> row{item};
    for (int column = 1; column < ColumnCount; ++column) {
        row.append(new QStandardItem);
        row.back()->setEditable(false);
    }
    appendRow(row);
    return item;
}

void HostInfoModel::addRow(QStandardItem* section, const QString& name, const QString& value,
                           const QString& meaning, QVariant present) {
    QList<QStandardItem*> row{new QStandardItem(name), new QStandardItem(value),
                              new QStandardItem(meaning)};
    for (QStandardItem* item : row) {
        item->setEditable(false);
        item->setData(present, PresentRole);
        if (present.isValid() && !present.toBool())
            item->setForeground(Qt::gray);
    }
    section->appendRow(row);
}

void HostInfoModel::load(kvm::System* system, const QString& unavailableReason) {
    if (system)
        show(host::hostProfile(*system));
    else
        show(host::HostProfile::unavailable(unavailableReason.toStdString()));
}

void HostInfoModel::show(const host::HostProfile& profile) {
    removeRows(0, rowCount());
    for (const host::HostSection& section : profile.sections) {
        QStandardItem* item = addSection(static_cast<Section>(section.id));
        for (const host::HostFact& fact : section.facts) {
            QVariant present;
            if (fact.present)
                present = *fact.present;
            addRow(item, QString::fromStdString(fact.name), QString::fromStdString(fact.value),
                   QString::fromStdString(fact.meaning), present);
        }
    }
    loaded_ = true;
}

QModelIndex HostInfoModel::find(Section section, const QString& name, int column) const {
    const QString title = sectionName(section);
    for (int row = 0; row < rowCount(); ++row) {
        QStandardItem* sectionItem = item(row);
        if (!sectionItem || sectionItem->text() != title)
            continue;
        for (int child = 0; child < sectionItem->rowCount(); ++child)
            if (sectionItem->child(child)->text() == name)
                return index(child, column, sectionItem->index());
    }
    return {};
}

QString HostInfoModel::valueText(Section section, const QString& name) const {
    return find(section, name).data().toString();
}

bool HostInfoModel::present(Section section, const QString& name) const {
    return find(section, name).data(PresentRole).toBool();
}

} // namespace kvmscope::ui
