// The engine protocol codec (engine/protocol.hpp): every op in JSON and
// MessagePack, every decode error at its boundary, the data conversion
// (numbers, strings, UTF-8, nesting) and the encoders. Frames are checked
// against independent implementations: MessagePack built and read by
// msgpack-cxx (libmsgpack-cxx-dev), JSON read by Python's json module
// (/usr/bin/python3), and byte vectors worked out by hand from the
// MessagePack specification.

#include "engine/protocol.hpp"

#include <gtest/gtest.h>

#define MSGPACK_NO_BOOST
#include <msgpack.hpp>

#include <unistd.h>
#include <array>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using corvid::protocol_errc;
using corvid::engine::client_op;
using corvid::engine::decode_client_op;
using corvid::engine::decode_publish_request;
using corvid::engine::op_kind;
using corvid::engine::payload;
using corvid::engine::protocol_limits;
using corvid::engine::stream_position;
using corvid::engine::wire_format;

const protocol_limits defaults;

client_op decode_ok(wire_format f, std::string_view frame, const protocol_limits& l = defaults) {
    std::string_view reason;
    auto r = decode_client_op(f, frame, l, reason);
    EXPECT_TRUE(r.has_value()) << r.error().message() << ": " << reason;
    EXPECT_TRUE(reason.empty());
    return r ? std::move(r).value() : client_op{};
}

std::error_code decode_error(wire_format f, std::string_view frame,
                             const protocol_limits& l = defaults) {
    std::string_view reason;
    auto r = decode_client_op(f, frame, l, reason);
    if (!r) {
        EXPECT_FALSE(reason.empty()) << "a refusal says why";
    }
    return r.error();
}

std::error_code json_error(std::string_view frame, const protocol_limits& l = defaults) {
    return decode_error(wire_format::json, frame, l);
}
std::error_code mp_error(std::string_view frame, const protocol_limits& l = defaults) {
    return decode_error(wire_format::msgpack, frame, l);
}

// Bytes from a list of byte values.
std::string bytes(std::initializer_list<int> list) {
    std::string s;
    for (int b : list) {
        s.push_back(static_cast<char>(b));
    }
    return s;
}

// MessagePack frames built with msgpack-cxx (an independent writer).
class mp_frame {
  public:
    explicit mp_frame(std::uint32_t members) : pk_(buf_) { pk_.pack_map(members); }
    mp_frame& str(std::string_view s) {
        pk_.pack_str(static_cast<std::uint32_t>(s.size()));
        pk_.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
        return *this;
    }
    template <typename T>
    mp_frame& value(const T& v) {
        pk_.pack(v);
        return *this;
    }
    mp_frame& raw(std::string_view encoded) {
        buf_.write(encoded.data(), encoded.size());
        return *this;
    }
    msgpack::packer<msgpack::sbuffer>& packer() { return pk_; }
    std::string bytes() const { return {buf_.data(), buf_.size()}; }

  private:
    msgpack::sbuffer buf_;
    msgpack::packer<msgpack::sbuffer> pk_;
};

// A pub frame in JSON carrying `data_json`.
std::string json_pub(std::string_view data_json) {
    return std::string(R"({"op":"pub","ch":"c","data":)") + std::string(data_json) + "}";
}
// A pub frame in MessagePack carrying the encoded value `data_mp`.
std::string mp_pub(std::string_view data_mp) {
    return mp_frame(3).str("op").str("pub").str("ch").str("c").str("data").raw(data_mp).bytes();
}

payload json_data(std::string_view data_json, const protocol_limits& l = defaults) {
    return decode_ok(wire_format::json, json_pub(data_json), l).data;
}
payload mp_data(std::string_view data_mp, const protocol_limits& l = defaults) {
    return decode_ok(wire_format::msgpack, mp_pub(data_mp), l).data;
}

// The value of `key` in a MessagePack map read by msgpack-cxx, or nullptr.
const msgpack::object* mp_member(const msgpack::object& map, std::string_view key) {
    if (map.type != msgpack::type::MAP) {
        return nullptr;
    }
    for (std::uint32_t i = 0; i < map.via.map.size; ++i) {
        const auto& kv = map.via.map.ptr[i];
        if (kv.key.type == msgpack::type::STR &&
            std::string_view(kv.key.via.str.ptr, kv.key.via.str.size) == key) {
            return &kv.val;
        }
    }
    return nullptr;
}

std::string mp_string(const msgpack::object* o) {
    if (o == nullptr || o->type != msgpack::type::STR) {
        return "<not a str>";
    }
    return {o->via.str.ptr, o->via.str.size};
}

// --- every op, both formats -----------------------------------------------

TEST(protocol_decode, sub_json_and_msgpack) {
    for (const auto& [f, frame] :
         {std::pair{wire_format::json, std::string(R"({"op":"sub","ch":"news"})")},
          std::pair{wire_format::msgpack,
                    mp_frame(2).str("op").str("sub").str("ch").str("news").bytes()}}) {
        const auto op = decode_ok(f, frame);
        EXPECT_EQ(op.kind, op_kind::sub);
        EXPECT_EQ(op.channel, "news");
        EXPECT_FALSE(op.since);
    }
}

TEST(protocol_decode, sub_with_since) {
    const auto j =
        decode_ok(wire_format::json, R"({"op":"sub","ch":"a.b","since":{"epoch":7,"offset":42}})");
    ASSERT_TRUE(j.since);
    EXPECT_EQ(*j.since, (stream_position{7, 42}));

    mp_frame m(3);
    m.str("op").str("sub").str("ch").str("a.b").str("since");
    m.packer().pack_map(2);
    m.str("offset").value(std::uint64_t{42}).str("epoch").value(std::uint64_t{7});
    const auto p = decode_ok(wire_format::msgpack, m.bytes());
    ASSERT_TRUE(p.since);
    EXPECT_EQ(*p.since, (stream_position{7, 42}));

    // The largest value JavaScript holds exactly: 2^53 - 1.
    const auto big =
        decode_ok(wire_format::json,
                  R"({"op":"sub","ch":"x","since":{"epoch":9007199254740991,"offset":0}})");
    ASSERT_TRUE(big.since);
    EXPECT_EQ(big.since->epoch, 9007199254740991u);
    // since: null counts as absent.
    EXPECT_FALSE(decode_ok(wire_format::json, R"({"op":"sub","ch":"x","since":null})").since);
}

