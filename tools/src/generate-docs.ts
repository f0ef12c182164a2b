/**
 * Generates the protocol reference (docs/protocol.md) and the JSON Schemas of asset.json and index.json
 * from the protocol's zod declarations. `npm run generate` writes them; a test fails when they are stale.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AssetDeclarationFile,
  DIAGNOSTIC_CODES,
  FileSizeLimits,
  IoErrorCodes,
  PackerErrorCodes,
  PackerErrorData,
  RegistryFile,
  StandardErrorCodes,
  packerNotifications,
  packerRequests,
  type NotificationDeclaration,
  type RequestDeclaration,
} from '@prometeu/packer-protocol';
import { z } from 'zod';
import { PROTOCOL_PROSE } from './protocol-prose.js';

/** Repository-relative path to generated content. */
export type GeneratedFiles = Map<string, string>;

function schemaOf(
  schema: z.ZodType,
  io: 'input' | 'output',
  reused: 'ref' | 'inline' = 'ref',
): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any', reused }) as Record<string, unknown>;
  delete json['$schema'];
  return json;
}

/** Resolves a local `$ref` against `defs`, keeping the referring node's description. */
function resolverOf(schema: Record<string, unknown>): (node: Record<string, unknown>) => Record<string, unknown> {
  const defs = (schema['$defs'] as Record<string, Record<string, unknown>> | undefined) ?? {};
  const resolve = (node: Record<string, unknown>): Record<string, unknown> => {
    const ref = node['$ref'];
    if (typeof ref === 'string' && ref.startsWith('#/$defs/'))
      return resolve({
        ...defs[ref.slice('#/$defs/'.length)],
        ...(node['description'] ? { description: node['description'] } : {}),
      });
    return node;
  };
  return resolve;
}

/** The variants of a union node (`anyOf` or `oneOf`), or undefined. */
function variantsOf(node: Record<string, unknown>): Record<string, unknown>[] | undefined {
  const variants = (node['anyOf'] ?? node['oneOf']) as Record<string, unknown>[] | undefined;
  return Array.isArray(variants) ? variants : undefined;
}

/**
 * A markdown table of a schema's fields, nested objects (and objects in arrays) flattened with dotted
 * names up to three levels. `schema` is the root (for `$defs`); `node` the object to list.
 */
