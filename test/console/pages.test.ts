/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// Page functions (page.evaluate, waitForFunction) run in the browser: they are typed against the DOM.
/**
 * The console's second set of pages in a real Chromium against a real collector (TLS, SQLite) and agents enrolled
 * over the real protocol: the live stream (a machine going offline changes its fleet row without a reload, a new
 * ticket appears in the queue; a page of another origin cannot open the stream), administration (users, API tokens,
 * clients and sites, enrollment tokens with the install one-liners, channels), incidents taken and escalated in
 * bulk and assigned, and the machine's hardware, licences, antivirus, change history, jobs and updates tabs.
 * axe-core on every page; screenshots in test/console/screenshots/ (with OUTPOST_UPDATE_SCREENSHOTS=1).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiCall } from '@outpost/collector';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, startTestCollector, type TestCollector } from '../support/collector.js';
import { waitOnline } from '../support/shell.js';
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

const { chromiumPath, skipWhy } = browserTestSetup('test/console/pages');

const SHOTS = process.env.OUTPOST_UPDATE_SCREENSHOTS
  ? join(repoRoot, 'test/console/screenshots')
  : mkdtempSync(join(tmpdir(), 'outpost-console-shots-'));

const linux = (hostname: string) => ({
  hostname,
  os: { platform: 'linux', distro: 'Debian', release: '13', kernel: '6.12.0', arch: 'x64' },
  cpu: { model: 'Xeon', cores: 4 },
  memoryBytes: 8 * 1024 ** 3,
});
const software = (version: string) => [
  {
    name: 'openssl',
    version,
    arch: 'x64',
    publisher: 'Debian',
    install_date: null,
    source: 'dpkg',
    scope: 'machine',
    location: '',
  },
];
const LICENCES = [
  {
    kind: 'os_activation',
    product: 'Windows 11 Pro',
    state: 'licensed',
    channel: 'OEM',
    enabled: null,
    up_to_date: null,
    definitions_date: null,
    expires_at: null,
    version: '23H2',
  },
  {
    kind: 'antivirus',
    product: 'Defender <b>AV</b>',
    state: 'enabled',
    channel: '',
    enabled: true,
    up_to_date: false,
    definitions_date: Date.UTC(2026, 10, 20),
    expires_at: null,
    version: '4.18',
  },
];
const SYSTEM = [
  {
    hostname: 'ws-01',
    manufacturer: 'Dell Inc.',
    model: 'OptiPlex 7010',
    serial: 'SN-7010-42',
    hardware_uuid: '4c4c4544-0000-1000-8000-000000000001',
    machine_id: 'a1b2c3',
    bios_vendor: 'Dell',
    bios_version: '1.2.3',
    bios_date: '2024-01-02',
    chassis_type: 'desktop',
    virtual: false,
  },
];

let c: TestCollector;
let ws1: ReportingAgent;
let ws2: ReportingAgent;
let incidents: string[] = [];
let browser: Awaited<ReturnType<typeof launchChromium>>;
let context: BrowserContext;
let page: Page;
let trouble: PageTrouble;

const go = (path: string) => page.goto(new URL(path, c.apiUrl).href);
const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
const rowOf = (table: string, attr: string, value: string) =>
  page.locator(`table[aria-label="${table}"] tr[${attr}="${value}"]`);

describe.skipIf(!!skipWhy)(`console pages in Chromium ${skipWhy}`, () => {
  beforeAll(async () => {
    // An installers directory as `pnpm package` leaves it: two platforms, the manifest with their hashes.
    const packages = mkdtempSync(join(tmpdir(), 'outpost-console-installers-'));
    const files = [
      ['outpost-agent-linux-x64', 'linux-x64'],
      ['outpost-agent-win-x64.msi', 'win-x64'],
    ].map(([file, platform]) => {
      const body = Buffer.from(`agent for ${platform}`);
      writeFileSync(join(packages, file!), body);
      return {
        file: file!,
        platform: platform!,
        sha256: createHash('sha256').update(body).digest('hex'),
        size: body.length,
      };
    });
    writeFileSync(join(packages, 'manifest.json'), JSON.stringify({ agentVersion: '0.1.0', files }));
    c = await startTestCollector({ installers: { dir: packages, downloadsPerMinute: 60 } });
    const enroll = async (h: string) => reportingAgent(c.agentUrl, (await c.enrollmentToken()).token, linux(h));
    [ws1, ws2] = await Promise.all([enroll('ws-01'), enroll('ws-02')]);
    await Promise.all([waitOnline(c.admin, ws1!.agentId), waitOnline(c.admin, ws2!.agentId)]);
    // An inventory, then openssl upgraded: the change history has a line for it.
    await ws1!.report({ installed_software: software('3.0.1'), licences: LICENCES, system_info: SYSTEM });
    // The upgrade must land after the first inventory is stored, or there is no change to record.
    for (let stored = false; !stored; ) {
      const inv = await apiCall<{ probes: { rows: unknown[] }[] }>(
        c.admin,
        'GET',
        `/api/v1/agents/${ws1!.agentId}/inventory?probe=installed_software`,
      ).catch(() => undefined); // refused until the first inventory is stored
      stored = (inv?.probes[0]?.rows.length ?? 0) > 0;
      if (!stored) await new Promise((r) => setTimeout(r, 50));
    }
    await ws1!.report({ installed_software: software('3.0.2') });
    // A job for ws-01 (the raw agent never answers it: it stays sent).
    await apiCall(c.admin, 'POST', '/api/v1/jobs', {
      spec: { kind: 'software', action: 'install', packages: ['htop'] },
      target: { agentIds: [ws1!.agentId] },
    });
    incidents = [];
    for (const title of ['Printer queue stuck', 'Backup failed twice']) {
      const inc = await apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/incidents', {
        clientId: c.clientId,
        siteId: c.siteId,
        agentIds: [ws1!.agentId],
        title,
        type: 'manual',
        criticality: 'P3',
      });
      incidents.push(inc.id);
    }
    browser = await launchChromium(chromiumPath!);
    context = browser.context;
    await recordCspViolations(context);
    page = context.pages()[0] ?? (await context.newPage());
    trouble = watch(page);
    // The initial admin: every section of the administration is theirs.
    await go('/login');
    await page.fill('#email', c.collector.initialAdmin!.email);
    await page.fill('#password', c.collector.initialAdmin!.password);
    await page.click('button[type=submit]');
    await page.waitForURL(/\/fleet/);
  }, 60_000);

  afterAll(async () => {
    await browser?.[Symbol.asyncDispose]();
    ws1?.agent.close();
    ws2?.agent.close();
    await c?.[Symbol.asyncDispose]();
  });

  it('changes a fleet row when its machine goes offline, pushed by the live stream (no reload, no poll)', async () => {
    await page.waitForFunction(() => document.querySelectorAll('table[aria-label=Machines] tbody tr').length === 2);
    const status = rowOf('Machines', 'data-agent', ws2.agentId).locator('.status');
    expect(await status.textContent()).toBe('online');
    // The stream is open before the machine leaves (the page polls only while it is not).
    await page.waitForSelector('[data-live=open]');
    const fleetReads: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/v1/agents') fleetReads.push(r.url());
    });
    const url = page.url();
    const t0 = Date.now();
    ws2.agent.close();
    await page.waitForFunction(
      (id) => document.querySelector(`tr[data-agent="${id}"] .status`)?.textContent === 'offline',
      ws2.agentId,
      { timeout: 5_000 },
    );
    const ms = Date.now() - t0;
    expect(ms).toBeLessThan(5_000);
    expect(page.url()).toBe(url);
    expect(fleetReads).toEqual([]);
    expect(await rowOf('Machines', 'data-agent', ws1.agentId).locator('.status').textContent()).toBe('online');
    expect(await axeViolations(page)).toEqual([]);
    await shot('fleet-live');
  });

  it('shows a new ticket in the queue as soon as it is opened, and takes and escalates tickets in bulk', async () => {
    await go('/incidents');
    await page.waitForSelector(`tr[data-incident="${incidents[0]}"]`);
    // Opened elsewhere (the API, as detection would): the queue shows it without a reload, well before its 30 s poll.
    const late = await apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/incidents', {
      clientId: c.clientId,
      siteId: c.siteId,
      agentIds: [ws1.agentId],
      title: 'Disk SMART warning',
      type: 'manual',
      criticality: 'P2',
    });
    await page.waitForSelector(`tr[data-incident="${late.id}"]`, { timeout: 5_000 });
    for (const id of incidents) await page.check(`tr[data-incident="${id}"] input[type=checkbox]`);
    await page.click('button:has-text("Take selected")');
    await page.waitForFunction(
      (ids) =>
        ids.every(
          (id) => document.querySelector(`tr[data-incident="${id}"] [data-testid=assignee]`)?.textContent !== '—',
        ),
      incidents,
    );
    const adminId = (await apiCall<{ id: string }>(c.admin, 'GET', '/api/v1/auth/me')).id;
    const read = (id: string) =>
      apiCall<{ incident: { assignee: string | null; escalationLevel: number; tier: number; status: string } }>(
        c.admin,
        'GET',
        `/api/v1/incidents/${id}`,
      );
    for (const id of incidents)
      expect((await read(id)).incident).toMatchObject({ assignee: adminId, status: 'acknowledged' });
    for (const id of incidents) await page.check(`tr[data-incident="${id}"] input[type=checkbox]`);
    await page.fill('input[name=bulk-reason]', 'needs the storage team');
    await page.click('button:has-text("Escalate selected")');
    await page.waitForFunction(
      (ids) =>
        ids.every((id) =>
          document
            .querySelector(`tr[data-incident="${id}"] [data-testid=status]`)
            ?.textContent?.includes('escalated 1'),
        ),
      incidents,
    );
    // Escalation hands the ticket to the next tier's queue (tier 1 → 2), unassigned, one level up.
    for (const id of incidents)
      expect((await read(id)).incident).toMatchObject({ assignee: null, escalationLevel: 1, tier: 2 });
    // The third one, alone: escalated from its row.
    await page.click(`tr[data-incident="${late.id}"] button:has-text("Escalate…")`);
    await page.fill(`#reason-${late.id}`, 'customer called twice');
    await page.click(`tr[data-incident="${late.id}"] button:has-text("Escalate")`);
    await page.waitForFunction(
      (id) =>
        document.querySelector(`tr[data-incident="${id}"] [data-testid=status]`)?.textContent?.includes('escalated'),
      late.id,
    );
    expect(await axeViolations(page)).toEqual([]);
    await shot('incidents-bulk');
  });

  it('filters the queue by client and by SLA state, as the API answers them', async () => {
    const other = await apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/clients', { name: 'Filter Test Co' });
    const site = await apiCall<{ id: string }>(c.admin, 'POST', `/api/v1/clients/${other.id}/sites`, {
      name: 'HQ',
      timezone: 'UTC',
    });
    const theirs = await apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/incidents', {
      clientId: other.id,
      siteId: site.id,
      title: 'Printer offline',
      type: 'manual',
      criticality: 'P3',
    });
    await go('/incidents');
    await page.waitForSelector(`tr[data-incident="${theirs.id}"]`);
    const rows = () =>
      page.$$eval('tr[data-incident]', (trs) => trs.map((tr) => tr.getAttribute('data-incident')!).sort());
    const api = async (q: string) =>
      (
        await apiCall<{ incidents: { id: string }[] }>(
          c.admin,
          'GET',
          `/api/v1/incidents?status=open&status=acknowledged&limit=200${q}`,
        )
      ).incidents
        .map((i) => i.id)
        .sort();
    await page.selectOption('label:has-text("Client") select', other.id);
    await page.waitForFunction(
      (id) =>
        document.querySelectorAll('tr[data-incident]').length === 1 &&
        !!document.querySelector(`tr[data-incident="${id}"]`),
      theirs.id,
    );
    expect(await rows()).toEqual([theirs.id]);
    await page.selectOption('label:has-text("Client") select', '');
    for (const [option, q] of [
      ['breached', '&breached=true'],
      ['on-time', '&breached=false'],
    ] as const) {
      await page.selectOption('label:has-text("SLA") select', option);
      // The page against the API's answer read at the same moment: detection may open a ticket meanwhile (an agent
      // an earlier test stopped goes absent), and the page shows it live, so an answer read before would go stale.
      await expect
        .poll(
          async () => {
            const [shown, wanted] = [await rows(), await api(q)];
            return JSON.stringify(shown) === JSON.stringify(wanted) ? 'same' : `page ${shown} api ${wanted}`;
          },
          { timeout: 20_000, interval: 250 },
        )
        .toBe('same');
    }
    expect(await axeViolations(page)).toEqual([]);
  });

  it("shows a user's request: its channel, the requester, their words as text", async () => {
    const call = await apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/requests/calls', {
      clientId: c.clientId,
      requester: 'Dana <b>Front desk</b>',
      phone: '+33 1 23 45 67 89',
      agentId: ws1.agentId,
      text: 'Printer jammed again <img src=x onerror=alert(1)>',
    });
    await go(`/incidents/${call.id}`);
    await page.waitForSelector('[data-testid=request-text]');
    expect(await page.textContent('[data-testid=channel]')).toBe('phone');
    expect(await page.textContent('[data-testid=requester]')).toContain('Dana <b>Front desk</b>');
    expect(await page.textContent('[data-testid=request-text]')).toBe(
      'Printer jammed again <img src=x onerror=alert(1)>',
    );
    expect(await page.$$('section[aria-label=Request] img, section[aria-label=Request] b')).toHaveLength(0);
    expect(await axeViolations(page)).toEqual([]);
    await shot('incident-request');
  });

  it('filters the fleet by tag and shows the tags column', async () => {
    await apiCall(c.admin, 'POST', `/api/v1/agents/${ws2.agentId}/tags`, { add: ['test-ring'] });
    await go('/fleet');
    await page.waitForSelector('table[aria-label=Machines] tbody tr');
    await page.fill('input[name=tag]', 'Test-Ring');
    await page.click('form[aria-label="Filter machines"] button[type=submit]');
    await page.waitForURL(/tag=test-ring/);
    await page.waitForFunction(() => document.querySelectorAll('table[aria-label=Machines] tbody tr').length === 1);
    expect(await page.textContent('table[aria-label=Machines] tbody tr')).toContain('ws-02');
    await page.click('details.columns summary');
    await page.check('input[name=col-tags]');
    expect(await page.textContent('table[aria-label=Machines] tbody tr [data-testid=tags]')).toBe('test-ring');
    // Back to the columns the next tests expect.
    await page.uncheck('input[name=col-tags]');
    await page.click('details.columns summary');
  });

  it('assigns a ticket to a technician from its page; the timeline says so', async () => {
    const tech = await apiCall<{ id: string }>(c.admin, 'POST', '/api/v1/users', {
      email: 'rita@example.com',
      name: 'Rita Tier',
      password: 'a long password',
      roles: [{ role: 'tier2', clientId: c.clientId }],
    });
    await go(`/incidents/${incidents[0]}`);
    await page.waitForSelector('#assign-to option:has-text("Rita Tier")', { state: 'attached' });
    await page.selectOption('#assign-to', tech.id);
    await page.click('form[aria-label=Assign] button[type=submit]');
    await page.waitForFunction(() => [...document.querySelectorAll('dd')].some((d) => d.textContent === 'Rita Tier'));
    const lines = await page.locator('ol.timeline li .what').allTextContents();
    // In sentences, people by name (not `us_…` ids).
    expect(lines).toEqual(
      expect.arrayContaining([
        'taken by Administrator',
        'escalated from tier 1 to tier 2 (level 1): needs the storage team',
        'assigned to Rita Tier',
      ]),
    );
    expect(lines.join(' ')).not.toMatch(/us_[0-9a-f]/);
    expect(await axeViolations(page)).toEqual([]);
    await shot('incident-assigned');
  });

  it('creates a user, disables and enables them; creates and revokes an API token shown once', async () => {
    await go('/admin/users');
    await page.waitForSelector('tr[data-user="rita@example.com"]');
    const form = page.locator('form[aria-label="New user"]');
    await form.locator('input[name=email]').fill('sam@example.com');
    await form.locator('input[name=name]').fill('Sam Viewer');
    await form.locator('input[name=password]').fill('another long password');
    await form.locator('select[name=role]').selectOption('viewer');
    await form.locator('select[name=client]').selectOption(c.clientId);
    await form.locator('button[type=submit]').click();
    const sam = rowOf('Users', 'data-user', 'sam@example.com');
    await sam.waitFor();
    expect(await sam.locator('td').nth(2).textContent()).toBe('viewer@Acme');
    await sam.locator('button:has-text("Disable")').click();
    await page.waitForFunction(
      () => document.querySelector('tr[data-user="sam@example.com"] [data-testid=state]')?.textContent === 'disabled',
    );
    // Disabled means refused at login.
    await expect(
      apiCall({ server: c.apiUrl, caFingerprint: c.fingerprint }, 'POST', '/api/v1/auth/login', {
        email: 'sam@example.com',
        password: 'another long password',
      }),
    ).rejects.toThrow();
    const users = await apiCall<{ users: { email: string; disabled: boolean }[] }>(c.admin, 'GET', '/api/v1/users');
    expect(users.users.find((u) => u.email === 'sam@example.com')?.disabled).toBe(true);
    expect(await axeViolations(page)).toEqual([]);
    await shot('admin-users');
    await sam.locator('button:has-text("Enable")').click();
    await page.waitForFunction(
      () => document.querySelector('tr[data-user="sam@example.com"] [data-testid=state]')?.textContent === 'active',
    );

    await page.click('nav[aria-label="Administration sections"] a:has-text("API tokens")');
    await page.fill('input[name=token-name]', 'backup script');
    await page.click('form[aria-label="New API token"] button[type=submit]');
    const secret = (await page.locator('[data-testid=new-token]').textContent()) ?? '';
    expect(secret.length).toBeGreaterThan(20);
    // The token shown works as a bearer token for the CLI…
    const me = await apiCall<{ email: string }>(
      { server: c.apiUrl, caFingerprint: c.fingerprint, token: secret },
      'GET',
      '/api/v1/auth/me',
    );
    expect(me.email).toBe(c.collector.initialAdmin!.email);
    const row = rowOf('API tokens', 'data-token', 'backup script');
    await row.locator('button:has-text("Revoke")').click();
    await page.waitForFunction(
      () => document.querySelector('tr[data-token="backup script"] [data-testid=state]')?.textContent === 'revoked',
    );
    // …until revoked.
    await expect(
      apiCall({ server: c.apiUrl, caFingerprint: c.fingerprint, token: secret }, 'GET', '/api/v1/auth/me'),
    ).rejects.toMatchObject({ code: 'OUTPOST_E_UNAUTHENTICATED' });
    expect(await axeViolations(page)).toEqual([]);
    await shot('admin-tokens');
  });

  it('creates a client and a site, then installers for the site: pinned one-liners that enroll', async () => {
    await page.click('nav[aria-label="Administration sections"] a:has-text("Clients and sites")');
    await page.fill('input[name=client-name]', 'Globex');
    await page.click('form[aria-label="New client"] button[type=submit]');
    await rowOf('Clients and sites', 'data-client', 'Globex').waitFor();
    const clients = await apiCall<{ clients: { id: string; name: string }[] }>(c.admin, 'GET', '/api/v1/clients');
    const globex = clients.clients.find((x) => x.name === 'Globex')!;
    await page.selectOption('select[name=site-client]', globex.id);
    await page.fill('input[name=site-name]', 'Lyon');
    await page.fill('input[name=timezone]', 'Europe/Paris');
    await page.click('form[aria-label="New site"] button[type=submit]');
    await page.waitForFunction(
      () => document.querySelector('tr[data-client="Globex"] td:nth-child(2)')?.textContent === 'Lyon',
    );
    expect(await axeViolations(page)).toEqual([]);
    await shot('admin-clients');

    const sites = await apiCall<{ sites: { id: string; name: string }[] }>(
      c.admin,
      'GET',
      `/api/v1/clients/${globex.id}/sites`,
    );
    const lyon = sites.sites[0]!;
    await page.click('nav[aria-label="Administration sections"] a:has-text("Enrollment and installers")');
    await page.selectOption('select[name=site]', lyon.id);
    await page.fill('input[name=uses]', '5');
    await page.click('form[aria-label="Create installers"] button[type=submit]');
    const posix = (await page.locator('pre[data-platform=linux-x64]').textContent()) ?? '';
    const ps = (await page.locator('pre[data-platform=win-x64]').textContent()) ?? '';
    // The same lines the CLI prints: the collector's key pinned, the file's hash checked, the token inside.
    expect(posix).toMatch(/^\(set -eu; d=\$\(mktemp -d\)/);
    expect(posix).toContain("--pinnedpubkey 'sha256//");
    expect(posix).toContain(`--ca-fingerprint '${c.fingerprint}'`);
    expect(posix).toContain(`/install/outpost-agent-linux-x64`);
    expect(ps).toContain('msiexec.exe');
    expect(ps).toContain(`$fp='${c.fingerprint}'`);
    const token = /--token '([^']+)'/.exec(posix)?.[1];
    expect(token).toBeTruthy();
    // The token in the line enrolls a machine into Lyon.
    const joined = await reportingAgent(c.agentUrl, token!, linux('lyon-01'));
    const a = await apiCall<{ siteId: string; clientId: string }>(c.admin, 'GET', `/api/v1/agents/${joined.agentId}`);
    joined.agent.close();
    expect(a).toMatchObject({ siteId: lyon.id, clientId: globex.id });
    await page.reload();
    const listed = page.locator('table[aria-label="Enrollment tokens"] tbody tr', { hasText: 'Globex / Lyon' });
    await listed.waitFor();
    expect(await listed.locator('td').nth(2).textContent()).toBe('1 / 5');
    expect(await axeViolations(page)).toEqual([]);
    await shot('admin-installers');
  });

  it('adds a notification channel and shows its health', async () => {
    await go('/admin/channels');
    await page.fill('input[name=channel-name]', 'Ops Slack');
    await page.selectOption('select[name=kind]', 'slack');
    await page.fill('input[name=url]', 'https://hooks.slack.example/services/T000/B000/XXX');
    await page.click('form[aria-label="New channel"] button[type=submit]');
    const row = rowOf('Notification channels', 'data-channel', 'Ops Slack');
    await row.waitFor();
    expect(await row.locator('td').nth(1).textContent()).toBe('slack');
    expect(await row.locator('td').nth(4).textContent()).toBe('unused');
    expect(await axeViolations(page)).toEqual([]);
    await shot('admin-channels');
  });

  it('shows hardware, licences, antivirus, change history, jobs and updates of a machine', async () => {
    await go(`/machines/${ws1.agentId}`);
    await page.click('button[role=tab]:has-text("Hardware")');
    await page.waitForSelector('table[aria-label=System] tbody tr');
    expect(await page.locator('table[aria-label=System] tbody td').allTextContents()).toEqual(
      expect.arrayContaining(['Dell Inc.', 'OptiPlex 7010', 'SN-7010-42']),
    );
    expect(await axeViolations(page)).toEqual([]);
    await shot('machine-hardware');
    await page.click('button[role=tab]:has-text("Licences")');
    await page.waitForSelector('table[aria-label=Licences] tbody tr');
    expect(await page.locator('table[aria-label=Licences] tbody tr').count()).toBe(1);
    expect(await page.locator('table[aria-label=Licences] tbody td').first().textContent()).toBe('Windows 11 Pro');
    await page.click('button[role=tab]:has-text("Antivirus")');
    await page.waitForSelector('table[aria-label=Antivirus] tbody tr');
    const av = await page.locator('table[aria-label=Antivirus] tbody td').allTextContents();
    expect(av).toEqual(['Defender <b>AV</b>', '4.18', 'true', 'false', '2026-11-20', '']);
    expect(await page.locator('main b').count()).toBe(0);
    expect(await axeViolations(page)).toEqual([]);
    await shot('machine-antivirus');
    await page.click('button[role=tab]:has-text("Changes")');
    await page.waitForSelector('table[aria-label="Change history"] tbody tr');
    const history = await page.locator('table[aria-label="Change history"] tbody tr').allTextContents();
    expect(history.some((h) => h.includes('openssl') && h.includes('3.0.1') && h.includes('3.0.2'))).toBe(true);
    expect(await axeViolations(page)).toEqual([]);
    await shot('machine-history');
    await page.click('button[role=tab]:has-text("Jobs and updates")');
    await page.waitForSelector('table[aria-label=Jobs] tbody tr');
    const job = await page.locator('table[aria-label=Jobs] tbody tr').first().locator('td').allTextContents();
    expect(job[1]).toBe('software install htop');
    expect(['queued', 'sent']).toContain(job[4]);
    expect(await page.textContent('main')).toContain('No update reported by this agent.');
    expect(await axeViolations(page)).toEqual([]);
    await shot('machine-jobs');
  });

  it('picks the fleet columns and saves a view that brings filters and columns back after a reload', async () => {
    await go('/fleet');
    await page.waitForSelector('table[aria-label=Machines] tbody tr');
    const headers = () => page.locator('table[aria-label=Machines] thead th').allTextContents();
    await page.click('details.columns summary');
    await page.check('input[name=col-address]');
    await page.uncheck('input[name=col-version]');
    expect(await headers()).toContain('Address');
    expect((await headers()).some((h) => h.startsWith('Agent'))).toBe(false);
    // The address cell holds the machine's last address, as the API has it.
    const a = await apiCall<{ lastIp: string }>(c.admin, 'GET', `/api/v1/agents/${ws1.agentId}`);
    const idx = (await headers()).indexOf('Address');
    expect(await rowOf('Machines', 'data-agent', ws1.agentId).locator('td').nth(idx).textContent()).toBe(a.lastIp);
    const total = async (q: string) =>
      (await apiCall<{ total: number }>(c.admin, 'GET', `/api/v1/agents?limit=1${q}`)).total;
    const [all, offline] = [await total(''), await total('&status=offline')];
    expect(offline).toBeGreaterThan(0);
    expect(offline).toBeLessThan(all);
    const counted = (n: number) =>
      page.waitForFunction((n) => document.querySelector('.count')?.textContent?.includes(`of ${n} machines`), n);
    await page.selectOption('label:has-text("Status") select', 'offline');
    await counted(offline);
    await page.fill('input[name=view-name]', 'Offline machines');
    await page.click('form[aria-label="Save view"] button[type=submit]');
    await go('/fleet');
    await counted(all);
    expect(await headers()).toContain('Address');
    await page.click('ul[aria-label="Saved views"] button:has-text("Offline machines")');
    await counted(offline);
    expect(page.url()).toContain('status=offline');
    expect(await page.locator('ul[aria-label="Saved views"] li').allTextContents()).toEqual(['Offline machines×']);
    expect(await axeViolations(page)).toEqual([]);
    await shot('fleet-views');
  });

  it('shows the service-quality and perimeter reports with charts, and downloads them', async () => {
    await go('/reports/quality');
    const bars = page.locator('section[aria-label="Service quality"] canvas[data-bars]');
    await bars.waitFor();
    // The bars are the report's figures: the tickets opened above and those detection opened (the antivirus with old
    // definitions); none in the period before.
    const from = new Date(Date.now() - 29 * 86_400_000).toISOString().slice(0, 10);
    const to = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const q = await apiCall<{ current: { incidents: number; byCriticality: Record<string, number> } }>(
      c.admin,
      'GET',
      `/api/v1/reports/quality?clientId=${c.clientId}&from=${from}&to=${to}&format=json`,
    );
    expect(q.current.incidents).toBeGreaterThanOrEqual(3);
    expect(q.current.byCriticality.P2).toBeGreaterThanOrEqual(1);
    expect(JSON.parse((await bars.getAttribute('data-bars'))!)).toEqual([
      ['P1', 'P2', 'P3', 'P4'].map((k) => q.current.byCriticality[k]),
      [0, 0, 0, 0],
    ]);
    expect(
      await page.locator('table[aria-label="Quality figures"] tbody tr').first().locator('td').first().textContent(),
    ).toBe(String(q.current.incidents));
    const csv = await page.evaluate(async () => {
      const href = document.querySelector<HTMLAnchorElement>('a[data-format=csv]')!.href;
      const r = await fetch(href);
      return { status: r.status, type: r.headers.get('content-type'), body: await r.text() };
    });
    expect(csv.status).toBe(200);
    expect(csv.type).toContain('text/csv');
    expect(csv.body.length).toBeGreaterThan(50);
    expect(await axeViolations(page)).toEqual([]);
    await shot('reports-quality');
    await page.click('nav[aria-label=Reports] a:has-text("Perimeter")');
    await page.waitForSelector('table[aria-label="Perimeter machines"] tbody tr');
    expect(await page.locator('table[aria-label="Perimeter machines"] tbody td').allTextContents()).toContain('ws-01');
    const html = await page.evaluate(async () => {
      const r = await fetch(document.querySelector<HTMLAnchorElement>('a[data-format=html]')!.href);
      return { status: r.status, body: await r.text() };
    });
    expect(html.status).toBe(200);
    expect(html.body).toContain('Perimeter documentation');
    expect(await axeViolations(page)).toEqual([]);
    await shot('reports-perimeter');
  });

  it('refuses the live stream to a page of another origin that carries the cookie', async () => {
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
      const got = await other.evaluate(
        (url) =>
          new Promise<string>((resolve) => {
            const s = new EventSource(url, { withCredentials: true });
            s.addEventListener('agent.presence', () => resolve('event'));
            s.onopen = () => resolve('open');
            s.onerror = () => {
              s.close();
              resolve('error');
            };
          }),
        new URL('/api/v1/live', c.apiUrl).href,
      );
      expect(got).toBe('error');
      await other.close();
      const audit = await apiCall<{ events: { type: string; code: string | null; result: string }[] }>(
        c.admin,
        'GET',
        '/api/v1/audit',
      );
      expect(audit.events.some((e) => e.type === 'live.open' && e.code === 'OUTPOST_E_ORIGIN_REFUSED')).toBe(true);
    } finally {
      await new Promise((r) => evil.close(r));
    }
    expect(trouble.dialogs).toEqual([]);
    expect(trouble.pageErrors).toEqual([]);
    expect(trouble.consoleErrors).toEqual([]);
    // Only the session check of the login page, before logging in.
    expect(trouble.failedRequests.sort()).toEqual(['401 /api/v1/auth/csrf', '401 /api/v1/auth/me']);
    expect(await cspViolations(page)).toEqual([]);
  });
});
