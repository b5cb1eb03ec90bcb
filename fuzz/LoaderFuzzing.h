#pragma once
// The image loaders' fuzz harness: the input is an image file followed by a fixed trailer of
// BootOptions, and goes through boot::loadImage, the same entry point as `kvmscope --image`.
// A loader may refuse an image with InputError (LoadError included); every other way out — a
// crash, a sanitizer report, another exception type, a plan that points outside guest RAM — is a
// finding.
#include "FuzzSupport.h"
#include "boot/ImageLoader.h"
#include "machine/GuestMemory.h"

#include <cstdint>
#include <memory>
#include <sys/mman.h>

namespace kvmscope::fuzz {

// The last kLoaderTrailerSize bytes of an input (fuzz/make-seeds.py writes them):
//   +0 flags (kLoader* below)
//   +1 initrd size, 24 bits little endian (a sparse file of zeros: only its size matters)
//   +4 command line length, 16 bits ("console=ttyS0 " repeated and cut)
//   +6 flat load address, 32 bits
constexpr size_t kLoaderTrailerSize = 10;
constexpr uint8_t kLoaderInitrd = 1u << 0;
constexpr uint8_t kLoaderCommandLine = 1u << 1;
constexpr uint8_t kLoaderCommandLineNul = 1u << 2; // a NUL byte in the middle
constexpr uint8_t kLoaderLargeMemory = 1u << 3;    // RAM on both sides of the 32-bit hole

class LoaderHarness {
public:
    LoaderHarness()
        : image_("kvmscope-fuzz-image"), initrd_("kvmscope-fuzz-initrd"),
          smallMemory_(std::make_unique<GuestMemory>(kSmallRam)),
          largeMemory_(std::make_unique<GuestMemory>(kLargeRam)) {}

    void run(boot::ImageFormat format, const uint8_t* data, size_t size) {
        if (size < kLoaderTrailerSize)
            return;
        const size_t imageSize = size - kLoaderTrailerSize;
        InputReader trailer(data + imageSize, kLoaderTrailerSize);
        const auto flags = trailer.read<uint8_t>();
        const auto initrdLow = trailer.read<uint16_t>();
        const auto initrdHigh = trailer.read<uint8_t>();
        const auto commandLineLength = trailer.read<uint16_t>();
        const auto loadAddress = trailer.read<uint32_t>();

        const std::span<const uint8_t> imageBytes(data, imageSize);
        image_.assign(imageBytes);
        boot::BootOptions options;
        options.imagePath = image_.path();
        options.format = format;
        options.loadAddress = loadAddress;
        if (flags & kLoaderInitrd) {
            initrd_.assignZeros(uint64_t{initrdLow} | uint64_t{initrdHigh} << 16);
            options.initrdPath = initrd_.path();
        }
        if (flags & kLoaderCommandLine) {
            static const std::string word = "console=ttyS0 ";
            for (size_t i = 0; i < commandLineLength; ++i)
                options.commandLine.push_back(word[i % word.size()]);
            if ((flags & kLoaderCommandLineNul) && !options.commandLine.empty())
                options.commandLine[options.commandLine.size() / 2] = '\0';
        }
        GuestMemory& memory = (flags & kLoaderLargeMemory) ? *largeMemory_ : *smallMemory_;

        try {
            const boot::BootPlan plan = boot::loadImage(options, memory);
            checkPlan(plan, format, imageBytes, memory);
        } catch (const InputError&) {
            // The documented way to refuse an image.
        } catch (const std::exception& error) {
            failOnException("boot::loadImage", error);
        }
        discard(memory);
    }

private:
    static constexpr uint64_t kSmallRam = 16ull << 20;
    // 64 MiB above 4 GiB, so that memory maps and placement see both regions.
    static constexpr uint64_t kLargeRam = GuestMemory::kMmioHoleStart + (64ull << 20);

    static void checkPlan(const boot::BootPlan& plan, boot::ImageFormat format,
                          std::span<const uint8_t> image, const GuestMemory& memory) {
        const boot::ImageFormat expected =
            format == boot::ImageFormat::Auto ? boot::detectFormat(image) : format;
        check(plan.format == expected, "the plan's format is not the one forced or detected");
        check(plan.imageStart <= plan.imageEnd, "the plan's image range ends before it starts");
        // The range envelops every segment, so it may span the MMIO hole; its ends lie in RAM.
        if (plan.imageEnd > plan.imageStart)
            check(memory.contains(plan.imageStart, 1) && memory.contains(plan.imageEnd - 1, 1),
                  "the plan's image range starts or ends outside guest RAM");
    }

    // Gives the pages a load touched back to the kernel, so that every run starts from zeroed RAM
    // (runs stay reproducible) and a large bss in one input does not count against the next.
    static void discard(GuestMemory& memory) {
        for (const MemoryRegion& region : memory.regions())
            ::madvise(region.host, region.size, MADV_DONTNEED);
    }

    MemoryFile image_;
    MemoryFile initrd_;
    std::unique_ptr<GuestMemory> smallMemory_;
    std::unique_ptr<GuestMemory> largeMemory_;
};

inline int fuzzLoader(boot::ImageFormat format, const uint8_t* data, size_t size) {
    static LoaderHarness harness;
    harness.run(format, data, size);
    return 0;
}

} // namespace kvmscope::fuzz
