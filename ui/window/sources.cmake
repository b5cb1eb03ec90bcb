# The main window: docks, menus, opening machines, reports. Included from ui/CMakeLists.txt.
list(APPEND KVMSCOPE_UI_SOURCES
    window/DemoImage.h
    window/NewMachineDialog.h window/NewMachineDialog.cpp
    window/MainWindow.h window/MainWindow.cpp window/MainWindowLayout.cpp
    window/MainWindowOpening.cpp window/MainWindowReports.cpp)
