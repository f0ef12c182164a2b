/** Generates large, realistic, deterministic Prometeu workspaces (assets/ plus its registry) for benchmarks and scale tests. */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createRandom, shuffle, type Random } from './prng.js';
import { isMainModule } from './main-module.js';

/**
 * Bumped whenever the generator's output changes for a given seed and size, so that caches keyed on
 * (size, seed, version) are rebuilt.
 */
export const GENERATOR_VERSION = 1;

/** What to generate. */
export interface GenerateOptions {
  /** How many asset roots (folders with an `asset.json`); a positive integer. */
  readonly roots: number;
  /** The PRNG seed; an integer in [0, 2^32). The same seed and options give byte-identical trees. */
  readonly seed: number;
  /** The share of roots that are registered in `index.json`, in [0, 1]; 0.9 by default. */
  readonly registeredShare?: number;
  /** The share of registered assets excluded from the build, in [0, 1]; 0.03 by default. */
  readonly excludedShare?: number;
}

/** What was generated. Folder and file counts cover `assets/` and everything below it. */
export interface GeneratedSummary {
  readonly generatorVersion: number;
  readonly seed: number;
  readonly roots: number;
  readonly registered: number;
  readonly unregistered: number;
  readonly excludedFromBuild: number;
  /** One past the highest `asset_id` (ids have gaps, as after forgotten assets). */
  readonly nextAssetId: number;
  /** Every folder, `assets/` and `assets/.prometeu/` included. */
  readonly folders: number;
  /** Every file: anchors, inputs, stray files and the registry. */
  readonly files: number;
  /** Input files of asset roots (declared or not). */
  readonly inputFiles: number;
  /** Files outside any asset root (junk, notes, unprocessed exports). */
  readonly strayFiles: number;
  /** Total bytes written. */
  readonly bytes: number;
}

/** A top-level category with the sub-categories and asset nouns that fit it. */
interface Topic {
  readonly name: string;
  readonly children: readonly string[];
  readonly nouns: readonly string[];
}

const TOPICS: readonly Topic[] = [
  {
    name: 'characters',
    children: ['enemies', 'heroes', 'npcs', 'bosses', 'pets'],
    nouns: ['goblin', 'knight', 'slime', 'archer', 'wizard', 'bat', 'golem', 'merchant', 'dragon', 'rogue'],
  },
  {
    name: 'environments',
    children: ['forest', 'desert', 'dungeon', 'city', 'caves', 'coast'],
    nouns: ['tree', 'rock', 'wall', 'floor', 'bridge', 'door', 'torch', 'water', 'grass', 'cliff'],
  },
  {
    name: 'props',
    children: ['furniture', 'containers', 'signs', 'traps'],
    nouns: ['chest', 'barrel', 'crate', 'table', 'lamp', 'sign', 'spikes', 'lever', 'pot', 'statue'],
  },
  {
    name: 'ui',
    children: ['menus', 'hud', 'icons', 'dialogs', 'cursors'],
    nouns: ['button', 'panel', 'frame', 'heart', 'coin', 'arrow', 'slot', 'badge', 'bar', 'tab'],
  },
  {
    name: 'effects',
    children: ['explosions', 'magic', 'weather', 'particles'],
    nouns: ['spark', 'smoke', 'flash', 'burst', 'rain', 'snow', 'glow', 'trail', 'ripple', 'dust'],
  },
  {
    name: 'audio',
    children: ['music', 'ambience', 'sfx', 'voices'],
    nouns: ['theme', 'loop', 'step', 'hit', 'jump', 'chime', 'wind', 'shout', 'click', 'drone'],
  },
  {
    name: 'items',
    children: ['weapons', 'armor', 'potions', 'keys', 'food'],
    nouns: ['sword', 'shield', 'bow', 'potion', 'key', 'apple', 'helmet', 'ring', 'scroll', 'gem'],
  },
  { name: 'fonts', children: ['pixel', 'title', 'dialog'], nouns: ['glyphs', 'digits', 'letters', 'symbols', 'runes'] },
];
const SETS = [
  'act1',
  'act2',
  'act3',
  'common',
  'variants',
  'legacy',
  'night',
  'day',
  'winter',
  'summer',
  'small',
  'large',
  'shared',
];
const VARIANTS = ['v1', 'v2', 'alt', 'final', 'draft', 'hd', 'retro'];
const QUALIFIERS = [
  'idle',
  'walk',
  'attack',
  'big',
  'small',
  'red',
  'blue',
  'old',
  'new',
  'dark',
  'light',
  'broken',
  'gold',
  'iron',
];
const DATA_FILES = ['data.bin', 'payload.dat', 'sheet.raw', 'table.bin', 'frames.bin'];
const EXTRA_FILES = ['notes.txt', 'preview.txt', 'source.txt', 'todo.md', 'credits.txt', 'palette.txt'];
const STRAY_FILES = [
  'README.txt',
  '.DS_Store',
  'Thumbs.db',
  'old-export.png',
  'notes.md',
  'backup.zip.part',
  'copy-of-sheet.raw',
];
const NOTES = [
  'check the palette',
  'redo the outline',
  'approved',
  'needs review',
  'from the old project',
  'temporary',
];

