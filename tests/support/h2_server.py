#!/usr/bin/python3
"""An HTTP/2 test server built on python-hyper's h2 (Debian python3-h2, 4.1).

A real peer for corvid's HTTP/2 client tests: one server process serves every
scenario, chosen by the request path. Run it with /usr/bin/python3 (Debian's
python3-* packages belong to that interpreter; the python3 first on PATH may
be another one without h2).

    /usr/bin/python3 h2_server.py --port 0 [--tls-cert C --tls-key K] [flags]

It listens on 127.0.0.1, prints `listening PORT` on stdout once it accepts
connections (PORT is the real port, also with --port 0), logs to stderr and
runs until SIGTERM or SIGINT. Without --tls-cert it speaks h2c with prior
knowledge (no Upgrade: h2c); with --tls-cert/--tls-key it speaks TLS and
offers ALPN "h2" (see --alpn); a TLS client that does not negotiate h2 is
disconnected right after the handshake.

Paths (the query string is ignored; every response carries
`x-connection-id` (1, 2, ... in accept order) and `x-stream-id`):

  /hello            200, text/plain body "hello from h2_server\\n".
  /bytes/N          200, content-length N, N bytes of the pattern
                    "abcdefghijklmnopqrstuvwxyz" repeated (byte i is
                    'a' + i % 26), produced lazily in frames that respect the
                    client's flow-control windows.
  /echo             Waits for the whole request body, then 200 with that body
                    (content-type copied from the request, else
                    application/octet-stream) and
                      x-echo-headers:  JSON array of [name, value] pairs, the
                                       request's header fields in received
                                       order, pseudo-headers included;
                      x-echo-trailers: the same for request trailers (only
                                       when the request had trailers).
                    Bodies above 64 MiB are counted, not kept: 413.
  /trailers[/N]     200 with an N-byte body (default 1000, pattern as
                    /bytes), a `trailer: x-checksum` header, then trailers
                    x-checksum: <sha256 of the body, lowercase hex> and
                    x-trailer: done.
  /slow/N/MS        200, then N chunks "chunk <i>\\n" (i from 0), the first at
                    once and the rest MS milliseconds apart; no content-length.
  /big-headers[/N]  200 whose header block is about N bytes (default 32768):
                    headers x-big-0, x-big-1, ... of 4000 pseudo-random
                    characters each. h2 splits a block into HEADERS plus
                    CONTINUATION frames when it exceeds the client's
                    SETTINGS_MAX_FRAME_SIZE (16384 unless the client raised it).
  /rst/CODE         No response: RST_STREAM with error code CODE (decimal),
                    e.g. 7 REFUSED_STREAM, 8 CANCEL, 2 INTERNAL_ERROR.
  /goaway[/CODE]    No response: GOAWAY(last_stream_id = the highest stream id
                    received before this one, 0 if none; error code CODE,
                    default 0 NO_ERROR). This stream and every later one are
                    left unprocessed; streams at or below last_stream_id are
                    finished normally, then the connection is closed 200 ms
                    later (plain TCP: FIN first, and the server keeps reading
                    for up to 1 s so the client's in-flight bytes do not
                    provoke an RST).
  /never-read       Never opens this stream's flow-control window: the body
                    is counted but never acknowledged, so an uploading client
                    can send at most the stream's initial window (65535, or
                    --initial-window) and must then block. The connection
                    window IS reopened for these bytes, so other streams on
                    the connection keep working. If the body ends (it fit in
                    the window) the answer is 200 with JSON {"received": N}.
  /respond-early    200, text/plain body "early response\n" at once, without
                    waiting for the request body; then, if the body has not
                    ended, RST_STREAM(NO_ERROR): "stop sending, the response
                    is complete" (RFC 9113 section 8.1). The client must keep
                    the response.
  /frames           200, application/json: what the client sent on this
                    connection so far, decoded from the raw bytes by this
                    script's own frame parser (format below).
  /                 200, text/plain: this list of paths.
  anything else     404.

HEAD gets the same status and headers with no body.

Flags:

  --port P                      port on 127.0.0.1 (0: any; see `listening`)
  --tls-cert FILE --tls-key FILE  PEM certificate chain and key: TLS + ALPN
  --alpn LIST                   comma-separated ALPN ids to offer (default h2)
  --initial-window W            SETTINGS_INITIAL_WINDOW_SIZE W (e.g. 1, 100)
  --connection-window W         raise the connection receive window to W with
                                a WINDOW_UPDATE after SETTINGS (W > 65535)
  --max-concurrent-streams N    SETTINGS_MAX_CONCURRENT_STREAMS N (default
                                100); streams beyond it get
                                RST_STREAM(REFUSED_STREAM)
  --goaway-after N              on receiving the Nth request of a connection
                                send GOAWAY(last_stream_id = that request's
                                stream id, NO_ERROR) before answering it;
                                requests 1..N are answered, later ones (often
                                already in flight) are ignored, then the
                                connection closes as for /goaway.
  --refuse-connections N        the first N connections that send a
                                request (in the order of their first
                                request; a connection that never sends one,
                                such as a port probe, does not count) get
                                RST_STREAM(REFUSED_STREAM) for every request,
                                as from a server shedding load on them;
                                later connections are served normally

The server's SETTINGS frame carries, in this order,
MAX_CONCURRENT_STREAMS, INITIAL_WINDOW_SIZE (only with --initial-window) and
MAX_HEADER_LIST_SIZE 65536 (h2's limit for request headers). They take effect
when the client acknowledges them (RFC 9113 section 6.5.3).

/frames JSON (format "corvid-h2-frames/1"; keys always present, in this order;
frame indexes count frames received on the connection from 0, after the
24-byte preface; "weight" is the real weight 1..256, i.e. the wire byte + 1):

  {
    "format": "corvid-h2-frames/1",
    "connection": {"id": 1, "tls": false, "alpn": null},
    "frame_count": 5,
    "first_settings_index": 0,
    "settings": [{"id": 3, "name": "MAX_CONCURRENT_STREAMS", "value": 100}, ...],
    "settings_frames": [{"frame_index": 0, "entries": [...]}, ...],
    "connection_window_updates": [{"frame_index": 1, "after_first_settings": 1,
                                   "increment": 1073676289}, ...],
    "headers_frames": [{"frame_index": 2, "stream_id": 1, "end_stream": true,
                        "end_headers": true,
                        "priority": {"exclusive": false, "depends_on": 0,
                                     "weight": 16} or null}, ...],
    "priority_frames": [{"frame_index": 3, "stream_id": 3, "exclusive": false,
                         "depends_on": 0, "weight": 201}, ...],
    "frames": [{"index": 0, "type": "SETTINGS", "type_id": 4, "flags": 0,
                "stream_id": 0, "length": 12}, ...],
    "truncated": false,
    "request": {"stream_id": 1,
                "headers": [[":method", "GET"], [":path", "/frames"], ...],
                "pseudo_header_order": [":method", ":path", ...],
                "header_order": ["user-agent", ...]}
  }

  settings                   entries of the client's first non-ACK SETTINGS
                             frame, in wire order (duplicates kept)
  settings_frames            every non-ACK SETTINGS frame, in order
  connection_window_updates  WINDOW_UPDATE frames on stream 0;
                             after_first_settings = frame_index -
                             first_settings_index (1: right after SETTINGS;
                             negative: before it)
  headers_frames             every HEADERS frame (requests and trailers), with
                             its PRIORITY-flag fields, or null without the flag
  priority_frames            every PRIORITY frame
  frames                     the first 256 frames, every type
  truncated                  true when a list stopped at its cap (256 frames,
                             1000 entries for the others)
  request                    the /frames request itself, as h2 decoded it:
                             every field in received order
Lists and the JSON layout are stable: one top-level key per line and one list
element per line. Header names and values are decoded as UTF-8 (invalid
bytes as \\xNN escapes).

Not supported: server push, Upgrade: h2c, extended CONNECT, request bodies
above 64 MiB for /echo.
"""

