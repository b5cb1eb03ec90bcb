# What a front end reads of a stopped guest: one snapshot per vcpu stop, guest memory relative to
# it, and a crashed vcpu's report (docs/design.md, "One snapshot per stop").
list(APPEND KVMSCOPE_CORE_SOURCES
    inspect/VcpuSnapshot.h inspect/VcpuSnapshot.cpp inspect/GuestView.h inspect/GuestView.cpp
    inspect/CrashReport.h inspect/CrashReport.cpp inspect/DescriptorTables.h
    inspect/DescriptorTables.cpp inspect/InterruptPath.h inspect/InterruptPath.cpp
    inspect/TripleFaultAutopsy.h inspect/TripleFaultAutopsy.cpp inspect/TripleFaultAutopsyParts.h
    inspect/TripleFaultFirstException.cpp inspect/TripleFaultDelivery.cpp
)
