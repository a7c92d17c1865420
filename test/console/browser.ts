/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// Page functions (page.evaluate, waitForFunction) run in the browser: they are typed against the DOM.
/**
 * Browser resources for the console tests: Debian's Chromium driven by playwright-core (no browser download), with
 * what a page did wrong collected (dialogs, console errors, uncaught exceptions, CSP violations), and axe-core.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { repoRoot } from '../support/collector.js';

/** The Chromium executable on PATH, or undefined (the tests then skip, saying why). */
export function findChromium(): string | undefined {
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      return execFileSync('which', [name], { encoding: 'utf8' }).trim() || undefined;
    } catch {
      // not this one
    }
  }
  return undefined;
}

/** One headless Chromium with a fresh profile (one browser context), closed and removed on dispose. */
export async function launchChromium(executablePath: string): Promise<{ context: BrowserContext } & AsyncDisposable> {
  const profile = mkdtempSync(join(tmpdir(), 'outpost-chromium-'));
  // The flags keep Chromium off the network it cannot reach here (sync, updates, background lookups).
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    // The test collector's certificate is self-signed (the CLI pins it; the browser is told to accept it).
    ignoreHTTPSErrors: true,
    viewport: { width: 1280, height: 860 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async [Symbol.asyncDispose]() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** What a page did that a safe console never does. */
export interface PageTrouble {
  dialogs: string[];
  consoleErrors: string[];
  pageErrors: string[];
  /** Answers of 400 and above, as `status path`. */
  failedRequests: string[];
}

/** Watches a page for dialogs (alert() run by injected markup), console errors and uncaught exceptions. */
export function watch(page: Page): PageTrouble {
  const t: PageTrouble = { dialogs: [], consoleErrors: [], pageErrors: [], failedRequests: [] };
  page.on('dialog', (d) => {
    t.dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  page.on('console', (m) => {
    // A refused request is logged by Chromium too; those are judged by `failedRequests`, path by path.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) t.consoleErrors.push(m.text());
  });
  page.on('response', (r) => {
    if (r.status() >= 400) t.failedRequests.push(`${r.status()} ${new URL(r.url()).pathname}`);
  });
  page.on('pageerror', (e) => t.pageErrors.push(e.message));
  return t;
}

/** Collects `securitypolicyviolation` events in every document the context opens (read with `cspViolations`). */
export async function recordCspViolations(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const w = window as unknown as { __csp: string[] };
    w.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
}

export async function cspViolations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? []);
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Serious and critical axe-core violations on the page as it is now (rule id and how many nodes). */
export async function axeViolations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol, so the page's CSP (no inline script) is not loosened for it.
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run(ctx: Document, o: object): Promise<{ violations: { id: string; impact: string; nodes: unknown[] }[] }>;
        };
      }
    ).axe;
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.impact} ${v.id} (${v.nodes.length})`);
  });
}

/**
 * Whether a console browser test can run here: Debian's chromium on PATH and a built console. `skipWhy` is '' when it
 * can, else the reason (printed once, naming the file); a test file skips its suite on it, saying why.
 */
export function browserTestSetup(file: string): { chromiumPath: string | undefined; skipWhy: string } {
  const chromiumPath = findChromium();
  const skipWhy = !chromiumPath
    ? 'SKIPPED: no chromium on PATH (apt-get install -y chromium)'
    : !existsSync(join(repoRoot, 'console/dist/index.html'))
      ? 'SKIPPED: console/dist is missing (run pnpm build)'
      : '';
  if (skipWhy) console.warn(`${file}: ${skipWhy}`);
  return { chromiumPath, skipWhy };
}
