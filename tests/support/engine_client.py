#!/usr/bin/python3
"""An independent client of corvid-server (docs/protocol.md) for the interop
tests: python3-websockets 10.4 (Debian's) for the WebSocket, python3-msgpack
(Debian's) for the corvid.msgpack subprotocol, the standard library for
HTTP (urllib, http.client) and for the HS256 tokens (hmac, hashlib, base64,
json), so nothing here shares code with corvid.

    engine_client.py --port P --secret S SCENARIO [options]

With --ca FILE the server is reached over TLS (wss://, https://), trusting
the CA in FILE.

Scenarios (each connects to ws://127.0.0.1:P/ws):
  roundtrip   ready, sub/subok, POST /api/publish -> msg, pub over the
              WebSocket -> msg, ping/pong (--auth query|header,
              --format json|msgpack)
  mixed       a JSON and a MessagePack subscriber of one channel both get
              what each of them publishes, in its own format
  errors      err replies: malformed (1), unknown op (2), bad channel (4),
              not allowed (6), not subscribed (7), already subscribed (8);
              the connection stays open (--format json|msgpack)
  refused     401 handshakes (expired, missing, wrong signature) with the
              reason in the body and WWW-Authenticate: Bearer; the
              access_token cookie refused (403) from another site's Origin,
              accepted from the server's own
  close-codes 1009 for a message over --max-message bytes, 1007 for a text
              frame that is not UTF-8; the server goes on serving
  frames      a fragmented sub, a ping between a pub's fragments, a message of
              exactly --max-message bytes, UTF-8 split across fragments
  token       with the token given by --token: --ch is accepted (subok),
              --denied-ch is refused with err 6
  hold        subscribes, prints "holding", waits for the server's close and
              prints "close: CODE REASON"
  sse         GET /sse read with http.client: retry, ready, subok, msg events
              with id EPOCH:OFFSET; resume by Last-Event-ID and ?lastEventId=;
              400/401/403 before the stream
  wait-msgs   subscribes to --ch, prints "subscribed", then "msg OFFSET DATA"
              for each of --expect publications (published by another tool)
  api         POST /api/publish refusals (401, 403, 400 with code, 413) with
              JSON bodies; /healthz; /metrics
  observe     subscribes to --ch, prints "subscribed", waits for the browser
              page's "ready" on it, publishes --data to --publish-ch over
              the HTTP API, then prints every msg data it gets until it has
              --expect of them (the browser test)

Output: one "ok <what>" line per check that passed, "FAIL <what>: expected
..., got ..." per check that did not (the scenario goes on where it can),
"done" at the end. Exit status 0 when nothing failed, 1 otherwise.
"""

import argparse
import asyncio
import base64
import hashlib
import hmac
import http.client
import json
import sys
import time
import urllib.error
import urllib.request

import websockets

try:
    import msgpack
except ImportError:  # only the msgpack scenarios need it
    msgpack = None

RECV_TIMEOUT = 10
failures = []


def ok(what):
    print("ok " + what, flush=True)


def fail(what):
    failures.append(what)
    print("FAIL " + what, flush=True)


def check(cond, what, got=None):
    if cond:
        ok(what)
    else:
        fail(what + ("" if got is None else f": got {got!r}"))
    return cond


# --- where the server is ------------------------------------------------------


def tls_context(args):
    """An ssl context trusting --ca (OpenSSL, through Python's ssl), or None."""
    if not args.ca:
        return None
    import ssl
    return ssl.create_default_context(cafile=args.ca)


def ws_url(args, target):
    return ("wss" if args.ca else "ws") + f"://127.0.0.1:{args.port}{target}"


def http_url(args, target):
    return ("https" if args.ca else "http") + f"://127.0.0.1:{args.port}{target}"


def http_connection(args, timeout=10):
    if args.ca:
        return http.client.HTTPSConnection("127.0.0.1", args.port, timeout=timeout,
                                           context=tls_context(args))
    return http.client.HTTPConnection("127.0.0.1", args.port, timeout=timeout)


def urlopen(args, req):
    return urllib.request.urlopen(req, timeout=10, context=tls_context(args))


# --- tokens -----------------------------------------------------------------


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign_hs256(secret, claims):
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64url(json.dumps(claims).encode())
    signing_input = (header + "." + payload).encode()
    sig = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return header + "." + payload + "." + b64url(sig)


def token(secret, **claims):
    now = int(time.time())
    claims.setdefault("sub", "python")
    claims.setdefault("exp", now + 600)
    return sign_hs256(secret, claims)


