// Every device kvmscope emulates gives back its whole state: a device driven into a state by the
// guest's own port accesses is saved, a fresh device of the same kind restores it, and the copy
// then saves the same state and answers the guest the same way. What snapshots rely on.
#include "DeviceTestSupport.h"
#include "devices/AcpiPmControl.h"
#include "devices/BochsDispi.h"
#include "devices/CmosRtc.h"
#include "devices/DebugExitPort.h"
#include "devices/Framebuffer.h"
#include "devices/I8042Controller.h"
#include "devices/PostCodePort.h"
#include "devices/ResetControlPort.h"
#include "devices/Uart16550.h"
#include "devices/VgaText.h"

#include <QTest>
#include <functional>
#include <memory>

using namespace kvmscope;
using kvmscope::testing::CollectingSerialSink;
using kvmscope::testing::inb;
using kvmscope::testing::outb;
using kvmscope::testing::outw;
using kvmscope::testing::RecordingIrqLine;

namespace {

constexpr std::time_t kFixedTime = 1'700'000'000;

// Both states hold the same fields with the same values, in the same order.
void compareStates(const SavedDeviceState& a, const SavedDeviceState& b) {
    QCOMPARE(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
        QCOMPARE(a[i].group, b[i].group);
        QCOMPARE(a[i].name, b[i].name);
        QCOMPARE(a[i].type, b[i].type);
        QVERIFY2(a[i].scalar == b[i].scalar, (a[i].group + "/" + a[i].name).c_str());
        QVERIFY2(a[i].bytes == b[i].bytes, (a[i].group + "/" + a[i].name).c_str());
    }
}

// Every shown attribute reads the same on both.
void compareAttributes(const Device& a, const Device& b) {
    const auto list = a.attributes();
    QCOMPARE(list.size(), b.attributes().size());
    for (const AttributeInfo& info : list) {
        if (!canRead(info.access))
            continue;
        const AttrValue left = a.getAttr(info.group, info.attr);
        const AttrValue right = b.getAttr(info.group, info.attr);
        QVERIFY2(left.scalar == right.scalar && left.bytes == right.bytes, info.name.c_str());
    }
}

// Saves `original`, restores into `copy`, and checks the two agree.
void roundTrip(EmulatedDevice& original, EmulatedDevice& copy) {
    const SavedDeviceState state = original.saveState();
    QVERIFY(!state.empty());
    copy.restoreState(state);
    compareStates(state, copy.saveState());
    compareAttributes(original, copy);
}

} // namespace

class DeviceStateRoundTripTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void uartWithBytesWaiting() {
        RecordingIrqLine irq, copyIrq;
        CollectingSerialSink sink, copySink;
        Uart16550 uart(irq, sink), copy(copyIrq, copySink);
        outb(uart, 3, 0x83); // DLAB, 8 bits
        outb(uart, 0, 12);   // 9600 baud
        outb(uart, 3, 0x03);
        outb(uart, 4, 0x0b); // DTR, RTS, OUT2
        outb(uart, 1, 0x01); // received-data interrupt
        outb(uart, 7, 0x5a);
        outb(uart, 0, 'k');
        const uint8_t input[] = {'a', 'b', 'c'};
        uart.receive(input);
        QVERIFY(irq.level());
        roundTrip(uart, copy);
        QVERIFY(copyIrq.level()); // the line is driven to the restored level
        for (char expected : {'a', 'b', 'c'})
            QCOMPARE(inb(copy, 0), uint8_t(expected));
        QCOMPARE(inb(copy, 7), uint8_t(0x5a));
    }

    void cmosWithAnIndexAndRam() {
        auto clock = [] { return std::chrono::seconds(kFixedTime); };
        CmosRtc rtc(64ull << 20, clock), copy(128ull << 20, clock);
        outb(rtc, 0, 0x40);
        outb(rtc, 1, 0x99); // a RAM byte
        outb(rtc, 0, 0x8b); // register B, NMI disabled
        outb(rtc, 1, 0x06); // binary, 24-hour
        roundTrip(rtc, copy);
        outb(copy, 0, 0x40);
        QCOMPARE(inb(copy, 1), uint8_t(0x99));
        outb(copy, 0, 0x34); // memory above 16 MiB: the saved machine's size, not the new one's
        outb(rtc, 0, 0x34);
        QCOMPARE(inb(copy, 1), inb(rtc, 1));
    }

    void smallPorts() {
        PostCodePort post, postCopy;
        outb(post, 0, 0x42);
        roundTrip(post, postCopy);

        DebugExitPort debugExit([](uint32_t) {}), debugExitCopy([](uint32_t) {});
        outb(debugExit, 0, 0x31);
        roundTrip(debugExit, debugExitCopy);

        ResetControlPort reset([] {}), resetCopy([] {});
        outb(reset, 0, 0x0a);
        roundTrip(reset, resetCopy);
        QCOMPARE(inb(resetCopy, 0), uint8_t(0x0a));

        AcpiPmControl pm([] {}), pmCopy([] {});
        outw(pm, AcpiPmControl::kEnableOffset, 0x0100);
        roundTrip(pm, pmCopy);
        QCOMPARE(inb(pmCopy, AcpiPmControl::kEnableOffset + 1), uint8_t(0x01));
    }

    void keyboardControllerWithQueuedBytes() {
        RecordingIrqLine keyboard, mouse, keyboardCopy, mouseCopy;
        I8042Controller i8042(keyboard, mouse, [] {}), copy(keyboardCopy, mouseCopy, [] {});
        outb(i8042, 4, 0xa8);                      // enable the mouse interface
        outb(i8042, 4, 0xd4);                      // next byte to the mouse
        outb(i8042, 0, 0xf4);                      // enable reporting: the mouse acknowledges
        (void)inb(i8042, 0);                       // read the acknowledgement
        const uint8_t keys[] = {0x1c, 0xf0, 0x1c}; // 'A' pressed and released, set 2
        i8042.keyboardInput(keys);
        roundTrip(i8042, copy);
        QCOMPARE(keyboardCopy.level(), keyboard.level());
        // The copy hands the guest the same bytes, translated to set 1 as the original would.
        for (int i = 0; i < 2; ++i)
            QCOMPARE(inb(copy, 0), inb(i8042, 0));
    }

    void vgaTextAndDisplay() {
        VgaText vga, vgaCopy;
        outb(vga, 0, 0x0e);
        outb(vga, 1, 0x01);
        outb(vga, 0, 0x0f);
        outb(vga, 1, 0x50);
        roundTrip(vga, vgaCopy);
        QCOMPARE(vgaCopy.state().cursorLocation, uint16_t(0x150));

        Framebuffer framebuffer(Framebuffer::kDefaultMemorySize);
        Framebuffer framebufferCopy(Framebuffer::kDefaultMemorySize);
        BochsDispi dispi(framebuffer, 640, 480, 32), dispiCopy(framebufferCopy, 640, 480, 32);
        dispi.setMode(800, 600, 16);
        roundTrip(dispi, dispiCopy);
        roundTrip(framebuffer, framebufferCopy);
        QCOMPARE(framebufferCopy.scanout().width, uint32_t(800));
        QCOMPARE(framebufferCopy.scanout().bitsPerPixel, uint32_t(16));
    }
};

QTEST_APPLESS_MAIN(DeviceStateRoundTripTest)
#include "DeviceStateRoundTripTest.moc"