function fieldTable(schema: Record<string, unknown>, node: Record<string, unknown> = schema, prefix = ''): string {
  const resolve = resolverOf(schema);
  const rows: string[] = [];
  const walk = (current: Record<string, unknown>, path: string, depth: number): void => {
    const properties = current['properties'] as Record<string, Record<string, unknown>> | undefined;
    if (!properties) return;
    const required = new Set((current['required'] as string[] | undefined) ?? []);
    for (const [name, raw] of Object.entries(properties)) {
      const property = resolve(raw);
      const description = (typeof property['description'] === 'string' ? property['description'] : '')
        .replace(/\|/g, '\\|')
        .replace(/\n/g, ' ');
      rows.push(
        `| \`${path}${name}\` | ${describeType(property, resolve)} | ${required.has(name) ? 'yes' : 'no'} | ${description} |`,
      );
      if (depth >= 2) continue;
      if (property['type'] === 'object') walk(property, `${path}${name}.`, depth + 1);
      const items =
        property['type'] === 'array' && property['items']
          ? resolve(property['items'] as Record<string, unknown>)
          : undefined;
      if (items?.['type'] === 'object') walk(items, `${path}${name}[].`, depth + 1);
    }
  };
  walk(resolve(node), prefix, 0);
  if (rows.length === 0) return '';
  return ['| field | type | required | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

/** The field whose value is a constant in every variant (a discriminant such as `kind`), if any. */
function discriminantOf(
  variants: readonly Record<string, unknown>[],
  resolve: (node: Record<string, unknown>) => Record<string, unknown>,
): string | undefined {
  const first = resolve(variants[0] ?? {})['properties'] as Record<string, Record<string, unknown>> | undefined;
  if (!first) return undefined;
  return Object.keys(first).find((name) =>
    variants.every((variant) => {
      const properties = resolve(variant)['properties'] as Record<string, Record<string, unknown>> | undefined;
      return properties?.[name]?.['const'] !== undefined;
    }),
  );
}

function describeType(
  raw: Record<string, unknown>,
  resolve: (node: Record<string, unknown>) => Record<string, unknown> = (node) => node,
): string {
  const property = resolve(raw);
  if (property['enum'])
    return (property['enum'] as unknown[]).map((value) => `\`${JSON.stringify(value)}\``).join(' \\| ');
  if (property['const'] !== undefined) return `\`${JSON.stringify(property['const'])}\``;
  if (Array.isArray(property['type'])) return (property['type'] as string[]).join(' \\| ');
  if (property['type'] === 'array') {
    const items = property['items'] as Record<string, unknown> | undefined;
    return `array of ${items ? describeType(items, resolve) : 'any'}`;
  }
  if (typeof property['type'] === 'string') return property['type'];
  const variants = variantsOf(property);
  if (variants) {
    const discriminant = discriminantOf(variants, resolve);
    if (discriminant !== undefined)
      return `object, by \`${discriminant}\`: ${variants
        .map((variant) => {
          const properties = resolve(variant)['properties'] as Record<string, Record<string, unknown>>;
          return `\`${JSON.stringify(properties[discriminant]!['const'])}\``;
        })
        .join(', ')}`;
    const described = variants.map((variant) => {
      const resolved = resolve(variant);
      // An object variant is named by its fields, so `{ assetId } | { root }` reads as such.
      const properties = resolved['properties'] as Record<string, unknown> | undefined;
      return resolved['type'] === 'object' && properties !== undefined
        ? `object with ${Object.keys(properties)
            .map((name) => `\`${name}\``)
            .join(', ')}`
        : describeType(resolved, resolve);
    });
    return [...new Set(described)].join(' \\| ');
  }
  return 'any';
}

/**
 * The reference of a notification whose params are a union by a discriminant (`packer/event` by `kind`):
 * the fields every variant shares, then one table per variant of the fields of its own.
 */
function unionTables(schema: Record<string, unknown>): string {
  const resolve = resolverOf(schema);
  const variants = variantsOf(resolve(schema))?.map(resolve);
  if (!variants || variants.length === 0) return '';
  const discriminant = discriminantOf(variants, resolve);
  if (discriminant === undefined) return '';
  const propertiesOf = (variant: Record<string, unknown>): Record<string, Record<string, unknown>> =>
    (variant['properties'] as Record<string, Record<string, unknown>> | undefined) ?? {};
  const shared = Object.keys(propertiesOf(variants[0]!)).filter(
    (name) => name !== discriminant && variants.every((variant) => name in propertiesOf(variant)) && name !== 'body',
  );
  const envelope = {
    type: 'object',
    properties: Object.fromEntries(shared.map((name) => [name, propertiesOf(variants[0]!)[name]!])),
    required: ((variants[0]!['required'] as string[] | undefined) ?? []).filter((name) => shared.includes(name)),
  };
  const sections = [`Every \`${discriminant}\` shares these fields:`, '', fieldTable(schema, envelope), ''];
  for (const variant of variants) {
    const properties = propertiesOf(variant);
    const value = JSON.stringify(properties[discriminant]!['const']);
    const own = Object.keys(properties).filter((name) => name !== discriminant && !shared.includes(name));
    const description = typeof variant['description'] === 'string' ? `${variant['description']} ` : '';
    sections.push(`#### \`${discriminant}: ${value}\``, '');
    if (description) sections.push(description.trim(), '');
    const table = fieldTable(schema, {
      type: 'object',
      properties: Object.fromEntries(own.map((name) => [name, properties[name]!])),
      required: ((variant['required'] as string[] | undefined) ?? []).filter((name) => own.includes(name)),
    });
    sections.push(table === '' ? 'No fields of its own.' : table, '');
  }
  return sections.join('\n');
}

/** The file name of a method's schemas, e.g. `packer-listAssets`. */
function schemaFileBase(method: string): string {
  return method.replace('/', '-').replace(/^\$-/, '');
}

function requestSection(name: string, declaration: RequestDeclaration, files: GeneratedFiles): string {
  const params = schemaOf(declaration.params, 'input');
  const result = schemaOf(declaration.result, 'output');
  const base = schemaFileBase(declaration.method);
  files.set(`protocol/schemas/methods/${base}.params.schema.json`, `${JSON.stringify(params, null, 2)}\n`);
  files.set(`protocol/schemas/methods/${base}.result.schema.json`, `${JSON.stringify(result, null, 2)}\n`);
  return [
    `### \`${declaration.method}\``,
    '',
    `Lane: **${declaration.lane}**${declaration.answeredWhileFailed ? ' (answered while the project is `failed`)' : ''}${declaration.answeredWhileLoading ? ' (answered at once while the project is `loading`)' : ''}. Client method: \`${name}\`.`,
    '',
    declaration.summary,
    '',
    '**Params**',
    '',
    fieldTable(params),
    '',
    `Exact shape: [\`${base}.params.schema.json\`](../protocol/schemas/methods/${base}.params.schema.json).`,
    '',
    '**Result**',
    '',
    fieldTable(result),
    '',
    `Exact shape: [\`${base}.result.schema.json\`](../protocol/schemas/methods/${base}.result.schema.json).`,
    '',
  ].join('\n');
}