# --- frames -----------------------------------------------------------------


class Conn:
    """One WebSocket speaking corvid.json or corvid.msgpack."""

    def __init__(self, ws, fmt):
        self.ws = ws
        self.fmt = fmt

    async def send(self, obj):
        if self.fmt == "msgpack":
            await self.ws.send(msgpack.packb(obj, use_bin_type=True))
        else:
            await self.ws.send(json.dumps(obj, separators=(",", ":")))

    async def recv(self):
        """The next frame decoded, or None (with a FAIL) on timeout or close."""
        try:
            frame = await asyncio.wait_for(self.ws.recv(), RECV_TIMEOUT)
        except asyncio.TimeoutError:
            fail(f"no frame from the server within {RECV_TIMEOUT} s")
            return None
        except websockets.ConnectionClosed as e:
            fail(f"connection closed while waiting for a frame: {describe_close(e)}")
            return None
        if self.fmt == "msgpack":
            if not isinstance(frame, bytes):
                fail(f"corvid.msgpack: expected a binary frame, got text {frame!r}")
                return None
            return msgpack.unpackb(frame, raw=False)
        if not isinstance(frame, str):
            fail(f"corvid.json: expected a text frame, got binary {frame!r}")
            return None
        return json.loads(frame)

    async def expect(self, op, label):
        m = await self.recv()
        if m is None:
            return None
        if not isinstance(m, dict) or m.get("op") != op:
            fail(f"{label}: expected op {op!r}, got {m!r}")
            return None
        return m


def describe_close(e):
    if e.rcvd is None:
        return "no close frame received"
    return f"close {e.rcvd.code} {e.rcvd.reason!r}"


async def connect(args, tok=None, fmt="json", auth="query", subprotocols=None, headers=None):
    url = ws_url(args, "/ws")
    headers = dict(headers or {})
    if tok is not None:
        if auth == "header":
            headers["Authorization"] = "Bearer " + tok
        else:
            url += "?token=" + tok
    if subprotocols is None:
        subprotocols = ["corvid." + fmt]
    ws = await websockets.connect(
        url,
        ssl=tls_context(args),
        subprotocols=subprotocols,
        extra_headers=headers,
        open_timeout=10,
        close_timeout=5,
        max_size=1 << 22,
        compression="deflate" if args.deflate else None,
    )
    return Conn(ws, fmt)


def http_post(args, path, body, tok):
    """(status, parsed JSON body or text) of a POST with a bearer token."""
    req = urllib.request.Request(
        http_url(args, path),
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": "Bearer " + tok},
    )
    try:
        with urlopen(args, req) as r:
            status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def publish(args, admin, ch, data, msg_id=None):
    body = {"ch": ch, "data": data}
    if msg_id is not None:
        body["id"] = msg_id
    status, answer = http_post(args, "/api/publish", body, admin)
    if not check(status == 200 and isinstance(answer, dict), f"POST /api/publish {ch} -> 200",
                 (status, answer)):
        return None
    check(answer.get("ch") == ch and isinstance(answer.get("offset"), int),
          "publish answer has ch and offset", answer)
    return answer


async def subscribe(conn, ch, label):
    await conn.send({"op": "sub", "ch": ch})
    m = await conn.expect("subok", f"{label}: sub {ch}")
    if m is None:
        return None
    epoch, offset = m.get("epoch"), m.get("offset")
    check(m.get("ch") == ch and isinstance(epoch, int) and 0 < epoch < 2**53
          and isinstance(offset, int) and 0 <= offset < 2**53,
          f"{label}: subok {ch} with epoch and offset", m)
    return m


async def expect_msg(conn, ch, offset, data, msg_id, label):
    m = await conn.expect("msg", label)
    if m is None:
        return None
    check(m.get("ch") == ch, f"{label}: msg ch", m.get("ch"))
    check(m.get("offset") == offset, f"{label}: msg offset {offset}", m.get("offset"))
    check(m.get("data") == data, f"{label}: msg data", m.get("data"))
    if msg_id is None:
        check("id" not in m, f"{label}: msg without id", m.get("id"))
    else:
        check(m.get("id") == msg_id, f"{label}: msg id {msg_id}", m.get("id"))
    return m


# --- scenarios --------------------------------------------------------------


