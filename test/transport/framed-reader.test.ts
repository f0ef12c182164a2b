/**
 * The framed reader over a stream: what it answers for broken frames, invalid messages and deep nesting,
 * what it passes on, and how it ends.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Message } from 'vscode-jsonrpc/node';
import { FramedMessageReader, type FramedReaderOptions } from '../../server/src/transport/framed-reader.js';

function frame(body: string | Buffer): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return Buffer.concat([Buffer.from(`Content-Length: ${bytes.length}\r\n\r\n`, 'latin1'), bytes]);
}

interface Answer {
  id: string | number | null;
  error: { code: number; message: string };
}

/** A reader over a PassThrough, with what it delivered, answered and logged. */
function setup(options: FramedReaderOptions = {}) {
  const input = new PassThrough();
  const delivered: Message[] = [];
  const answers: Answer[] = [];
  const logs: string[] = [];
  const writer = {
    write: (message: Message) => {
      answers.push(message as unknown as Answer);
      return Promise.resolve();
    },
  };
  const reader = new FramedMessageReader(input, writer, (message) => logs.push(message), options);
  let closed = false;
  reader.onClose(() => (closed = true));
  reader.listen((message) => delivered.push(message));
  return { input, reader, delivered, answers, logs, isClosed: () => closed };
}

