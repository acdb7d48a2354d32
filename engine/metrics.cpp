#include "engine/metrics.hpp"

namespace corvid::engine {

namespace {

void metric(std::string& out, const char* name, const char* type, const char* help,
            std::uint64_t value) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
    out += name;
    out += ' ';
    out += std::to_string(value);
    out += '\n';
}

}  // namespace

std::string render_metrics(const std::vector<const worker_counters*>& workers,
                           std::uint64_t channels, std::uint64_t connections_refused) {
    auto sum = [&](auto member) {
        std::uint64_t total = 0;
        for (const auto* w : workers) {
            total += (w->*member).load(std::memory_order_relaxed);
        }
        return total;
    };
    using c = worker_counters;
    std::string out;
    out.reserve(4096);
    out +=
        "# HELP corvid_connections Open client connections by transport.\n"
        "# TYPE corvid_connections gauge\n";
    out += "corvid_connections{transport=\"websocket\"} " + std::to_string(sum(&c::ws_open)) + "\n";
    out += "corvid_connections{transport=\"sse\"} " + std::to_string(sum(&c::sse_open)) + "\n";
    out +=
        "# HELP corvid_connections_total Client connections accepted since start.\n"
        "# TYPE corvid_connections_total counter\n";
    out += "corvid_connections_total{transport=\"websocket\"} " +
           std::to_string(sum(&c::ws_total)) + "\n";
    out +=
        "corvid_connections_total{transport=\"sse\"} " + std::to_string(sum(&c::sse_total)) + "\n";
    metric(out, "corvid_subscriptions", "gauge", "Channel subscriptions held by connections.",
           sum(&c::subscriptions));
    metric(out, "corvid_channels", "gauge",
           "Channels the broker holds (subscribed or with history).", channels);
    metric(out, "corvid_messages_in_total", "counter",
           "Messages received from clients (WebSocket frames and API publishes).",
           sum(&c::messages_in));
    metric(out, "corvid_bytes_in_total", "counter", "Bytes of messages received from clients.",
           sum(&c::bytes_in));
    metric(out, "corvid_messages_out_total", "counter",
           "Messages sent to clients (deliveries and replies).", sum(&c::messages_out));
    metric(out, "corvid_bytes_out_total", "counter", "Bytes of messages sent to clients.",
           sum(&c::bytes_out));
    metric(out, "corvid_publications_total", "counter", "Publications accepted by the broker.",
           sum(&c::publications));
    metric(out, "corvid_connections_refused_total", "counter",
           "Connections closed at accept by the connection limits.", connections_refused);
    out +=
        "# HELP corvid_errors_total Refusals and errors by kind.\n"
        "# TYPE corvid_errors_total counter\n";
    for (std::size_t k = 0; k < error_kind_names.size(); ++k) {
        std::uint64_t total = 0;
        for (const auto* w : workers) {
            total += w->errors[k].load(std::memory_order_relaxed);
        }
        out += "corvid_errors_total{kind=\"";
        out += error_kind_names[k];
        out += "\"} " + std::to_string(total) + "\n";
    }
    return out;
}

}  // namespace corvid::engine
