#pragma once
// Shared by the GUI tests: the bundled guests' location and the /dev/kvm requirement. Tests that
// boot a guest call KVMSCOPE_GUI_REQUIRE_KVM() from initTestCase(); ctest turns the resulting
// "SKIP ... initTestCase() needs /dev/kvm" into "Skipped" (tests/gui/CMakeLists.txt).
#include "kvm/System.h"

#include <QString>
#include <QTest>

namespace kvmscope::testing {

inline QString kvmUnavailable() {
    std::string why;
    return kvm::System::available(&why) ? QString() : QString::fromStdString(why);
}

#define KVMSCOPE_GUI_REQUIRE_KVM()                                                                 \
    do {                                                                                           \
        const QString reason = ::kvmscope::testing::kvmUnavailable();                              \
        if (!reason.isEmpty())                                                                     \
            QSKIP(qPrintable("needs /dev/kvm: " + reason));                                        \
    } while (false)

inline std::string guestImage(const char* name) {
    return std::string(KVMSCOPE_GUESTS_DIR "/") + name;
}

// A small machine booting the bundled guest `name`.
#define KVMSCOPE_GUI_GUEST_CONFIG(config, guest)                                                   \
    ::kvmscope::MachineConfig config;                                                              \
    config.name = guest;                                                                           \
    config.memorySize = 32ull << 20;                                                               \
    config.boot.imagePath = ::kvmscope::testing::guestImage(guest)

constexpr int kGuestTimeoutMs = 20000;

} // namespace kvmscope::testing
