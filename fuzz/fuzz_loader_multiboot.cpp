// boot::loadImage forced to multiboot (MultibootLoader.h): header search, a.out kludge and ELF
// kernels, a module. Input: the image, then LoaderFuzzing.h's options trailer.
#include "LoaderFuzzing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    return kvmscope::fuzz::fuzzLoader(kvmscope::boot::ImageFormat::Multiboot, data, size);
}
