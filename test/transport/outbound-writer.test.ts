/**
 * The outbound queue: batching keeps order; a slow consumer gets progress events merged, and nothing else.
 */
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Message } from 'vscode-jsonrpc/node';
import { jsonNestsDeeperThan, jsonTextDeeperThan } from '../../server/src/transport/message-check.js';
import { OutboundWriter, serialiseAhead } from '../../server/src/transport/outbound-writer.js';
import { afterAnswer, setOutputGate } from '../../server/src/project/after-answer.js';

function parseFrames(text: string): Record<string, unknown>[] {
  const messages: Record<string, unknown>[] = [];
  let rest = Buffer.from(text, 'utf8');
  while (rest.length > 0) {
    const headerEnd = rest.indexOf('\r\n\r\n');
    const length = Number(/Content-Length: (\d+)/.exec(rest.subarray(0, headerEnd).toString('ascii'))![1]);
    messages.push(
      JSON.parse(rest.subarray(headerEnd + 4, headerEnd + 4 + length).toString('utf8')) as Record<string, unknown>,
    );
    rest = rest.subarray(headerEnd + 4 + length);
  }
  return messages;
}

/** A sink that accepts writes but only completes them when `release` is called. */
function slowSink(): { stream: Writable; text: () => string; release: () => void } {
  const chunks: Buffer[] = [];
  const held: (() => void)[] = [];
  let released = false;
  const stream = new Writable({
    highWaterMark: 64,
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      if (released) callback();
      else held.push(callback);
    },
  });
  return {
    stream,
    text: () => Buffer.concat(chunks).toString('utf8'),
    release: () => {
      released = true;
      for (const callback of held.splice(0)) callback();
    },
  };
}

function event(
  sequence: number,
  kind: string,
  operationId = 'op-1',
  body: Record<string, unknown> = { done: sequence },
): Message {
  return {
    jsonrpc: '2.0',
    method: 'packer/event',
    params: { projectId: 'p', epoch: 'e', sequence, operationId, time: 't', kind, body },
  } as Message;
}

describe('outbound writer', () => {
  it('writes every message whole and in call order when the client keeps up', async () => {
    const sink = slowSink();
    sink.release();
    const writer = new OutboundWriter(sink.stream);
    const writes = [];
    for (let sequence = 1; sequence <= 200; sequence++)
      writes.push(writer.write(event(sequence, 'operation.progress')));
    writes.push(writer.write({ jsonrpc: '2.0', id: 1, result: 'done' } as Message));
    await Promise.all(writes);
    const messages = parseFrames(sink.text());
    expect(messages).toHaveLength(201);
    expect(messages.slice(0, 200).map((message) => (message['params'] as { sequence: number }).sequence)).toEqual(
      Array.from({ length: 200 }, (_, index) => index + 1),
    );
    expect(writer.mergedCount).toBe(0);
  });

  it('a slow consumer gets queued progress merged into the newest, and every other message intact and in order', async () => {
    const sink = slowSink();
    const writer = new OutboundWriter(sink.stream);
    // Fill the stream past its high-water mark so the writer has to wait for drain.
    await writer.write(
      event(1, 'operation.started', 'op-1', { operation: 'pack', operationClass: 'build', baseRevision: 1 }),
    );
    const writes = [
      writer.write(event(2, 'operation.progress')),
      writer.write(event(3, 'operation.progress')),
      writer.write(event(4, 'operation.progress', 'op-2')),
      writer.write(event(5, 'operation.progress')),
      writer.write(event(6, 'snapshot.published', undefined, { revision: 2 })),
      writer.write(event(7, 'operation.progress')),
      writer.write(event(8, 'operation.progress')),
      writer.write(event(9, 'operation.succeeded', 'op-1', { outcome: {} })),
      writer.write({ jsonrpc: '2.0', id: 1, result: 'done' } as Message),
    ];
    sink.release();
    await Promise.all(writes);
    const messages = parseFrames(sink.text());
    const summary = messages.map((message) => {
      const params = message['params'] as { sequence: number; kind: string; body: { merged?: number } } | undefined;
      return params
        ? `${params.sequence}:${params.kind}${params.body.merged ? `(merged ${params.body.merged})` : ''}`
        : `response ${String(message['id'])}`;
    });
    // While the stream was backed up, op-1's progress 2, 3, 5 and 7 were merged into 8; op-2's progress
    // stays separate; every other kind arrives, in order.
    expect(summary).toEqual([
      '1:operation.started',
      '4:operation.progress',
      '6:snapshot.published',
      '8:operation.progress(merged 4)',
      '9:operation.succeeded',
      'response 1',
    ]);
    expect(summary.filter((line) => line.includes('snapshot.published'))).toEqual(['6:snapshot.published']);
    expect(summary.at(-2)).toBe('9:operation.succeeded');
    expect(summary.at(-1)).toBe('response 1');
    const sequences = messages.flatMap((message) =>
      (message['params'] as { sequence?: number } | undefined)?.sequence !== undefined
        ? [(message['params'] as { sequence: number }).sequence]
        : [],
    );
    expect([...sequences].sort((a, b) => a - b)).toEqual(sequences);
    expect(writer.mergedCount).toBeGreaterThan(0);
    expect(sequences).toContain(8);
    expect(sequences).toContain(4);
    expect(sequences).toContain(9);
  });
});

