// The Exits dock's "Recent exits" table while a guest makes thousands of exits per tick, fed
// made-up records the way the session's drain hands them over (no /dev/kvm): every paint of the
// table shows rows, the newest at the bottom, also once the table is full and each tick pushes
// the oldest rows out.
#include "exits/ExitsView.h"
#include "exits/RecentExitsModel.h"

#include <QAbstractItemModelTester>
#include <QHeaderView>
#include <QScrollBar>
#include <QTableView>
#include <QTest>
#include <QTimer>
#include <linux/kvm.h>

using namespace kvmscope;
using namespace kvmscope::ui;

namespace {

// What one tick's drain hands the model: for each vcpu the newest exits of its trace, at most
// maxRows() of them, one vcpu after the other (append() puts them in time order).
class ExitSource {
public:
    explicit ExitSource(uint32_t vcpus) : sequences_(vcpus, 0) {}

    std::vector<trace::ExitRecord> tick(size_t perVcpu) {
        std::vector<trace::ExitRecord> records;
        for (uint32_t vcpu = 0; vcpu < sequences_.size(); ++vcpu)
            for (size_t i = 0; i < perVcpu; ++i) {
                trace::ExitRecord record;
                record.sequence = ++sequences_[vcpu];
                // The vcpus' exits interleave in time.
                record.timestampNs = nowNs_ + (i * sequences_.size() + vcpu) * 1000;
                record.vcpu = vcpu;
                record.reason = KVM_EXIT_IO;
                record.access = trace::AccessKind::PortOut;
                record.address = 0x3f8;
                record.size = 1;
                record.count = 1;
                record.data = record.sequence & 0xff;
                record.rip = 0x100000 + (record.sequence & 0xfff);
                record.ripValid = true;
                records.push_back(record);
            }
        nowNs_ += perVcpu * sequences_.size() * 1000;
        return records;
    }

private:
    std::vector<uint64_t> sequences_;
    uint64_t nowNs_ = 1'000'000'000;
};

// Counts the paints of a table's viewport that show no row at its top, or not the newest row at
// its bottom, as the table stands when the paint begins. QTableView::rowAt reads the scroll
// offset as it is; indexAt would lay the view out first, and a paint does not.
class PaintWatch : public QObject {
public:
    explicit PaintWatch(QTableView* table) : table_(table) {
        table_->viewport()->installEventFilter(this);
    }
    int paints = 0;
    int blank = 0;        // no row under the top edge
    int newestHidden = 0; // the last row not under the bottom edge

protected:
    bool eventFilter(QObject*, QEvent* event) override {
        if (event->type() == QEvent::Paint) {
            ++paints;
            const int rows = table_->model()->rowCount();
            if (table_->rowAt(0) < 0)
                ++blank;
            if (table_->rowAt(table_->viewport()->height() - 1) != rows - 1)
                ++newestHidden;
        }
        return false;
    }

private:
    QTableView* table_;
};

} // namespace

class RecentExitsViewTest : public QObject {
    Q_OBJECT
private:
    static void showExitsView(ExitsView& view) {
        view.resize(1000, 600);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
    }

    static void addTickRows() {
        QTest::addColumn<int>("vcpus");
        QTest::addColumn<int>("perVcpu");
        // Below the cap a tick trims part of the table; at it a tick replaces every row; two
        // vcpus at the cap hand over more rows than the table keeps.
        QTest::newRow("1 vcpu, 500 exits a tick") << 1 << 500;
        QTest::newRow("1 vcpu, 2000 exits a tick") << 1 << RecentExitsModel::kDefaultMaxRows;
        QTest::newRow("2 vcpus, 2000 exits a tick each") << 2 << RecentExitsModel::kDefaultMaxRows;
    }

private Q_SLOTS:
    void recentExitsNeverHoldMoreThanTheCapWhenRowsArrive_data() { addTickRows(); }

