#include "client/content_decoder.hpp"

#include <brotli/decode.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "corvid/headers.hpp"

namespace corvid::detail {

namespace {

// RFC 9659: the "zstd" content coding never needs more than an 8 MiB window.
constexpr int zstd_window_log_max = 23;

std::error_code failed() {
    return make_error_code(client_errc::decode_failed);
}

// A non-owning callback that receives one step of output. A plain function
// pointer plus context: no allocation per call, unlike std::function.
class sink {
  public:
    template <typename F>
    explicit sink(F& f)
        : ctx_(&f), fn_([](void* c, std::string_view s) { return (*static_cast<F*>(c))(s); }) {}
    std::error_code operator()(std::string_view s) const { return fn_(ctx_, s); }

  private:
    void* ctx_;
    std::error_code (*fn_)(void*, std::string_view);
};

// One content coding. Each stage owns its output buffer because the sink may
// run the next stage before this stage's call returns.
class stage {
  public:
    virtual ~stage() = default;
    // Consumes all of `in`, sending output to `emit` in steps.
    virtual std::error_code write(std::string_view in, const sink& emit) = 0;
    // End of input: decode_failed when the stream stopped part-way.
    virtual std::error_code finish(const sink& emit) = 0;

  protected:
    char* buffer() {
        if (!buffer_) {
            buffer_ = std::make_unique_for_overwrite<char[]>(content_decoder::step_size);
        }
        return buffer_.get();
    }

  private:
    std::unique_ptr<char[]> buffer_;
};

// gzip (RFC 1952) and deflate (RFC 1950, or raw RFC 1951) through zlib.
class zlib_stage final : public stage {
  public:
    enum class format { gzip, deflate };

    explicit zlib_stage(format f) : format_(f) {}
    ~zlib_stage() override {
        if (initialized_) {
            inflateEnd(&zs_);
        }
    }
    zlib_stage(const zlib_stage&) = delete;
    zlib_stage& operator=(const zlib_stage&) = delete;

    std::error_code write(std::string_view in, const sink& emit) override {
        if (in.empty()) {
            return {};
        }
        saw_input_ = true;
        return format_ == format::gzip ? write_gzip(in, emit) : write_deflate(in, emit);
    }

    std::error_code finish(const sink& emit) override {
        if (!saw_input_) {
            return {};
        }
        if (format_ == format::deflate && !initialized_) {
            // One byte so far: pick raw deflate and let it report truncation.
            if (auto ec = start_deflate(emit)) {
                return ec;
            }
        }
        // Every output step is drained inside write(), so an unfinished stream
        // here means the input stopped early. Bytes after a gzip member that
        // were not another member are ignored (state between/trailing).
        return state_ == state::in_stream ? failed() : std::error_code{};
    }

  private:
    enum class state { in_stream, between_members, trailing };

    std::error_code init(int window_bits) {
        if (inflateInit2(&zs_, window_bits) != Z_OK) {
            return std::make_error_code(std::errc::not_enough_memory);
        }
        initialized_ = true;
        return {};
    }

    std::error_code write_gzip(std::string_view in, const sink& emit) {
        if (!initialized_) {
            // 16 + 15: gzip wrapper only, largest window.
            if (auto ec = init(16 + MAX_WBITS)) {
                return ec;
            }
        }
        while (!in.empty()) {
            switch (state_) {
                case state::in_stream:
                    if (auto ec = inflate_some(in, emit)) {
                        return ec;
                    }
                    break;
                case state::between_members: {
                    // Another member starts with 1f 8b; the magic may be split
                    // across calls, so the first byte waits in `magic_seen_`.
                    unsigned char b = static_cast<unsigned char>(in.front());
                    if (!magic_seen_) {
                        if (b != 0x1f) {
                            state_ = state::trailing;
                            break;
                        }
                        magic_seen_ = true;
                        in.remove_prefix(1);
                        break;
                    }
                    if (b != 0x8b) {
                        state_ = state::trailing;
                        break;
                    }
                    magic_seen_ = false;
                    inflateReset(&zs_);
                    state_ = state::in_stream;
                    std::string_view first("\x1f", 1);
                    if (auto ec = inflate_some(first, emit)) {
                        return ec;
                    }
                    break;
                }
                case state::trailing:
                    return {};
            }
        }
        return {};
    }

