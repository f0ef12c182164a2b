/** `SOUNDS/pcm16le_v1`: WAV sample data concatenated into a bank, and every WAV rule that blocks it. */
import { describe, expect, it } from 'vitest';
import { useTempDirs, writeProject } from '../support/workspace-builder.js';
import { readSoundSamples } from '../support/pa-reader.js';
import { blockedLines, makeWav, packNow, pcmBytes, readSucceeded } from './pack-fixtures.js';

const tempDir = useTempDirs('pack-sound-');

function soundAsset(files: Record<string, Uint8Array | string>, samples = Object.keys(files)) {
  return { root: 'audio/sfx', type: 'sound_bank', inputs: { samples }, files };
}

describe('SOUNDS/pcm16le_v1 materialisation', () => {
  it('concatenates the PCM data of every sample in declared order and records each range', async () => {
    const jump = [0, 1200, 2400, 1200, 0, -1200, -2400, -1200];
    const coin = [32767, -32768, 5];
    const project = writeProject(tempDir(), {
      assets: [
        soundAsset(
          {
            'jump.wav': makeWav({ samples: jump }),
            // A LIST chunk before fmt and an odd-sized chunk (padded) must be skipped.
            'ui/coin.WAV': makeWav({ samples: coin, before: [{ id: 'LIST', body: new Uint8Array([1, 2, 3]) }] }),
          },
          ['jump.wav', './ui/coin.WAV'],
        ),
      ],
    });
    const { pa } = readSucceeded(await packNow(project.assetsDir));
    const entry = pa.entries[0]!;
    expect([entry.bankType, entry.codec, entry.size, entry.decodedSize]).toEqual(['SOUNDS', 'NONE', 22, 22]);
    expect(entry.metadata).toEqual({
      sample_rate: 22050,
      channels: 1,
      samples: [
        { name: 'jump', offset: 0, size: 16 },
        { name: 'ui/coin', offset: 16, size: 6 },
      ],
    });
    const samples = readSoundSamples(entry);
    expect(samples.map((sample) => sample.name)).toEqual(['jump', 'ui/coin']);
    expect(samples[0]!.bytes).toEqual(pcmBytes(jump));
    expect(samples[1]!.bytes).toEqual(pcmBytes(coin));
  });

  it('keeps stereo frames interleaved as stored', async () => {
    const frames = [100, -100, 200, -200, 300, -300];
    const project = writeProject(tempDir(), {
      assets: [soundAsset({ 'wind.wav': makeWav({ channels: 2, sampleRate: 44100, samples: frames }) })],
    });
    const { pa } = readSucceeded(await packNow(project.assetsDir));
    expect(pa.entries[0]!.metadata).toMatchObject({ sample_rate: 44100, channels: 2 });
    expect(readSoundSamples(pa.entries[0]!)[0]!.bytes).toEqual(pcmBytes(frames));
  });
});

const truncated = makeWav().subarray(0, 30);
const stray = (() => {
  const wav = makeWav();
  const longer = new Uint8Array(wav.length + 3);
  longer.set(wav);
  new DataView(longer.buffer).setUint32(4, wav.length + 3 - 8, true);
  return longer;
})();

