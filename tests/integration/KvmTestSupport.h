#pragma once
// Shared by the integration tests: they boot real guests on /dev/kvm. Where it is absent the
// whole test is skipped from initTestCase() with the reason, which ctest reports as "Skipped"
// (see SKIP_REGULAR_EXPRESSION in tests/integration/CMakeLists.txt) — never a silent pass.
#include "ChildProcess.h"
#include "kvm/System.h"

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QString>
#include <QStringList>
#include <QTemporaryFile>
#include <QTest>

namespace kvmscope::testing {

inline QString kvmUnavailableReason() {
    std::string why;
    if (kvm::System::available(&why))
        return {};
    return QString::fromStdString(why);
}

#define KVMSCOPE_REQUIRE_KVM()                                                                     \
    do {                                                                                           \
        const QString reason = ::kvmscope::testing::kvmUnavailableReason();                        \
        if (!reason.isEmpty())                                                                     \
            QSKIP(qPrintable("needs /dev/kvm: " + reason));                                        \
    } while (false)

inline QString guestPath(const QString& name) {
    return QStringLiteral(KVMSCOPE_GUESTS_DIR "/") + name;
}

struct CliResult {
    int exitCode = -1;
    QString out;
    QString err;
    bool finished = false;
};

// Runs the kvmscope executable with `arguments`, feeding `input` to its stdin, and waits up to
// `timeoutMs` (then kills it: finished stays false).
inline CliResult runKvmscope(const QStringList& arguments, const QByteArray& input = {},
                             int timeoutMs = 60000) {
    QProcess process;
    endWithTest(process);
    process.setProgram(QStringLiteral(KVMSCOPE_BINARY));
    process.setArguments(arguments);
    process.start();
    CliResult result;
    if (!process.waitForStarted(10000))
        return result;
    if (!input.isEmpty())
        process.write(input);
    process.closeWriteChannel();
    result.finished = process.waitForFinished(timeoutMs);
    if (!result.finished) {
        process.kill();
        process.waitForFinished(5000);
    }
    result.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    result.out = QString::fromUtf8(process.readAllStandardOutput());
    result.err = QString::fromUtf8(process.readAllStandardError());
    return result;
}

inline QByteArray describe(const CliResult& result) {
    return QStringLiteral("exit %1%2\n--- stdout ---\n%3\n--- stderr ---\n%4")
        .arg(result.exitCode)
        .arg(result.finished ? "" : " (timed out, killed)")
        .arg(result.out, result.err)
        .toUtf8();
}

} // namespace kvmscope::testing
