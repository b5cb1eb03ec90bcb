list(APPEND KVMSCOPE_CORE_SOURCES
    kvm/compat.h kvm/KvmError.h kvm/KvmError.cpp kvm/FileDescriptor.h kvm/Ioctl.h kvm/Ioctl.cpp
    kvm/System.h kvm/System.cpp kvm/Vm.h kvm/Vm.cpp kvm/Vcpu.h kvm/Vcpu.cpp
    kvm/DeviceFd.h kvm/DeviceFd.cpp kvm/ExitTeardown.h kvm/ExitTeardown.cpp
)
