// boot::loadImage forced to PVH (linux/PvhLoader.h): an ELF vmlinux with the
// XEN_ELFNOTE_PHYS32_ENTRY note, or a bzImage whose xz, gzip or zstd payload is one
// (linux/BzImagePayload.h), with a command line and an initrd as module 0. Input: the image, then
// LoaderFuzzing.h's options trailer.
#include "LoaderFuzzing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    return kvmscope::fuzz::fuzzLoader(kvmscope::boot::ImageFormat::Pvh, data, size);
}