    std::error_code write_deflate(std::string_view in, const sink& emit) {
        if (!initialized_) {
            // The zlib header is two bytes; collect them before choosing.
            while (header_len_ < 2 && !in.empty()) {
                header_[header_len_++] = static_cast<unsigned char>(in.front());
                in.remove_prefix(1);
            }
            if (header_len_ < 2) {
                return {};
            }
            if (auto ec = start_deflate(emit)) {
                return ec;
            }
        }
        if (state_ != state::in_stream) {
            return {};
        }
        return inflate_some(in, emit);
    }

    // Chooses zlib or raw deflate from the buffered header bytes and feeds them.
    std::error_code start_deflate(const sink& emit) {
        unsigned cmf = header_[0];
        unsigned flg = header_[1];
        // RFC 1950: CM = 8 (deflate), CINFO <= 7, FCHECK makes CMF*256+FLG a
        // multiple of 31.
        bool zlib_header =
            header_len_ == 2 && (cmf & 0x0f) == 8 && (cmf >> 4) <= 7 && (cmf * 256 + flg) % 31 == 0;
        if (auto ec = init(zlib_header ? MAX_WBITS : -MAX_WBITS)) {
            return ec;
        }
        std::string_view head(reinterpret_cast<const char*>(header_), header_len_);
        return inflate_some(head, emit);
    }

    // Inflates from `in` until it is consumed or the stream ends; on return
    // `in` holds what follows the end of the stream (if it ended).
    std::error_code inflate_some(std::string_view& in, const sink& emit) {
        char* out = buffer();
        while (!in.empty()) {
            // avail_in is a uInt: feed at most 1 GiB per round.
            auto chunk = static_cast<uInt>(std::min<std::size_t>(in.size(), std::size_t{1} << 30));
            zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
            zs_.avail_in = chunk;
            for (;;) {
                zs_.next_out = reinterpret_cast<Bytef*>(out);
                zs_.avail_out = static_cast<uInt>(content_decoder::step_size);
                int rc = inflate(&zs_, Z_NO_FLUSH);
                std::size_t produced = content_decoder::step_size - zs_.avail_out;
                if (produced != 0) {
                    if (auto ec = emit(std::string_view(out, produced))) {
                        return ec;
                    }
                }
                if (rc == Z_STREAM_END) {
                    in.remove_prefix(chunk - zs_.avail_in);
                    state_ = format_ == format::gzip ? state::between_members : state::trailing;
                    return {};
                }
                if (rc == Z_BUF_ERROR && zs_.avail_in != 0) {
                    return failed();  // no progress although input and room remain
                }
                if (rc != Z_OK && rc != Z_BUF_ERROR) {
                    // Z_DATA_ERROR, Z_NEED_DICT (no dictionary to give), ...
                    return failed();
                }
                // A full output buffer may hide more pending output.
                if (zs_.avail_in == 0 && zs_.avail_out != 0) {
                    break;
                }
            }
            in.remove_prefix(chunk);
        }
        return {};
    }

    format format_;
    z_stream zs_{};
    bool initialized_ = false;
    bool saw_input_ = false;
    state state_ = state::in_stream;
    bool magic_seen_ = false;
    unsigned char header_[2] = {};
    std::size_t header_len_ = 0;
};

class brotli_stage final : public stage {
  public:
    brotli_stage() : state_(BrotliDecoderCreateInstance(nullptr, nullptr, nullptr)) {}
    ~brotli_stage() override {
        if (state_ != nullptr) {
            BrotliDecoderDestroyInstance(state_);
        }
    }
    brotli_stage(const brotli_stage&) = delete;
    brotli_stage& operator=(const brotli_stage&) = delete;

