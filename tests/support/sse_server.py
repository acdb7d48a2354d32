"""A server-sent events server on Python's http.server, as an independent
peer for corvid's event source (tests/client/sse_client_test.cpp).

    /usr/bin/python3 sse_server.py --port P [--total N] [--per-connection K]
                                           [--retry MS]

GET on any path answers text/event-stream (HTTP/1.0: the body ends when the
connection closes). It sends the events after the request's Last-Event-ID
(0 when absent), at most K per connection, then closes; each event is

    id: I
    event: count
    data: event I
    data: resumed after L          (L: the Last-Event-ID this connection got)

with CRLF line ends and a comment first. Once Last-Event-ID is N it answers
204 No Content: the stream is over.
"""

import argparse
import http.server
import socketserver


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--total", type=int, default=6)
    ap.add_argument("--per-connection", type=int, default=2)
    ap.add_argument("--retry", type=int, default=50)
    args = ap.parse_args()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self):
            last = self.headers.get("Last-Event-ID")
            after = int(last) if last else 0
            if after >= args.total:
                self.send_response(204)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            out = ": python sse_server\r\nretry: %d\r\n\r\n" % args.retry
            last_sent = min(args.total, after + args.per_connection)
            for i in range(after + 1, last_sent + 1):
                out += ("id: %d\r\nevent: count\r\ndata: event %d\r\n"
                        "data: resumed after %s\r\n\r\n" % (i, i, last or "none"))
            self.wfile.write(out.encode())
            self.wfile.flush()

        def log_message(self, *unused):
            pass

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        allow_reuse_address = True

    Server(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