import sys

try:
    import h2.config
    import h2.connection
    import h2.errors
    import h2.events
    import h2.exceptions
    import h2.settings
    import hyperframe.frame
except ImportError as exc:  # the message names the Debian package to install
    sys.stderr.write(
        "h2_server.py: cannot import h2 (%s) with %s: install the Debian "
        "package python3-h2 (apt-get install python3-h2) and run this script "
        "with /usr/bin/python3\n" % (exc, sys.executable))
    sys.exit(3)

import argparse
import asyncio
import hashlib
import json
import random
import signal
import ssl
import struct
import time
import traceback

ECHO_LIMIT = 64 * 1024 * 1024
OUT_HIGH_WATER = 256 * 1024  # per-stream queued output before a handler waits
GOAWAY_CLOSE_DELAY = 0.2
LINGER_AFTER_FIN = 1.0
MAX_HEADER_LIST_SIZE = 65536  # h2's default decoder limit, advertised as is
MAX_RECORDED_FRAMES = 256
MAX_RECORDED_ENTRIES = 1000
PATTERN = b"abcdefghijklmnopqrstuvwxyz"
CHUNK = 16384

FRAME_TYPES = {
    0x0: "DATA", 0x1: "HEADERS", 0x2: "PRIORITY", 0x3: "RST_STREAM",
    0x4: "SETTINGS", 0x5: "PUSH_PROMISE", 0x6: "PING", 0x7: "GOAWAY",
    0x8: "WINDOW_UPDATE", 0x9: "CONTINUATION", 0xa: "ALTSVC",
    0xc: "ORIGIN", 0x10: "PRIORITY_UPDATE",
}
SETTING_NAMES = {
    0x1: "HEADER_TABLE_SIZE", 0x2: "ENABLE_PUSH",
    0x3: "MAX_CONCURRENT_STREAMS", 0x4: "INITIAL_WINDOW_SIZE",
    0x5: "MAX_FRAME_SIZE", 0x6: "MAX_HEADER_LIST_SIZE",
    0x8: "ENABLE_CONNECT_PROTOCOL", 0x9: "NO_RFC7540_PRIORITIES",
}
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
PATHS_TEXT = (__doc__[__doc__.index("  /hello"):__doc__.index("HEAD gets")]
              if __doc__ else "see h2_server.py\n")  # python -OO drops __doc__

