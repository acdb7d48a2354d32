// corvid: a curl-compatible command-line HTTP client. Everything but the entry
// point lives in the corvid_cli library (apps/corvid/*.cpp) so tests can use it.
#include "apps/corvid/run.hpp"

int main(int argc, char** argv) {
    return corvid::cli::run_main(argc, argv);
}
