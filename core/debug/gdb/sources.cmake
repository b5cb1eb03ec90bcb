# The gdb remote stub (docs/debugger.md, "gdb remote stub"): packet framing, the command handling
# over an abstract target, the machine's target and the TCP server. Plain POSIX sockets, no
# QtNetwork: the headless binary maps QtCore alone.
list(APPEND KVMSCOPE_CORE_SOURCES
    debug/gdb/GdbPacket.h debug/gdb/GdbPacket.cpp debug/gdb/GdbRegisters.h
    debug/gdb/GdbRegisters.cpp debug/gdb/GdbTarget.h debug/gdb/GdbSession.h
    debug/gdb/GdbSession.cpp debug/gdb/MachineGdbTarget.h debug/gdb/MachineGdbTarget.cpp
    debug/gdb/GdbServer.h debug/gdb/GdbServer.cpp
)