async def roundtrip(args):
    fmt, auth = args.format, args.auth
    reader = token(args.secret, channels=["py.**"], publish=["py.echo.*"])
    admin = token(args.secret, sub="ops", admin=True)
    conn = await connect(args, reader, fmt, auth)
    check(conn.ws.subprotocol == "corvid." + fmt, f"subprotocol corvid.{fmt}", conn.ws.subprotocol)
    extensions = conn.ws.response_headers.get("Sec-WebSocket-Extensions") or ""
    if args.deflate:
        check(extensions.startswith("permessage-deflate"), "permessage-deflate negotiated",
              extensions)
    else:
        check(extensions == "", "no extension when none was offered", extensions)
    ready = await conn.expect("ready", "first frame")
    if ready is not None:
        check(isinstance(ready.get("conn"), str) and ready["conn"] != "", "ready with conn", ready)

    ch = f"py.news.{fmt}.{auth}" + (".deflate" if args.deflate else "")
    sub = await subscribe(conn, ch, "roundtrip")
    if sub is None:
        return
    check(sub["offset"] == 0, "a fresh channel's subok offset is 0", sub["offset"])

    data = {"title": "h\u00e9llo \u2603", "n": [1, -2, 2.5, True, None], "nested": {"a": {}}}
    answer = publish(args, admin, ch, data, "py-1")
    if answer is None:
        return
    check(answer.get("epoch") == sub["epoch"], "publish answer's epoch is subok's", answer)
    check(answer.get("offset") == sub["offset"] + 1, "publish answer's offset is subok's + 1",
          answer)
    await expect_msg(conn, ch, sub["offset"] + 1, data, "py-1", "HTTP publication")
    publish(args, admin, ch, "second", None)
    await expect_msg(conn, ch, sub["offset"] + 2, "second", None, "second HTTP publication")

    echo = f"py.echo.{fmt}{auth}"
    esub = await subscribe(conn, echo, "echo")
    if esub is not None:
        await conn.send({"op": "pub", "ch": echo, "data": ["x", 1, {"y": False}], "id": "w-1"})
        await expect_msg(conn, echo, esub["offset"] + 1, ["x", 1, {"y": False}], "w-1",
                         "WebSocket publication to own subscription")
    big = {"text": "compressible " * 2000, "list": list(range(500))}
    answer = publish(args, admin, ch, big, "big")
    if answer is not None:
        await expect_msg(conn, ch, answer["offset"], big, "big", "large HTTP publication")
    await conn.send({"op": "ping"})
    await conn.expect("pong", "ping")
    await conn.send({"op": "unsub", "ch": ch})
    # unsub has no reply: frames are handled in order, so the pong says it
    # took effect (a publication racing it on another connection may land).
    await conn.send({"op": "ping"})
    await conn.expect("pong", "ping after unsub")
    publish(args, admin, ch, "after unsub", None)
    await conn.send({"op": "ping"})
    m = await conn.recv()
    check(m == {"op": "pong"}, "nothing after unsub, then pong", m)
    await conn.ws.close()
    check(conn.ws.close_code == 1000, "clean close 1000", conn.ws.close_code)


async def mixed(args):
    tok = token(args.secret, channels=["mix.*"], publish=["mix.*"])
    j = await connect(args, tok, "json")
    m = await connect(args, tok, "msgpack")
    for c, label in ((j, "json"), (m, "msgpack")):
        await c.expect("ready", f"{label} ready")
    sj = await subscribe(j, "mix.a", "json")
    sm = await subscribe(m, "mix.a", "msgpack")
    if sj is None or sm is None:
        return
    base = max(sj["offset"], sm["offset"])
    data1 = {"from": "msgpack", "v": [1, -70000, 3.25, "\u00fcnicode", None, True]}
    await m.send({"op": "pub", "ch": "mix.a", "data": data1, "id": "m1"})
    await expect_msg(j, "mix.a", base + 1, data1, "m1", "msgpack publication to json subscriber")
    await expect_msg(m, "mix.a", base + 1, data1, "m1",
                     "msgpack publication to msgpack subscriber")
    data2 = {"from": "json", "big": 2**40, "neg": -1, "s": "x" * 300}
    await j.send({"op": "pub", "ch": "mix.a", "data": data2})
    await expect_msg(j, "mix.a", base + 2, data2, None, "json publication to json subscriber")
    await expect_msg(m, "mix.a", base + 2, data2, None,
                     "json publication to msgpack subscriber")
    await j.ws.close()
    await m.ws.close()


async def expect_err(conn, code, label):
    m = await conn.expect("err", label)
    if m is None:
        return
    check(m.get("code") == code, f"{label}: err code {code}", m)
    check(isinstance(m.get("reason"), str) and m["reason"] != "", f"{label}: err has a reason", m)


