#include "snapshot/ByteCodec.h"

#include <fmt/format.h>

namespace kvmscope::snapshot {

void ByteWriter::putText(const std::string& text) {
    putBlock({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

void ByteWriter::putBlock(std::span<const uint8_t> bytes) {
    put(static_cast<uint32_t>(bytes.size()));
    bytes_.insert(bytes_.end(), bytes.begin(), bytes.end());
}

bool ByteReader::takeBool(const char* what) {
    const auto value = take<uint8_t>(what);
    if (value > 1)
        fail(fmt::format("the {} is {}, neither 0 nor 1", what, value));
    return value == 1;
}

std::string ByteReader::text(const char* what) {
    const auto bytes = block(what);
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

std::span<const uint8_t> ByteReader::block(const char* what) {
    const auto length = take<uint32_t>(what);
    need(length, what);
    const auto bytes = bytes_.subspan(at_, length);
    at_ += length;
    return bytes;
}

void ByteReader::finish() const {
    if (at_ != bytes_.size())
        fail(fmt::format("{} bytes follow the last value", bytes_.size() - at_));
}

void ByteReader::fail(const std::string& what) const {
    throw LoadError(file_, fmt::format("section '{}': {}", section_, what));
}

void ByteReader::need(size_t count, const char* what) const {
    if (count > bytes_.size() - at_)
        fail(fmt::format("the {} at offset {} runs past the section's {} bytes (truncated)", what,
                         at_, bytes_.size()));
}

void RecordWriter::add(const std::string& name, std::span<const uint8_t> bytes) {
    records_.emplace_back(name, std::vector<uint8_t>(bytes.begin(), bytes.end()));
}

std::vector<uint8_t> RecordWriter::encode() const {
    ByteWriter out;
    out.put(static_cast<uint32_t>(records_.size()));
    for (const auto& [name, bytes] : records_) {
        out.putText(name);
        out.putBlock(bytes);
    }
    return out.take();
}

Records::Records(std::span<const uint8_t> payload, const std::string& file,
                 const std::string& section)
    : file_(file), section_(section) {
    ByteReader in(payload, file, section);
    const auto count = in.take<uint32_t>("record count");
    // A record takes at least its two lengths: a count beyond that is not this format.
    if (count > in.left() / 8)
        in.fail(fmt::format("{} records cannot fit in {} bytes", count, in.left()));
    for (uint32_t i = 0; i < count; ++i) {
        std::string name = in.text("record name");
        const auto bytes = in.block("record bytes");
        if (!records_.emplace(name, bytes).second)
            in.fail(fmt::format("record '{}' appears twice", name));
    }
    in.finish();
}

std::span<const uint8_t> Records::get(const std::string& name) const {
    const auto found = records_.find(name);
    if (found == records_.end())
        fail(name, "is missing");
    return found->second;
}

ByteReader Records::reader(const std::string& name) const {
    return ByteReader(get(name), file_, section_ + "', record '" + name);
}

void Records::fail(const std::string& record, const std::string& what) const {
    throw LoadError(file_, fmt::format("section '{}': record '{}' {}", section_, record, what));
}

} // namespace kvmscope::snapshot
