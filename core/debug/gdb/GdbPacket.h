#pragma once
// The framing layer of the GDB Remote Serial Protocol (gdb manual, appendix "Remote Protocol",
// "Overview"): `$payload#cs` packets with a two-digit modulo-256 checksum, `+`/`-`
// acknowledgements, the 0x03 interrupt byte sent outside any packet, run-length encoding
// (`x*n`: repeat x n-29 more times) and the `}` escape (next byte XOR 0x20) of binary data.
// Pure functions over bytes, with bounded sizes: the packet fuzzer drives them directly.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kvmscope::debug::gdb {

// The largest payload kvmscope accepts and the PacketSize it advertises in qSupported. gdb then
// never sends a longer packet (it splits memory writes) and sizes its `m` requests to fit.
constexpr size_t kMaxPacketSize = 0x4000;

constexpr char kPacketStart = '$';
constexpr char kChecksumStart = '#';
constexpr char kEscape = '}';
constexpr char kRunLength = '*';
constexpr uint8_t kEscapeXor = 0x20;
constexpr uint8_t kInterruptByte = 0x03; // Ctrl-C, sent bare (manual: "Interrupts")
constexpr uint8_t kRunLengthBias = 29;   // `*` followed by n means n - 29 repetitions

uint8_t checksum(std::string_view payload);
// `$payload#cs`. The payload is sent as it is: binary replies escape themselves first.
std::string frame(std::string_view payload);
// Escapes the bytes that may not appear raw in a packet: `$`, `#`, `}` and `*` (gdb expands
// run-length in every reply it reads, so a raw `*` would be misread).
std::string escapeBinary(std::string_view data);
// Undoes escapeBinary (X packets); nullopt for a trailing lone `}`.
std::optional<std::string> unescapeBinary(std::string_view data);
// Expands run-length encoding; nullopt when a `*` has no preceding byte or count, or the result
// would exceed `limit`.
std::optional<std::string> expandRunLength(std::string_view payload, size_t limit);

// Hex helpers for the protocol's number and byte encodings.
int hexDigit(char c); // -1 when not a hex digit
std::string toHex(std::span<const uint8_t> bytes);
std::string toHex(std::string_view text);
// Big-endian hex text to a number (addresses, lengths, thread ids); nullopt on an empty string,
// a non-hex digit or more than 16 digits.
std::optional<uint64_t> parseHexNumber(std::string_view text);
// Pairs of hex digits to bytes; nullopt for an odd length or a bad digit.
std::optional<std::vector<uint8_t>> parseHexBytes(std::string_view text);

// Splits a byte stream from the client into protocol events. Bytes between packets other than
// `+`, `-` and 0x03 are skipped (gdb sends none; line noise is counted).
class PacketReader {
public:
    enum class EventKind {
        Packet,      // a complete packet with a good checksum, run-length expanded
        Interrupt,   // the 0x03 byte outside a packet
        Ack,         // `+`
        Nack,        // `-`: resend the last packet
        BadChecksum, // a complete packet whose checksum does not match (answer `-`)
        Malformed,   // too long, or bad run-length: answer with an error reply
    };
    struct Event {
        EventKind kind = EventKind::Packet;
        std::string payload; // Packet: the payload; Malformed/BadChecksum: what was wrong
    };

    void feed(std::span<const uint8_t> bytes, std::vector<Event>& events);
    uint64_t skippedBytes() const { return skipped_; }

private:
    enum class State { Idle, Payload, Checksum1, Checksum2 };
    State state_ = State::Idle;
    std::string payload_;
    bool tooLong_ = false;
    uint8_t sum_ = 0;
    char checksumText_[2] = {};
    uint64_t skipped_ = 0;

    void finishPacket(std::vector<Event>& events);
};

} // namespace kvmscope::debug::gdb