async def errors(args):
    fmt = args.format
    tok = token(args.secret, channels=["py.**"], publish=["py.pub"])
    conn = await connect(args, tok, fmt)
    await conn.expect("ready", "ready")
    if fmt == "json":
        for label, text in (
            ("invalid JSON", "{not json"),
            ("truncated JSON", '{"op":"sub","ch":'),
            ("JSON array", "[1,2]"),
            ("repeated key", '{"op":"ping","op":"ping"}'),
        ):
            await conn.ws.send(text)
            await expect_err(conn, 1, label)
    else:
        for label, raw in (
            ("never-used MessagePack byte", b"\xc1"),
            ("truncated MessagePack map", b"\x82\xa2op\xa3sub"),
            ("MessagePack array", b"\x92\x01\x02"),
        ):
            await conn.ws.send(raw)
            await expect_err(conn, 1, label)
    await conn.send({"op": "dance"})
    await expect_err(conn, 2, "unknown op")
    await conn.send({"op": "sub", "ch": "bad channel!"})
    await expect_err(conn, 4, "bad channel name")
    await conn.send({"op": "sub", "ch": "secret.plans"})
    await expect_err(conn, 6, "sub outside the channels claim")
    await conn.send({"op": "pub", "ch": "py.other", "data": 1})
    await expect_err(conn, 6, "pub outside the publish claim")
    await conn.send({"op": "unsub", "ch": "py.never"})
    await expect_err(conn, 7, "unsub without sub")
    await subscribe(conn, "py.twice", "first sub")
    await conn.send({"op": "sub", "ch": "py.twice"})
    await expect_err(conn, 8, "second sub")
    await conn.send({"op": "ping"})
    await conn.expect("pong", "still open after the errors")
    await conn.ws.close()
    check(conn.ws.close_code == 1000, "clean close 1000", conn.ws.close_code)


def raw_handshake(args, target, headers=None):
    """(status, headers, body) of a WebSocket upgrade request sent by hand."""
    c = http_connection(args)
    h = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Protocol": "corvid.json",
    }
    h.update(headers or {})
    c.request("GET", target, headers=h)
    r = c.getresponse()
    body = r.read().decode(errors="replace")
    c.close()
    return r.status, r.headers, body


async def refused(args):
    now = int(time.time())
    expired = token(args.secret, channels=["**"], exp=now - 3600)
    forged = token("another secret that is long enough!!", channels=["**"])
    cases = (
        ("expired token in ?token=", "/ws?token=" + expired, {}, "expired"),
        ("expired token in Authorization", "/ws", {"Authorization": "Bearer " + expired},
         "expired"),
        ("no token", "/ws", {}, "token"),
        ("wrong signature", "/ws?token=" + forged, {}, "signature"),
    )
    for label, target, headers, word in cases:
        # What a client library sees: a refused handshake, status 401.
        extra = headers if headers else {}
        try:
            ws = await websockets.connect(ws_url(args, target), ssl=tls_context(args),
                                          extra_headers=extra, subprotocols=["corvid.json"],
                                          open_timeout=10)
            fail(f"{label}: the handshake succeeded")
            await ws.close()
        except websockets.InvalidStatusCode as e:
            check(e.status_code == 401, f"{label}: websockets sees 401", e.status_code)
        # What the server says, read by hand.
        status, h, body = raw_handshake(args, target, headers)
        check(status == 401, f"{label}: status 401", status)
        check((h.get("WWW-Authenticate") or "").startswith("Bearer"),
              f"{label}: WWW-Authenticate: Bearer", h.get("WWW-Authenticate"))
        check(word in body.lower(), f"{label}: body says why ({word!r})", body)

    # The access_token cookie: refused from another site's page (403),
    # accepted from the server's own origin.
    good = token(args.secret, channels=["**"])
    status, h, body = raw_handshake(args, "/ws", {"Cookie": "access_token=" + good,
                                                  "Origin": "http://evil.example"})
    check(status == 403 and body.strip() != "", "cookie from another site: 403 with a reason",
          (status, body))
    conn = await connect(args, None, headers={"Cookie": "access_token=" + good,
                                              "Origin": http_url(args, "")})
    await conn.expect("ready", "cookie from the server's own origin: ready")
    await conn.ws.close()
    ok("cookie from the server's own origin: accepted")


