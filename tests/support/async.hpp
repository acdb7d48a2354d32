#pragma once

// Runs a coroutine to completion on an io_context, for tests.

#include <exception>
#include <optional>
#include <utility>

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>

namespace corvid::test {

template <typename T>
T run(asio::io_context& io, asio::awaitable<T> task) {
    std::optional<T> out;
    std::exception_ptr failure;
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { out.emplace(co_await std::move(task)); },
        [&](std::exception_ptr e) { failure = e; });
    io.restart();
    while (!out && !failure && io.run_one() > 0) {
    }
    if (failure) {
        std::rethrow_exception(failure);
    }
    return std::move(*out);
}

inline void run(asio::io_context& io, asio::awaitable<void> task) {
    bool done = false;
    std::exception_ptr failure;
    asio::co_spawn(io, std::move(task), [&](std::exception_ptr e) {
        failure = e;
        done = true;
    });
    io.restart();
    while (!done && io.run_one() > 0) {
    }
    if (failure) {
        std::rethrow_exception(failure);
    }
}

}  // namespace corvid::test