function notificationSection(declaration: NotificationDeclaration, files: GeneratedFiles): string {
  const params = schemaOf(declaration.params, declaration.direction === 'serverToClient' ? 'output' : 'input');
  const base = schemaFileBase(declaration.method);
  files.set(`protocol/schemas/methods/${base}.params.schema.json`, `${JSON.stringify(params, null, 2)}\n`);
  return [
    `### \`${declaration.method}\` (notification, ${declaration.direction === 'serverToClient' ? 'server to client' : 'client to server'})`,
    '',
    declaration.summary,
    '',
    fieldTable(params) || unionTables(params),
    '',
    `Exact shape: [\`${base}.params.schema.json\`](../protocol/schemas/methods/${base}.params.schema.json).`,
    '',
  ].join('\n');
}

/** A byte count as the largest binary unit that divides it (`64 MiB`, `4 KiB`). */
function formatBytes(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/** Renders every generated file; pure, so a test can compare it with what is committed. */
export function renderGeneratedFiles(): GeneratedFiles {
  const files: GeneratedFiles = new Map();
  const standard = Object.entries(StandardErrorCodes).map(
    ([name, code]) => `| ${code} | \`${name}\` | standard JSON-RPC / LSP |`,
  );
  const packer = Object.entries(PackerErrorCodes).map(([name, code]) => {
    const data = schemaOf(PackerErrorData[code], 'output');
    const fields = Object.keys((data['properties'] as Record<string, unknown>) ?? {})
      .map((field) => `\`${field}\``)
      .join(', ');
    return `| ${code} | \`${name}\` | \`data\`: ${fields} |`;
  });
  const ioCodes = Object.entries(IoErrorCodes).map(
    ([code, info]) => `| \`${code}\` | ${info.origin === 'packer' ? 'the packer' : 'the system'} | ${info.meaning} |`,
  );
  const sizeLimits = Object.values(FileSizeLimits).map(
    (limit) => `| ${limit.file} | ${formatBytes(limit.bytes)} (${limit.bytes} bytes) | ${limit.why} |`,
  );
  const codes = Object.entries(DIAGNOSTIC_CODES).map(
    ([code, info]) => `| \`${code}\` | ${info.family} | ${info.meaning} |`,
  );
  const document = [
    '<!-- Generated by `npm run generate` from protocol/src. Do not edit by hand: a test fails when this file is stale. -->',
    '',
    PROTOCOL_PROSE.trim(),
    '',
    '## Requests',
    '',
    ...Object.entries(packerRequests).map(([name, declaration]) =>
      requestSection(name, declaration as RequestDeclaration, files),
    ),
    '## Notifications',
    '',
    ...Object.values(packerNotifications).map((declaration) =>
      notificationSection(declaration as NotificationDeclaration, files),
    ),
    '## Error codes',
    '',
    '| code | name | notes |',
    '| --- | --- | --- |',
    ...standard,
    ...packer,
    '',
    '### I/O error codes',
    '',
    "The errno-like codes in `WriteFailed`'s `data.errno`, in a failed pack's error, in the read error of `registry-unreadable` and `unreadable-declaration`, and in crawl problems (`unreadable-entry`). Codes from the packer are its confined file system refusing a path (no system call failed); codes from the system are the operating system's errors, passed on. Another system code keeps the meaning the operating system gives it.",
    '',
    '| code | from | meaning |',
    '| --- | --- | --- |',
    ...ioCodes,
    '',
    '## File size limits',
    '',
    'The most bytes the packer reads from each kind of file. A file over its limit is refused by its size before any byte is read, with `EFBIG`; one that grows while it is read is cut off at the limit and refused the same way. Framing limits are in "Framing and limits", path and name limits in "Limits and write failures".',
    '',
    '| file | limit | why |',
    '| --- | --- | --- |',
    ...sizeLimits,
    '',
    '## Diagnostic codes',
    '',
    'Stable: a code never changes meaning. Structural codes block a pack when the asset is in the build set (registry-wide ones always); hygiene codes never block.',
    '',
    '| code | family | meaning |',
    '| --- | --- | --- |',
    ...codes,
    '',
  ].join('\n');
  files.set('docs/protocol.md', document);
  const declarationSchema = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://prometeu.dev/schemas/asset.schema.json',
    title: 'asset.json',
    // Inline: editors show a file schema's rules where they apply, without `$defs` to follow.
    ...schemaOf(AssetDeclarationFile, 'input', 'inline'),
  };
  const registrySchema = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://prometeu.dev/schemas/index.schema.json',
    title: 'index.json',
    ...schemaOf(RegistryFile, 'input', 'inline'),
  };
  files.set('protocol/schemas/asset.schema.json', `${JSON.stringify(declarationSchema, null, 2)}\n`);
  files.set('protocol/schemas/index.schema.json', `${JSON.stringify(registrySchema, null, 2)}\n`);
  return files;
}

/** The repository root, from this file's location (tools/src or tools/dist). */
export function repositoryRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = repositoryRoot();
  for (const [path, content] of renderGeneratedFiles()) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
    process.stdout.write(`wrote ${path}\n`);
  }
}
