#pragma once

// `-w/--write-out`: curl's format language over the facts of one transfer.
// Pure: the caller gathers a transfer_report and writes the pieces out.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "corvid/headers.hpp"

namespace corvid::cli {

/// Everything a -w format can print about one transfer (all its redirect hops).
struct transfer_report {
    std::size_t urlnum = 0;  ///< 0-based index of the URL on the command line
    std::string url;         ///< the URL as given
    std::string url_effective;
    std::string redirect_url;  ///< the Location a 3xx pointed at, when not followed
    std::string method;        ///< of the last request
    std::string scheme;        ///< of url_effective, e.g. "https"

    int http_code = 0;     ///< 0 when no response arrived
    int http_version = 0;  ///< 10 or 11; 0 when no response arrived
    std::size_t num_headers = 0;
    std::size_t num_connects = 0;
    std::size_t num_redirects = 0;
    std::string content_type;
    corvid::headers response_headers;  ///< of the last response, for %header{name}

    std::string remote_ip;
    int remote_port = 0;
    std::string local_ip;
    int local_port = 0;

    // Seconds, accumulated over the hops as curl does.
    double time_namelookup = 0;
    double time_connect = 0;
    double time_appconnect = 0;
    double time_pretransfer = 0;
    double time_starttransfer = 0;
    double time_redirect = 0;
    double time_total = 0;

    std::uint64_t size_download = 0;  ///< body bytes on the wire, last response
    std::uint64_t size_header = 0;    ///< response head bytes, all responses
    std::uint64_t size_request = 0;   ///< request head bytes, all requests
    std::uint64_t size_upload = 0;    ///< request body bytes, all requests

    long ssl_verify_result = 0;  ///< X.509 verify result (0: ok or not TLS)
    int exitcode = 0;
    std::string errormsg;
    std::string filename_effective;  ///< the -o/-O file, empty for stdout
};

/// Which stream a piece of -w output goes to (%{stdout} and %{stderr} switch).
enum class write_out_stream { out, err };

struct write_out_piece {
    write_out_stream stream = write_out_stream::out;
    std::string text;
    friend bool operator==(const write_out_piece&, const write_out_piece&) = default;
};

struct write_out_result {
    std::vector<write_out_piece> pieces;  ///< adjacent text for the same stream is merged
    std::vector<std::string> unknown;     ///< variable names corvid does not know
};

/// Expands `format` for `report`:
///  - `%{name}` variables (see docs/cli.md), `%header{name}` (first field of
///    that name in the last response, empty when absent), `%%` a percent sign;
///  - `\n`, `\r`, `\t` and `\\` escapes; any other backslash or percent
///    sequence is copied as written. Unknown variables print nothing and
///    are listed in `unknown` (curl warns about them on stderr).
write_out_result format_write_out(std::string_view format, const transfer_report& report);

/// Seconds as curl prints them: six decimals ("0.012345").
std::string format_seconds(double seconds);

}  // namespace corvid::cli
