#pragma once
// Declarative device state: a device that kvmscope emulates lists each of its registers, counters
// and computed values once, in `describeState` (devices/EmulatedDevice.h), and everything else is
// derived from that one list: the attributes the device tree shows, getAttr and setAttr, and the
// device's saved state, which holds also what is never shown (FIFOs, latches). The model is
// QEMU's VMStateDescription and the DoState visitor of DuckStation and Dolphin, with the
// attribute metadata of the KVM device-control API attached.
//
// An attribute's id is a hash of its name (attrId), so ids stay the same when declarations are
// reordered, and saved state names every field: a field that is renamed or removed makes a saved
// state fail to restore with a message that names it, instead of landing in the wrong register.
#include "devices/Device.h"

#include <cstdint>
#include <deque>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace kvmscope {

// The id of the attribute called `name`: 32-bit FNV-1a of the name (Fowler, Noll, Vo).
constexpr uint64_t attrId(std::string_view name) {
    uint32_t hash = 2166136261u;
    for (const char c : name) {
        hash ^= static_cast<uint8_t>(c);
        hash *= 16777619u;
    }
    return hash;
}

// What a declaration is for: shown as an attribute, kept in the saved state, or both.
enum class StateUse : unsigned {
    Shown = 1,         // an attribute, not saved (computed from the saved ones)
    Saved = 2,         // saved and restored, not an attribute (FIFOs, internal latches)
    ShownAndSaved = 3, // a register: both
};

// One declaration's description.
struct FieldInfo {
    std::string_view name;
    AttrType type = AttrType::U64;
    AttrAccess access = AttrAccess::Read;
    std::string_view description;
    StateUse use = StateUse::ShownAndSaved;
};

// How a field takes a value, under the device's lock. `check` refuses a value the hardware cannot
// hold (it returns why, or an empty string) before anything is stored, for attribute writes and
// restores alike. `write`, when given, replaces the plain store for attribute writes: it applies
// the value as the guest's register write would, side effects included (raising or lowering an
// IRQ line, recomputing a mode). A restore always stores the saved value as it is, and the
// device's afterRestore() then recomputes what follows from all of them.
struct FieldHooks {
    std::function<std::string(uint64_t)> check;
    std::function<void(uint64_t)> write;

    static FieldHooks checkedBy(std::function<std::string(uint64_t)> check) {
        return {std::move(check), {}};
    }
    static FieldHooks writtenBy(std::function<void(uint64_t)> write) {
        return {{}, std::move(write)};
    }
};

// A reference to a scalar member: bool, an integer of up to 64 bits, or an enum. A signed value
// is held as its two's complement (a saved time_t offset of -1 is 0xffff'ffff'ffff'ffff).
class ScalarRef {
public:
    template <typename T> static ScalarRef of(T& value) {
        static_assert(std::is_integral_v<T> || std::is_enum_v<T>,
                      "a declared scalar is bool, an integer or an enum");
        static_assert(sizeof(T) <= sizeof(uint64_t));
        ScalarRef ref;
        ref.address_ = &value;
        ref.load_ = [](const void* p) { return static_cast<uint64_t>(*static_cast<const T*>(p)); };
        ref.store_ = [](void* p, uint64_t v) { *static_cast<T*>(p) = static_cast<T>(v); };
        return ref;
    }
    uint64_t load() const { return load_(address_); }
    void store(uint64_t value) const { store_(address_, value); }

private:
    void* address_ = nullptr;
    uint64_t (*load_)(const void*) = nullptr;
    void (*store_)(void*, uint64_t) = nullptr;
};

// The AttrType that holds a T.
template <typename T> constexpr AttrType attrTypeOf() {
    if constexpr (std::is_same_v<T, bool>)
        return AttrType::Bool;
    else if constexpr (sizeof(T) == 1)
        return AttrType::U8;
    else if constexpr (sizeof(T) == 2)
        return AttrType::U16;
    else if constexpr (sizeof(T) == 4)
        return AttrType::U32;
    else
        return AttrType::U64;
}

// A reference to a byte container: std::vector<uint8_t>, std::deque<uint8_t> or a fixed array.
// A fixed array keeps its size: a value of another length is refused.
class BytesRef {
public:
    static BytesRef of(std::vector<uint8_t>& bytes);
    static BytesRef of(std::deque<uint8_t>& bytes);
    static BytesRef of(std::span<uint8_t> fixedSize);
    std::vector<uint8_t> load() const { return load_(); }
    bool fits(size_t size) const { return fixedSize_ == kAnySize || size == fixedSize_; }
    // Stores nothing unless fits(bytes.size()).
    void store(std::span<const uint8_t> bytes) const {
        if (fits(bytes.size()))
            store_(bytes);
    }

private:
    static constexpr size_t kAnySize = ~size_t(0);
    size_t fixedSize_ = kAnySize;
    std::function<std::vector<uint8_t>()> load_;
    std::function<void(std::span<const uint8_t>)> store_;
};