async def close_codes(args):
    tok = token(args.secret, channels=["**"], publish=["**"])
    conn = await connect(args, tok)
    await conn.expect("ready", "ready")
    big = json.dumps({"op": "pub", "ch": "big", "data": "x" * (args.max_message + 100)})
    await conn.ws.send(big)
    try:
        got = await asyncio.wait_for(conn.ws.recv(), RECV_TIMEOUT)
        fail(f"oversize message: a frame instead of a close: {got!r}")
    except websockets.ConnectionClosed as e:
        check(e.rcvd is not None and e.rcvd.code == 1009, "oversize message: close 1009",
              describe_close(e))
    except asyncio.TimeoutError:
        fail("oversize message: no close within the timeout")

    conn = await connect(args, tok)
    await conn.expect("ready", "ready")
    # A text frame whose payload is not UTF-8 (websockets only sends valid
    # text through send(), so the frame is written directly).
    await conn.ws.write_frame(True, 0x1, b'{"op":"ping","x":"\xff\xfe"}')
    try:
        got = await asyncio.wait_for(conn.ws.recv(), RECV_TIMEOUT)
        fail(f"invalid UTF-8: a frame instead of a close: {got!r}")
    except websockets.ConnectionClosed as e:
        check(e.rcvd is not None and e.rcvd.code == 1007, "invalid UTF-8: close 1007",
              describe_close(e))
    except asyncio.TimeoutError:
        fail("invalid UTF-8: no close within the timeout")

    conn = await connect(args, tok)
    await conn.expect("ready", "a new connection after the closes")
    await conn.send({"op": "ping"})
    await conn.expect("pong", "the server still answers")
    await conn.ws.close()


async def frames(args):
    """Framing a client may use: fragments, pings between them, a message of
    exactly --max-message bytes."""
    tok = token(args.secret, channels=["**"], publish=["**"])
    conn = await connect(args, tok, args.format)
    await conn.expect("ready", "ready")
    # A sub split over three frames (text or binary continuation).
    if args.format == "msgpack":
        whole = msgpack.packb({"op": "sub", "ch": "frag.a"}, use_bin_type=True)
    else:
        whole = json.dumps({"op": "sub", "ch": "frag.a"})
    parts = [whole[:3], whole[3:7], whole[7:]]
    await conn.ws.send(parts)
    m = await conn.expect("subok", "a fragmented sub")
    check(m is not None and m.get("ch") == "frag.a", "fragmented sub answered", m)
    # A pub whose frames have a ping between them (control frames may
    # interleave with a fragmented message, RFC 6455 5.4).
    text = json.dumps({"op": "pub", "ch": "frag.a", "data": "in pieces"})
    opcode = 0x2 if args.format == "msgpack" else 0x1
    if args.format == "msgpack":
        raw = msgpack.packb({"op": "pub", "ch": "frag.a", "data": "in pieces"}, use_bin_type=True)
    else:
        raw = text.encode()
    await conn.ws.write_frame(False, opcode, raw[:5])
    await conn.ws.write_frame(True, 0x9, b"between")
    await conn.ws.write_frame(True, 0x0, raw[5:])
    m = await conn.expect("msg", "a pub with a ping between its frames")
    check(m is not None and m.get("data") == "in pieces", "interleaved ping: msg data", m)
    # Exactly at the limit: accepted (a publication of that size, err 3
    # would be wrong, so pad an ignored field).
    if args.format == "json":
        frame = {"op": "ping", "pad": ""}
        size = len(json.dumps(frame))
        frame["pad"] = "x" * (args.max_message - size)
        encoded = json.dumps(frame)
        check(len(encoded.encode()) == args.max_message, "frame of exactly --max-message bytes",
              len(encoded))
        await conn.ws.send(encoded)
        await conn.expect("pong", "a message of exactly --max-message bytes is accepted")
    # UTF-8 split across fragments is still valid UTF-8.
    if args.format == "json":
        text = json.dumps({"op": "pub", "ch": "frag.a", "data": "\u00e9\u20ac\U0001F600"},
                          ensure_ascii=False).encode()
        cut = text.index("\u20ac".encode()) + 1  # inside the euro sign
        await conn.ws.write_frame(False, 0x1, text[:cut])
        await conn.ws.write_frame(True, 0x0, text[cut:])
        m = await conn.expect("msg", "UTF-8 split across fragments")
        check(m is not None and m.get("data") == "\u00e9\u20ac\U0001F600",
              "split UTF-8: msg data", m)
    await conn.ws.close()
    check(conn.ws.close_code == 1000, "clean close 1000", conn.ws.close_code)


