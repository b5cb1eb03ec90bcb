# The Host dock: what this host's KVM offers (core/host/HostProfile). Included from
# ui/CMakeLists.txt.
list(APPEND KVMSCOPE_UI_SOURCES
    host/HostInfoModel.h host/HostInfoModel.cpp
    host/HostView.h host/HostView.cpp)
