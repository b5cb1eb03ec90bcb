list(APPEND KVMSCOPE_CORE_SOURCES devices/Device.h devices/Device.cpp devices/IrqLine.h devices/DeviceTimer.h
    devices/DeviceState.h devices/DeviceState.cpp devices/EmulatedDevice.h devices/EmulatedDevice.cpp)
list(APPEND KVMSCOPE_CORE_SOURCES
    devices/SerialSink.h
    devices/Uart16550.h devices/Uart16550.cpp
    devices/DebugExitPort.h devices/DebugExitPort.cpp
    devices/PostCodePort.h devices/PostCodePort.cpp
    devices/CmosRtc.h devices/CmosRtc.cpp
    devices/AcpiPmControl.h devices/AcpiPmControl.cpp
    devices/ResetControlPort.h devices/ResetControlPort.cpp
    devices/ScancodeTranslation.h devices/ScancodeTranslation.cpp
    devices/Ps2Device.h
    devices/Ps2Keyboard.h devices/Ps2Keyboard.cpp
    devices/Ps2Mouse.h devices/Ps2Mouse.cpp
    devices/I8042Controller.h devices/I8042Controller.cpp
    devices/Framebuffer.h devices/Framebuffer.cpp
    devices/BochsDispi.h devices/BochsDispi.cpp
    devices/VgaText.h devices/VgaText.cpp
    devices/StdVgaFunction.h devices/StdVgaFunction.cpp
)
list(APPEND KVMSCOPE_CORE_SOURCES
    devices/ide/Ata.h
    devices/ide/PrdTable.h devices/ide/PrdTable.cpp
    devices/ide/IdeDrive.h devices/ide/IdeDrive.cpp
    devices/ide/AtaDisk.h devices/ide/AtaDisk.cpp
    devices/ide/AtapiCdrom.h devices/ide/AtapiCdrom.cpp
    devices/ide/IdeChannel.h devices/ide/IdeChannel.cpp
)
