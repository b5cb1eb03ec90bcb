#pragma once
// The fixed little-endian encodings of kvmscope's snapshot sections (docs/snapshots.md): a
// writer that appends integers, texts and blocks, a reader that takes them back and refuses a
// value that runs past the section with LoadError naming the file, the section and the part, and
// "records": a section made of named blocks (a vcpu's registers, LAPIC, MSRs, ...), each named
// once, read into a map so that a reader asks for each by name and checks its size.
#include "common/Error.h"

#include <cstdint>
#include <cstring>
#include <map>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace kvmscope::snapshot {

class ByteWriter {
public:
    template <typename T> void put(T value) {
        static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
        for (size_t i = 0; i < sizeof(T); ++i)
            bytes_.push_back(static_cast<uint8_t>(static_cast<uint64_t>(value) >> (8 * i)));
    }
    void putBool(bool value) { put<uint8_t>(value ? 1 : 0); }
    // u32 length, then the bytes.
    void putText(const std::string& text);
    void putBlock(std::span<const uint8_t> bytes);
    const std::vector<uint8_t>& bytes() const { return bytes_; }
    std::vector<uint8_t> take() { return std::move(bytes_); }

private:
    std::vector<uint8_t> bytes_;
};

class ByteReader {
public:
    ByteReader(std::span<const uint8_t> bytes, std::string file, std::string section)
        : bytes_(bytes), file_(std::move(file)), section_(std::move(section)) {}

    template <typename T> T take(const char* what) {
        static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
        need(sizeof(T), what);
        uint64_t value = 0;
        for (size_t i = 0; i < sizeof(T); ++i)
            value |= uint64_t{bytes_[at_ + i]} << (8 * i);
        at_ += sizeof(T);
        return static_cast<T>(value);
    }
    bool takeBool(const char* what);
    std::string text(const char* what);
    std::span<const uint8_t> block(const char* what);
    // Refuses bytes after the last value.
    void finish() const;
    size_t left() const { return bytes_.size() - at_; }
    [[noreturn]] void fail(const std::string& what) const;
    const std::string& file() const { return file_; }
    const std::string& section() const { return section_; }

private:
    void need(size_t count, const char* what) const;

    std::span<const uint8_t> bytes_;
    std::string file_;
    std::string section_;
    size_t at_ = 0;
};

// A section of named blocks: a count (u32), then per record its name (text) and bytes (block).
class RecordWriter {
public:
    void add(const std::string& name, std::span<const uint8_t> bytes);
    // A kernel struct stored whole: its bytes, whose size the reader checks (takeStruct).
    template <typename T> void addStruct(const std::string& name, const T& value) {
        static_assert(std::is_trivially_copyable_v<T>);
        add(name, {reinterpret_cast<const uint8_t*>(&value), sizeof value});
    }
    std::vector<uint8_t> encode() const;

private:
    std::vector<std::pair<std::string, std::vector<uint8_t>>> records_;
};

class Records {
public:
    // Throws LoadError naming the file and section for a cut-short section, a repeated name or
    // bytes after the last record.
    Records(std::span<const uint8_t> payload, const std::string& file, const std::string& section);
    bool has(const std::string& name) const { return records_.count(name) != 0; }
    // Throws LoadError naming the record when it is absent.
    std::span<const uint8_t> get(const std::string& name) const;
    ByteReader reader(const std::string& name) const;
    // A kernel struct stored whole: refused unless the record holds exactly sizeof(T) bytes (a
    // file from a kernel whose struct has another size).
    template <typename T> T takeStruct(const std::string& name) const {
        static_assert(std::is_trivially_copyable_v<T>);
        const auto bytes = get(name);
        if (bytes.size() != sizeof(T))
            fail(name, "holds " + std::to_string(bytes.size()) + " bytes where this kvmscope's " +
                           "struct has " + std::to_string(sizeof(T)));
        T value;
        std::memcpy(&value, bytes.data(), sizeof value);
        return value;
    }
    [[noreturn]] void fail(const std::string& record, const std::string& what) const;

private:
    std::map<std::string, std::span<const uint8_t>> records_;
    std::string file_;
    std::string section_;
};

} // namespace kvmscope::snapshot
