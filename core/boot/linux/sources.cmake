list(APPEND KVMSCOPE_CORE_SOURCES
    boot/linux/E820.h boot/linux/E820.cpp
    boot/linux/LinuxLoader.h boot/linux/LinuxLoader.cpp
    boot/linux/BzImagePayload.h boot/linux/BzImagePayload.cpp
    boot/linux/PvhLoader.h boot/linux/PvhLoader.cpp boot/linux/PvhStartInfo.h
    boot/linux/EmulatedHostParameters.h boot/linux/EmulatedHostParameters.cpp
)