describe('outbound writer: when the output has left', () => {
  it('calls back only once every message accepted before has been handed over by the stream', async () => {
    const sink = slowSink();
    const writer = new OutboundWriter(sink.stream, () => undefined);
    const written: string[] = [];
    for (let sequence = 1; sequence <= 200; sequence++) void writer.write(event(sequence, 'operation.started'));
    writer.whenWritten(() => written.push('first'));
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(written).toEqual([]);
    sink.release();
    const deadline = Date.now() + 5000;
    while (written.length === 0 && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
    expect(written).toEqual(['first']);
    expect(parseFrames(sink.text())).toHaveLength(200);
    // Nothing waits now: at once.
    writer.whenWritten(() => written.push('second'));
    expect(written).toEqual(['first', 'second']);
  });
});

describe('work started after an answer', () => {
  it("waits until the connection's output has left the process", async () => {
    const sink = slowSink();
    const writer = new OutboundWriter(sink.stream, () => undefined);
    const clear = setOutputGate((run) => writer.whenWritten(run));
    try {
      let ran = false;
      for (let sequence = 1; sequence <= 200; sequence++) void writer.write(event(sequence, 'operation.started'));
      afterAnswer(() => (ran = true));
      for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
      expect(ran).toBe(false);
      sink.release();
      const deadline = Date.now() + 5000;
      while (!ran && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
      expect(ran).toBe(true);
    } finally {
      clear();
    }
  });
});

describe('outbound writer serialisation', () => {
  it('a frozen result is serialised once and gives exactly the bytes JSON.stringify gives', async () => {
    const sink = slowSink();
    sink.release();
    const writer = new OutboundWriter(sink.stream);
    const result = Object.freeze({ revision: 3, assets: [{ root: 'a', name: 'é "quoted"', assetId: 1 }] });
    const first = { jsonrpc: '2.0', id: 7, result } as Message;
    const second = { jsonrpc: '2.0', id: 'eight', result } as Message;
    await Promise.all([writer.write(first), writer.write(second)]);
    const messages = parseFrames(sink.text());
    expect(messages).toEqual([JSON.parse(JSON.stringify(first)), JSON.parse(JSON.stringify(second))]);
    expect(sink.text()).toContain(`${JSON.stringify(first)}`);
  });

  it("a write's response serialised ahead gives exactly JSON.stringify's bytes, as the result and inside its terminal event", async () => {
    const sink = slowSink();
    sink.release();
    const writer = new OutboundWriter(sink.stream);
    // Long enough to be written in runs, with what JSON.stringify leaves out or rewrites along the way.
    const assets = Array.from({ length: 1000 }, (_, index) => ({
      assetId: index + 1,
      name: index % 7 === 0 ? `é "q" \u2028 ${index}` : `a${index}`,
      skipped: undefined,
      nested: { list: [index, -0, null], flag: index % 2 === 0 },
    }));
    const response = Object.freeze({ operationId: 'op-9', outcome: 'succeeded', assets, none: undefined });
    await serialiseAhead(response);
    const answer = { jsonrpc: '2.0', id: 12, result: response } as Message;
    const terminal = event(5, 'operation.succeeded', 'op-9', { operation: 'pack', revision: 4, outcome: response });
    await Promise.all([writer.write(terminal), writer.write(answer)]);
    expect(sink.text()).toContain(JSON.stringify(terminal));
    expect(sink.text()).toContain(JSON.stringify(answer));
    expect(parseFrames(sink.text())).toEqual([
      JSON.parse(JSON.stringify(terminal)),
      JSON.parse(JSON.stringify(answer)),
    ]);
  });

  it('a long frozen array shared by answers is serialised once, and each answer still sends exactly its own JSON', async () => {
    const sink = slowSink();
    sink.release();
    const writer = new OutboundWriter(sink.stream);
    let serialised = 0;
    // Each item counts its serialisations: an array reused from its memo is not serialised again.
    const assets = Object.freeze(
      Array.from({ length: 600 }, (_, index) =>
        Object.freeze({
          toJSON: () => {
            serialised++;
            return { assetId: index + 1, name: index % 5 === 0 ? `é ${index}` : `a${index}` };
          },
        }),
      ),
    );
    const answers = [1, 2, 3].map((revision) =>
      Object.freeze({ operationId: `op-${revision}`, upToDate: true, revision, assets }),
    );
    for (const response of answers) await serialiseAhead(response);
    expect(serialised).toBe(assets.length);
    // Deeper than where it was memoised: serialised again for that level, never reused past it.
    const nested = Object.freeze({ operationId: 'op-4', outcome: { assets } });
    await serialiseAhead(nested);
    expect(serialised).toBe(2 * assets.length);
    const messages = [...answers, nested].map((result, index) => ({ jsonrpc: '2.0', id: index, result }) as Message);
    await Promise.all(messages.map((message) => writer.write(message)));
    for (const message of messages) expect(sink.text()).toContain(JSON.stringify(message));
    expect(parseFrames(sink.text())).toEqual(messages.map((message) => JSON.parse(JSON.stringify(message))));
  });

  it('a long array that is not frozen is serialised afresh for every answer that carries it', async () => {
    const sink = slowSink();
    sink.release();
    const writer = new OutboundWriter(sink.stream);
    const assets = Array.from({ length: 300 }, (_, index) => ({ assetId: index }));
    const first = Object.freeze({ revision: 1, assets });
    await serialiseAhead(first);
    assets.push({ assetId: 999 });
    const second = Object.freeze({ revision: 2, assets });
    await serialiseAhead(second);
    const message = { jsonrpc: '2.0', id: 1, result: second } as Message;
    await writer.write(message);
    expect(parseFrames(sink.text())).toEqual([JSON.parse(JSON.stringify(message))]);
  });

  it('a value that cannot be serialised ahead still gets the answer the ordinary path gives', async () => {
    const sink = slowSink();
    sink.release();
    const logs: string[] = [];
    const writer = new OutboundWriter(sink.stream, (message) => logs.push(message));
    const response = Object.freeze({
      outcome: 'succeeded',
      assets: Array.from({ length: 300 }, (_, index) => index),
      bad: 1n,
    });
    await serialiseAhead(response);
    await writer.write({ jsonrpc: '2.0', id: 3, result: response } as Message);
    expect(logs).toHaveLength(1);
    expect(parseFrames(sink.text())[0]!['error']).toMatchObject({ code: -32603 });
  });
});

describe('outbound writer safety', () => {
  /** A value nested `depth` levels deep, built without recursion. */
  function deep(depth: number): unknown {
    let value: unknown = {};
    for (let level = 1; level < depth; level++) value = { inner: value };
    return value;
  }

  function collect() {
    const sink = slowSink();
    sink.release();
    const logs: string[] = [];
    const writer = new OutboundWriter(sink.stream, (message) => logs.push(message));
    return { sink, writer, logs };
  }

  const unsendable: Array<[string, () => unknown, RegExp]> = [
    ['nested 5,000 levels deep', () => deep(5000), /deeper than 128 levels/],
    ['holding a BigInt', () => ({ count: 10n }), /BigInt/],
    [
      'holding a cycle',
      () => {
        const cycle: Record<string, unknown> = {};
        cycle['self'] = cycle;
        return cycle;
      },
      /deeper than 128 levels \(or holds a cycle\)/,
    ],
    [
      'whose toJSON throws',
      () => ({
        toJSON() {
          throw new Error('no');
        },
      }),
      /serialising it failed: no/,
    ],
  ];
  for (const [name, make, reason] of unsendable) {
    it(`answers a result ${name} with -32603 naming why, and keeps writing what follows`, async () => {
      const { sink, writer, logs } = collect();
      await Promise.all([
        writer.write({ jsonrpc: '2.0', id: 1, result: make() } as Message),
        writer.write({ jsonrpc: '2.0', id: 2, result: Object.freeze({ frozen: make() }) } as Message),
        writer.write({ jsonrpc: '2.0', id: 3, result: 'fine' } as Message),
      ]);
      const messages = parseFrames(sink.text());
      expect(messages.map((message) => message['id'])).toEqual([1, 2, 3]);
      for (const message of messages.slice(0, 2)) {
        const error = message['error'] as { code: number; message: string };
        expect(error.code).toBe(-32603);
        expect(error.message).toMatch(reason);
      }
      expect(messages[2]!['result']).toBe('fine');
      expect(logs).toHaveLength(2);
    });
  }

  it('drops a notification that cannot be serialised with a log line, and keeps the order of the rest', async () => {
    const { sink, writer, logs } = collect();
    await Promise.all([
      writer.write(event(1, 'operation.started')),
      writer.write({ jsonrpc: '2.0', method: 'packer/event', params: deep(5000) } as Message),
      writer.write(event(2, 'operation.progress')),
    ]);
    const messages = parseFrames(sink.text());
    expect(messages.map((message) => (message['params'] as { sequence: number }).sequence)).toEqual([1, 2]);
    expect(logs).toEqual([
      'Could not send the packer/event message: it nests deeper than 128 levels (or holds a cycle); dropped it.',
    ]);
  });

  it('sends an error response whose data cannot be serialised without its data', async () => {
    const { sink, writer } = collect();
    await writer.write({ jsonrpc: '2.0', id: 4, error: { code: 1001, message: 'Nope', data: { n: 1n } } } as Message);
    const [message] = parseFrames(sink.text());
    expect(message).toEqual({
      jsonrpc: '2.0',
      id: 4,
      error: { code: 1001, message: 'Nope (its data was not sent: it holds a BigInt, which JSON cannot represent)' },
    });
  });

  it('sends a result nested exactly 128 levels deep, message included', async () => {
    const { sink, writer, logs } = collect();
    // The response object is level 1, so its result may nest 127 levels.
    await writer.write({ jsonrpc: '2.0', id: 5, result: deep(127) } as Message);
    expect(logs).toEqual([]);
    expect(parseFrames(sink.text())[0]!['result']).toEqual(deep(127));
  });
});

describe('the depth of outgoing JSON text', () => {
  it('is counted over the string exactly as the reader counts it over the bytes', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 10 }), (value, limit) => {
        const json = JSON.stringify(value);
        expect(jsonTextDeeperThan(json, limit)).toBe(jsonNestsDeeperThan(Buffer.from(json, 'utf8'), limit));
      }),
      { numRuns: 2000 },
    );
  });

  it('is not fooled by brackets inside strings or by many shallow siblings', () => {
    const wide = JSON.stringify({ items: Array.from({ length: 300 }, () => ({ text: '{[{[' })) });
    expect(jsonTextDeeperThan(wide, 3)).toBe(false);
    expect(jsonTextDeeperThan(wide, 2)).toBe(true);
    expect(jsonTextDeeperThan(JSON.stringify({ text: '['.repeat(500) }), 1)).toBe(false);
  });

  it('sends a batch larger than one write chunk whole and in order, a large body among small ones', async () => {
    const sink = slowSink();
    sink.release();
    const writer = new OutboundWriter(sink.stream);
    const big = { jsonrpc: '2.0', id: 1, result: { text: 'é'.repeat(100_000) } } as Message;
    const writes = [];
    for (let sequence = 1; sequence <= 300; sequence++) {
      writes.push(writer.write(event(sequence, 'operation.progress')));
      if (sequence === 150) writes.push(writer.write(big));
    }
    await Promise.all(writes);
    const messages = parseFrames(sink.text());
    expect(messages).toHaveLength(301);
    expect(messages[150]).toEqual(JSON.parse(JSON.stringify(big)));
    expect(
      messages
        .filter((message) => 'method' in message)
        .map((message) => (message['params'] as { sequence: number }).sequence),
    ).toEqual(Array.from({ length: 300 }, (_, index) => index + 1));
  });
});
