# The display dock: the guest's screen, keyboard and mouse. Included from ui/CMakeLists.txt.
list(APPEND KVMSCOPE_UI_SOURCES
    display/DisplayView.h display/DisplayView.cpp
    display/ScancodeMap.h display/ScancodeMap.cpp
    display/TextScreenRenderer.h display/TextScreenRenderer.cpp)
