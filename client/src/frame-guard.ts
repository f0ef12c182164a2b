/**
 * Watches the bytes a server writes for LSP base framing (`Content-Length` headers, `\r\n\r\n`, a body of
 * that many bytes) and reports the first byte that breaks it. vscode-jsonrpc would wait forever on text
 * that never forms a header; this guard turns stray output (a `console.log` on stdout) into a prompt error.
 */
import { Transform, type TransformCallback } from 'node:stream';

/** The longest header block a well-behaved server sends; anything longer is not a header. */
const MAX_HEADER_BYTES = 8192;
/** How much of the offending output an error shows. */
const EXCERPT_LENGTH = 120;
/** A complete header line: `Name: value`, with an RFC 7230 token as the name. */
const HEADER_LINE = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+:[ \t]*[\x20-\x7e\t]*$/;
/** What the start of a header line may look like before its `\r\n` has arrived. */
const HEADER_LINE_PREFIX = /^[A-Za-z0-9!#$%&'*+.^_`|~-]*(?::[\x20-\x7e\t]*)?\r?$/;

/** What the guard found wrong, with a printable excerpt of the bytes involved. */
export interface FramingViolation {
  /** What is wrong, in words. */
  readonly problem: string;
  /** The offending output, as text. */
  readonly excerpt: string;
  /** True when the output merely ended in the middle of a frame (a writer killed mid-write), not garbage. */
  readonly atEnd: boolean;
}

/**
 * A pass-through stream that checks framing. Once it finds a violation it calls `onViolation` once and
 * passes nothing more on, so the message reader behind it never sees the garbage.
 */
export class FrameGuard extends Transform {
  /** Invariant: true between frames and while reading a frame's headers; false while skipping a body. */
  private readingHeaders = true;
  /** Invariant: the header text read so far of the current frame (latin1; headers are ASCII). */
  private header = '';
  /** Invariant: body bytes still to skip while `readingHeaders` is false. */
  private bodyRemaining = 0;
  /** Invariant: set once, at the first violation; afterwards every byte is dropped. */
  private violation: FramingViolation | undefined;

  /** `onViolation` is told about the first violation only. */
  constructor(private readonly onViolation: (violation: FramingViolation) => void) {
    super();
  }

  /** The first violation found, if any. */
  get violated(): FramingViolation | undefined {
    return this.violation;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.violation !== undefined) {
      callback();
      return;
    }
    const problem = this.scan(chunk);
    if (problem !== undefined) {
      this.violation = problem;
      this.onViolation(problem);
      callback();
      return;
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.violation === undefined && this.readingHeaders && this.header.length > 0) {
      this.violation = {
        problem: 'the output ended in the middle of a frame header',
        excerpt: excerptOf(this.header),
        atEnd: true,
      };
      this.onViolation(this.violation);
    }
    callback();
  }

  /** Advances through `chunk`; returns the violation it contains, if any. */
  private scan(chunk: Buffer): FramingViolation | undefined {
    let offset = 0;
    while (offset < chunk.length) {
      if (!this.readingHeaders) {
        const skipped = Math.min(this.bodyRemaining, chunk.length - offset);
        offset += skipped;
        this.bodyRemaining -= skipped;
        if (this.bodyRemaining === 0) this.readingHeaders = true;
        continue;
      }
      const end = findHeaderEnd(this.header, chunk, offset);
      const taken = end === -1 ? chunk.length : end;
      this.header += chunk.toString('latin1', offset, taken);
      offset = taken;
      const problem =
        end === -1 ? checkPartialHeader(this.header, chunk, offset) : checkCompleteHeader(this.header, chunk, offset);
      if (problem !== undefined) return problem;
      if (end === -1) return undefined;
      this.bodyRemaining = contentLengthOf(this.header);
      this.header = '';
      this.readingHeaders = this.bodyRemaining === 0;
    }
    return undefined;
  }
}

/** The offset in `chunk` just past the `\r\n\r\n` that ends the header block, or -1. */
function findHeaderEnd(headerSoFar: string, chunk: Buffer, from: number): number {
  // The terminator may straddle chunks: look at the last three characters already read too.
  const tail = headerSoFar.slice(-3);
  const window = Buffer.concat([Buffer.from(tail, 'latin1'), chunk.subarray(from)]);
  const index = window.indexOf('\r\n\r\n');
  if (index === -1) return -1;
  return from + index + 4 - tail.length;
}

function checkPartialHeader(header: string, chunk: Buffer, offset: number): FramingViolation | undefined {
  if (header.length > MAX_HEADER_BYTES)
    return {
      problem: `a frame header is longer than ${MAX_HEADER_BYTES} bytes`,
      excerpt: excerptOf(header),
      atEnd: false,
    };
  const lines = header.split('\r\n');
  const last = lines.pop() ?? '';
  for (const line of lines) if (!HEADER_LINE.test(line)) return notAHeader(line, header, chunk, offset);
  if (!HEADER_LINE_PREFIX.test(last)) return notAHeader(last, header, chunk, offset);
  return undefined;
}

function checkCompleteHeader(header: string, chunk: Buffer, offset: number): FramingViolation | undefined {
  const lines = header.slice(0, -4).split('\r\n');
  for (const line of lines) if (!HEADER_LINE.test(line)) return notAHeader(line, header, chunk, offset);
  const lengths = lines.filter((line) => line.slice(0, line.indexOf(':')).toLowerCase() === 'content-length');
  if (lengths.length !== 1)
    return { problem: 'a frame header has no Content-Length', excerpt: excerptOf(header), atEnd: false };
  const value = lengths[0]!.slice(lengths[0]!.indexOf(':') + 1).trim();
  if (!/^\d{1,10}$/.test(value))
    return {
      problem: `a frame header has an invalid Content-Length ${JSON.stringify(value)}`,
      excerpt: excerptOf(header),
      atEnd: false,
    };
  return undefined;
}

function contentLengthOf(header: string): number {
  const line = header
    .split('\r\n')
    .find((candidate) => candidate.slice(0, candidate.indexOf(':')).toLowerCase() === 'content-length')!;
  return Number(line.slice(line.indexOf(':') + 1).trim());
}

function notAHeader(line: string, header: string, chunk: Buffer, offset: number): FramingViolation {
  const start = header.lastIndexOf(line);
  const following = chunk.toString('utf8', offset, Math.min(chunk.length, offset + EXCERPT_LENGTH));
  return {
    problem: 'it wrote text that is not an LSP frame header to stdout',
    excerpt: excerptOf(header.slice(start) + following),
    atEnd: false,
  };
}

function excerptOf(text: string): string {
  return text.length > EXCERPT_LENGTH ? `${text.slice(0, EXCERPT_LENGTH)}…` : text;
}
