#!/usr/bin/python3
"""Helpers for scripts/capture-fingerprints.sh (standard library only).

Subcommands:

  free-ports N
      Print N distinct free TCP ports on 127.0.0.1, one per line.

  page OUT_DIR WS_PORT
      Write the docroot served by nghttpd: OUT_DIR/index.html (a page whose
      script runs fetch('/api/data') and then opens
      wss://localhost:WS_PORT/ws and sends one message) and OUT_DIR/api/data.

  ws-server --port P --cert CHAIN --key KEY --hello OUT.bin --request OUT.txt
            [--timeout SECONDS]
      A TLS WebSocket endpoint on 127.0.0.1:P. For every connection it keeps
      the raw bytes of the first TLS record the client sends (the
      ClientHello, 5-byte record header included) while completing the
      handshake through ssl.MemoryBIO/SSLObject with ALPN http/1.1 only,
      reads the HTTP/1.1 upgrade request head (raw bytes, CRLFs intact),
      answers 101 with the right Sec-WebSocket-Accept, reads one message,
      sends a Close (1000), waits for the client's Close and sends
      close_notify. The first connection that completes an upgrade has its
      ClientHello written to OUT.bin and its request head to OUT.txt, then
      the server exits 0. Exits 1 if that does not happen within the timeout
      (default 60 s). A summary (offered/negotiated ALPN, the message) goes
      to stdout.

  h2-summary LOG
      From an `nghttpd -v` log, print for each request stream its header
      list in wire order and the flags/priority of its HEADERS frame, plus
      every WINDOW_UPDATE and PRIORITY frame the client sent.

  compare A.json B.json
      Print the fields of two `hello_capture.py --parse` outputs that differ,
      GREASE values (random per connection) treated as equal; for the
      extension list, what only one side has and whether the order of the
      rest differs.
"""

import argparse
import base64
import hashlib
import json
import os
import re
import socket
import ssl
import sys
import threading
import time

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
GREASE = {0x0A0A + 0x1010 * i for i in range(16)}

# Limits on what a peer may send us (this is a test oracle, but it must not
# hang or grow without bound on a misbehaving client).
MAX_HELLO_RECORD = 5 + 16384 + 2048
MAX_REQUEST_HEAD = 64 * 1024
MAX_WS_PAYLOAD = 1024 * 1024
IO_TIMEOUT = 15.0


# --------------------------------------------------------------------------
# free ports and the page


def free_ports(n):
    socks = []
    ports = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


PAGE = """<!doctype html>
<html>
<head>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<title>corvid fingerprint capture</title>
</head>
<body>
<pre id="log">page loaded</pre>
<script>
function log(s) {
  document.getElementById('log').textContent += '\\n' + s;
}
fetch('/api/data')
  .then(function (r) { return r.text(); })
  .then(function (t) {
    log('fetch ok: ' + t.trim());
    var ws = new WebSocket('wss://localhost:@WS_PORT@/ws');
    ws.onopen = function () { log('ws open'); ws.send('hello from the page'); };
    ws.onmessage = function (e) { log('ws message: ' + e.data); };
    ws.onerror = function () { log('ws error'); };
    ws.onclose = function (e) { log('ws closed: ' + e.code); };
  })
  .catch(function (e) { log('fetch failed: ' + e); });
</script>
</body>
</html>
"""


def write_page(out_dir, ws_port):
    os.makedirs(os.path.join(out_dir, "api"), exist_ok=True)
    with open(os.path.join(out_dir, "index.html"), "w") as f:
        f.write(PAGE.replace("@WS_PORT@", str(ws_port)))
    with open(os.path.join(out_dir, "api", "data"), "w") as f:
        f.write('{"ok":true}\n')


# --------------------------------------------------------------------------
# the WebSocket endpoint


class PeerClosed(Exception):
    pass


