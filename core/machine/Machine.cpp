#include "machine/Machine.h"

#include "boot/ImageLoader.h"
#include "boot/MpTable.h"
#include "boot/Smbios.h"
#include "boot/X86Setup.h"
#include "boot/acpi/AcpiTables.h"
#include "debug/Debugger.h"
#include "devices/AcpiPmControl.h"
#include "devices/BochsDispi.h"
#include "devices/CmosRtc.h"
#include "devices/DebugExitPort.h"
#include "devices/Framebuffer.h"
#include "devices/I8042Controller.h"
#include "devices/PostCodePort.h"
#include "devices/ResetControlPort.h"
#include "devices/StdVgaFunction.h"
#include "devices/Uart16550.h"
#include "devices/VgaText.h"
#include "devices/kernel/KernelDevice.h"
#include "devices/kernel/KernelIrqchip.h"
#include "devices/kernel/KernelLapic.h"
#include "devices/kernel/KernelPit.h"
#include "devices/kernel/SystemAttributes.h"
#include "devices/kernel/VcpuAttributes.h"
#include "display/DisplaySource.h"
#include "firmware/DebugConsole.h"
#include "firmware/Firmware.h"
#include "firmware/FirmwareFiles.h"
#include "firmware/FwCfg.h"
#include "firmware/TableLoader.h"
#include "kvm/KvmError.h"
#include "kvm/System.h"
#include "log/Log.h"
#include "machine/Cpuid.h"
#include "machine/DeviceTimerThread.h"
#include "machine/FramebufferSlot.h"
#include "machine/KvmIrqLine.h"
#include "pci/PciBus.h"
#include "pci/PciIntxRouter.h"
#include "pci/Piix3Ide.h"
#include "storage/DiskImage.h"

#include <cerrno>
#include <fmt/format.h>

