'use strict';
// A WebSocket echo server on node's `ws` (tests/support/node/node_modules,
// installed by scripts/dev), the cross-check server of corvid-bench's ws-echo
// workload and the peer of the benchmark peers' tests.
//
//   node ws_echo_server.js [--port N] [--host H]   serve; prints the port
//   node ws_echo_server.js --version               "ws X.Y.Z, node vA.B.C"
//
// Every message on any path is sent back as it came (same type, same bytes).
// permessage-deflate is off; a message above 16 MiB closes the connection
// with 1009 (maxPayload). The listening port (0 or absent: any free port) is
// printed on stdout as one line once the server accepts connections. The
// server runs until SIGINT or SIGTERM.

const fs = require('fs');
const path = require('path');

function wsVersion() {
    const pkg = path.join(__dirname, 'node_modules', 'ws', 'package.json');
    return JSON.parse(fs.readFileSync(pkg, 'utf8')).version;
}

function main(argv) {
    let port = 0;
    let host = '127.0.0.1';
    for (let i = 0; i < argv.length; ++i) {
        const arg = argv[i];
        if (arg === '--version') {
            process.stdout.write(`ws ${wsVersion()}, node ${process.version}\n`);
            return;
        } else if (arg === '--port' && i + 1 < argv.length) {
            port = Number.parseInt(argv[++i], 10);
            if (!(port >= 0 && port <= 65535)) {
                throw new Error('--port takes 0..65535');
            }
        } else if (arg === '--host' && i + 1 < argv.length) {
            host = argv[++i];
        } else {
            process.stderr.write('usage: node ws_echo_server.js [--port N] [--host H] | --version\n');
            process.exit(2);
        }
    }
    const { WebSocketServer } = require('ws');
    const server = new WebSocketServer({
        host,
        port,
        perMessageDeflate: false,
        maxPayload: 16 * 1024 * 1024,
    });
    server.on('connection', (ws) => {
        ws.on('message', (data, isBinary) => {
            ws.send(data, { binary: isBinary });
        });
        ws.on('error', () => ws.terminate());
    });
    server.on('listening', () => {
        process.stdout.write(`${server.address().port}\n`);
    });
    server.on('error', (err) => {
        process.stderr.write(`ws_echo_server: ${err.message}\n`);
        process.exit(1);
    });
    const stop = () => server.close(() => process.exit(0));
    process.on('SIGINT', stop);
    process.on('SIGTERM', () => process.exit(0));
}

main(process.argv.slice(2));
