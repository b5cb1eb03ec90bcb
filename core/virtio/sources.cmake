list(APPEND KVMSCOPE_CORE_SOURCES
    virtio/Ring.h virtio/SplitQueue.h virtio/SplitQueue.cpp virtio/BlockRequest.h virtio/BlockRequest.cpp
    virtio/VirtioDevice.h virtio/VirtioPciTransport.h virtio/VirtioPciShared.h
    virtio/VirtioPciTransport.cpp virtio/VirtioPciCommonConfig.cpp virtio/VirtioPciQueues.cpp
    virtio/VirtioPciAttributes.cpp
    virtio/VirtioBlockDevice.h virtio/VirtioBlockDevice.cpp)
