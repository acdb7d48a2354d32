#include "bench/harness/nghttpd_fixture.hpp"

#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "bench/harness/process.hpp"
#include "tls/test_pki.hpp"

namespace corvid::bench {

namespace {

namespace fs = std::filesystem;

void write_text(const std::string& path, const std::string& text) {
    auto r = tls::write_file(path, text);
    if (!r) {
        throw std::runtime_error("cannot write " + path + ": " + r.error().message());
    }
}

// TLS 1.3 with one cipher, for nghttpd's OpenSSL only (through
// OPENSSL_CONF): nghttpd sets its TLS 1.2 cipher list and its group (P-256)
// itself but leaves the TLS 1.3 suites at the system default, where server
// preference would pick AES-256-GCM.
constexpr const char* openssl_conf =
    "openssl_conf = corvid_bench\n"
    "[corvid_bench]\n"
    "ssl_conf = corvid_bench_ssl\n"
    "[corvid_bench_ssl]\n"
    "system_default = corvid_bench_tls\n"
    "[corvid_bench_tls]\n"
    "MinProtocol = TLSv1.3\n"
    "Ciphersuites = TLS_AES_128_GCM_SHA256\n";

}  // namespace

nghttpd_fixture::nghttpd_fixture(const std::vector<fixture_file>& files, int cpu,
                                 std::string nghttpd_path)
    : nghttpd_(std::move(nghttpd_path)), cpu_(cpu) {
    if (access(nghttpd_.c_str(), X_OK) != 0) {
        throw std::runtime_error(nghttpd_ +
                                 " not found: install nghttp2-server (scripts/dev bench does)");
    }
    version_ = capture_output({nghttpd_, "--version"}, true);

    std::string tmpl = (fs::temp_directory_path() / "corvid-bench-h2-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
        throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
    }
    dir_ = tmpl;
    try {
        fs::create_directories(dir_ + "/docroot");
        std::string bytes;
        for (const auto& f : files) {
            fixture_bytes(f.name, f.size, bytes);
            write_text(dir_ + "/docroot/" + f.name, bytes);
        }
        bytes.clear();
        bytes.shrink_to_fit();

        auto ca = tls::test_ca::create("corvid-bench throwaway CA");
        if (!ca) {
            throw std::runtime_error("test CA: " + ca.error().message());
        }
        tls::leaf_spec spec;
        spec.dns_names = {"localhost"};
        spec.ip_addresses = {"127.0.0.1"};
        auto leaf = ca->issue(spec);
        if (!leaf) {
            throw std::runtime_error("server certificate: " + leaf.error().message());
        }
        ca_file_ = dir_ + "/ca.pem";
        write_text(ca_file_, ca->cert_pem());
        write_text(dir_ + "/server.pem", leaf->cert_pem);
        write_text(dir_ + "/server.key", leaf->key_pem);
        write_text(dir_ + "/openssl.cnf", openssl_conf);

        server_ = std::make_unique<server_process>(server_process::options{
            "nghttpd",
            {nghttpd_, "--address=127.0.0.1", "--workers=1", "--htdocs=" + dir_ + "/docroot",
             "--echo-upload", "@PORT@", dir_ + "/server.key", dir_ + "/server.pem"},
            cpu_,
            dir_,
            {"OPENSSL_CONF=" + dir_ + "/openssl.cnf"}});
    } catch (...) {
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
        throw;
    }
}

nghttpd_fixture::~nghttpd_fixture() {
    server_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
}

std::string nghttpd_fixture::url(const std::string& name) const {
    return "https://127.0.0.1:" + std::to_string(server_->port()) + "/" + name;
}

std::string nghttpd_fixture::description() const {
    return version_ + " (one worker" +
           (cpu_ >= 0 ? " pinned to CPU " + std::to_string(cpu_) : std::string()) +
           ", TLS with ALPN h2, TLS 1.3 TLS_AES_128_GCM_SHA256 over P-256 (nghttpd's fixed "
           "group), P-256 certificate from a throwaway CA, --echo-upload, DATA frames of up to "
           "16 KiB, 100 concurrent streams, its default 64 KiB receive windows)";
}

}  // namespace corvid::bench
