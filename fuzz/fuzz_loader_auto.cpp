// boot::loadImage with format detection (ImageLoader.h: detectFormat), as when no --format is
// given. Input: the image, then LoaderFuzzing.h's options trailer.
#include "LoaderFuzzing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    return kvmscope::fuzz::fuzzLoader(kvmscope::boot::ImageFormat::Auto, data, size);
}
