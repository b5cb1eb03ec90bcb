#include "devices/EmulatedDevice.h"

#include <fmt/format.h>
#include <optional>

namespace kvmscope {
namespace {

bool shown(const FieldInfo& info) {
    return (static_cast<unsigned>(info.use) & static_cast<unsigned>(StateUse::Shown)) != 0;
}
bool saved(const FieldInfo& info) {
    return (static_cast<unsigned>(info.use) & static_cast<unsigned>(StateUse::Saved)) != 0;
}

// Walks the declarations and keeps track of the current group.
class GroupTracker : public StateVisitor {
public:
    void group(uint32_t id, std::string_view name) override {
        groupId_ = id;
        groupName_ = name;
    }

protected:
    uint32_t groupId_ = 0;
    std::string_view groupName_;
};

class AttributeLister final : public GroupTracker {
public:
    std::vector<AttributeInfo> list;

    void scalar(const FieldInfo& info, ScalarRef, const FieldHooks&) override { add(info); }
    void bytes(const FieldInfo& info, BytesRef, const FieldHooks&) override { add(info); }
    void computed(const FieldInfo& info, const std::function<uint64_t()>&,
                  const std::function<void(uint64_t)>& set) override {
        FieldInfo effective = info;
        if (!set)
            effective.access = AttrAccess::Read;
        add(effective);
    }
    void computedBytes(const FieldInfo& info, const std::function<std::vector<uint8_t>()>&,
                       const std::function<std::string(std::span<const uint8_t>)>&) override {
        add(info);
    }

private:
    void add(const FieldInfo& info) {
        if (!shown(info))
            return;
        list.push_back({groupId_, attrId(info.name), std::string(groupName_),
                        std::string(info.name), info.type, info.access,
                        std::string(info.description)});
    }
};

// Finds the one shown declaration (group, attr) and acts on it.
class AttributeFinder : public GroupTracker {
public:
    AttributeFinder(uint32_t group, uint64_t attr) : group_(group), attr_(attr) {}
    bool found = false;

protected:
    bool matches(const FieldInfo& info) {
        if (found || !shown(info) || groupId_ != group_ || attrId(info.name) != attr_)
            return false;
        found = true;
        return true;
    }

private:
    uint32_t group_;
    uint64_t attr_;
};

class AttributeReader final : public AttributeFinder {
public:
    using AttributeFinder::AttributeFinder;
    AttrValue value;

    void scalar(const FieldInfo& info, ScalarRef ref, const FieldHooks&) override {
        if (matches(info))
            value = AttrValue::of(ref.load());
    }
    void bytes(const FieldInfo& info, BytesRef ref, const FieldHooks&) override {
        if (matches(info))
            value.bytes = ref.load();
    }
    void computed(const FieldInfo& info, const std::function<uint64_t()>& get,
                  const std::function<void(uint64_t)>&) override {
        if (matches(info))
            value = AttrValue::of(get());
    }
    void computedBytes(const FieldInfo& info, const std::function<std::vector<uint8_t>()>& get,
                       const std::function<std::string(std::span<const uint8_t>)>&) override {
        if (matches(info))
            value.bytes = get();
    }
};

class AttributeWriter final : public AttributeFinder {
public:
    AttributeWriter(uint32_t group, uint64_t attr, const AttrValue& value)
        : AttributeFinder(group, attr), value_(value) {}
    std::string refusal; // why a write that reached its field was refused

    void scalar(const FieldInfo& info, ScalarRef ref, const FieldHooks& hooks) override {
        if (!matches(info))
            return;
        if (hooks.check)
            refusal = hooks.check(value_.scalar);
        if (!refusal.empty())
            return;
        if (hooks.write)
            hooks.write(value_.scalar);
        else
            ref.store(value_.scalar);
    }
    void bytes(const FieldInfo& info, BytesRef ref, const FieldHooks&) override {
        if (!matches(info))
            return;
        if (!ref.fits(value_.bytes.size())) {
            refusal = fmt::format("{} bytes do not fit attribute {} ({} bytes)",
                                  value_.bytes.size(), info.name, ref.load().size());
            return;
        }
        ref.store(value_.bytes);
    }
    void computed(const FieldInfo& info, const std::function<uint64_t()>&,
                  const std::function<void(uint64_t)>& set) override {
        if (matches(info) && set)
            set(value_.scalar);
    }
    void computedBytes(const FieldInfo& info, const std::function<std::vector<uint8_t>()>&,
                       const std::function<std::string(std::span<const uint8_t>)>&) override {
        matches(info); // read-only: requireWritable refused the write already
    }

private:
    const AttrValue& value_;
};

class StateSaver final : public GroupTracker {
public:
    SavedDeviceState state;

    void scalar(const FieldInfo& info, ScalarRef ref, const FieldHooks&) override {
        if (saved(info))
            state.push_back(
                {std::string(groupName_), std::string(info.name), info.type, ref.load(), {}});
    }
    void bytes(const FieldInfo& info, BytesRef ref, const FieldHooks&) override {
        if (saved(info))
            state.push_back(
                {std::string(groupName_), std::string(info.name), AttrType::Bytes, 0, ref.load()});
    }
    void computed(const FieldInfo& info, const std::function<uint64_t()>& get,
                  const std::function<void(uint64_t)>&) override {
        if (saved(info))
            state.push_back(
                {std::string(groupName_), std::string(info.name), info.type, get(), {}});
    }
    void computedBytes(const FieldInfo& info, const std::function<std::vector<uint8_t>()>& get,
                       const std::function<std::string(std::span<const uint8_t>)>&) override {
        if (saved(info))
            state.push_back(
                {std::string(groupName_), std::string(info.name), AttrType::Bytes, 0, get()});
    }
};

// Matches a saved state against the declarations. The first pass only checks (nothing is
// stored unless every field fits); the second stores and runs the write hooks.
class StateRestorer final : public GroupTracker {
public:
    StateRestorer(const SavedDeviceState& state, bool store) : state_(state), store_(store) {
        used_.assign(state.size(), false);
    }
    std::string problem;

