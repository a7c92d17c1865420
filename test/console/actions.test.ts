/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// Page functions (page.evaluate, waitForFunction) run in the browser: they are typed against the DOM.
/**
 * The console's actions, third slice, in a real Chromium against a real collector (TLS, SQLite), a real agent
 * process (real PTY, real jobs, real files) and a second machine enrolled over the real protocol: the ticket
 * actions (pause and resume the SLA clock, de-escalate, close, reopen), bulk actions on machines selected in the
 * fleet (a script of the library run on both, an update pushed to both, a refused version answered per machine),
 * a live shell joined read-only, files uploaded and downloaded with their SHA-256 checked, and TOTP enrolment from
 * a QR code decoded from the page's pixels, a user's roles edited (and refused for an admin's own demotion), a
 * coverage calendar and a contract edited, and a notification routing rule added and deleted. axe-core on every page; screenshots in test/console/screenshots/ (with
 * OUTPOST_UPDATE_SCREENSHOTS=1).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiCall, ShellClient } from '@outpost/collector';
import jsqr from 'jsqr';
import type { BrowserContext, Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../collector/src/auth/secrets.js';
import { repoRoot, startTestCollector, type TestCollector, tempDir } from '../support/collector.js';
import { auditEvents, OutputBuffer, type ShellAgent, startShellAgent, waitOnline } from '../support/shell.js';
import {
  axeViolations,
  browserTestSetup,
  cspViolations,
  launchChromium,
  type PageTrouble,
  recordCspViolations,
  watch,
} from './browser.js';
import { type ReportingAgent, reportingAgent } from './hostile-agent.js';

const { chromiumPath, skipWhy } = browserTestSetup('test/console/actions');

// jsqr is CommonJS with an `exports.default`: its types name the function there (Node also exposes it as the module).
const jsQR = jsqr.default;

const SHOTS = process.env.OUTPOST_UPDATE_SCREENSHOTS
  ? join(repoRoot, 'test/console/screenshots')
  : mkdtempSync(join(tmpdir(), 'outpost-console-shots-'));

interface ApiIncident {
  id: string;
  status: string;
  tier: number;
  paused: boolean;
  reopenCount: number;
  sla: { running: boolean; consumedMs: number } | null;
}
interface ApiJob {
  id: string;
  targets: { agentId: string; state: string; exitCode: number | null; outputHead: string }[];
}

let c: TestCollector;
let dir: ReturnType<typeof tempDir>;
let filesDir: string;
let shell: ShellAgent;
let raw: ReportingAgent;
let scriptId: string;
let paused: string;
let tier2: string;
let resolved: string;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let context: BrowserContext;
let page: Page;
let trouble: PageTrouble;

const go = (path: string) => page.goto(new URL(path, c.apiUrl).href);
const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
const incident = (id: string) =>
  apiCall<{ incident: ApiIncident; timeline: { kind: string }[] }>(c.admin, 'GET', `/api/v1/incidents/${id}`);
const openIncident = (title: string) =>
  apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/incidents', {
    clientId: c.clientId,
    siteId: c.siteId,
    agentIds: [shell.agentId],
    title,
    type: 'manual',
    criticality: 'P2',
  }).then((r) => r.id);

describe.skipIf(!!skipWhy)(`console actions in Chromium ${skipWhy}`, () => {
  beforeAll(async () => {
    dir = tempDir('console-actions');
    filesDir = join(dir.path, 'files');
    mkdirSync(filesDir);
    c = await startTestCollector();
    // A 24/7 contract, so tickets have SLA clocks to pause.
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
    [shell, raw] = await Promise.all([
      // File transfers are confined to `filesDir` on this agent.
      startShellAgent(c, dir.path, { fileRoots: [filesDir] }),
      c.enrollmentToken().then(({ token }) =>
        reportingAgent(c.agentUrl, token, {
          hostname: 'ws-raw',
          os: { platform: 'linux', distro: 'Debian', release: '13', kernel: '6.12.0', arch: 'x64' },
          cpu: { model: 'Xeon', cores: 4 },
          memoryBytes: 8 * 1024 ** 3,
        }),
      ),
    ]);
    await waitOnline(c.admin, raw.agentId);
    scriptId = (
      await apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/scripts', {
        name: 'answer',
        description: 'prints the answer',
        body: 'echo "the answer is $((6*7))"\n',
      })
    ).id;
    paused = await openIncident('Waiting on the customer');
    tier2 = await openIncident('Escalated too early');
    await apiCall(c.admin, 'POST', `/api/v1/incidents/${tier2}/escalate`, { reason: 'needs tier 2' });
    resolved = await openIncident('Printer fixed');
    await apiCall(c.admin, 'POST', `/api/v1/incidents/${resolved}/resolve`, { note: 'toner', category: 'fixed' });

    browser = await launchChromium(chromiumPath!);
    context = browser.context;
    await recordCspViolations(context);
    page = context.pages()[0] ?? (await context.newPage());
    trouble = watch(page);
    await go('/login');
    await page.fill('#email', c.collector.initialAdmin!.email);
    await page.fill('#password', c.collector.initialAdmin!.password);
    await page.click('button[type=submit]');
    await page.waitForURL(/\/fleet/);
  }, 60_000);

  afterAll(async () => {
    await browser?.[Symbol.asyncDispose]();
    raw?.agent.close();
    await shell?.proc.kill('SIGTERM');
    await c?.[Symbol.asyncDispose]();
    dir?.[Symbol.dispose]();
  });

  it('pauses and resumes the SLA clock, de-escalates, closes and reopens: each read back from the API', async () => {
    await go(`/incidents/${paused}`);
    const sla = page.locator('[data-testid=sla]');
    await expect.poll(() => sla.textContent()).toMatch(/^response \d+ min/);
    await page.click('text=Pause SLA…');
    await page.fill('#pause-reason', 'waiting on the customer to reboot');
    await page.click('form[aria-label="Pause SLA"] button[type=submit]');
    await expect.poll(() => sla.textContent()).toMatch(/\(paused: waiting\)$/);
    const frozen = await sla.textContent();
    // Over a second: a running countdown would have changed its seconds by now; a paused one stays still.
    await new Promise((r) => setTimeout(r, 1200));
    expect(await sla.textContent()).toBe(frozen);
    let r = await incident(paused);
    expect(r.incident.paused).toBe(true);
    expect(r.incident.sla?.running).toBe(false);
    await expect.poll(() => page.locator('.timeline').textContent()).toContain('paused, waiting on the customer');
    await shot('incident-paused');
    expect(await axeViolations(page)).toEqual([]);

    await page.click('text=Resume SLA');
    await expect.poll(async () => (await incident(paused)).incident.paused).toBe(false);
    await expect.poll(() => sla.textContent()).not.toContain('paused');
    expect((await incident(paused)).incident.sla?.running).toBe(true);

    await go(`/incidents/${tier2}`);
    await expect.poll(() => page.locator('[data-testid=tier]').textContent()).toBe('tier 2');
    await page.click('text=De-escalate…');
    await page.fill('#deescalate-reason', 'a tier-1 fix');
    await page.click('form[aria-label="De-escalate"] button[type=submit]');
    await expect.poll(() => page.locator('[data-testid=tier]').textContent()).toBe('tier 1');
    expect((await incident(tier2)).incident.tier).toBe(1);
    expect(await page.locator('text=De-escalate…').count()).toBe(0); // tier 1: nothing below
    expect(await page.locator('.timeline').textContent()).toContain('moved back from tier 2 to tier 1');

    await go(`/incidents/${resolved}`);
    await page.click('.ticket-actions >> text=Close');
    await expect.poll(async () => (await incident(resolved)).incident.status).toBe('closed');
    await expect.poll(() => page.locator('[data-testid=status]').textContent()).toContain('closed');
    await page.click('text=Reopen…');
    await page.fill('#reopen-reason', 'the printer jammed again');
    await page.click('form[aria-label="Reopen"] button[type=submit]');
    // Resolved by a person, it had been acknowledged: it reopens acknowledged, its resolution clock running again.
    await expect.poll(async () => (await incident(resolved)).incident.status).toBe('acknowledged');
    r = await incident(resolved);
    expect(r.incident.reopenCount).toBe(1);
    await expect.poll(() => page.locator('.timeline').textContent()).toContain('reopened (was closed');
    // Open again: the actions offered are a live ticket's (no Close, no Reopen).
    expect(await page.locator('.ticket-actions >> text=Close').count()).toBe(0);
    expect(await page.locator('text=Reopen…').count()).toBe(0);
    await shot('incident-reopened');
  }, 30_000);

  it('runs a library script on the selected machines and pushes an update, showing each machine’s answer', async () => {
    await go('/fleet');
    await page.waitForFunction(() => document.querySelectorAll('table[aria-label=Machines] tbody tr').length === 2);
    await page.click('input[aria-label="Select every machine on this page"]');
    const panel = page.locator('section.bulk-panel');
    await expect.poll(() => panel.locator('h2').textContent()).toBe('Selected machines (2)');
    await expect.poll(() => panel.locator('select[name=script] option').first().textContent()).toBe('answer v1');
    expect(await panel.locator('select[name=script]').inputValue()).toBe(scriptId);
    await panel.locator('button[type=submit]').click();
    const answer = (agentId: string) =>
      panel.locator(`table[aria-label="Answers per machine"] tr[data-agent="${agentId}"]`);
    // The real agent runs it and reports; the raw one never answers: its job stays sent.
    await expect
      .poll(() => answer(shell.agentId).locator('[data-testid=answer]').textContent(), { timeout: 20_000 })
      .toBe('succeeded');
    expect(await answer(shell.agentId).locator('[data-testid=detail]').textContent()).toBe('exit 0 · the answer is 42');
    expect(await answer(raw.agentId).locator('[data-testid=answer]').textContent()).toBe('sent');
    const jobId = ((await panel.locator('p.muted').textContent()) ?? '').replace(/^Job /, '');
    const job = await apiCall<ApiJob>(c.admin, 'GET', `/api/v1/jobs/${jobId}`);
    expect(Object.fromEntries(job.targets.map((t) => [t.agentId, t.state]))).toEqual({
      [shell.agentId]: 'succeeded',
      [raw.agentId]: 'sent',
    });
    expect(job.targets.find((t) => t.agentId === shell.agentId)?.outputHead).toContain('the answer is 42');
    await shot('fleet-bulk-job');
    expect(await axeViolations(page)).toEqual([]);

    // An update: one request per machine, each answered.
    await panel.locator('select[name=bulk-action]').selectOption('update');
    await panel.locator('input[name=version]').fill('9.9.9');
    await panel.locator('button[type=submit]').click();
    await expect.poll(() => panel.locator('[data-testid=answer]').allTextContents()).toEqual(['sent', 'sent']);
    const audit = await auditEvents(c.admin);
    const assigned = audit.filter((e) => e.type === 'agent.update' && e.details?.version === '9.9.9');
    expect(assigned).toHaveLength(2);
    // A version the API refuses: refused per machine, with its code, nothing assigned.
    await panel.locator('input[name=version]').fill('not a version');
    await panel.locator('button[type=submit]').click();
    await expect
      .poll(() => panel.locator('[data-testid=answer]').allTextContents())
      .toEqual(['OUTPOST_E_BAD_REQUEST', 'OUTPOST_E_BAD_REQUEST']);
    await shot('fleet-bulk-update');
    await panel.locator('text=Clear selection').click();
    expect(await page.locator('section.bulk-panel').count()).toBe(0);
  }, 40_000);

  it('joins a live shell read-only (the watcher cannot type) and moves files both ways with their SHA-256', async () => {
    const owner = await ShellClient.open(c.admin, shell.agentId, { cols: 100, rows: 30 });
    const out = new OutputBuffer();
    owner.onData(out.push);
    await owner.ready;
    await go(`/machines/${shell.agentId}`);
    await page.click('#tab-sessions');
    await page.click(`tr[data-session="${owner.sessionId}"] button:has-text("Join read-only")`);
    await expect.poll(() => page.locator('[data-testid=terminal-state]').textContent()).toMatch(/^watching read-only/);
    owner.write('echo $((6*7))\r');
    await page.waitForFunction(() =>
      [...document.querySelectorAll('.xterm-rows > div')].some((r) => r.textContent?.trim() === '42'),
    );
    // The watcher types: the collector drops it; the owner's next command shows it never reached the shell.
    await page.click('[data-testid=terminal]');
    await page.keyboard.type('echo typed-by-the-watcher\n');
    owner.write('echo marker-$((1+1))\r');
    await out.waitFor(/marker-2/);
    expect(out.text).not.toContain('typed-by-the-watcher');
    await shot('machine-join');
    expect(await axeViolations(page)).toEqual([]);
    await page.click('text=Stop watching');
    // The owner's session goes on after the watcher leaves.
    owner.write('echo still-$((2+2))\r');
    await out.waitFor(/still-4/);
    owner.close();

    await page.click('text=Files…');
    const up = randomBytes(700 * 1024); // nearly three credit windows
    await page.setInputFiles('input[name=upload-file]', {
      name: 'notes.bin',
      mimeType: 'application/octet-stream',
      buffer: up,
    });
    await page.fill('input[name=upload-path]', join(filesDir, 'uploaded.bin'));
    await page.click('form[aria-label="Upload to the machine"] button[type=submit]');
    await expect
      .poll(() => page.locator('[data-testid=transfer-result]').textContent(), { timeout: 15_000 })
      .toMatch(/^Uploaded 716800 bytes/);
    expect(readFileSync(join(filesDir, 'uploaded.bin')).equals(up)).toBe(true);
    expect(await page.locator('[data-testid=transfer-progress]').textContent()).toBe('716800 / 716800 bytes');

    const remote = randomBytes(400 * 1024);
    writeFileSync(join(filesDir, 'report.bin'), remote);
    await page.fill('input[name=download-path]', join(filesDir, 'report.bin'));
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('form[aria-label="Download from the machine"] button[type=submit]'),
    ]);
    expect(download.suggestedFilename()).toBe('report.bin');
    expect(readFileSync(await download.path()).equals(remote)).toBe(true);
    await expect.poll(() => page.locator('[data-testid=transfer-result]').textContent()).toMatch(/^Downloaded 409600/);

    // Outside the agent's file roots: the agent refuses, the page says so with the code.
    await page.fill('input[name=download-path]', '/etc/shadow');
    await page.click('form[aria-label="Download from the machine"] button[type=submit]');
    await expect.poll(() => page.locator('.files [role=alert]').textContent()).toMatch(/^OUTPOST_E_/);
    await shot('machine-files');
    expect(await axeViolations(page)).toEqual([]);
    const kinds = (
      await apiCall<{ sessions: { kind: string; path: string | null }[] }>(
        c.admin,
        'GET',
        `/api/v1/sessions?agentId=${shell.agentId}`,
      )
    ).sessions.map((s) => `${s.kind} ${s.path ?? ''}`);
    expect(kinds).toContain(`upload ${join(filesDir, 'uploaded.bin')}`);
    expect(kinds).toContain(`download ${join(filesDir, 'report.bin')}`);
  }, 40_000);

  it('edits roles (taking effect on the next request), calendars and a contract, and notification routing', async () => {
    // A tier-1 technician with an API token: refused an enrollment token until they are tier 2.
    const email = 'rita@example.com';
    const rita = await apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/users', {
      email,
      name: 'Rita Tier',
      password: 'a long enough password',
      roles: [{ role: 'tier1', clientId: c.clientId }],
    });
    const login = await apiCall<{ token: string }>(
      { server: c.apiUrl, caFingerprint: c.fingerprint },
      'POST',
      '/api/v1/auth/login',
      { email, password: 'a long enough password' },
    );
    const asRita = { server: c.apiUrl, caFingerprint: c.fingerprint, token: login.token };
    const enroll = () => apiCall(asRita, 'POST', '/api/v1/enrollment-tokens', { siteId: c.siteId });
    await expect(enroll()).rejects.toMatchObject({ code: 'OUTPOST_E_FORBIDDEN' });

    await go('/admin/users');
    await page.click(`button[aria-label="Edit roles of ${email}"]`);
    const editor = page.locator(`form[aria-label="Roles of ${email}"]`);
    await editor.locator('button[aria-label="Remove tier1@Acme"]').click();
    await editor.locator('select[name=add-role]').selectOption('tier2');
    await editor.locator('select[name=add-client]').selectOption(c.clientId);
    await editor.locator('text=Add role').click();
    await editor.locator('text=Save roles').click();
    const roles = page.locator(`tr[data-user="${email}"] [data-testid=roles]`);
    await expect.poll(() => roles.textContent()).toBe('tier2@Acme');
    const stored = await apiCall<{ roles: { role: string; clientId: string | null }[] }>(
      c.admin,
      'GET',
      `/api/v1/users/${rita.id}`,
    );
    expect(stored.roles).toEqual([{ role: 'tier2', clientId: c.clientId }]);
    await enroll(); // the same token, judged by the new role
    // An admin cannot take the global admin role from themself: refused with its code, nothing changed.
    const self = c.collector.initialAdmin!.email;
    await page.click(`button[aria-label="Edit roles of ${self}"]`);
    const mine = page.locator(`form[aria-label="Roles of ${self}"]`);
    await mine.locator('button[aria-label="Remove admin@all clients"]').click();
    await mine.locator('select[name=add-role]').selectOption('tier3');
    await mine.locator('text=Add role').click();
    await mine.locator('text=Save roles').click();
    await expect.poll(() => page.locator('[role=alert]').first().textContent()).toMatch(/^OUTPOST_E_CONFLICT: /);
    expect(await page.locator(`tr[data-user="${self}"] [data-testid=roles]`).textContent()).toBe('admin@all clients');
    await shot('admin-roles');
    expect(await axeViolations(page)).toEqual([]);

    // A business-hours calendar, then the client's contract moved onto it with a P1 target added.
    await go('/admin/contracts');
    await expect.poll(() => page.locator('[data-testid=contract-state]').textContent()).toBe('Contract Gold');
    expect(await page.locator('input[name=P2-response]').inputValue()).toBe('30');
    const form = page.locator('form[aria-label="New calendar"]');
    await form.locator('input[name=calendar-name]').fill('Office hours');
    await form.locator('select[name=calendar-client]').selectOption(c.clientId);
    await form.locator('input[name=calendar-timezone]').fill('Europe/Paris');
    await form.locator('input[name=calendar-holidays]').fill('2026-12-25');
    await form.locator('text=Create calendar').click();
    const office = page.locator('tr[data-calendar="Office hours"] [data-testid=hours]');
    await expect
      .poll(() => office.textContent())
      .toBe('mon 08:00–18:00; tue 08:00–18:00; wed 08:00–18:00; thu 08:00–18:00; fri 08:00–18:00');
    const cals = await apiCall<{ calendars: { id: string; name: string; hours: Record<string, string[][]> }[] }>(
      c.admin,
      'GET',
      '/api/v1/calendars',
    );
    const created = cals.calendars.find((x) => x.name === 'Office hours')!;
    expect(created.hours.mon).toEqual([['08:00', '18:00']]);
    expect(created.hours.sat ?? []).toEqual([]);
    await page.selectOption('select[name=contract-calendar]', created.id);
    await page.fill('input[name=P1-response]', '15');
    await page.fill('input[name=P1-resolution]', '120');
    await page.click('text=Save contract');
    await expect
      .poll(() => page.locator('form[aria-label=Contract] [role=status]').textContent())
      .toBe('Contract saved.');
    const contract = await apiCall<{ calendarId: string; targets: Record<string, unknown> }>(
      c.admin,
      'GET',
      `/api/v1/clients/${c.clientId}/contract`,
    );
    expect(contract.calendarId).toBe(created.id);
    expect(contract.targets).toEqual({
      P1: { responseMinutes: 15, resolutionMinutes: 120 },
      P2: { responseMinutes: 30, resolutionMinutes: 240 },
    });
    await shot('admin-contracts');
    expect(await axeViolations(page)).toEqual([]);

    // A routing rule: P2 and worse, outside coverage, to whoever is on call.
    await apiCall(c.admin, 'POST', '/api/v1/notifications/channels', {
      kind: 'slack',
      name: 'night desk',
      clientId: c.clientId,
      url: 'https://hooks.slack.example/services/T000/B000/XXX',
    });
    await go('/admin/channels');
    const rule = page.locator('form[aria-label="New routing rule"]');
    await rule.locator('select[name=route-criticality]').selectOption('P2');
    await rule.locator('input[name=route-oncall]').check();
    await rule.locator('input[name=route-outside]').check();
    await rule.locator('text=Add rule').click();
    const row = page.locator('tr[data-route="night desk"]');
    await expect
      .poll(() => row.locator('[data-testid=addressing]').textContent())
      .toBe('on call, outside coverage only');
    const listed = await apiCall<{
      routes: { minCriticality: string; onCall: boolean; outsideCoverageOnly: boolean }[];
    }>(c.admin, 'GET', '/api/v1/notifications/routes');
    expect(listed.routes).toMatchObject([{ minCriticality: 'P2', onCall: true, outsideCoverageOnly: true }]);
    expect(await axeViolations(page)).toEqual([]);
    await shot('admin-routing');
    await row.locator('button[aria-label="Delete the rule of night desk"]').click();
    await expect.poll(() => page.locator('tr[data-route]').count()).toBe(0);
    expect((await apiCall<{ routes: unknown[] }>(c.admin, 'GET', '/api/v1/notifications/routes')).routes).toEqual([]);
  }, 40_000);

  it('shows the TOTP secret as a QR code that decodes to the otpauth URI; a code from it turns TOTP on', async () => {
    await go('/account');
    await page.fill('#acct-password', c.collector.initialAdmin!.password);
    await page.click('text=Create a secret');
    const qr = page.locator('svg[data-testid=totp-qr]');
    await qr.waitFor();
    // Read as a camera would: from the pixels drawn on the screen, by a decoder that is not the encoder.
    const png = PNG.sync.read(await qr.screenshot());
    const decoded = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
    const uri = ((await page.locator('code', { hasText: 'otpauth://' }).textContent()) ?? '').trim();
    expect(uri).toMatch(/^otpauth:\/\/totp\//);
    expect(decoded?.data).toBe(uri);
    const secret = new URL(decoded!.data).searchParams.get('secret')!;
    expect(secret).toBe(await page.locator('[data-testid=totp-secret]').textContent());
    await shot('account-qr');
    expect(await axeViolations(page)).toEqual([]);
    await page.fill('#acct-code', totpCode(secret, Date.now()));
    await page.click('text=Confirm');
    await expect.poll(() => page.locator('[data-testid=totp-state]').textContent()).toBe('on');
    expect((await apiCall<{ totpEnabled: boolean }>(c.admin, 'GET', '/api/v1/auth/me')).totpEnabled).toBe(true);
  }, 20_000);

  it('did nothing a safe page never does', async () => {
    expect(trouble.dialogs).toEqual([]);
    expect(trouble.pageErrors).toEqual([]);
    expect(trouble.consoleErrors).toEqual([]);
    expect(await cspViolations(page)).toEqual([]);
    const adminId = (await apiCall<{ id: string }>(c.admin, 'GET', '/api/v1/auth/me')).id;
    // The only refusals: the login page's session check, the software tab of a machine that has stored no
    // inventory yet (the real agent here does not report one), and the two bad versions.
    const expected = new Set([
      '401 /api/v1/auth/me',
      '401 /api/v1/auth/csrf',
      `404 /api/v1/agents/${shell.agentId}/inventory`,
    ]);
    expect(trouble.failedRequests.filter((r) => !expected.has(r)).sort()).toEqual(
      [
        `400 /api/v1/agents/${shell.agentId}/update`,
        `400 /api/v1/agents/${raw.agentId}/update`,
        // The admin's own demotion, refused.
        `409 /api/v1/users/${adminId}/roles`,
      ].sort(),
    );
  });
});
