/**
 * The frame decoder alone: every broken-framing case recovers on the next header or ends, work is linear
 * in the input, and what it holds is bounded by the limits, whatever the input.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameDecoder } from '../../server/src/transport/frame-decoder.js';
import type { FramingLimits } from '../../server/src/transport/framing-limits.js';

/** A frame in LSP base framing. */
function frame(body: string): Buffer {
  const bytes = Buffer.from(body, 'utf8');
  return Buffer.concat([Buffer.from(`Content-Length: ${bytes.length}\r\n\r\n`, 'latin1'), bytes]);
}

/** A decoder that records what it reports. */
function recordingDecoder(limits: Partial<FramingLimits> = {}) {
  const frames: string[] = [];
  const malformed: string[] = [];
  const oversized: number[] = [];
  const unrecoverable: string[] = [];
  const decoder = new FrameDecoder(
    {
      frame: (body) => frames.push(body.toString('utf8')),
      malformed: (problem) => malformed.push(problem),
      oversized: (length) => oversized.push(length),
      unrecoverable: (problem) => unrecoverable.push(problem),
    },
    limits,
  );
  return { decoder, frames, malformed, oversized, unrecoverable };
}

/** Feeds `input` in chunks of `size` bytes. */
function feed(decoder: FrameDecoder, input: Buffer, size = 65_536): void {
  for (let offset = 0; offset < input.length; offset += size) decoder.push(input.subarray(offset, offset + size));
}

const VALID = '{"jsonrpc":"2.0","id":1,"method":"ping"}';