async def token_scenario(args):
    conn = await connect(args, args.token)
    await conn.expect("ready", "ready with the given token")
    if args.ch:
        await subscribe(conn, args.ch, "allowed channel")
    if args.denied_ch:
        await conn.send({"op": "sub", "ch": args.denied_ch})
        await expect_err(conn, 6, f"sub {args.denied_ch}")
    await conn.ws.close()


async def hold(args):
    tok = args.token or token(args.secret, channels=["**"])
    conn = await connect(args, tok)
    await conn.expect("ready", "ready")
    await subscribe(conn, args.ch or "hold", "hold")
    print("holding", flush=True)
    try:
        while True:
            await asyncio.wait_for(conn.ws.recv(), 60)
    except websockets.ConnectionClosed as e:
        print("close: " + describe_close(e), flush=True)
        if e.rcvd is not None:
            check(e.rcvd.code == args.expect_close, f"close code {args.expect_close}", e.rcvd.code)
        else:
            fail("no close frame from the server")
    except asyncio.TimeoutError:
        fail("no close within 60 s")


async def observe(args):
    tok = token(args.secret, channels=[args.ch])
    admin = token(args.secret, sub="ops", admin=True)
    conn = await connect(args, tok)
    await conn.expect("ready", "ready")
    if await subscribe(conn, args.ch, "observer") is None:
        return
    print("subscribed", flush=True)
    got = []
    published = False
    deadline = time.monotonic() + 60
    while len(got) < args.expect and time.monotonic() < deadline:
        try:
            frame = await asyncio.wait_for(conn.ws.recv(), deadline - time.monotonic())
        except asyncio.TimeoutError:
            break
        m = json.loads(frame)
        if m.get("op") != "msg":
            fail(f"observer: unexpected frame {m!r}")
            continue
        if not published:
            if not check(m.get("data") == "ready", "the page says ready", m.get("data")):
                break
            answer = publish(args, admin, args.publish_ch, json.loads(args.data), "from-test")
            if answer is not None:
                print(f"published {answer.get('epoch')}:{answer.get('offset')}", flush=True)
            published = True
            continue
        print("data: " + json.dumps(m.get("data"), sort_keys=True, separators=(",", ":")),
              flush=True)
        got.append(m)
    check(len(got) == args.expect, f"observer: {args.expect} reports from the page", len(got))
    await conn.ws.close()


class EventStream:
    """A text/event-stream read with http.client, parsed as the HTML
    standard says (event, id, data lines; a blank line ends an event)."""

    def __init__(self, args, target, headers):
        self.conn = http_connection(args, RECV_TIMEOUT)
        h = {"Accept": "text/event-stream"}
        h.update(headers)
        self.conn.request("GET", target, headers=h)
        self.response = self.conn.getresponse()
        self.retry = None

    def next_event(self):
        """(event, id, data) of the next event; None at the end of the stream."""
        event, ident, data = "message", None, []
        while True:
            line = self.response.readline()
            if not line:
                return None
            line = line.decode().rstrip("\r\n")
            if line == "":
                if data:
                    return event, ident, "\n".join(data)
                event, ident = "message", None
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "event":
                event = value
            elif name == "id":
                ident = value
            elif name == "data":
                data.append(value)
            elif name == "retry":
                self.retry = value

    def wait_comment(self):
        """The next comment line (": ..."), skipping anything else; None at
        the end of the stream."""
        while True:
            line = self.response.readline()
            if not line:
                return None
            line = line.decode().rstrip("\r\n")
            if line.startswith(":"):
                return line

    def expect(self, event_name, label):
        try:
            e = self.next_event()
        except OSError as err:
            fail(f"{label}: reading the stream: {err}")
            return None
        if e is None:
            fail(f"{label}: the stream ended")
            return None
        if not check(e[0] == event_name, f"{label}: event {event_name}", e):
            return None
        return e[1], json.loads(e[2])

    def close(self):
        self.conn.close()