/** Average asset roots per leaf category folder; about 6% of folders are categories, as in the issue's 100k ≈ 106k folders. */
const ROOTS_PER_LEAF = 18;
/** The chance that a category folder holds a stray file. */
const STRAY_CHANCE = 0.08;
/** The chance that an id allocation is followed by a gap (an asset registered then forgotten). */
const ID_GAP_CHANCE = 0.02;

/** One asset root to be written. */
interface PlannedRoot {
  readonly root: string;
  readonly name: string;
  readonly uuid: string;
  readonly dataFile: string;
  readonly extraFiles: readonly string[];
  readonly serial: string;
  readonly registered: boolean;
  readonly included: boolean;
  assetId: number;
}

function checkShare(name: string, value: number | undefined, fallback: number): number {
  const share = value ?? fallback;
  if (typeof share !== 'number' || !Number.isFinite(share) || share < 0 || share > 1) {
    throw new RangeError(`generateWorkspace: options.${name} must be a number in [0, 1], got ${String(value)}.`);
  }
  return share;
}

function hex32(value: number): string {
  return value.toString(16).padStart(8, '0');
}

/** A lowercase UUID with the version-4 and RFC 4122 variant bits, drawn from `random`. */
export function randomUuid(random: Random): string {
  const digits = `${hex32(random.uint32())}${hex32(random.uint32())}${hex32(random.uint32())}${hex32(random.uint32())}`;
  const variant = '89ab'[random.uint32() & 3]!;
  return `${digits.slice(0, 8)}-${digits.slice(8, 12)}-4${digits.slice(13, 16)}-${variant}${digits.slice(17, 20)}-${digits.slice(20, 32)}`;
}

/** Returns a copy of a JSON value with object keys sorted recursively (the registry's canonical form). */
export function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (typeof value === 'object' && value !== null) {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) sorted[key] = sortKeysDeep((value as Record<string, unknown>)[key]);
    return sorted;
  }
  return value;
}

/** Plans the category folders: distinct leaf paths 2 to 4 levels deep, each with the topic it belongs to. */
function planLeaves(count: number, random: Random): { path: string; topic: Topic }[] {
  const leaves: { path: string; topic: Topic }[] = [];
  const used = new Set<string>();
  for (let index = 0; index < count; index++) {
    const topic = random.pick(TOPICS);
    let depth = random.integer(2, 4);
    const segments = [topic.name, random.pick(topic.children), random.pick(SETS), random.pick(VARIANTS)];
    // Distinct leaves: a taken path grows a level deeper, and at the deepest level gets a numbered sibling
    // ("final-2"), as people do by hand.
    while (depth < segments.length && used.has(segments.slice(0, depth).join('/'))) depth++;
    const base = segments.slice(0, depth).join('/');
    let path = base;
    for (let suffix = 2; used.has(path); suffix++) path = `${base}-${suffix}`;
    used.add(path);
    leaves.push({ path, topic });
  }
  return leaves;
}

/**
 * Writes a workspace into `projectDir` (created if needed): `assets/` with nested category folders, asset
 * roots with an `asset.json` and one to three tiny input files each, about `registeredShare` of them
 * registered in a canonical `assets/.prometeu/index.json`, and stray files here and there. Every declaration
 * is valid and every declared input exists. Deterministic: the same options give byte-identical trees.
 * Refuses to write into a project that already has an `assets/` folder.
 */
