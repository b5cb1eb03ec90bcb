#include "machine/MachineStop.h"

namespace kvmscope {

const char* toString(StopKind kind) {
    switch (kind) {
    case StopKind::None:
        return "running";
    case StopKind::PowerOff:
        return "powered off";
    case StopKind::Reset:
        return "reset";
    case StopKind::DebugExit:
        return "debug exit";
    case StopKind::Crash:
        return "crashed";
    case StopKind::Timeout:
        return "timed out";
    case StopKind::UserStop:
        return "stopped by the user";
    }
    return "?";
}

int MachineStop::exitStatus() const {
    switch (kind) {
    case StopKind::DebugExit:
        // isa-debug-exit semantics; the shell only sees the low 8 bits.
        return static_cast<int>(((debugExitValue << 1) | 1) & 0xff);
    case StopKind::Crash:
        return 4;
    case StopKind::Timeout:
        return 6;
    case StopKind::None:
    case StopKind::PowerOff:
    case StopKind::Reset:
    case StopKind::UserStop:
        return 0;
    }
    return 0;
}

} // namespace kvmscope
