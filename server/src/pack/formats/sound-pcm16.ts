/**
 * `SOUNDS/pcm16le_v1`: WAV files (RIFF/WAVE, PCM, 16-bit) whose sample data is concatenated into one
 * bank, with each sample's byte range recorded in the metadata. The rules are in docs/formats.md.
 */
import type { Diagnostic } from '@prometeu/packer-protocol';
import { ASSET_TYPES } from '../../domain/asset-types.js';
import {
  checkMetadataKeys,
  checkRoles,
  declarationProblem,
  declaredInputs,
  inputProblem,
  type AssetFormat,
  type BlockedAsset,
  type FormatAsset,
  type MaterializedAsset,
  type RoleRule,
} from './format.js';

/** What a WAV file holds, once its header is checked. */
export interface WavSample {
  readonly sampleRate: number;
  readonly channels: number;
  /** The `data` chunk: interleaved signed 16-bit little-endian frames. */
  readonly data: Uint8Array;
}

function fourCc(bytes: Uint8Array, offset: number): string {
  return String.fromCharCode(bytes[offset]!, bytes[offset + 1]!, bytes[offset + 2]!, bytes[offset + 3]!);
}

/**
 * Parses a WAV file: RIFF/WAVE, exactly one `fmt ` chunk with format tag 1 (PCM) and 16 bits per sample,
 * exactly one non-empty `data` chunk whose size is a whole number of frames. Other chunks are skipped.
 * Returns what is wrong, as a phrase following the file name, when it does not conform.
 */
export function parseWav(bytes: Uint8Array): WavSample | string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 12 || fourCc(bytes, 0) !== 'RIFF' || fourCc(bytes, 8) !== 'WAVE')
    return 'is not a WAV file (it does not start with a RIFF/WAVE header).';
  const riffEnd = 8 + view.getUint32(4, true);
  if (riffEnd > bytes.length)
    return `is truncated: its RIFF header announces ${riffEnd} bytes, but the file has ${bytes.length}.`;
  let format: {
    tag: number;
    channels: number;
    sampleRate: number;
    byteRate: number;
    blockAlign: number;
    bits: number;
  } | null = null;
  let data: Uint8Array | null = null;
  let offset = 12;
  while (offset < riffEnd) {
    if (riffEnd - offset < 8) return `has ${riffEnd - offset} stray bytes at offset ${offset}, after its last chunk.`;
    const id = fourCc(bytes, offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (body + size > riffEnd)
      return `has a "${id}" chunk at offset ${offset} of ${size} bytes that runs past the end of the RIFF data.`;
    if (id === 'fmt ') {
      if (format !== null) return 'has more than one "fmt " chunk.';
      if (size < 16) return `has a "fmt " chunk of ${size} bytes; it needs at least 16.`;
      format = {
        tag: view.getUint16(body, true),
        channels: view.getUint16(body + 2, true),
        sampleRate: view.getUint32(body + 4, true),
        byteRate: view.getUint32(body + 8, true),
        blockAlign: view.getUint16(body + 12, true),
        bits: view.getUint16(body + 14, true),
      };
    } else if (id === 'data') {
      if (data !== null) return 'has more than one "data" chunk.';
      data = bytes.subarray(body, body + size);
    }
    offset = body + size + (size & 1);
  }
  if (format === null) return 'has no "fmt " chunk.';
  if (data === null) return 'has no "data" chunk.';
  if (format.tag === 0xfffe)
    return 'uses WAVE_FORMAT_EXTENSIBLE (format tag 0xFFFE); export it as plain PCM (format tag 1), 16-bit.';
  if (format.tag !== 1)
    return `has format tag ${format.tag}; only PCM (format tag 1) is accepted. Export it as 16-bit PCM.`;
  if (format.bits !== 16) return `has ${format.bits} bits per sample; only 16-bit PCM is accepted.`;
  if (format.channels === 0) return 'declares 0 channels.';
  if (format.sampleRate === 0) return 'declares a sample rate of 0 Hz.';
  if (format.blockAlign !== format.channels * 2)
    return `declares a block align of ${format.blockAlign} bytes; ${format.channels} channel(s) of 16-bit samples need ${format.channels * 2}.`;
  if (format.byteRate !== format.sampleRate * format.blockAlign)
    return `declares a byte rate of ${format.byteRate}; ${format.sampleRate} Hz × ${format.blockAlign} bytes per frame is ${format.sampleRate * format.blockAlign}.`;
  if (data.length === 0) return 'has an empty "data" chunk: the sample has no frames.';
  if (data.length % format.blockAlign !== 0)
    return `has a "data" chunk of ${data.length} bytes, which is not a whole number of ${format.blockAlign}-byte frames.`;
  return { sampleRate: format.sampleRate, channels: format.channels, data };
}