class TlsConn:
    """A server-side TLS connection driven through memory BIOs so that the
    raw bytes of the client's first record can be kept."""

    def __init__(self, sock, ctx):
        self.sock = sock
        self.inc = ssl.MemoryBIO()
        self.out = ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out, server_side=True)
        self.raw_prefix = b""  # raw bytes until the first record is complete
        self.first_record = None
        self.offered_alpn = None

    def _flush(self):
        data = self.out.read()
        if data:
            self.sock.sendall(data)

    def _feed(self):
        data = self.sock.recv(65536)
        if not data:
            self.inc.write_eof()
            raise PeerClosed()
        if self.first_record is None:
            self.raw_prefix += data
            if len(self.raw_prefix) >= 5:
                need = 5 + int.from_bytes(self.raw_prefix[3:5], "big")
                if need > MAX_HELLO_RECORD:
                    raise ValueError("first record too long: %d" % need)
                if len(self.raw_prefix) >= need:
                    self.first_record = self.raw_prefix[:need]
                    self.raw_prefix = b""
        self.inc.write(data)

    def handshake(self):
        while True:
            try:
                self.obj.do_handshake()
                self._flush()
                return
            except ssl.SSLWantReadError:
                self._flush()
                self._feed()

    def recv(self, n=65536):
        while True:
            try:
                data = self.obj.read(n)
                self._flush()
                return data
            except ssl.SSLWantReadError:
                self._flush()
                self._feed()
            except ssl.SSLZeroReturnError:
                return b""

    def send(self, data):
        self.obj.write(data)
        self._flush()

    def close_notify(self):
        try:
            self.obj.unwrap()
        except (ssl.SSLError, ssl.SSLWantReadError):
            pass
        try:
            self._flush()
        except OSError:
            pass


def alpn_from_hello(record):
    """The ALPN list of a ClientHello record, or None (minimal parser)."""
    try:
        body = record[5:]
        p = 4 + 2 + 32
        p += 1 + body[p]
        p += 2 + int.from_bytes(body[p:p + 2], "big")
        p += 1 + body[p]
        end = p + 2 + int.from_bytes(body[p:p + 2], "big")
        p += 2
        while p < end:
            t = int.from_bytes(body[p:p + 2], "big")
            ln = int.from_bytes(body[p + 2:p + 4], "big")
            if t == 16:
                d = body[p + 4:p + 4 + ln]
                q, out = 2, []
                while q < len(d):
                    out.append(d[q + 1:q + 1 + d[q]].decode("ascii", "replace"))
                    q += 1 + d[q]
                return out
            p += 4 + ln
    except (IndexError, ValueError):
        pass
    return None


class ByteReader:
    def __init__(self, conn):
        self.conn = conn
        self.buf = b""

    def until(self, marker, limit):
        while marker not in self.buf:
            if len(self.buf) > limit:
                raise ValueError("no %r within %d bytes" % (marker, limit))
            data = self.conn.recv()
            if not data:
                raise PeerClosed()
            self.buf += data
        i = self.buf.index(marker) + len(marker)
        head, self.buf = self.buf[:i], self.buf[i:]
        return head

    def exactly(self, n):
        while len(self.buf) < n:
            data = self.conn.recv()
            if not data:
                raise PeerClosed()
            self.buf += data
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


def read_ws_frame(rd):
    b0, b1 = rd.exactly(2)
    opcode = b0 & 0x0F
    masked = b1 & 0x80
    ln = b1 & 0x7F
    if ln == 126:
        ln = int.from_bytes(rd.exactly(2), "big")
    elif ln == 127:
        ln = int.from_bytes(rd.exactly(8), "big")
    if ln > MAX_WS_PAYLOAD:
        raise ValueError("frame too long: %d" % ln)
    key = rd.exactly(4) if masked else b"\0\0\0\0"
    payload = bytes(c ^ key[i % 4] for i, c in enumerate(rd.exactly(ln)))
    return b0, opcode, bool(masked), payload


