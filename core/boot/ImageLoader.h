#pragma once
// The entry point of core/boot: reads the image named by BootOptions, works out its format and
// hands it to the matching loader (docs/boot.md).
#include "boot/BootPlan.h"
#include "common/MappedFile.h"
#include "machine/GuestMemory.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace kvmscope::boot {

// Files larger than this are refused before reading (no image or module fills a 32-bit
// machine's low RAM beyond 3 GiB anyway).
constexpr uint64_t kMaxImageFileSize = 2ull << 30;

// Reads a whole file. `what` names it in errors ("image", "initrd"). Throws LoadError for a file
// that is missing, unreadable, neither a regular file nor a block device (a FIFO is refused
// without waiting for a writer: common/InputFile.h), empty or larger than kMaxImageFileSize.
std::vector<uint8_t> readImageFile(const std::string& path, const char* what);

// The same checks and errors, but the file is mapped read-only instead of copied onto the heap:
// loadImage reads images and initrds this way (common/MappedFile.h).
MappedFile mapImageFile(const std::string& path, const char* what);

// The same checks without reading the file: throws their LoadError, or returns.
void checkImageFile(const std::string& path, const char* what);

// Detection order: a Linux bzImage ("HdrS" at 0x202; first, since a bzImage may also contain
// the other magics) -> a valid Multiboot 2 header (magic 0xE85250D6, 8-byte aligned, inside the
// first 32768 bytes, checksum correct) -> a valid multiboot header (magic 0x1BADB002, 4-byte
// aligned, inside the first 8192 bytes, checksum correct) -> ELF (\x7fELF): PVH when it carries the
// XEN_ELFNOTE_PHYS32_ENTRY note, plain ELF otherwise -> flat. Never returns Auto.
ImageFormat detectFormat(std::span<const uint8_t> image);

// Maps options.imagePath (and options.initrdPath for multiboot and Linux), detects the format when
// options.format is Auto, loads the image into `memory` and returns where and how to start it.
// A forced format the file does not match is a LoadError naming the file and the mismatch. The
// files are unmapped and the loaders' freed heap trimmed before it returns, so none of it counts
// against the running guest's RSS.
BootPlan loadImage(const BootOptions& options, GuestMemory& memory);

} // namespace kvmscope::boot