TEST(protocol_decode, unsub_json_and_msgpack) {
    const auto j = decode_ok(wire_format::json, R"({"ch":"room/1","op":"unsub"})");
    EXPECT_EQ(j.kind, op_kind::unsub);
    EXPECT_EQ(j.channel, "room/1");
    const auto m = decode_ok(wire_format::msgpack,
                             mp_frame(2).str("ch").str("room/1").str("op").str("unsub").bytes());
    EXPECT_EQ(m.kind, op_kind::unsub);
    EXPECT_EQ(m.channel, "room/1");
}

TEST(protocol_decode, pub_json) {
    const auto op = decode_ok(wire_format::json,
                              R"({ "op" : "pub", "ch":"news", "id":"c-1",
                                   "data" : { "text" : "hi", "n" : [1, 2.5, true, null] } })");
    EXPECT_EQ(op.kind, op_kind::pub);
    EXPECT_EQ(op.channel, "news");
    EXPECT_EQ(op.id, "c-1");
    EXPECT_EQ(op.data.json, R"({"text":"hi","n":[1,2.5,true,null]})");
    // Worked out from the MessagePack spec: fixmap 2, fixstr "text", fixstr
    // "hi", fixstr "n", fixarray 4: 1, float64 2.5, true, nil.
    EXPECT_EQ(op.data.msgpack,
              bytes({0x82, 0xa4, 't',  'e',  'x', 't', 0xa2, 'h', 'i', 0xa1, 'n',  0x94,
                     0x01, 0xcb, 0x40, 0x04, 0,   0,   0,    0,   0,   0,    0xc3, 0xc0}));
    EXPECT_EQ(&op.data.in(wire_format::json), &op.data.json);
    EXPECT_EQ(&op.data.in(wire_format::msgpack), &op.data.msgpack);
}

TEST(protocol_decode, pub_msgpack) {
    mp_frame m(4);
    m.str("op").str("pub").str("ch").str("news").str("id").str("c-1").str("data");
    m.packer().pack_map(2);
    m.str("text").str("hi").str("n");
    m.packer().pack_array(4);
    m.value(1).value(2.5).value(true);
    m.packer().pack_nil();
    const auto op = decode_ok(wire_format::msgpack, m.bytes());
    EXPECT_EQ(op.kind, op_kind::pub);
    EXPECT_EQ(op.id, "c-1");
    EXPECT_EQ(op.data.json, R"({"text":"hi","n":[1,2.5,true,null]})");
    EXPECT_EQ(op.data, json_data(R"({"text":"hi","n":[1,2.5,true,null]})"));
}

TEST(protocol_decode, pub_data_scalars_and_optional_id) {
    EXPECT_EQ(json_data("null").json, "null");
    EXPECT_EQ(json_data("null").msgpack, bytes({0xc0}));
    EXPECT_EQ(json_data(R"("x")").msgpack, bytes({0xa1, 'x'}));
    EXPECT_EQ(json_data("false").msgpack, bytes({0xc2}));
    // id absent, null or empty: no id.
    EXPECT_EQ(decode_ok(wire_format::json, json_pub("1")).id, "");
    EXPECT_EQ(decode_ok(wire_format::json, R"({"op":"pub","ch":"c","data":1,"id":null})").id, "");
}

TEST(protocol_decode, ping_json_and_msgpack) {
    EXPECT_EQ(decode_ok(wire_format::json, R"({"op":"ping"})").kind, op_kind::ping);
    // Hand-made: fixmap 1, fixstr "op", fixstr "ping".
    EXPECT_EQ(
        decode_ok(wire_format::msgpack, bytes({0x81, 0xa2, 'o', 'p', 0xa4, 'p', 'i', 'n', 'g'}))
            .kind,
        op_kind::ping);
}

TEST(protocol_decode, unknown_fields_are_ignored) {
    const auto j = decode_ok(
        wire_format::json,
        R"({"v":2,"op":"sub","extra":{"deep":[1,{"x":null}]},"ch":"n","data":"ignored"})");
    EXPECT_EQ(j.kind, op_kind::sub);
    EXPECT_TRUE(j.data.json.empty());

    mp_frame m(4);
    m.str("op").str("ping").str("bin").raw(bytes({0xc4, 0x02, 0x00, 0xff}));
    m.str("ext").raw(bytes({0xd4, 0x01, 0x07}));
    m.str("list");
    m.packer().pack_array(2);
    m.value(1).value(-1);
    EXPECT_EQ(decode_ok(wire_format::msgpack, m.bytes()).kind, op_kind::ping);
}

TEST(protocol_decode, publish_request) {
    auto r = decode_publish_request(R"({"ch":"news","data":{"a":1},"id":"x"})", defaults);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->kind, op_kind::pub);
    EXPECT_EQ(r->channel, "news");
    EXPECT_EQ(r->id, "x");
    EXPECT_EQ(r->data.json, R"({"a":1})");
    // An "op" is ignored, whatever it says.
    EXPECT_TRUE(decode_publish_request(R"({"op":"sub","ch":"n","data":1})", defaults));
    std::string_view reason;
    EXPECT_EQ(decode_publish_request(R"({"ch":"n"})", defaults, reason).error(),
              protocol_errc::bad_field);
    EXPECT_NE(reason.find("data"), std::string_view::npos);
    EXPECT_EQ(decode_publish_request("[1]", defaults).error(), protocol_errc::malformed);
    EXPECT_EQ(decode_publish_request(R"({"ch":"a b","data":1})", defaults).error(),
              protocol_errc::bad_channel);
}

// --- errors -----------------------------------------------------------------

TEST(protocol_errors, malformed) {
    for (const char* text : {"", "{", "[]", "\"op\"", "null", R"({"op":"ping"} x)",
                             R"({"op":"ping",})", R"({'op':'ping'})", R"({"a":"\ud800"})"}) {
        EXPECT_EQ(json_error(text), protocol_errc::malformed) << text;
    }
    EXPECT_EQ(mp_error(""), protocol_errc::malformed);
    EXPECT_EQ(mp_error(bytes({0x91, 0xc0})), protocol_errc::malformed);  // an array
    EXPECT_EQ(mp_error(bytes({0xa4, 'p', 'i', 'n', 'g'})), protocol_errc::malformed);
    EXPECT_EQ(mp_error(bytes({0xc1})), protocol_errc::malformed);
    const std::string ping = bytes({0x81, 0xa2, 'o', 'p', 0xa4, 'p', 'i', 'n', 'g'});
    EXPECT_EQ(mp_error(ping + bytes({0xc0})), protocol_errc::malformed);  // trailing byte
    for (std::size_t n = 0; n < ping.size(); ++n) {
        EXPECT_EQ(mp_error(ping.substr(0, n)), protocol_errc::malformed) << n;  // truncated
    }
    // Counts and lengths far beyond the frame cost nothing and fail.
    EXPECT_EQ(mp_error(bytes({0xdf, 0xff, 0xff, 0xff, 0xff})), protocol_errc::malformed);
    EXPECT_EQ(mp_error(mp_pub(bytes({0xdd, 0xff, 0xff, 0xff, 0xff, 0x01}))),
              protocol_errc::malformed);
    EXPECT_EQ(mp_error(mp_pub(bytes({0xdb, 0xff, 0xff, 0xff, 0xff, 'a'}))),
              protocol_errc::malformed);
    EXPECT_EQ(mp_error(mp_pub(bytes({0xcb, 0, 0}))), protocol_errc::malformed);
}

