#include "kvm/ExitTeardown.h"

#include <csignal>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace kvmscope::kvm {

bool deferTeardownToExit(const Vm& vm) {
    const int vmFd = vm.fd();
    if (vmFd < 0)
        return false;
    const pid_t parent = getpid();
    const pid_t child = fork();
    if (child < 0)
        return false;
    if (child > 0)
        return true; // never waited for: the child is reparented and reaped once we exit

    // The child of a multi-threaded process: only async-signal-safe calls from here on.
    // Keep the VM fd and nothing else, so pipes the parent's parent reads see EOF when the
    // parent exits, and vcpu/device fds are not held beyond the VM's own teardown.
    if (vmFd > 0)
        syscall(SYS_close_range, 0u, static_cast<unsigned>(vmFd - 1), 0u);
    syscall(SYS_close_range, static_cast<unsigned>(vmFd + 1), ~0u, 0u);
    // Die with the thread that forked us; our exit then drops the last VM reference.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) // it exited before the line above took effect
        _exit(0);
    for (;;)
        pause();
}

} // namespace kvmscope::kvm
