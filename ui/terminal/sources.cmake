# The serial-console terminal widget, on libvterm's screen layer. Included from
# ui/CMakeLists.txt: adds its sources to KVMSCOPE_UI_SOURCES and libvterm to KVMSCOPE_UI_LIBS.
find_package(PkgConfig REQUIRED)
if(NOT TARGET PkgConfig::VTERM)
    # GLOBAL: kvmscope_ui is static, so PkgConfig::VTERM travels in its link interface to
    # executables defined in other directories (app/, tests/gui/).
    pkg_check_modules(VTERM REQUIRED IMPORTED_TARGET GLOBAL vterm)
endif()
set(KVMSCOPE_UI_PKG_VTERM PkgConfig::VTERM)

list(APPEND KVMSCOPE_UI_SOURCES
    terminal/CellGridPainter.h terminal/CellGridPainter.cpp
    terminal/ConsolePalette.h terminal/ConsolePalette.cpp
    terminal/KeyTranslation.h terminal/KeyTranslation.cpp
    terminal/Scrollback.h terminal/Scrollback.cpp
    terminal/TerminalCell.h
    terminal/TerminalScreen.h terminal/TerminalScreen.cpp
    terminal/TerminalSelection.h terminal/TerminalSelection.cpp
    terminal/TerminalWidget.h terminal/TerminalWidget.cpp)
list(APPEND KVMSCOPE_UI_LIBS PkgConfig::VTERM)
