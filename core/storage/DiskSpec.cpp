#include "storage/DiskSpec.h"

#include "common/Error.h"

#include <fmt/format.h>
#include <set>
#include <vector>

namespace kvmscope::storage {
namespace {

// Splits at single commas; ",," stands for a comma inside a field.
std::vector<std::string> splitFields(std::string_view text) {
    std::vector<std::string> fields(1);
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] != ',') {
            fields.back() += text[i];
        } else if (i + 1 < text.size() && text[i + 1] == ',') {
            fields.back() += ',';
            ++i;
        } else {
            fields.emplace_back();
        }
    }
    return fields;
}

} // namespace

const char* toString(DiskInterface interface) {
    switch (interface) {
    case DiskInterface::Virtio:
        return "virtio";
    case DiskInterface::Ide:
        return "ide";
    }
    return "?";
}

DiskSpec cdromSpec(std::string path) {
    if (path.empty())
        throw InputError("--cdrom: expected the file name of an ISO image");
    DiskSpec spec;
    spec.path = std::move(path);
    spec.readOnly = true;
    spec.interface = DiskInterface::Ide;
    spec.media = DiskMedia::Cdrom;
    return spec;
}

DiskSpec parseDiskSpec(std::string_view text, std::string_view option) {
    const std::vector<std::string> fields = splitFields(text);
    DiskSpec spec;
    spec.path = fields.front();
    if (spec.path.empty())
        throw InputError(fmt::format("{} '{}': the image's file name is missing (--disk "
                                     "FILE[,format=raw][,readonly][,if=virtio|ide])",
                                     option, text));
    std::set<std::string> seen;
    for (size_t i = 1; i < fields.size(); ++i) {
        const std::string& field = fields[i];
        const size_t equals = field.find('=');
        const std::string key = field.substr(0, equals);
        const std::string value = equals == std::string::npos ? "" : field.substr(equals + 1);
        if (!seen.insert(key).second)
            throw InputError(fmt::format("{} '{}': {} is given twice", option, text, key));
        if (key == "readonly" && (equals == std::string::npos || value == "on")) {
            spec.readOnly = true;
        } else if (key == "readonly" && value == "off") {
            spec.readOnly = false;
        } else if (key == "format" && value == "raw") {
            spec.formatGiven = true;
        } else if (key == "format") {
            throw InputError(fmt::format("{} '{}': format={} is not supported: kvmscope reads raw "
                                         "images (qemu-img convert -O raw makes one)",
                                         option, text, value));
        } else if (key == "if" && (value == "virtio" || value == "ide")) {
            spec.interface = value == "ide" ? DiskInterface::Ide : DiskInterface::Virtio;
        } else if (key == "if" || key == "readonly") {
            throw InputError(fmt::format("{} '{}': {}={} is not one of {}", option, text, key,
                                         value, key == "if" ? "virtio, ide" : "on, off"));
        } else {
            throw InputError(fmt::format("{} '{}': unknown field '{}' (known: format=raw, "
                                         "readonly, if=virtio|ide)",
                                         option, text, field));
        }
    }
    return spec;
}

} // namespace kvmscope::storage
