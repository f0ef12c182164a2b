/**
 * The frame guard in front of the client's message reader: well-framed output passes through untouched
 * however it is chunked, and the first byte that breaks LSP framing is reported once.
 */
import { describe, expect, it } from 'vitest';
import { FrameGuard, type FramingViolation } from '../../client/src/frame-guard.js';

function frame(body: string): Buffer {
  const bytes = Buffer.from(body, 'utf8');
  return Buffer.concat([Buffer.from(`Content-Length: ${bytes.length}\r\n\r\n`, 'ascii'), bytes]);
}

function feed(chunks: readonly Buffer[]): Promise<{ output: Buffer; violations: FramingViolation[] }> {
  const violations: FramingViolation[] = [];
  const guard = new FrameGuard((violation) => violations.push(violation));
  const pieces: Buffer[] = [];
  guard.on('data', (chunk: Buffer) => pieces.push(chunk));
  return new Promise((resolve) => {
    guard.on('end', () => resolve({ output: Buffer.concat(pieces), violations }));
    for (const chunk of chunks) guard.write(chunk);
    guard.end();
  });
}

describe('FrameGuard', () => {
  it('passes well-framed messages through unchanged, whatever the chunk boundaries', async () => {
    // The body holds a blank line and non-ASCII text: only Content-Length decides where it ends.
    const stream = Buffer.concat([
      frame('{"jsonrpc":"2.0","id":1,"result":"a\\r\\n\\r\\nb"}'),
      Buffer.from('Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n'),
      frame('{"jsonrpc":"2.0","method":"x","params":{"text":"çà ☃"}}'),
    ]);
    for (let size = 1; size <= stream.length; size += 7) {
      const chunks: Buffer[] = [];
      for (let offset = 0; offset < stream.length; offset += size) chunks.push(stream.subarray(offset, offset + size));
      const { output, violations } = await feed(chunks);
      expect(violations).toEqual([]);
      expect(output.equals(stream)).toBe(true);
    }
  });

  it('reports a stray log line as soon as it cannot be a header, and passes nothing after it', async () => {
    const { output, violations } = await feed([frame('{}'), Buffer.from('Server started on port 80\n'), frame('{}')]);
    expect(violations).toHaveLength(1);
    expect(violations[0]!.excerpt).toContain('Server started on port 80');
    expect(output.equals(frame('{}'))).toBe(true);
  });

  it('reports a header block without Content-Length', async () => {
    const { violations } = await feed([Buffer.from('Content-Type: text/plain\r\n\r\n{}')]);
    expect(violations.map((violation) => violation.problem)).toEqual(['a frame header has no Content-Length']);
  });

  it('reports output that ends inside a header', async () => {
    const { violations } = await feed([Buffer.from('Content-Len')]);
    expect(violations.map((violation) => violation.problem)).toEqual([
      'the output ended in the middle of a frame header',
    ]);
  });
});
