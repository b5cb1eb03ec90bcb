list(APPEND KVMSCOPE_CORE_SOURCES
    cpu/CpuState.h cpu/CpuState.cpp cpu/X86Bits.h cpu/CrashState.h cpu/CrashState.cpp
    cpu/VcpuRunner.h cpu/VcpuRunner.cpp cpu/VcpuStepping.cpp cpu/VcpuStop.h cpu/VcpuStop.cpp
    cpu/ExitAction.h cpu/ExitAction.cpp
    cpu/EmulationFallback.h cpu/EmulationFallback.cpp cpu/GuestOperand.h cpu/GuestOperand.cpp
)
