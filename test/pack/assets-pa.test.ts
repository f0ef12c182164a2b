/** The `assets.pa` layout and canonical JSON, pinned byte for byte. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { joinPieces, layoutAssetsPa, PA_ALIGNMENT, PA_PRELUDE_SIZE } from '../../server/src/pack/assets-pa.js';
import { canonicalJson, canonicalJsonSliced, canonicalJsonSlicedPieces } from '../../server/src/pack/canonical-json.js';
import { readAssetsPa, readSoundSamples } from '../support/pa-reader.js';
import { useTempDirs, writeProject } from '../support/workspace-builder.js';
import { hex, makeWav, packNow, pcmBytes, readSucceeded } from './pack-fixtures.js';

const tempDir = useTempDirs('pack-pa-');

describe('canonical JSON', () => {
  it('sorts keys recursively by UTF-16 code unit, keeps array order and writes no whitespace', () => {
    expect(canonicalJson({ b: [3, { z: 1, a: null }], a: 'x', B: true, é: false, '10': 0, '9': 0 })).toBe(
      '{"10":0,"9":0,"B":true,"a":"x","b":[3,{"a":null,"z":1}],"é":false}',
    );
  });

  it('escapes strings as JSON.stringify does and writes -0 as 0', () => {
    expect(canonicalJson(['a"b\\c\n\u0001/é😀', -0])).toBe('["a\\"b\\\\c\\n\\u0001/é😀",0]');
  });

  it.each([
    ['a fraction', { a: 1.5 }, '$.a is 1.5'],
    ['NaN', [Number.NaN], '$[0] is NaN'],
    ['an unsafe integer', { n: 2 ** 53 }, '$.n is 9007199254740992'],
    ['undefined', { a: undefined }, '$.a is a undefined'],
    ['a class instance', { d: new Date(0) }, '$.d is not a plain object'],
    // eslint-disable-next-line no-sparse-arrays -- the hole is what the test is about.
    ['a sparse array', [1, , 3], '$[1] is a hole'],
  ])('rejects %s', (_name, value, message) => {
    expect(() => canonicalJson(value)).toThrow(message);
  });

  it('lays out the indented form as JSON.stringify does, keys sorted', () => {
    const value = { b: { d: [], c: {} }, a: [1, { y: 'z' }] };
    expect(canonicalJson(value, { indent: 2 })).toBe(
      JSON.stringify({ a: [1, { y: 'z' }], b: { c: {}, d: [] } }, null, 2),
    );
  });

  it('writes in slices exactly the text it writes at once, indented or not, and at the depth it is spliced at', async () => {
    const rows = Array.from({ length: 300 }, (_, index) => ({
      z: index,
      a: `name ${index} "quoted"`,
      list: Array.from({ length: index % 70 }, (_unused, item) => ({ k: item, e: [] })),
    }));
    const value = { schema_version: 1, assets: rows, preload: [3, 1], empty: {} };
    expect(await canonicalJsonSliced(value)).toBe(canonicalJson(value));
    expect(await canonicalJsonSliced(value, { indent: 2 })).toBe(canonicalJson(value, { indent: 2 }));
    const spliced = canonicalJson({ assets: [], b: 1 }, { indent: 2 }).replace(
      '"assets": []',
      `"assets": ${await canonicalJsonSliced(rows, { indent: 2, depth: 1 })}`,
    );
    expect(spliced).toBe(canonicalJson({ assets: rows, b: 1 }, { indent: 2 }));
  });

  it('writes a long array of items already in key order in runs exactly as at once, a run with one item out of order or too large too', async () => {
    const rows: unknown[] = Array.from({ length: 700 }, (_, index) => ({
      a: `name ${index} "quoted"`,
      inputs: [{ path: `p${index}`, size: index }],
      z: index,
    }));
    rows[300] = { z: 300, a: 'out of order' };
    rows[600] = { a: 'large', list: Array.from({ length: 80 }, (_unused, item) => ({ k: item })) };
    for (const options of [{}, { indent: 2 }])
      expect(await canonicalJsonSliced(rows, options)).toBe(canonicalJson(rows, options));
    expect(await canonicalJsonSliced(rows, { indent: 2, depth: 1 })).toBe(
      canonicalJson({ rows }, { indent: 2 }).slice('{\n  "rows": '.length, -'\n}'.length),
    );
    // An array as long as the rows with every item set but the one at 650: a hole there.
    const holed: unknown[] = new Array<unknown>(rows.length);
    rows.forEach((row, index) => {
      if (index !== 650) holed[index] = row;
    });
    await expect(canonicalJsonSliced(holed)).rejects.toThrow('$[650] is a hole');
  });

  it('writes a long array as pieces that join into exactly the text it writes at once, at any depth and indentation', async () => {
    const rows: unknown[] = Array.from({ length: 700 }, (_, index) => ({
      a: `name ${index} "quoted"`,
      inputs: [{ path: `p${index}`, size: index }],
      z: index,
    }));
    rows[300] = { z: 300, a: 'out of order' };
    for (const items of [rows, rows.slice(0, 10), rows.slice(0, 256), rows.slice(0, 257), []])
      for (const options of [{}, { indent: 2 }, { indent: 2, depth: 1 }, { indent: 4, depth: 3 }])
        expect((await canonicalJsonSlicedPieces(items, options)).join('')).toBe(
          await canonicalJsonSliced(items, options),
        );
    const holed: unknown[] = new Array<unknown>(rows.length);
    rows.forEach((row, index) => {
      if (index !== 650) holed[index] = row;
    });
    await expect(canonicalJsonSlicedPieces(holed)).rejects.toThrow('is a hole');
  });

  it('writes a value whose keys are already in order exactly as the same value with its keys out of order', async () => {
    // Keys in order take the native path (JSON.stringify); reversed, every object is walked key by key.
    const reversed = (value: unknown): unknown =>
      Array.isArray(value)
        ? value.map(reversed)
        : value !== null && typeof value === 'object'
          ? Object.fromEntries(
              Object.keys(value)
                .sort()
                .reverse()
                .map((key) => [key, reversed((value as Record<string, unknown>)[key])]),
            )
          : value;
    const value = {
      a: [{ b: 'x"\n\u0001😀', c: -0, d: [] }, {}, [1, [2, { e: null, f: true }]]],
      g: { h: { i: [{ j: 1 }] } },
    };
    expect(Object.keys(reversed(value) as object)).toEqual(['g', 'a']);
    for (const indent of [0, 2]) {
      expect(canonicalJson(value, { indent })).toBe(canonicalJson(reversed(value), { indent }));
      expect(await canonicalJsonSliced(value.a, { indent, depth: 2 })).toBe(
        await canonicalJsonSliced(reversed(value.a), { indent, depth: 2 }),
      );
    }
    expect(canonicalJson(value, { indent: 2 })).toBe(JSON.stringify(value, null, 2));
    // Values JSON.stringify would write differently are still written, or refused, as before.
    expect(canonicalJson({ a: { toJSON: 'kept' }, b: Object.assign([1], { toJSON: () => 'x' }) })).toBe(
      '{"a":{"toJSON":"kept"},"b":[1]}',
    );
    expect(() => canonicalJson({ a: new Date(0) })).toThrow('$.a is not a plain object');
    expect(() => canonicalJson({ a: [1, 2 ** 53] })).toThrow('$.a[1] is 9007199254740992');
  });

  it('rejects in slices what it rejects at once', async () => {
    const rows = Array.from({ length: 100 }, (_, index) => ({ n: index === 70 ? 1.5 : index }));
    await expect(canonicalJsonSliced({ rows })).rejects.toThrow('$.rows[70].n is 1.5');
  });
});

describe('assets.pa layout', () => {
  it('writes the documented prelude: magic, schema_version, header_len, payload_offset, flags, reserved', () => {
    const pa = layoutAssetsPa([]);
    // {"asset_table":[],"preload":[]} is 31 bytes; 32 + 31 = 63 rounds up to 64.
    expect(hex(joinPieces(pa.pieces))).toBe(
      [
        '50 52 4f 4d 50 41 00 00', // magic "PROMPA\0\0"
        '01 00 00 00', // schema_version 1
        '1f 00 00 00', // header_len 31
        '40 00 00 00 00 00 00 00', // payload_offset 64 (u64)
        '00 00 00 00', // flags
        '00 00 00 00', // reserved
        hex(new TextEncoder().encode('{"asset_table":[],"preload":[]}')),
        '00', // padding to 64
      ].join(' '),
    );
    expect(PA_PRELUDE_SIZE).toBe(32);
    expect(PA_ALIGNMENT).toBe(16);
    expect(readAssetsPa(joinPieces(pa.pieces)).entries).toEqual([]);
  });

  it('aligns every payload to 16 bytes with zero gaps and lists preloaded ids', () => {
    const pa = layoutAssetsPa([
      {
        assetId: 2,
        assetName: 'a',
        bankType: 'BLOB',
        codec: 'NONE',
        decodedSize: 3,
        metadata: {},
        payload: Uint8Array.of(1, 2, 3),
        preload: true,
      },
      {
        assetId: 5,
        assetName: 'b',
        bankType: 'BLOB',
        codec: 'NONE',
        decodedSize: 17,
        metadata: { k: 1 },
        payload: new Uint8Array(17).fill(9),
        preload: false,
      },
      {
        assetId: 9,
        assetName: 'c',
        bankType: 'BLOB',
        codec: 'NONE',
        decodedSize: 1,
        metadata: {},
        payload: Uint8Array.of(7),
        preload: true,
      },
    ]);
    expect(pa.assetTable.map((entry) => [entry.offset, entry.size])).toEqual([
      [0, 3],
      [16, 17],
      [48, 1],
    ]);
    expect(pa.preload).toEqual([2, 9]);
    const read = readAssetsPa(joinPieces(pa.pieces));
    expect(read.entries.map((entry) => [...entry.bytes])).toEqual([[1, 2, 3], new Array(17).fill(9), [7]]);
    expect(pa.size).toBe(pa.payloadOffset + 49);
  });

  it('refuses assets that are not strictly ordered by asset_id', () => {
    const asset = {
      assetName: 'a',
      bankType: 'BLOB',
      codec: 'NONE',
      decodedSize: 0,
      metadata: {},
      payload: new Uint8Array(0),
      preload: false,
    };
    expect(() =>
      layoutAssetsPa([
        { ...asset, assetId: 2 },
        { ...asset, assetId: 2 },
      ]),
    ).toThrow('strictly ordered by asset_id');
  });

  it('packs a tiny project into exactly the pinned bytes', async () => {
    const project = writeProject(tempDir(), {
      assets: [
        {
          root: 'misc/hello',
          uuid: '00000000-0000-4000-8000-000000000001',
          name: 'hello',
          inputs: { data: ['hello.txt'] },
          files: { 'hello.txt': 'hello\n' },
          preload: true,
        },
        {
          root: 'audio/beeps',
          uuid: '00000000-0000-4000-8000-000000000002',
          name: 'beeps',
          type: 'sound_bank',
          inputs: { samples: ['high.wav', 'low.wav'] },
          files: {
            'high.wav': makeWav({ sampleRate: 8000, samples: [1000, -1000, 1000, -1000] }),
            'low.wav': makeWav({ sampleRate: 8000, samples: [300, 300, -300] }),
          },
        },
      ],
    });
    const { outcome, pa } = readSucceeded(await packNow(project.assetsDir));
    const bytes = outcome.artifacts['assets.pa'];
    expect(pa.headerText).toBe(
      '{"asset_table":[' +
        '{"asset_id":1,"asset_name":"hello","bank_type":"BLOB","codec":"NONE","decoded_size":6,"metadata":{},"offset":0,"size":6},' +
        '{"asset_id":2,"asset_name":"beeps","bank_type":"SOUNDS","codec":"NONE","decoded_size":14,"metadata":{"channels":1,"sample_rate":8000,"samples":[{"name":"high","offset":0,"size":8},{"name":"low","offset":8,"size":6}]},"offset":16,"size":14}' +
        '],"preload":[1]}',
    );
    expect(hex(bytes.subarray(0, 48))).toBe(
      [
        '50 52 4f 4d 50 41 00 00', // magic
        '01 00 00 00', // schema_version 1
        '88 01 00 00', // header_len 392
        'b0 01 00 00 00 00 00 00', // payload_offset 432 = align16(32 + 392)
        '00 00 00 00 00 00 00 00', // flags, reserved
        '7b 22 61 73 73 65 74 5f 74 61 62 6c 65 22 3a 5b', // {"asset_table":[
      ].join(' '),
    );
    expect(new TextDecoder().decode(pa.entries[0]!.bytes)).toBe('hello\n');
    expect(readSoundSamples(pa.entries[1]!).map((sample) => [...sample.bytes])).toEqual([
      [...pcmBytes([1000, -1000, 1000, -1000])],
      [...pcmBytes([300, 300, -300])],
    ]);
    expect(bytes.length).toBe(pa.payloadOffset + 30);
    // Also reproduced by building the bytes by hand from docs/formats.md (prelude, header, zero padding, payloads).
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(
      '1822a7a96d4140d292dba89f57c453f91ba83361ce49428b1268d125dba5027f',
    );
  });
});
