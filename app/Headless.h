#pragma once
#include "CommandLine.h"

namespace kvmscope::app {

// Boots the configured guest without a window, with COM1 on the terminal (or a file), until it
// stops; returns the process exit status (see helpText()).
int runHeadless(const CommandLine& options);

} // namespace kvmscope::app
