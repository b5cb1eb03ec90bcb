list(APPEND KVMSCOPE_CORE_SOURCES display/DisplaySource.h display/DisplaySource.cpp)
