list(APPEND KVMSCOPE_CORE_SOURCES
    boot/BootPlan.h boot/BootPlan.cpp
    boot/GuestLayout.h
    boot/ImagePlacement.h boot/ImagePlacement.cpp
    boot/GuestCopy.h boot/GuestCopy.cpp
    boot/ImageLoader.h boot/ImageLoader.cpp
    boot/FlatLoader.h boot/FlatLoader.cpp
    boot/ElfImage.h boot/ElfImage.cpp
    boot/ElfLoader.h boot/ElfLoader.cpp
    boot/Multiboot.h
    boot/MultibootHeader.h boot/MultibootHeader.cpp
    boot/MultibootLoader.h boot/MultibootLoader.cpp
    boot/Multiboot2.h
    boot/Multiboot2Header.h boot/Multiboot2Header.cpp
    boot/Multiboot2Loader.h boot/Multiboot2Loader.cpp
    boot/X86Setup.h boot/X86Setup.cpp
    boot/FirmwareChecksum.h
    boot/MpTable.h boot/MpTable.cpp
    boot/Smbios.h boot/Smbios.cpp
)
