list(APPEND KVMSCOPE_CORE_SOURCES
    storage/DiskSpec.h storage/DiskSpec.cpp storage/DiskImage.h storage/DiskImage.cpp)
