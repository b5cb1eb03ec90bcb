#include "devices/DeviceState.h"

#include <algorithm>

namespace kvmscope {

BytesRef BytesRef::of(std::vector<uint8_t>& bytes) {
    BytesRef ref;
    ref.load_ = [&bytes] { return bytes; };
    ref.store_ = [&bytes](std::span<const uint8_t> value) {
        bytes.assign(value.begin(), value.end());
    };
    return ref;
}

BytesRef BytesRef::of(std::deque<uint8_t>& bytes) {
    BytesRef ref;
    ref.load_ = [&bytes] { return std::vector<uint8_t>(bytes.begin(), bytes.end()); };
    ref.store_ = [&bytes](std::span<const uint8_t> value) {
        bytes.assign(value.begin(), value.end());
    };
    return ref;
}

BytesRef BytesRef::of(std::span<uint8_t> fixedSize) {
    BytesRef ref;
    ref.fixedSize_ = fixedSize.size();
    ref.load_ = [fixedSize] { return std::vector<uint8_t>(fixedSize.begin(), fixedSize.end()); };
    ref.store_ = [fixedSize](std::span<const uint8_t> value) {
        std::copy(value.begin(), value.end(), fixedSize.begin());
    };
    return ref;
}

} // namespace kvmscope
