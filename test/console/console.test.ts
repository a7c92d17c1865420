/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// Page functions (page.evaluate, waitForFunction) run in the browser: they are typed against the DOM.
/**
 * The web console in a real Chromium against a real collector (TLS, SQLite), a real agent process with a real PTY,
 * and an agent whose strings are markup: TOTP login and the cookie it sets, the fleet filtered server-side, a machine
 * page with a chart drawn from stored samples, a terminal that reads `42`, an incident acknowledged and resolved
 * with its SLA counting down, hostile strings shown as text, cross-site requests and sockets refused, and axe-core
 * on every page. Screenshots of the main pages go to test/console/screenshots/.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ApiTarget, apiCall } from '@outpost/collector';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../collector/src/auth/secrets.js';
import { repoRoot, startTestCollector, type TestCollector, tempDir } from '../support/collector.js';
import type { RawAgent } from '../support/raw-agent.js';
import { type ShellAgent, startShellAgent, waitOnline } from '../support/shell.js';
import {
  axeViolations,
  browserTestSetup,
  cspViolations,
  launchChromium,
  type PageTrouble,
  recordCspViolations,
  watch,
} from './browser.js';
import { hostileAgent } from './hostile-agent.js';

const { chromiumPath, skipWhy } = browserTestSetup('test/console');

const HOSTILE_NAME = '<img src=x onerror=alert(1)>';
const HOSTILE_SOFTWARE = '<script>alert(2)</script>';
/**
 * Screenshots go to test/console/screenshots/ (committed, shown in the docs) with OUTPOST_UPDATE_SCREENSHOTS=1;
 * otherwise to a temp folder, so an ordinary run does not rewrite committed images (the pages show clock times).
 */
const SHOTS = process.env.OUTPOST_UPDATE_SCREENSHOTS
  ? join(repoRoot, 'test/console/screenshots')
  : mkdtempSync(join(tmpdir(), 'outpost-console-shots-'));
const EMAIL = 'tess@example.com';
const PASSWORD = 'a console password';

let c: TestCollector;
let dir: ReturnType<typeof tempDir>;
let shell: ShellAgent;
let liar: { agentId: string; agent: RawAgent };
let tech: ApiTarget;
let totpSecret: string;
let incidentId: string;
let others: string[] = [];
let browser: Awaited<ReturnType<typeof launchChromium>>;
let context: BrowserContext;
let page: Page;
let trouble: PageTrouble;

