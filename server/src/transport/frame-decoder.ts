/**
 * The LSP base framing, decoded byte by byte in one pass: header lines ending `\r\n\r\n`, a required
 * `Content-Length`, an optional `Content-Type`, then the body. It examines each byte at most twice (its
 * work is linear in the input), holds at most one header block and one frame body, skips over-long bodies
 * without buffering them, and after a malformed header resynchronises on the next `Content-Length:`.
 */
import { DEFAULT_FRAMING_LIMITS, type FramingLimits } from './framing-limits.js';

/** What the decoder reports; every callback is synchronous. */
export interface FrameSink {
  /** A whole frame body, exactly `Content-Length` bytes. */
  frame(body: Buffer): void;
  /** The first malformed byte of a run of input that is not a frame; the reader now resynchronises. */
  malformed(problem: string): void;
  /** A well-formed header announced a body longer than the limit; that many bytes are skipped. */
  oversized(length: number): void;
  /** No header was found within the resynchronisation limit; the decoder ignores everything after. */
  unrecoverable(problem: string): void;
}

/** Counters a test or the server log can read; they only grow, except `bufferedBytes`. */
export interface FrameDecoderStatistics {
  /** Bytes received so far. */
  readonly receivedBytes: number;
  /** Bytes the decoder examined or copied; at most twice `receivedBytes` (the work is linear). */
  readonly work: number;
  /** Bytes currently held for an incomplete header or body. */
  readonly bufferedBytes: number;
  /** The most bytes ever held at once; bounded by the header and frame limits. */
  readonly peakBufferedBytes: number;
  /** Frames delivered whole. */
  readonly frames: number;
  /** Runs of malformed input (each answered once). */
  readonly malformedRuns: number;
  /** Frames refused for their length. */
  readonly oversizedFrames: number;
}

type State = 'header' | 'body' | 'skip' | 'resync' | 'dead';

const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;
/** `content-length:` in lowercase bytes: what resynchronisation looks for, in any letter case. */
const RESYNC_PATTERN = Buffer.from('content-length:', 'latin1');

/** Whether a byte may appear in a header name (an RFC 7230 token character). */
function isTokenByte(byte: number): boolean {
  if (byte >= 0x30 && byte <= 0x39) return true; // 0-9
  if ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7a) return true; // A-Z, a-z
  return "!#$%&'*+-.^_`|~".includes(String.fromCharCode(byte));
}

/** A printable rendering of a byte for error messages. */
function describeByte(byte: number): string {
  return byte >= 0x20 && byte <= 0x7e ? `'${String.fromCharCode(byte)}'` : `0x${byte.toString(16).padStart(2, '0')}`;
}

