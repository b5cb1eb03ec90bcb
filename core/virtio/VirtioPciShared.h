#pragma once
// What the virtio-pci transport's source files share (VirtioPciTransport.cpp,
// VirtioPciCommonConfig.cpp, VirtioPciQueues.cpp, VirtioPciAttributes.cpp): the device status bits
// and the little-endian field access of its register images. Private to core/virtio/.
#include <cstdint>
#include <linux/virtio_config.h>
#include <span>

namespace kvmscope::virtio::pci_transport {

// Device status bits (VIRTIO 1.2, 2.1).
inline constexpr uint8_t kStatusDriverOk = VIRTIO_CONFIG_S_DRIVER_OK;
inline constexpr uint8_t kStatusFeaturesOk = VIRTIO_CONFIG_S_FEATURES_OK;
inline constexpr uint8_t kStatusNeedsReset = VIRTIO_CONFIG_S_NEEDS_RESET;
inline constexpr uint8_t kStatusFailed = VIRTIO_CONFIG_S_FAILED;

constexpr uint64_t featureBit(unsigned feature) {
    return uint64_t{1} << feature;
}
// VIRTIO_F_VERSION_1 (6): the transport offers only the modern interface.
inline constexpr uint64_t kFeatureVersion1 = featureBit(VIRTIO_F_VERSION_1);

// Writes `size` bytes of `value` at `offset`, least significant first (the registers are
// little-endian, 4.1.3).
inline void putLittleEndian(std::span<uint8_t> bytes, uint32_t offset, uint64_t value,
                            uint32_t size) {
    for (uint32_t i = 0; i < size; ++i)
        bytes[offset + i] = static_cast<uint8_t>(value >> (8 * i));
}

inline uint64_t getLittleEndian(std::span<const uint8_t> bytes, uint32_t offset, uint32_t size) {
    uint64_t value = 0;
    for (uint32_t i = 0; i < size; ++i)
        value |= uint64_t{bytes[offset + i]} << (8 * i);
    return value;
}

} // namespace kvmscope::virtio::pci_transport
