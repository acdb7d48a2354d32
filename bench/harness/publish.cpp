#include "bench/harness/publish.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>

#include "bench/harness/environment.hpp"

namespace corvid::bench {

std::string default_output_path(const workload_options& o, std::string_view workload,
                                const char* ext) {
    const std::string name(workload);
    if (o.self_check) {
        return std::string(CORVID_BUILD_DIR) + "/bench-results/" + name + ".aa." + ext;
    }
    if (o.quick) {
        return std::string(CORVID_BUILD_DIR) + "/bench-results/" + name + ".quick." + ext;
    }
    return std::string(CORVID_SOURCE_DIR) + "/docs/benchmarks/" + name + "." + ext;
}

int publish(workload_report& report, const workload_options& o, std::string_view workload) {
    report.env.load_end = read_loadavg();
    const std::string json =
        o.json_path.empty() ? default_output_path(o, workload, "json") : o.json_path;
    const std::string md_path =
        o.markdown_path.empty() ? default_output_path(o, workload, "md") : o.markdown_path;
    write_json_file(report, json);
    const std::string md = markdown(report);
    if (const auto parent = std::filesystem::path(md_path).parent_path(); !parent.empty()) {
        std::filesystem::create_directories(parent);
    }
    std::ofstream(md_path, std::ios::trunc) << md;
    std::cout << md;
    std::cerr << workload << ": wrote " << json << " and " << md_path << "\n";
    return 0;
}

}  // namespace corvid::bench