function excerpt(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

/** A push decoder for LSP base framing. Feed it chunks; it calls its sink as frames and problems appear. */
export class FrameDecoder {
  private readonly limits: FramingLimits;
  /** Invariant: what the next byte means; `dead` after an unrecoverable problem or `stop()`. */
  private state: State = 'header';
  /** Invariant: header bytes of the current block read so far (0 between frames). */
  private headerBytes = 0;
  /** Invariant: the current header line so far, without its `\r\n` (latin1; bounded by the header limit). */
  private line = '';
  /** Invariant: the index of the line's first `:`, or -1 while the name is still being read. */
  private colon = -1;
  /** Invariant: true after a `\r` in a header, until its `\n`. */
  private awaitingLf = false;
  /** Invariant: the current block's Content-Length once its line was read. */
  private contentLength: number | undefined;
  /** Invariant: body bytes still to read (state `body`) or to skip (state `skip`). */
  private remaining = 0;
  /** Invariant: the body bytes read so far in state `body`; their total is `bodyBytes`. */
  private parts: Buffer[] = [];
  /** Invariant: the total length of `parts`. */
  private bodyBytes = 0;
  /** Invariant: true from a malformed byte until the next well-formed header block. */
  private inRun = false;
  /** Invariant: bytes discarded or re-read since the current run began. */
  private runBytes = 0;
  /** Invariant: how many bytes of `content-length:` resynchronisation has matched. */
  private matched = 0;
  /** Invariant: every counter only grows; `peakBufferedBytes` is the maximum of what was ever held. */
  private readonly counters = {
    receivedBytes: 0,
    work: 0,
    peakBufferedBytes: 0,
    frames: 0,
    malformedRuns: 0,
    oversizedFrames: 0,
  };

  constructor(
    private readonly sink: FrameSink,
    limits: Partial<FramingLimits> = {},
  ) {
    this.limits = { ...DEFAULT_FRAMING_LIMITS, ...limits };
  }

  /** The decoder's counters, as of now. */
  get statistics(): FrameDecoderStatistics {
    return { ...this.counters, bufferedBytes: this.buffered() };
  }

  /** Whether the decoder gave up (or was stopped) and ignores all further input. */
  get stopped(): boolean {
    return this.state === 'dead';
  }

  /** Ignores all further input. */
  stop(): void {
    this.state = 'dead';
    this.parts = [];
    this.bodyBytes = 0;
    this.line = '';
  }

  /** Why the input may not end here (in the middle of a frame), or undefined when it may. */
  endProblem(): string | undefined {
    switch (this.state) {
      case 'header':
        return this.headerBytes > 0 ? 'the input ended in the middle of a frame header' : undefined;
      case 'body':
        return `the input ended ${this.remaining} bytes before the end of a frame body`;
      case 'skip':
        return `the input ended ${this.remaining} bytes before the end of a refused frame`;
      case 'resync':
        return 'the input ended while looking for a frame header';
      case 'dead':
        return undefined;
    }
  }

  /** Decodes one chunk of input. */
  push(chunk: Buffer): void {
    if (this.state === 'dead') return;
    this.counters.receivedBytes += chunk.length;
    let offset = 0;
    while (offset < chunk.length) {
      switch (this.state) {
        case 'header':
          offset = this.readHeader(chunk, offset);
          break;
        case 'body':
          offset = this.readBody(chunk, offset);
          break;
        case 'skip':
          offset = this.skipBody(chunk, offset);
          break;
        case 'resync':
          offset = this.resync(chunk, offset);
          break;
        default:
          return;
      }
      this.notePeak();
    }
  }

  private buffered(): number {
    return this.headerBytes + this.bodyBytes;
  }

  private notePeak(): void {
    const buffered = this.buffered();
    if (buffered > this.counters.peakBufferedBytes) this.counters.peakBufferedBytes = buffered;
  }

  /** Reads header bytes from `offset`; returns where it stopped. */
  private readHeader(chunk: Buffer, offset: number): number {
    const { maxHeaderBytes } = this.limits;
    for (; offset < chunk.length; offset++) {
      const byte = chunk[offset]!;
      this.counters.work++;
      if (this.inRun && !this.countRun()) return chunk.length;
      if (++this.headerBytes > maxHeaderBytes)
        return this.fail(`a frame header is longer than ${maxHeaderBytes} bytes`, offset);
      if (this.awaitingLf) {
        if (byte !== LF) return this.fail(`a '\\r' in a frame header is followed by ${describeByte(byte)}`, offset);
        this.awaitingLf = false;
        if (this.line === '') return this.endHeader(offset);
        const problem = this.completeLine();
        if (problem !== undefined) return this.fail(problem, offset);
        this.line = '';
        this.colon = -1;
        continue;
      }
      if (byte === CR) {
        if (this.line !== '' && this.colon === -1)
          return this.fail(`the header line ${excerpt(this.line)} has no ':'`, offset);
        this.awaitingLf = true;
        continue;
      }
      if (this.colon === -1) {
        if (byte === COLON) {
          if (this.line === '') return this.fail('a header line has an empty name', offset);
          this.colon = this.line.length;
        } else if (!isTokenByte(byte)) {
          return this.fail(
            this.line === '' && this.headerBytes === 1
              ? `expected a frame header (Content-Length: N, then \\r\\n\\r\\n) but found ${describeByte(byte)}`
              : `a header name contains ${describeByte(byte)}`,
            offset,
          );
        }
      } else if (byte !== 0x09 && (byte < 0x20 || byte > 0x7e)) {
        return this.fail(`a header value contains ${describeByte(byte)}`, offset);
      }
      this.line += String.fromCharCode(byte);
    }
    return offset;
  }

  /** Checks a complete header line; returns why it is malformed, if it is. */
  private completeLine(): string | undefined {
    const name = this.line.slice(0, this.colon).toLowerCase();
    const value = this.line.slice(this.colon + 1).trim();
    if (name === 'content-length') {
      if (this.contentLength !== undefined) return 'a frame header has two Content-Length lines';
      if (!/^[0-9]+$/.test(value))
        return `the Content-Length ${excerpt(value)} is not a decimal number of bytes (digits only, no sign)`;
      const length = Number(value);
      if (!Number.isSafeInteger(length)) return `the Content-Length ${excerpt(value)} is not a usable number`;
      this.contentLength = length;
    } else if (name === 'content-type') {
      const charset = /charset\s*=\s*"?([^";\s]*)/i.exec(value)?.[1]?.toLowerCase();
      if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')
        return `the Content-Type charset ${excerpt(charset)} is not supported; only utf-8 is`;
    }
    // Other headers are ignored, as HTTP-style framing allows.
    return undefined;
  }

  /** The empty line after the headers: the block is complete. */
  private endHeader(offset: number): number {
    const length = this.contentLength;
    if (length === undefined) return this.fail('a frame header has no Content-Length', offset);
    this.resetHeader();
    this.inRun = false;
    if (length > this.limits.maxFrameBytes) {
      this.counters.oversizedFrames++;
      this.state = 'skip';
      this.remaining = length;
      this.sink.oversized(length);
      return offset + 1;
    }
    this.remaining = length;
    this.state = 'body';
    if (length === 0) this.finishBody();
    return offset + 1;
  }

  private readBody(chunk: Buffer, offset: number): number {
    const take = Math.min(this.remaining, chunk.length - offset);
    this.parts.push(chunk.subarray(offset, offset + take));
    this.bodyBytes += take;
    this.remaining -= take;
    this.counters.work += take;
    if (this.remaining === 0) {
      this.notePeak();
      this.finishBody();
    }
    return offset + take;
  }

  private finishBody(): void {
    const body = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.bodyBytes);
    this.parts = [];
    this.bodyBytes = 0;
    this.state = 'header';
    this.counters.frames++;
    this.sink.frame(body);
  }

  private skipBody(chunk: Buffer, offset: number): number {
    const take = Math.min(this.remaining, chunk.length - offset);
    this.remaining -= take;
    this.counters.work += take;
    if (this.remaining === 0) this.state = 'header';
    return offset + take;
  }

  /** Looks for `Content-Length:` in any case; the byte at `offset` is examined again. */
  private resync(chunk: Buffer, offset: number): number {
    for (; offset < chunk.length; offset++) {
      const byte = chunk[offset]!;
      this.counters.work++;
      if (!this.countRun()) return chunk.length;
      const lower = byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte;
      if (lower === RESYNC_PATTERN[this.matched]) {
        this.matched++;
        if (this.matched === RESYNC_PATTERN.length) {
          // The header starts again with its first line's name already read.
          this.matched = 0;
          this.state = 'header';
          this.line = 'content-length:';
          this.colon = this.line.length - 1;
          this.headerBytes = this.line.length;
          return offset + 1;
        }
      } else {
        // No proper prefix of the pattern is also its suffix, so a mismatch restarts the match here.
        this.matched = lower === RESYNC_PATTERN[0] ? 1 : 0;
      }
    }
    return offset;
  }

  /** Counts one byte of the current run; false (and the decoder dead) when the run is over its limit. */
  private countRun(): boolean {
    if (++this.runBytes <= this.limits.maxResyncBytes) return true;
    this.stop();
    this.sink.unrecoverable(
      `no valid frame header was found in ${this.limits.maxResyncBytes} bytes of input; this is not LSP framing`,
    );
    return false;
  }

  /** A malformed byte at `offset`: starts (or continues) a run and resynchronises from that byte. */
  private fail(problem: string, offset: number): number {
    this.resetHeader();
    this.state = 'resync';
    this.matched = 0;
    if (!this.inRun) {
      this.inRun = true;
      this.runBytes = 0;
      this.counters.malformedRuns++;
      this.sink.malformed(problem);
    }
    return offset;
  }

  private resetHeader(): void {
    this.headerBytes = 0;
    this.line = '';
    this.colon = -1;
    this.awaitingLf = false;
    this.contentLength = undefined;
  }
}
