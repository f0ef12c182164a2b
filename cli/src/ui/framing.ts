// LSP base framing for the relay: split the server's stdout into message bodies, and frame the page's messages.

/** Frames one message body (`Content-Length` in bytes, then `\r\n\r\n`). */
export function frame(body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'ascii'), body]);
}

/** Splits a byte stream of LSP frames into message bodies, as text; headers other than `Content-Length` are ignored. */
export class FrameReader {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly onBody: (body: string) => void;

  /** Calls `onBody` with each complete message body, in order. */
  constructor(onBody: (body: string) => void) {
    this.onBody = onBody;
  }

  /** Adds bytes read from the stream. */
  push(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const header = this.buffer.subarray(0, end).toString('ascii');
      const match = /content-length:\s*(\d+)/i.exec(header);
      if (match === null) {
        // Not a frame the server would write; skip the header block rather than guess.
        this.buffer = this.buffer.subarray(end + 4);
        continue;
      }
      const length = Number(match[1]);
      if (this.buffer.length < end + 4 + length) return;
      const body = this.buffer.subarray(end + 4, end + 4 + length).toString('utf8');
      this.buffer = this.buffer.subarray(end + 4 + length);
      this.onBody(body);
    }
  }
}
