#pragma once
// What `--disk FILE[,format=raw][,readonly][,if=virtio|ide]` asks for, parsed in one place for the
// command line and the New machine dialog.
#include <string>
#include <string_view>

namespace kvmscope::storage {

enum class DiskInterface { Virtio, Ide };
const char* toString(DiskInterface interface);

struct DiskSpec {
    std::string path;
    std::string format = "raw"; // the only one kvmscope reads
    bool formatGiven = false;   // format= was written out (no probing of the content then)
    bool readOnly = false;
    DiskInterface interface = DiskInterface::Virtio;
};

// Throws InputError naming `option` ("--disk"), the field and the value for an empty path, an
// unknown key, a repeated key, a format other than raw or an interface other than virtio or ide.
// A comma inside the path is written twice (",,"), as QEMU's options have it.
DiskSpec parseDiskSpec(std::string_view text, std::string_view option = "--disk");

} // namespace kvmscope::storage
