# The main window: docks, actions and menus, status bar, opening machines, gdb server, layout,
# reports. Included from ui/CMakeLists.txt.
list(APPEND KVMSCOPE_UI_SOURCES
    window/DemoImage.h
    window/NewMachineDialog.h window/NewMachineDialog.cpp
    window/MainWindow.h window/MainWindow.cpp window/MainWindowActions.cpp
    window/MainWindowLayout.cpp window/MainWindowOpening.cpp window/MainWindowStatus.cpp
    window/MainWindowGdb.cpp window/MainWindowReports.cpp window/MainWindowSnapshots.cpp)
