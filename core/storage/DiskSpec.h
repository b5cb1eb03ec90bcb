#pragma once
// What `--disk FILE[,format=raw][,readonly][,if=virtio|ide]` asks for, parsed in one place for the
// command line and the New machine dialog.
#include <string>
#include <string_view>

namespace kvmscope::storage {

enum class DiskInterface { Virtio, Ide };
const char* toString(DiskInterface interface);

// What the guest sees: a hard disk, or a CD-ROM drive with the image as its disc (--cdrom: ATAPI
// on IDE, always read-only).
enum class DiskMedia { Disk, Cdrom };

struct DiskSpec {
    std::string path;
    std::string format = "raw"; // the only one kvmscope reads
    bool formatGiven = false;   // format= was written out (no probing of the content then)
    bool readOnly = false;
    DiskInterface interface = DiskInterface::Virtio;
    DiskMedia media = DiskMedia::Disk;
};

// `--cdrom FILE`: an ATAPI CD-ROM on IDE with FILE as its disc.
DiskSpec cdromSpec(std::string path);

// Throws InputError naming `option` ("--disk"), the field and the value for an empty path, an
// unknown key, a repeated key, a format other than raw or an interface other than virtio or ide.
// A comma inside the path is written twice (",,"), as QEMU's options have it.
DiskSpec parseDiskSpec(std::string_view text, std::string_view option = "--disk");

} // namespace kvmscope::storage
