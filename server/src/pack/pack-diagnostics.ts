/** The diagnostic codes the pack adds for format-specific blockers, and their constructor. */
import type { Diagnostic, DiagnosticCode } from '@prometeu/packer-protocol';
import type { DiagnosticFields } from '../domain/diagnostics.js';

/**
 * Codes raised by format validation. They belong in the protocol's code table
 * (`protocol/src/diagnostic-codes.ts`); until they are listed there, {@link makePackDiagnostic} is the
 * one place that widens them to `DiagnosticCode`.
 */
export const PACK_DIAGNOSTIC_CODES = {
  'format-declaration-invalid': {
    family: 'structural',
    meaning: "The declaration's format-specific part (its input roles or `output.metadata`) breaks a rule of its `output.format`.",
  },
  'format-input-invalid': {
    family: 'structural',
    meaning: 'An input file cannot be used by its format: it does not decode, or its content breaks a rule of the format.',
  },
} as const;

/** A code from {@link PACK_DIAGNOSTIC_CODES}. */
export type PackDiagnosticCode = keyof typeof PACK_DIAGNOSTIC_CODES;

/** Makes a structural diagnostic with a pack code. */
export function makePackDiagnostic(code: PackDiagnosticCode, fields: DiagnosticFields): Diagnostic {
  return { code: code as string as DiagnosticCode, family: PACK_DIAGNOSTIC_CODES[code].family, ...fields };
}
