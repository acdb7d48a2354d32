#pragma once

// The `corvid` tool's top level: parse the command line, run every URL through
// one corvid::client (so pooled connections are reused), stream bodies to
// stdout or -o files, print -v/-i/-w output, and return curl's exit code.

namespace corvid::cli {

/// Runs the tool as main() would and returns the process exit code. Writes to
/// the process's stdout and stderr; reads stdin only for "@-" arguments.
int run_main(int argc, const char* const* argv);

}  // namespace corvid::cli
