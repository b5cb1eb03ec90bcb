list(APPEND KVMSCOPE_CORE_SOURCES log/Log.h log/Log.cpp)
