#pragma once
// Shared by the integration tests that boot Debian's own kernel (test.sh fetches it and exports
// KVMSCOPE_TEST_BZIMAGE): running kvmscope until the serial console shows what a test waits for,
// and the reasons such a test skips.
#include "ChildProcess.h"
#include "kvm/System.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QMap>
#include <QProcess>
#include <QString>
#include <QStringList>

namespace kvmscope::testing {

// A bound, not a measure: on a host that emulates ring 0 the banner comes after about 45 s and
// both vcpus are up after about 140 s (docs/benchmarks.md); on VMX/SVM hosts, within seconds.
inline constexpr int kDeadlineMs = 480000;

struct Boot {
    QString output;               // stdout, then "--- stderr ---" and stderr
    qint64 bannerMs = -1;         // start to "Linux version"; -1 if it never came
    QMap<QString, qint64> seenMs; // start to each wanted string's first sighting
    bool exited = false;          // kvmscope ended by itself (rather than stopped by the test)
    int exitCode = -1;
};

// Runs kvmscope on `arguments` and reads its stdout until every string in `wanted` has been
// seen (each `times` times), kvmscope exits, or the deadline passes; then, with Then::Exit, gives
// it 30 s to exit by itself (a guest that powers off next), and stops it if it still runs.
enum class Then { Stop, Exit };
inline Boot runUntil(const QStringList& arguments, const QStringList& wanted, int times = 1,
                     Then then = Then::Stop) {
    QProcess process;
    endWithTest(process);
    process.setProgram(QStringLiteral(KVMSCOPE_BINARY));
    process.setArguments(arguments);
    process.setProcessChannelMode(QProcess::SeparateChannels);
    QElapsedTimer timer;
    timer.start();
    process.start();
    Boot boot;
    if (!process.waitForStarted(10000)) {
        boot.output = QStringLiteral("(kvmscope did not start)");
        return boot;
    }
    auto allSeen = [&] {
        for (const QString& line : wanted)
            if (boot.output.count(line) < times)
                return false;
        return true;
    };
    while (timer.elapsed() < kDeadlineMs && process.state() == QProcess::Running && !allSeen()) {
        process.waitForReadyRead(500);
        boot.output += QString::fromUtf8(process.readAllStandardOutput());
        if (boot.bannerMs < 0 && boot.output.contains(QStringLiteral("Linux version")))
            boot.bannerMs = timer.elapsed();
        for (const QString& line : wanted)
            if (!boot.seenMs.contains(line) && boot.output.contains(line))
                boot.seenMs.insert(line, timer.elapsed());
    }
    if (then == Then::Exit && process.state() == QProcess::Running && allSeen())
        process.waitForFinished(30000);
    boot.output += QString::fromUtf8(process.readAllStandardOutput());
    if (process.state() == QProcess::Running) {
        process.terminate(); // SIGTERM: kvmscope stops the guest and exits
        if (!process.waitForFinished(10000)) {
            process.kill();
            process.waitForFinished(5000);
        }
    } else {
        boot.exited = process.exitStatus() == QProcess::NormalExit;
        boot.exitCode = process.exitCode();
    }
    boot.output +=
        QStringLiteral("\n--- stderr ---\n") + QString::fromUtf8(process.readAllStandardError());
    return boot;
}

inline QString kernelOrSkipReason(QString& reason) {
    const QString kernel = qEnvironmentVariable("KVMSCOPE_TEST_BZIMAGE");
    if (kernel.isEmpty())
        reason = QStringLiteral("KVMSCOPE_TEST_BZIMAGE is not set (test.sh sets it to Debian's "
                                "kernel, fetched by tests/guests/fetch-debian-kernel.sh)");
    return kernel;
}

// Booting to /init needs a host that runs guest ring 0 natively: where KVM emulates it, the
// kernel reaches "Run /init" only after about 17 minutes, and on such a host (PVM) /init's first
// system call cannot run (docs/boot.md, docs/benchmarks.md "To `Run /init`").
inline QString initReadyKernelOrSkipReason(QString& reason) {
    const QString kernel = kernelOrSkipReason(reason);
    if (!kernel.isEmpty() && !kvmscope::kvm::System::hardwareVirtualization())
        reason = QStringLiteral("this host has no VMX/SVM: its KVM emulates guest ring 0, where "
                                "the kernel starts /init after about 17 minutes and /init's "
                                "first system call cannot run (docs/boot.md)");
    return reason.isEmpty() ? kernel : QString();
}

inline QString kernelRelease(const QString& kernel) {
    QFile file(QFileInfo(kernel).dir().filePath(QStringLiteral("kernel-release")));
    return file.open(QIODevice::ReadOnly) ? QString::fromUtf8(file.readAll()).trimmed() : QString();
}

} // namespace kvmscope::testing