/** A JSON value nested `depth` levels deep (the outermost array counting as 1). */
function nested(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

const PING = { jsonrpc: '2.0', id: 7, method: 'ping' };

describe('framed reader', () => {
  it('passes valid requests, notifications and responses on unchanged', () => {
    const { input, delivered, answers } = setup();
    const messages = [PING, { jsonrpc: '2.0', method: 'note', params: [] }, { jsonrpc: '2.0', id: 'a', result: null }];
    for (const message of messages) input.write(frame(JSON.stringify(message)));
    expect(delivered).toEqual(messages);
    expect(answers).toEqual([]);
  });

  const invalid: Array<[string, unknown, string | number | null]> = [
    ['a request with "id": null', { jsonrpc: '2.0', id: null, method: 'ping' }, null],
    ['a request with a fractional id', { jsonrpc: '2.0', id: 1.5, method: 'ping' }, null],
    ['a request with an object id', { jsonrpc: '2.0', id: { a: 1 }, method: 'ping' }, null],
    ['a request without a method', { jsonrpc: '2.0', id: 3 }, 3],
    ['a request whose method is a number', { jsonrpc: '2.0', id: 'x', method: 42 }, 'x'],
    ['a request whose method is empty', { jsonrpc: '2.0', id: 4, method: '' }, 4],
    ['a request with the wrong jsonrpc version', { jsonrpc: '1.0', id: 5, method: 'ping' }, 5],
    ['a request whose params are a string', { jsonrpc: '2.0', id: 6, method: 'ping', params: 'p' }, 6],
    ['a batch', [PING], null],
    ['a bare number', 12, null],
  ];
  for (const [name, message, id] of invalid) {
    it(`answers ${name} with -32600 and id ${JSON.stringify(id)}, then keeps reading`, () => {
      const { input, delivered, answers } = setup();
      input.write(frame(JSON.stringify(message)));
      input.write(frame(JSON.stringify(PING)));
      expect(answers).toHaveLength(1);
      expect(answers[0]!.id).toBe(id);
      expect(answers[0]!.error.code).toBe(-32600);
      expect(delivered).toEqual([PING]);
    });
  }

  it('answers a body that is not JSON with -32700 and id null, then keeps reading', () => {
    const { input, delivered, answers } = setup();
    input.write(frame('{"jsonrpc":'));
    input.write(frame(Buffer.from([0x22, 0xff, 0x22])));
    input.write(frame(JSON.stringify(PING)));
    expect(answers.map((answer) => [answer.id, answer.error.code])).toEqual([
      [null, -32700],
      [null, -32700],
    ]);
    expect(answers[1]!.error.message).toMatch(/not valid UTF-8/);
    expect(delivered).toEqual([PING]);
  });

  it('answers a malformed header with -32700 once and resynchronises on the next Content-Length', () => {
    const { input, delivered, answers } = setup();
    input.write(Buffer.from('Content-Length: -3\r\n\r\nabc garbage garbage'));
    input.write(frame(JSON.stringify(PING)));
    expect(answers).toHaveLength(1);
    expect(answers[0]).toMatchObject({ id: null, error: { code: -32700 } });
    expect(answers[0]!.error.message).toMatch(/Content-Length "-3" is not a decimal number/);
    expect(delivered).toEqual([PING]);
  });

  it('refuses a frame over the limit with -32600 naming the limit, and skips it', () => {
    const { input, delivered, answers } = setup({ limits: { maxFrameBytes: 50 } });
    input.write(frame(JSON.stringify({ ...PING, params: { padding: 'x'.repeat(100) } })));
    input.write(frame(JSON.stringify(PING)));
    expect(answers).toHaveLength(1);
    expect(answers[0]).toMatchObject({ id: null, error: { code: -32600 } });
    expect(answers[0]!.error.message).toMatch(/longer than the limit of 50 bytes/);
    expect(delivered).toEqual([PING]);
  });

  it('refuses a request nested deeper than 64 levels with -32600 and its id, and passes 64 levels on', () => {
    const { input, delivered, answers } = setup();
    // The message is level 1 and params level 2, so params holding nested(62) reach exactly 64.
    const atLimit = `{"jsonrpc":"2.0","id":1,"method":"deep","params":[${nested(62)}]}`;
    const overLimit = `{"jsonrpc":"2.0","id":2,"method":"deep","params":[${nested(63)}]}`;
    input.write(frame(atLimit));
    input.write(frame(overLimit));
    expect(delivered).toHaveLength(1);
    expect((delivered[0] as unknown as { id: number }).id).toBe(1);
    expect(answers).toHaveLength(1);
    expect(answers[0]).toMatchObject({ id: 2, error: { code: -32600 } });
    expect(answers[0]!.error.message).toMatch(/deeper than the limit of 64 levels/);
  });

  it('does not count brackets inside strings as nesting', () => {
    const { input, delivered, answers } = setup();
    const message = { ...PING, params: { text: `${'['.repeat(500)}\\"{{{` } };
    input.write(frame(JSON.stringify(message)));
    expect(answers).toEqual([]);
    expect(delivered).toEqual([message]);
  });

  it('drops a notification nested too deep with a log line and no answer', () => {
    const { input, delivered, answers, logs } = setup();
    input.write(frame(`{"jsonrpc":"2.0","method":"note","params":[${nested(5000)}]}`));
    expect(delivered).toEqual([]);
    expect(answers).toEqual([]);
    expect(logs.join('\n')).toMatch(/Refused note: .*limit of 64 levels/);
  });

  it('calls onUnrecoverable once, with a logged reason, after the resynchronisation limit of garbage', () => {
    const reasons: string[] = [];
    const { input, delivered, answers, logs } = setup({
      limits: { maxResyncBytes: 1000 },
      onUnrecoverable: (reason) => reasons.push(reason),
    });
    input.write(Buffer.alloc(2000, 0x7b));
    input.write(frame(JSON.stringify(PING)));
    expect(reasons).toEqual(['no valid frame header was found in 1000 bytes of input; this is not LSP framing']);
    expect(logs.join('\n')).toMatch(/Unrecoverable framing: .*Exiting with code 1/);
    expect(answers.map((answer) => answer.error.code)).toEqual([-32700]);
    expect(delivered).toEqual([]);
  });

  it('fires onClose when the input ends, logging an unfinished frame', async () => {
    const { input, isClosed, logs } = setup();
    input.end(Buffer.from('Content-Length: 10\r\n\r\n{"a"'));
    const deadline = Date.now() + 5000;
    while (!isClosed() && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
    expect(isClosed()).toBe(true);
    expect(logs.join('\n')).toMatch(/ended 6 bytes before the end of a frame body/);
  });

  it('exposes the decoder statistics, with nothing held between frames', () => {
    const { input, reader } = setup();
    input.write(frame(JSON.stringify(PING)));
    expect(reader.statistics.frames).toBe(1);
    expect(reader.statistics.bufferedBytes).toBe(0);
  });
});
