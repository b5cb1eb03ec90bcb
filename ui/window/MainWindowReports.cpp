// MainWindow: the crash report of a machine and Help > About.
#include "machine/Machine.h"
#include "session/MachineListModel.h"
#include "session/MachineSession.h"
#include "window/MainWindow.h"

#include <QCoreApplication>
#include <QDockWidget>
#include <QFileInfo>
#include <QListView>
#include <QMessageBox>
#include <QUrl>

namespace kvmscope::ui {

void MainWindow::reportCrash(MachineSession& session) {
    const std::optional<MachineStop> stop = session.machine().stopState();
    if (!stop || stop->kind != StopKind::Crash)
        return;
    // A crash is worth more than a status-bar line: say what happened, show the crashed machine
    // and its final registers (the vcpus are parked, so the registers view can read them). Not
    // modal: the other machines and the rest of the window go on.
    if (current_ != &session) {
        const int row = machines_->rowOf(&session);
        if (row >= 0)
            machineList_->setCurrentIndex(machines_->index(row));
    }
    if (auto* registers = findChild<QDockWidget*>(QStringLiteral("registersDock"))) {
        registers->show();
        registers->raise();
    }
    // What the Registers view shows is KVM's state after the stop; on AMD hosts a triple fault
    // has reset the vcpu by then. Say which it is, and give the registers at the last exit
    // before the crash, the last state of the guest's own that kvmscope saw.
    const std::optional<inspect::CrashReport> report = session.crashReport();
    QString shows = tr("The Registers view shows its vcpus as KVM reports them after the stop.");
    if (report && report->resetByKvm)
        shows = tr("KVM reset vcpu %1 when it reported the shutdown (AMD hosts do), so the "
                   "Registers view shows its reset state, not the crash. The registers at its "
                   "last exit before the crash are under Details.")
                    .arg(stop->vcpu);
    else if (report && report->hasLastExit)
        shows += tr(" The registers at the last exit before the crash are under Details.");
    // After a triple fault, the chain of exceptions that led to it (inspect/TripleFaultAutopsy.h)
    // in a line of its own, its steps first under Details.
    QString chain;
    if (report && !report->autopsySummary.empty())
        chain =
            tr("\n\nTriple-fault autopsy: %1").arg(QString::fromStdString(report->autopsySummary));
    auto* box = new QMessageBox(
        QMessageBox::Critical, tr("%1 crashed").arg(session.name()),
        tr("The guest %1 crashed: %2%3\n\n%4")
            .arg(session.name(), QString::fromStdString(stop->reason), chain, shows),
        QMessageBox::Ok, this);
    if (report)
        box->setDetailedText(QString::fromStdString(report->autopsy + report->text));
    box->setObjectName(QStringLiteral("crashReport"));
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->setWindowModality(Qt::NonModal);
    box->show();
}

QString MainWindow::documentationDirectory() {
    // Installed beside the package's other files, or the source tree's for a build run in place.
    for (const char* candidate : {KVMSCOPE_DOCS_INSTALLED, KVMSCOPE_DOCS_SOURCE}) {
        const QString directory = QString::fromUtf8(candidate);
        if (QFileInfo(directory + QStringLiteral("/design.md")).isFile())
            return directory;
    }
    return {};
}

void MainWindow::about() {
    const QString docs = documentationDirectory();
    const QString docsLine =
        docs.isEmpty() ? tr("The documentation is in the docs/ folder of kvmscope's sources.")
                       : tr("Documentation: <a href=\"%1\">%2</a>")
                             .arg(QUrl::fromLocalFile(docs).toString(), docs.toHtmlEscaped());
    QMessageBox::about(
        this, tr("About kvmscope"),
        tr("<h3>kvmscope %1</h3><p>A desktop virtual machine monitor that drives the Linux KVM API "
           "directly and shows what happens inside a guest while it runs: vcpu registers, "
           "devices and their attributes, every VM exit, the screen, the serial console and a "
           "debugger.</p><p>%2</p>"
           "<p>Licences: kvmscope's own licence has not been chosen yet, so none is granted "
           "with this build. It uses Qt %3 (LGPL-3.0), Zydis, libvterm, spdlog and fmt (each "
           "under the MIT licence), as Debian ships them.</p>")
            .arg(QCoreApplication::applicationVersion().toHtmlEscaped(), docsLine,
                 QString::fromLatin1(qVersion())));
}

} // namespace kvmscope::ui
