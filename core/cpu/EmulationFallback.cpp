#include "cpu/EmulationFallback.h"

namespace kvmscope::cpu {
namespace {

constexpr uint8_t kInt3Opcode = 0xCC;
constexpr uint8_t kFwaitOpcode = 0x9B;
constexpr uint8_t kBreakpointVector = 3;         // #BP
constexpr uint8_t kDeviceNotAvailableVector = 7; // #NM
constexpr uint8_t kFpuErrorVector = 16;          // #MF

} // namespace

FallbackAction decideFallback(std::span<const uint8_t> instruction, uint64_t cr0,
                              uint16_t fpuStatus) {
    if (instruction.empty())
        return {};
    switch (instruction.front()) {
    case kInt3Opcode:
        return {FallbackAction::Kind::SkipAndRaise, 1, kBreakpointVector, "int3"};
    case kFwaitOpcode:
        if ((cr0 & kCr0MonitorCoprocessor) && (cr0 & kCr0TaskSwitched))
            return {FallbackAction::Kind::Raise, 1, kDeviceNotAvailableVector, "fwait"};
        if (fpuStatus & kFpuStatusErrorSummary)
            return {FallbackAction::Kind::Raise, 1, kFpuErrorVector, "fwait"};
        return {FallbackAction::Kind::Skip, 1, 0, "fwait"};
    default:
        return {};
    }
}

} // namespace kvmscope::cpu
