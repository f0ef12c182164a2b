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

function fieldTable(schema: Record<string, unknown>): string {
  const defs = (schema['$defs'] as Record<string, Record<string, unknown>> | undefined) ?? {};
  const resolve = (node: Record<string, unknown>): Record<string, unknown> => {
    const ref = node['$ref'];
    if (typeof ref === 'string' && ref.startsWith('#/$defs/'))
      return {
        ...defs[ref.slice('#/$defs/'.length)],
        ...(node['description'] ? { description: node['description'] } : {}),
      };
    return node;
  };
  const rows: string[] = [];
  const walk = (node: Record<string, unknown>, prefix: string, depth: number): void => {
    const properties = node['properties'] as Record<string, Record<string, unknown>> | undefined;
    if (!properties) return;
    const required = new Set((node['required'] as string[] | undefined) ?? []);
    for (const [name, raw] of Object.entries(properties)) {
      const property = resolve(raw);
      const description = (typeof property['description'] === 'string' ? property['description'] : '')
        .replace(/\|/g, '\\|')
        .replace(/\n/g, ' ');
      rows.push(
        `| \`${prefix}${name}\` | ${describeType(property)} | ${required.has(name) ? 'yes' : 'no'} | ${description} |`,
      );
      if (depth >= 2) continue;
      if (property['type'] === 'object') walk(property, `${prefix}${name}.`, depth + 1);
      const items =
        property['type'] === 'array' && property['items']
          ? resolve(property['items'] as Record<string, unknown>)
          : undefined;
      if (items?.['type'] === 'object') walk(items, `${prefix}${name}[].`, depth + 1);
    }
  };
  walk(resolve(schema), '', 0);
  if (rows.length === 0) return '';
  return ['| field | type | required | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

function describeType(property: Record<string, unknown>): string {
  if (property['enum'])
    return (property['enum'] as unknown[]).map((value) => `\`${JSON.stringify(value)}\``).join(' \\| ');
  if (property['const'] !== undefined) return `\`${JSON.stringify(property['const'])}\``;
  if (Array.isArray(property['type'])) return (property['type'] as string[]).join(' \\| ');
  if (property['type'] === 'array') {
    const items = property['items'] as Record<string, unknown> | undefined;
    return `array of ${items ? describeType(items) : 'any'}`;
  }
  if (typeof property['type'] === 'string') return property['type'];
  if (Array.isArray(property['type'])) return (property['type'] as string[]).join(' \\| ');
  if (property['anyOf']) return (property['anyOf'] as Record<string, unknown>[]).map(describeType).join(' \\| ');
  return 'object';
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
    `Lane: **${declaration.lane}**${declaration.answeredWhileFailed ? ' (answered while the project is `failed`)' : ''}. Client method: \`${name}\`.`,
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
    fieldTable(params),
    '',
    `Exact shape: [\`${base}.params.schema.json\`](../protocol/schemas/methods/${base}.params.schema.json).`,
    '',
  ].join('\n');
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
