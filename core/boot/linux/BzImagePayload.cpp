#include "boot/linux/BzImagePayload.h"

#include "boot/ElfImage.h"
#include "boot/ImagePlacement.h"
#include "boot/linux/LinuxLoader.h"
#include "common/Error.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <fmt/format.h>
#include <lzma.h>
#define ZLIB_CONST // next_in is a pointer to const
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h> // ZSTD_getErrorCode

namespace kvmscope::boot {
namespace {

// boot.rst: payload_offset and payload_length came with protocol 2.08.
constexpr uint16_t kProtocolPayload = 0x0208;
// mkpiggy.c: "the last four bytes of the compressed file" hold the uncompressed length, in
// little-endian order (gzip's own ISIZE trailer for gzip, an appended word for the others).
constexpr uint64_t kLengthTrailerSize = 4;

// The magic numbers the kernel's own lib/decompress.c (compressed_formats) tells the
// compressions apart by.
struct CompressionMagic {
    PayloadCompression compression;
    std::array<uint8_t, 6> bytes;
    size_t size;
};
constexpr CompressionMagic kMagics[] = {
    {PayloadCompression::Gzip, {0x1f, 0x8b}, 2},
    {PayloadCompression::Gzip, {0x1f, 0x9e}, 2}, // old gzip
    {PayloadCompression::Bzip2, {0x42, 0x5a, 0x68}, 3},
    {PayloadCompression::Lzma, {0x5d, 0x00, 0x00}, 3},
    {PayloadCompression::Xz, {0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00}, 6},
    {PayloadCompression::Lzo, {0x89, 0x4c, 0x5a, 0x4f}, 4},
    {PayloadCompression::Lz4, {0x02, 0x21, 0x4c, 0x18}, 4},
    {PayloadCompression::Zstd, {0x28, 0xb5, 0x2f, 0xfd}, 4},
};

// The xz and gzip decoders write into this bounce buffer and hand each filled piece to the
// scratch pages, which skip the zero pages; 1 MiB amortises the library calls.
constexpr size_t kChunkSize = 1u << 20;
// moveVmlinuxSegments copies and gives back this much at a time.
constexpr uint64_t kMoveChunkSize = 2ull << 20;

// What a decompressor reports: the bytes it produced and, when it failed, why.
struct Inflated {
    uint64_t produced = 0;
    bool ended = false;  // the stream's end marker was reached
    std::string failure; // the library's reason, empty when none
};

const char* lzmaError(lzma_ret code) {
    switch (code) {
    case LZMA_MEM_ERROR:
        return "LZMA_MEM_ERROR (out of memory)";
    case LZMA_MEMLIMIT_ERROR:
        return "LZMA_MEMLIMIT_ERROR (memory limit reached)";
    case LZMA_FORMAT_ERROR:
        return "LZMA_FORMAT_ERROR (not an .xz stream)";
    case LZMA_OPTIONS_ERROR:
        return "LZMA_OPTIONS_ERROR (unsupported filter or options)";
    case LZMA_DATA_ERROR:
        return "LZMA_DATA_ERROR (corrupt data)";
    case LZMA_BUF_ERROR:
        return "LZMA_BUF_ERROR (truncated stream)";
    default:
        return "liblzma error";
    }
}

// The kernel's xz stream is one .xz stream (scripts/xz_wrap.sh) followed by the length word, so
// the decoder runs without LZMA_CONCATENATED and stops at the stream's end. Each decoder stops
// when `output` is full (its capacity is one byte more than declared: the caller reports a
// stream that goes on).
Inflated inflateXz(std::span<const uint8_t> input, ScratchPages& output) {
    lzma_stream stream = LZMA_STREAM_INIT;
    Inflated result;
    lzma_ret code = lzma_stream_decoder(&stream, UINT64_MAX, 0);
    if (code != LZMA_OK) {
        result.failure = lzmaError(code);
        return result;
    }
    std::vector<uint8_t> chunk(kChunkSize);
    stream.next_in = input.data();
    stream.avail_in = input.size();
    do {
        const size_t room = std::min<uint64_t>(chunk.size(), output.room());
        stream.next_out = chunk.data();
        stream.avail_out = room;
        code = lzma_code(&stream, LZMA_FINISH);
        output.append(std::span(chunk).first(room - stream.avail_out));
    } while (code == LZMA_OK && output.room() > 0);
    result.produced = output.size();
    result.ended = code == LZMA_STREAM_END;
    // A full buffer is not a failure here: the caller reports the stream as too long.
    if (code != LZMA_STREAM_END && output.room() > 0)
        result.failure = lzmaError(code);
    lzma_end(&stream);
    return result;
}

Inflated inflateGzip(std::span<const uint8_t> input, ScratchPages& output) {
    z_stream stream{};
    Inflated result;
    // 16 + MAX_WBITS: a gzip wrapper (RFC 1952) around the deflate data, nothing else.
    if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) {
        result.failure = "inflateInit2 failed";
        return result;
    }
    std::vector<uint8_t> chunk(kChunkSize);
    // The input fits uInt: the file is below 2 GiB.
    stream.next_in = input.data();
    stream.avail_in = static_cast<uInt>(input.size());
    int code = Z_OK;
    do {
        const auto room = static_cast<uInt>(std::min<uint64_t>(chunk.size(), output.room()));
        stream.next_out = chunk.data();
        stream.avail_out = room;
        // Z_NO_FLUSH: with Z_FINISH, zlib calls an output buffer that the stream does not end
        // in an error (Z_BUF_ERROR), and this one is only a chunk of the output.
        code = inflate(&stream, Z_NO_FLUSH);
        output.append(std::span(chunk).first(room - stream.avail_out));
    } while (code == Z_OK && output.room() > 0);
    result.produced = output.size();
    result.ended = code == Z_STREAM_END;
    if (code == Z_DATA_ERROR || code == Z_MEM_ERROR || code == Z_STREAM_ERROR)
        result.failure = fmt::format("zlib: {}", stream.msg ? stream.msg : "error");
    else if (code == Z_BUF_ERROR && output.room() > 0)
        result.failure = "zlib: truncated stream";
    inflateEnd(&stream);
    return result;
}

// One-shot, straight into the scratch pages: zstd's streaming decoder would keep a window of
// up to 128 MiB besides the output (a kernel's frame declares no content size), where the one-shot
// decoder reads its matches from the output itself. The zero pages are backed here, as they were
// before scratch pages existed.
Inflated inflateZstd(std::span<const uint8_t> input, ScratchPages& output) {
    Inflated result;
    // One frame, then the length word: decompress exactly the frame.
    const size_t frameSize = ZSTD_findFrameCompressedSize(input.data(), input.size());
    if (ZSTD_isError(frameSize)) {
        result.failure = fmt::format("zstd: {}", ZSTD_getErrorName(frameSize));
        return result;
    }
    const std::span<uint8_t> room = output.unwritten();
    const size_t produced = ZSTD_decompress(room.data(), room.size(), input.data(), frameSize);
    if (ZSTD_isError(produced)) {
        if (ZSTD_getErrorCode(produced) == ZSTD_error_dstSize_tooSmall) {
            output.commit(room.size());
            result.produced = output.size(); // more than the room: reported by the caller
            return result;
        }
        result.failure = fmt::format("zstd: {}", ZSTD_getErrorName(produced));
        return result;
    }
    output.commit(produced);
    result.produced = output.size();
    result.ended = true;
    return result;
}

} // namespace

