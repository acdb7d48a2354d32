// A WebSocket server on node `ws` for corvid's client interop tests.
//
//   node ws_server.js --port N [--deflate] [--no-context-takeover]
//                     [--window-bits B] [--tls-cert F --tls-key F]
//
// Echoes every message with its type; at /close/CODE it closes at once with
// CODE and the reason "bye". --deflate turns permessage-deflate on (with
// threshold 0, so every message is compressed); --no-context-takeover
// resets both directions per message; --window-bits limits both windows.
'use strict';
const fs = require('fs');
const http = require('http');
const https = require('https');
const { WebSocketServer } = require('ws');

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const flag = (name) => args.includes(name);

let perMessageDeflate = false;
if (flag('--deflate')) {
  perMessageDeflate = { threshold: 0 };
  if (flag('--no-context-takeover')) {
    perMessageDeflate.serverNoContextTakeover = true;
    perMessageDeflate.clientNoContextTakeover = true;
  }
  if (opt('--window-bits')) {
    perMessageDeflate.serverMaxWindowBits = Number(opt('--window-bits'));
    perMessageDeflate.clientMaxWindowBits = Number(opt('--window-bits'));
  }
}

const server = opt('--tls-cert')
  ? https.createServer({ cert: fs.readFileSync(opt('--tls-cert')), key: fs.readFileSync(opt('--tls-key')) })
  : http.createServer();
const wss = new WebSocketServer({ server, perMessageDeflate, maxPayload: 64 * 1024 * 1024 });
wss.on('connection', (ws, req) => {
  console.log(`connection ${req.url} extensions=${req.headers['sec-websocket-extensions']}`);
  const close = /^\/close\/(\d+)$/.exec(req.url);
  if (close) {
    ws.close(Number(close[1]), 'bye');
    return;
  }
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
server.listen(Number(opt('--port')), '127.0.0.1', () => console.log(`listening on ${opt('--port')}`));
