// The Multiboot 2 header search and tag parser (boot/Multiboot2Header.h) on raw image bytes:
// the input is the first part of an image file. A header may be refused with LoadError; every
// other way out (a crash, a sanitizer report, a hang on a tag that never advances, another
// exception type) is a finding, and so is a parsed header that reaches past the file or the first
// 32768 bytes, or a required request for a tag kvmscope does not write.
#include "FuzzSupport.h"
#include "boot/Multiboot2Header.h"
#include "common/Error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace kvmscope;
    using fuzz::check;
    const std::span<const uint8_t> image(data, size);
    const boot::Multiboot2HeaderSearch search = boot::searchMultiboot2Header(image);
    if (search.headerOffset) {
        check(*search.headerOffset % boot::multiboot2::kHeaderAlignment == 0,
              "a multiboot2 header found off an 8-byte boundary");
        check(*search.headerOffset + 16 <= size, "a multiboot2 header found past the file's end");
    }
    try {
        const boot::Multiboot2Header header = boot::readMultiboot2Header(image, "fuzz-image");
        check(header.offset + header.headerLength <= size,
              "a parsed multiboot2 header reaches past the file");
        check(header.offset + header.headerLength <= boot::multiboot2::kHeaderSearchLimit,
              "a parsed multiboot2 header reaches past the first 32768 bytes");
        for (uint32_t type : header.requestedTags)
            check(boot::isProvidedMultiboot2Tag(type),
                  "a required information request for a tag kvmscope does not provide passed");
        check(!header.address || header.entryAddress,
              "an address tag without an entry address tag passed");
    } catch (const LoadError&) {
        // The documented way to refuse a header.
    } catch (const std::exception& error) {
        fuzz::failOnException("readMultiboot2Header", error);
    }
    return 0;
}