const char* toString(PayloadCompression compression) {
    switch (compression) {
    case PayloadCompression::Unknown:
        return "unknown";
    case PayloadCompression::None:
        return "uncompressed";
    case PayloadCompression::Gzip:
        return "gzip";
    case PayloadCompression::Bzip2:
        return "bzip2";
    case PayloadCompression::Lzma:
        return "lzma";
    case PayloadCompression::Xz:
        return "xz";
    case PayloadCompression::Lzo:
        return "lzo";
    case PayloadCompression::Lz4:
        return "lz4";
    case PayloadCompression::Zstd:
        return "zstd";
    }
    return "unknown";
}

PayloadCompression detectPayloadCompression(std::span<const uint8_t> payload) {
    if (hasElfMagic(payload))
        return PayloadCompression::None;
    for (const CompressionMagic& magic : kMagics)
        if (payload.size() >= magic.size &&
            std::memcmp(payload.data(), magic.bytes.data(), magic.size) == 0)
            return magic.compression;
    return PayloadCompression::Unknown;
}

DecompressedBzImage decompressBzImagePayload(std::span<const uint8_t> image,
                                             const std::string& path) {
    const LinuxKernelImage kernel = parseLinuxKernel(image, path);
    const setup_header& header = kernel.header;
    // parseLinuxKernel has required XLF_KERNEL_64, so the protocol is 2.12 or later and the
    // payload fields (2.08) are there.
    static_assert(kProtocolPayload <= 0x020c);
    DecompressedBzImage payload;
    payload.protocol = header.version;
    payload.commandLineSize = header.cmdline_size;
    // payload_offset counts from the protected-mode kernel's start, the byte after the setup.
    payload.fileOffset = kernel.setupSize + header.payload_offset;
    payload.compressedSize = header.payload_length;
    if (payload.fileOffset > image.size() ||
        payload.compressedSize > image.size() - payload.fileOffset)
        throw LoadError(path, fmt::format("setup header payload_offset {:#x} + payload_length "
                                          "{:#x} (from the protected-mode kernel at {:#x}) "
                                          "extends beyond the end of the file ({:#x} bytes)",
                                          uint32_t{header.payload_offset},
                                          uint32_t{header.payload_length}, kernel.setupSize,
                                          image.size()));
    const std::span<const uint8_t> bytes =
        image.subspan(payload.fileOffset, payload.compressedSize);
    payload.compression = detectPayloadCompression(bytes);

    switch (payload.compression) {
    case PayloadCompression::None:
        payload.vmlinux = ScratchPages(bytes.size());
        payload.vmlinux.append(bytes);
        return payload;
    case PayloadCompression::Gzip:
    case PayloadCompression::Xz:
    case PayloadCompression::Zstd:
        break;
    case PayloadCompression::Bzip2:
    case PayloadCompression::Lzma:
    case PayloadCompression::Lzo:
    case PayloadCompression::Lz4:
        throw LoadError(path, fmt::format("the kernel payload (payload_offset {:#x}) is {}-"
                                          "compressed: kvmscope decompresses only xz, gzip and "
                                          "zstd kernels for PVH (boot this one with --format "
                                          "linux)",
                                          uint32_t{header.payload_offset},
                                          toString(payload.compression)));
    case PayloadCompression::Unknown: {
        std::string first;
        for (size_t i = 0; i < std::min<size_t>(bytes.size(), 6); ++i)
            first += fmt::format("{}{:02x}", i ? " " : "", bytes[i]);
        throw LoadError(path, fmt::format("the kernel payload (payload_offset {:#x}, "
                                          "payload_length {:#x}) starts with [{}], the magic of "
                                          "no known kernel compression",
                                          uint32_t{header.payload_offset},
                                          uint32_t{header.payload_length}, first));
    }
    }

    if (bytes.size() <= kLengthTrailerSize)
        throw LoadError(path, fmt::format("setup header payload_length {:#x} is too short for a "
                                          "{} stream and its 4-byte length",
                                          uint32_t{header.payload_length},
                                          toString(payload.compression)));
    uint32_t declared = 0;
    std::memcpy(&declared, bytes.data() + bytes.size() - kLengthTrailerSize, sizeof declared);
    if (declared == 0 || declared > kMaxVmlinuxSize)
        throw LoadError(path,
                        fmt::format("the {} kernel payload declares an uncompressed length "
                                    "of {:#x} bytes in its last four bytes; kvmscope "
                                    "accepts 1 to {:#x}",
                                    toString(payload.compression), declared, kMaxVmlinuxSize));

    // One byte more than declared, so that a stream which goes on beyond it is seen.
    payload.vmlinux = ScratchPages(uint64_t{declared} + 1);
    const Inflated inflated =
        payload.compression == PayloadCompression::Xz     ? inflateXz(bytes, payload.vmlinux)
        : payload.compression == PayloadCompression::Gzip ? inflateGzip(bytes, payload.vmlinux)
                                                          : inflateZstd(bytes, payload.vmlinux);
    if (!inflated.failure.empty())
        throw LoadError(path,
                        fmt::format("cannot decompress the {} kernel payload (payload_offset "
                                    "{:#x}, payload_length {:#x}) after {:#x} bytes: {}",
                                    toString(payload.compression), uint32_t{header.payload_offset},
                                    uint32_t{header.payload_length}, inflated.produced,
                                    inflated.failure));
    if (inflated.produced > declared)
        throw LoadError(path, fmt::format("the {} kernel payload decompresses to more than the "
                                          "{:#x} bytes its last four bytes declare",
                                          toString(payload.compression), declared));
    if (!inflated.ended || inflated.produced != declared)
        throw LoadError(path,
                        fmt::format("the {} kernel payload decompresses to {:#x} bytes{}, "
                                    "but its last four bytes declare {:#x}",
                                    toString(payload.compression), inflated.produced,
                                    inflated.ended ? "" : " without reaching its end", declared));
    if (!hasElfMagic(payload.vmlinux.bytes()))
        throw LoadError(path, fmt::format("the decompressed {} kernel payload ({:#x} bytes) is "
                                          "not an ELF file",
                                          toString(payload.compression), declared));
    return payload;
}

