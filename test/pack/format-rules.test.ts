/**
 * Every format rule, one fixture each: its blocker is shown by `doctor`, `packSummary`, `getAssetDetails` and
 * `listAssets` before any pack (once validation has run, and the asset says `pending` until then), and the
 * pack's own re-validation blocks with exactly the same set of diagnostics.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Diagnostic } from '@prometeu/packer-protocol';
import { describe, expect, it } from 'vitest';
import { readViewOf, type ReadContext } from '../../server/src/dispatch/context.js';
import { getAssetDetails, listAssets } from '../../server/src/reads/assets.js';
import { doctor, packSummary } from '../../server/src/reads/doctor.js';
import { PackerHost } from '../../server/src/index.js';
import { packOperation } from '../../server/src/writes/pack-project.js';
import type { Project } from '../../server/src/project/project.js';
import { useTempDirs, writeProject, type AssetSpec, type FileContent } from '../support/workspace-builder.js';
import { makePng, makeWav, opaque, paletteFile, pcmBytes } from './pack-fixtures.js';

const tempDir = useTempDirs('pack-format-rules-');

const ROOT = 'subject';
type FormatCode = 'format-declaration-invalid' | 'format-input-invalid';

/** One rule: the asset that breaks it, the code it raises, and a fragment of the message that names it. */
interface RuleCase {
  readonly rule: string;
  readonly asset: AssetSpec;
  readonly code: FormatCode;
  readonly message: string;
}

const BLACK = '#000000';

/** A valid one-tile glyph bank, with parts replaced. */
function glyph(parts: {
  metadata?: Record<string, unknown>;
  inputs?: Record<string, string[]>;
  files?: Record<string, FileContent>;
}): AssetSpec {
  return {
    root: ROOT,
    type: 'glyph_bank',
    inputs: parts.inputs ?? { tiles: ['a.png'], palettes: ['p.json'] },
    output: {
      format: 'GLYPH/indexed_v1',
      codec: 'NONE',
      metadata: parts.metadata ?? { tile_size: 8, tiles: [{ index: 0, source: 'a.png', palette: 0 }] },
    },
    files: {
      'a.png': makePng(8, 8, () => opaque(BLACK)),
      'p.json': paletteFile([BLACK]),
      ...parts.files,
    },
  };
}

/** A sound bank of the given WAV files (every one listed under `samples` unless `samples` says otherwise). */
function sound(files: Record<string, FileContent>, samples = Object.keys(files), metadata?: Record<string, unknown>) {
  return {
    root: ROOT,
    type: 'sound_bank',
    inputs: { samples },
    output: { format: 'SOUNDS/pcm16le_v1', codec: 'NONE', ...(metadata ? { metadata } : {}) },
    files,
  } satisfies AssetSpec;
}

/** A raw blob with the given inputs and metadata. */
function blob(inputs: Record<string, string[]>, metadata?: Record<string, unknown>): AssetSpec {
  const files: Record<string, FileContent> = {};
  for (const paths of Object.values(inputs)) for (const path of paths) files[path] = `bytes of ${path}`;
  return {
    root: ROOT,
    type: 'blob',
    inputs,
    output: { format: 'BLOB/raw_v1', codec: 'NONE', ...(metadata ? { metadata } : {}) },
    files,
  };
}

/** A WAV whose RIFF size field is rewritten after the fact. */
function withRiffSize(wav: Uint8Array, extra: number, append = 0): Uint8Array {
  const bytes = new Uint8Array(wav.length + append);
  bytes.set(wav);
  const view = new DataView(bytes.buffer);
  view.setUint32(4, view.getUint32(4, true) + extra, true);
  return bytes;
}

/** A 16-byte PCM `fmt ` chunk body. */
function fmtBody(): Uint8Array {
  const body = new Uint8Array(16);
  const view = new DataView(body.buffer);
  view.setUint16(0, 1, true);
  view.setUint16(2, 1, true);
  view.setUint32(4, 22050, true);
  view.setUint32(8, 44100, true);
  view.setUint16(12, 2, true);
  view.setUint16(14, 16, true);
  return body;
}