    // The model never holds more than maxRows() rows, not even while it announces new ones: a
    // view that scrolls to the newest row on rowsInserted scrolls within the rows that stay.
    void recentExitsNeverHoldMoreThanTheCapWhenRowsArrive() {
        QFETCH(int, vcpus);
        QFETCH(int, perVcpu);
        RecentExitsModel model;
        new QAbstractItemModelTester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest,
                                     &model);
        int mostRowsAtInsert = 0;
        connect(&model, &QAbstractItemModel::rowsInserted, this,
                [&] { mostRowsAtInsert = std::max(mostRowsAtInsert, model.rowCount()); });
        ExitSource source(static_cast<uint32_t>(vcpus));
        uint64_t newest = 0;
        for (int tick = 0; tick < 6; ++tick) {
            auto records = source.tick(static_cast<size_t>(perVcpu));
            for (const auto& record : records)
                newest = std::max(newest, record.timestampNs);
            model.append(std::move(records));
            QCOMPARE(model.rowCount(), std::min((tick + 1) * vcpus * perVcpu, model.maxRows()));
            QCOMPARE(model.record(model.rowCount() - 1).timestampNs, newest);
        }
        QVERIFY2(mostRowsAtInsert <= model.maxRows(),
                 qPrintable(QStringLiteral("%1 rows at rowsInserted, cap %2")
                                .arg(mostRowsAtInsert)
                                .arg(model.maxRows())));
    }

    void recentExitsShowTheNewestRowAfterEveryTick_data() { addTickRows(); }

    // After each tick, before the event loop runs again (a paint may come first): rows fill the
    // viewport, the newest at its bottom, and a picture of the viewport is not one flat colour.
    // Then, laid out: the same through indexAt.
    void recentExitsShowTheNewestRowAfterEveryTick() {
        QFETCH(int, vcpus);
        QFETCH(int, perVcpu);
        ExitsView view;
        showExitsView(view);
        QTableView* table = view.recentTable();
        RecentExitsModel* model = view.recentModel();
        ExitSource source(static_cast<uint32_t>(vcpus));
        for (int tick = 0; tick < 6; ++tick) {
            model->append(source.tick(static_cast<size_t>(perVcpu)));
            const int last = model->rowCount() - 1;
            const int bottom = table->viewport()->height() - 1;
            QVERIFY2(table->rowAt(0) >= 0, qPrintable(QStringLiteral("tick %1: no row at the top "
                                                                     "(scrolled to %2 of %3 rows)")
                                                          .arg(tick)
                                                          .arg(table->verticalScrollBar()->value())
                                                          .arg(last + 1)));
            QCOMPARE(table->rowAt(bottom), last);
            const QImage picture = table->viewport()->grab().toImage();
            const QRgb background = picture.pixel(picture.width() - 1, picture.height() - 1);
            bool drawn = false;
            for (int y = 0; y < picture.height() && !drawn; ++y)
                for (int x = 0; x < picture.width() && !drawn; ++x)
                    drawn = picture.pixel(x, y) != background;
            QVERIFY2(drawn,
                     qPrintable(QStringLiteral("tick %1: the table paints blank").arg(tick)));

            QTest::qWait(1);
            QVERIFY(table->indexAt(QPoint(1, 1)).isValid());
            QVERIFY(table->indexAt(QPoint(1, bottom)).isValid());
            const QRect newest = table->visualRect(model->index(last, 0));
            QVERIFY(table->viewport()->rect().intersects(newest));
            QCOMPARE(table->indexAt(QPoint(1, bottom)).row(), last);
        }
    }

    // As in the window: the drain runs on a timer and the event loop paints in between. Every
    // paint shows rows, the newest at the bottom.
    void everyPaintShowsRowsWhileExitsPourIn() {
        ExitsView view;
        showExitsView(view);
        PaintWatch watch(view.recentTable());
        ExitSource source(2);
        QTimer tick;
        tick.setInterval(20);
        int ticks = 0;
        connect(&tick, &QTimer::timeout, this, [&] {
            view.recentModel()->append(source.tick(RecentExitsModel::kDefaultMaxRows));
            ++ticks;
        });
        tick.start();
        QTRY_VERIFY_WITH_TIMEOUT(ticks >= 30 && watch.paints >= 30, 60000);
        tick.stop();
        QVERIFY2(
            watch.blank == 0,
            qPrintable(QStringLiteral("%1 of %2 paints blank").arg(watch.blank).arg(watch.paints)));
        QVERIFY2(watch.newestHidden == 0,
                 qPrintable(QStringLiteral("%1 of %2 paints without the newest exit")
                                .arg(watch.newestHidden)
                                .arg(watch.paints)));
    }
};

QTEST_MAIN(RecentExitsViewTest)
#include "RecentExitsViewTest.moc"