START = time.monotonic()


def log(fmt, *args):
    sys.stderr.write("[h2_server %8.3f] %s\n" %
                     (time.monotonic() - START, fmt % args if args else fmt))


def pattern_bytes(offset, n):
    """n bytes of the /bytes pattern starting at absolute offset."""
    start = offset % len(PATTERN)
    reps = (start + n) // len(PATTERN) + 1
    return (PATTERN * reps)[start:start + n]


def text(b):
    return b.decode("utf-8", "backslashreplace")


# --- raw frame recorder ------------------------------------------------------

class FrameRecorder:
    """Decodes the frame layer of what the client sent (RFC 9113 section 4),
    independently of h2: h2 reports SETTINGS as a dict, which loses their
    order and duplicates, and does not report frame positions. Only headers
    and the small control payloads are kept; DATA payloads are skipped."""

    def __init__(self):
        self.buf = bytearray()
        self.preface_seen = 0
        self.count = 0
        self.first_settings_index = None
        self.settings_frames = []
        self.window_updates = []
        self.headers_frames = []
        self.priority_frames = []
        self.frames = []
        self.truncated = False
        self.broken = False  # bad preface: stop decoding (h2 closes anyway)

    def _keep(self, lst, item, cap=MAX_RECORDED_ENTRIES):
        if len(lst) < cap:
            lst.append(item)
        else:
            self.truncated = True

    def feed(self, data):
        if self.broken:
            return
        if self.preface_seen < len(PREFACE):
            take = min(len(PREFACE) - self.preface_seen, len(data))
            if data[:take] != PREFACE[self.preface_seen:self.preface_seen + take]:
                self.broken = True
                return
            self.preface_seen += take
            data = data[take:]
        self.buf += data
        while len(self.buf) >= 9:
            length = int.from_bytes(self.buf[0:3], "big")
            if len(self.buf) < 9 + length:
                return
            ftype = self.buf[3]
            flags = self.buf[4]
            stream_id = int.from_bytes(self.buf[5:9], "big") & 0x7fffffff
            payload = bytes(self.buf[9:9 + length])
            del self.buf[:9 + length]
            self._frame(ftype, flags, stream_id, payload)

    @staticmethod
    def _priority_fields(b):
        dep = int.from_bytes(b[0:4], "big")
        return {"exclusive": bool(dep & 0x80000000),
                "depends_on": dep & 0x7fffffff,
                "weight": b[4] + 1}

    def _frame(self, ftype, flags, stream_id, payload):
        index = self.count
        self.count += 1
        self._keep(self.frames, {
            "index": index,
            "type": FRAME_TYPES.get(ftype, "UNKNOWN_0x%02x" % ftype),
            "type_id": ftype, "flags": flags, "stream_id": stream_id,
            "length": len(payload)}, MAX_RECORDED_FRAMES)
        if ftype == 0x4 and not flags & 0x1:  # SETTINGS, not ACK
            entries = []
            for off in range(0, len(payload) - len(payload) % 6, 6):
                sid, value = struct.unpack_from(">HI", payload, off)
                entries.append({"id": sid,
                                "name": SETTING_NAMES.get(
                                    sid, "UNKNOWN_0x%04x" % sid),
                                "value": value})
            if self.first_settings_index is None:
                self.first_settings_index = index
            self._keep(self.settings_frames,
                       {"frame_index": index, "entries": entries})
        elif ftype == 0x8 and stream_id == 0 and len(payload) == 4:
            first = self.first_settings_index
            self._keep(self.window_updates, {
                "frame_index": index,
                "after_first_settings": None if first is None else index - first,
                "increment": int.from_bytes(payload, "big") & 0x7fffffff})
        elif ftype == 0x1:  # HEADERS
            prio = None
            off = 1 if flags & 0x8 else 0  # PADDED: pad length byte first
            if flags & 0x20 and len(payload) >= off + 5:
                prio = self._priority_fields(payload[off:off + 5])
            self._keep(self.headers_frames, {
                "frame_index": index, "stream_id": stream_id,
                "end_stream": bool(flags & 0x1),
                "end_headers": bool(flags & 0x4), "priority": prio})
        elif ftype == 0x2 and len(payload) == 5:  # PRIORITY
            item = {"frame_index": index, "stream_id": stream_id}
            item.update(self._priority_fields(payload))
            self._keep(self.priority_frames, item)

    def describe(self):
        first = self.settings_frames[0]["entries"] if self.settings_frames else []
        return [
            ("frame_count", self.count),
            ("first_settings_index", self.first_settings_index),
            ("settings", first),
            ("settings_frames", self.settings_frames),
            ("connection_window_updates", self.window_updates),
            ("headers_frames", self.headers_frames),
            ("priority_frames", self.priority_frames),
            ("frames", self.frames),
            ("truncated", self.truncated),
        ]


