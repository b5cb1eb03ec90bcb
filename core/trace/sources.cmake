list(APPEND KVMSCOPE_CORE_SOURCES
    trace/ExitRecord.h trace/ExitRecord.cpp trace/ExitTrace.h trace/ExitTrace.cpp
    trace/AddressCounters.h trace/AddressCounters.cpp
)
