#include <optional>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>

#include "corvid/client.hpp"

namespace corvid {

struct blocking_client::impl {
    asio::io_context io;
    client http;
    explicit impl(client_options options) : io(1), http(io.get_executor(), std::move(options)) {}
};

blocking_client::blocking_client(client_options options)
    : impl_(std::make_unique<impl>(std::move(options))) {}

blocking_client::~blocking_client() = default;

buffered_response blocking_client::fetch(request req) {
    std::optional<result<buffered_response>> outcome;
    std::exception_ptr failure;
    asio::co_spawn(
        impl_->io,
        [&]() -> asio::awaitable<void> {
            outcome.emplace(co_await impl_->http.fetch(std::move(req)));
        },
        [&](std::exception_ptr e) { failure = e; });
    impl_->io.restart();
    // Run until this request is done; idle pooled connections have no
    // pending work, so the loop does not wait on them.
    while (!outcome && !failure && impl_->io.run_one() > 0) {
    }
    if (failure) {
        std::rethrow_exception(failure);
    }
    return std::move(*outcome).value();
}

buffered_response blocking_client::get(std::string url) {
    request req;
    req.url = std::move(url);
    return fetch(std::move(req));
}

buffered_response blocking_client::post(std::string url, std::string body,
                                        std::string content_type) {
    request req;
    req.method = "POST";
    req.url = std::move(url);
    req.headers.add("Content-Type", content_type);
    req.body = std::move(body);
    return fetch(std::move(req));
}

cookie_jar& blocking_client::cookies() noexcept {
    return impl_->http.cookies();
}

}  // namespace corvid
