/**
 * A node:test reporter for the image test: one `PASS name (time)` or `FAIL name: reason` line per
 * check, so that scripts/test-image.sh's output says which check failed and why.
 */
import type { TestEvent } from 'node:test/reporters';

export default async function* passFail(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  let failed = 0;
  for await (const event of source) {
    if (event.type === 'test:pass' && event.data.details.type !== 'suite') {
      yield `PASS ${event.data.name} (${(event.data.details.duration_ms / 1000).toFixed(1)} s)\n`;
    } else if (event.type === 'test:fail' && event.data.details.type !== 'suite') {
      failed++;
      const err = event.data.details.error as Error & { cause?: Error };
      const reason = (err.cause ?? err).message ?? String(err);
      yield `FAIL ${event.data.name}: ${reason}\n`;
    } else if (event.type === 'test:diagnostic' && /^(tests|pass|fail|duration_ms) /.test(event.data.message)) {
      yield `  ${event.data.message}\n`;
    } else if (event.type === 'test:stderr' || event.type === 'test:stdout') {
      yield event.data.message;
    }
  }
  if (failed > 0) yield `${failed} check(s) failed\n`;
}
