list(APPEND KVMSCOPE_CORE_SOURCES
    firmware/FwCfg.h firmware/FwCfg.cpp
    firmware/TableLoader.h firmware/TableLoader.cpp
    firmware/FirmwareFiles.h firmware/FirmwareFiles.cpp
    firmware/DebugConsole.h firmware/DebugConsole.cpp
    firmware/Firmware.h firmware/Firmware.cpp
)