TEST(protocol_errors, duplicate_keys_are_malformed) {
    EXPECT_EQ(json_error(R"({"op":"ping","op":"ping"})"), protocol_errc::malformed);
    EXPECT_EQ(json_error(R"({"op":"sub","ch":"a","ch":"b"})"), protocol_errc::malformed);
    EXPECT_EQ(json_error(R"({"op":"ping","x":1,"x":2})"), protocol_errc::malformed);
    EXPECT_EQ(json_error(R"({"op":"sub","ch":"a","since":{"epoch":1,"offset":2,"epoch":1}})"),
              protocol_errc::malformed);
    EXPECT_EQ(json_error(json_pub(R"({"a":1,"b":{"c":1,"c":1}})")), protocol_errc::malformed);
    // The same key spelled with an escape is the same key.
    EXPECT_EQ(json_error(json_pub(R"({"a":1,"\u0061":1})")), protocol_errc::malformed);
    // Past the small-map path: 20 keys, the last repeating the first.
    std::string many = "{";
    for (int i = 0; i < 20; ++i) {
        many += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
    }
    EXPECT_TRUE(decode_client_op(wire_format::json, json_pub(many.substr(0, many.size() - 1) + "}"),
                                 defaults));
    EXPECT_EQ(json_error(json_pub(many + "\"k0\":0}")), protocol_errc::malformed);
    // The same keys in different objects are fine.
    EXPECT_TRUE(decode_client_op(wire_format::json, json_pub(R"([{"a":1},{"a":2}])"), defaults));

    EXPECT_EQ(mp_error(mp_frame(2).str("op").str("ping").str("op").str("ping").bytes()),
              protocol_errc::malformed);
    mp_frame d(2);
    d.str("k").value(1).str("k").value(2);
    EXPECT_EQ(mp_error(mp_pub(d.bytes())), protocol_errc::malformed);
}

TEST(protocol_errors, unknown_op) {
    EXPECT_EQ(json_error(R"({"op":"publish","ch":"a"})"), protocol_errc::unknown_op);
    EXPECT_EQ(json_error(R"({"op":"PING"})"), protocol_errc::unknown_op);
    EXPECT_EQ(json_error(R"({"op":""})"), protocol_errc::unknown_op);
    EXPECT_EQ(mp_error(mp_frame(1).str("op").str("subscribe").bytes()), protocol_errc::unknown_op);
}

TEST(protocol_errors, bad_field) {
    for (const char* text : {
             R"({})",                                          // no op
             R"({"op":null})",                                 // null op
             R"({"op":1})",                                    // op not a string
             R"({"op":["sub"]})",                              //
             R"({"op":"sub"})",                                // no ch
             R"({"op":"unsub","ch":null})",                    //
             R"({"op":"pub","ch":5,"data":1})",                // ch not a string
             R"({"op":"pub","ch":"c"})",                       // no data
             R"({"op":"pub","ch":"c","data":1,"id":7})",       // id not a string
             R"({"op":"sub","ch":"c","since":5})",             // since not an object
             R"({"op":"sub","ch":"c","since":{"epoch":1}})",   // no offset
             R"({"op":"sub","ch":"c","since":{"offset":1}})",  // no epoch
             R"({"op":"sub","ch":"c","since":{"epoch":1,"offset":-1}})",
             R"({"op":"sub","ch":"c","since":{"epoch":1.0,"offset":1}})",
             R"({"op":"sub","ch":"c","since":{"epoch":"1","offset":1}})",
             R"({"op":"sub","ch":"c","since":{"epoch":1,"offset":9007199254740992}})",  // 2^53
             R"({"op":"pub","ch":"c","data":1e400})",   // beyond float64
             R"({"op":"pub","ch":"c","data":-1e400})",  //
         }) {
        EXPECT_EQ(json_error(text), protocol_errc::bad_field) << text;
    }
    // MessagePack: bin and ext data have no JSON form; keys must be strings;
    // floats must be finite; since numbers unsigned below 2^53.
    std::string_view reason;
    auto r =
        decode_client_op(wire_format::msgpack, mp_pub(bytes({0xc4, 0x01, 0x00})), defaults, reason);
    EXPECT_EQ(r.error(), protocol_errc::bad_field);
    EXPECT_NE(reason.find("bin or ext"), std::string_view::npos) << reason;
    EXPECT_EQ(mp_error(mp_pub(bytes({0xd6, 0xff, 0, 0, 0, 1}))),
              protocol_errc::bad_field);  // timestamp
    EXPECT_EQ(mp_error(mp_pub(bytes({0xc7, 0x00, 0x05}))), protocol_errc::bad_field);
    EXPECT_EQ(mp_error(mp_pub(bytes({0x81, 0x01, 0x02}))), protocol_errc::bad_field);  // int key
    EXPECT_EQ(mp_error(mp_pub(bytes({0x81, 0xc4, 0x01, 'k', 0x02}))), protocol_errc::bad_field);
    EXPECT_EQ(mp_error(bytes({0x81, 0x01, 0x02})), protocol_errc::bad_field);  // envelope key
    EXPECT_EQ(mp_error(mp_pub(bytes({0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0}))),
              protocol_errc::bad_field);                                                     // NaN
    EXPECT_EQ(mp_error(mp_pub(bytes({0xca, 0xff, 0x80, 0, 0}))), protocol_errc::bad_field);  // -inf
    EXPECT_EQ(mp_error(mp_frame(2).str("op").str("pub").str("ch").value(1).bytes()),
              protocol_errc::bad_field);
    EXPECT_EQ(
        mp_error(mp_frame(2).str("op").str("sub").str("ch").raw(bytes({0xc4, 1, 'a'})).bytes()),
        protocol_errc::bad_field);  // a bin channel name
    mp_frame neg(3);
    neg.str("op").str("sub").str("ch").str("c").str("since");
    neg.packer().pack_map(2);
    neg.str("epoch").value(-1).str("offset").value(1);
    EXPECT_EQ(mp_error(neg.bytes()), protocol_errc::bad_field);
    mp_frame fl(3);
    fl.str("op").str("sub").str("ch").str("c").str("since");
    fl.packer().pack_map(2);
    // float64 1.0, by hand (msgpack-cxx would pack an integral double as an int).
    fl.str("epoch").raw(bytes({0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0})).str("offset").value(1);
    EXPECT_EQ(mp_error(fl.bytes()), protocol_errc::bad_field);
}