def layout_json(pairs):
    """One key per line, one element per line for lists of objects, lists of
    scalars on one line: readable, and greppable line by line from a test."""
    def value(v, indent):
        if isinstance(v, list) and all(not isinstance(x, (list, dict)) for x in v):
            return json.dumps(v)
        if isinstance(v, list):
            inner = ",\n".join(" " * (indent + 2) + json.dumps(x) for x in v)
            return "[\n" + inner + "\n" + " " * indent + "]"
        if isinstance(v, dict):
            inner = ",\n".join(" " * (indent + 2) + json.dumps(k) + ": " +
                               value(x, indent + 2) for k, x in v.items())
            return "{\n" + inner + "\n" + " " * indent + "}"
        return json.dumps(v)
    return ("{\n" + ",\n".join("  " + json.dumps(k) + ": " + value(v, 2)
                               for k, v in pairs) + "\n}\n")


# --- connection ----------------------------------------------------------------

class H2Conn(h2.connection.H2Connection):
    # h2 4.1 treats a HEADERS frame beyond MAX_CONCURRENT_STREAMS as a
    # connection error (GOAWAY PROTOCOL_ERROR). RFC 9113 section 5.1.2 allows
    # a stream error, and REFUSED_STREAM is what lets a client retry, so h2's
    # check is disabled here and Connection.on_request enforces the limit.
    # (h2 reads this property only for that check.)
    @property
    def open_inbound_streams(self):
        self._open_streams(1)  # h2 prunes closed streams while counting
        return 0


class StreamGone(Exception):
    """The stream was reset or the connection closed under a handler."""


class Stream:
    def __init__(self, sid, headers):
        self.id = sid
        self.headers = headers
        self.pseudo = {k: v for k, v in headers if k.startswith(b":")}
        self.method = self.pseudo.get(b":method", b"")
        self.path = text(self.pseudo.get(b":path", b"").split(b"?", 1)[0])
        self.body = bytearray()
        self.body_len = 0
        self.body_done = asyncio.Event()
        self.trailers = []
        self.never_read = False
        self.out = bytearray()
        self.out_end = False
        self.out_trailers = None
        self.finished = False  # END_STREAM sent, or reset
        self.drained = asyncio.Event()
        self.task = None


class Server:
    def __init__(self, args):
        self.args = args
        self.next_conn_id = 1
        self.connections = set()
        self.refused_connections = 0  # counted against --refuse-connections


