/** The most bytes the packer reads from each kind of file in a project, so no file can exhaust its memory. */

const KIB = 1024;
const MIB = 1024 * KIB;

/**
 * Size limits of what the packer reads, in bytes. A file over its limit is refused by its size (from
 * `fstat`, before any byte is read) with the error code `EFBIG`; a file that grows while it is read is cut
 * off at the limit and refused the same way.
 */
export const SIZE_LIMITS = {
  /** `assets/.prometeu/index.json`: about 150 bytes per asset, so 64 MiB holds over 400k assets. */
  registry: 64 * MIB,
  /** `assets/.prometeu/journal.json`: the registry before and after (escaped as JSON strings) and the actions. */
  journal: 256 * MIB,
  /** `assets/.prometeu/writer.lock`: a pid, a host name and a token. */
  writerLock: 4 * KIB,
  /** `assets/.prometeu/fingerprint.json`: about 60 bytes per file of the workspace. */
  fingerprints: 128 * MIB,
  /** `assets/.prometeu/fingerprint.log`: the commits since the fingerprints were last saved. */
  fingerprintLog: 64 * MIB,
  /** `assets/.prometeu/quarantine/<uuid>/manifest.json`: a handful of fields. */
  quarantineManifest: 64 * KIB,
  /** An `asset.json`: real declarations are a few KiB; a glyph bank naming a thousand tiles is about 100 KiB. */
  declaration: 1 * MIB,
  /** One input file of an asset, read whole by a pack. */
  input: 256 * MIB,
  /** `build/asset_table.json` or `build/asset_table_metadata.json`, read for hovers: a few hundred bytes per asset. */
  buildTable: 64 * MIB,
  /** One entry of the incremental pack cache (a payload and its facts); a larger one is rebuilt. */
  cacheEntry: 512 * MIB,
} as const;