    void scalar(const FieldInfo& info, ScalarRef ref, const FieldHooks& hooks) override {
        const SavedField* field = findOfType(info, info.type);
        if (!field)
            return;
        if (field->scalar > maxScalarOf(info.type)) {
            fail(fmt::format("field {}/{} holds {:#x}, more than a {} holds", groupName_, info.name,
                             field->scalar, toString(info.type)));
            return;
        }
        if (hooks.check) {
            const std::string why = hooks.check(field->scalar);
            if (!why.empty()) {
                fail(fmt::format("field {}/{}: {}", groupName_, info.name, why));
                return;
            }
        }
        if (store_)
            ref.store(field->scalar);
    }
    void bytes(const FieldInfo& info, BytesRef ref, const FieldHooks&) override {
        const SavedField* field = findOfType(info, AttrType::Bytes);
        if (!field)
            return;
        if (!ref.fits(field->bytes.size())) {
            fail(fmt::format("field {}/{} holds {} bytes in the saved state, {} here", groupName_,
                             info.name, field->bytes.size(), ref.load().size()));
            return;
        }
        if (store_)
            ref.store(field->bytes);
    }
    void computed(const FieldInfo& info, const std::function<uint64_t()>&,
                  const std::function<void(uint64_t)>& set) override {
        const SavedField* field = findOfType(info, info.type);
        if (!field)
            return;
        if (store_ && set)
            set(field->scalar);
    }
    // Encoded state is decoded only when storing; a decoder that refuses fails the restore then
    // (the device's own fields may be half restored: the caller discards the device).
    void computedBytes(const FieldInfo& info, const std::function<std::vector<uint8_t>()>&,
                       const std::function<std::string(std::span<const uint8_t>)>& set) override {
        const SavedField* field = findOfType(info, AttrType::Bytes);
        if (!field)
            return;
        if (store_ && set) {
            const std::string why = set(field->bytes);
            if (!why.empty())
                fail(fmt::format("field {}/{}: {}", groupName_, info.name, why));
        }
    }

    // After the walk: a saved field that no declaration took.
    void checkAllUsed() {
        for (size_t i = 0; i < state_.size() && problem.empty(); ++i)
            if (!used_[i])
                fail(fmt::format("the saved state has field {}/{}, which this device does not",
                                 state_[i].group, state_[i].name));
    }

private:
    const SavedField* find(const FieldInfo& info) {
        if (!saved(info) || !problem.empty())
            return nullptr;
        for (size_t i = 0; i < state_.size(); ++i) {
            if (!used_[i] && state_[i].group == groupName_ && state_[i].name == info.name) {
                used_[i] = true;
                return &state_[i];
            }
        }
        fail(fmt::format("the saved state lacks field {}/{}", groupName_, info.name));
        return nullptr;
    }
    // The saved field of `info`, or null (the problem recorded) when it is missing or of another
    // type than `type`.
    const SavedField* findOfType(const FieldInfo& info, AttrType type) {
        const SavedField* field = find(info);
        if (field && field->type != type) {
            fail(fmt::format("field {}/{} is {} in the saved state, {} here", groupName_, info.name,
                             toString(field->type), toString(type)));
            return nullptr;
        }
        return field;
    }
    void fail(std::string message) {
        if (problem.empty())
            problem = std::move(message);
    }

    const SavedDeviceState& state_;
    bool store_;
    std::vector<bool> used_;
};

} // namespace

void EmulatedDevice::visit(StateVisitor& visitor) const {
    std::lock_guard lock(stateMutex());
    const_cast<EmulatedDevice*>(this)->describeState(visitor);
}

std::vector<AttributeInfo> EmulatedDevice::attributes() const {
    AttributeLister lister;
    visit(lister);
    return std::move(lister.list);
}

AttrValue EmulatedDevice::getAttr(uint32_t group, uint64_t attr) const {
    AttributeReader reader(group, attr);
    visit(reader);
    if (!reader.found)
        requireAttr(group, attr); // throws, naming the device
    return reader.value;
}

void EmulatedDevice::setAttr(uint32_t group, uint64_t attr, const AttrValue& value) {
    // Access and range first, from the listing, so that a refused write changes nothing.
    requireWritable(requireAttr(group, attr), value);
    AttributeWriter writer(group, attr, value);
    visit(writer);
    if (!writer.refusal.empty())
        throw AttributeError(fmt::format("{}: {}", name(), writer.refusal));
    afterAttributeWrite();
}

SavedDeviceState EmulatedDevice::saveState() const {
    StateSaver saver;
    visit(saver);
    return std::move(saver.state);
}

void EmulatedDevice::restoreState(const SavedDeviceState& state) {
    std::lock_guard lock(stateMutex());
    StateRestorer check(state, false);
    describeState(check);
    check.checkAllUsed();
    if (!check.problem.empty())
        throw AttributeError(fmt::format("{}: cannot restore: {}", name(), check.problem));
    StateRestorer restore(state, true);
    describeState(restore);
    if (!restore.problem.empty())
        throw AttributeError(fmt::format("{}: cannot restore: {}", name(), restore.problem));
    afterRestore();
}

} // namespace kvmscope