// What describeState calls, once per declaration, in order. Implemented by the lister, the
// attribute reader and writer, and the state saver and restorer (DeviceState.cpp).
class StateVisitor {
public:
    virtual ~StateVisitor() = default;

    // Starts a group: the declarations after it belong to it (KVM's attribute group).
    virtual void group(uint32_t id, std::string_view name) = 0;
    // A member variable.
    virtual void scalar(const FieldInfo& info, ScalarRef value, const FieldHooks& hooks) = 0;
    virtual void bytes(const FieldInfo& info, BytesRef value, const FieldHooks& hooks) = 0;
    // A value with a getter and, when writable, a setter that applies the write as the hardware
    // would (it may change other fields). Usually shown and not saved (computed from the saved
    // fields); with StateUse::Saved it is state kept in a form of its own (a struct tm) that the
    // getter and setter convert.
    virtual void computed(const FieldInfo& info, const std::function<uint64_t()>& get,
                          const std::function<void(uint64_t)>& set) = 0;
    // Bytes with a getter: shown read-only and not saved (a register file as the guest would
    // read it), or with StateUse::Saved and a setter, state kept in a form of its own (a queue
    // of structs) that the two encode and decode. The setter returns why it refused the bytes,
    // or an empty string.
    virtual void
    computedBytes(const FieldInfo& info, const std::function<std::vector<uint8_t>()>& get,
                  const std::function<std::string(std::span<const uint8_t>)>& set = {}) = 0;

    // Conveniences for describeState.
    template <typename T>
    void field(std::string_view name, T& value, AttrAccess access, std::string_view description,
               const FieldHooks& hooks = {}) {
        scalar({name, attrTypeOf<T>(), access, description, StateUse::ShownAndSaved},
               ScalarRef::of(value), hooks);
    }
    // A counter or other statistic: shown read-only, and saved, so that a restored machine's
    // counters go on from where they were.
    template <typename T>
    void statistic(std::string_view name, T& value, std::string_view description) {
        scalar({name, attrTypeOf<T>(), AttrAccess::Read, description, StateUse::ShownAndSaved},
               ScalarRef::of(value), {});
    }
    // A byte container (vector, deque, array) shown and saved.
    template <typename Container>
    void byteField(std::string_view name, Container& value, AttrAccess access,
                   std::string_view description, const FieldHooks& hooks = {}) {
        bytes({name, AttrType::Bytes, access, description, StateUse::ShownAndSaved},
              bytesRefOf(value), hooks);
    }
    // Internal state: saved, not shown.
    template <typename T> void hidden(std::string_view name, T& value) {
        if constexpr (std::is_same_v<T, std::vector<uint8_t>> ||
                      std::is_same_v<T, std::deque<uint8_t>> || std::is_array_v<T> ||
                      requires { std::span<uint8_t>(value); })
            bytes({name, AttrType::Bytes, AttrAccess::None, {}, StateUse::Saved}, bytesRefOf(value),
                  {});
        else
            scalar({name, attrTypeOf<T>(), AttrAccess::None, {}, StateUse::Saved},
                   ScalarRef::of(value), {});
    }
    void readOnly(std::string_view name, AttrType type, std::string_view description,
                  const std::function<uint64_t()>& get) {
        computed({name, type, AttrAccess::Read, description, StateUse::Shown}, get, {});
    }
    // Shown, written through `set` as the guest's write would be, not saved.
    void readWrite(std::string_view name, AttrType type, std::string_view description,
                   const std::function<uint64_t()>& get, const std::function<void(uint64_t)>& set) {
        computed({name, type, AttrAccess::ReadWrite, description, StateUse::Shown}, get, set);
    }
    void readOnlyBytes(std::string_view name, std::string_view description,
                       const std::function<std::vector<uint8_t>()>& get) {
        computedBytes({name, AttrType::Bytes, AttrAccess::Read, description, StateUse::Shown}, get);
    }
    // Saved, not shown, encoded by `get` and decoded by `set`.
    void hiddenEncoded(std::string_view name, const std::function<std::vector<uint8_t>()>& get,
                       const std::function<std::string(std::span<const uint8_t>)>& set) {
        computedBytes({name, AttrType::Bytes, AttrAccess::None, {}, StateUse::Saved}, get, set);
    }

private:
    static BytesRef bytesRefOf(std::vector<uint8_t>& value) { return BytesRef::of(value); }
    static BytesRef bytesRefOf(std::deque<uint8_t>& value) { return BytesRef::of(value); }
    template <typename Fixed> static BytesRef bytesRefOf(Fixed& value) {
        return BytesRef::of(std::span<uint8_t>(value));
    }
};

// A device's saved state: every saved field by group and name, in declaration order.
struct SavedField {
    std::string group;
    std::string name;
    AttrType type = AttrType::U64;
    uint64_t scalar = 0;
    std::vector<uint8_t> bytes;
};
using SavedDeviceState = std::vector<SavedField>;

} // namespace kvmscope
