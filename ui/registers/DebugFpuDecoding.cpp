#include "registers/DebugFpuDecoding.h"

#include <QStringList>
#include <cmath>
#include <cstring>

namespace kvmscope::ui {
namespace {

struct NamedBit {
    unsigned bit;
    const char* name;
};

template <size_t N> QStringList setBits(uint64_t value, const NamedBit (&bits)[N]) {
    QStringList names;
    for (const NamedBit& flag : bits)
        if (value & (uint64_t(1) << flag.bit))
            names << QString::fromLatin1(flag.name);
    return names;
}

// SDM vol. 3B, 17.2.3 "Debug Status Register (DR6)".
constexpr NamedBit kDr6Bits[] = {{0, "B0"},  {1, "B1"},  {2, "B2"}, {3, "B3"},
                                 {13, "BD"}, {14, "BS"}, {15, "BT"}};
// Bit 16 (RTM) is active low: clear means "debug exception inside an RTM region".
constexpr unsigned kDr6RtmBit = 16;

// SDM vol. 3B, 17.2.4 "Debug Control Register (DR7)": R/Wn and LENn encodings.
constexpr const char* kDr7Conditions[] = {"exec", "write", "io", "rw"};
constexpr const char* kDr7Lengths[] = {"len1", "len2", "len8", "len4"};
constexpr unsigned kDr7LeBit = 8, kDr7GeBit = 9, kDr7GdBit = 13;

// SDM vol. 1, 8.1.5 (x87 control word) and 10.2.3 (MXCSR): exception masks share bits 0-5 in
// the control word and bits 7-12 in MXCSR; the flags are bits 0-5 of the status word / MXCSR.
constexpr const char* kExceptionNames[] = {"IE", "DE", "ZE", "OE", "UE", "PE"};
constexpr const char* kMaskNames[] = {"IM", "DM", "ZM", "OM", "UM", "PM"};
constexpr const char* kRounding[] = {"nearest", "down", "up", "zero"};
constexpr const char* kPrecision[] = {"single", "reserved", "double", "extended"};

QString names(uint64_t bits, unsigned shift, const char* const (&table)[6]) {
    QStringList list;
    for (unsigned i = 0; i < 6; ++i)
        if (bits & (uint64_t(1) << (shift + i)))
            list << QString::fromLatin1(table[i]);
    return list.join(QLatin1Char(' '));
}

QString joined(const QStringList& parts) {
    QStringList nonEmpty;
    for (const QString& part : parts)
        if (!part.isEmpty())
            nonEmpty << part;
    return nonEmpty.join(QLatin1Char(' '));
}

} // namespace

QString decodeDr6(uint64_t dr6) {
    QStringList list = setBits(dr6, kDr6Bits);
    if (!(dr6 & (uint64_t(1) << kDr6RtmBit)))
        list << QStringLiteral("RTM");
    return list.join(QLatin1Char(' '));
}

QString decodeDr7(uint64_t dr7) {
    QStringList breakpoints;
    for (unsigned n = 0; n < 4; ++n) {
        const bool local = dr7 & (uint64_t(1) << (2 * n));
        const bool global = dr7 & (uint64_t(1) << (2 * n + 1));
        if (!local && !global)
            continue;
        const unsigned condition = unsigned(dr7 >> (16 + 4 * n)) & 3;
        const unsigned length = unsigned(dr7 >> (18 + 4 * n)) & 3;
        breakpoints << QStringLiteral("bp%1 %2 %3 %4")
                           .arg(n)
                           .arg(local && global ? QStringLiteral("LG")
                                : local         ? QStringLiteral("L")
                                                : QStringLiteral("G"))
                           .arg(QString::fromLatin1(kDr7Conditions[condition]))
                           .arg(QString::fromLatin1(kDr7Lengths[length]));
    }
    QStringList flags;
    for (const NamedBit& flag :
         {NamedBit{kDr7LeBit, "LE"}, NamedBit{kDr7GeBit, "GE"}, NamedBit{kDr7GdBit, "GD"}})
        if (dr7 & (uint64_t(1) << flag.bit))
            flags << QString::fromLatin1(flag.name);
    QString text = breakpoints.isEmpty() ? QStringLiteral("no breakpoint")
                                         : breakpoints.join(QStringLiteral("; "));
    if (!flags.isEmpty())
        text += QLatin1Char(' ') + flags.join(QLatin1Char(' '));
    return text;
}

QString decodeFcw(uint16_t fcw) {
    const QString masks = names(fcw, 0, kMaskNames);
    return joined({masks.isEmpty() ? QString() : QStringLiteral("masks=") + masks,
                   QStringLiteral("PC=") + QString::fromLatin1(kPrecision[(fcw >> 8) & 3]),
                   QStringLiteral("RC=") + QString::fromLatin1(kRounding[(fcw >> 10) & 3])});
}

QString decodeFsw(uint16_t fsw) {
    // SDM vol. 1, 8.1.3: TOP in bits 11-13, C0-C2 in bits 8-10, C3 in bit 14, SF bit 6, ES bit 7.
    QStringList list{QStringLiteral("TOP=%1").arg((fsw >> 11) & 7)};
    for (const NamedBit& flag : {NamedBit{8, "C0"}, NamedBit{9, "C1"}, NamedBit{10, "C2"},
                                 NamedBit{14, "C3"}, NamedBit{6, "SF"}, NamedBit{7, "ES"}})
        if (fsw & (1u << flag.bit))
            list << QString::fromLatin1(flag.name);
    return joined({list.join(QLatin1Char(' ')), names(fsw, 0, kExceptionNames)});
}

QString decodeAbridgedTag(uint8_t ftw) {
    QStringList list;
    for (unsigned i = 0; i < 8; ++i)
        if (ftw & (1u << i))
            list << QStringLiteral("R%1").arg(i);
    return list.isEmpty() ? QStringLiteral("empty") : list.join(QLatin1Char(' '));
}

QString decodeMxcsr(uint32_t mxcsr) {
    const QString masks = names(mxcsr, 7, kMaskNames);
    QStringList extra;
    if (mxcsr & (1u << 6))
        extra << QStringLiteral("DAZ");
    if (mxcsr & (1u << 15))
        extra << QStringLiteral("FZ");
    return joined({masks.isEmpty() ? QString() : QStringLiteral("masks=") + masks,
                   QStringLiteral("RC=") + QString::fromLatin1(kRounding[(mxcsr >> 13) & 3]),
                   extra.join(QLatin1Char(' ')), names(mxcsr, 0, kExceptionNames)});
}

QString formatLittleEndianHex(const uint8_t* bytes, size_t size) {
    QString text = QStringLiteral("0x");
    for (size_t i = size; i-- > 0;)
        text += QStringLiteral("%1").arg(bytes[i], 2, 16, QLatin1Char('0'));
    return text;
}

QString decodeX87(const uint8_t (&fpr)[16]) {
    // SDM vol. 1, 4.2.2 table 4-3: 64-bit significand with explicit integer bit, 15-bit
    // exponent biased by 16383, sign in bit 79. Computed by hand so that it does not depend on
    // the compiler's long double.
    uint64_t significand = 0;
    std::memcpy(&significand, fpr, sizeof significand);
    const unsigned exponentAndSign = unsigned(fpr[8]) | (unsigned(fpr[9]) << 8);
    const bool negative = exponentAndSign & 0x8000;
    const int exponent = int(exponentAndSign & 0x7fff);
    if (exponent == 0x7fff)
        return (significand << 1) == 0 ? (negative ? QStringLiteral("-inf") : QStringLiteral("inf"))
                                       : QStringLiteral("nan");
    if (exponent == 0 && significand == 0)
        return negative ? QStringLiteral("-0") : QStringLiteral("0");
    const double value =
        std::ldexp(static_cast<double>(significand), (exponent == 0 ? 1 : exponent) - 16383 - 63);
    return QString::number(negative ? -value : value, 'g', 17);
}

} // namespace kvmscope::ui