const D: FormatCode = 'format-declaration-invalid';
const I: FormatCode = 'format-input-invalid';

const tile = (index: unknown, source: unknown = 'a.png', palette: unknown = 0) => ({ index, source, palette });

const CASES: RuleCase[] = [
  // Rules every format shares (format.ts), shown on the raw blob.
  {
    rule: 'a role the format does not use',
    asset: blob({ data: ['a.bin'], extra: ['b.bin'] }),
    code: D,
    message: 'inputs has role "extra"',
  },
  { rule: 'fewer inputs than a role needs', asset: blob({ data: [] }), code: D, message: 'inputs.data lists no files' },
  {
    rule: 'more inputs than a role allows',
    asset: blob({ data: ['a.bin', 'b.bin'] }),
    code: D,
    message: 'at most 1 is allowed',
  },
  {
    rule: 'a path listed twice under one role',
    asset: blob({ data: ['a.bin', './a.bin'] }),
    code: D,
    message: 'lists a.bin more than once',
  },
  {
    rule: 'a metadata key of a format that takes none',
    asset: blob({ data: ['a.bin'] }, { level: 1 }),
    code: D,
    message: 'this format takes no metadata',
  },
  // GLYPH/indexed_v1: the declaration.
  {
    rule: 'glyph: an unknown metadata key',
    asset: glyph({ metadata: { tile_size: 8, tiles: [tile(0)], tilesize: 8 } }),
    code: D,
    message: 'output.metadata has key "tilesize"',
  },
  {
    rule: 'glyph: a tile_size other than 8, 16 or 32',
    asset: glyph({ metadata: { tile_size: 12, tiles: [tile(0)] } }),
    code: D,
    message: 'tile_size is 12',
  },
  {
    rule: 'glyph: tiles that are not a list',
    asset: glyph({ metadata: { tile_size: 8, tiles: {} } }),
    code: D,
    message: 'output.metadata.tiles is {}',
  },
  {
    rule: 'glyph: no tiles',
    asset: glyph({ metadata: { tile_size: 8, tiles: [] } }),
    code: D,
    message: 'lists no tiles',
  },
  {
    rule: 'glyph: a tile entry that is not an object',
    asset: glyph({ metadata: { tile_size: 8, tiles: [tile(0), 'b.png'] } }),
    code: D,
    message: 'output.metadata.tiles[1] is "b.png"',
  },
  {
    rule: 'glyph: a tile entry with an unknown key',
    asset: glyph({ metadata: { tile_size: 8, tiles: [{ ...tile(0), flip: true }] } }),
    code: D,
    message: 'has key "flip"',
  },
  {
    rule: 'glyph: an index that is not an integer',
    asset: glyph({ metadata: { tile_size: 8, tiles: [tile(0.5)] } }),
    code: D,
    message: '.index is 0.5',
  },
  {
    rule: 'glyph: an index beyond the sheet (overflow)',
    asset: glyph({
      metadata: { tile_size: 32, tiles: [tile(0), tile(64)] },
      files: { 'a.png': makePng(32, 32, () => opaque(BLACK)) },
    }),
    code: D,
    message: 'holds 64 (indices 0 to 63)',
  },
  {
    rule: 'glyph: a duplicate index',
    asset: glyph({ metadata: { tile_size: 8, tiles: [tile(0), tile(0)] } }),
    code: D,
    message: 'both have index 0',
  },
  {
    rule: 'glyph: a gap in the indices',
    asset: glyph({ metadata: { tile_size: 8, tiles: [tile(0), tile(2)] } }),
    code: D,
    message: 'index 1 is not declared',
  },
  {
    rule: 'glyph: a source not listed in inputs.tiles',
    asset: glyph({ metadata: { tile_size: 8, tiles: [tile(0), tile(1, 'b.png')] } }),
    code: D,
    message: '.source is "b.png"',
  },
  {
    rule: 'glyph: a tile input no entry uses',
    asset: glyph({
      inputs: { tiles: ['a.png', 'b.png'], palettes: ['p.json'] },
      files: { 'b.png': makePng(8, 8, () => opaque(BLACK)) },
    }),
    code: D,
    message: 'inputs.tiles lists b.png, but no entry',
  },
  {
    rule: 'glyph: a palette position out of range',
    asset: glyph({ metadata: { tile_size: 8, tiles: [tile(0, 'a.png', 1)] } }),
    code: D,
    message: '.palette is 1',
  },
  {
    rule: 'glyph: no palettes',
    asset: glyph({ inputs: { tiles: ['a.png'], palettes: [] } }),
    code: D,
    message: 'inputs.palettes lists no palette files',
  },
  {
    rule: 'glyph: more than 64 palettes',
    asset: glyph({
      inputs: { tiles: ['a.png'], palettes: Array.from({ length: 65 }, (_, index) => `p${index}.json`) },
      files: Object.fromEntries(Array.from({ length: 65 }, (_, index) => [`p${index}.json`, paletteFile([BLACK])])),
    }),
    code: D,
    message: 'lists 65 palette files; at most 64',
  },
  // GLYPH/indexed_v1: palette files.
  {
    rule: 'glyph: a palette that is not UTF-8',
    asset: glyph({ files: { 'p.json': Uint8Array.of(0xff, 0xfe, 0x7b) } }),
    code: I,
    message: 'is not UTF-8 text',
  },
  {
    rule: 'glyph: a palette that is not JSON',
    asset: glyph({ files: { 'p.json': '{ colors: [' } }),
    code: I,
    message: 'is not valid JSON',
  },
  {
    rule: 'glyph: a palette that is not an object',
    asset: glyph({ files: { 'p.json': '["#000000"]' } }),
    code: I,
    message: 'must hold a JSON object',
  },
  {
    rule: 'glyph: a palette with another key',
    asset: glyph({ files: { 'p.json': '{"colors":["#000000"],"name":"x"}' } }),
    code: I,
    message: 'has key "name"',
  },
  {
    rule: 'glyph: palette colors that are not a list',
    asset: glyph({ files: { 'p.json': '{"colors":"#000000"}' } }),
    code: I,
    message: 'has colors "#000000"',
  },
  {
    rule: 'glyph: a palette without colours',
    asset: glyph({ files: { 'p.json': '{"colors":[]}' } }),
    code: I,
    message: 'lists no colours',
  },
  {
    rule: 'glyph: a palette of more than 16 colours',
    asset: glyph({ files: { 'p.json': paletteFile(Array.from({ length: 17 }, () => BLACK)) } }),
    code: I,
    message: 'lists 17 colours',
  },
  {
    rule: 'glyph: a malformed colour',
    asset: glyph({ files: { 'p.json': '{"colors":["#00000g"]}' } }),
    code: I,
    message: 'has malformed colours',
  },
  // GLYPH/indexed_v1: tile images.
  {
    rule: 'glyph: a tile of the wrong size',
    asset: glyph({ files: { 'a.png': makePng(16, 16, () => opaque(BLACK)) } }),
    code: I,
    message: 'is 16×16 pixels',
  },
  {
    rule: 'glyph: a tile that is not a PNG',
    asset: glyph({ files: { 'a.png': 'not a png' } }),
    code: I,
    message: 'is not a PNG image that decodes',
  },
  {
    rule: 'glyph: a pixel outside its palette',
    asset: glyph({ files: { 'a.png': makePng(8, 8, () => opaque('#ffffff')) } }),
    code: I,
    message: 'outside the palette',
  },
  {
    rule: 'glyph: a partly transparent pixel',
    asset: glyph({ files: { 'a.png': makePng(8, 8, () => [0, 0, 0, 128]) } }),
    code: I,
    message: 'partly transparent',
  },
  // SOUNDS/pcm16le_v1: the declaration.
  { rule: 'sound: no samples', asset: sound({}, []), code: D, message: 'inputs.samples lists no WAV files' },
  {
    rule: 'sound: an unknown metadata key',
    asset: sound({ 'a.wav': makeWav() }, ['a.wav'], { rate: 1 }),
    code: D,
    message: 'this format takes no metadata',
  },
  {
    rule: 'sound: two files with one sample name',
    asset: sound({ 'a.wav': makeWav(), 'a.WAV': makeWav() }),
    code: D,
    message: 'both give the sample name "a"',
  },
  // SOUNDS/pcm16le_v1: WAV files.
  {
    rule: 'sound: not a RIFF/WAVE file',
    asset: sound({ 'a.wav': 'ID3 not a wav' }),
    code: I,
    message: 'is not a WAV file',
  },
  {
    rule: 'sound: a RIFF size beyond the file (broken RIFF)',
    asset: sound({ 'a.wav': withRiffSize(makeWav(), 100) }),
    code: I,
    message: 'is truncated',
  },
  {
    rule: 'sound: stray bytes after the last chunk',
    asset: sound({ 'a.wav': withRiffSize(makeWav(), 4, 4) }),
    code: I,
    message: 'stray bytes',
  },
  {
    rule: 'sound: a chunk that runs past the RIFF data',
    asset: sound({
      'a.wav': withRiffSize(makeWav(), 12, 12).map((byte, index, all) => (index === all.length - 8 ? 0x10 : byte)),
    }),
    code: I,
    message: 'runs past the end',
  },
  {
    rule: 'sound: two fmt chunks',
    asset: sound({ 'a.wav': makeWav({ before: [{ id: 'fmt ', body: fmtBody() }] }) }),
    code: I,
    message: 'more than one "fmt " chunk',
  },
  {
    rule: 'sound: a fmt chunk under 16 bytes',
    asset: sound({ 'a.wav': makeWav({ omitFmt: true, before: [{ id: 'fmt ', body: new Uint8Array(8) }] }) }),
    code: I,
    message: 'needs at least 16',
  },
  {
    rule: 'sound: two data chunks',
    asset: sound({ 'a.wav': makeWav({ before: [{ id: 'data', body: pcmBytes([1]) }] }) }),
    code: I,
    message: 'more than one "data" chunk',
  },
  {
    rule: 'sound: no fmt chunk',
    asset: sound({ 'a.wav': makeWav({ omitFmt: true }) }),
    code: I,
    message: 'has no "fmt " chunk',
  },
  {
    rule: 'sound: no data chunk',
    asset: sound({ 'a.wav': makeWav({ omitData: true }) }),
    code: I,
    message: 'has no "data" chunk',
  },
  {
    rule: 'sound: WAVE_FORMAT_EXTENSIBLE',
    asset: sound({ 'a.wav': makeWav({ formatTag: 0xfffe }) }),
    code: I,
    message: 'WAVE_FORMAT_EXTENSIBLE',
  },
  {
    rule: 'sound: a format other than PCM',
    asset: sound({ 'a.wav': makeWav({ formatTag: 3 }) }),
    code: I,
    message: 'has format tag 3',
  },
  {
    rule: 'sound: samples other than 16-bit',
    asset: sound({ 'a.wav': makeWav({ bitsPerSample: 8 }) }),
    code: I,
    message: 'has 8 bits per sample',
  },
  {
    rule: 'sound: 0 channels',
    asset: sound({ 'a.wav': makeWav({ channels: 0 }) }),
    code: I,
    message: 'declares 0 channels',
  },
  {
    rule: 'sound: a sample rate of 0',
    asset: sound({ 'a.wav': makeWav({ sampleRate: 0 }) }),
    code: I,
    message: 'sample rate of 0 Hz',
  },
  {
    rule: 'sound: a wrong block align',
    asset: sound({ 'a.wav': makeWav({ blockAlign: 3 }) }),
    code: I,
    message: 'block align of 3',
  },
  {
    rule: 'sound: a wrong byte rate',
    asset: sound({ 'a.wav': makeWav({ byteRate: 1 }) }),
    code: I,
    message: 'byte rate of 1',
  },
  {
    rule: 'sound: an empty data chunk',
    asset: sound({ 'a.wav': makeWav({ data: new Uint8Array(0) }) }),
    code: I,
    message: 'empty "data" chunk',
  },
  {
    rule: 'sound: a partial frame',
    asset: sound({ 'a.wav': makeWav({ channels: 2, data: new Uint8Array(6) }) }),
    code: I,
    message: 'not a whole number of 4-byte frames',
  },
  {
    rule: 'sound: samples of different rates',
    asset: sound({ 'a.wav': makeWav(), 'b.wav': makeWav({ sampleRate: 44100 }) }),
    code: I,
    message: 'every sample of a bank shares one sample rate',
  },
];

