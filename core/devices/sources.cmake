list(APPEND KVMSCOPE_CORE_SOURCES devices/Device.h devices/Device.cpp devices/IrqLine.h)
