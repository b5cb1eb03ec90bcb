// The snapshot reader (snapshot/SnapshotFile.h) on the input as a file, then what a restore reads
// first: the "ram" section into 1 MiB of guest RAM (snapshot/RamImage.h) and every other section
// as a device's saved state (snapshot/DeviceStateCodec.h). Only LoadError may come out; a section
// the reader accepted lies inside the file; RAM is changed only by a section that checked out.
#include "FuzzSupport.h"
#include "common/Error.h"
#include "machine/GuestMemory.h"
#include "snapshot/DeviceStateCodec.h"
#include "snapshot/RamImage.h"
#include "snapshot/SnapshotFile.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace kvmscope;
    static fuzz::MemoryFile file("fuzz_snapshot_reader");
    file.assign({data, size});
    try {
        const snapshot::SnapshotReader reader(file.path());
        for (const std::string& name : reader.names()) {
            const auto payload = reader.section(name);
            fuzz::check(payload.size() <= size, "a section larger than the file");
            if (name == "ram") {
                GuestMemory memory(1 << 20);
                memory.writeValue<uint64_t>(0x1000, 0x1234);
                try {
                    snapshot::readRam(reader, memory);
                } catch (const LoadError&) {
                    fuzz::check(memory.readValue<uint64_t>(0x1000) == 0x1234,
                                "a refused RAM section changed RAM");
                }
            } else {
                try {
                    const SavedDeviceState state =
                        snapshot::decodeDeviceState(payload, file.path(), name);
                    fuzz::check(snapshot::encodeDeviceState(state).size() == payload.size(),
                                "a decoded device state encodes to other bytes");
                } catch (const LoadError&) {
                }
            }
        }
    } catch (const LoadError&) {
        // A file the reader refused: the expected end for most inputs.
    } catch (const std::exception& error) {
        fuzz::failOnException("the snapshot reader", error);
    }
    return 0;
}
