#include "debugger/CallStackModel.h"

#include <QFont>
#include <cstring>
#include <set>

namespace kvmscope::ui {
namespace {

constexpr uint8_t kPushRbp = 0x55;                   // push rbp / push ebp
constexpr uint8_t kMovRbpRsp[] = {0x48, 0x89, 0xE5}; // mov rbp, rsp (REX.W 89 /r)
constexpr uint8_t kMovEbpEsp[] = {0x89, 0xE5};       // mov ebp, esp
constexpr uint8_t kRet = 0xC3;

// SDM vol. 1, 3.3.7.1: a 64-bit linear address is canonical when bits 63:47 are all equal
// (4-level paging; with 5-level paging bits 63:56 — the looser test is used for both).
bool canonical(uint64_t address) {
    const auto high = static_cast<int64_t>(address) >> 47;
    return high == 0 || high == -1 || (static_cast<int64_t>(address) >> 56) == 0 ||
           (static_cast<int64_t>(address) >> 56) == -1;
}

} // namespace

CallStackModel::CallStackModel(QObject* parent) : QAbstractTableModel(parent) {}

void CallStackModel::clear() {
    beginResetModel();
    frames_.clear();
    endResetModel();
    stopReason_.clear();
    Q_EMIT stopReasonChanged(stopReason_);
}

void CallStackModel::setStale() {
    if (!frames_.empty())
        stopReason_ = tr("running: the stack of the last stop");
    Q_EMIT stopReasonChanged(stopReason_);
}

void CallStackModel::setSnapshot(const inspect::VcpuSnapshot& snapshot,
                                 const inspect::GuestView& guest) {
    const kvm_regs& regs = snapshot.cpu.regs;
    const debug::CodeMode mode = snapshot.codeMode();
    const bool wide = mode == debug::CodeMode::Long64;
    const unsigned word = wide ? 8 : 4;
    auto readWord = [&](uint64_t linear, uint64_t& value) {
        value = 0;
        return guest.readLinear(snapshot, linear, &value, word) == word; // little-endian
    };
    const debug::SymbolTable& symbols = guest.symbols();
    auto frameAt = [&](uint64_t pc, uint64_t framePointer) {
        return Frame{pc, framePointer, QString::fromStdString(symbols.describe(pc))};
    };

    std::vector<Frame> frames;
    QString reason;
    const uint64_t pc = snapshot.pc;
    uint64_t fp = wide ? regs.rbp : regs.rbp & 0xFFFFFFFFu;
    const uint64_t sp =
        (wide ? regs.rsp : regs.rsp & 0xFFFFFFFFu) + (wide ? 0 : snapshot.cpu.sregs.ss.base);
    frames.push_back(frameAt(pc, fp));
    if (mode == debug::CodeMode::Real16 || mode == debug::CodeMode::Protected16) {
        reason = tr("16-bit code: no frame-pointer walk");
    } else {
        // Stopped at a function's first instructions (a breakpoint on a function is the common
        // case) or at its ret, the frame is not (or no longer) set up: the return address is on
        // top of the stack and rbp is still the caller's.
        uint8_t code[3] = {};
        const size_t got = guest.readLinear(snapshot, pc, code, sizeof code);
        const uint8_t* movFp = wide ? kMovRbpRsp : kMovEbpEsp;
        const size_t movLength = wide ? sizeof kMovRbpRsp : sizeof kMovEbpEsp;
        std::optional<uint64_t> returnSlot;
        const debug::Symbol* function = symbols.containing(pc);
        const bool atEntry = function && function->function && function->address == pc;
        if (atEntry || (got >= 1 && (code[0] == kPushRbp || code[0] == kRet)))
            returnSlot = sp;
        else if (got >= movLength && std::memcmp(code, movFp, movLength) == 0)
            returnSlot = sp + word; // after push rbp
        if (returnSlot) {
            uint64_t returnAddress = 0;
            if (readWord(*returnSlot, returnAddress) && returnAddress != 0)
                frames.push_back(frameAt(returnAddress, fp));
        }
        std::set<uint64_t> seen;
        for (;;) {
            if (static_cast<int>(frames.size()) >= kMaxFrames) {
                reason = tr("stopped after %1 frames").arg(kMaxFrames);
                break;
            }
            if (fp == 0) {
                reason = tr("end of the chain (frame pointer 0)");
                break;
            }
            if (fp % word != 0 || (wide && !canonical(fp))) {
                reason = tr("frame pointer 0x%1 is no stack address").arg(fp, 0, 16);
                break;
            }
            if (!seen.insert(fp).second) {
                reason = tr("frame pointer 0x%1 loops").arg(fp, 0, 16);
                break;
            }
            uint64_t callerFp = 0;
            uint64_t returnAddress = 0;
            if (!readWord(fp, callerFp) || !readWord(fp + word, returnAddress)) {
                reason = tr("frame pointer 0x%1 is not mapped").arg(fp, 0, 16);
                break;
            }
            if (returnAddress == 0) {
                reason = tr("end of the chain (return address 0)");
                break;
            }
            frames.push_back(frameAt(returnAddress, fp));
            // The stack grows down: a caller's frame lies above its callee's.
            if (callerFp != 0 && callerFp <= fp) {
                reason = tr("frame pointer 0x%1 does not move up the stack").arg(callerFp, 0, 16);
                break;
            }
            fp = callerFp;
        }
    }
    beginResetModel();
    frames_ = std::move(frames);
    endResetModel();
    stopReason_ = reason;
    Q_EMIT stopReasonChanged(stopReason_);
}

int CallStackModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(frames_.size());
}

int CallStackModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant CallStackModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= static_cast<int>(frames_.size()))
        return {};
    const Frame& frame = frames_[static_cast<size_t>(index.row())];
    if (role == Qt::FontRole && index.column() != FunctionColumn) {
        QFont font(QStringLiteral("monospace"));
        font.setStyleHint(QFont::Monospace);
        return font;
    }
    if (role != Qt::DisplayRole)
        return {};
    switch (index.column()) {
    case FrameColumn:
        return index.row();
    case AddressColumn:
        return QStringLiteral("0x%1").arg(frame.pc, 0, 16);
    case FunctionColumn:
        return frame.function.isEmpty() ? tr("?") : frame.function;
    case FramePointerColumn:
        return QStringLiteral("0x%1").arg(frame.framePointer, 0, 16);
    default:
        return {};
    }
}

QVariant CallStackModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case FrameColumn:
        return tr("#");
    case AddressColumn:
        return tr("Address");
    case FunctionColumn:
        return tr("Function");
    case FramePointerColumn:
        return tr("Frame pointer");
    default:
        return {};
    }
}

} // namespace kvmscope::ui