TEST(protocol_errors, bad_channel_at_the_length_limit) {
    for (const char* ch :
         {"", "a b", "news*", "n?", "caf\xc3\xa9", "a\\tb", "a\\\"b", "a\\u0000", "x,y"}) {
        EXPECT_EQ(json_error(std::string(R"({"op":"sub","ch":")") + ch + "\"}"),
                  protocol_errc::bad_channel)
            << ch;
    }
    const std::string all = "AZaz09_-.:@/=+";
    EXPECT_EQ(decode_ok(wire_format::json, R"({"op":"sub","ch":")" + all + "\"}").channel, all);

    const std::string max(255, 'c');
    EXPECT_EQ(decode_ok(wire_format::json, R"({"op":"sub","ch":")" + max + "\"}").channel, max);
    EXPECT_EQ(json_error(R"({"op":"sub","ch":")" + max + "c\"}"), protocol_errc::bad_channel);
    EXPECT_EQ(mp_error(mp_frame(2).str("op").str("sub").str("ch").str(max + "c").bytes()),
              protocol_errc::bad_channel);
    protocol_limits small;
    small.max_channel_length = 3;
    EXPECT_TRUE(corvid::engine::valid_channel_name("abc", small));
    EXPECT_FALSE(corvid::engine::valid_channel_name("abcd", small));
}

TEST(protocol_errors, id_length_limit) {
    const std::string max(128, 'i');
    EXPECT_EQ(
        decode_ok(wire_format::json, R"({"op":"pub","ch":"c","data":1,"id":")" + max + "\"}").id,
        max);
    EXPECT_EQ(json_error(R"({"op":"pub","ch":"c","data":1,"id":")" + max + "i\"}"),
              protocol_errc::too_large);
    EXPECT_EQ(mp_error(mp_frame(4)
                           .str("op")
                           .str("pub")
                           .str("ch")
                           .str("c")
                           .str("data")
                           .value(1)
                           .str("id")
                           .str(max + "i")
                           .bytes()),
              protocol_errc::too_large);
}

TEST(protocol_errors, data_size_limit_exact) {
    protocol_limits l;
    l.max_data_bytes = 100;
    // A string of 98 bytes is exactly 100 bytes of JSON (and 100 of MessagePack: str8).
    const std::string s98(98, 'x');
    const auto at = json_data("\"" + s98 + "\"", l);
    EXPECT_EQ(at.json.size(), 100u);
    EXPECT_EQ(at.msgpack.size(), 100u);
    EXPECT_EQ(json_error(json_pub("\"" + s98 + "x\""), l), protocol_errc::too_large);
    EXPECT_EQ(mp_data(at.msgpack, l), at);
    EXPECT_EQ(mp_error(mp_pub(bytes({0xd9, 99}) + s98 + "x"), l), protocol_errc::too_large);

    // The MessagePack form can be the larger one: 1.0 is 3 bytes of JSON, 9 of MessagePack.
    l.max_data_bytes = 9;
    EXPECT_EQ(json_data("1.0", l).msgpack.size(), 9u);
    l.max_data_bytes = 8;
    EXPECT_EQ(json_error(json_pub("1.0"), l), protocol_errc::too_large);
    // And the JSON form: 4 control bytes become 24 bytes of escapes (+2 quotes).
    l.max_data_bytes = 26;
    EXPECT_EQ(mp_data(bytes({0xa4, 1, 2, 3, 4}), l).json, R"("\u0001\u0002\u0003\u0004")");
    l.max_data_bytes = 25;
    EXPECT_EQ(mp_error(mp_pub(bytes({0xa4, 1, 2, 3, 4})), l), protocol_errc::too_large);
}

TEST(protocol_errors, depth_limit_exact) {
    protocol_limits l;
    l.max_depth = 3;
    EXPECT_EQ(json_data("[[[1]]]", l).json, "[[[1]]]");
    EXPECT_EQ(json_data(R"({"a":{"b":[]}})", l).json, R"({"a":{"b":[]}})");
    EXPECT_EQ(json_error(json_pub("[[[[1]]]]"), l), protocol_errc::too_large);
    EXPECT_EQ(json_error(json_pub(R"({"a":{"b":[{}]}})"), l), protocol_errc::too_large);
    EXPECT_EQ(json_error(json_pub("[[[[[[[[[[[[1]]]]]]]]]]]]"), l), protocol_errc::too_large);
    EXPECT_EQ(mp_data(bytes({0x91, 0x91, 0x91, 0x01}), l).json, "[[[1]]]");
    EXPECT_EQ(mp_error(mp_pub(bytes({0x91, 0x91, 0x91, 0x91, 0x01})), l), protocol_errc::too_large);
    // Other members, unknown ones included, may nest up to 512 whatever max_depth says.
    const auto nested = [](std::size_t n, char open, char close) {
        return std::string(n, open) + "1" + std::string(n, close);
    };
    EXPECT_EQ(
        decode_ok(wire_format::json, R"({"op":"ping","x":)" + nested(512, '[', ']') + "}", l).kind,
        op_kind::ping);
    EXPECT_EQ(json_error(R"({"op":"ping","x":)" + nested(513, '[', ']') + "}", l),
              protocol_errc::too_large);
    const std::string ping_x = mp_frame(2).str("op").str("ping").str("x").bytes();
    EXPECT_EQ(decode_ok(wire_format::msgpack, ping_x + std::string(512, '\x91') + "\x01", l).kind,
              op_kind::ping);
    EXPECT_EQ(mp_error(ping_x + std::string(513, '\x91') + "\x01", l), protocol_errc::too_large);
    // And so may data when max_depth asks for more.
    l.max_depth = 100000;
    EXPECT_TRUE(decode_client_op(wire_format::json, json_pub(nested(512, '[', ']')), l));
    EXPECT_EQ(json_error(json_pub(nested(513, '[', ']')), l), protocol_errc::too_large);
    EXPECT_TRUE(
        decode_client_op(wire_format::msgpack, mp_pub(std::string(512, '\x91') + "\x01"), l));
    EXPECT_EQ(mp_error(mp_pub(std::string(513, '\x91') + "\x01"), l), protocol_errc::too_large);
    // Far deeper than anything: still a clean refusal.
    const std::string deep = std::string(100000, '[') + std::string(100000, ']');
    EXPECT_EQ(json_error(json_pub(deep)), protocol_errc::too_large);
    EXPECT_EQ(mp_error(mp_pub(std::string(100000, '\x91'))), protocol_errc::too_large);
    l.max_depth = 0;
    EXPECT_EQ(json_data("7", l).json, "7");
    EXPECT_EQ(json_error(json_pub("[]"), l), protocol_errc::too_large);
    EXPECT_EQ(mp_error(mp_pub(bytes({0x90})), l), protocol_errc::too_large);
    // since still fits.
    EXPECT_TRUE(
        decode_ok(wire_format::json, R"({"op":"sub","ch":"c","since":{"epoch":1,"offset":2}})", l)
            .since);
}

