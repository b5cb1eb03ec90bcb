#include "debugger/GoToExpression.h"

#include "common/Error.h"
#include "debug/SymbolTable.h"

namespace kvmscope::ui {
namespace {

bool identifierStart(QChar c) {
    return c.isLetter() || c == QLatin1Char('_') || c == QLatin1Char('.') || c == QLatin1Char('$');
}

bool identifierPart(QChar c) {
    return identifierStart(c) || c.isDigit();
}

class Parser {
public:
    Parser(const QString& text, const RegisterLookup& registers, const debug::SymbolTable* symbols)
        : text_(text), registers_(registers), symbols_(symbols) {}

    uint64_t parse() {
        skipSpace();
        if (atEnd())
            throw InputError("go to: empty address");
        // expression := ['-'] term (('+' | '-') term)*, with wrap-around as in the guest's ALU.
        uint64_t value = 0;
        bool negate = false;
        if (peek() == QLatin1Char('-')) {
            negate = true;
            ++position_;
        }
        value = term();
        if (negate)
            value = 0 - value;
        for (skipSpace(); !atEnd(); skipSpace()) {
            const QChar op = peek();
            if (op != QLatin1Char('+') && op != QLatin1Char('-'))
                throw InputError(QStringLiteral("go to '%1': expected + or - at '%2'")
                                     .arg(text_, text_.mid(position_))
                                     .toStdString());
            ++position_;
            const uint64_t operand = term();
            value = op == QLatin1Char('+') ? value + operand : value - operand;
        }
        return value;
    }

private:
    bool atEnd() const { return position_ >= text_.size(); }
    QChar peek() const { return text_.at(position_); }
    void skipSpace() {
        while (!atEnd() && peek().isSpace())
            ++position_;
    }

    uint64_t term() {
        skipSpace();
        if (atEnd())
            throw InputError(
                QStringLiteral("go to '%1': a number, register or symbol is missing at the end")
                    .arg(text_)
                    .toStdString());
        if (peek().isDigit())
            return number();
        if (identifierStart(peek()))
            return name();
        throw InputError(QStringLiteral("go to '%1': unexpected '%2'")
                             .arg(text_, QString(peek()))
                             .toStdString());
    }

    uint64_t number() {
        const qsizetype start = position_;
        while (!atEnd() && (peek().isLetterOrNumber()))
            ++position_;
        const QString word = text_.mid(start, position_ - start);
        bool ok = false;
        // 0x... is hexadecimal, anything else decimal (as gdb reads it).
        const uint64_t value = word.startsWith(QLatin1String("0x"), Qt::CaseInsensitive)
                                   ? word.mid(2).toULongLong(&ok, 16)
                                   : word.toULongLong(&ok, 10);
        if (!ok)
            throw InputError(QStringLiteral("go to '%1': '%2' is not a number (hexadecimal "
                                            "needs 0x)")
                                 .arg(text_, word)
                                 .toStdString());
        return value;
    }

    uint64_t name() {
        const qsizetype start = position_;
        while (!atEnd() && identifierPart(peek()))
            ++position_;
        const QString word = text_.mid(start, position_ - start);
        QString registerName = word.toLower();
        if (registerName.startsWith(QLatin1Char('$')))
            registerName.remove(0, 1);
        if (registers_)
            if (const auto value = registers_(registerName))
                return *value;
        if (symbols_)
            if (const auto address = symbols_->addressOf(word.toStdString()))
                return *address;
        throw InputError(QStringLiteral("go to '%1': '%2' is no register and no symbol%3")
                             .arg(text_, word,
                                  symbols_ && !symbols_->empty()
                                      ? QString()
                                      : QStringLiteral(" (no symbols loaded: give --symbols FILE)"))
                             .toStdString());
    }

    const QString& text_;
    const RegisterLookup& registers_;
    const debug::SymbolTable* symbols_;
    qsizetype position_ = 0;
};

} // namespace

uint64_t evaluateGoTo(const QString& text, const RegisterLookup& registers,
                      const debug::SymbolTable* symbols) {
    const QString trimmed = text.trimmed();
    return Parser(trimmed, registers, symbols).parse();
}

} // namespace kvmscope::ui
