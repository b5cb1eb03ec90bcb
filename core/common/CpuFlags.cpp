#include "common/CpuFlags.h"

#include <fstream>
#include <sstream>

namespace kvmscope {

std::set<std::string> cpuFlags(const std::optional<std::string>& cpuinfoText) {
    std::istringstream given(cpuinfoText.value_or(std::string()));
    std::ifstream file;
    if (!cpuinfoText)
        file.open("/proc/cpuinfo");
    std::istream& lines = cpuinfoText ? static_cast<std::istream&>(given) : file;
    std::set<std::string> flags;
    std::string line;
    while (std::getline(lines, line)) {
        if (line.rfind("flags", 0) != 0)
            continue;
        const auto colon = line.find(':');
        std::istringstream words(colon == std::string::npos ? std::string()
                                                            : line.substr(colon + 1));
        std::string word;
        while (words >> word)
            flags.insert(word);
        break;
    }
    return flags;
}

} // namespace kvmscope