/** A page of the console, with the network quiet. */
const go = async (path: string) => {
  await page.goto(new URL(path, c.apiUrl).href);
};
const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`) });

describe.skipIf(!!skipWhy)(`web console in Chromium ${skipWhy}`, () => {
  beforeAll(async () => {
    dir = tempDir('console');
    c = await startTestCollector();
    // A tier-2 technician of the client, with TOTP on (enabled with the previous step's code, so the login's
    // current code has not been used yet).
    await apiCall(c.admin, 'POST', '/api/v1/users', {
      email: EMAIL,
      name: 'Tess Tech',
      password: PASSWORD,
      roles: [{ role: 'tier2', clientId: c.clientId }],
    });
    const base = { server: c.apiUrl, caFingerprint: c.fingerprint };
    const s = await apiCall<{ token: string }>(base, 'POST', '/api/v1/auth/login', {
      email: EMAIL,
      password: PASSWORD,
    });
    tech = { ...base, token: s.token };
    totpSecret = (await apiCall<{ secret: string }>(tech, 'POST', '/api/v1/auth/totp/setup', { password: PASSWORD }))
      .secret;
    await apiCall(tech, 'POST', '/api/v1/auth/totp/enable', { code: totpCode(totpSecret, Date.now() - 30_000) });

    [shell, liar] = await Promise.all([
      startShellAgent(c, dir.path),
      c.enrollmentToken().then(({ token }) =>
        hostileAgent(
          c.agentUrl,
          token,
          {
            hostname: HOSTILE_NAME,
            os: { platform: 'win32', distro: 'Windows 11 Pro', release: '23H2', kernel: '10.0.22631', arch: 'x64' },
            cpu: { model: '<b>bold</b> CPU', cores: 4 },
            memoryBytes: 8 * 1024 ** 3,
          },
          [
            { name: HOSTILE_SOFTWARE, version: '1.0', publisher: '"><svg onload=alert(3)>' },
            { name: 'Notepad++', version: '8.6', publisher: 'Don Ho' },
          ],
        ),
      ),
    ]);
    await waitOnline(c.admin, liar.agentId);

    // An hour of samples for the real agent, stored by the real metrics sink (one batch per minute).
    const now = Date.now();
    for (let i = 60; i >= 1; i--) {
      await c.collector.metricsService.commit([
        {
          agentId: shell.agentId,
          msg: {
            type: 'metrics.batch',
            seq: 1_000_000 + 60 - i,
            samples: [
              {
                time: now - i * 60_000,
                values: { 'cpu.total_pct': 20 + 15 * Math.sin(i / 6), 'mem.used_pct': 55 + i / 10 },
              },
            ],
          },
        },
      ]);
    }
    // A 24/7 contract, so the technician's incident has SLA clocks.
    const cal = await apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/calendars', {
      name: '24x7',
      clientId: c.clientId,
      timezone: 'Europe/Paris',
      kind: '24x7',
    });
    await apiCall(c.admin, 'PUT', `/api/v1/clients/${c.clientId}/contract`, {
      name: 'Gold',
      calendarId: cal.id,
      targets: { P2: { responseMinutes: 30, resolutionMinutes: 240 } },
    });
    const inc = await apiCall<{ id: string }>(tech, 'POST', '/api/v1/incidents', {
      clientId: c.clientId,
      siteId: c.siteId,
      agentIds: [shell.agentId],
      title: 'Disk almost full on /var',
      explanation: 'disk.used_pct:/var crossed 90 % for 10 minutes',
      type: 'disk.full',
      criticality: 'P2',
    });
    incidentId = inc.id;
    // Two more for the bulk action; one titled with the hostile hostname, as detection titles name machines.
    others = [];
    for (const [agentId, title] of [
      [liar.agentId, `CPU above 95 % on ${HOSTILE_NAME}`],
      [shell.agentId, 'Antivirus signatures 9 days old'],
    ] as const) {
      const o = await apiCall<{ id: string }>(tech, 'POST', '/api/v1/incidents', {
        clientId: c.clientId,
        siteId: c.siteId,
        agentIds: [agentId],
        title,
        type: 'manual',
        criticality: 'P3',
      });
      others.push(o.id);
    }

    browser = await launchChromium(chromiumPath!);
    context = browser.context;
    await recordCspViolations(context);
    page = context.pages()[0] ?? (await context.newPage());
    trouble = watch(page);
  }, 60_000);

  afterAll(async () => {
    await browser?.[Symbol.asyncDispose]();
    liar?.agent.close();
    await shell?.proc.kill('SIGTERM');
    await c?.[Symbol.asyncDispose]();
    dir?.[Symbol.dispose]();
  });

  it('logs in with password and TOTP; the session is an HttpOnly, Secure, SameSite=Strict cookie', async () => {
    await go('/');
    await page.waitForURL(/\/login/);
    expect(await axeViolations(page)).toEqual([]);
    await shot('login');
    await page.fill('#email', EMAIL);
    await page.fill('#password', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForSelector('#totp');
    await page.fill('#totp', totpCode(totpSecret, Date.now()));
    await page.click('button[type=submit]');
    await page.waitForURL(/\/fleet/);
    const cookie = (await context.cookies(c.apiUrl)).find((k) => k.name === 'outpost_session');
    expect(cookie).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict' });
    // A reload keeps the session (cookie) and recovers the CSRF token from the API.
    await page.reload();
    await page.waitForSelector('table[aria-label=Machines] tbody tr');
  });

  it('filters the fleet on the server; hostile hostnames are text', async () => {
    await page.waitForFunction(() => document.querySelector('.count')?.textContent?.includes('of 2 machines'));
    await page.selectOption('label:has-text("OS") select', 'win32');
    await page.waitForFunction(() => document.querySelector('.count')?.textContent?.includes('of 1 machines'));
    const row = page.locator('table[aria-label=Machines] tbody tr');
    expect(await row.count()).toBe(1);
    // The first cell is the row's selection box (bulk actions); the hostname follows.
    expect(await row.first().locator('td').nth(1).textContent()).toBe(HOSTILE_NAME);
    expect(await row.first().locator('td').nth(4).textContent()).toBe('HQ'); // the site's name, not its id
    expect(await page.locator('main img, main svg').count()).toBe(0);
    expect(page.url()).toContain('os=win32');
    await page.selectOption('label:has-text("OS") select', '');
    await page.fill('input[name=search]', 'no-such-machine');
    await page.press('input[name=search]', 'Enter');
    await page.waitForFunction(() => document.querySelector('.count')?.textContent?.includes('of 0 machines'));
    await page.fill('input[name=search]', '');
    await page.press('input[name=search]', 'Enter');
    await page.selectOption('label:has-text("Status") select', 'online');
    await page.waitForFunction(() => document.querySelector('.count')?.textContent?.includes('of 2 machines'));
    expect(await axeViolations(page)).toEqual([]);
    await shot('fleet');
  });

  it('shows a hostile machine and its software as text, running nothing', async () => {
    await go(`/machines/${liar.agentId}`);
    await page.waitForSelector('h1');
    expect(await page.textContent('h1')).toBe(HOSTILE_NAME);
    await page.waitForSelector('table[aria-label=Software] tbody tr');
    const names = await page.locator('table[aria-label=Software] tbody tr td:first-child').allTextContents();
    expect(names).toContain(HOSTILE_SOFTWARE);
    expect(await page.locator('main script, main img, main svg, main b').count()).toBe(0);
    expect(trouble.dialogs).toEqual([]);
    expect(await cspViolations(page)).toEqual([]);
    await shot('machine-hostile');
  });

  it('opens a machine from the fleet and draws its stored samples with uPlot', async () => {
    await go('/fleet?os=linux');
    await page.waitForFunction(() => document.querySelector('.count')?.textContent?.includes('of 1 machines'));
    await page.click('table[aria-label=Machines] tbody tr td a');
    await page.waitForURL(/\/machines\//);
    const info = page.locator('[data-testid=chart-info]');
    await info.waitFor();
    expect(Number(await info.getAttribute('data-series'))).toBe(2);
    expect(Number(await info.getAttribute('data-points'))).toBeGreaterThanOrEqual(100);
    // The plot canvas has coloured pixels: the series were drawn, not just the frame.
    const painted = await page.evaluate(() => {
      const canvas = document.querySelector<HTMLCanvasElement>('.chart canvas');
      if (!canvas) return -1;
      const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i + 3]! > 0 && (data[i + 2]! > 150 || data[i]! > 150)) n++;
      return n;
    });
    expect(painted).toBeGreaterThan(200);
    expect(await axeViolations(page)).toEqual([]);
    await shot('machine');
  });

  it('runs a terminal over the technician socket: reads 42, follows a resize', async () => {
    await page.click('button:has-text("Open terminal")');
    await page.waitForFunction(
      () => document.querySelector('[data-testid=terminal-state]')?.textContent?.startsWith('connected as'),
      undefined,
      { timeout: 15_000 },
    );
    await page.locator('.xterm-helper-textarea').focus();
    await page.keyboard.type('echo $((6*7))\n');
    const rows = page.locator('.xterm-rows');
    await page.waitForFunction(() =>
      [...document.querySelectorAll('.xterm-rows > div')].some((r) => r.textContent?.trim() === '42'),
    );
    // Resize the window: the terminal refits and the remote PTY learns the new size.
    await page.setViewportSize({ width: 900, height: 860 });
    await page.waitForTimeout(300);
    await page.keyboard.type('stty size\n');
    const size = await page.waitForFunction(() => {
      const lines = [...document.querySelectorAll('.xterm-rows > div')].map((r) => r.textContent?.trim() ?? '');
      return lines.find((l) => /^\d+ \d+$/.test(l)) ?? false;
    });
    const [rowsN, colsN] = String(await size.jsonValue())
      .split(' ')
      .map(Number);
    expect(rowsN).toBeGreaterThan(5);
    expect(colsN).toBeGreaterThan(20);
    expect(colsN).toBeLessThan(110); // narrower than at 1280 px
    expect(await rows.count()).toBe(1);
    await shot('terminal');
    await page.setViewportSize({ width: 1280, height: 860 });
    await page.click('button:has-text("Close terminal")');
  });

  it('lists the terminal session on the machine page and replays its recording', async () => {
    const button = page.locator('table[aria-label=Sessions] button:has-text("Replay")');
    // The recording is closed once the session has ended: re-open the tab until it is replayable.
    for (let i = 0; i < 50 && !(await button.count()); i++) {
      await page.click('[role=tab]:has-text("Incidents")');
      await page.click('[role=tab]:has-text("Sessions")');
      await page.waitForSelector('table[aria-label=Sessions], [role=tabpanel] p.muted');
      if (!(await button.count())) await page.waitForTimeout(200);
    }
    const row = page.locator('table[aria-label=Sessions] tbody tr').first();
    expect(await row.locator('td').nth(2).textContent()).toBe(EMAIL);
    await button.first().click();
    await page.waitForFunction(
      () => document.querySelector('[data-testid=replay-state]')?.textContent?.startsWith('replayed'),
      undefined,
      { timeout: 15_000 },
    );
    const replayed = await page.locator('[data-testid=replay] .xterm-rows > div').allTextContents();
    expect(replayed.map((l) => l.trim())).toContain('42');
    expect(replayed.join('\n')).toContain('echo $((6*7))');
    expect(await axeViolations(page)).toEqual([]);
    await page.locator('#replay-title').scrollIntoViewIfNeeded();
    await shot('replay');
  });

  it('counts the SLA down live, acknowledges and resolves an incident', async () => {
    await go('/incidents');
    const row = page.locator(`tr[data-incident="${incidentId}"]`);
    await row.waitFor();
    const sla = row.locator('[data-testid=sla]');
    const first = await sla.textContent();
    expect(first).toMatch(/^response \d+ min \d\d s$/);
    await page.waitForFunction(
      ([sel, before]) => document.querySelector(sel!)?.textContent !== before,
      [`tr[data-incident="${incidentId}"] [data-testid=sla]`, first],
    );
    expect(await axeViolations(page)).toEqual([]);
    await shot('incidents');
    await row.locator('button:has-text("Acknowledge")').click();
    await page.waitForFunction(
      (sel) => document.querySelector(sel)?.textContent === 'acknowledged',
      `tr[data-incident="${incidentId}"] [data-testid=status]`,
    );
    expect(await sla.textContent()).toMatch(/^resolution \d+ h \d\d min$/);
    await row.locator('button:has-text("Resolve…")').click();
    await row.locator('form.resolve input').fill('Rotated the logs on /var');
    await row.locator('button:has-text("Resolve")').last().click();
    // Resolved: the row says so, then leaves the open queue when the live stream makes the page re-read it.
    await page.waitForFunction((sel) => {
      const cell = document.querySelector(sel);
      return !cell || cell.textContent === 'resolved';
    }, `tr[data-incident="${incidentId}"] [data-testid=status]`);
    await row.waitFor({ state: 'detached', timeout: 5_000 });
    const stored = await apiCall<{ incident: { status: string; resolutionNote: string; acknowledgedAt: number } }>(
      c.admin,
      'GET',
      `/api/v1/incidents/${incidentId}`,
    );
    expect(stored.incident).toMatchObject({ status: 'resolved', resolutionNote: 'Rotated the logs on /var' });
    expect(stored.incident.acknowledgedAt).toBeGreaterThan(0);
  });

  it('acknowledges selected incidents in bulk', async () => {
    await go('/incidents');
    for (const id of others) await page.locator(`tr[data-incident="${id}"] input[type=checkbox]`).check();
    expect(await page.textContent('button:has-text("Acknowledge selected")')).toBe('Acknowledge selected (2)');
    expect(await page.locator(`tr[data-incident="${others[0]}"] a.title`).textContent()).toBe(
      `CPU above 95 % on ${HOSTILE_NAME}`,
    );
    await page.click('button:has-text("Acknowledge selected")');
    for (const id of others)
      await page.waitForFunction(
        (sel) => document.querySelector(sel)?.textContent === 'acknowledged',
        `tr[data-incident="${id}"] [data-testid=status]`,
      );
    for (const id of others) {
      const r = await apiCall<{ incident: { status: string } }>(c.admin, 'GET', `/api/v1/incidents/${id}`);
      expect(r.incident.status).toBe('acknowledged');
    }
    expect(await page.locator('main img').count()).toBe(0);
  });

  it('shows an incident with its readable timeline, and takes a comment as text', async () => {
    await go('/incidents');
    await page.check('label:has-text("Show resolved") input');
    await page.click(`tr[data-incident="${incidentId}"] a.title`);
    await page.waitForURL(new RegExp(`/incidents/${incidentId}$`));
    await page.waitForSelector('ol[aria-label=Timeline] li');
    const lines = await page.locator('ol[aria-label=Timeline] li .what').allTextContents();
    expect(lines).toContain('acknowledged');
    // The minutes are the time from the ticket's opening (setup) to its resolution: 0 on a quiet machine, more under load.
    expect(lines).toContainEqual(
      expect.stringMatching(/^resolved \[fixed\]: Rotated the logs on \/var \(after \d+ min\)$/),
    );
    const note = '<img src=x onerror=alert(4)> checked the logrotate config';
    await page.fill('#comment', note);
    await page.click('button:has-text("Add comment")');
    await page.waitForFunction(
      (text) => [...document.querySelectorAll('ol[aria-label=Timeline] li .what')].some((l) => l.textContent === text),
      `comment: ${note}`,
    );
    expect(await page.locator('main img').count()).toBe(0);
    expect(await axeViolations(page)).toEqual([]);
    await shot('incident');
  });

  it('refuses a cross-site POST and a cross-origin WebSocket that carry the session cookie', async () => {
    // Another origin on the same host (same site: the SameSite cookie is sent), served over TLS with the same cert.
    const tls = join(c.dataDir, 'tls');
    const evil: Server = createServer(
      { cert: readFileSync(join(tls, 'collector.crt')), key: readFileSync(join(tls, 'collector.key')) },
      (_req, res) => {
        res.setHeader('content-type', 'text/html');
        res.end('<!doctype html><title>evil</title><p>hi</p>');
      },
    );
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
    const port = (evil.address() as { port: number }).port;
    try {
      const other = await context.newPage();
      await other.goto(`https://127.0.0.1:${port}/`);
      const target = new URL(`/api/v1/agents/${liar.agentId}/revoke`, c.apiUrl).href;
      await other.evaluate(async (url) => {
        await fetch(url, { method: 'POST', mode: 'no-cors', credentials: 'include', body: '{}' }).catch(
          () => undefined,
        );
      }, target);
      const wsUrl = new URL(`/api/v1/agents/${shell.agentId}/shell`, c.apiUrl.replace(/^http/, 'ws')).href;
      const ws = await other.evaluate(
        (url) =>
          new Promise<string>((resolve) => {
            const s = new WebSocket(url);
            s.onopen = () => resolve('open');
            s.onclose = (e) => resolve(`closed ${e.code}`);
          }),
        wsUrl,
      );
      expect(ws).not.toBe('open');
      await other.close();
      // Both reached the collector with the cookie and were refused by the cross-site checks (audited), not
      // merely for want of a credential; the agent is still enrolled.
      const audit = await apiCall<{ events: { type: string; code: string | null; result: string }[] }>(
        c.admin,
        'GET',
        '/api/v1/audit',
        undefined,
      );
      const codes = audit.events.filter((e) => e.result === 'denied').map((e) => e.code);
      expect(codes).toContain('OUTPOST_E_CSRF_REFUSED');
      expect(codes).toContain('OUTPOST_E_ORIGIN_REFUSED');
      const a = await apiCall<{ status: string }>(c.admin, 'GET', `/api/v1/agents/${liar.agentId}`);
      expect(a.status).toBe('online');
    } finally {
      await new Promise((r) => evil.close(r));
    }
  });

  it('logs out, and a new technician turns TOTP on from the account page; the next login asks for a code', async () => {
    const email = 'newbie@example.com';
    await apiCall(c.admin, 'POST', '/api/v1/users', {
      email,
      name: 'New Bie',
      password: PASSWORD,
      roles: [{ role: 'tier1', clientId: c.clientId }],
    });
    await page.click('button:has-text("Log out")');
    await page.waitForURL(/\/login/);
    expect((await context.cookies(c.apiUrl)).find((k) => k.name === 'outpost_session')).toBeUndefined();
    await page.fill('#email', email);
    await page.fill('#password', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL(/\/fleet/);
    await page.click(`a.who`);
    await page.waitForURL(/\/account$/);
    expect(await page.textContent('[data-testid=totp-state]')).toBe('off');
    await page.fill('#acct-password', PASSWORD);
    await page.click('button:has-text("Create a secret")');
    const secret = (await page.locator('[data-testid=totp-secret]').textContent())!;
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
    // The previous step's code confirms (±1 step is accepted), so the current one is still unused for the login.
    await page.fill('#acct-code', totpCode(secret, Date.now() - 30_000));
    await page.click('button:has-text("Confirm")');
    await page.waitForFunction(() => document.querySelector('[data-testid=totp-state]')?.textContent === 'on');
    expect(await axeViolations(page)).toEqual([]);
    await shot('account');
    await page.click('button:has-text("Log out")');
    await page.waitForURL(/\/login/);
    await page.fill('#email', email);
    await page.fill('#password', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForSelector('#totp');
    await page.fill('#totp', totpCode(secret, Date.now()));
    await page.click('button[type=submit]');
    await page.waitForURL(/\/fleet/);
    const me = await page.evaluate(async () => (await (await fetch('/api/v1/auth/me')).json()) as { email: string });
    expect(me.email).toBe(email);
  });

  it('ran no injected script, logged no error and broke no CSP rule on the way', async () => {
    expect(trouble.dialogs).toEqual([]);
    expect(trouble.pageErrors).toEqual([]);
    expect(trouble.consoleErrors).toEqual([]);
    expect(await cspViolations(page)).toEqual([]);
    // The only refusals: the session check before login, the password step asking for the code, and the
    // inventory of the real agent, which runs with its inventory off (shown as "not reported yet").
    expect([...new Set(trouble.failedRequests)].sort()).toEqual([
      '401 /api/v1/auth/csrf',
      '401 /api/v1/auth/login',
      '401 /api/v1/auth/me',
      `404 /api/v1/agents/${shell.agentId}/inventory`,
    ]);
    // The control: markup that did get into the page could not run a script, and the watcher sees the attempt.
    const ran = await page.evaluate(async () => {
      const s = document.createElement('script');
      s.textContent = 'window.__ran = true';
      document.body.append(s);
      // An absence: an allowed inline script would have run by now (it runs on insertion).
      await new Promise((r) => setTimeout(r, 100));
      return (window as unknown as { __ran?: boolean }).__ran === true;
    });
    expect(ran).toBe(false);
    expect((await cspViolations(page)).join()).toMatch(/script-src/);
  });
});