describe('frame decoder', () => {
  it('delivers frames whole however the input is split, even one byte at a time', () => {
    const input = Buffer.concat([frame(VALID), frame('{"é":"ü"}'), frame('[]')]);
    const { decoder, frames, malformed } = recordingDecoder();
    feed(decoder, input, 1);
    expect(frames).toEqual([VALID, '{"é":"ü"}', '[]']);
    expect(malformed).toEqual([]);
    expect(decoder.statistics.bufferedBytes).toBe(0);
  });

  it('accepts header names in any case, a Content-Type with charset utf-8 and unknown headers', () => {
    const body = Buffer.from(VALID);
    const input = Buffer.concat([
      Buffer.from(
        `content-length: ${body.length}\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\nX-Other: 1\r\n\r\n`,
      ),
      body,
    ]);
    const { decoder, frames, malformed } = recordingDecoder();
    feed(decoder, input);
    expect(frames).toEqual([VALID]);
    expect(malformed).toEqual([]);
  });

  const broken: Array<[string, Buffer]> = [
    ['a Content-Length larger than its body', Buffer.from(`Content-Length: ${VALID.length + 30}\r\n\r\n${VALID}`)],
    ['a header without Content-Length followed by a body', Buffer.from(`Content-Type: x\r\n\r\n${VALID}`)],
    ['a negative Content-Length', Buffer.from(`Content-Length: -5\r\n\r\n${VALID}`)],
    ['a signed Content-Length', Buffer.from(`Content-Length: +5\r\n\r\nhello`)],
    ['a non-numeric Content-Length', Buffer.from(`Content-Length: twelve\r\n\r\n${VALID}`)],
    ['a fractional Content-Length', Buffer.from(`Content-Length: 4.5\r\n\r\nabcd`)],
    ['an empty Content-Length', Buffer.from(`Content-Length:\r\n\r\n`)],
    ['two Content-Length lines', Buffer.from(`Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}`)],
    ['unframed bytes', Buffer.from(`${VALID}\n${VALID}\n`)],
    ['a bare line feed in a header', Buffer.from(`Content-Length: 2\n\n{}`)],
    ['a header line without a colon', Buffer.from(`Content-Length 2\r\n\r\n{}`)],
    ['a control character in a header value', Buffer.from(`Content-Length: 2\u0001\r\n\r\n{}`)],
    ['a charset other than utf-8', Buffer.from(`Content-Length: 2\r\nContent-Type: text/x; charset=latin1\r\n\r\n{}`)],
    ['binary garbage', Buffer.from([0xff, 0x00, 0xfe, 0x0d, 0x0a, 0x0d, 0x0a, 0x80])],
  ];
  for (const [name, input] of broken) {
    it(`after ${name}, reports malformed input once and delivers the frames that follow`, () => {
      const { decoder, frames, malformed, unrecoverable } = recordingDecoder();
      feed(decoder, Buffer.concat([input, frame(VALID), frame(VALID), frame(VALID)]));
      expect(malformed).toHaveLength(1);
      expect(unrecoverable).toEqual([]);
      // The frame right after a too-long body may be eaten by it; the ones after it always arrive.
      expect(frames.filter((body) => body === VALID).length).toBeGreaterThanOrEqual(2);
      expect(decoder.statistics.bufferedBytes).toBe(0);
    });
  }

  it('refuses a Content-Length of 10^12 and skips what follows without buffering it', () => {
    const { decoder, frames, oversized, malformed } = recordingDecoder();
    decoder.push(Buffer.from('Content-Length: 1000000000000\r\n\r\n'));
    const chunk = Buffer.alloc(65_536, 0x7b);
    for (let index = 0; index < 256; index++) decoder.push(chunk); // 16 MiB of body
    expect(oversized).toEqual([1e12]);
    expect(frames).toEqual([]);
    expect(malformed).toEqual([]);
    const statistics = decoder.statistics;
    expect(statistics.bufferedBytes).toBe(0);
    expect(statistics.peakBufferedBytes).toBeLessThan(100);
    expect(statistics.receivedBytes).toBeGreaterThan(16 * 1024 * 1024);
  });

  it('skips the body of a frame longer than the limit and delivers the next frame', () => {
    const { decoder, frames, oversized } = recordingDecoder({ maxFrameBytes: 100 });
    const big = `{"padding":"${'x'.repeat(500)}"}`;
    feed(decoder, Buffer.concat([frame(big), frame(VALID)]), 7);
    expect(oversized).toEqual([Buffer.byteLength(big)]);
    expect(frames).toEqual([VALID]);
    expect(decoder.statistics.peakBufferedBytes).toBeLessThanOrEqual(100);
  });

  it('holds at most the frame limit for an incomplete frame', () => {
    const { decoder } = recordingDecoder({ maxFrameBytes: 1000 });
    decoder.push(Buffer.from('Content-Length: 1000\r\n\r\n'));
    for (let index = 0; index < 999; index++) decoder.push(Buffer.from('x'));
    expect(decoder.statistics.bufferedBytes).toBe(999);
    expect(decoder.endProblem()).toMatch(/1 bytes before the end of a frame body/);
  });

  it('refuses a header block longer than the header limit', () => {
    const { decoder, malformed, frames } = recordingDecoder();
    feed(decoder, Buffer.concat([Buffer.from(`X-Long: ${'a'.repeat(9000)}\r\n\r\n`), frame(VALID)]));
    expect(malformed).toEqual(['a frame header is longer than 8192 bytes']);
    expect(frames).toEqual([VALID]);
    expect(decoder.statistics.peakBufferedBytes).toBeLessThanOrEqual(8192);
  });

  it('gives up once, after the resynchronisation limit of input without a header, and ignores the rest', () => {
    const { decoder, malformed, unrecoverable, frames } = recordingDecoder();
    feed(decoder, Buffer.alloc(1024 * 1024 + 10, 0x7b));
    feed(decoder, frame(VALID));
    expect(malformed).toHaveLength(1);
    expect(unrecoverable).toEqual([
      'no valid frame header was found in 1048576 bytes of input; this is not LSP framing',
    ]);
    expect(frames).toEqual([]);
    expect(decoder.stopped).toBe(true);
  });

  it('processes 16 MiB of unframed input in work linear in its size', () => {
    const { decoder, unrecoverable } = recordingDecoder({ maxResyncBytes: 64 * 1024 * 1024 });
    const garbage = Buffer.from('{"jsonrpc":"2.0","method":"x"}\r\n'.repeat(1024));
    const total = 16 * 1024 * 1024;
    for (let sent = 0; sent < total; sent += garbage.length) decoder.push(garbage);
    const statistics = decoder.statistics;
    expect(unrecoverable).toEqual([]);
    expect(statistics.work).toBeLessThanOrEqual(2 * statistics.receivedBytes);
    expect(statistics.peakBufferedBytes).toBeLessThanOrEqual(8192);
  });

  it('processes 16 MiB of garbage with a frame every 512 KiB linearly, delivering every frame', () => {
    const { decoder, frames, unrecoverable } = recordingDecoder();
    const garbage = Buffer.alloc(512 * 1024, 'Content-Lengt'); // near misses of the resynchronisation pattern
    for (let index = 0; index < 32; index++) {
      feed(decoder, garbage, 4096);
      feed(decoder, frame(VALID), 5);
    }
    const statistics = decoder.statistics;
    expect(unrecoverable).toEqual([]);
    expect(frames).toHaveLength(32);
    expect(statistics.work).toBeLessThanOrEqual(2 * statistics.receivedBytes);
  });

  it('recovers or gives up after any seeded sequence of broken frames, with bounded memory and linear work', () => {
    const limits = { maxFrameBytes: 4096, maxHeaderBytes: 256, maxResyncBytes: 8192 };
    const piece = fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
      fc.string({ maxLength: 60 }).map((text) => Buffer.from(`Content-Length: ${text}\r\n\r\n`)),
      fc
        .integer({ min: 0, max: 200 })
        .map((excess) => Buffer.from(`Content-Length: ${VALID.length + excess}\r\n\r\n${VALID}`)),
      fc
        .integer({ min: 4097, max: 10_000 })
        .map((length) => Buffer.concat([Buffer.from(`Content-Length: ${length}\r\n\r\n`), Buffer.alloc(length, 0x20)])),
      fc.constantFrom(
        Buffer.from('Content-Len'),
        Buffer.from('\r\n\r\n'),
        Buffer.from(`Content-Type: a\r\n\r\n${VALID}`),
        Buffer.from(`Content-Length: -1\r\n\r\n`),
      ),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), fc.integer({ min: 1, max: 512 }), (pieces, chunkSize) => {
        const { decoder, frames, unrecoverable } = recordingDecoder(limits);
        // A recovery tail longer than any over-long body can swallow, plus the two frames it may break.
        const tail = Array.from({ length: 8 }, () => frame(VALID));
        feed(decoder, Buffer.concat([...pieces, ...tail]), chunkSize);
        const statistics = decoder.statistics;
        expect(unrecoverable.length > 0 || frames.includes(VALID)).toBe(true);
        expect(statistics.peakBufferedBytes).toBeLessThanOrEqual(limits.maxFrameBytes + limits.maxHeaderBytes);
        expect(statistics.work).toBeLessThanOrEqual(2 * statistics.receivedBytes);
      }),
      { seed: 20261201, numRuns: 400 },
    );
  });
});
