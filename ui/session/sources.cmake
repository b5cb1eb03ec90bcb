# A machine as the GUI drives it (MachineSession, the one door to the vcpus) and the list of the
# window's machines. Included from ui/CMakeLists.txt.
list(APPEND KVMSCOPE_UI_SOURCES
    session/SessionSerialSink.h session/SessionSerialSink.cpp
    session/MachineSession.h session/MachineSession.cpp
    session/MachineListModel.h session/MachineListModel.cpp)
