list(APPEND KVMSCOPE_CORE_SOURCES common/Error.h)
list(APPEND KVMSCOPE_CORE_SOURCES
    common/CpuFlags.h common/CpuFlags.cpp
    common/ElfFile.h common/ElfFile.cpp
    common/EventFd.h common/EventFd.cpp
    common/InputFile.h common/InputFile.cpp
    common/IoThread.h common/IoThread.cpp
    common/MappedFile.h common/MappedFile.cpp
    common/ScratchPages.h common/ScratchPages.cpp
)
