list(APPEND KVMSCOPE_CORE_SOURCES
    firmware/FwCfg.h firmware/FwCfg.cpp
    firmware/DebugConsole.h firmware/DebugConsole.cpp
)