def ws_frame(opcode, payload):
    assert len(payload) < 126
    return bytes([0x80 | opcode, len(payload)]) + payload


def parse_request_head(head):
    lines = head.decode("latin-1").split("\r\n")
    fields = []
    for line in lines[1:]:
        if not line:
            break
        name, _, value = line.partition(":")
        fields.append((name, value.strip()))
    return lines[0], fields


class WsServer:
    def __init__(self, args):
        self.args = args
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(args.cert, args.key)
        self.ctx.set_alpn_protocols(["http/1.1"])
        self.done = threading.Event()
        self.lock = threading.Lock()
        self.conn_count = 0

    def handle(self, sock, idx):
        sock.settimeout(IO_TIMEOUT)
        conn = TlsConn(sock, self.ctx)
        try:
            conn.handshake()
            offered = alpn_from_hello(conn.first_record or b"")
            print("conn %d: TLS %s, %s, offered ALPN %s, negotiated %s"
                  % (idx, conn.obj.version(), conn.obj.cipher()[0], offered,
                     conn.obj.selected_alpn_protocol()), flush=True)
            rd = ByteReader(conn)
            head = rd.until(b"\r\n\r\n", MAX_REQUEST_HEAD)
            line, fields = parse_request_head(head)
            print("conn %d: request line %r, %d header fields"
                  % (idx, line, len(fields)), flush=True)
            key = None
            for name, value in fields:
                if name.lower() == "sec-websocket-key":
                    key = value
            if key is None:
                conn.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                          b"Connection: close\r\n\r\n")
                conn.close_notify()
                return
            accept = base64.b64encode(
                hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
            conn.send(("HTTP/1.1 101 Switching Protocols\r\n"
                       "Upgrade: websocket\r\n"
                       "Connection: Upgrade\r\n"
                       "Sec-WebSocket-Accept: %s\r\n\r\n" % accept).encode())
            with self.lock:
                first = not self.done.is_set()
                if first:
                    with open(self.args.hello, "wb") as f:
                        f.write(conn.first_record)
                    with open(self.args.request, "wb") as f:
                        f.write(head)
            b0, opcode, masked, payload = read_ws_frame(rd)
            print("conn %d: frame fin/rsv/op=0x%02x masked=%s payload=%r"
                  % (idx, b0, masked, payload[:200]), flush=True)
            conn.send(ws_frame(0x8, (1000).to_bytes(2, "big") + b"done"))
            # Wait (briefly) for the client's Close before close_notify.
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                b0, opcode, masked, payload = read_ws_frame(rd)
                if opcode == 0x8:
                    code = int.from_bytes(payload[:2], "big") if payload else None
                    print("conn %d: client Close %s" % (idx, code), flush=True)
                    break
            conn.close_notify()
            if first:
                self.done.set()
        except (PeerClosed, OSError, ssl.SSLError, ValueError) as e:
            print("conn %d: ended: %r" % (idx, e), flush=True)
            if self.lock.acquire(timeout=1):
                try:
                    # An upgrade that got as far as the files still counts.
                    if (os.path.exists(self.args.request)
                            and not self.done.is_set()):
                        self.done.set()
                finally:
                    self.lock.release()
        finally:
            try:
                sock.close()
            except OSError:
                pass

    def run(self):
        for path in (self.args.hello, self.args.request):
            if os.path.exists(path):
                os.unlink(path)
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", self.args.port))
        srv.listen(8)
        srv.settimeout(0.2)
        print("ws-server: listening on 127.0.0.1:%d" % self.args.port, flush=True)
        deadline = time.monotonic() + self.args.timeout
        while not self.done.is_set() and time.monotonic() < deadline:
            try:
                sock, _ = srv.accept()
            except socket.timeout:
                continue
            self.conn_count += 1
            threading.Thread(target=self.handle, args=(sock, self.conn_count),
                             daemon=True).start()
        srv.close()
        if not self.done.is_set():
            print("ws-server: no WebSocket upgrade within %.0f s"
                  % self.args.timeout, flush=True)
            return 1
        time.sleep(0.2)
        print("ws-server: done", flush=True)
        return 0


# --------------------------------------------------------------------------
# log and hello summaries

RECV_HDR = re.compile(r"^\[id=(\d+)\] \[\s*[\d.]+\] recv \(stream_id=(\d+)\) (.*)$")
FRAME = re.compile(r"^\[id=(\d+)\] \[\s*[\d.]+\] (recv|send) (\w+) frame <(.*)>$")


def h2_summary(path):
    lines = open(path, encoding="utf-8", errors="replace").read().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        m = RECV_HDR.match(line)
        if m:
            conn, sid = m.group(1), m.group(2)
            fields = []
            while i < len(lines) and RECV_HDR.match(lines[i]):
                fields.append(RECV_HDR.match(lines[i]).group(3))
                i += 1
            print("conn %s stream %s header list:" % (conn, sid))
            for f in fields:
                print("  " + f)
            continue
        m = FRAME.match(line)
        if m and m.group(2) == "recv" and m.group(3) in (
                "HEADERS", "WINDOW_UPDATE", "PRIORITY", "SETTINGS"):
            detail = []
            j = i + 1
            while j < len(lines) and lines[j].startswith(" "):
                detail.append(lines[j].strip())
                j += 1
            print("conn %s recv %s <%s> %s" % (m.group(1), m.group(3), m.group(4),
                                               " ".join(detail)))
            i = j
            continue
        i += 1


def _degrease(v):
    """GREASE values are random per connection: compare them as 'GREASE'."""
    if isinstance(v, list):
        return [_degrease(x) for x in v]
    if isinstance(v, int) and v in GREASE:
        return "GREASE"
    return v


def compare(a_path, b_path):
    a = json.load(open(a_path))
    b = json.load(open(b_path))
    same = True
    for k in sorted(set(a) | set(b)):
        va, vb = _degrease(a.get(k)), _degrease(b.get(k))
        if k == "extensions" and va and vb and va != vb:
            if sorted(map(str, va)) == sorted(map(str, vb)):
                print("extensions: same set, different order")
                same = False
                continue
            only_a = [x for x in va if x not in vb]
            only_b = [x for x in vb if x not in va]
            print("extensions: only in %s: %s; only in %s: %s; order %s"
                  % (os.path.basename(a_path), only_a, os.path.basename(b_path),
                     only_b, "differs" if [x for x in va if x in vb]
                     != [x for x in vb if x in va] else "of the rest is the same"))
            same = False
            continue
        if va != vb:
            same = False
            print("%s:\n  %s: %s\n  %s: %s" % (k, os.path.basename(a_path), va,
                                              os.path.basename(b_path), vb))
    if same:
        print("identical (GREASE values aside)")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("free-ports")
    p.add_argument("n", type=int)
    p = sub.add_parser("page")
    p.add_argument("out_dir")
    p.add_argument("ws_port", type=int)
    p = sub.add_parser("ws-server")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--hello", required=True)
    p.add_argument("--request", required=True)
    p.add_argument("--timeout", type=float, default=60.0)
    p = sub.add_parser("h2-summary")
    p.add_argument("log")
    p = sub.add_parser("compare")
    p.add_argument("a")
    p.add_argument("b")
    args = ap.parse_args()

    if args.cmd == "free-ports":
        print("\n".join(str(x) for x in free_ports(args.n)))
    elif args.cmd == "page":
        write_page(args.out_dir, args.ws_port)
    elif args.cmd == "ws-server":
        return WsServer(args).run()
    elif args.cmd == "h2-summary":
        h2_summary(args.log)
    elif args.cmd == "compare":
        compare(args.a, args.b)
    return 0


if __name__ == "__main__":
    sys.exit(main())
