// The 16550A as a guest driver sees it: register values and interrupt behaviour from the
// PC16550D datasheet, checked through the same read()/write() entry points a vcpu uses.
#include "devices/Uart16550.h"

#include "DeviceTestSupport.h"

#include <QTest>
#include <atomic>
#include <cstring>
#include <thread>

using kvmscope::attrId;
using kvmscope::AttrValue;
using kvmscope::Uart16550;
using kvmscope::testing::CollectingSerialSink;
using kvmscope::testing::inb;
using kvmscope::testing::inw;
using kvmscope::testing::outb;
using kvmscope::testing::outl;
using kvmscope::testing::RecordingIrqLine;

namespace {

// Offsets and bits written out here rather than taken from the device, so that a wrong constant
// in the device shows up as a failure.
constexpr uint64_t RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4,
                   LSR = 5, MSR = 6, SCR = 7;
constexpr uint8_t IER_RDA = 0x01, IER_THRE = 0x02, IER_RLS = 0x04, IER_MSI = 0x08;
constexpr uint8_t IIR_NONE = 0x01, IIR_RLS = 0x06, IIR_RDA = 0x04, IIR_TIMEOUT = 0x0c,
                  IIR_THRE = 0x02, IIR_MSI = 0x00, IIR_FIFO = 0xc0;
constexpr uint8_t FCR_ENABLE = 0x01, FCR_CLEAR_RX = 0x02, FCR_TRIGGER_1 = 0x00,
                  FCR_TRIGGER_8 = 0x80;
constexpr uint8_t LCR_DLAB = 0x80, LCR_8N1 = 0x03;
constexpr uint8_t MCR_DTR = 0x01, MCR_RTS = 0x02, MCR_OUT1 = 0x04, MCR_OUT2 = 0x08, MCR_LOOP = 0x10;
constexpr uint8_t LSR_DR = 0x01, LSR_OE = 0x02, LSR_THRE = 0x20, LSR_TEMT = 0x40;
constexpr uint8_t MSR_DCTS = 0x01, MSR_DDSR = 0x02, MSR_TERI = 0x04, MSR_DDCD = 0x08,
                  MSR_CTS = 0x10, MSR_DSR = 0x20, MSR_RI = 0x40, MSR_DCD = 0x80;

std::vector<uint8_t> bytesOf(const char* text) {
    return std::vector<uint8_t>(text, text + std::strlen(text));
}

uint64_t statistic(const Uart16550& uart, uint64_t attr) {
    return uart.getAttr(Uart16550::kStatisticsGroup, attr).scalar;
}

} // namespace

