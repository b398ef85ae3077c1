// The daemon splits job options with it too, so it lives in the command-line layer.
export { splitShellWords } from '../command-line/shell-words.ts';
