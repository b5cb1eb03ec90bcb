list(APPEND KVMSCOPE_CORE_SOURCES
    snapshot/SnapshotFile.h snapshot/SnapshotFile.cpp snapshot/RamImage.h snapshot/RamImage.cpp
    snapshot/DeviceStateCodec.h snapshot/DeviceStateCodec.cpp
    snapshot/ByteCodec.h snapshot/ByteCodec.cpp snapshot/KvmState.h snapshot/KvmState.cpp
    snapshot/MachineRecord.h snapshot/MachineRecord.cpp snapshot/CpuidCheck.h snapshot/CpuidCheck.cpp
    snapshot/MachineSnapshot.h snapshot/MachineSnapshot.cpp)