    bool ok() const noexcept { return state_ != nullptr; }

    std::error_code write(std::string_view in, const sink& emit) override {
        if (in.empty() || done_) {
            return {};  // after the end: trailing bytes are ignored
        }
        saw_input_ = true;
        auto* next_in = reinterpret_cast<const std::uint8_t*>(in.data());
        std::size_t avail_in = in.size();
        char* out = buffer();
        for (;;) {
            auto* next_out = reinterpret_cast<std::uint8_t*>(out);
            std::size_t avail_out = content_decoder::step_size;
            auto r = BrotliDecoderDecompressStream(state_, &avail_in, &next_in, &avail_out,
                                                   &next_out, nullptr);
            std::size_t produced = content_decoder::step_size - avail_out;
            if (produced != 0) {
                if (auto ec = emit(std::string_view(out, produced))) {
                    return ec;
                }
            }
            switch (r) {
                case BROTLI_DECODER_RESULT_SUCCESS:
                    done_ = true;
                    return {};
                case BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT:
                    continue;
                case BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT:
                    return {};
                case BROTLI_DECODER_RESULT_ERROR:
                default:
                    return failed();
            }
        }
    }

    std::error_code finish(const sink&) override {
        return !saw_input_ || done_ ? std::error_code{} : failed();
    }

  private:
    BrotliDecoderState* state_;
    bool saw_input_ = false;
    bool done_ = false;
};

class zstd_stage final : public stage {
  public:
    zstd_stage() : dctx_(ZSTD_createDCtx()) {
        if (dctx_ != nullptr &&
            ZSTD_isError(ZSTD_DCtx_setParameter(dctx_, ZSTD_d_windowLogMax, zstd_window_log_max))) {
            ZSTD_freeDCtx(dctx_);
            dctx_ = nullptr;
        }
    }
    ~zstd_stage() override { ZSTD_freeDCtx(dctx_); }
    zstd_stage(const zstd_stage&) = delete;
    zstd_stage& operator=(const zstd_stage&) = delete;

    bool ok() const noexcept { return dctx_ != nullptr; }

    std::error_code write(std::string_view in, const sink& emit) override {
        if (in.empty()) {
            return {};
        }
        saw_input_ = true;
        ZSTD_inBuffer input{in.data(), in.size(), 0};
        char* out = buffer();
        for (;;) {
            ZSTD_outBuffer output{out, content_decoder::step_size, 0};
            std::size_t consumed_before = input.pos;
            std::size_t r = ZSTD_decompressStream(dctx_, &output, &input);
            if (ZSTD_isError(r)) {
                return failed();
            }
            if (output.pos != 0) {
                if (auto ec = emit(std::string_view(out, output.pos))) {
                    return ec;
                }
            }
            // 0: a frame ended and everything is flushed. A call that moved
            // nothing (the last step exactly filled the buffer) says nothing
            // about the frame: it would report the next frame's header size.
            if (output.pos != 0 || input.pos != consumed_before) {
                frame_done_ = r == 0;
            }
            // Room left in the output means the decoder flushed all it could.
            if (input.pos == input.size && output.pos < output.size) {
                return {};
            }
        }
    }

    std::error_code finish(const sink&) override {
        return !saw_input_ || frame_done_ ? std::error_code{} : failed();
    }