/** The name of a sample: its path relative to the root without a trailing `.wav` (any case). */
export function sampleName(path: string): string {
  return /\.wav$/i.test(path) ? path.slice(0, -4) : path;
}

interface SoundAnalysis {
  readonly problems: Diagnostic[];
  readonly samples: { readonly name: string; readonly wav: WavSample }[];
}

/** The one input role of a sound bank. */
const SOUND_ROLES: readonly RoleRule[] = [
  {
    role: 'samples',
    min: 1,
    max: 65535,
    describe: 'WAV files',
    content:
      'RIFF WAVE files of 16-bit PCM (format tag 1); each sample is named by its path without `.wav`, unique in the bank.',
  },
];

function analyse(asset: FormatAsset): SoundAnalysis {
  const problems: Diagnostic[] = [...checkRoles(asset, SOUND_ROLES), ...checkMetadataKeys(asset, [])];
  const samples: { name: string; path: string; wav: WavSample }[] = [];
  const names = new Map<string, string>();
  // A path listed twice is reported by checkRoles; it is read and named once here.
  for (const path of new Set(declaredInputs(asset, 'samples'))) {
    const bytes = asset.inputs.get(path);
    if (bytes === undefined) throw new Error(`SOUNDS/pcm16le_v1: input ${path} of ${asset.root} was not provided.`);
    const name = sampleName(path);
    const other = names.get(name);
    if (other !== undefined)
      problems.push(
        declarationProblem(
          asset,
          `inputs.samples lists ${other} and ${path}, which both give the sample name "${name}".`,
        ),
      );
    else names.set(name, path);
    const wav = parseWav(bytes);
    if (typeof wav === 'string') problems.push(inputProblem(asset, path, wav));
    else samples.push({ name, path, wav });
  }
  const first = samples[0];
  if (first !== undefined) {
    for (const sample of samples.slice(1)) {
      if (sample.wav.sampleRate !== first.wav.sampleRate || sample.wav.channels !== first.wav.channels) {
        problems.push(
          inputProblem(
            asset,
            sample.path,
            `is ${sample.wav.sampleRate} Hz with ${sample.wav.channels} channel(s), but ${first.path} is ${first.wav.sampleRate} Hz with ${first.wav.channels}; every sample of a bank shares one sample rate and channel count.`,
          ),
        );
      }
    }
  }
  return { problems, samples };
}

function validate(asset: FormatAsset): Diagnostic[] {
  return analyse(asset).problems;
}

function materialize(asset: FormatAsset): MaterializedAsset | BlockedAsset {
  const { problems, samples } = analyse(asset);
  if (problems.length > 0) return { blocked: problems };
  const size = samples.reduce((total, sample) => total + sample.wav.data.length, 0);
  const payload = new Uint8Array(size);
  const ranges: { name: string; offset: number; size: number }[] = [];
  let offset = 0;
  for (const sample of samples) {
    payload.set(sample.wav.data, offset);
    ranges.push({ name: sample.name, offset, size: sample.wav.data.length });
    offset += sample.wav.data.length;
  }
  return {
    payload,
    decodedSize: size,
    bankType: ASSET_TYPES['sound_bank']!.bankType,
    codec: 'NONE',
    metadata: { sample_rate: samples[0]!.wav.sampleRate, channels: samples[0]!.wav.channels, samples: ranges },
  };
}

/** The PCM16 sound bank format: type `sound_bank`, inputs `{ "samples": [WAV files] }`, no metadata. */
export const SOUND_PCM16LE_V1: AssetFormat = Object.freeze({
  format: 'SOUNDS/pcm16le_v1',
  type: 'sound_bank',
  version: 1,
  inputRoles: SOUND_ROLES,
  cached: true,
  validate,
  materialize,
});
