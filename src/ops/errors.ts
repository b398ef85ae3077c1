/**
 * The exit codes and the error that carries one live in core/errors.ts, below every layer that
 * throws them (pricing too); operations import them from here as before (docs/exit-codes.md
 * documents them).
 */
export { ExitCode, PermafrostError, type ExitCodeValue } from '../core/errors.ts';
