import { run } from './run.ts';

// A reader that goes away (`permafrost list-current-files | head`) must not end the run with a
// stack trace, nor stop a backup half way: what is printed after that is dropped.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
  });
}

// The daemon has its own few options; duplicity's grammar (run) does not know it.
process.exitCode =
  process.argv[2] === 'daemon'
    ? await (await import('./commands/daemon-command.ts')).runDaemonCommand(process.argv.slice(3))
    : await run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
