// WebSocket framing (RFC 6455 section 5.2) as far as a relay needs it: an incremental reader of
// frame headers that watches bytes pass without holding payloads, and close frames Dito sends itself.
import { randomFillSync } from 'node:crypto';

export const OPCODE_CLOSE = 0x8;

/** Running totals one direction of traffic adds to (shared by every connection). */
export interface FrameTotals {
  frames: number;
  /** Complete data messages: a fragmented message counts once, at its final frame. */
  messages: number;
}

/** Bytes of a frame header: 2, plus 2 or 8 of extended length, plus 4 of masking key. */
function headerSize(secondByte: number): number {
  const length7 = secondByte & 0x7f;
  const extended = length7 === 126 ? 2 : length7 === 127 ? 8 : 0;
  return 2 + extended + (secondByte & 0x80 ? 4 : 0);
}

/**
 * Follows one direction of a WebSocket stream chunk by chunk. Frame headers split across chunks
 * are collected in a 14-byte scratch array; payload bytes are skipped by arithmetic, never copied
 * (a 16 MiB message costs one header parse). Only the first two payload bytes of a close frame,
 * its status code, are read.
 */
export class FrameObserver {
  frames = 0;
  messages = 0;
  /** A complete close frame went by. */
  closeSeen = false;
  /** Status code of that close frame, if it had one. */
  closeCode: number | undefined;

  /** Header bytes collected so far when a header arrived split; 0 when not inside a header. */
  private collected = 0;
  private readonly scratch = new Uint8Array(14);
  /** Payload bytes of the current frame still to come. */
  private remaining = 0;
  private opcode = 0;
  private fin = false;
  private maskOffset = -1;
  private readonly mask = new Uint8Array(4);
  /** Close frame status code bytes read so far (0..2), -1 when not reading one. */
  private codeBytes = -1;
  private code = 0;

  constructor(private readonly totals?: FrameTotals) {}

  /** True between frames: a frame Dito writes now cannot land inside someone else's frame. */
  get betweenFrames(): boolean {
    return this.remaining === 0 && this.collected === 0;
  }

  observe(chunk: Uint8Array): void {
    const length = chunk.length;
    let i = 0;
    while (i < length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, length - i);
        if (this.codeBytes >= 0) this.readCode(chunk, i, take);
        this.remaining -= take;
        i += take;
        if (this.remaining === 0) this.endFrame();
        continue;
      }
      if (this.collected === 0 && length - i >= 2) {
        // Fast path: the whole header is in this chunk; read it in place.
        const size = headerSize(chunk[i + 1]!);
        if (length - i >= size) {
          this.startFrame(chunk, i);
          i += size;
          continue;
        }
      }
      this.scratch[this.collected++] = chunk[i++]!;
      if (this.collected >= 2 && this.collected === headerSize(this.scratch[1]!)) {
        this.collected = 0;
        this.startFrame(this.scratch, 0);
      }
    }
  }

  private startFrame(bytes: Uint8Array, at: number): void {
    const first = bytes[at]!;
    const second = bytes[at + 1]!;
    this.fin = (first & 0x80) !== 0;
    this.opcode = first & 0x0f;
    let payload = second & 0x7f;
    let offset = at + 2;
    if (payload === 126) {
      payload = (bytes[offset]! << 8) | bytes[offset + 1]!;
      offset += 2;
    } else if (payload === 127) {
      // 64-bit length; above 2^53 precision is lost, which only matters to a peer sending petabytes.
      const high =
        ((bytes[offset]! << 24) >>> 0) +
        (bytes[offset + 1]! << 16) +
        (bytes[offset + 2]! << 8) +
        bytes[offset + 3]!;
      const low =
        ((bytes[offset + 4]! << 24) >>> 0) +
        (bytes[offset + 5]! << 16) +
        (bytes[offset + 6]! << 8) +
        bytes[offset + 7]!;
      payload = high * 2 ** 32 + low;
      offset += 8;
    }
    if (second & 0x80) {
      for (let k = 0; k < 4; k++) this.mask[k] = bytes[offset + k]!;
      this.maskOffset = 0;
    } else {
      this.maskOffset = -1;
    }
    this.codeBytes = this.opcode === OPCODE_CLOSE && payload >= 2 ? 0 : -1;
    this.code = 0;
    this.remaining = payload;
    if (payload === 0) this.endFrame();
  }

  private readCode(chunk: Uint8Array, at: number, available: number): void {
    for (let k = 0; k < available && this.codeBytes < 2; k++) {
      let byte = chunk[at + k]!;
      if (this.maskOffset >= 0) byte ^= this.mask[this.codeBytes]!;
      this.code = (this.code << 8) | byte;
      this.codeBytes++;
    }
  }

  private endFrame(): void {
    this.frames++;
    const totals = this.totals;
    if (totals !== undefined) totals.frames++;
    if (this.opcode < 0x8) {
      if (this.fin) {
        this.messages++;
        if (totals !== undefined) totals.messages++;
      }
    } else if (this.opcode === OPCODE_CLOSE) {
      this.closeSeen = true;
      this.closeCode = this.codeBytes === 2 ? this.code : undefined;
    }
    this.codeBytes = -1;
  }
}

/**
 * A close frame with `code` and a short reason. Frames to a server must be masked (RFC 6455
 * section 5.3); frames to a client must not be.
 */
export function closeFrame(code: number, reason: string, masked: boolean): Buffer {
  const reasonBytes = Buffer.from(reason, 'utf8').subarray(0, 123);
  const payloadLength = 2 + reasonBytes.length;
  const headerLength = masked ? 6 : 2;
  const frame = Buffer.allocUnsafe(headerLength + payloadLength);
  frame[0] = 0x80 | OPCODE_CLOSE;
  frame[1] = (masked ? 0x80 : 0) | payloadLength;
  const payloadAt = headerLength;
  frame.writeUInt16BE(code, payloadAt);
  reasonBytes.copy(frame, payloadAt + 2);
  if (masked) {
    const mask = frame.subarray(2, 6);
    randomFillSync(mask);
    for (let k = 0; k < payloadLength; k++) frame[payloadAt + k]! ^= mask[k & 3]!;
  }
  return frame;
}
