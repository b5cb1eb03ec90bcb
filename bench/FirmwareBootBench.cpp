// Boots the bios-disk guest (resources/guests/bios-disk) through SeaBIOS with kvmscope and with
// QEMU's pc machine, one after the other in one run, and prints for each the wall time from
// process start to the boot sector's first line (written to COM1 just before its first int 10h
// character), to the second stage's LBA read and to its prompt, and its peak RSS.
//
//   kvmscope-bench-firmware [--disk IMAGE] [--bios FILE] [--seconds N] [--rounds N]
//                           [--peers kvmscope,qemu-pc] [--scratch DIR]
//
// Both get the same firmware file (Debian's bios-256k.bin), the same image as an IDE disk, 64 MiB
// and one vcpu. kvmscope opens it read-only; QEMU refuses a read-only IDE disk, so it gets a copy
// made in --scratch (default: the system's temporary directory), which the guest never writes.
// QEMU's pc machine gets no network card (its iPXE option ROM would be an extra for QEMU alone) and
// keeps its standard VGA, whose VGA BIOS SeaBIOS runs, as it does kvmscope's.
#include "PeerRuns.h"
#include "firmware/Firmware.h"
#include "kvm/System.h"

#include <filesystem>

using namespace kvmscope;
using bench::Milestone;
using bench::Peer;

int main(int argc, char** argv) {
    std::string disk = KVMSCOPE_GUESTS_DIR "/bios-disk.img";
    std::string bios = firmware::kDefaultBiosPath;
    double seconds = 120;
    std::string peers = "kvmscope,qemu-pc";
    int rounds = 1;
    std::string scratch = std::filesystem::temp_directory_path().string();
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string option = argv[i];
        if (option == "--disk")
            disk = argv[i + 1];
        else if (option == "--bios")
            bios = argv[i + 1];
        else if (option == "--seconds")
            seconds = std::atof(argv[i + 1]);
        else if (option == "--peers")
            peers = argv[i + 1];
        else if (option == "--rounds")
            rounds = std::atoi(argv[i + 1]);
        else if (option == "--scratch")
            scratch = argv[i + 1];
    }
    if (rounds < 1) {
        fmt::print(stderr, "kvmscope-bench-firmware: --rounds must be at least 1\n");
        return 2;
    }
    std::string why;
    if (!kvm::System::available(&why)) {
        fmt::print("skipped: needs /dev/kvm: {}\n", why);
        return 0;
    }
    if (!std::filesystem::exists(bios)) {
        fmt::print("skipped: no {} (Debian's package seabios)\n", bios);
        return 0;
    }
    const std::vector<Milestone> milestones = {
        Milestone{"boot sector", "bios-disk: boot sector"},
        Milestone{"LBA read", "bios-disk: int 13h LBA read"},
        Milestone{"prompt", "bios-disk: type keys"},
    };
    try {
        const std::string copy =
            (std::filesystem::path(scratch) / "kvmscope-bench-firmware.img").string();
        std::filesystem::copy_file(disk, copy, std::filesystem::copy_options::overwrite_existing);
        fmt::print("disk {} (IDE, not written), firmware {}, 64 MiB, 1 vcpu\nhost: {}\n\n", disk,
                   bios,
                   kvm::System::hardwareVirtualization() ? "hardware VMX/SVM"
                                                         : "KVM emulates guest ring 0");
        const std::vector<Peer> all = {
            {"kvmscope",
             {KVMSCOPE_BINARY, "--headless", "--memory", "64M", "--firmware-file", bios, "--disk",
              disk + ",if=ide,readonly"}},
            {"qemu-pc",
             {"qemu-system-x86_64",
              "-M",
              "pc",
              "-enable-kvm",
              "-cpu",
              "host",
              "-m",
              "64M",
              "-bios",
              bios,
              "-drive",
              // QEMU refuses a read-only IDE hard disk: it gets a writable copy (the guest
              // writes nothing).
              "file=" + copy + ",format=raw,if=ide",
              "-nic",
              "none",
              "-display",
              "none",
              "-monitor",
              "none",
              "-serial",
              "stdio"}},
        };
        bench::runRounds(bench::choosePeers(all, peers), milestones, rounds, seconds,
                         "reached the prompt");
        std::filesystem::remove(copy);
    } catch (const std::exception& error) {
        fmt::print(stderr, "kvmscope-bench-firmware: {}\n", error.what());
        return 1;
    }
    return 0;
}