class Uart16550Test : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void resetValuesMatchTheDatasheet() {
        RecordingIrqLine irq;
        CollectingSerialSink sink;
        Uart16550 uart(irq, sink);
        QCOMPARE(inb(uart, IER), uint8_t(0));
        QCOMPARE(inb(uart, IIR), IIR_NONE);
        QCOMPARE(inb(uart, LCR), uint8_t(0));
        QCOMPARE(inb(uart, MCR), uint8_t(0));
        QCOMPARE(inb(uart, LSR), uint8_t(LSR_THRE | LSR_TEMT));
        // Outside loopback the virtual modem asserts CTS, DSR and DCD, not RI.
        QCOMPARE(inb(uart, MSR), uint8_t(MSR_CTS | MSR_DSR | MSR_DCD));
        QVERIFY(!irq.level());
    }

    void thrWritesReachTheSink() {
        RecordingIrqLine irq;
        CollectingSerialSink sink;
        Uart16550 uart(irq, sink);
        outb(uart, LCR, LCR_8N1);
        for (char c : std::string("hello\r\n"))
            outb(uart, THR, static_cast<uint8_t>(c));
        QCOMPARE(sink.text(), std::string("hello\r\n"));
        QCOMPARE(statistic(uart, attrId("bytes transmitted")), uint64_t(7));
        QCOMPARE(uart.getAttr(Uart16550::kRegistersGroup, attrId("THR")).scalar, uint64_t('\n'));
        // THR never fills: the guest's polling loop (console.c) always sees THRE.
        QVERIFY(inb(uart, LSR) & LSR_THRE);
    }

    void wideAccessActsOnTheFirstByte() {
        RecordingIrqLine irq;
        CollectingSerialSink sink;
        Uart16550 uart(irq, sink);
        outl(uart, THR, 0x44434241); // "ABCD" as one dword: only 'A' is a THR write
        QCOMPARE(sink.text(), std::string("A"));
        QCOMPARE(inw(uart, LSR), uint16_t(LSR_THRE | LSR_TEMT)); // zero-extended
        // An access that runs past the last register stays inside the device.
        outl(uart, SCR, 0x11223344);
        QCOMPARE(inb(uart, SCR), uint8_t(0x44));
    }

    void dlabSwitchesOffsetsZeroAndOneToTheDivisorLatch() {
        RecordingIrqLine irq;
        CollectingSerialSink sink;
        Uart16550 uart(irq, sink);
        outb(uart, LCR, LCR_DLAB | LCR_8N1);
        outb(uart, DLL, 0x0c); // 9600 baud
        outb(uart, DLM, 0x00);
        QCOMPARE(inb(uart, DLL), uint8_t(0x0c));
        QCOMPARE(inb(uart, DLM), uint8_t(0x00));
        QVERIFY(sink.text().empty()); // a DLL write is not a transmission
        QCOMPARE(statistic(uart, attrId("baud rate")), uint64_t(9600));

        outb(uart, LCR, LCR_8N1);
        outb(uart, IER, IER_RDA);
        QCOMPARE(inb(uart, IER), IER_RDA);
        outb(uart, THR, 'x');
        QCOMPARE(sink.text(), std::string("x"));
        // The latch kept its value behind IER and THR.
        outb(uart, LCR, LCR_DLAB);
        QCOMPARE(inb(uart, DLL), uint8_t(0x0c));
        QCOMPARE(inb(uart, DLM), uint8_t(0x00));
        QCOMPARE(uart.getAttr(Uart16550::kRegistersGroup, attrId("IER")).scalar, uint64_t(IER_RDA));
    }

    void dataReadyUntilEveryByteIsRead() {
        RecordingIrqLine irq;
        CollectingSerialSink sink;
        Uart16550 uart(irq, sink);
        QVERIFY(!(inb(uart, LSR) & LSR_DR));
        uart.receive(bytesOf("ab"));
        QVERIFY(inb(uart, LSR) & LSR_DR);
        QCOMPARE(inb(uart, RBR), uint8_t('a'));
        QVERIFY(inb(uart, LSR) & LSR_DR);
        QCOMPARE(inb(uart, RBR), uint8_t('b'));
        QVERIFY(!(inb(uart, LSR) & LSR_DR));
        QCOMPARE(inb(uart, RBR), uint8_t('b')); // an empty receiver returns its last byte
        QCOMPARE(statistic(uart, attrId("bytes received")), uint64_t(2));
    }

    void fifoControlShowsInIirAndClearsTheReceiver() {
        RecordingIrqLine irq;
        CollectingSerialSink sink;
        Uart16550 uart(irq, sink);
        outb(uart, FCR, FCR_ENABLE);
        QCOMPARE(inb(uart, IIR), uint8_t(IIR_FIFO | IIR_NONE));
        uart.receive(bytesOf("0123456789abcdef")); // exactly one FIFO's worth
        QCOMPARE(inb(uart, LSR), uint8_t(LSR_DR | LSR_THRE | LSR_TEMT));
        outb(uart, FCR, FCR_ENABLE | FCR_CLEAR_RX);
        QVERIFY(!(inb(uart, LSR) & LSR_DR));
        // FCR1 clears itself; the enable stays.
        QCOMPARE(uart.getAttr(Uart16550::kRegistersGroup, attrId("FCR")).scalar,
                 uint64_t(FCR_ENABLE));
        // Turning the FIFOs off clears them too, and IIR loses bits 7-6.
        uart.receive(bytesOf("z"));
        outb(uart, FCR, 0);
        QVERIFY(!(inb(uart, LSR) & LSR_DR));
        QCOMPARE(inb(uart, IIR), IIR_NONE);
    }

    void fullReceiverSetsOverrunAndKeepsQueuedBytes() {
        RecordingIrqLine irq;
        CollectingSerialSink sink;
        Uart16550 uart(irq, sink);
        outb(uart, FCR, FCR_ENABLE);
        std::vector<uint8_t> data(Uart16550::kReceiveQueueCapacity);
        for (size_t i = 0; i < data.size(); ++i)
            data[i] = static_cast<uint8_t>(i * 7);
        // The first 16 bytes fill the FIFO; the rest wait behind it, still without an overrun.
        uart.receive(std::span(data).first(Uart16550::kFifoSize));
        QVERIFY(!(inb(uart, LSR) & LSR_OE));
        uart.receive(std::span(data).subspan(Uart16550::kFifoSize));
        QVERIFY(!(inb(uart, LSR) & LSR_OE));
        QCOMPARE(statistic(uart, attrId("overruns")), uint64_t(0));

        const uint8_t extra[2] = {0xee, 0xef};
        uart.receive(extra);
        QCOMPARE(inb(uart, LSR), uint8_t(LSR_DR | LSR_OE | LSR_THRE | LSR_TEMT));
        QVERIFY(!(inb(uart, LSR) & LSR_OE)); // reading LSR cleared OE
        QCOMPARE(statistic(uart, attrId("overruns")), uint64_t(2));
        QCOMPARE(statistic(uart, attrId("receive queued")),
                 uint64_t(Uart16550::kReceiveQueueCapacity));
        for (size_t i = 0; i < data.size(); ++i)
            QCOMPARE(inb(uart, RBR), data[i]);
        QVERIFY(!(inb(uart, LSR) & LSR_DR)); // the dropped bytes never arrive
    }

    void interruptIdentificationFollowsThePriorities() {
        RecordingIrqLine irq;
        CollectingSerialSink sink;
        Uart16550 uart(irq, sink);
        outb(uart, MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
        outb(uart, IER, IER_RDA | IER_THRE | IER_RLS | IER_MSI);
        // Enabling ETBEI with THR empty raises THRE; reading IIR while it is shown clears it.
        QCOMPARE(inb(uart, IIR), IIR_THRE);
        QCOMPARE(inb(uart, IIR), IIR_NONE);

        uart.receive(bytesOf("x"));
        outb(uart, THR, 'y'); // THRE again, below received data in priority
        QCOMPARE(inb(uart, IIR), IIR_RDA);
        QCOMPARE(inb(uart, IIR), IIR_RDA); // reading IIR does not clear received data

        std::vector<uint8_t> flood(Uart16550::kReceiveQueueCapacity, 'f');
        uart.receive(flood); // overruns: the line status interrupt outranks everything
        QCOMPARE(inb(uart, IIR), IIR_RLS);
        QVERIFY(inb(uart, LSR) & LSR_OE);
        QCOMPARE(inb(uart, IIR), IIR_RDA);
        while (inb(uart, LSR) & LSR_DR)
            inb(uart, RBR);
        QCOMPARE(inb(uart, IIR), IIR_THRE); // still pending from the THR write
        QCOMPARE(inb(uart, IIR), IIR_NONE);

        // A modem input change (here by entering loopback) is the lowest priority.
        outb(uart, MCR, MCR_LOOP | MCR_OUT2);
        outb(uart, THR, 'z');
        QCOMPARE(inb(uart, IIR), IIR_RDA); // loopback fed the receiver
        inb(uart, RBR);
        QCOMPARE(inb(uart, IIR), IIR_THRE);
        QCOMPARE(inb(uart, IIR), IIR_MSI);
        QCOMPARE(inb(uart, IIR), IIR_MSI); // only an MSR read clears it
        inb(uart, MSR);
        QCOMPARE(inb(uart, IIR), IIR_NONE);
    }

    void receivedDataBelowTheTriggerLevelShowsAsCharacterTimeout() {
        RecordingIrqLine irq;
        CollectingSerialSink sink;
        Uart16550 uart(irq, sink);
        outb(uart, IER, IER_RDA);
        outb(uart, FCR, FCR_ENABLE | FCR_TRIGGER_8);
        uart.receive(bytesOf("abc"));
        QCOMPARE(inb(uart, IIR), uint8_t(IIR_FIFO | IIR_TIMEOUT));
        uart.receive(bytesOf("defgh"));
        QCOMPARE(inb(uart, IIR), uint8_t(IIR_FIFO | IIR_RDA));
        outb(uart, FCR, FCR_ENABLE | FCR_TRIGGER_1);
        QCOMPARE(inb(uart, IIR), uint8_t(IIR_FIFO | IIR_RDA));
    }

    void thrEmptyInterruptRaisesAndClearsAsTheDatasheetSays() {
        RecordingIrqLine irq;
        CollectingSerialSink sink;
        Uart16550 uart(irq, sink);
        outb(uart, MCR, MCR_OUT2);
        outb(uart, THR, 'a');
        QVERIFY(!irq.level()); // ETBEI off: no interrupt for an empty THR
        outb(uart, IER, IER_THRE);
        QVERIFY(irq.level());
        QCOMPARE(inb(uart, IIR), IIR_THRE);
        QVERIFY(!irq.level());
        // Each THR write clears THRE and the instant transmission sets it again: a new edge
        // for the edge-triggered 8259 even though the guest did not read IIR in between.
        outb(uart, THR, 'b');
        QVERIFY(irq.level());
        outb(uart, THR, 'c');
        QVERIFY(irq.level());
        QCOMPARE(irq.risingEdges(), 3);
        outb(uart, IER, 0);
        QVERIFY(!irq.level());
        QCOMPARE(statistic(uart, attrId("interrupts raised")), uint64_t(3));
        QCOMPARE(sink.text(), std::string("abc"));
    }

    void irqLineFollowsOut2() {
        RecordingIrqLine irq;
        CollectingSerialSink sink;
        Uart16550 uart(irq, sink);
        outb(uart, IER, IER_RDA);
        uart.receive(bytesOf("k"));
        QCOMPARE(inb(uart, IIR), IIR_RDA); // pending inside the UART...
        QVERIFY(!irq.level());             // ...but OUT2 keeps it off the ISA bus
        outb(uart, MCR, MCR_OUT2);
        QVERIFY(irq.level());
        outb(uart, MCR, 0);
        QVERIFY(!irq.level());
        outb(uart, MCR, MCR_OUT2);
        QVERIFY(irq.level());
        QCOMPARE(inb(uart, RBR), uint8_t('k'));
        QVERIFY(!irq.level());
        QCOMPARE(irq.levels(), (std::vector<bool>{true, false, true, false}));
    }

    void loopbackFeedsTheReceiverAndMirrorsModemControl() {
        RecordingIrqLine irq;
        CollectingSerialSink sink;
        Uart16550 uart(irq, sink);
        outb(uart, IER, IER_RDA);
        outb(uart, MCR, MCR_LOOP | MCR_OUT2);
        // Entering loopback drops CTS and DSR (RTS, DTR are off) and keeps DCD (OUT2 is on).
        QCOMPARE(inb(uart, MSR), uint8_t(MSR_DCD | MSR_DCTS | MSR_DDSR));
        outb(uart, THR, 'L');
        QVERIFY(sink.text().empty());
        QVERIFY(inb(uart, LSR) & LSR_DR);
        QVERIFY(!irq.level()); // loopback forces OUT2 inactive: no IRQ on the bus
        QCOMPARE(inb(uart, RBR), uint8_t('L'));

        outb(uart, MCR, MCR_LOOP | MCR_DTR | MCR_RTS);
        QCOMPARE(inb(uart, MSR), uint8_t(MSR_CTS | MSR_DSR | MSR_DCTS | MSR_DDSR | MSR_DDCD));
        outb(uart, MCR, MCR_LOOP | MCR_OUT1);
        QCOMPARE(inb(uart, MSR), uint8_t(MSR_RI | MSR_DCTS | MSR_DDSR));
        outb(uart, MCR, MCR_LOOP);
        QCOMPARE(inb(uart, MSR), MSR_TERI); // RI went from on to off
        // Linux's 8250 probe: MCR = LOOP | OUT2 | RTS must read back MSR 0x90 in bits 7-4.
        outb(uart, MCR, MCR_LOOP | MCR_OUT2 | MCR_RTS);
        QCOMPARE(uint8_t(inb(uart, MSR) & 0xf0), uint8_t(0x90));

        outb(uart, MCR, MCR_OUT2);
        QCOMPARE(uint8_t(inb(uart, MSR) & 0xf0), uint8_t(MSR_CTS | MSR_DSR | MSR_DCD));
        outb(uart, THR, 'o');
        QCOMPARE(sink.text(), std::string("o"));
        QVERIFY(!(inb(uart, LSR) & LSR_DR));
    }

    void writableAttributesActLikeGuestWrites() {
        RecordingIrqLine irq;
        CollectingSerialSink sink;
        Uart16550 uart(irq, sink);
        uart.setAttr(Uart16550::kRegistersGroup, attrId("MCR"), AttrValue::of(MCR_OUT2));
        uart.setAttr(Uart16550::kRegistersGroup, attrId("IER"), AttrValue::of(IER_THRE));
        QVERIFY(irq.level());
        QCOMPARE(uart.getAttr(Uart16550::kRegistersGroup, attrId("IIR")).scalar,
                 uint64_t(IIR_THRE));
        // Reading the attribute has no side effect: the guest still sees THRE.
        QCOMPARE(inb(uart, IIR), IIR_THRE);
        uart.setAttr(Uart16550::kRegistersGroup, attrId("SCR"), AttrValue::of(0xa5));
        QCOMPARE(inb(uart, SCR), uint8_t(0xa5));
        uart.setAttr(Uart16550::kRegistersGroup, attrId("DLL"), AttrValue::of(3));
        QCOMPARE(statistic(uart, attrId("baud rate")), uint64_t(38400));
        uart.receive(bytesOf("q"));
        QCOMPARE(uart.getAttr(Uart16550::kRegistersGroup, attrId("LSR")).scalar & LSR_DR,
                 uint64_t(LSR_DR));
        QCOMPARE(inb(uart, RBR), uint8_t('q')); // the attribute read did not consume it
    }

    void concurrentReceiveLosesNothingWithinTheQueueBound() {
        RecordingIrqLine irq;
        CollectingSerialSink sink;
        Uart16550 uart(irq, sink);
        outb(uart, MCR, MCR_OUT2);
        outb(uart, IER, IER_RDA);
        constexpr size_t kTotal = 200'000;
        constexpr size_t kChunk = 97;
        std::atomic<bool> done{false};
        std::thread producer([&] {
            std::vector<uint8_t> chunk;
            for (size_t sent = 0; sent < kTotal;) {
                // Stay within the bound, as a flow-controlled sender would.
                if (uart.getAttr(Uart16550::kStatisticsGroup, attrId("receive queued")).scalar >
                    Uart16550::kReceiveQueueCapacity - kChunk) {
                    std::this_thread::yield();
                    continue;
                }
                chunk.clear();
                for (size_t i = 0; i < kChunk && sent < kTotal; ++i, ++sent)
                    chunk.push_back(static_cast<uint8_t>(sent % 251));
                uart.receive(chunk);
            }
        });
        // A second vcpu thread transmitting at the same time.
        std::thread transmitter([&] {
            for (int i = 0; i < 10'000; ++i)
                outb(uart, THR, '.');
            done = true;
        });
        size_t received = 0;
        bool inOrder = true;
        while (received < kTotal) {
            if (!(inb(uart, LSR) & LSR_DR)) {
                std::this_thread::yield();
                continue;
            }
            inOrder &= inb(uart, RBR) == static_cast<uint8_t>(received % 251);
            ++received;
        }
        producer.join();
        transmitter.join();
        QVERIFY(done);
        QVERIFY(inOrder);
        QCOMPARE(statistic(uart, attrId("overruns")), uint64_t(0));
        QCOMPARE(statistic(uart, attrId("bytes received")), uint64_t(kTotal));
        QCOMPARE(sink.text().size(), size_t(10'000));
        QVERIFY(!irq.level()); // everything read: no interrupt left pending
    }

    void aSinkMayCallReceiveWithoutDeadlocking() {
        // An echoing host: every transmitted byte comes straight back as input.
        struct EchoSink : kvmscope::SerialSink {
            Uart16550* uart = nullptr;
            void serialOutput(std::span<const uint8_t> bytes) override { uart->receive(bytes); }
        };
        RecordingIrqLine irq;
        EchoSink sink;
        Uart16550 uart(irq, sink);
        sink.uart = &uart;
        outb(uart, THR, 'e');
        QCOMPARE(inb(uart, RBR), uint8_t('e'));
    }
};

QTEST_APPLESS_MAIN(Uart16550Test)
#include "Uart16550Test.moc"
