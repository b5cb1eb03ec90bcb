// boot::loadImage forced to ELF (ElfLoader.h): ELF32 and ELF64 program headers.
// Input: the image, then LoaderFuzzing.h's options trailer.
#include "LoaderFuzzing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    return kvmscope::fuzz::fuzzLoader(kvmscope::boot::ImageFormat::Elf, data, size);
}
