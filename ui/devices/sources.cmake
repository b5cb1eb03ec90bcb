# The Devices dock: every device's attributes as a tree, and adding a kernel device.
# Included from ui/CMakeLists.txt.
list(APPEND KVMSCOPE_UI_SOURCES
    devices/DeviceTreeModel.h devices/DeviceTreeModel.cpp
    devices/DevicesView.h devices/DevicesView.cpp
    devices/AddKernelDeviceDialog.h devices/AddKernelDeviceDialog.cpp)
