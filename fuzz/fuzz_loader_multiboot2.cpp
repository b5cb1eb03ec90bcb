// boot::loadImage forced to multiboot2 (Multiboot2Loader.h): header tags, address-tag and ELF
// kernels, a module, the boot information. Input: the image, then LoaderFuzzing.h's options
// trailer.
#include "LoaderFuzzing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    return kvmscope::fuzz::fuzzLoader(kvmscope::boot::ImageFormat::Multiboot2, data, size);
}
