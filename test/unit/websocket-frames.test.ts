// The relay's frame-header reader: counts and close codes must not depend on how TCP happened to
// cut the stream into chunks (headers split anywhere, many frames per chunk, empty payloads).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { closeFrame, FrameObserver } from '../../src/websocket/frames.js';

interface FrameSpec {
  fin: boolean;
  opcode: number;
  length: number;
  masked: boolean;
  closeCode?: number;
}

/** Encodes a frame (payload is filler; a close frame carries its code first). */
function encode(spec: FrameSpec): Buffer {
  const payload = randomBytes(spec.length);
  if (spec.closeCode !== undefined && spec.length >= 2) payload.writeUInt16BE(spec.closeCode, 0);
  let lengthBytes: Buffer;
  let length7: number;
  if (spec.length < 126) {
    length7 = spec.length;
    lengthBytes = Buffer.alloc(0);
  } else if (spec.length < 65536) {
    length7 = 126;
    lengthBytes = Buffer.alloc(2);
    lengthBytes.writeUInt16BE(spec.length);
  } else {
    length7 = 127;
    lengthBytes = Buffer.alloc(8);
    lengthBytes.writeBigUInt64BE(BigInt(spec.length));
  }
  const head = Buffer.from([(spec.fin ? 0x80 : 0) | spec.opcode, (spec.masked ? 0x80 : 0) | length7]);
  if (!spec.masked) return Buffer.concat([head, lengthBytes, payload]);
  const mask = randomBytes(4);
  for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i & 3]!;
  return Buffer.concat([head, lengthBytes, mask, payload]);
}

/** Cuts `bytes` at the given positions. */
function cut(bytes: Buffer, positions: number[]): Buffer[] {
  const points = [...new Set(positions.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}

const frameArbitrary = fc.oneof(
  fc.record({
    fin: fc.boolean(),
    opcode: fc.constantFrom(0, 1, 2),
    length: fc.oneof(fc.integer({ min: 0, max: 125 }), fc.integer({ min: 126, max: 70_000 })),
    masked: fc.boolean(),
  }),
  fc.record({
    fin: fc.constant(true),
    opcode: fc.constantFrom(9, 10),
    length: fc.integer({ min: 0, max: 125 }),
    masked: fc.boolean(),
  }),
);

describe('FrameObserver', () => {
  test('counts frames and messages the same however the stream is chunked', () => {
    fc.assert(
      fc.property(
        fc.array(frameArbitrary, { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (frames, positions) => {
          const stream = Buffer.concat(frames.map(encode));
          const totals = { frames: 0, messages: 0 };
          const observer = new FrameObserver(totals);
          for (const chunk of cut(stream, positions)) observer.observe(chunk);
          const messages = frames.filter((f) => f.opcode < 8 && f.fin).length;
          assert.equal(observer.frames, frames.length);
          assert.equal(observer.messages, messages);
          assert.deepEqual(totals, { frames: frames.length, messages });
          assert.equal(observer.betweenFrames, true);
          assert.equal(observer.closeSeen, false);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('reads the close code of masked and unmasked close frames, split byte by byte', () => {
    for (const masked of [false, true]) {
      const observer = new FrameObserver();
      const stream = Buffer.concat([
        encode({ fin: true, opcode: 1, length: 10, masked }),
        encode({ fin: true, opcode: 8, length: 9, masked, closeCode: 4001 }),
      ]);
      for (let i = 0; i < stream.length; i++) {
        observer.observe(stream.subarray(i, i + 1));
        if (i < stream.length - 1) assert.equal(observer.closeSeen, false);
      }
      assert.equal(observer.closeSeen, true);
      assert.equal(observer.closeCode, 4001);
      assert.equal(observer.messages, 1);
    }
  });

  test('a close frame without a code has none; betweenFrames is false inside a frame', () => {
    const observer = new FrameObserver();
    const frame = encode({ fin: true, opcode: 1, length: 300, masked: false });
    observer.observe(frame.subarray(0, 1));
    assert.equal(observer.betweenFrames, false);
    observer.observe(frame.subarray(1, 100));
    assert.equal(observer.betweenFrames, false);
    observer.observe(frame.subarray(100));
    assert.equal(observer.betweenFrames, true);
    observer.observe(encode({ fin: true, opcode: 8, length: 0, masked: true }));
    assert.equal(observer.closeSeen, true);
    assert.equal(observer.closeCode, undefined);
  });

  test('a 16 MiB frame is skipped without being read', () => {
    const observer = new FrameObserver();
    const header = Buffer.from([0x82, 127, 0, 0, 0, 0, 1, 0, 0, 0]);
    observer.observe(header);
    const block = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < 16; i++) observer.observe(block);
    assert.equal(observer.messages, 1);
    assert.equal(observer.betweenFrames, true);
  });

  test('closeFrame builds frames the observer (and RFC 6455) read back', () => {
    for (const masked of [false, true]) {
      const frame = closeFrame(1001, 'going away', masked);
      assert.equal(frame[0], 0x88);
      assert.equal((frame[1]! & 0x80) !== 0, masked);
      const observer = new FrameObserver();
      observer.observe(frame);
      assert.equal(observer.closeCode, 1001);
    }
    // Reasons are cut to fit a control frame (125 bytes of payload).
    assert.ok(closeFrame(1001, 'x'.repeat(500), false).length <= 127);
  });
});
