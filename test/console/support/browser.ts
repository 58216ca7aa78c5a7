import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** Gitignored; CI keeps it as an artifact. */
export const SCREENSHOT_DIR = join(REPO_ROOT, 'test-artifacts', 'console');

/** Debian's Chromium, headless, in a fresh profile directory removed on close. */
export interface Browser {
  readonly context: BrowserContext;
  /** A new tab; its sessionStorage (and so its console session) is its own. Fails the test on script errors or CSP violations. */
  newPage(): Promise<Page>;
  /** Script errors and CSP violations seen in any tab. */
  readonly problems: string[];
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'flinkplane-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const problems: string[] = [];
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return {
    context,
    problems,
    async newPage() {
      const page = await context.newPage();
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('console', (message) => {
        if (/Content.Security.Policy/i.test(message.text())) problems.push(`CSP: ${message.text()}`);
      });
      return page;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export function screenshotPath(name: string): string {
  return join(SCREENSHOT_DIR, `${name}.png`);
}
