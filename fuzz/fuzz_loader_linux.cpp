// boot::loadImage forced to a Linux bzImage (linux/LinuxLoader.h): setup header, command line and
// initrd. Input: the image, then LoaderFuzzing.h's options trailer.
#include "LoaderFuzzing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    return kvmscope::fuzz::fuzzLoader(kvmscope::boot::ImageFormat::Linux, data, size);
}
