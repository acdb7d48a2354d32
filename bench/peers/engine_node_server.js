'use strict';
// The node `ws` peer of corvid-bench's engine workloads: the minimal subset
// of the engine protocol v1 (shared/DESIGN.md) that the load generator
// drives, written the way a node user would write it, so that the hot path
// (JWT check, fan-out of one publication to every subscriber) compares like
// for like with corvid-server and the websocketpp peer.
//
//   node engine_node_server.js --port N --jwt-secret S [--host H]   serve
//   node engine_node_server.js --version          "ws X.Y.Z, node vA.B.C"
//
// - GET /ws?token=JWT upgrades when the token is an HS256 JWT signed with
//   the secret (node's crypto HMAC, constant-time compare) whose `exp` (and
//   `nbf`, if any) admit the current time; otherwise 401.
// - After the upgrade: {"op":"ready","conn":ID}.
// - {"op":"sub","ch":C} -> {"op":"subok","ch":C,"epoch":E,"offset":N}
// - {"op":"pub","ch":C,"data":ANY} -> every subscriber of C (the publisher
//   too if subscribed) gets {"op":"msg","ch":C,"offset":N,"data":ANY}, N the
//   channel's next offset (1, 2, ...). The frame is serialised once per
//   publication and sent to each subscriber as the same Buffer.
// - {"op":"unsub","ch":C} and {"op":"ping"} -> nothing / {"op":"pong"};
//   anything else -> {"op":"err","code":N,"reason":TEXT}.
// permessage-deflate is off. ws is the one in tests/support/node (installed
// by `npm ci` there; scripts/dev bench does it). Runs until SIGINT/SIGTERM.

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const nodeDir = path.join(__dirname, '..', '..', 'tests', 'support', 'node', 'node_modules');
const { WebSocketServer } = require(path.join(nodeDir, 'ws'));

function wsVersion() {
    const pkg = path.join(nodeDir, 'ws', 'package.json');
    return JSON.parse(fs.readFileSync(pkg, 'utf8')).version;
}

function verifyToken(token, secret) {
    if (typeof token !== 'string') {
        return false;
    }
    const parts = token.split('.');
    if (parts.length !== 3) {
        return false;
    }
    let header;
    let claims;
    try {
        header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
        claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    } catch (e) {
        return false;
    }
    if (header === null || header.alg !== 'HS256' || claims === null || typeof claims !== 'object') {
        return false;
    }
    const expected = crypto.createHmac('sha256', secret).update(parts[0] + '.' + parts[1]).digest();
    const given = Buffer.from(parts[2], 'base64url');
    if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) {
        return false;
    }
    const now = Date.now() / 1000;
    if (typeof claims.exp !== 'number' || claims.exp < now) {
        return false;
    }
    if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || claims.nbf > now)) {
        return false;
    }
    return true;
}

function main(argv) {
    let port = 0;
    let host = '127.0.0.1';
    let secret = null;
    for (let i = 0; i < argv.length; ++i) {
        const arg = argv[i];
        if (arg === '--version') {
            process.stdout.write(`ws ${wsVersion()}, node ${process.version}\n`);
            return;
        } else if (arg === '--port' && i + 1 < argv.length) {
            port = Number.parseInt(argv[++i], 10);
        } else if (arg === '--host' && i + 1 < argv.length) {
            host = argv[++i];
        } else if (arg === '--jwt-secret' && i + 1 < argv.length) {
            secret = argv[++i];
        } else {
            process.stderr.write(
                'usage: node engine_node_server.js --port N --jwt-secret S [--host H] | --version\n');
            process.exit(2);
        }
    }
    if (secret === null) {
        process.stderr.write('engine_node_server: --jwt-secret is required\n');
        process.exit(2);
    }

    const channels = new Map();  // name -> {epoch, offset, subs: Set<WebSocket>}
    const channel = (name) => {
        let c = channels.get(name);
        if (c === undefined) {
            c = { epoch: 1 + crypto.randomInt(0xfffffffe), offset: 0, subs: new Set() };
            channels.set(name, c);
        }
        return c;
    };
    let nextConn = 0;

    const wss = new WebSocketServer({
        host,
        port,
        perMessageDeflate: false,
        maxPayload: 1 << 20,
        verifyClient: (info) => {
            const url = new URL(info.req.url, 'http://localhost');
            return url.pathname === '/ws' && verifyToken(url.searchParams.get('token'), secret);
        },
    });
    const sendErr = (ws, code, reason) => ws.send(JSON.stringify({ op: 'err', code, reason }));

    wss.on('connection', (ws) => {
        const subscribed = new Set();
        ws.send(JSON.stringify({ op: 'ready', conn: String(++nextConn) }));
        ws.on('message', (raw, isBinary) => {
            if (isBinary) {
                return sendErr(ws, 1, 'send JSON text frames');
            }
            let m;
            try {
                m = JSON.parse(raw.toString('utf8'));
            } catch (e) {
                return sendErr(ws, 1, 'not valid JSON');
            }
            if (m === null || typeof m !== 'object') {
                return sendErr(ws, 1, 'not a JSON object');
            }
            if (m.op === 'ping') {
                return ws.send('{"op":"pong"}');
            }
            if (typeof m.ch !== 'string' || m.ch.length === 0 || m.ch.length > 255) {
                return sendErr(ws, 4, 'ch must be a channel name');
            }
            if (m.op === 'sub') {
                if (subscribed.has(m.ch)) {
                    return sendErr(ws, 8, 'already subscribed');
                }
                const c = channel(m.ch);
                c.subs.add(ws);
                subscribed.add(m.ch);
                ws.send(JSON.stringify({ op: 'subok', ch: m.ch, epoch: c.epoch, offset: c.offset }));
            } else if (m.op === 'unsub') {
                const c = channels.get(m.ch);
                if (c !== undefined) {
                    c.subs.delete(ws);
                }
                subscribed.delete(m.ch);
            } else if (m.op === 'pub') {
                if (m.data === undefined) {
                    return sendErr(ws, 3, 'pub needs data');
                }
                const c = channel(m.ch);
                c.offset += 1;
                const frame = Buffer.from(
                    JSON.stringify({ op: 'msg', ch: m.ch, offset: c.offset, data: m.data }));
                for (const s of c.subs) {
                    s.send(frame, { binary: false });
                }
            } else {
                sendErr(ws, 2, 'unknown op');
            }
        });
        ws.on('close', () => {
            for (const name of subscribed) {
                const c = channels.get(name);
                if (c !== undefined) {
                    c.subs.delete(ws);
                }
            }
        });
        ws.on('error', () => {});
    });
    wss.on('listening', () => process.stdout.write(`${wss.address().port}\n`));
    const stop = () => process.exit(0);
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
}

main(process.argv.slice(2));
