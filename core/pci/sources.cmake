list(APPEND KVMSCOPE_CORE_SOURCES
    pci/PciRegisters.h
    pci/PciConfigSpace.h pci/PciConfigSpace.cpp
    pci/PciCapabilities.h pci/PciCapabilities.cpp
    pci/PciFunction.h pci/PciFunction.cpp
    pci/MsixTable.h pci/MsixTable.cpp pci/MsiRouter.h
    pci/PciIntxRouter.h pci/PciIntxRouter.cpp
    pci/PciBus.h pci/PciBus.cpp
    pci/I440fxHostBridge.h pci/I440fxHostBridge.cpp
    pci/Piix3IsaBridge.h pci/Piix3IsaBridge.cpp
    pci/Piix3Ide.h pci/Piix3Ide.cpp
)
