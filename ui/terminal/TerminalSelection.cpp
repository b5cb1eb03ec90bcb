#include "TerminalSelection.h"

namespace kvmscope::ui {

void TerminalSelection::begin(CellBoundary anchor) {
    anchor_ = anchor;
    extent_ = anchor;
}

void TerminalSelection::extendTo(CellBoundary extent) {
    extent_ = extent;
}

void TerminalSelection::select(CellBoundary from, CellBoundary to) {
    anchor_ = from;
    extent_ = to;
}

void TerminalSelection::clear() {
    extent_ = anchor_;
}

bool TerminalSelection::containsCell(int64_t line, int column) const {
    if (isEmpty()) {
        return false;
    }
    const CellBoundary cell{line, column};
    return !(cell < start()) && cell < end();
}

} // namespace kvmscope::ui