TEST(protocol_errors, category) {
    const std::error_code ec = protocol_errc::bad_channel;
    EXPECT_STREQ(ec.category().name(), "corvid.engine.protocol");
    // The enum value is the wire code.
    EXPECT_EQ(static_cast<int>(protocol_errc::malformed), 1);
    EXPECT_EQ(static_cast<int>(protocol_errc::too_large), 5);
    EXPECT_EQ(static_cast<int>(protocol_errc::internal), 11);
    for (int v = 1; v <= 11; ++v) {
        const auto m = std::error_code(v, ec.category()).message();
        EXPECT_EQ(m.find("unknown"), std::string::npos) << v << ": " << m;
        EXPECT_GT(m.size(), 20u);
    }
}

// --- data conversion: numbers, strings ---------------------------------------

TEST(protocol_data, integers_keep_their_64_bit_value) {
    const auto u = json_data("18446744073709551615");
    EXPECT_EQ(u.json, "18446744073709551615");
    EXPECT_EQ(u.msgpack, bytes({0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}));
    const auto n = json_data("-9223372036854775808");
    EXPECT_EQ(n.json, "-9223372036854775808");
    EXPECT_EQ(n.msgpack, bytes({0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0}));
    // Smallest encodings, from the spec's table.
    EXPECT_EQ(json_data("127").msgpack, bytes({0x7f}));
    EXPECT_EQ(json_data("128").msgpack, bytes({0xcc, 0x80}));
    EXPECT_EQ(json_data("256").msgpack, bytes({0xcd, 0x01, 0x00}));
    EXPECT_EQ(json_data("65536").msgpack, bytes({0xce, 0x00, 0x01, 0x00, 0x00}));
    EXPECT_EQ(json_data("4294967296").msgpack, bytes({0xcf, 0, 0, 0, 1, 0, 0, 0, 0}));
    EXPECT_EQ(json_data("-1").msgpack, bytes({0xff}));
    EXPECT_EQ(json_data("-32").msgpack, bytes({0xe0}));
    EXPECT_EQ(json_data("-33").msgpack, bytes({0xd0, 0xdf}));
    EXPECT_EQ(json_data("-129").msgpack, bytes({0xd1, 0xff, 0x7f}));
    EXPECT_EQ(json_data("-32769").msgpack, bytes({0xd2, 0xff, 0xff, 0x7f, 0xff}));
    EXPECT_EQ(json_data("-2147483649").msgpack,
              bytes({0xd3, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff}));
    EXPECT_EQ(json_data("-0").json, "0");
    // MessagePack's signed forms holding non-negative values come out canonical.
    EXPECT_EQ(mp_data(bytes({0xd0, 0x05})).msgpack, bytes({0x05}));
    EXPECT_EQ(mp_data(bytes({0xd3, 0, 0, 0, 0, 0, 0, 0, 0x80})).msgpack, bytes({0xcc, 0x80}));
    EXPECT_EQ(mp_data(bytes({0xcd, 0x00, 0x01})).msgpack, bytes({0x01}));
    EXPECT_EQ(mp_data(bytes({0xd1, 0xff, 0xff})).json, "-1");
    EXPECT_EQ(mp_data(bytes({0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})).json,
              "18446744073709551615");
}

TEST(protocol_data, floats) {
    const auto tenth = json_data("0.1");
    EXPECT_EQ(tenth.json, "0.1");
    EXPECT_EQ(tenth.msgpack, bytes({0xcb, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a}));
    EXPECT_EQ(json_data("1e300").json, "1e+300");
    EXPECT_EQ(json_data("1E300").json, "1e+300");
    EXPECT_EQ(json_data("1.0").json, "1.0");
    EXPECT_EQ(json_data("1.0").msgpack, bytes({0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0}));
    EXPECT_EQ(json_data("-0.0").json, "-0.0");
    EXPECT_EQ(json_data("2.5e-8").json, "2.5e-08");
    EXPECT_EQ(json_data("100.0").json, "100.0");
    EXPECT_EQ(json_data("5e-324").json, "5e-324");
    EXPECT_EQ(json_data("1.7976931348623157e308").json, "1.7976931348623157e+308");
    // An integer literal beyond 64 bits reads as float64 (JSON.stringify(2**64)).
    const auto big = json_data("18446744073709552000");
    EXPECT_EQ(big.json, "18446744073709551616.0");  // libstdc++ writes the exact integer
    EXPECT_EQ(big.msgpack, bytes({0xcb, 0x43, 0xf0, 0, 0, 0, 0, 0, 0}));
    EXPECT_EQ(json_data(R"({"a":"18446744073709551616","b":-99999999999999999999})").json,
              R"({"a":"18446744073709551616","b":-1e+20})");
    // float32 from MessagePack is widened to float64.
    const auto half = mp_data(bytes({0xca, 0x3f, 0x00, 0x00, 0x00}));
    EXPECT_EQ(half.json, "0.5");
    EXPECT_EQ(half.msgpack, bytes({0xcb, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0}));
    EXPECT_EQ(mp_data(bytes({0xca, 0x3d, 0xcc, 0xcc, 0xcd})).json, "0.10000000149011612");
}

