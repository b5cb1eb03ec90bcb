#pragma once
// Small helpers shared by the benchmarks: clocks, medians, the io-loop guest.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace kvmscope::bench {

inline double nowSeconds() {
    using namespace std::chrono;
    return duration<double>(steady_clock::now().time_since_epoch()).count();
}

inline double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    const size_t n = values.size();
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// The io-loop guest (docs/guests.md): a flat real-mode image whose iteration count is a 32-bit
// little-endian value at kIoLoopCountOffset; it does that many `out`s to an unused port, then
// writes 0 to the debug-exit port.
constexpr size_t kIoLoopCountOffset = 8;

inline std::vector<uint8_t> ioLoopImage(uint32_t iterations) {
    const std::string path = std::string(KVMSCOPE_GUESTS_DIR) + "/io-loop";
    std::ifstream file(path, std::ios::binary);
    if (!file)
        throw std::runtime_error("cannot read " + path + " (build the guests first)");
    std::vector<uint8_t> image((std::istreambuf_iterator<char>(file)), {});
    if (image.size() < kIoLoopCountOffset + 4)
        throw std::runtime_error(path + " is too small to be the io-loop guest");
    for (size_t i = 0; i < 4; ++i)
        image[kIoLoopCountOffset + i] = static_cast<uint8_t>(iterations >> (8 * i));
    return image;
}

inline std::string writeTemporary(const std::vector<uint8_t>& bytes, const std::string& name) {
    const char* tmp = std::getenv("TMPDIR");
    const std::string path = std::string(tmp ? tmp : "/tmp") + "/" + name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    if (!out)
        throw std::runtime_error("cannot write " + path);
    return path;
}

} // namespace kvmscope::bench