namespace kvmscope {
namespace {

// A vcpu that does not park within this time after a kick is reported, not waited for forever.
constexpr int kVcpuCallTimeoutMs = 5000;

} // namespace

Machine::Machine(const MachineConfig& config, kvm::System& system, SerialSink& serialSink,
                 std::vector<std::shared_ptr<storage::DiskImage>> diskImages)
    : config_(config), vm_(system.createVm()) {
    config_.validate();
    openDiskImages(std::move(diskImages));
    const auto supportedCpuid = system.supportedCpuid();
    config_.validateForHost({kvm::System::physicalAddressBits(supportedCpuid),
                             static_cast<uint64_t>(system.memorySlots()),
                             kvm::System::kMaxMemorySlotSize});
    // Every memslot before the in-kernel irqchip: once it exists, each KVM_SET_USER_MEMORY_REGION
    // waits for an SRCU grace period (the framebuffer's slot took 5.7 ms after it, 0.15 ms
    // before, about half of a headless run's start-up).
    createMemory();
    createFramebufferMemory();
    createFirmwareMemory();
    // Intel VMX needs both before the first KVM_RUN; harmless elsewhere.
    vm_.setIdentityMapAddress(pc::kKvmIdentityMapAddress);
    vm_.setTssAddress(pc::kKvmTssAddress);
    vm_.createIrqchip();
    vm_.createPit2(KVM_PIT_SPEAKER_DUMMY);
    createDevices(system, serialSink);
    createVcpus(system, supportedCpuid);
    debugger_ = std::make_unique<debug::Debugger>(*this, system, exitBreakpoints_);
}

Machine::~Machine() {
    for (auto& runner : runners_)
        runner->stop();
    for (auto& runner : runners_)
        runner->join();
}

void Machine::createMemory() {
    memory_ = std::make_unique<GuestMemory>(config_.memorySize);
    uint32_t slot = 0;
    for (const auto& region : memory_->regions()) {
        try {
            vm_.setMemoryRegion(slot++, region.guestAddress, region.size, region.host);
        } catch (const kvm::KvmError& error) {
            // validateForHost checked the limits kvmscope knows of; a slot KVM still refuses as
            // invalid or too large for this host is the --memory value's doing, not a KVM that
            // is unavailable.
            if (error.errorNumber() != EINVAL && error.errorNumber() != ENOMEM &&
                error.errorNumber() != ENOSPC)
                throw;
            throw InputError(fmt::format("--memory {:#x}: this host's KVM refused guest RAM: {}",
                                         config_.memorySize, error.what()));
        }
    }
}

void Machine::addLegacyDevice(const pc::LegacyDevice& place, BusDevice& busDevice, Device& device) {
    ioBus_.add(place.port, place.portCount, busDevice, device.name());
}

KvmIrqLine& Machine::makeIrqLine(uint32_t gsi, std::string owner, bool standby) {
    // The exit count for "raised at exit N": lines change only once the vcpus run, after
    // createVcpus has filled runners_.
    auto exitClock = [this] {
        uint64_t exits = 0;
        for (const auto& runner : runners_)
            exits += runner->trace().totalExits();
        return exits;
    };
    irqLines_.push_back(
        std::make_unique<KvmIrqLine>(vm_, gsi, std::move(owner), exitClock, standby));
    return *irqLines_.back();
}

std::vector<IrqLineRecord> Machine::irqLines() const {
    std::vector<IrqLineRecord> records;
    records.reserve(irqLines_.size());
    for (const auto& line : irqLines_)
        records.push_back(line->record());
    return records;
}

void Machine::createDevices(kvm::System& system, SerialSink& serialSink) {
    auto makeLine = [this](uint32_t gsi, std::string_view owner) -> IrqLine& {
        return makeIrqLine(gsi, std::string(owner));
    };

    auto uart = std::make_unique<Uart16550>(makeLine(pc::kCom1.irq, pc::kCom1.name), serialSink);
    uart_ = uart.get();
    addLegacyDevice(pc::kCom1, *uart, *uart);
    devices_.push_back(std::move(uart));

    auto debugExit = std::make_unique<DebugExitPort>([this](uint32_t value) {
        requestStop({StopKind::DebugExit, value, 0,
                     fmt::format("the guest wrote {:#x} to the debug-exit port", value)});
    });
    addLegacyDevice(pc::kDebugExit, *debugExit, *debugExit);
    devices_.push_back(std::move(debugExit));

    auto post = std::make_unique<PostCodePort>();
    addLegacyDevice(pc::kPostCode, *post, *post);
    devices_.push_back(std::move(post));

    // IRQ 8, and a timer for its periodic, alarm and update interrupts (on a thread that starts
    // only when the guest enables one of them).
    deviceTimers_ = std::make_unique<DeviceTimerThread>("kvmscope-timer");
    auto cmos =
        std::make_unique<CmosRtc>(config_.memorySize, CmosRtc::Clock{},
                                  &makeLine(pc::kRtc.irq, pc::kRtc.name), deviceTimers_->factory());
    addLegacyDevice(pc::kRtc, *cmos, *cmos);
    devices_.push_back(std::move(cmos));

    auto pm = std::make_unique<AcpiPmControl>([this] {
        requestStop({StopKind::PowerOff, 0, 0, "the guest powered off (ACPI S5)"});
    });
    addLegacyDevice(pc::kAcpiPm, *pm, *pm);
    devices_.push_back(std::move(pm));

    // The keyboard controller: ports 0x60-0x64 as one range (I8042Controller.h; 0x61 inside it is
    // answered by the in-kernel PIT's speaker port first), keyboard and mouse IRQs from its row.
    auto keyboard = std::make_unique<I8042Controller>(
        makeLine(pc::kI8042.irq, "i8042 keyboard"), makeLine(pc::kI8042.secondIrq, "i8042 mouse"),
        [this] {
            requestStop({StopKind::Reset, 0, 0, "the guest asked for a reset (i8042 pulse)"});
        });
    addLegacyDevice(pc::kI8042, *keyboard, *keyboard);
    devices_.push_back(std::move(keyboard));

    auto reset = std::make_unique<ResetControlPort>([this] {
        requestStop(
            {StopKind::Reset, 0, 0,
             fmt::format("the guest asked for a reset (port {:#x})", pc::kResetControl.port)});
    });
    addLegacyDevice(pc::kResetControl, *reset, *reset);
    devices_.push_back(std::move(reset));

    createDisplayDevices();
    createPciDevices();
    createIdeDevices();
    createVirtioDevices();
    createFirmwareDevices();

    devices_.push_back(std::make_unique<KernelIrqchip>(vm_));
    devices_.push_back(std::make_unique<KernelPit>(vm_));
    // One kernel device of every type the host offers (on x86 usually only VFIO), so its
    // attributes can be seen; creating it has no effect on the guest.
    if (config_.inspectKernelDevices) {
        for (uint32_t type : kvm::System::probeDeviceTypes(vm_)) {
            try {
                devices_.push_back(std::make_unique<KernelDevice>(vm_.createDevice(type)));
            } catch (const kvm::KvmError& error) {
                log::get("kvm")->warn("cannot create kernel device {}: {}",
                                      kvm::DeviceFd::typeName(type), error.what());
            }
        }
    }
    devices_.push_back(std::make_unique<SystemAttributes>(system));
}

// The display: VGA text (CRTC ports; the text is RAM at 0xB8000) always, and unless switched off
// the linear framebuffer, the VGA function's BAR0, in its own dirty-logged memslot numbered after
// the RAM slots, with the Bochs dispi to set its mode (docs/devices.md, "Display").
void Machine::createFramebufferMemory() {
    if (!config_.framebuffer.enabled)
        return;
    // 16 MiB holds the largest mode the dispi (and so MachineConfig::validate) accepts.
    unattachedFramebuffer_ = std::make_unique<Framebuffer>(pc::kFramebufferSize);
    memorySlots_ = std::make_unique<VmMemorySlots>(vm_);
    framebufferSlot_ = std::make_unique<FramebufferSlot>(
        *memorySlots_, static_cast<uint32_t>(memory_->regions().size()), *unattachedFramebuffer_);
    // A direct boot starts with BAR0 where firmware would have put it (createPciDevices), so its
    // slot is made here, before the irqchip; the function finds it in place. Firmware starts with
    // the BARs off, as after a reset, and the slot appears when it turns BAR0 on. Without dirty
    // logging until a display looks: DisplaySource turns it on at its first update, so a screen
    // nobody watches costs the guest no write-protection faults.
    if (config_.firmware.kind != firmware::FirmwareKind::Bios)
        framebufferSlot_->place(pc::kVgaFramebufferInitialAddress);
}

void Machine::createDisplayDevices() {
    auto vgaText = std::make_unique<VgaText>();
    vgaText_ = vgaText.get();
    addLegacyDevice(pc::kVgaText, *vgaText, *vgaText);
    devices_.push_back(std::move(vgaText));

    const auto& mode = config_.framebuffer;
    if (std::unique_ptr<Framebuffer> framebuffer = std::move(unattachedFramebuffer_)) {
        auto dispi = std::make_unique<BochsDispi>(*framebuffer, static_cast<uint16_t>(mode.width),
                                                  static_cast<uint16_t>(mode.height),
                                                  static_cast<uint16_t>(mode.bitsPerPixel));
        framebuffer_ = framebuffer.get();
        dispi_ = dispi.get();
        addLegacyDevice(pc::kBochsDispi, *dispi, *dispi);
        devices_.push_back(std::move(framebuffer));
        devices_.push_back(std::move(dispi));
    }
    display_ = std::make_unique<display::DisplaySource>(framebufferSlot_.get(), framebuffer_,
                                                        *vgaText_, *memory_);
}

void Machine::createFirmwareMemory() {
    if (config_.firmware.kind != firmware::FirmwareKind::Bios)
        return;
    firmwareImage_ = std::make_unique<firmware::FirmwareImage>(config_.firmware);
    const auto slot =
        static_cast<uint32_t>(memory_->regions().size() + (unattachedFramebuffer_ ? 1 : 0));
    // Flash is read-only: with KVM_MEM_READONLY a guest write exits as MMIO (and is counted
    // there) instead of changing the image. Without the capability the guest could write its
    // copy of the image; the file is never written either way.
    const bool readOnly = vm_.checkExtension(KVM_CAP_READONLY_MEM) > 0;
    vm_.setMemoryRegion(slot, firmwareImage_->guestAddress(), firmwareImage_->size(),
                        firmwareImage_->data(), readOnly ? KVM_MEM_READONLY : 0);
    auto logger = log::get("boot");
    logger->info("firmware {} ({} KiB) at {:#x}-{:#x}{}", firmwareImage_->path(),
                 firmwareImage_->size() / 1024, firmwareImage_->guestAddress(),
                 firmware::kFlashEnd - 1, readOnly ? ", read-only" : "");
    if (!readOnly)
        logger->warn("this host's KVM lacks KVM_CAP_READONLY_MEM: the firmware's flash at {:#x} "
                     "is writable by the guest (its own copy; the file is not touched)",
                     firmwareImage_->guestAddress());
}

// QEMU's firmware interfaces, on every machine: a direct boot's guest may ignore them, the
// firmware reads its configuration through them (docs/devices.md, "fw_cfg").
void Machine::createFirmwareDevices() {
    firmware::FirmwareItemsConfig items;
    items.cpus = config_.cpus;
    items.maxCpus = config_.cpus;
    // SeaBIOS runs the VGA BIOS it finds under the VGA function's IDs (FirmwareFiles.h,
    // pciOptionRomFile); a direct boot has no firmware to run it.
    if (firmwareImage_)
        items.optionRoms = config_.firmware.optionRoms;
    if (firmwareImage_ && framebuffer_) {
        items.pciOptionRoms.push_back(
            {StdVgaFunction::kVendorId, StdVgaFunction::kDeviceId, firmware::readVgaBios()});
        log::get("boot")->info("VGA BIOS {} ({} KiB) for the VGA function at 00:{:02x}.0",
                               firmware::kDefaultVgaBiosPath,
                               items.pciOptionRoms.back().bytes.size() / 1024, pc::kPciVgaSlot);
    }
    auto fwCfg =
        std::make_unique<firmware::FwCfg>(*memory_, firmware::buildFirmwareItems(*memory_, items));
    fwCfg_ = fwCfg.get();
    addLegacyDevice(pc::kFwCfg, *fwCfg, *fwCfg);
    devices_.push_back(std::move(fwCfg));

    auto console = std::make_unique<firmware::DebugConsole>();
    addLegacyDevice(pc::kDebugConsole, *console, *console);
    devices_.push_back(std::move(console));
}

void Machine::writePlatformTables() {
    boot::AcpiConfig acpi;
    acpi.cpus = config_.cpus;
    const uint64_t rsdp = boot::writeAcpiTables(*memory_, acpi);
    // And what the firmware reports about the machine: vendor, that it is virtual, processor
    // and memory (SMBIOS: Linux's "DMI:" line, dmidecode).
    boot::SmbiosConfig smbios;
    smbios.cpus = config_.cpus;
    smbios.processor = smbiosProcessor_;
    const uint64_t smbiosEntry = boot::writeSmbiosTables(*memory_, smbios);
    // The same tables through fw_cfg, for a guest (or the firmware) that reads them there.
    fillFwCfgTables(rsdp, smbiosEntry);
}

void Machine::fillFwCfgTables(uint64_t rsdp, uint64_t smbiosEntry) {
    firmware::AcpiFiles acpi = firmware::buildAcpiFiles(*memory_, rsdp);
    fwCfg_->setFileData(firmware::kAcpiTablesFile, std::move(acpi.tables));
    fwCfg_->setFileData(firmware::kAcpiRsdpFile, std::move(acpi.rsdp));
    fwCfg_->setFileData(firmware::kTableLoaderFile, std::move(acpi.loader));
    firmware::SmbiosFiles smbios = firmware::buildSmbiosFiles(*memory_, smbiosEntry);
    fwCfg_->setFileData(firmware::kSmbiosAnchorFile, std::move(smbios.anchor));
    fwCfg_->setFileData(firmware::kSmbiosTablesFile, std::move(smbios.tables));
}

const boot::BootPlan& Machine::bootFirmware() {
    // The tables a direct boot gets, read back for fw_cfg; the shadow BIOS then covers the
    // copies at 0xe0000 and 0xf1800, and the firmware places its own from the fw_cfg files. No
    // MP table: SeaBIOS writes one.
    writePlatformTables();
    const auto shadow = firmwareImage_->shadow();
    memory_->write(firmware::kShadowStart, shadow.data(), shadow.size());

    auto plan = std::make_unique<boot::BootPlan>();
    plan->mode = boot::CpuMode::Real;
    plan->entry = firmware::kResetCodeBase + firmware::kResetIp;
    plan->imageStart = firmwareImage_->guestAddress();
    plan->imageEnd = firmware::kFlashEnd;
    plan->notes.push_back(fmt::format("firmware {} at {:#x}, its last 128 KiB copied to {:#x}; "
                                      "reset vector {:04x}:{:04x}",
                                      firmwareImage_->path(), firmwareImage_->guestAddress(),
                                      firmware::kShadowStart, firmware::kResetCodeSelector,
                                      firmware::kResetIp));
    runners_.front()->call(
        [&](kvm::Vcpu& vcpu) {
            kvm_regs regs{};
            kvm_sregs sregs = vcpu.sregs();
            firmware::applyResetVector(regs, sregs);
            vcpu.setSregs(sregs);
            vcpu.setRegs(regs);
        },
        kVcpuCallTimeoutMs);
    auto logger = log::get("boot");
    for (const auto& note : plan->notes)
        logger->info("{}", note);
    bootPlan_ = std::move(plan);
    return *bootPlan_;
}

void Machine::createVcpus(kvm::System& system, const std::vector<kvm_cpuid_entry2>& supported) {
    const auto msrIndices = system.msrIndexList();
    const int syncFields = system.checkExtension(KVM_CAP_SYNC_REGS);
    const bool syncRegs = (syncFields & KVM_SYNC_X86_REGS) != 0;
    const bool syncSregs = (syncFields & KVM_SYNC_X86_SREGS) != 0;
    CpuidOptions cpuid;
    cpuid.cpuCount = config_.cpus;
    // Read once per machine (/proc/cpuinfo): the CPUID here and the loader in boot() use it.
    config_.boot.hostEmulatesRing0 =
        config_.hostWorkarounds && !kvm::System::hardwareVirtualization();
    cpuid.withoutHypercallFeatures = config_.boot.hostEmulatesRing0;
    if (cpuid.withoutHypercallFeatures)
        log::get("machine")->info(
            "this host's KVM emulates guest ring-0 code (no VMX/SVM): the vcpus' CPUID hides KVM's "
            "PV unhalt, PV send-IPI, PV sched-yield and map-GPA-range features, whose hypercalls "
            "fault there once a guest's code is read-only (docs/boot.md; --no-host-workarounds "
            "keeps them)");
    for (uint32_t index = 0; index < config_.cpus; ++index) {
        cpu::VcpuHost& host = *this; // a private base: convert here, not inside make_unique
        auto runner =
            std::make_unique<cpu::VcpuRunner>(vm_.createVcpu(index), ioBus_, mmioBus_, host);
        runner->setMsrIndices(msrIndices);
        runner->setSyncRegs(syncRegs);
        runner->setSyncSregs(syncSregs);
        runner->setExitBreakpoints(&exitBreakpoints_);
        runner->setGuestMemory(memory_.get());
        runner->start();
        // api.rst 4.20 / HOST-NOTES: KVM_SET_CPUID2 before any KVM_SET_SREGS that enables long
        // mode.
        cpuid.apicId = index;
        const auto entries = cpuidForVcpu(supported, cpuid);
        if (index == 0)
            smbiosProcessor_ = smbiosProcessorFor(entries);
        runner->call([&](kvm::Vcpu& vcpu) { vcpu.setCpuid(entries); }, kVcpuCallTimeoutMs);
        devices_.push_back(std::make_unique<VcpuAttributes>(*runner));
        devices_.push_back(std::make_unique<KernelLapic>(*runner)); // the irqchip gave it one
        runners_.push_back(std::move(runner));
    }
}

const boot::BootPlan& Machine::boot() {
    if (firmwareImage_)
        return bootFirmware();
    // What firmware does to the chipset before it boots anything, for a kernel that expects it.
    ideController_->enableDecodeAsFirmware();
    const std::optional<uint64_t> framebufferAddress =
        framebuffer_ ? framebuffer_->guestAddress() : std::nullopt;
    if (framebufferAddress) {
        // What a boot loader would report after asking the VBE BIOS for the configured mode, at
        // the address BAR0 holds now.
        const auto& mode = config_.framebuffer;
        config_.boot.framebuffer = boot::BootFramebuffer{
            *framebufferAddress, framebuffer_->memorySize(),
            mode.width,          mode.height,
            mode.bitsPerPixel,   mode.width * bytesPerPixel(mode.bitsPerPixel)};
    }
    auto plan = std::make_unique<boot::BootPlan>(boot::loadImage(config_.boot, *memory_));
    // Linux is told through screen_info that the framebuffer is on in that mode, so it is, as if
    // firmware had set it; a Multiboot 2 kernel that asked for a framebuffer is told of the mode
    // its loader chose; other guests start in VGA text and set a mode through the dispi.
    if (dispi_ && plan->format == boot::ImageFormat::Linux) {
        const auto& mode = config_.framebuffer;
        dispi_->setMode(static_cast<uint16_t>(mode.width), static_cast<uint16_t>(mode.height),
                        static_cast<uint16_t>(mode.bitsPerPixel));
    } else if (dispi_ && plan->framebufferSet) {
        const boot::BootFramebuffer& mode = *plan->framebufferSet;
        dispi_->setMode(static_cast<uint16_t>(mode.width), static_cast<uint16_t>(mode.height),
                        static_cast<uint16_t>(mode.bitsPerPixel));
    }
    boot::writeCpuTables(*plan, *memory_);
    // Both firmware descriptions of the platform: the MP table for simple guests, ACPI for Linux
    // (power-off through PM1a, reset through 0xCF9, every vcpu in the MADT).
    boot::writeMpTable(*memory_, config_.cpus);
    writePlatformTables();
    runners_.front()->call(
        [&](kvm::Vcpu& vcpu) {
            kvm_regs regs{};
            kvm_sregs sregs = vcpu.sregs();
            boot::applyBootPlan(*plan, regs, sregs);
            vcpu.setSregs(sregs);
            vcpu.setRegs(regs);
        },
        kVcpuCallTimeoutMs);
    auto logger = log::get("boot");
    for (const auto& note : plan->notes)
        logger->info("{}", note);
    if (!plan->addedKernelParameters.empty())
        logger->warn("this host's KVM emulates guest ring-0 code (no VMX/SVM): added \"{}\" to the "
                     "kernel command line for instructions its emulator cannot run and for ring-0 "
                     "code at its speed (docs/boot.md; "
                     "--no-host-workarounds leaves the command line alone)",
                     plan->addedKernelParameters);
    if (plan->bzImageBootedByPvh)
        logger->warn("this host's KVM emulates guest ring-0 code (no VMX/SVM), where a bzImage's "
                     "own decompressor runs for minutes: booted {} by PVH from the payload "
                     "kvmscope decompressed (--format linux boots it by the boot protocol)",
                     config_.boot.imagePath);
    bootPlan_ = std::move(plan);
    return *bootPlan_;
}

void Machine::run() {
    if (stopping_.load())
        return;
    for (auto& runner : runners_)
        runner->resume();
}

void Machine::pause() {
    for (auto& runner : runners_)
        runner->pause();
}

bool Machine::waitUntilPaused(int timeoutMs) {
    for (auto& runner : runners_)
        if (!runner->waitUntilParked(timeoutMs))
            return false;
    return true;
}

void Machine::requestStop(const MachineStop& stop) {
    {
        std::lock_guard lock(stopMutex_);
        if (stop_)
            return; // the first reason wins
        stop_ = stop;
        stopping_.store(true);
    }
    for (auto& runner : runners_)
        runner->pause();
    stopChanged_.notify_all();
    log::get("kvm")->info("{}: {}", config_.name, stop.reason);
    stopped.emit(stop);
}

std::optional<MachineStop> Machine::waitForStop(int timeoutMs) {
    std::unique_lock lock(stopMutex_);
    if (timeoutMs < 0)
        stopChanged_.wait(lock, [this] { return stop_.has_value(); });
    else
        stopChanged_.wait_for(lock, std::chrono::milliseconds(timeoutMs),
                              [this] { return stop_.has_value(); });
    return stop_;
}

std::optional<MachineStop> Machine::stopState() const {
    std::lock_guard lock(stopMutex_);
    return stop_;
}

std::vector<Device*> Machine::devices() const {
    std::vector<Device*> list;
    list.reserve(devices_.size());
    for (const auto& device : devices_)
        list.push_back(device.get());
    return list;
}

void Machine::vcpuStopped(const cpu::VcpuStop& stop) {
    switch (stop.cause) {
    case cpu::StopCause::Debug:
    case cpu::StopCause::ExitBreakpoint:
    case cpu::StopCause::Stepped:
        // A breakpoint, watchpoint, exit breakpoint or finished steps: not the end of the VM but
        // a pause. The debugger parks the other vcpus (all-stop) and records the stop;
        // continuing resumes.
        if (debugger_)
            debugger_->vcpuStopped(stop);
        return;
    case cpu::StopCause::SystemEvent:
        // api.rst, KVM_EXIT_SYSTEM_EVENT: the kernel saw the guest ask for one of these (e.g.
        // through PSCI on arm; on x86 mostly from a crash notifier).
        switch (stop.systemEventType) {
        case KVM_SYSTEM_EVENT_SHUTDOWN:
            requestStop({StopKind::PowerOff, 0, stop.vcpu, stop.description});
            return;
        case KVM_SYSTEM_EVENT_RESET:
            requestStop({StopKind::Reset, 0, stop.vcpu, stop.description});
            return;
        default:
            requestStop({StopKind::Crash, 0, stop.vcpu, stop.description});
            return;
        }
    case cpu::StopCause::Halted:
        // Only without an in-kernel irqchip, which kvmscope always creates: the guest halted
        // with nothing left to wake it, as good as powered off.
        requestStop({StopKind::PowerOff, 0, stop.vcpu, stop.description});
        return;
    default:
        requestStop({StopKind::Crash, 0, stop.vcpu, stop.description, stop.exitReason});
        return;
    }
}

bool Machine::machineStopping() const {
    return stopping_.load(std::memory_order_relaxed);
}

} // namespace kvmscope
