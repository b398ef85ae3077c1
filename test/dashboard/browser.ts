/**
 * Debian's chromium driven by playwright-core (no browser download), headless. A missing chromium
 * fails the test with the command that installs it. Each page records every request it makes, so
 * a test can check that nothing leaves the daemon's origin, and writes screenshots as artifacts.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { PROJECT_ROOT } from '../support/duplicity.ts';
import type { AfterHook } from '../support/tmp.ts';

export const CHROMIUM = '/usr/bin/chromium';
/** Screenshots of the pages (gitignored); good ones are copied to docs/screenshots/ by hand. */
export const ARTIFACTS = join(PROJECT_ROOT, 'test-artifacts', 'dashboard');

export async function launchChromium(t: AfterHook): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`chromium is not installed at ${CHROMIUM}: run \`apt-get install chromium\` (or bash scripts/install-test-deps.sh)`);
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  t.after(() => browser.close());
  return browser;
}

export interface RecordedPage {
  readonly context: BrowserContext;
  readonly page: Page;
  /** every URL the page requested, in order */
  readonly requests: string[];
  /** uncaught errors, console errors, and files other than the API's answers that failed to load */
  readonly errors: string[];
}

/** A fresh context (own sessionStorage) at 1280x800, or the given size. */
export async function openPage(browser: Browser, viewport = { width: 1280, height: 800 }): Promise<RecordedPage> {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const requests: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  // an API answer of 401 or 404 is something the page handles (the token prompt, "no report yet");
  // chromium logs each as "Failed to load resource", so those are checked by status instead:
  // anything else that fails to load (the app's own files) is an error
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(`console: ${m.text()}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !new URL(r.url()).pathname.startsWith('/api/')) errors.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  return { context, page, requests, errors };
}

/** Writes test-artifacts/dashboard/NAME.png (the viewport: 1280x800 unless the page was opened smaller). */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, animations: 'disabled' });
  return file;
}
