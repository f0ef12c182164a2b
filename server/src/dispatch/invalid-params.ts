/**
 * The `-32602` error of params that do not match their declaration's schema, with the schema issues in
 * `data` (at most 50).
 */
import { StandardErrorCodes } from '@prometeu/packer-protocol';
import type { z } from 'zod';
import { ProtocolError } from '../errors.js';

/** The invalid-params error for `method`, naming the first issue in its message. */
export function invalidParams(method: string, error: z.ZodError): ProtocolError {
  const issues = error.issues.slice(0, 50).map((issue) => ({
    code: issue.code,
    path: issue.path.map((key) => (typeof key === 'number' ? key : String(key))),
    message: issue.message,
  }));
  const first = issues[0];
  const where = first && first.path.length > 0 ? `${first.path.join('.')}: ` : '';
  return new ProtocolError(
    StandardErrorCodes.InvalidParams,
    `Invalid params for ${method}: ${where}${first?.message ?? 'invalid'}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}.`,
    { method, issues },
  );
}
