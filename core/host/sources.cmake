list(APPEND KVMSCOPE_CORE_SOURCES
    host/HostProfile.h host/HostProfile.cpp
)
