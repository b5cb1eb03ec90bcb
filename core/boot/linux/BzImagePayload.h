#pragma once
// The vmlinux ELF inside a bzImage. Boot protocol 2.08 publishes where the compressed kernel
// lies (setup_header payload_offset / payload_length, from the protected-mode kernel's start);
// the kernel's build appends the uncompressed length as the payload's last four bytes
// (arch/x86/boot/compressed/mkpiggy.c reads it there). kvmscope decompresses xz, gzip and zstd
// payloads itself so that a distribution's vmlinuz can be booted by PVH (docs/boot.md, "PVH").
#include "boot/ElfImage.h"
#include "common/ScratchPages.h"
#include "machine/GuestMemory.h"

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <vector>

namespace kvmscope::boot {

// The compressions CONFIG_KERNEL_* may choose, told apart by their magic numbers.
enum class PayloadCompression { Unknown, None, Gzip, Bzip2, Lzma, Xz, Lzo, Lz4, Zstd };

const char* toString(PayloadCompression compression);

// By the payload's first bytes; None when it is an uncompressed ELF (CONFIG_KERNEL_UNCOMPRESSED).
PayloadCompression detectPayloadCompression(std::span<const uint8_t> payload);

// A decompressed kernel larger than this is refused before it is allocated (Debian's stripped
// vmlinux is about 64 MiB).
constexpr uint64_t kMaxVmlinuxSize = 512ull << 20;

// Where the payload lies and what it holds, from the setup header and the payload's magic.
struct BzImagePayloadInfo {
    PayloadCompression compression = PayloadCompression::Unknown;
    uint64_t fileOffset = 0;      // of the payload in the bzImage
    uint64_t compressedSize = 0;  // payload_length
    uint16_t protocol = 0;        // setup header version
    uint32_t commandLineSize = 0; // setup header cmdline_size: the longest command line
};

// The payload decompressed into scratch pages: its zero pages (a third of Debian's vmlinux) are
// never backed, and a loader can give the rest back as it copies the segments out
// (moveVmlinuxSegments), so the vmlinux never sits in memory twice.
struct DecompressedBzImage : BzImagePayloadInfo {
    ScratchPages vmlinux; // the decompressed ELF; vmlinux.bytes() is all of it
};

// The same with the ELF in a plain vector, for callers that keep or write the bytes.
struct BzImagePayload : BzImagePayloadInfo {
    std::vector<uint8_t> vmlinux; // the decompressed ELF
};

// Parses the bzImage's setup header (parseLinuxKernel's checks), finds the payload (protocol
// >= 2.08, payload inside the file) and decompresses it. Throws LoadError(path, ...) naming the
// field or the compression and the value: a protocol without payload fields, a payload outside
// the file, a compression kvmscope does not decompress (bzip2, lzma, lzo, lz4), a corrupt stream,
// a length that differs from the one the build appended, a result that is not ELF.
DecompressedBzImage decompressBzImagePayload(std::span<const uint8_t> image,
                                             const std::string& path);
BzImagePayload extractBzImagePayload(std::span<const uint8_t> image, const std::string& path);

// Places the segments of `elf` (parsed from vmlinux.bytes()) as loadElfSegments does: every
// placement is checked (checkImagePlacement) before anything is written, then each segment is
// copied to its p_paddr and its bss zeroed. The copy runs in file order and gives each chunk's
// pages back (ScratchPages::releaseBelow) once no later segment can need them, so the guest's
// pages fill as the scratch pages empty; `vmlinux` must not be read afterwards.
LoadedRange moveVmlinuxSegments(const ElfImage& elf, ScratchPages& vmlinux, const std::string& path,
                                GuestMemory& memory,
                                std::initializer_list<layout::ReservedRange> alsoReserved);

} // namespace kvmscope::boot