TEST(protocol_data, strings_utf8_and_escapes) {
    // JSON input: simdjson unescapes, the writer re-escapes minimally.
    EXPECT_EQ(json_data(R"("a\/b\u00e9\"\\\n\t\u0001")").json,
              "\"a/b\xc3\xa9\\\"\\\\\\n\\t\\u0001\"");
    // U+2028 and U+2029, raw or escaped, come out escaped: the text is one line.
    EXPECT_EQ(json_data("\"x\xe2\x80\xa8y\xe2\x80\xa9z\"").json, R"("x\u2028y\u2029z")");
    EXPECT_EQ(json_data(R"("\u2028")").msgpack, bytes({0xa3, 0xe2, 0x80, 0xa8}));
    // Other three-byte characters starting E2 pass as they are (U+20AC, U+2027).
    EXPECT_EQ(json_data("\"\xe2\x82\xac\xe2\x80\xa7\"").json, "\"\xe2\x82\xac\xe2\x80\xa7\"");
    EXPECT_EQ(json_data(R"("\ud83d\ude00")").msgpack, bytes({0xa4, 0xf0, 0x9f, 0x98, 0x80}));
    EXPECT_EQ(json_data("\"\x7f\"").json, "\"\x7f\"");
    // Key escaping too.
    EXPECT_EQ(json_data(R"({"a\nb":1})").json, R"({"a\nb":1})");
    // String headers: fixstr up to 31, then str8, str16.
    EXPECT_EQ(json_data("\"" + std::string(31, 'a') + "\"").msgpack[0], '\xbf');
    EXPECT_EQ(json_data("\"" + std::string(32, 'a') + "\"").msgpack.substr(0, 2),
              bytes({0xd9, 32}));
    EXPECT_EQ(json_data("\"" + std::string(256, 'a') + "\"").msgpack.substr(0, 3),
              bytes({0xda, 0x01, 0x00}));

    // MessagePack strings must be UTF-8 (strict: no overlongs, surrogates, > U+10FFFF).
    for (const auto& bad :
         {bytes({0xa2, 0xc0, 0x80}), bytes({0xa3, 0xed, 0xa0, 0x80}),
          bytes({0xa4, 0xf4, 0x90, 0x80, 0x80}), bytes({0xa2, 0xe2, 0x82}), bytes({0xa1, 0xff}),
          bytes({0xa1, 0x80}), bytes({0xa3, 0xe0, 0x80, 0x80})}) {
        EXPECT_EQ(mp_error(mp_pub(bad)), protocol_errc::bad_field);
        EXPECT_EQ(mp_error(mp_pub(bytes({0x81}) + bad + bytes({0x01}))), protocol_errc::bad_field);
    }
    EXPECT_EQ(mp_error(mp_frame(4)
                           .str("op")
                           .str("pub")
                           .str("ch")
                           .str("c")
                           .str("data")
                           .value(1)
                           .str("id")
                           .raw(bytes({0xa1, 0xff}))
                           .bytes()),
              protocol_errc::bad_field);
    EXPECT_EQ(mp_data(bytes({0xa4, 0xf0, 0x9f, 0x98, 0x80})).json, "\"\xf0\x9f\x98\x80\"");
    EXPECT_EQ(mp_data(bytes({0xa3, 0xe2, 0x80, 0xa9})).json, R"("\u2029")");
    // JSON text that is not UTF-8 is not JSON.
    EXPECT_EQ(json_error(json_pub("\"\xc0\x80\"")), protocol_errc::malformed);
    // str8 holding a short string comes out as fixstr.
    EXPECT_EQ(mp_data(bytes({0xd9, 0x01, 'a'})).msgpack, bytes({0xa1, 'a'}));
}

TEST(protocol_data, containers_headers) {
    std::string arr16 = "[";
    std::string map16 = "{";
    for (int i = 0; i < 16; ++i) {
        arr16 += (i ? ",0" : "0");
        map16 += (i ? ",\"" : "\"") + std::string(1, static_cast<char>('a' + i)) + "\":0";
    }
    const auto a = json_data(arr16 + "]");
    EXPECT_EQ(a.msgpack.substr(0, 3), bytes({0xdc, 0x00, 0x10}));
    EXPECT_EQ(json_data(map16 + "}").msgpack.substr(0, 3), bytes({0xde, 0x00, 0x10}));
    EXPECT_EQ(json_data("[]").msgpack, bytes({0x90}));
    EXPECT_EQ(json_data("{}").msgpack, bytes({0x80}));
    // array32 / map32 holding few elements come out with the small header.
    EXPECT_EQ(mp_data(bytes({0xdd, 0, 0, 0, 1, 0xc3})).msgpack, bytes({0x91, 0xc3}));
    EXPECT_EQ(mp_data(bytes({0xdf, 0, 0, 0, 1, 0xa1, 'k', 0xc2})).json, R"({"k":false})");
}

// Decoded data re-encodes identically, both ways.
TEST(protocol_data, round_trips) {
    for (const char* text :
         {"null", "true", "0", "-1", "18446744073709551615", "-9223372036854775808", "0.1", "1e300",
          "-0.0", "1.0", "18446744073709552000", "\"\"", R"("a\u2028\"\\\u0000")",
          R"({"a":[1,{"b":null},[],{}],"c":"\u00e9\ud83d\ude00","d":-123.456e-7})",
          R"([[[[[[[[1]]]]]]]])"}) {
        const payload from_json = json_data(text);
        // JSON -> MessagePack -> back.
        const payload from_mp = mp_data(from_json.msgpack);
        EXPECT_EQ(from_mp, from_json) << text;
        // The JSON text decodes to itself.
        EXPECT_EQ(json_data(from_json.json), from_json) << text;
    }
}

// Larger than the writers' buffer, in many small tokens and in long strings:
// canonical minified input comes back byte for byte.
TEST(protocol_data, large_data_round_trips) {
    std::string text = "[";
    for (int i = 0; i < 1500; ++i) {
        text += (i ? "," : "") + std::string(R"({"k":)") + std::to_string(i * 7919 - 5000) +
                R"(,"s":"x\u2028\n","f":)" + std::to_string(i) + ".5}";
    }
    text += ",\"" + std::string(3000, 'y') + "\"]";
    ASSERT_LT(text.size(), defaults.max_data_bytes);
    const payload p = json_data(text);
    EXPECT_EQ(p.json, text);
    EXPECT_EQ(mp_data(p.msgpack), p);
    auto oh = msgpack::unpack(p.msgpack.data(), p.msgpack.size());
    ASSERT_EQ(oh.get().type, msgpack::type::ARRAY);
    EXPECT_EQ(oh.get().via.array.size, 1501u);
    EXPECT_EQ(mp_member(oh.get().via.array.ptr[1499], "k")->as<std::int64_t>(), 1499 * 7919 - 5000);
    EXPECT_EQ(oh.get().via.array.ptr[1500].via.str.size, 3000u);
}

