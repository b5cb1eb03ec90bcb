#include "registers/RegisterDecoding.h"

#include <QStringList>
#include <iterator>

namespace kvmscope::ui {
namespace {

struct NamedBit {
    unsigned bit;
    const char* name;
};

QString setBits(uint64_t value, const NamedBit* first, const NamedBit* last) {
    QStringList names;
    for (const NamedBit* flag = first; flag != last; ++flag)
        if (value & (uint64_t(1) << flag->bit))
            names << QString::fromLatin1(flag->name);
    return names.join(QLatin1Char(' '));
}

// SDM vol. 1, 3.4.3 "EFLAGS Register".
constexpr NamedBit kRflagsBits[] = {
    {0, "CF"},  {2, "PF"},   {4, "AF"},   {6, "ZF"},  {7, "SF"},  {8, "TF"},
    {9, "IF"},  {10, "DF"},  {11, "OF"},  {14, "NT"}, {16, "RF"}, {17, "VM"},
    {18, "AC"}, {19, "VIF"}, {20, "VIP"}, {21, "ID"},
};
constexpr unsigned kIoplShift = 12;
constexpr uint64_t kIoplMask = 3;

// SDM vol. 3A, 2.5 "Control Registers".
constexpr NamedBit kCr0Bits[] = {
    {0, "PE"},  {1, "MP"},  {2, "EM"},  {3, "TS"},  {4, "ET"},  {5, "NE"},
    {16, "WP"}, {18, "AM"}, {29, "NW"}, {30, "CD"}, {31, "PG"},
};
constexpr NamedBit kCr4Bits[] = {
    {0, "VME"},   {1, "PVI"},   {2, "TSD"},   {3, "DE"},        {4, "PSE"},         {5, "PAE"},
    {6, "MCE"},   {7, "PGE"},   {8, "PCE"},   {9, "OSFXSR"},    {10, "OSXMMEXCPT"}, {11, "UMIP"},
    {12, "LA57"}, {13, "VMXE"}, {14, "SMXE"}, {16, "FSGSBASE"}, {17, "PCIDE"},      {18, "OSXSAVE"},
    {20, "SMEP"}, {21, "SMAP"}, {22, "PKE"},  {23, "CET"},      {24, "PKS"},
};
// SDM vol. 3A, 2.2.1 "Extended Feature Enable Register" (and AMD APM vol. 2 for SVME..TCE).
constexpr NamedBit kEferBits[] = {
    {0, "SCE"},   {8, "LME"},    {10, "LMA"},   {11, "NXE"},
    {12, "SVME"}, {13, "LMSLE"}, {14, "FFXSR"}, {15, "TCE"},
};

// SDM vol. 3A, 3.4.5.1 "Code- and Data-Segment Descriptor Types" (S = 1).
QString segmentTypeText(const kvm_segment& segment) {
    if (!segment.s)
        return QStringLiteral("system");
    QStringList parts;
    const bool code = segment.type & 0x8;
    parts << (code ? QStringLiteral("code") : QStringLiteral("data"));
    if (code) {
        if (segment.type & 0x2)
            parts << QStringLiteral("read");
        if (segment.type & 0x4)
            parts << QStringLiteral("conforming");
    } else {
        if (segment.type & 0x2)
            parts << QStringLiteral("write");
        if (segment.type & 0x4)
            parts << QStringLiteral("expand-down");
    }
    if (segment.type & 0x1)
        parts << QStringLiteral("accessed");
    return parts.join(QLatin1Char(','));
}

} // namespace

QString decodeRflags(uint64_t rflags) {
    QString text = setBits(rflags, std::begin(kRflagsBits), std::end(kRflagsBits));
    const uint64_t iopl = (rflags >> kIoplShift) & kIoplMask;
    if (!text.isEmpty())
        text += QLatin1Char(' ');
    return text + QStringLiteral("IOPL=%1").arg(iopl);
}

QString decodeCr0(uint64_t cr0) {
    return setBits(cr0, std::begin(kCr0Bits), std::end(kCr0Bits));
}

QString decodeCr4(uint64_t cr4) {
    return setBits(cr4, std::begin(kCr4Bits), std::end(kCr4Bits));
}

QString decodeEfer(uint64_t efer) {
    return setBits(efer, std::begin(kEferBits), std::end(kEferBits));
}

QString decodeSegment(const kvm_segment& segment) {
    if (segment.unusable)
        return QStringLiteral("unusable");
    QString text = QStringLiteral("base=0x%1 limit=0x%2 type=0x%3 %4 dpl=%5")
                       .arg(segment.base, 0, 16)
                       .arg(segment.limit, 0, 16)
                       .arg(segment.type, 0, 16)
                       .arg(segmentTypeText(segment))
                       .arg(segment.dpl);
    if (segment.present)
        text += QStringLiteral(" P");
    if (segment.db)
        text += QStringLiteral(" DB");
    if (segment.l)
        text += QStringLiteral(" L");
    if (segment.g)
        text += QStringLiteral(" G");
    if (segment.avl)
        text += QStringLiteral(" AVL");
    return text;
}

bool parseRegisterValue(const QString& input, uint64_t& value) {
    QString text = input.trimmed();
    text.remove(QLatin1Char('_'));
    int base = 16;
    if (text.startsWith(QLatin1Char('#'))) {
        base = 10;
        text = text.mid(1);
    } else if (text.startsWith(QLatin1String("0x"), Qt::CaseInsensitive)) {
        text = text.mid(2);
    }
    if (text.isEmpty())
        return false;
    bool ok = false;
    const qulonglong parsed = text.toULongLong(&ok, base);
    if (ok)
        value = parsed;
    return ok;
}

QString formatRegister64(uint64_t value) {
    return QStringLiteral("0x%1").arg(value, 16, 16, QLatin1Char('0'));
}

} // namespace kvmscope::ui
