# The Exits dock: counters per reason and per address, the recent exits, the rate chart.
# Included from ui/CMakeLists.txt.
list(APPEND KVMSCOPE_UI_SOURCES
    exits/ExitCountersModel.h exits/ExitCountersModel.cpp
    exits/ExitAddressCountersModel.h exits/ExitAddressCountersModel.cpp
    exits/RecentExitsModel.h exits/RecentExitsModel.cpp
    exits/ExitRateHistory.h exits/ExitRateHistory.cpp
    exits/ExitRateChart.h exits/ExitRateChart.cpp
    exits/ExitsView.h exits/ExitsView.cpp)
