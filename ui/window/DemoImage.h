#pragma once
// A bundled demo guest as the window's Demos menu offers it. The application fills the list
// from its demo catalog (app/Demos.h), so the GUI library does not depend on app/.
#include "boot/BootPlan.h"

#include <QString>

namespace kvmscope::ui {

struct DemoImage {
    QString name;
    QString path; // absolute path of the image
    QString description;
    boot::ImageFormat format = boot::ImageFormat::Auto;
    unsigned cpus = 1;
};

} // namespace kvmscope::ui
