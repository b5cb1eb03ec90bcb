# The Registers dock: one vcpu's snapshot as a register tree, and the decodings it shows.
# Included from ui/CMakeLists.txt.
list(APPEND KVMSCOPE_UI_SOURCES
    registers/RegisterDecoding.h registers/RegisterDecoding.cpp
    registers/DebugFpuDecoding.h registers/DebugFpuDecoding.cpp
    registers/MsrNames.h registers/MsrNames.cpp
    registers/RegistersModel.h registers/RegistersModel.cpp
    registers/RegistersView.h registers/RegistersView.cpp)