/** Canonical text of a diagnostic, so sets compare whatever the key order. */
function key(diagnostic: Diagnostic): string {
  return JSON.stringify(diagnostic, Object.keys(diagnostic).sort());
}

function contextOf(project: Project): ReadContext {
  return { project: readViewOf(project), snapshot: project.snapshot(), signal: new AbortController().signal };
}

describe('format rules are part of the snapshot', () => {
  it('lists a distinct fixture for every rule', () => {
    expect(new Set(CASES.map((entry) => entry.rule)).size).toBe(CASES.length);
  });

  it.each(CASES)(
    '$rule: shown by doctor, packSummary, getAssetDetails and listAssets before a pack, which blocks on the same set',
    async (entry) => {
      const project = writeProject(tempDir(), { assets: [entry.asset] });
      const host = new PackerHost({ watcher: null, epoch: 'format-rules', now: () => new Date(0) });
      try {
        const opened = await host.open(pathToFileURL(project.root).href);
        // Until its checks have run the asset says so, and packing cannot be judged yet.
        const early = contextOf(opened);
        expect(getAssetDetails(early, { projectId: opened.id, asset: { root: ROOT } }).asset.validation).toBe(
          'pending',
        );
        const earlySummary = packSummary(early);
        expect([earlySummary.canPack, earlySummary.pending]).toEqual([false, [{ assetId: 1, root: ROOT }]]);

        await opened.validationSettled();
        const context = contextOf(opened);
        const found = await doctor(context, { projectId: opened.id, scope: 'registered' });
        const blocking = found.diagnostics.filter((diagnostic) => diagnostic.blocking);
        expect(found.pending).toEqual([]);
        expect(found.summary.blocking).toBe(blocking.length);
        const match = blocking.filter(
          (diagnostic) => diagnostic.code === entry.code && diagnostic.message.includes(entry.message),
        );
        expect(match, JSON.stringify(blocking, null, 2)).toHaveLength(1);
        expect(match[0]).toMatchObject({ assetId: 1, root: ROOT, severity: 'error', family: 'structural' });
        // Nothing but format rules blocks: each fixture breaks its rule and only format rules.
        for (const diagnostic of blocking)
          expect(['format-declaration-invalid', 'format-input-invalid']).toContain(diagnostic.code);

        const summary = packSummary(context);
        expect([summary.canPack, summary.pending, summary.buildSet[0]?.blocked]).toEqual([false, [], true]);
        expect(summary.blockers.map(key).sort()).toEqual(blocking.map(key).sort());
        const details = getAssetDetails(context, { projectId: opened.id, asset: { root: ROOT } });
        expect(details.asset.validation).toBe('done');
        expect(
          details.diagnostics
            .filter((diagnostic) => diagnostic.blocking)
            .map(key)
            .sort(),
        ).toEqual(blocking.map(key).sort());
        expect(details.inputs.every((input) => typeof input.sha256 === 'string')).toBe(true);
        const listed = listAssets(context, { projectId: opened.id });
        expect(listed.assets.map((asset) => [asset.worstSeverity, asset.validation])).toEqual([['error', 'done']]);

        const revision = opened.snapshot().revision;
        const outcome = await opened.lane.enqueue(packOperation(opened, 'pack-1', { projectId: opened.id }));
        if (outcome.status !== 'failed' || !('response' in outcome)) expect.fail(JSON.stringify(outcome));
        expect(outcome.response.outcome).toBe('blocked');
        expect(outcome.response.revision).toBe(revision);
        expect(outcome.response.blockers.map(key).sort()).toEqual(blocking.map(key).sort());
        expect(existsSync(join(project.root, 'build'))).toBe(false);

        // After the blocked pack the reads still say the same.
        const after = await doctor(contextOf(opened), { projectId: opened.id, scope: 'registered' });
        expect(after.diagnostics.map(key)).toEqual(found.diagnostics.map(key));
      } finally {
        host.dispose();
      }
    },
  );
});