async def sse(args):
    reader = token(args.secret, channels=["py.sse.*"])
    admin = token(args.secret, sub="ops", admin=True)
    auth = {"Authorization": "Bearer " + reader}
    ch = "py.sse.news"

    stream = EventStream(args, "/sse?ch=" + ch, auth)
    r = stream.response
    check(r.status == 200, "GET /sse: 200", r.status)
    check((r.getheader("Content-Type") or "").startswith("text/event-stream"),
          "Content-Type: text/event-stream", r.getheader("Content-Type"))
    got = stream.expect("ready", "first event")
    check(got is not None and got[1].get("op") == "ready", "ready event", got)
    check(stream.retry == "1000", "retry: 1000 before the events", stream.retry)
    got = stream.expect("subok", "subscription")
    if got is None:
        return
    sub = got[1]
    check(sub.get("ch") == ch and isinstance(sub.get("epoch"), int), "subok event", sub)
    epoch, base = sub["epoch"], sub["offset"]
    for i in range(1, 4):
        publish(args, admin, ch, {"i": i}, f"s{i}")
    for i in range(1, 4):
        got = stream.expect("msg", f"msg {i}")
        if got is None:
            return
        ident, m = got
        check(ident == f"{epoch}:{base + i}", f"msg {i}: id EPOCH:OFFSET", ident)
        check(m.get("op") == "msg" and m.get("ch") == ch and m.get("offset") == base + i
              and m.get("data") == {"i": i} and m.get("id") == f"s{i}", f"msg {i}: envelope", m)
    stream.close()

    # Resume: what came after the first publication, by header and by query.
    for label, target, headers in (
        ("Last-Event-ID", "/sse?ch=" + ch, dict(auth, **{"Last-Event-ID": f"{epoch}:{base + 1}"})),
        ("?lastEventId=", f"/sse?ch={ch}&lastEventId={epoch}:{base + 1}", auth),
    ):
        stream = EventStream(args, target, headers)
        check(stream.response.status == 200, f"{label}: 200", stream.response.status)
        stream.expect("ready", f"{label}: ready")
        got = stream.expect("subok", f"{label}: subok")
        if got is not None:
            check(got[1].get("recovered") is True and got[1].get("epoch") == epoch,
                  f"{label}: subok recovered", got[1])
        for i in (2, 3):
            got = stream.expect("msg", f"{label}: missed msg {i}")
            if got is not None:
                check(got[0] == f"{epoch}:{base + i}" and got[1].get("data") == {"i": i},
                      f"{label}: missed msg {i} with its id", got)
        stream.close()

    # Two channels on one stream; the id of the first resumes only it.
    other = "py.sse.sport"
    stream = EventStream(args, f"/sse?ch={ch}&ch={other}", dict(auth, **{
        "Last-Event-ID": f"{epoch}:{base + 2}"}))
    check(stream.response.status == 200, "two channels: 200", stream.response.status)
    stream.expect("ready", "two channels: ready")
    # Each channel's subok, the recovered channel's missed msg after its
    # subok (the server may send it before the other channel's subok).
    suboks, missed = {}, None
    for _ in range(3):
        try:
            e = stream.next_event()
        except OSError as err:
            fail(f"two channels: reading the stream: {err}")
            break
        if e is None:
            fail("two channels: the stream ended")
            break
        if e[0] == "subok":
            m = json.loads(e[2])
            suboks[m.get("ch")] = m
        elif e[0] == "msg":
            check(ch in suboks and missed is None, "two channels: a missed msg after its subok",
                  (e, suboks))
            missed = e
        else:
            fail(f"two channels: unexpected event {e!r}")
    check(suboks.get(ch, {}).get("recovered") is True, "two channels: the id's channel recovers",
          suboks)
    check(other in suboks and "recovered" not in suboks[other],
          "two channels: the other starts from now (no recovered)", suboks)
    check(missed is not None and missed[1] == f"{epoch}:{base + 3}",
          "two channels: the missed msg with its id", missed)
    answer = publish(args, admin, other, "goal", None)
    got = stream.expect("msg", "two channels: msg on the other channel")
    if got is not None and answer is not None:
        check(got[0] == f"{answer['epoch']}:{answer['offset']}" and got[1].get("ch") == other
              and got[1].get("data") == "goal", "two channels: its id names its epoch", got)
    if args.sse_keepalive:
        # Quiet now: a comment line keeps proxies from timing out.
        comment = stream.wait_comment()
        check(comment is not None, "a keepalive comment on a quiet stream", comment)
    stream.close()

    # Refusals before the stream starts: plain-text statuses.
    for label, target, headers, status in (
        ("no ch", "/sse", auth, 400),
        ("bad channel name", "/sse?ch=bad%20name", auth, 400),
        ("no token", "/sse?ch=" + ch, {}, 401),
        ("channel not allowed", "/sse?ch=py.other.x", auth, 403),
    ):
        stream = EventStream(args, target, headers)
        body = stream.response.read().decode(errors="replace")
        check(stream.response.status == status and body.strip() != "",
              f"{label}: {status} with a reason", (stream.response.status, body))
        stream.close()


