list(APPEND KVMSCOPE_CORE_SOURCES
    snapshot/SnapshotFile.h snapshot/SnapshotFile.cpp snapshot/RamImage.h snapshot/RamImage.cpp
    snapshot/DeviceStateCodec.h snapshot/DeviceStateCodec.cpp)
