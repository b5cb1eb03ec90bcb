list(APPEND KVMSCOPE_CORE_SOURCES
    boot/linux/E820.h boot/linux/E820.cpp
    boot/linux/LinuxLoader.h boot/linux/LinuxLoader.cpp
)
