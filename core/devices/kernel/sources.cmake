list(APPEND KVMSCOPE_CORE_SOURCES
    devices/kernel/KernelIrqchip.h devices/kernel/KernelIrqchip.cpp
    devices/kernel/KernelLapic.h devices/kernel/KernelLapic.cpp
    devices/kernel/KernelPit.h devices/kernel/KernelPit.cpp
    devices/kernel/KernelDevice.h devices/kernel/KernelDevice.cpp
    devices/kernel/SystemAttributes.h devices/kernel/SystemAttributes.cpp
    devices/kernel/VcpuAttributes.h devices/kernel/VcpuAttributes.cpp
)