BzImagePayload extractBzImagePayload(std::span<const uint8_t> image, const std::string& path) {
    DecompressedBzImage decompressed = decompressBzImagePayload(image, path);
    BzImagePayload payload;
    static_cast<BzImagePayloadInfo&>(payload) = decompressed;
    const std::span<const uint8_t> bytes = decompressed.vmlinux.bytes();
    payload.vmlinux.assign(bytes.begin(), bytes.end());
    return payload;
}

LoadedRange moveVmlinuxSegments(const ElfImage& elf, ScratchPages& vmlinux, const std::string& path,
                                GuestMemory& memory,
                                std::initializer_list<layout::ReservedRange> alsoReserved) {
    const LoadedRange range = checkElfSegmentsPlacement(elf, path, memory, alsoReserved);
    // In file order, so that what lies in front of the next segment's first byte is needed by
    // no segment still to come (two segments may share file bytes: the gABI does not forbid it).
    std::vector<const ElfSegment*> order;
    for (const ElfSegment& segment : elf.segments)
        order.push_back(&segment);
    std::sort(order.begin(), order.end(), [](const ElfSegment* a, const ElfSegment* b) {
        return a->fileOffset < b->fileOffset;
    });
    const std::span<const uint8_t> file = vmlinux.bytes();
    for (size_t i = 0; i < order.size(); ++i) {
        const ElfSegment& segment = *order[i];
        const uint64_t neededFrom = i + 1 < order.size() ? order[i + 1]->fileOffset : file.size();
        for (uint64_t done = 0; done < segment.fileSize; done += kMoveChunkSize) {
            const uint64_t piece = std::min(kMoveChunkSize, segment.fileSize - done);
            memory.write(segment.physicalAddress + done, file.data() + segment.fileOffset + done,
                         piece);
            vmlinux.releaseBelow(std::min(segment.fileOffset + done + piece, neededFrom));
        }
        // Segments up to this one are done and none to come starts below neededFrom: what lies
        // in front of it (this segment's bytes past an overlap, gaps, headers) is free too.
        vmlinux.releaseBelow(neededFrom);
        // The part beyond p_filesz is the bss: the gABI says it reads as zero.
        memory.fill(segment.physicalAddress + segment.fileSize, 0,
                    segment.memorySize - segment.fileSize);
    }
    return range;
}

} // namespace kvmscope::boot