async def api(args):
    admin = token(args.secret, sub="ops", admin=True)
    reader = token(args.secret, channels=["**"], publish=["**"])
    for label, body, tok, status, code in (
        ("reader token without admin", {"ch": "api.x", "data": 1}, reader, 403, None),
        ("no ch", {"data": 1}, admin, 400, 3),
        ("bad channel name", {"ch": "a b", "data": 1}, admin, 400, 4),
        ("data over max-data-bytes", {"ch": "api.x", "data": "x" * 70000}, admin, 413, 5),
    ):
        got_status, answer = http_post(args, "/api/publish", body, tok)
        check(got_status == status, f"{label}: {status}", (got_status, answer))
        check(isinstance(answer, dict) and isinstance(answer.get("reason"), str)
              and (code is None or answer.get("code") == code),
              f"{label}: JSON body with code and reason", answer)
    req = urllib.request.Request(http_url(args, "/api/publish"), method="POST",
                                 data=b'{"ch":"api.x","data":1}',
                                 headers={"Content-Type": "application/json"})
    try:
        urlopen(args, req)
        fail("no token: accepted")
    except urllib.error.HTTPError as e:
        check(e.code == 401, "no token: 401", e.code)
    # Three publications on one kept-alive HTTP/1.1 connection.
    c = http_connection(args)
    offsets = []
    for i in range(3):
        c.request("POST", "/api/publish", body=json.dumps({"ch": "api.keep", "data": i}),
                  headers={"Content-Type": "application/json", "Authorization": "Bearer " + admin})
        r = c.getresponse()
        answer = json.loads(r.read() or b"null")
        check(r.status == 200, f"keep-alive publication {i + 1}: 200", (r.status, answer))
        offsets.append(answer.get("offset") if isinstance(answer, dict) else None)
    c.close()
    check(offsets == [1, 2, 3], "keep-alive publications: offsets 1, 2, 3", offsets)
    with urlopen(args, http_url(args, "/healthz")) as r:
        check(r.status == 200 and r.read().strip() == b"ok", "GET /healthz: 200 ok", r.status)
    with urlopen(args, http_url(args, "/metrics")) as r:
        text = r.read().decode()
        check(r.status == 200 and "# TYPE corvid_" in text and "corvid_connections" in text,
              "GET /metrics: Prometheus text", text[:200])


async def wait_msgs(args):
    conn = await connect(args, token(args.secret, channels=[args.ch]))
    await conn.expect("ready", "ready")
    if await subscribe(conn, args.ch, "waiter") is None:
        return
    print("subscribed", flush=True)
    for _ in range(args.expect):
        m = await conn.expect("msg", "waiting for a publication")
        if m is None:
            break
        print(f"msg {m.get('offset')} "
              + json.dumps(m.get("data"), sort_keys=True, separators=(",", ":")), flush=True)
    await conn.ws.close()


SCENARIOS = {
    "frames": frames,
    "wait-msgs": wait_msgs,
    "api": api,
    "sse": sse,
    "roundtrip": roundtrip,
    "mixed": mixed,
    "errors": errors,
    "refused": refused,
    "close-codes": close_codes,
    "token": token_scenario,
    "hold": hold,
    "observe": observe,
}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("scenario", choices=sorted(SCENARIOS))
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--secret", default="")
    p.add_argument("--format", choices=("json", "msgpack"), default="json")
    p.add_argument("--auth", choices=("query", "header"), default="query")
    p.add_argument("--max-message", type=int, default=4096)
    p.add_argument("--ca", help="CA file: wss:// and https:// (the server has a certificate)")
    p.add_argument("--deflate", action="store_true",
                   help="offer permessage-deflate (python3-websockets' defaults)")
    p.add_argument("--sse-keepalive", action="store_true",
                   help="sse: wait for a keepalive comment (run the server with a short one)")
    p.add_argument("--token")
    p.add_argument("--ch")
    p.add_argument("--denied-ch")
    p.add_argument("--expect-close", type=int, default=1001)
    p.add_argument("--publish-ch")
    p.add_argument("--data", default='"hello"')
    p.add_argument("--expect", type=int, default=1)
    args = p.parse_args()
    if msgpack is None and (args.format == "msgpack" or args.scenario == "mixed"):
        print("FAIL python3-msgpack is not installed (apt-get install python3-msgpack)")
        sys.exit(1)
    try:
        asyncio.run(SCENARIOS[args.scenario](args))
    except Exception as e:  # a failure the scenario did not expect
        fail(f"{type(e).__name__}: {e}")
    print("done", flush=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
