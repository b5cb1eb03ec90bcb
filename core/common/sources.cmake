list(APPEND KVMSCOPE_CORE_SOURCES common/Error.h)
list(APPEND KVMSCOPE_CORE_SOURCES
    common/MappedFile.h common/MappedFile.cpp
    common/ScratchPages.h common/ScratchPages.cpp
)
