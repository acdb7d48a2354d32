#pragma once

// Runs a coroutine to completion on an io_context, for tests.

#include <exception>
#include <optional>
#include <stdexcept>
#include <utility>

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>

namespace corvid::test {

// Runs until co_spawn's completion handler has run, not just until the task
// has produced its value: the handler refers to this frame's locals, and
// left queued it would write into a dead stack frame when the io_context
// runs again (it did: a corrupted heap, many tests later).
template <typename T>
T run(asio::io_context& io, asio::awaitable<T> task) {
    std::optional<T> out;
    std::exception_ptr failure;
    bool done = false;
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { out.emplace(co_await std::move(task)); },
        [&](std::exception_ptr e) {
            failure = e;
            done = true;
        });
    io.restart();
    while (!done && io.run_one() > 0) {
    }
    if (failure) {
        std::rethrow_exception(failure);
    }
    if (!out) {
        throw std::runtime_error("test::run: the io_context ran out of work before the task ended");
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
