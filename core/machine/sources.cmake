list(APPEND KVMSCOPE_CORE_SOURCES
    machine/PcPlatform.h machine/GuestMemory.h machine/GuestMemory.cpp
    machine/BusDevice.h machine/AddressBus.h machine/AddressBus.cpp
    machine/MachineConfig.h machine/MachineConfig.cpp machine/MachineStop.h machine/MachineStop.cpp
    machine/Cpuid.h machine/Cpuid.cpp machine/KvmIrqLine.h
    machine/FramebufferSlot.h machine/FramebufferSlot.cpp
    machine/KvmMsiRouter.h machine/KvmMsiRouter.cpp
    machine/DeviceTimerThread.h machine/DeviceTimerThread.cpp
    machine/Machine.h machine/Machine.cpp machine/MachineStorage.cpp machine/MachineVirtio.cpp
    machine/MachinePci.cpp
    machine/MachineRestore.cpp
    machine/MachineHost.h machine/MachineHost.cpp
)
