// DebuggerView: its panes: code and go-to field, breakpoints, call stack, memory, page walk, and
// the CPU tables.
#include "debugger/BreakpointsModel.h"
#include "debugger/CallStackModel.h"
#include "debugger/CpuTablesModel.h"
#include "debugger/DebuggerView.h"
#include "debugger/DisassemblyModel.h"
#include "debugger/InterruptsModel.h"
#include "debugger/MemoryModel.h"
#include "debugger/PageWalkModel.h"
#include "session/MachineSession.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QTabWidget>
#include <QTableView>
#include <QVBoxLayout>

namespace kvmscope::ui {
namespace {

QTableView* makeTable(QAbstractItemModel* model, QWidget* parent, const QString& name) {
    auto* view = new QTableView(parent);
    view->setObjectName(name);
    view->setModel(model);
    view->setSelectionBehavior(QAbstractItemView::SelectRows);
    view->setSelectionMode(QAbstractItemView::SingleSelection);
    view->verticalHeader()->hide();
    view->verticalHeader()->setDefaultSectionSize(view->fontMetrics().height() + 4);
    view->setShowGrid(false);
    view->setWordWrap(false);
    view->horizontalHeader()->setStretchLastSection(true);
    view->horizontalHeader()->setHighlightSections(false);
    // As small as its header and one row: on a small screen the memory and page-walk panes
    // shrink before the code does (a table's own minimum is about four rows).
    view->setMinimumHeight(view->horizontalHeader()->sizeHint().height() +
                           view->verticalHeader()->defaultSectionSize() + 2 * view->frameWidth());
    return view;
}

} // namespace

QLabel* DebuggerView::makeLabel(QWidget* parent) {
    auto* label = new QLabel(parent);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    label->setWordWrap(true);
    return label;
}

QWidget* DebuggerView::createCodePane() {
    // Code: a go-to field over the listing.
    codeGoTo_ = new QLineEdit(this);
    codeGoTo_->setObjectName(QStringLiteral("codeGoTo"));
    codeGoTo_->setPlaceholderText(tr("Go to code: address, register or symbol (add_step+4, rip)"));
    codeGoTo_->setClearButtonEnabled(true);
    connect(codeGoTo_, &QLineEdit::returnPressed, this, [this] { goToCode(codeGoTo_->text()); });
    disassemblyView_ = makeTable(disassembly_, this, QStringLiteral("disassemblyView"));
    disassemblyView_->horizontalHeader()->setSectionResizeMode(DisassemblyModel::GutterColumn,
                                                               QHeaderView::Fixed);
    disassemblyView_->setColumnWidth(
        DisassemblyModel::GutterColumn,
        disassemblyView_->fontMetrics().horizontalAdvance(QStringLiteral("●▶")) + 12);
    disassemblyView_->setColumnWidth(
        DisassemblyModel::AddressColumn,
        disassemblyView_->fontMetrics().horizontalAdvance(QStringLiteral("0000000000000000")) + 16);
    disassemblyView_->setColumnWidth(DisassemblyModel::SymbolColumn, 140);
    disassemblyView_->setColumnWidth(DisassemblyModel::BytesColumn,
                                     disassemblyView_->fontMetrics().horizontalAdvance(
                                         QStringLiteral("00 00 00 00 00 00 00 …")) +
                                         16);
    connect(disassemblyView_, &QTableView::clicked, this, [this](const QModelIndex& index) {
        if (index.column() == DisassemblyModel::GutterColumn)
            toggleBreakpointAtRow(index.row());
    });
    connect(disassemblyView_, &QTableView::doubleClicked, this, [this](const QModelIndex& index) {
        if (index.column() != DisassemblyModel::GutterColumn)
            disassembly_->follow(index.row());
    });
    connect(disassembly_, &DisassemblyModel::modelReset, this, [this] {
        if (codeTarget_) { // Go to code: its row selected and in view
            showCodeTarget();
            return;
        }
        if (const int row = disassembly_->currentRow(); row >= 0 && disassembly_->followingPc())
            disassemblyView_->scrollTo(disassembly_->index(row, 0),
                                       QAbstractItemView::PositionAtCenter);
    });
    connect(disassembly_, &DisassemblyModel::statusChanged, this, &DebuggerView::updateStatus);
    auto* codePane = new QWidget(this);
    auto* codeLayout = new QVBoxLayout(codePane);
    codeLayout->setContentsMargins(0, 0, 0, 0);
    codeLayout->addWidget(codeGoTo_);
    codeLayout->addWidget(disassemblyView_);
    return codePane;
}

QWidget* DebuggerView::createSidePane() {
    // Beside the code: breakpoints, call stack and the CPU tables.
    breakpointsView_ = makeTable(breakpoints_, this, QStringLiteral("breakpointsView"));
    breakpointsView_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    connect(breakpointsView_, &QTableView::doubleClicked, this, [this](const QModelIndex& index) {
        const auto& entry = breakpoints_->entries().at(static_cast<size_t>(index.row()));
        if (!entry.exit)
            disassembly_->goTo(entry.breakpoint.address);
    });
    callStackView_ = makeTable(callStack_, this, QStringLiteral("callStackView"));
    callStackView_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    connect(callStackView_, &QTableView::doubleClicked, this, [this](const QModelIndex& index) {
        disassembly_->goTo(callStack_->frames().at(static_cast<size_t>(index.row())).pc);
    });
    callStackReason_ = makeLabel(this);
    connect(callStack_, &CallStackModel::stopReasonChanged, callStackReason_, &QLabel::setText);
    auto* stackPane = new QWidget(this);
    auto* stackLayout = new QVBoxLayout(stackPane);
    stackLayout->setContentsMargins(0, 0, 0, 0);
    stackLayout->addWidget(callStackView_);
    stackLayout->addWidget(callStackReason_);
    sideTabs_ = new QTabWidget(this);
    sideTabs_->setObjectName(QStringLiteral("debuggerSideTabs"));
    sideTabs_->addTab(breakpointsView_, tr("Breakpoints"));
    sideTabs_->addTab(stackPane, tr("Call stack"));
    sideTabs_->addTab(createTablesPane(), tr("CPU tables"));
    sideTabs_->addTab(createInterruptsPane(), tr("Interrupts"));
    return sideTabs_;
}

QWidget* DebuggerView::createMemoryPane() {
    // Memory: space, go-to, hex view.
    memorySpace_ = new QComboBox(this);
    memorySpace_->setObjectName(QStringLiteral("memorySpace"));
    memorySpace_->addItem(tr("Physical"));
    memorySpace_->addItem(tr("Virtual"));
    memorySpace_->setToolTip(tr("Guest-physical memory, or guest-virtual through the selected "
                                "vcpu's page tables"));
    connect(memorySpace_, &QComboBox::currentIndexChanged, this, [this](int index) {
        memory_->setSpace(index == 0 ? MemoryModel::Space::Physical : MemoryModel::Space::Virtual);
    });
    memoryGoTo_ = new QLineEdit(this);
    memoryGoTo_->setObjectName(QStringLiteral("memoryGoTo"));
    memoryGoTo_->setPlaceholderText(tr("Go to: 0x1000, rsp+0x10, watched_counter"));
    memoryGoTo_->setClearButtonEnabled(true);
    connect(memoryGoTo_, &QLineEdit::returnPressed, this,
            [this] { goToMemory(memoryGoTo_->text()); });
    memoryView_ = makeTable(memory_, this, QStringLiteral("memoryView"));
    memoryView_->setSelectionBehavior(QAbstractItemView::SelectItems);
    memoryView_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    memoryView_->setEditTriggers(QAbstractItemView::DoubleClicked |
                                 QAbstractItemView::EditKeyPressed |
                                 QAbstractItemView::AnyKeyPressed);
    memoryStatus_ = makeLabel(this);
    connect(memory_, &MemoryModel::statusChanged, memoryStatus_, &QLabel::setText);
    auto* memoryPane = new QWidget(this);
    auto* memoryLayout = new QVBoxLayout(memoryPane);
    memoryLayout->setContentsMargins(0, 0, 0, 0);
    auto* memoryBar = new QHBoxLayout;
    memoryBar->addWidget(memorySpace_);
    memoryBar->addWidget(memoryGoTo_, 1);
    memoryLayout->addLayout(memoryBar);
    memoryLayout->addWidget(memoryView_);
    memoryLayout->addWidget(memoryStatus_);
    return memoryPane;
}

QWidget* DebuggerView::createWalkPane() {
    // The page walk of one address.
    walkAddress_ = new QLineEdit(this);
    walkAddress_->setObjectName(QStringLiteral("walkAddress"));
    walkAddress_->setPlaceholderText(tr("Page walk of: rip, add_step, 0x40000000"));
    walkAddress_->setClearButtonEnabled(true);
    connect(walkAddress_, &QLineEdit::returnPressed, this, [this] {
        if (const auto address = evaluate(walkAddress_->text()))
            pageWalk_->setAddress(*address);
    });
    walkView_ = makeTable(pageWalk_, this, QStringLiteral("pageWalkView"));
    walkView_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    walkView_->horizontalHeader()->setStretchLastSection(true);
    walkSummary_ = makeLabel(this);
    walkSummary_->setObjectName(QStringLiteral("walkSummary"));
    connect(pageWalk_, &PageWalkModel::summaryChanged, walkSummary_, &QLabel::setText);
    auto* walkPane = new QWidget(this);
    auto* walkLayout = new QVBoxLayout(walkPane);
    walkLayout->setContentsMargins(0, 0, 0, 0);
    walkLayout->addWidget(walkAddress_);
    walkLayout->addWidget(walkView_);
    walkLayout->addWidget(walkSummary_);
    return walkPane;
}

QWidget* DebuggerView::createTablesPane() {
    // The GDT, LDT, IDT or TSS of the vcpu shown, decoded in its mode.
    tableSelector_ = new QComboBox(this);
    tableSelector_->setObjectName(QStringLiteral("cpuTableSelector"));
    tableSelector_->addItem(tr("GDT"), int(CpuTablesModel::Table::Gdt));
    tableSelector_->addItem(tr("LDT"), int(CpuTablesModel::Table::Ldt));
    tableSelector_->addItem(tr("IDT"), int(CpuTablesModel::Table::Idt));
    tableSelector_->addItem(tr("TSS"), int(CpuTablesModel::Table::Tss));
    tableSelector_->setToolTip(tr("Which of the vcpu's tables to show; edit an entry's raw value "
                                  "(or a TSS field) while the machine is paused"));
    connect(tableSelector_, &QComboBox::currentIndexChanged, this, [this] {
        cpuTables_->setTable(
            static_cast<CpuTablesModel::Table>(tableSelector_->currentData().toInt()));
    });
    tablesView_ = makeTable(cpuTables_, this, QStringLiteral("cpuTablesView"));
    tablesView_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    tablesView_->horizontalHeader()->setStretchLastSection(true);
    tablesSummary_ = makeLabel(this);
    tablesSummary_->setObjectName(QStringLiteral("cpuTablesSummary"));
    connect(cpuTables_, &CpuTablesModel::summaryChanged, tablesSummary_, &QLabel::setText);
    connect(cpuTables_, &CpuTablesModel::errorOccurred, this, &DebuggerView::errorOccurred);
    auto* pane = new QWidget(this);
    auto* layout = new QVBoxLayout(pane);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(tableSelector_);
    layout->addWidget(tablesView_);
    layout->addWidget(tablesSummary_);
    return pane;
}

QWidget* DebuggerView::createInterruptsPane() {
    // Every interrupt line at the stop, and for the selected one the sentence that says where
    // its request stops (core/inspect/InterruptPath.h).
    auto* view = makeTable(interrupts_, this, QStringLiteral("interruptsView"));
    view->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    view->horizontalHeader()->setStretchLastSection(true);
    auto* summary = makeLabel(this);
    summary->setObjectName(QStringLiteral("interruptsSummary"));
    connect(interrupts_, &InterruptsModel::summaryChanged, summary, &QLabel::setText);
    interruptSentence_ = makeLabel(this);
    interruptSentence_->setObjectName(QStringLiteral("interruptSentence"));
    interruptSentence_->setWordWrap(true);
    interruptSentence_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto showSentence = [this, view] {
        const QModelIndex current = view->currentIndex();
        interruptSentence_->setText(
            current.isValid() ? interrupts_->data(current, Qt::ToolTipRole).toString() : QString());
    };
    connect(view->selectionModel(), &QItemSelectionModel::currentChanged, this, showSentence);
    connect(interrupts_, &QAbstractItemModel::modelReset, this, showSentence);
    auto* pane = new QWidget(this);
    auto* layout = new QVBoxLayout(pane);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(view);
    layout->addWidget(interruptSentence_);
    layout->addWidget(summary);
    return pane;
}

} // namespace kvmscope::ui
