# The serial-console terminal widget (ui/terminal). Included from tests/gui/CMakeLists.txt.
kvmscope_add_test(test_terminal_widget SOURCES TerminalWidgetTest.cpp LABELS gui LIBS kvmscope_ui)
# The test includes "terminal/TerminalWidget.h"; ui/ is the root of the ui library's headers.
target_include_directories(test_terminal_widget PRIVATE ${PROJECT_SOURCE_DIR}/ui)
# Widgets under ctest: no display needed.
set_tests_properties(test_terminal_widget PROPERTIES ENVIRONMENT "QT_QPA_PLATFORM=offscreen")
