// boot::loadImage forced to the flat format (FlatLoader.h): a real-mode binary at the trailer's
// load address. Input: the image, then LoaderFuzzing.h's options trailer.
#include "LoaderFuzzing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    return kvmscope::fuzz::fuzzLoader(kvmscope::boot::ImageFormat::Flat, data, size);
}
