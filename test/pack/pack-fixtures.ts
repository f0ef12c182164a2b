/**
 * Helpers for the pack tests: PNG and WAV inputs made on the spot, a snapshot of a written project, and
 * a pack whose `assets.pa` is always checked by the independent reader.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { expect } from 'vitest';
import { crawlAssets } from '../../server/src/domain/crawl.js';
import { parseRegistry, REGISTRY_PATH } from '../../server/src/domain/registry.js';
import { buildSnapshot, type Snapshot } from '../../server/src/domain/snapshot.js';
import { packSnapshot, type PackOptions, type PackOutcome, type PackSucceeded } from '../../server/src/pack/pack.js';
import { resolveArtifacts } from '../../server/src/pack/assets-pa.js';
import { validateNow } from '../../server/src/validation/project-validation.js';
import { checkMirrors, readAssetsPa, type PaFile } from '../support/pa-reader.js';

/** An RGBA pixel. */
export type Rgba = readonly [number, number, number, number];

/** Encodes a `width × height` RGBA PNG whose pixel (x, y) is `pixel(x, y)`. */
export function makePng(width: number, height: number, pixel: (x: number, y: number) => Rgba): Uint8Array {
  const image = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) image.data.set(pixel(x, y), (y * width + x) * 4);
  }
  return new Uint8Array(PNG.sync.write(image));
}

/** Parses "#rrggbb" into an opaque pixel. */
export function opaque(color: string): Rgba {
  const value = Number.parseInt(color.slice(1), 16);
  return [value >> 16, (value >> 8) & 0xff, value & 0xff, 255];
}

/** A palette file's text. */
export function paletteFile(colors: readonly string[]): string {
  return `${JSON.stringify({ colors })}\n`;
}

/** What {@link makeWav} writes; every field can be bent to make a malformed file. */
export interface WavSpec {
  readonly sampleRate?: number;
  readonly channels?: number;
  /** Interleaved 16-bit samples. */
  readonly samples?: readonly number[];
  readonly formatTag?: number;
  readonly bitsPerSample?: number;
  readonly blockAlign?: number;
  readonly byteRate?: number;
  /** Replaces the `data` chunk body. */
  readonly data?: Uint8Array;
  /** Chunks written before `fmt ` (for example a `LIST` chunk). */
  readonly before?: readonly { id: string; body: Uint8Array }[];
  readonly omitFmt?: boolean;
  readonly omitData?: boolean;
}

function chunk(id: string, body: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(8 + body.length + (body.length & 1));
  bytes.set(new TextEncoder().encode(id), 0);
  new DataView(bytes.buffer).setUint32(4, body.length, true);
  bytes.set(body, 8);
  return bytes;
}

/** The PCM16LE bytes of interleaved samples. */
export function pcmBytes(samples: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(samples.length * 2);
  const view = new DataView(bytes.buffer);
  samples.forEach((sample, index) => view.setInt16(index * 2, sample, true));
  return bytes;
}

/** Writes a WAV file byte by byte: RIFF header, optional chunks, `fmt `, `data`. */
export function makeWav(spec: WavSpec = {}): Uint8Array {
  const channels = spec.channels ?? 1;
  const sampleRate = spec.sampleRate ?? 22050;
  const bits = spec.bitsPerSample ?? 16;
  const blockAlign = spec.blockAlign ?? channels * (bits / 8);
  const fmt = new Uint8Array(16);
  const view = new DataView(fmt.buffer);
  view.setUint16(0, spec.formatTag ?? 1, true);
  view.setUint16(2, channels, true);
  view.setUint32(4, sampleRate, true);
  view.setUint32(8, spec.byteRate ?? sampleRate * blockAlign, true);
  view.setUint16(12, blockAlign, true);
  view.setUint16(14, bits, true);
  const parts = [...(spec.before ?? []).map((extra) => chunk(extra.id, extra.body))];
  if (!spec.omitFmt) parts.push(chunk('fmt ', fmt));
  if (!spec.omitData) parts.push(chunk('data', spec.data ?? pcmBytes(spec.samples ?? [0, 1000, -1000, 32767, -32768])));
  const bodyLength = 4 + parts.reduce((total, part) => total + part.length, 0);
  const file = new Uint8Array(8 + bodyLength);
  file.set(new TextEncoder().encode('RIFF'), 0);
  new DataView(file.buffer).setUint32(4, bodyLength, true);
  file.set(new TextEncoder().encode('WAVE'), 8);
  let offset = 12;
  for (const part of parts) {
    file.set(part, offset);
    offset += part.length;
  }
  return file;
}

/**
 * A validated snapshot of the project whose `assets/` is `assetsDir`, built from the domain functions alone
 * (format checks run inline, as the validation worker would run them).
 */
export function snapshotOf(assetsDir: string, revision = 1): Snapshot {
  let text: string | null;
  try {
    text = readFileSync(join(assetsDir, REGISTRY_PATH), 'utf8');
  } catch {
    text = null;
  }
  return validateNow(buildSnapshot(revision, crawlAssets(assetsDir), parseRegistry(text)), assetsDir);
}

/** Packs the project now (snapshot taken just before), without a cache unless `options` names one. */
export async function packNow(assetsDir: string, options: PackOptions = { cacheDir: null }): Promise<PackOutcome> {
  return packSnapshot(snapshotOf(assetsDir), assetsDir, options);
}

/** A successful pack with its artifacts as the bytes and text they would be written as. */
export type ResolvedSucceeded = Omit<PackSucceeded, 'artifacts'> & {
  readonly artifacts: ReturnType<typeof resolveArtifacts>;
};

/**
 * Asserts success, resolves the artifacts (joins and hashes the streamed `assets.pa`, produces the metadata
 * from that hash), runs the independent reader on `assets.pa` and the mirror files, and returns both.
 */
export function readSucceeded(outcome: PackOutcome): { outcome: ResolvedSucceeded; pa: PaFile } {
  if (outcome.status !== 'succeeded')
    expect.fail(`expected the pack to succeed, got ${JSON.stringify(outcome, null, 2)}`);
  const resolved = { ...outcome, artifacts: resolveArtifacts(outcome.artifacts) };
  const pa = readAssetsPa(resolved.artifacts['assets.pa']);
  checkMirrors(pa, resolved.artifacts['asset_table.json'], resolved.artifacts['preload.json']);
  return { outcome: resolved, pa };
}

/** Asserts the pack was blocked and returns `code path: message` lines. */
export function blockedLines(outcome: PackOutcome): string[] {
  if (outcome.status !== 'blocked') expect.fail(`expected the pack to be blocked, got ${outcome.status}`);
  for (const diagnostic of outcome.diagnostics) expect(diagnostic.blocking).toBe(true);
  return outcome.diagnostics.map((diagnostic) => `${diagnostic.code} ${diagnostic.path ?? ''}: ${diagnostic.message}`);
}

/** Hex of bytes, two digits each, space separated. */
export function hex(bytes: Uint8Array): string {
  return [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join(' ');
}