// The JSON parser is per thread: decoding from several threads at once is safe.
TEST(protocol_decode, concurrent_threads) {
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([t, &failures] {
            for (int i = 0; i < 500; ++i) {
                const std::string ch = "c" + std::to_string(t);
                const std::string data = "[" + std::to_string(t) + "," + std::to_string(i) + "]";
                auto r = decode_client_op(
                    wire_format::json, R"({"op":"pub","ch":")" + ch + R"(","data":)" + data + "}",
                    defaults);
                if (!r || r->channel != ch || r->data.json != data) {
                    ++failures;
                }
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    EXPECT_EQ(failures.load(), 0);
}

// --- encoders ---------------------------------------------------------------

std::string enc(wire_format f, void (*fn)(wire_format, std::string&)) {
    std::string out;
    fn(f, out);
    return out;
}

TEST(protocol_encode, json_frames) {
    std::string out;
    corvid::engine::encode_ready(wire_format::json, out, "c-17");
    EXPECT_EQ(out, R"({"op":"ready","conn":"c-17"})");
    out.clear();
    corvid::engine::encode_subok(wire_format::json, out, "news", {3, 9}, std::nullopt);
    EXPECT_EQ(out, R"({"op":"subok","ch":"news","epoch":3,"offset":9})");
    out.clear();
    corvid::engine::encode_subok(wire_format::json, out, "news", {3, 9}, true);
    EXPECT_EQ(out, R"({"op":"subok","ch":"news","epoch":3,"offset":9,"recovered":true})");
    out.clear();
    const payload data = json_data(R"({"t":"x"})");
    corvid::engine::encode_msg(wire_format::json, out, "news", 12, "id-1", data);
    EXPECT_EQ(out, R"({"op":"msg","ch":"news","offset":12,"id":"id-1","data":{"t":"x"}})");
    out.clear();
    corvid::engine::encode_msg(wire_format::json, out, "news", 12, "", data);
    EXPECT_EQ(out, R"({"op":"msg","ch":"news","offset":12,"data":{"t":"x"}})");
    out.clear();
    corvid::engine::encode_err(wire_format::json, out, protocol_errc::bad_channel,
                               "bad \"name\"\n");
    EXPECT_EQ(out, R"({"op":"err","code":4,"reason":"bad \"name\"\n"})");
    EXPECT_EQ(enc(wire_format::json, corvid::engine::encode_pong), R"({"op":"pong"})");
    // Encoders append.
    out = "x";
    corvid::engine::encode_pong(wire_format::json, out);
    EXPECT_EQ(out, R"(x{"op":"pong"})");
}

TEST(protocol_encode, msgpack_frames_by_hand) {
    EXPECT_EQ(enc(wire_format::msgpack, corvid::engine::encode_pong),
              bytes({0x81, 0xa2, 'o', 'p', 0xa4, 'p', 'o', 'n', 'g'}));
    std::string out;
    corvid::engine::encode_subok(wire_format::msgpack, out, "n", {300, 2}, false);
    EXPECT_EQ(out, bytes({0x85, 0xa2, 'o',  'p', 0xa5, 's', 'u', 'b', 'o', 'k',  0xa2,
                          'c',  'h',  0xa1, 'n', 0xa5, 'e', 'p', 'o', 'c', 'h',  0xcd,
                          0x01, 0x2c, 0xa6, 'o', 'f',  'f', 's', 'e', 't', 0x02, 0xa9,
                          'r',  'e',  'c',  'o', 'v',  'e', 'r', 'e', 'd', 0xc2}));
}

TEST(protocol_encode, msgpack_frames_read_by_msgpack_cxx) {
    const payload data = json_data(R"({"n":[1,-2,0.5],"s":"\u00e9"})");
    std::string out;
    corvid::engine::encode_msg(wire_format::msgpack, out, "news", 4503599627370496, "i", data);
    auto oh = msgpack::unpack(out.data(), out.size());
    const auto& m = oh.get();
    ASSERT_EQ(m.type, msgpack::type::MAP);
    EXPECT_EQ(m.via.map.size, 5u);
    EXPECT_EQ(mp_string(mp_member(m, "op")), "msg");
    EXPECT_EQ(mp_string(mp_member(m, "ch")), "news");
    EXPECT_EQ(mp_string(mp_member(m, "id")), "i");
    ASSERT_NE(mp_member(m, "offset"), nullptr);
    EXPECT_EQ(mp_member(m, "offset")->as<std::uint64_t>(), 4503599627370496u);
    const auto* d = mp_member(m, "data");
    ASSERT_NE(d, nullptr);
    const auto* n = mp_member(*d, "n");
    ASSERT_NE(n, nullptr);
    ASSERT_EQ(n->type, msgpack::type::ARRAY);
    ASSERT_EQ(n->via.array.size, 3u);
    EXPECT_EQ(n->via.array.ptr[0].as<int>(), 1);
    EXPECT_EQ(n->via.array.ptr[1].type, msgpack::type::NEGATIVE_INTEGER);
    EXPECT_EQ(n->via.array.ptr[1].as<int>(), -2);
    EXPECT_EQ(n->via.array.ptr[2].type, msgpack::type::FLOAT64);
    EXPECT_EQ(n->via.array.ptr[2].as<double>(), 0.5);
    EXPECT_EQ(mp_string(mp_member(*d, "s")), "\xc3\xa9");

    out.clear();
    corvid::engine::encode_err(wire_format::msgpack, out, protocol_errc::rate_limited, "slow");
    auto eh = msgpack::unpack(out.data(), out.size());
    EXPECT_EQ(mp_string(mp_member(eh.get(), "op")), "err");
    EXPECT_EQ(mp_member(eh.get(), "code")->as<int>(), 10);
    EXPECT_EQ(mp_string(mp_member(eh.get(), "reason")), "slow");

    out.clear();
    corvid::engine::encode_ready(wire_format::msgpack, out, "conn-1");
    auto rh = msgpack::unpack(out.data(), out.size());
    EXPECT_EQ(mp_string(mp_member(rh.get(), "conn")), "conn-1");
}

TEST(protocol_encode, invalid_utf8_arguments_are_replaced) {
    std::string out;
    corvid::engine::encode_err(wire_format::json, out, protocol_errc::internal,
                               "a\xff"
                               "b\xc3");
    EXPECT_EQ(out,
              "{\"op\":\"err\",\"code\":11,\"reason\":\"a\xef\xbf\xbd"
              "b\xef\xbf\xbd\"}");
    out.clear();
    corvid::engine::encode_err(wire_format::msgpack, out, protocol_errc::internal, "\xff");
    EXPECT_EQ(out.substr(out.size() - 4), bytes({0xa3, 0xef, 0xbf, 0xbd}));
}

TEST(protocol_encode, sse_event) {
    const payload data = json_data(R"({"x":"line1\nline2\u2028"})");
    std::string out;
    corvid::engine::encode_sse_msg(out, 77, "news", 5, "", data);
    EXPECT_EQ(out,
              "event: msg\nid: 77:5\ndata: "
              R"({"op":"msg","ch":"news","offset":5,"data":{"x":"line1\nline2\u2028"}})"
              "\n\n");
}

// Frames the encoders produce decode back (as the client ops that carry the
// same data), with the data byte for byte.
TEST(protocol_encode, msg_data_decodes_back) {
    const payload data = json_data(R"([1,"\u2029",{"k":-0.25}])");
    for (const auto f : {wire_format::json, wire_format::msgpack}) {
        std::string out;
        corvid::engine::encode_msg(f, out, "c", 1, "id", data);
        // A msg frame is a pub frame with other members: as a pub (op replaced) it decodes.
        if (f == wire_format::json) {
            out.replace(out.find("\"msg\""), 5, "\"pub\"");
        } else {
            out.replace(out.find("\xa3msg"), 4, "\xa3pub");
        }
        const auto op = decode_ok(f, out);
        EXPECT_EQ(op.data, data);
        EXPECT_EQ(op.id, "id");
    }
}

// --- Python's json module reads what the JSON writer produces --------------

std::string run_python3(const std::string& script, const std::string& input, int& status) {
    char script_path[] = "/tmp/corvid-protocol-py-XXXXXX";
    char input_path[] = "/tmp/corvid-protocol-in-XXXXXX";
    const int fd1 = mkstemp(script_path);
    const int fd2 = mkstemp(input_path);
    EXPECT_GE(fd1, 0);
    EXPECT_GE(fd2, 0);
    close(fd1);
    close(fd2);
    std::ofstream(script_path) << script;
    std::ofstream(input_path, std::ios::binary) << input;
    const std::string cmd =
        "timeout 60 /usr/bin/python3 " + std::string(script_path) + " < " + input_path + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    std::string text;
    std::array<char, 4096> buf{};
    while (p != nullptr) {
        const auto n = fread(buf.data(), 1, buf.size(), p);
        if (n == 0) {
            break;
        }
        text.append(buf.data(), n);
    }
    status = p != nullptr ? pclose(p) : -1;
    unlink(script_path);
    unlink(input_path);
    return text;
}

TEST(protocol_interop, python_json_reads_the_json_writer) {
    // Each case: data in (JSON or MessagePack), and the Python value it must be.
    struct item {
        std::string json;
        std::string python;
    };
    std::vector<item> items;
    const auto add_json = [&](std::string_view in, std::string python) {
        items.push_back({json_data(in).json, std::move(python)});
    };
    const auto add_mp = [&](const std::string& in, std::string python) {
        items.push_back({mp_data(in).json, std::move(python)});
    };
    add_json("18446744073709551615", "18446744073709551615");
    add_json("-9223372036854775808", "-9223372036854775808");
    add_json("0.1", "0.1");
    add_json("1e300", "1e300");
    add_json("1.0", "1.0");
    add_json("-0.0", "-0.0");
    add_json("18446744073709552000", "18446744073709551616.0");
    add_json(R"("\u2028\u2029\u0000\u001f\"\\/\u00e9\ud83d\ude00")",
             R"('\u2028\u2029\x00\x1f"\\/\u00e9\U0001F600')");
    add_json(R"({"a":[true,false,null],"b":{}})", R"({'a': [True, False, None], 'b': {}})");
    add_mp(bytes({0xca, 0x3d, 0xcc, 0xcc, 0xcd}), "0.10000000149011612");
    add_mp(bytes({0xa6, 0x01, '\n', 0x7f, 0xe2, 0x80, 0xa8}), R"('\x01\n\x7f\u2028')");
    add_mp(bytes({0x82, 0xa1, 'k',  0xd3, 0x80, 0,    0,    0,    0,    0,    0,   0,
                  0xa1, 'f',  0xcb, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18}),
           "{'k': -9223372036854775808, 'f': 3.141592653589793}");
    // And whole frames, as the client reads them.
    std::string frame;
    corvid::engine::encode_msg(wire_format::json, frame, "n", 9007199254740991, "\xe2\x80\xa8",
                               json_data(R"({"z":[0.5]})"));
    items.push_back({frame,
                     R"({'op': 'msg', 'ch': 'n', 'offset': 9007199254740991, 'id': '\u2028', )"
                     R"('data': {'z': [0.5]}})"});

    std::string input;
    std::string expected = "expected = [\n";
    for (const auto& it : items) {
        // One line each: nothing the writer emits may break a line.
        ASSERT_EQ(it.json.find_first_of("\r\n"), std::string::npos) << it.json;
        ASSERT_EQ(it.json.find("\xe2\x80\xa8"), std::string::npos) << it.json;
        ASSERT_EQ(it.json.find("\xe2\x80\xa9"), std::string::npos) << it.json;
        input += it.json + "\n";
        expected += "    " + it.python + ",\n";
    }
    expected += "]\n";
    const std::string script = expected + R"(
import json, math, sys

def same(a, b):
    # Type and value, recursively (1 and 1.0 and True differ here), and the
    # sign of zero.
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b

lines = sys.stdin.buffer.read().decode("utf-8").split("\n")[:-1]
assert len(lines) == len(expected), (len(lines), len(expected))
bad = 0
for i, (line, want) in enumerate(zip(lines, expected)):
    got = json.loads(line)
    if not same(got, want):
        print("mismatch", i, repr(line), repr(got), repr(want))
        bad += 1
print("checked", len(lines), "bad", bad)
)";
    int status = 0;
    const std::string out = run_python3(script, input, status);
    EXPECT_EQ(status, 0) << out;
    EXPECT_NE(out.find("checked " + std::to_string(items.size()) + " bad 0"), std::string::npos)
        << out;
}

}  // namespace
