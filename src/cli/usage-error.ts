// The command-line layer throws it too, so it lives there.
export { UsageError } from '../command-line/usage-error.ts';
