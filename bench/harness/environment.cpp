#include "bench/harness/environment.hpp"

#include <sys/utsname.h>
#include <unistd.h>
#include <ctime>
#include <fstream>

#include "bench/harness/process.hpp"

namespace corvid::bench {

environment collect_environment() {
    environment env;
    env.commit = capture_output({"git", "-C", CORVID_SOURCE_DIR, "rev-parse", "HEAD"});
    // Only the sources the benchmark binaries are built from count: other
    // people's work in progress elsewhere in the tree does not change a figure.
    // server/, engine/ and apps/ build corvid-server, which the engine
    // workloads measure.
    env.dirty = !capture_output({"git", "-C", CORVID_SOURCE_DIR, "status", "--porcelain", "--",
                                 "CMakeLists.txt", "cmake", "include", "core", "net", "tls",
                                 "proto", "client", "server", "engine", "apps", "bench"})
                     .empty();
    env.compiler = std::string(CORVID_CXX_COMPILER_ID) + " " + CORVID_CXX_COMPILER_VERSION;
    env.build_type = CORVID_BUILD_TYPE;
    env.cxx_flags = CORVID_CXX_FLAGS;

    utsname u{};
    if (uname(&u) == 0) {
        env.kernel = std::string(u.sysname) + " " + u.release + " " + u.version + " " + u.machine;
    }
    std::ifstream cpuinfo("/proc/cpuinfo");
    for (std::string line; std::getline(cpuinfo, line);) {
        if (line.rfind("model name", 0) == 0) {
            if (const auto colon = line.find(':'); colon != std::string::npos) {
                env.cpu_model = line.substr(line.find_first_not_of(' ', colon + 1));
            }
            break;
        }
    }
    env.cores = sysconf(_SC_NPROCESSORS_ONLN);

    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char date[32];
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    env.date_utc = date;

    env.load_start = read_loadavg();

    for (const char* pkg : {"libcurl4", "libcurl4-openssl-dev", "libssl3", "android-libboringssl",
                            "libasio-dev", "nginx-light", "nginx-common"}) {
        std::string v = capture_output({"dpkg-query", "-W", "-f=${Version}", pkg});
        env.packages.emplace_back(pkg, v.empty() ? "not installed" : v);
    }
    return env;
}

std::string read_loadavg() {
    std::ifstream in("/proc/loadavg");
    std::string one;
    std::string five;
    std::string fifteen;
    in >> one >> five >> fifteen;
    return one + " " + five + " " + fifteen;
}

void write_json(json_writer& w, const environment& env) {
    w.begin_object()
        .field("commit", env.commit)
        .field("dirty", env.dirty)
        .field("compiler", env.compiler)
        .field("build_type", env.build_type)
        .field("cxx_flags", env.cxx_flags)
        .field("kernel", env.kernel)
        .field("cpu_model", env.cpu_model)
        .field("cores", static_cast<std::int64_t>(env.cores))
        .field("date_utc", env.date_utc)
        .field("pinning", env.pinning)
        .field("loadavg_start", env.load_start)
        .field("loadavg_end", env.load_end);
    w.key("packages").begin_object();
    for (const auto& [k, v] : env.packages) {
        w.field(k, v);
    }
    w.end_object();
    w.key("versions").begin_object();
    for (const auto& [k, v] : env.versions) {
        w.field(k, v);
    }
    w.end_object();
    w.end_object();
}

}  // namespace corvid::bench
