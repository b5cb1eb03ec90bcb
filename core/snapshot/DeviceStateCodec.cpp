#include "snapshot/DeviceStateCodec.h"

#include "common/Error.h"

#include <cstring>
#include <fmt/format.h>
#include <limits>

namespace kvmscope::snapshot {
namespace {

template <typename T> void put(std::vector<uint8_t>& out, T value) {
    const auto* bytes = reinterpret_cast<const uint8_t*>(&value);
    out.insert(out.end(), bytes, bytes + sizeof value);
}

void putText(std::vector<uint8_t>& out, const std::string& text) {
    // Group and field names are a device's own identifiers, far below 64 KiB.
    put(out, static_cast<uint16_t>(text.size()));
    out.insert(out.end(), text.begin(), text.end());
}

class Decoder {
public:
    Decoder(std::span<const uint8_t> bytes, const std::string& file, const std::string& section)
        : bytes_(bytes), file_(file), section_(section) {}

    template <typename T> T take(const char* what) {
        T value{};
        need(sizeof value, what);
        std::memcpy(&value, bytes_.data() + at_, sizeof value);
        at_ += sizeof value;
        return value;
    }
    std::string text(const char* what) {
        const auto length = take<uint16_t>(what);
        need(length, what);
        std::string value(reinterpret_cast<const char*>(bytes_.data() + at_), length);
        at_ += length;
        return value;
    }
    std::vector<uint8_t> block(const char* what) {
        const auto length = take<uint32_t>(what);
        need(length, what);
        std::vector<uint8_t> value(bytes_.begin() + long(at_), bytes_.begin() + long(at_ + length));
        at_ += length;
        return value;
    }
    bool done() const { return at_ == bytes_.size(); }
    size_t left() const { return bytes_.size() - at_; }
    [[noreturn]] void fail(const std::string& what) const {
        throw LoadError(file_, fmt::format("section '{}': {}", section_, what));
    }

private:
    void need(size_t count, const char* what) const {
        if (count > bytes_.size() - at_)
            fail(fmt::format("the {} at offset {} runs past the section's {} bytes", what, at_,
                             bytes_.size()));
    }

    std::span<const uint8_t> bytes_;
    const std::string& file_;
    const std::string& section_;
    size_t at_ = 0;
};

} // namespace

std::vector<uint8_t> encodeDeviceState(const SavedDeviceState& state) {
    std::vector<uint8_t> out;
    put(out, static_cast<uint32_t>(state.size()));
    for (const SavedField& field : state) {
        putText(out, field.group);
        putText(out, field.name);
        put(out, static_cast<uint8_t>(field.type));
        if (field.type == AttrType::Bytes) {
            put(out, static_cast<uint32_t>(field.bytes.size()));
            out.insert(out.end(), field.bytes.begin(), field.bytes.end());
        } else {
            put(out, field.scalar);
        }
    }
    return out;
}

SavedDeviceState decodeDeviceState(std::span<const uint8_t> bytes, const std::string& file,
                                   const std::string& section) {
    Decoder in(bytes, file, section);
    const auto count = in.take<uint32_t>("field count");
    // Each field takes at least 2 + 2 + 1 + 4 bytes: a count beyond that is not this format.
    if (count > in.left() / 9)
        in.fail(fmt::format("{} fields cannot fit in {} bytes", count, in.left()));
    SavedDeviceState state;
    state.reserve(count);
    for (uint32_t i = 0; i < count; ++i) {
        SavedField field;
        field.group = in.text("group name");
        field.name = in.text("field name");
        const auto type = in.take<uint8_t>("field type");
        if (type > static_cast<uint8_t>(AttrType::Bytes))
            in.fail(fmt::format("field {}/{} has type {}, which no attribute has", field.group,
                                field.name, type));
        field.type = static_cast<AttrType>(type);
        if (field.type == AttrType::Bytes)
            field.bytes = in.block("field bytes");
        else
            field.scalar = in.take<uint64_t>("field value");
        state.push_back(std::move(field));
    }
    if (!in.done())
        in.fail(fmt::format("{} bytes follow the last field", in.left()));
    return state;
}

} // namespace kvmscope::snapshot
