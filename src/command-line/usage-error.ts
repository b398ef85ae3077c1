import { ExitCode, PermafrostError } from '../core/errors.ts';

/** A bad command line or option value: exit code 2, like duplicity's "Command line error". */
export class UsageError extends PermafrostError {
  constructor(message: string) {
    super(ExitCode.usage, message);
    this.name = 'UsageError';
  }
}