export function generateWorkspace(projectDir: string, options: GenerateOptions): GeneratedSummary {
  const { roots, seed } = options;
  if (!Number.isSafeInteger(roots) || roots < 1)
    throw new RangeError(`generateWorkspace: options.roots must be a positive integer, got ${String(roots)}.`);
  if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new RangeError(`generateWorkspace: options.seed must be an integer in [0, 2^32), got ${String(seed)}.`);
  const registeredShare = checkShare('registeredShare', options.registeredShare, 0.9);
  const excludedShare = checkShare('excludedShare', options.excludedShare, 0.03);
  const assetsDir = join(projectDir, 'assets');
  if (existsSync(assetsDir))
    throw new Error(`generateWorkspace: ${assetsDir} already exists; generate into a project folder without assets/.`);

  const random = createRandom(seed);
  const leaves = planLeaves(Math.max(1, Math.round(roots / ROOTS_PER_LEAF)), random);
  const serialWidth = String(roots).length;
  const planned: PlannedRoot[] = [];
  for (let index = 0; index < roots; index++) {
    const leaf = random.pick(leaves);
    const serial = String(index + 1).padStart(serialWidth, '0');
    const noun = random.pick(leaf.topic.nouns);
    const qualifier = random.pick(QUALIFIERS);
    const folder = `${noun}-${qualifier}-${serial}`;
    const inputCount = random.integer(1, 3);
    const extras = shuffle([...EXTRA_FILES], random)
      .slice(0, inputCount - 1)
      .sort();
    const registered = random.next() < registeredShare;
    planned.push({
      root: `${leaf.path}/${folder}`,
      name: `${noun}_${qualifier}_${index + 1}`,
      uuid: randomUuid(random),
      dataFile: random.pick(DATA_FILES),
      extraFiles: extras,
      serial,
      registered,
      included: registered && random.next() >= excludedShare,
      assetId: 0,
    });
  }

  // Ids follow registration order, which is not path order, with the gaps forgotten assets leave.
  const registrationOrder = shuffle(
    planned.filter((root) => root.registered),
    random,
  );
  let nextId = 1;
  let maxId = 0;
  for (const root of registrationOrder) {
    root.assetId = nextId;
    maxId = nextId;
    nextId += 1 + (random.next() < ID_GAP_CHANCE ? random.integer(1, 3) : 0);
  }

  let folders = 0;
  let files = 0;
  let inputFiles = 0;
  let strayFiles = 0;
  let bytes = 0;
  const created = new Set<string>();
  const categoryFolders: string[] = [];
  function makeFolder(relative: string): void {
    mkdirSync(relative === '' ? assetsDir : join(assetsDir, relative));
    created.add(relative);
    folders++;
  }
  function ensureCategory(relative: string): void {
    if (created.has(relative)) return;
    const slash = relative.lastIndexOf('/');
    if (slash > 0) ensureCategory(relative.slice(0, slash));
    makeFolder(relative);
    categoryFolders.push(relative);
  }
  function writeFile(relative: string, text: string): void {
    writeFileSync(join(assetsDir, relative), text);
    files++;
    bytes += Buffer.byteLength(text);
  }

  mkdirSync(projectDir, { recursive: true });
  makeFolder('');
  makeFolder('.prometeu');
  for (const root of planned) {
    ensureCategory(root.root.slice(0, root.root.lastIndexOf('/')));
    makeFolder(root.root);
    const declaration = {
      schema_version: 1,
      asset_uuid: root.uuid,
      name: root.name,
      type: 'blob',
      inputs: { data: [root.dataFile] },
      output: { format: 'BLOB/raw_v1', codec: 'NONE' },
      preload: { enabled: false },
    };
    writeFile(`${root.root}/asset.json`, `${JSON.stringify(declaration, null, 2)}\n`);
    writeFile(`${root.root}/${root.dataFile}`, `PMTU blob ${root.serial} ${hex32(random.uint32())}\n`);
    inputFiles++;
    for (const extra of root.extraFiles) {
      writeFile(`${root.root}/${extra}`, `${root.name}: ${random.pick(NOTES)}\n`);
      inputFiles++;
    }
  }

  // Junk where people leave it: category folders, the top of assets/, and a folder of unprocessed exports.
  for (const folder of categoryFolders) {
    if (random.next() >= STRAY_CHANCE) continue;
    writeFile(`${folder}/${random.pick(STRAY_FILES)}`, `stray file in ${folder}\n`);
    strayFiles++;
  }
  writeFile('README.md', '# Game assets\n\nEdit freely; the packer keeps the registry.\n');
  strayFiles++;
  makeFolder('_incoming');
  const incoming = Math.max(1, Math.floor(roots / 1000));
  for (let index = 1; index <= incoming; index++) {
    writeFile(`_incoming/export-${String(index).padStart(4, '0')}.png`, `not really a png ${hex32(random.uint32())}\n`);
    strayFiles++;
  }

  const entries = registrationOrder
    .map((root) => ({
      asset_id: root.assetId,
      asset_uuid: root.uuid,
      root: root.root,
      included_in_build: root.included,
    }))
    .sort((a, b) => a.asset_id - b.asset_id);
  const registry = { schema_version: 1, next_asset_id: maxId + 1, assets: entries };
  writeFile('.prometeu/index.json', `${JSON.stringify(sortKeysDeep(registry), null, 2)}\n`);

  return {
    generatorVersion: GENERATOR_VERSION,
    seed,
    roots,
    registered: entries.length,
    unregistered: roots - entries.length,
    excludedFromBuild: entries.filter((entry) => !entry.included_in_build).length,
    nextAssetId: maxId + 1,
    folders,
    files,
    inputFiles,
    strayFiles,
    bytes,
  };
}

