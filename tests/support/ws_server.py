#!/usr/bin/python3
"""A WebSocket server on python3-websockets (Debian's, 10.x) for corvid's
client interop tests. Run by /usr/bin/python3 (the interpreter Debian's
python3-websockets belongs to).

Paths:
  /echo            echoes every message with its type
  /headers         first sends the handshake request's headers as a JSON
                   text message ({"name-lower": "value", ...}), then echoes
  /close/CODE      closes at once with CODE and the reason "bye"
  /stream/N/SIZE   sends N binary messages of SIZE bytes, then closes 1000
  /forbidden       refuses the handshake with 403 and a body
The negotiated Sec-WebSocket-Extensions and subprotocol are in the log.
"""

import argparse
import asyncio
import http
import json
import logging
import ssl
import sys

import websockets
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory


async def handler(ws):
    path = ws.path
    print(f"connection path={path} extensions={ws.response_headers.get('Sec-WebSocket-Extensions')}"
          f" subprotocol={ws.subprotocol}", flush=True)
    if path.startswith("/close/"):
        await ws.close(code=int(path.split("/")[2]), reason="bye")
        return
    if path.startswith("/stream/"):
        _, _, count, size = path.split("/")
        for i in range(int(count)):
            await ws.send(bytes([i % 256]) * int(size))
        await ws.close(code=1000)
        return
    if path == "/headers":
        await ws.send(json.dumps({k.lower(): v for k, v in ws.request_headers.raw_items()}))
    try:
        async for message in ws:
            await ws.send(message)
    except websockets.ConnectionClosed:
        pass


def process_request(path, headers):
    if path == "/forbidden":
        return (http.HTTPStatus.FORBIDDEN, [("Content-Type", "text/plain")],
                b"no websockets for you\n")
    return None


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--no-deflate", action="store_true")
    p.add_argument("--server-no-context-takeover", action="store_true")
    p.add_argument("--client-no-context-takeover", action="store_true")
    p.add_argument("--server-max-window-bits", type=int)
    p.add_argument("--client-max-window-bits", type=int)
    p.add_argument("--subprotocols", default="")
    p.add_argument("--max-size", type=int, default=64 * 1024 * 1024)
    a = p.parse_args()

    extensions = []
    if not a.no_deflate:
        extensions.append(ServerPerMessageDeflateFactory(
            server_no_context_takeover=a.server_no_context_takeover,
            client_no_context_takeover=a.client_no_context_takeover,
            server_max_window_bits=a.server_max_window_bits,
            client_max_window_bits=a.client_max_window_bits))
    context = None
    if a.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(a.tls_cert, a.tls_key)
    subprotocols = [s for s in a.subprotocols.split(",") if s] or None
    async with websockets.serve(handler, "127.0.0.1", a.port, compression=None,
                                extensions=extensions, subprotocols=subprotocols, ssl=context,
                                process_request=process_request, max_size=a.max_size,
                                ping_interval=None):
        print(f"listening on {a.port}", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    asyncio.run(main())
