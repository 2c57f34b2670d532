// The pure parts of the WebSocket handshake: the 101 head Dito writes to the client, and the
// `websocket.idle_timeout` key (global default, per-location override) as the config loader maps it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfigText } from '../../src/config/load.js';
import { upgradeResponseHead } from '../../src/websocket/responses.js';

describe('upgradeResponseHead', () => {
  test('keeps upstream headers in order, drops hop-by-hop and Connection-named ones, adds the request id', () => {
    const head = upgradeResponseHead(
      [
        'Upgrade',
        'websocket',
        'Connection',
        'Upgrade, X-Secret',
        'Sec-WebSocket-Accept',
        's3pPLMBiTxaQ9kYGzzhZRbK+xOo=',
        'Sec-WebSocket-Protocol',
        'chat',
        'Set-Cookie',
        'a=1',
        'Set-Cookie',
        'b=2',
        'Keep-Alive',
        'timeout=5',
        'X-Secret',
        'hidden',
        'X-Request-ID',
        'upstream-made-this-up',
      ],
      'req-1',
      { 'x-from-middleware': 'yes', 'set-cookie': 'ignored: upstream sent it', 'content-length': '12' },
    );
    assert.equal(
      head,
      'HTTP/1.1 101 Switching Protocols\r\n' +
        'Upgrade: websocket\r\n' +
        'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n' +
        'Sec-WebSocket-Protocol: chat\r\n' +
        'Set-Cookie: a=1\r\n' +
        'Set-Cookie: b=2\r\n' +
        'x-from-middleware: yes\r\n' +
        'Connection: Upgrade\r\n' +
        'X-Request-ID: req-1\r\n\r\n',
    );
  });
});

describe('websocket.idle_timeout', () => {
  const config = (text: string) => parseConfigText(text, '/tmp/config.yaml').config;
  const locations =
    'locations:\n' +
    '  - path: ^/a\n    target_url: ws://127.0.0.1:1\n    enable_websocket: true\n' +
    '  - path: ^/b\n    target_url: ws://127.0.0.1:1\n    enable_websocket: true\n' +
    '    websocket:\n      idle_timeout: 30s\n';

  test('defaults to 5 minutes; a location may override it', () => {
    const parsed = config(locations);
    assert.equal(parsed.websocket.idleTimeoutMs, 300_000);
    assert.equal(parsed.locations[0]!.websocket.idleTimeoutMs, 300_000);
    assert.equal(parsed.locations[1]!.websocket.idleTimeoutMs, 30_000);
  });

  test('locations inherit the global value; 0 turns it off', () => {
    const parsed = config(`websocket:\n  idle_timeout: 0\n${locations}`);
    assert.equal(parsed.locations[0]!.websocket.idleTimeoutMs, 0);
    assert.equal(parsed.locations[1]!.websocket.idleTimeoutMs, 30_000);
  });

  test('unknown keys and bad durations are refused at their position', () => {
    assert.throws(
      () => config('websocket:\n  idle_timeot: 1s\n'),
      /websocket\.idle_timeot: unknown key "idle_timeot"/,
    );
    assert.throws(
      () => config('websocket:\n  idle_timeout: 5 minutes\n'),
      /\/tmp\/config\.yaml:2:\d+: websocket\.idle_timeout/,
    );
  });
});
