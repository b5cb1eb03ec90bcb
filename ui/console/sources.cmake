# The Serial console dock, on the terminal widget (ui/terminal/). Included from ui/CMakeLists.txt.
list(APPEND KVMSCOPE_UI_SOURCES
    console/SerialConsoleView.h console/SerialConsoleView.cpp)