class Connection(asyncio.Protocol):
    def __init__(self, server):
        self.server = server
        self.args = server.args
        self.id = server.next_conn_id
        server.next_conn_id += 1
        self.transport = None
        self.tls = False
        self.alpn = None
        self.recorder = FrameRecorder()
        self.conn = None
        self.streams = {}  # streams being served, by id
        self.requests = 0
        self.highest_request_id = 0
        self.goaway_last = None  # last_stream_id of the GOAWAY we sent
        self.refusing = None  # --refuse-connections: decided by the first request
        self.closing = False
        self.write_closed = False  # FIN sent after GOAWAY
        self.write_paused = False
        self.timers = []

    # asyncio callbacks

    def connection_made(self, transport):
        self.transport = transport
        self.server.connections.add(self)
        sslobj = transport.get_extra_info("ssl_object")
        if sslobj is not None:
            self.tls = True
            self.alpn = sslobj.selected_alpn_protocol()
        log("conn %d: open from %s%s", self.id,
            transport.get_extra_info("peername"),
            " tls alpn=%s" % self.alpn if self.tls else " h2c")
        # Python's ssl cannot tell "no ALPN sent" from "no common protocol"
        # (both give None), so only a negotiated h2 gets HTTP/2.
        if self.tls and self.alpn != "h2":
            log("conn %d: ALPN %s is not h2: closing", self.id, self.alpn)
            transport.close()
            return
        config = h2.config.H2Configuration(
            client_side=False, header_encoding=None,
            normalize_inbound_headers=False)  # keep cookie crumbs as sent
        self.conn = H2Conn(config=config)
        # Start from RFC 9113 defaults and announce ours with update_settings,
        # so they apply when the client ACKs them; initiate_connection would
        # apply h2's defaults at once (MAX_CONCURRENT_STREAMS 100 before the
        # client even saw it).
        self.conn.local_settings = h2.settings.Settings(client=False)
        settings = {h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS:
                    self.args.max_concurrent_streams}
        if self.args.initial_window is not None:
            settings[h2.settings.SettingCodes.INITIAL_WINDOW_SIZE] = \
                self.args.initial_window
        settings[h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE] = \
            MAX_HEADER_LIST_SIZE
        self.conn.update_settings(settings)
        if self.args.connection_window is not None:
            self.conn.increment_flow_control_window(
                self.args.connection_window - 65535)
        self.flush()

    def data_received(self, data):
        if self.conn is None:
            return
        self.recorder.feed(data)
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError as exc:
            log("conn %d: protocol error from client: %r", self.id, exc)
            self.flush()
            self.transport.close()
            return
        for event in events:
            self.on_event(event)
        self.pump()

    def eof_received(self):
        log("conn %d: client sent EOF", self.id)
        return False

    def connection_lost(self, exc):
        log("conn %d: closed%s", self.id, " (%s)" % exc if exc else "")
        self.server.connections.discard(self)
        for timer in self.timers:
            timer.cancel()
        for s in list(self.streams.values()):
            self.forget(s)

    def pause_writing(self):
        self.write_paused = True

    def resume_writing(self):
        self.write_paused = False
        self.pump()

    # output

    def flush(self):
        if self.conn is None or self.transport.is_closing() or self.write_closed:
            return
        data = self.conn.data_to_send()
        if data:
            self.transport.write(data)

    def pump(self):
        """Moves queued response bodies into DATA frames as far as the
        client's flow-control windows and the transport allow."""
        for s in list(self.streams.values()):
            if self.write_paused or self.transport.is_closing() or self.write_closed:
                break
            try:
                self.pump_stream(s)
            except h2.exceptions.StreamClosedError:
                self.forget(s)
        self.flush()

    def pump_stream(self, s):
        """Sends what the windows allow of one stream's queued body, then its end."""
        while s.out and not self.write_paused:
            n = min(len(s.out), self.conn.local_flow_control_window(s.id),
                    self.conn.max_outbound_frame_size)
            if n <= 0:
                break
            # The last DATA frame carries END_STREAM unless trailers follow.
            last = n == len(s.out) and s.out_end and not s.out_trailers
            self.conn.send_data(s.id, bytes(s.out[:n]), end_stream=last)
            del s.out[:n]
            if last:
                self.done(s)
            self.flush()
        if not s.out and s.out_end and not s.finished:
            if s.out_trailers:
                self.conn.send_headers(s.id, s.out_trailers, end_stream=True)
            else:
                self.conn.end_stream(s.id)
            self.done(s)
        if len(s.out) < OUT_HIGH_WATER:
            s.drained.set()

    def send_headers(self, s, status, headers=(), end=False):
        if s.finished:
            raise StreamGone()
        block = [(b":status", str(status).encode()),
                 (b"x-connection-id", str(self.id).encode()),
                 (b"x-stream-id", str(s.id).encode())]
        block += [(k.encode() if isinstance(k, str) else k,
                   v.encode() if isinstance(v, str) else v) for k, v in headers]
        end = end or s.method == b"HEAD"
        self.conn.send_headers(s.id, block, end_stream=end)
        if end:
            self.done(s)
        self.flush()

    async def send_body(self, s, data, end=False):
        """Queues body bytes (and with end=True the end of the stream, so the
        last DATA frame carries END_STREAM); waits while too much is queued."""
        if s.finished:
            raise StreamGone()
        if s.method == b"HEAD":
            return
        s.out += data
        s.out_end = s.out_end or end
        self.pump()
        while len(s.out) >= OUT_HIGH_WATER:
            s.drained.clear()
            await s.drained.wait()
            if s.finished:
                raise StreamGone()

    def end(self, s, trailers=None):
        if s.finished:
            return
        s.out_end = True
        s.out_trailers = trailers
        self.pump()

    def done(self, s):
        """The stream needs nothing more from the server."""
        s.finished = True
        s.drained.set()
        self.streams.pop(s.id, None)
        self.maybe_close_after_goaway()

    def forget(self, s):
        s.finished = True
        s.drained.set()
        if s.task is not None and not s.task.done():
            s.task.cancel()
        self.streams.pop(s.id, None)

    # GOAWAY

    def send_goaway(self, last_stream_id, code=0):
        # h2 4.1 moves to CLOSED on close_connection() and then refuses to
        # send HEADERS or DATA, so the streams GOAWAY promises to finish could
        # not be. The frame is built with hyperframe and written directly;
        # h2 keeps serving the streams at or below last_stream_id.
        if self.transport.is_closing() or self.write_closed:
            return
        self.flush()
        frame = hyperframe.frame.GoAwayFrame(
            stream_id=0, last_stream_id=last_stream_id, error_code=code)
        self.transport.write(frame.serialize())
        self.goaway_last = last_stream_id
        log("conn %d: sent GOAWAY last_stream_id=%d error=%d", self.id,
            last_stream_id, code)
        # Streams above last_stream_id are not processed: stop serving them.
        for s in list(self.streams.values()):
            if s.id > last_stream_id:
                self.forget(s)
        self.maybe_close_after_goaway()

    def maybe_close_after_goaway(self):
        if self.goaway_last is None or self.closing or self.streams:
            return
        self.closing = True
        loop = asyncio.get_running_loop()
        self.timers.append(loop.call_later(GOAWAY_CLOSE_DELAY, self.close_gracefully))

    def close_gracefully(self):
        if self.transport.is_closing():
            return
        self.flush()
        if self.transport.can_write_eof():
            # FIN first and keep reading: closing with unread client bytes
            # would make the kernel answer with RST, which can destroy the
            # GOAWAY before the client reads it.
            self.transport.write_eof()
            self.write_closed = True
            loop = asyncio.get_running_loop()
            self.timers.append(loop.call_later(LINGER_AFTER_FIN, self.transport.close))
        else:
            self.transport.close()

    # events

    def on_event(self, event):
        if isinstance(event, h2.events.RequestReceived):
            self.on_request(event)
        elif isinstance(event, h2.events.DataReceived):
            self.on_data(event)
        elif isinstance(event, h2.events.TrailersReceived):
            s = self.streams.get(event.stream_id)
            if s is not None:
                s.trailers = list(event.headers)
        elif isinstance(event, h2.events.StreamEnded):
            s = self.streams.get(event.stream_id)
            if s is not None:
                s.body_done.set()
        elif isinstance(event, h2.events.StreamReset):
            log("conn %d: stream %d reset by client, error %s", self.id,
                event.stream_id, event.error_code)
            s = self.streams.get(event.stream_id)
            if s is not None:
                self.forget(s)
        elif isinstance(event, h2.events.ConnectionTerminated):
            log("conn %d: client sent GOAWAY error=%s last_stream_id=%s",
                self.id, event.error_code, event.last_stream_id)
            # h2 4.1 also refuses to send anything after *receiving* GOAWAY,
            # but the client's GOAWAY does not cancel its own requests (RFC
            # 9113 section 6.8): keep answering the ones in progress (and
            # keep accepting frames, which h2 would treat as errors).
            self.conn.state_machine.state = h2.connection.ConnectionState.SERVER_OPEN
        elif isinstance(event, h2.events.WindowUpdated):
            pass  # pump() runs after every batch of events

    def on_data(self, event):
        n = event.flow_controlled_length
        s = self.streams.get(event.stream_id)
        if s is not None and s.never_read:
            s.body_len += len(event.data)
            if n:  # reopen the connection window only
                self.conn.increment_flow_control_window(n)
            return
        if n:
            self.conn.acknowledge_received_data(n, event.stream_id)
        if s is None:
            return
        s.body_len += len(event.data)
        if s.path == "/echo" and s.body_len <= ECHO_LIMIT:
            s.body += event.data

    def over_concurrency_limit(self, sid):
        # Count the open client streams up to this one: streams opened by
        # later HEADERS in the same read are not "before" it.
        limit = self.conn.local_settings.max_concurrent_streams
        open_before = sum(1 for i, st in self.conn.streams.items()
                          if i % 2 == 1 and i <= sid and st.open)
        return open_before > limit

    def on_request(self, event):
        sid = event.stream_id
        s = Stream(sid, list(event.headers))
        if self.goaway_last is not None and sid > self.goaway_last:
            log("conn %d: stream %d %s %s ignored (after GOAWAY)", self.id, sid,
                text(s.method), s.path)
            return
        if self.over_concurrency_limit(sid):
            log("conn %d: stream %d refused: over MAX_CONCURRENT_STREAMS",
                self.id, sid)
            self.conn.reset_stream(sid, h2.errors.ErrorCodes.REFUSED_STREAM)
            return
        if self.refusing is None:  # this connection's first request decides
            self.refusing = self.server.refused_connections < self.args.refuse_connections
            self.server.refused_connections += 1 if self.refusing else 0
        if self.refusing:
            log("conn %d: stream %d refused (--refuse-connections)", self.id, sid)
            self.conn.reset_stream(sid, h2.errors.ErrorCodes.REFUSED_STREAM)
            return
        previous = self.highest_request_id
        self.highest_request_id = max(self.highest_request_id, sid)
        self.requests += 1
        log("conn %d: stream %d %s %s", self.id, sid, text(s.method),
            text(s.pseudo.get(b":path", b"")))
        if event.stream_ended:
            s.body_done.set()
        if s.path == "/goaway" or s.path.startswith("/goaway/"):
            code = self.parse_int(s.path[len("/goaway/"):], 0) \
                if s.path.startswith("/goaway/") else 0
            self.send_goaway(previous, code)
            return
        if s.path.startswith("/rst/"):
            code = self.parse_int(s.path[len("/rst/"):], 2)
            log("conn %d: stream %d reset with error %d", self.id, sid, code)
            self.conn.reset_stream(sid, code)
            return
        s.never_read = s.path == "/never-read"
        self.streams[sid] = s
        s.task = asyncio.get_running_loop().create_task(self.run_handler(s))
        if self.args.goaway_after is not None and \
                self.requests == self.args.goaway_after and \
                self.goaway_last is None:
            self.send_goaway(sid)

    @staticmethod
    def parse_int(value, default):
        """An error code from a path: decimal, 0..2^32-1, else `default`."""
        try:
            code = int(value)
        except ValueError:
            return default
        return code if 0 <= code <= 0xffffffff else default

    async def run_handler(self, s):
        try:
            await self.handle(s)
        except (StreamGone, asyncio.CancelledError, h2.exceptions.StreamClosedError):
            pass
        except Exception:  # a bug here must not take the server down
            log("conn %d: stream %d handler failed:\n%s", self.id, s.id,
                traceback.format_exc())
            if not s.finished and not self.transport.is_closing():
                try:
                    self.conn.reset_stream(s.id, h2.errors.ErrorCodes.INTERNAL_ERROR)
                except h2.exceptions.ProtocolError:
                    pass
                self.forget(s)
                self.flush()

    # handlers

    async def handle(self, s):
        path = s.path
        parts = path.split("/")
        if path == "/hello":
            body = b"hello from h2_server\n"
            self.send_headers(s, 200, [("content-type", "text/plain"),
                                       ("content-length", str(len(body)))])
            await self.send_body(s, body, end=True)
        elif len(parts) == 3 and parts[1] == "bytes" and parts[2].isdigit():
            total = int(parts[2])
            self.send_headers(s, 200, [("content-type", "application/octet-stream"),
                                       ("content-length", str(total))],
                              end=total == 0)
            sent = 0
            while sent < total:
                n = min(CHUNK, total - sent)
                await self.send_body(s, pattern_bytes(sent, n), end=sent + n == total)
                sent += n
        elif path == "/echo":
            await s.body_done.wait()
            if s.body_len > ECHO_LIMIT:
                self.send_headers(s, 413, [("content-length", "0")], end=True)
                return
            ctype = dict(s.headers).get(b"content-type", b"application/octet-stream")
            headers = [("content-type", ctype),
                       ("content-length", str(len(s.body))),
                       ("x-echo-headers", json.dumps(
                           [[text(k), text(v)] for k, v in s.headers]))]
            if s.trailers:
                headers.append(("x-echo-trailers", json.dumps(
                    [[text(k), text(v)] for k, v in s.trailers])))
            self.send_headers(s, 200, headers, end=not s.body)
            if s.body:
                await self.send_body(s, bytes(s.body), end=True)
        elif path == "/trailers" or (len(parts) == 3 and parts[1] == "trailers"
                                     and parts[2].isdigit()):
            body = pattern_bytes(0, int(parts[2]) if len(parts) == 3 else 1000)
            self.send_headers(s, 200, [("content-type", "application/octet-stream"),
                                       ("trailer", "x-checksum")])
            await self.send_body(s, body)
            self.end(s, [(b"x-checksum", hashlib.sha256(body).hexdigest().encode()),
                         (b"x-trailer", b"done")])
        elif len(parts) == 4 and parts[1] == "slow" and parts[2].isdigit() \
                and parts[3].isdigit():
            count, delay = int(parts[2]), int(parts[3]) / 1000.0
            self.send_headers(s, 200, [("content-type", "text/plain")])
            for i in range(count):
                if i:
                    await asyncio.sleep(delay)
                await self.send_body(s, b"chunk %d\n" % i, end=i == count - 1)
            if count == 0:
                self.end(s)
        elif path == "/big-headers" or (len(parts) == 3 and parts[1] == "big-headers"
                                        and parts[2].isdigit()):
            size = int(parts[2]) if len(parts) == 3 else 32768
            rng = random.Random(size)  # deterministic per size
            alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
            headers = [("content-type", "text/plain")]
            for i in range((size + 3999) // 4000):
                headers.append(("x-big-%d" % i,
                                "".join(rng.choice(alphabet) for _ in range(4000))))
            body = b"big headers\n"
            headers.append(("content-length", str(len(body))))
            self.send_headers(s, 200, headers)
            await self.send_body(s, body, end=True)
        elif path == "/never-read":
            await s.body_done.wait()
            body = json.dumps({"received": s.body_len}).encode()
            self.send_headers(s, 200, [("content-type", "application/json"),
                                       ("content-length", str(len(body)))])
            await self.send_body(s, body, end=True)
        elif path == "/respond-early":
            body = b"early response\n"
            self.send_headers(s, 200, [("content-type", "text/plain"),
                                       ("content-length", str(len(body)))])
            await self.send_body(s, body, end=True)
            if not s.body_done.is_set() and not self.transport.is_closing():
                log("conn %d: stream %d: response complete, RST_STREAM(NO_ERROR) "
                    "to stop the request body", self.id, s.id)
                self.conn.reset_stream(s.id, h2.errors.ErrorCodes.NO_ERROR)
                self.flush()
        elif path == "/frames":
            body = self.frames_json(s).encode()
            self.send_headers(s, 200, [("content-type", "application/json"),
                                       ("content-length", str(len(body)))])
            await self.send_body(s, body, end=True)
        elif path == "/":
            body = PATHS_TEXT.encode()
            self.send_headers(s, 200, [("content-type", "text/plain"),
                                       ("content-length", str(len(body)))])
            await self.send_body(s, body, end=True)
        else:
            body = b"not found\n"
            self.send_headers(s, 404, [("content-type", "text/plain"),
                                       ("content-length", str(len(body)))])
            await self.send_body(s, body, end=True)

    def frames_json(self, s):
        names = [text(k) for k, _ in s.headers]
        pairs = [("format", "corvid-h2-frames/1"),
                 ("connection", {"id": self.id, "tls": self.tls, "alpn": self.alpn})]
        pairs += self.recorder.describe()
        pairs.append(("request", {
            "stream_id": s.id,
            "headers": [[text(k), text(v)] for k, v in s.headers],
            "pseudo_header_order": [n for n in names if n.startswith(":")],
            "header_order": [n for n in names if not n.startswith(":")],
        }))
        return layout_json(pairs)


# --- main ----------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(description="HTTP/2 test server (python3-h2)")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--alpn", default="h2")
    p.add_argument("--initial-window", type=int)
    p.add_argument("--connection-window", type=int)
    p.add_argument("--max-concurrent-streams", type=int, default=100)
    p.add_argument("--goaway-after", type=int)
    p.add_argument("--refuse-connections", type=int, default=0)
    args = p.parse_args(argv)
    if (args.tls_cert is None) != (args.tls_key is None):
        p.error("--tls-cert and --tls-key go together")
    if args.initial_window is not None and not 0 <= args.initial_window <= 2**31 - 1:
        p.error("--initial-window must be 0..2147483647")
    if args.connection_window is not None and \
            not 65535 < args.connection_window <= 2**31 - 1:
        p.error("--connection-window must be 65536..2147483647")
    if not 0 <= args.max_concurrent_streams <= 2**32 - 1:
        p.error("--max-concurrent-streams must be 0..4294967295")
    if args.goaway_after is not None and args.goaway_after < 1:
        p.error("--goaway-after must be at least 1")
    if args.refuse_connections < 0:
        p.error("--refuse-connections must not be negative")
    return args


async def serve(args):
    ssl_ctx = None
    if args.tls_cert:
        ssl_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ssl_ctx.minimum_version = ssl.TLSVersion.TLSv1_2  # RFC 9113 section 9.2
        ssl_ctx.options |= ssl.OP_NO_COMPRESSION
        ssl_ctx.load_cert_chain(args.tls_cert, args.tls_key)
        ssl_ctx.set_alpn_protocols([a for a in args.alpn.split(",") if a])
    server_state = Server(args)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Connection(server_state),
                                      "127.0.0.1", args.port, ssl=ssl_ctx)
    port = server.sockets[0].getsockname()[1]
    log("serving %s on 127.0.0.1:%d (initial window %s, max concurrent "
        "streams %d, goaway after %s)", "TLS" if ssl_ctx else "h2c", port,
        args.initial_window, args.max_concurrent_streams, args.goaway_after)
    sys.stdout.write("listening %d\n" % port)
    sys.stdout.flush()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log("stopping")
    server.close()
    for c in list(server_state.connections):
        c.transport.abort()
    await server.wait_closed()


def main(argv):
    args = parse_args(argv)
    try:
        asyncio.run(serve(args))
    except OSError as exc:
        log("cannot serve: %s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
