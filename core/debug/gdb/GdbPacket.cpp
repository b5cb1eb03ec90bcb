#include "debug/gdb/GdbPacket.h"

#include <fmt/format.h>

namespace kvmscope::debug::gdb {

uint8_t checksum(std::string_view payload) {
    uint8_t sum = 0;
    for (const char c : payload)
        sum = static_cast<uint8_t>(sum + static_cast<uint8_t>(c));
    return sum;
}

std::string frame(std::string_view payload) {
    std::string packet;
    packet.reserve(payload.size() + 4);
    packet += kPacketStart;
    packet += payload;
    packet += fmt::format("#{:02x}", checksum(payload));
    return packet;
}

std::string escapeBinary(std::string_view data) {
    std::string out;
    out.reserve(data.size());
    for (const char c : data) {
        if (c == kPacketStart || c == kChecksumStart || c == kEscape || c == kRunLength) {
            out += kEscape;
            out += static_cast<char>(static_cast<uint8_t>(c) ^ kEscapeXor);
        } else {
            out += c;
        }
    }
    return out;
}

std::optional<std::string> unescapeBinary(std::string_view data) {
    std::string out;
    out.reserve(data.size());
    for (size_t i = 0; i < data.size(); ++i) {
        if (data[i] != kEscape) {
            out += data[i];
            continue;
        }
        if (++i == data.size())
            return std::nullopt;
        out += static_cast<char>(static_cast<uint8_t>(data[i]) ^ kEscapeXor);
    }
    return out;
}

std::optional<std::string> expandRunLength(std::string_view payload, size_t limit) {
    std::string out;
    for (size_t i = 0; i < payload.size(); ++i) {
        if (payload[i] != kRunLength) {
            out += payload[i];
        } else {
            // `x*n`: n is a printable character; the previous byte repeats n - 29 more times.
            if (out.empty() || i + 1 == payload.size())
                return std::nullopt;
            const auto count = static_cast<uint8_t>(payload[++i]);
            if (count < kRunLengthBias)
                return std::nullopt;
            out.append(count - kRunLengthBias, out.back());
        }
        if (out.size() > limit)
            return std::nullopt;
    }
    return out;
}

int hexDigit(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

std::string toHex(std::span<const uint8_t> bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const uint8_t b : bytes) {
        out += kDigits[b >> 4];
        out += kDigits[b & 0xF];
    }
    return out;
}

std::string toHex(std::string_view text) {
    return toHex(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

std::optional<uint64_t> parseHexNumber(std::string_view text) {
    if (text.empty() || text.size() > 16)
        return std::nullopt;
    uint64_t value = 0;
    for (const char c : text) {
        const int digit = hexDigit(c);
        if (digit < 0)
            return std::nullopt;
        value = value << 4 | static_cast<uint64_t>(digit);
    }
    return value;
}

std::optional<std::vector<uint8_t>> parseHexBytes(std::string_view text) {
    if (text.size() % 2)
        return std::nullopt;
    std::vector<uint8_t> bytes(text.size() / 2);
    for (size_t i = 0; i < bytes.size(); ++i) {
        const int high = hexDigit(text[2 * i]);
        const int low = hexDigit(text[2 * i + 1]);
        if (high < 0 || low < 0)
            return std::nullopt;
        bytes[i] = static_cast<uint8_t>(high << 4 | low);
    }
    return bytes;
}

void PacketReader::finishPacket(std::vector<Event>& events) {
    const int high = hexDigit(checksumText_[0]);
    const int low = hexDigit(checksumText_[1]);
    Event event;
    if (tooLong_) {
        event.kind = EventKind::Malformed;
        event.payload = fmt::format("packet longer than {} bytes", kMaxPacketSize);
    } else if (high < 0 || low < 0 || static_cast<uint8_t>(high << 4 | low) != sum_) {
        event.kind = EventKind::BadChecksum;
        event.payload = fmt::format("checksum '{}{}' does not match {:02x}", checksumText_[0],
                                    checksumText_[1], sum_);
    } else if (auto expanded = expandRunLength(payload_, kMaxPacketSize)) {
        event.kind = EventKind::Packet;
        event.payload = std::move(*expanded);
    } else {
        event.kind = EventKind::Malformed;
        event.payload = "bad run-length encoding";
    }
    events.push_back(std::move(event));
    payload_.clear();
    tooLong_ = false;
    state_ = State::Idle;
}

void PacketReader::feed(std::span<const uint8_t> bytes, std::vector<Event>& events) {
    for (const uint8_t byte : bytes) {
        const char c = static_cast<char>(byte);
        switch (state_) {
        case State::Idle:
            if (c == kPacketStart) {
                state_ = State::Payload;
                sum_ = 0;
            } else if (c == '+') {
                events.push_back({EventKind::Ack, {}});
            } else if (c == '-') {
                events.push_back({EventKind::Nack, {}});
            } else if (byte == kInterruptByte) {
                events.push_back({EventKind::Interrupt, {}});
            } else {
                ++skipped_;
            }
            break;
        case State::Payload:
            if (c == kChecksumStart) {
                state_ = State::Checksum1;
            } else if (c == kPacketStart) {
                // A new packet start inside a packet: the previous one was cut off (gdb resends
                // after a timeout). Start over with the new one.
                ++skipped_;
                payload_.clear();
                tooLong_ = false;
                sum_ = 0;
            } else {
                sum_ = static_cast<uint8_t>(sum_ + byte);
                // Bounded: past the limit the bytes are only summed, then the packet is refused.
                if (payload_.size() < kMaxPacketSize)
                    payload_ += c;
                else
                    tooLong_ = true;
            }
            break;
        case State::Checksum1:
            checksumText_[0] = c;
            state_ = State::Checksum2;
            break;
        case State::Checksum2:
            checksumText_[1] = c;
            finishPacket(events);
            break;
        }
    }
}

} // namespace kvmscope::debug::gdb
