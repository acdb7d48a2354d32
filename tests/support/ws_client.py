#!/usr/bin/python3
"""A WebSocket client on python3-websockets (Debian's, 10.4) for corvid's
server tests: connects to an echo endpoint, sends a fixed set of messages,
checks each comes back unchanged with its type, then closes with a code.

Prints one line per fact the test checks:
  extensions: <Sec-WebSocket-Extensions of the response, or none>
  subprotocol: <chosen, or none>
  echo ok <count>
  close: <code the server's close frame carried> <its reason>
and "FAIL <what>" (exit 1) at the first mismatch.
"""

import argparse
import asyncio
import os
import ssl
import sys

import websockets
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("--ca", help="CA file for wss://")
    p.add_argument("--deflate", action="store_true", help="offer permessage-deflate")
    p.add_argument("--client-no-context-takeover", action="store_true")
    p.add_argument("--server-no-context-takeover", action="store_true")
    p.add_argument("--client-max-window-bits", type=int)
    p.add_argument("--server-max-window-bits", type=int)
    p.add_argument("--subprotocol", action="append", default=[])
    p.add_argument("--large", type=int, default=1 << 20, help="size of the large messages")
    p.add_argument("--close-code", type=int, default=1000)
    p.add_argument("--close-reason", default="bye")
    return p.parse_args()


def fail(what):
    print("FAIL " + what, flush=True)
    sys.exit(1)


async def expect_echo(ws, message, label):
    await ws.send(message)
    got = await asyncio.wait_for(ws.recv(), 30)
    if type(got) is not type(message):
        fail(f"{label}: type {type(got).__name__}, sent {type(message).__name__}")
    if got != message:
        fail(f"{label}: {len(got)} bytes back, sent {len(message)}, or different content")


async def main():
    args = parse_args()
    context = None
    if args.url.startswith("wss:"):
        context = ssl.create_default_context(cafile=args.ca)
    extensions = None
    compression = None
    if args.deflate:
        extensions = [
            ClientPerMessageDeflateFactory(
                server_no_context_takeover=args.server_no_context_takeover,
                client_no_context_takeover=args.client_no_context_takeover,
                server_max_window_bits=args.server_max_window_bits,
                client_max_window_bits=args.client_max_window_bits or True,
                compress_settings={"memLevel": 5},
            )
        ]
    async with websockets.connect(
        args.url,
        ssl=context,
        compression=compression,
        extensions=extensions,
        subprotocols=args.subprotocol or None,
        max_size=64 << 20,
        open_timeout=10,
        close_timeout=10,
    ) as ws:
        print("extensions: " + (ws.response_headers.get("Sec-WebSocket-Extensions") or "none"))
        print("subprotocol: " + (ws.subprotocol or "none"), flush=True)
        count = 0
        cases = [
            ("text", "hello"),
            ("empty text", ""),
            ("unicode", "h\u00e9llo \u2603 \U0001F600"),
            ("binary", bytes(range(256))),
            ("empty binary", b""),
            ("compressible text", "abc" * 10000),
            ("large text", ("corvid " * (args.large // 7 + 1))[: args.large]),
            ("large binary", os.urandom(args.large)),
        ]
        for label, message in cases:
            await expect_echo(ws, message, label)
            count += 1
        # Fragmented messages come back whole.
        await ws.send(["frag", "mented ", "text"])
        got = await asyncio.wait_for(ws.recv(), 30)
        if got != "fragmented text":
            fail(f"fragmented text: {got!r}")
        count += 1
        await ws.send([b"\x00\x01", b"", b"\x02" * 70000])
        got = await asyncio.wait_for(ws.recv(), 30)
        if got != b"\x00\x01" + b"\x02" * 70000:
            fail("fragmented binary")
        count += 1
        # Many messages in flight at once, answered in order.
        burst = [f"message {i} " + "x" * (i * 37 % 500) for i in range(200)]
        for m in burst:
            await ws.send(m)
        for m in burst:
            got = await asyncio.wait_for(ws.recv(), 30)
            if got != m:
                fail("burst out of order or changed")
        count += len(burst)
        pong = await ws.ping(b"corvid")
        await asyncio.wait_for(pong, 10)
        print(f"echo ok {count}", flush=True)
        await ws.close(args.close_code, args.close_reason)
        print(f"close: {ws.close_code} {ws.close_reason}", flush=True)


asyncio.run(main())
