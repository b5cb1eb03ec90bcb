#pragma once
// Processes a test starts (kvmscope, gdb) end with the test. A test that crashes or is killed at
// its time limit would otherwise leave them running, holding the output pipes that ctest waits on.
// The time limit itself (tests/CMakeLists.txt) signals the test's whole process group; this covers
// a test that dies on its own.
#include <QProcess>
#include <csignal>
#include <sys/prctl.h>

namespace kvmscope::testing {

// prctl(2) PR_SET_PDEATHSIG: the child gets SIGKILL when the thread that started it exits.
inline void endWithTest(QProcess& process) {
    process.setChildProcessModifier([] { ::prctl(PR_SET_PDEATHSIG, SIGKILL); });
}

} // namespace kvmscope::testing