const BLOCKING_CASES: [string, Uint8Array | string, string][] = [
  [
    'a file that is not RIFF/WAVE',
    'hello, not a wav',
    'format-input-invalid audio/sfx/bad.wav: sfx (SOUNDS/pcm16le_v1): audio/sfx/bad.wav is not a WAV file (it does not start with a RIFF/WAVE header).',
  ],
  [
    'a truncated file',
    truncated,
    `audio/sfx/bad.wav is truncated: its RIFF header announces ${makeWav().length} bytes, but the file has 30.`,
  ],
  ['stray bytes after the last chunk', stray, 'audio/sfx/bad.wav has 3 stray bytes at offset'],
  [
    'floating-point samples',
    makeWav({ formatTag: 3, bitsPerSample: 32 }),
    'audio/sfx/bad.wav has format tag 3; only PCM (format tag 1) is accepted.',
  ],
  [
    'WAVE_FORMAT_EXTENSIBLE',
    makeWav({ formatTag: 0xfffe }),
    'audio/sfx/bad.wav uses WAVE_FORMAT_EXTENSIBLE (format tag 0xFFFE); export it as plain PCM (format tag 1), 16-bit.',
  ],
  [
    '8-bit samples',
    makeWav({ bitsPerSample: 8, data: new Uint8Array([1, 2, 3, 4]) }),
    'audio/sfx/bad.wav has 8 bits per sample; only 16-bit PCM is accepted.',
  ],
  [
    'a wrong block align',
    makeWav({ blockAlign: 4 }),
    'audio/sfx/bad.wav declares a block align of 4 bytes; 1 channel(s) of 16-bit samples need 2.',
  ],
  [
    'a wrong byte rate',
    makeWav({ byteRate: 1000 }),
    'audio/sfx/bad.wav declares a byte rate of 1000; 22050 Hz × 2 bytes per frame is 44100.',
  ],
  ['zero channels', makeWav({ channels: 0, blockAlign: 0 }), 'audio/sfx/bad.wav declares 0 channels.'],
  ['no fmt chunk', makeWav({ omitFmt: true }), 'audio/sfx/bad.wav has no "fmt " chunk.'],
  ['no data chunk', makeWav({ omitData: true }), 'audio/sfx/bad.wav has no "data" chunk.'],
  [
    'an empty data chunk',
    makeWav({ data: new Uint8Array(0) }),
    'audio/sfx/bad.wav has an empty "data" chunk: the sample has no frames.',
  ],
  [
    'a data chunk that is not whole frames',
    makeWav({ channels: 2, data: new Uint8Array(6) }),
    'audio/sfx/bad.wav has a "data" chunk of 6 bytes, which is not a whole number of 4-byte frames.',
  ],
];

describe('SOUNDS/pcm16le_v1 blocking rules', () => {
  it.each(BLOCKING_CASES)('blocks on %s', async (_name, bad, expected) => {
    const project = writeProject(tempDir(), { assets: [soundAsset({ 'good.wav': makeWav(), 'bad.wav': bad })] });
    const lines = blockedLines(await packNow(project.assetsDir));
    expect(
      lines.some((line) => line.includes(expected)),
      `expected a line containing:\n  ${expected}\ngot:\n  ${lines.join('\n  ')}`,
    ).toBe(true);
  });

  it('blocks when samples of one bank differ in sample rate or channel count', async () => {
    const project = writeProject(tempDir(), {
      assets: [
        soundAsset({
          'a.wav': makeWav({ sampleRate: 22050 }),
          'b.wav': makeWav({ sampleRate: 44100 }),
          'c.wav': makeWav({ channels: 2, samples: [1, 2] }),
        }),
      ],
    });
    expect(blockedLines(await packNow(project.assetsDir))).toEqual([
      'format-input-invalid audio/sfx/b.wav: sfx (SOUNDS/pcm16le_v1): audio/sfx/b.wav is 44100 Hz with 1 channel(s), but a.wav is 22050 Hz with 1; every sample of a bank shares one sample rate and channel count.',
      'format-input-invalid audio/sfx/c.wav: sfx (SOUNDS/pcm16le_v1): audio/sfx/c.wav is 22050 Hz with 2 channel(s), but a.wav is 22050 Hz with 1; every sample of a bank shares one sample rate and channel count.',
    ]);
  });

  it('blocks on no samples, on two files with one sample name, on a path listed twice and on metadata', async () => {
    const project = writeProject(tempDir(), {
      assets: [
        { root: 'empty', type: 'sound_bank', inputs: { samples: [] }, files: {} },
        {
          root: 'twins',
          type: 'sound_bank',
          inputs: { samples: ['hit.wav', 'hit.WAV', 'hit.wav'] },
          files: { 'hit.wav': makeWav(), 'hit.WAV': makeWav() },
        },
        {
          root: 'meta',
          type: 'sound_bank',
          inputs: { samples: ['a.wav'] },
          output: { format: 'SOUNDS/pcm16le_v1', codec: 'NONE', metadata: { loop: true } },
          files: { 'a.wav': makeWav() },
        },
      ],
    });
    expect(blockedLines(await packNow(project.assetsDir))).toEqual([
      'format-declaration-invalid empty/asset.json: empty (SOUNDS/pcm16le_v1): inputs.samples lists no WAV files; at least 1 is required.',
      'format-declaration-invalid meta/asset.json: meta (SOUNDS/pcm16le_v1): output.metadata has key "loop", but this format takes no metadata.',
      'format-declaration-invalid twins/asset.json: twins (SOUNDS/pcm16le_v1): inputs.samples lists hit.wav and hit.WAV, which both give the sample name "hit".',
      'format-declaration-invalid twins/asset.json: twins (SOUNDS/pcm16le_v1): inputs.samples lists hit.wav more than once.',
    ]);
  });
});