/** Parses a count such as `10000`, `10k` or `1m`; throws a RangeError naming `what` otherwise. */
export function parseCount(text: string, what: string): number {
  const match = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(text.trim());
  const value = match
    ? Number(match[1]) * (match[2]?.toLowerCase() === 'k' ? 1_000 : match[2]?.toLowerCase() === 'm' ? 1_000_000 : 1)
    : NaN;
  if (!Number.isSafeInteger(value) || value < 1)
    throw new RangeError(`${what} must be a positive integer such as 10000 or 10k, got ${JSON.stringify(text)}.`);
  return value;
}

const USAGE = `Usage: node tools/dist/generate-workspace.js --roots N --seed N --out DIR [--registered-share F] [--force]

Writes DIR/assets/ with N asset roots (N may be written 10k or 1m), deterministic by seed.
  --force   delete DIR/assets/ first if it exists
Prints a JSON summary on stdout.
`;

function runCommandLine(argv: readonly string[]): void {
  const values = new Map<string, string>();
  let force = false;
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index]!;
    if (argument === '--help') {
      process.stdout.write(USAGE);
      return;
    }
    if (argument === '--force') {
      force = true;
      continue;
    }
    const value = argv[index + 1];
    if (!['--roots', '--seed', '--out', '--registered-share'].includes(argument) || value === undefined) {
      process.stderr.write(
        `generate-workspace: ${value === undefined && argument.startsWith('--') ? `${argument} needs a value` : `unknown argument ${argument}`}\n\n${USAGE}`,
      );
      process.exitCode = 2;
      return;
    }
    values.set(argument, value);
    index++;
  }
  const out = values.get('--out');
  if (out === undefined || !values.has('--roots')) {
    process.stderr.write(`generate-workspace: --roots and --out are required\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  const projectDir = resolve(out);
  if (force) rmSync(join(projectDir, 'assets'), { recursive: true, force: true });
  const share = values.get('--registered-share');
  const summary = generateWorkspace(projectDir, {
    roots: parseCount(values.get('--roots')!, '--roots'),
    seed: Number(values.get('--seed') ?? '1'),
    ...(share !== undefined ? { registeredShare: Number(share) } : {}),
  });
  process.stdout.write(`${JSON.stringify({ projectDir, ...summary }, null, 2)}\n`);
}

if (isMainModule(import.meta.url)) {
  try {
    runCommandLine(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`generate-workspace: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
