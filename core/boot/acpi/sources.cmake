list(APPEND KVMSCOPE_CORE_SOURCES
    boot/acpi/AcpiStructures.h
    boot/acpi/Aml.h boot/acpi/Aml.cpp
    boot/acpi/Dsdt.h boot/acpi/Dsdt.cpp
    boot/acpi/AcpiTables.h boot/acpi/AcpiTables.cpp
)