  private:
    ZSTD_DCtx* dctx_;
    bool saw_input_ = false;
    bool frame_done_ = false;
};

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
    return a > std::numeric_limits<std::uint64_t>::max() - b
               ? std::numeric_limits<std::uint64_t>::max()
               : a + b;
}

// The stages in decoding order (the last listed coding first), with an output
// count and limit at every level.
class chain_decoder final : public content_decoder {
  public:
    chain_decoder(std::vector<std::unique_ptr<stage>> stages, std::uint64_t max_output)
        : stages_(std::move(stages)),
          count_(stages_.size() + 1, 0),
          limit_(stages_.size() + 1, std::numeric_limits<std::uint64_t>::max()) {
        // Intermediate data may be a little larger than the plaintext it
        // encodes; it still gets a bound so a stack cannot spin forever.
        std::uint64_t slack = saturating_add(saturating_add(max_output, max_output / 8), 64 * 1024);
        for (std::size_t level = 1; level < stages_.size(); ++level) {
            limit_[level] = slack;
        }
        limit_.back() = max_output;
    }

    std::error_code decode(std::string_view in, std::string& out) override {
        if (failed_) {
            return failed_;
        }
        out_ = &out;
        failed_ = push(0, in);
        return failed_;
    }

    std::error_code finish(std::string& out) override {
        if (failed_) {
            return failed_;
        }
        out_ = &out;
        for (std::size_t level = 0; level < stages_.size() && !failed_; ++level) {
            auto next = [this, level](std::string_view s) { return push(level + 1, s); };
            failed_ = stages_[level]->finish(sink(next));
        }
        return failed_;
    }

  private:
    // Delivers `data` to `level`: the stage of that index, or the caller's
    // string past the last stage.
    std::error_code push(std::size_t level, std::string_view data) {
        if (data.size() > limit_[level] - count_[level]) {
            return make_error_code(client_errc::decoded_too_large);
        }
        count_[level] += data.size();
        if (level == stages_.size()) {
            out_->append(data);
            return {};
        }
        auto next = [this, level](std::string_view s) { return push(level + 1, s); };
        return stages_[level]->write(data, sink(next));
    }

    std::vector<std::unique_ptr<stage>> stages_;
    std::vector<std::uint64_t> count_;
    std::vector<std::uint64_t> limit_;
    std::string* out_ = nullptr;
    std::error_code failed_;
};

}  // namespace

result<std::unique_ptr<content_decoder>> content_decoder::create(std::string_view content_encoding,
                                                                 std::uint64_t max_output,
                                                                 std::size_t max_codings) {
    std::vector<std::unique_ptr<stage>> stages;
    std::size_t pos = 0;
    while (pos <= content_encoding.size()) {
        auto comma = content_encoding.find(',', pos);
        auto end = comma == std::string_view::npos ? content_encoding.size() : comma;
        auto name = trim_ows(content_encoding.substr(pos, end - pos));
        pos = end + 1;
        if (name.empty() || iequals(name, "identity")) {
            continue;
        }
        if (stages.size() == max_codings) {
            return client_errc::unsupported_encoding;
        }
        if (iequals(name, "gzip") || iequals(name, "x-gzip")) {
            stages.push_back(std::make_unique<zlib_stage>(zlib_stage::format::gzip));
        } else if (iequals(name, "deflate")) {
            stages.push_back(std::make_unique<zlib_stage>(zlib_stage::format::deflate));
        } else if (iequals(name, "br")) {
            auto s = std::make_unique<brotli_stage>();
            if (!s->ok()) {
                return std::make_error_code(std::errc::not_enough_memory);
            }
            stages.push_back(std::move(s));
        } else if (iequals(name, "zstd")) {
            auto s = std::make_unique<zstd_stage>();
            if (!s->ok()) {
                return std::make_error_code(std::errc::not_enough_memory);
            }
            stages.push_back(std::move(s));
        } else {
            return client_errc::unsupported_encoding;
        }
    }
    // Codings are listed in the order they were applied: undo the last first.
    std::reverse(stages.begin(), stages.end());
    return std::unique_ptr<content_decoder>(
        std::make_unique<chain_decoder>(std::move(stages), max_output));
}

}  // namespace corvid::detail
