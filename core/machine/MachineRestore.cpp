// Machine's part in a restore from a snapshot (snapshot/MachineSnapshot.h).
#include "machine/Machine.h"

namespace kvmscope {

void Machine::prepareForRestore() {
    writePlatformTables();
}

} // namespace kvmscope
