# The Debugger dock (docs/debugger.md, "GUI"): disassembly, breakpoints, memory, page walk,
# call stack and the CPU tables on the core's debug engine. Included from ui/CMakeLists.txt.
list(APPEND KVMSCOPE_UI_SOURCES
    debugger/GoToExpression.h debugger/GoToExpression.cpp
    debugger/DebugTarget.h debugger/DebugTarget.cpp
    debugger/BreakpointsModel.h debugger/BreakpointsModel.cpp
    debugger/DisassemblyModel.h debugger/DisassemblyModel.cpp
    debugger/MemoryModel.h debugger/MemoryModel.cpp
    debugger/PageWalkModel.h debugger/PageWalkModel.cpp
    debugger/CallStackModel.h debugger/CallStackModel.cpp
    debugger/CpuTablesModel.h debugger/CpuTablesModel.cpp
    debugger/InterruptsModel.h debugger/InterruptsModel.cpp
    debugger/AddBreakpointDialog.h debugger/AddBreakpointDialog.cpp
    debugger/DebuggerView.h debugger/DebuggerView.cpp debugger/DebuggerViewPanes.cpp
    debugger/DebuggerViewActions.cpp debugger/DebuggerViewGoTo.cpp)
