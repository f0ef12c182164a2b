/** The constructor of the diagnostics format validation raises during a pack. */
import { makeDiagnostic, type DiagnosticFields } from '../domain/diagnostics.js';
import type { Diagnostic } from '@prometeu/packer-protocol';

/** The codes format validation raises (listed, with their meaning, in the protocol's code table). */
export type PackDiagnosticCode = 'format-declaration-invalid' | 'format-input-invalid';

/** Makes a structural diagnostic with a pack code. */
export function makePackDiagnostic(code: PackDiagnosticCode, fields: DiagnosticFields): Diagnostic {
  return makeDiagnostic(code, fields);
}
