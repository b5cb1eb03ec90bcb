list(APPEND KVMSCOPE_CORE_SOURCES
    debug/PageWalker.h debug/PageWalker.cpp debug/SymbolTable.h debug/SymbolTable.cpp
    debug/Disassembler.h debug/Disassembler.cpp debug/Debugger.h debug/Debugger.cpp
    debug/BreakpointTable.h debug/BreakpointTable.cpp debug/AddressSpace.h debug/AddressSpace.cpp
    debug/GuestInspector.h debug/GuestInspector.cpp
    debug/ExitBreakpoints.h debug/ExitBreakpoints.cpp
    debug/HostDebugSupport.h debug/HostDebugSupport.cpp debug/HostDebugProbe.h
    debug/HostDebugProbe.cpp
)
include(${CMAKE_CURRENT_LIST_DIR}/gdb/sources.cmake)
