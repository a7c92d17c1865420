/**
 * Reports a service manager reads: service quality (incidents, MTTA/MTTR, SLA compliance, breaches, penalties, this
 * period against the one before) and the perimeter documentation (machines, obsolescence, end-of-life OS, critical
 * patches, antivirus), both with uPlot charts and downloadable as HTML, CSV or JSON (the collector renders them: the
 * same files `outpost reports …` writes). Its own chunk, with uPlot.
 */
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { Api, api } from '../../api/client.js';
import type { Client } from '../../api/types.js';
import { ErrorLine, Layout, Link } from '../../components/Layout.js';
import { BarChart } from './BarChart.js';
import type { PerimeterReport, QualityReport } from './types.js';

const day = (t: number) => new Date(t).toISOString().slice(0, 10);
const hours = (ms: number | null) => (ms === null ? '—' : `${(ms / 3_600_000).toFixed(1)} h`);
const pct = (v: number | null) => (v === null ? '—' : `${Math.round(v * 100)} %`);
const CRITS = ['P1', 'P2', 'P3', 'P4'] as const;

/** The download links of a report (the browser sends the cookie: same origin). */
function Downloads(props: { path: string; query: Record<string, string> }) {
  const href = (format: string) => `${props.path}?${new URLSearchParams({ ...props.query, format })}`;
  return (
    <p class="downloads">
      Download:{' '}
      {['html', 'csv', 'json'].map((f) => (
        <a key={f} href={href(f)} download data-format={f}>
          {f.toUpperCase()}
        </a>
      ))}
    </p>
  );
}

function Quality(props: { clientId: string; from: string; to: string }) {
  const report = useSignal<QualityReport | null>(null);
  const error = useSignal<unknown>(null);
  const query = { clientId: props.clientId, from: props.from, to: props.to };
  useEffect(() => {
    report.value = null;
    api<QualityReport>('GET', '/api/v1/reports/quality', { query: { ...query, format: 'json' } })
      .then((r) => {
        report.value = r;
        error.value = null;
      })
      .catch((err: unknown) => {
        error.value = err;
      });
  }, [props.clientId, props.from, props.to]);
  const r = report.value;
  return (
    <section aria-label="Service quality">
      <ErrorLine error={error.value} />
      <Downloads path="/api/v1/reports/quality" query={query} />
      {r && (
        <>
          <table class="grid" aria-label="Quality figures">
            <thead>
              <tr>
                <th scope="col">Figure</th>
                <th scope="col">{`${day(r.current.from)} – ${day(r.current.to)}`}</th>
                <th scope="col">{`Before (${day(r.previous.from)} – ${day(r.previous.to)})`}</th>
              </tr>
            </thead>
            <tbody>
              {(
                [
                  ['Incidents', (p) => String(p.incidents)],
                  ['Acknowledged', (p) => String(p.acknowledged)],
                  ['Resolved', (p) => String(p.resolved)],
                  ['Mean time to acknowledge', (p) => hours(p.mttaMs)],
                  ['Mean time to resolve', (p) => hours(p.mttrMs)],
                  ['SLA compliance', (p) => pct(p.sla.find((s) => s.criticality === 'all')?.compliance ?? null)],
                  ['Breaches (response / resolution)', (p) => `${p.breaches.response} / ${p.breaches.resolution}`],
                  ['Penalties', (p) => (p.penalty ? `${p.penalty.amount} ${p.penalty.currency}` : '—')],
                ] as [string, (p: QualityReport['current']) => string][]
              ).map(([label, f]) => (
                <tr key={label}>
                  <th scope="row">{label}</th>
                  <td>{f(r.current)}</td>
                  <td>{f(r.previous)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <BarChart
            title="Incidents by priority"
            categories={[...CRITS]}
            series={[
              { label: 'this period', values: CRITS.map((c) => r.current.byCriticality[c]) },
              { label: 'period before', values: CRITS.map((c) => r.previous.byCriticality[c]) },
            ]}
          />
          <h3>Most frequent</h3>
          <ul>
            {r.current.topRules.map((t) => (
              <li key={t.rule}>{`${t.rule}: ${t.count}`}</li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

function Perimeter(props: { clientId: string }) {
  const report = useSignal<PerimeterReport | null>(null);
  const error = useSignal<unknown>(null);
  useEffect(() => {
    report.value = null;
    api<PerimeterReport>('GET', '/api/v1/reports/perimeter', { query: { clientId: props.clientId, format: 'json' } })
      .then((r) => {
        report.value = r;
        error.value = null;
      })
      .catch((err: unknown) => {
        error.value = err;
      });
  }, [props.clientId]);
  const r = report.value;
  const s = r?.summary;
  return (
    <section aria-label="Perimeter">
      <ErrorLine error={error.value} />
      <Downloads path="/api/v1/reports/perimeter" query={{ clientId: props.clientId }} />
      {r && s && (
        <>
          <BarChart
            title="Perimeter"
            categories={['machines', 'obsolete', 'EOL OS', 'critical patches', 'AV off', 'AV ≤ 30 d']}
            series={[
              {
                label: 'machines',
                values: [s.machines, s.obsolete, s.endOfLifeOs, s.withCriticalPatches, s.avDisabled, s.avExpiring30],
              },
            ]}
          />
          <table class="grid" aria-label="Perimeter machines">
            <thead>
              <tr>
                <th scope="col">Machine</th>
                <th scope="col">Model</th>
                <th scope="col">Age</th>
                <th scope="col">OS</th>
                <th scope="col">Pending patches</th>
                <th scope="col">Antivirus</th>
              </tr>
            </thead>
            <tbody>
              {r.machines.map((m) => (
                <tr key={m.deviceId}>
                  <td>
                    <Link href={`/machines/${encodeURIComponent(m.agentId)}`}>{m.hostname}</Link>
                  </td>
                  <td>{`${m.manufacturer} ${m.model}`.trim()}</td>
                  <td>{m.ageYears === null ? '—' : `${m.ageYears.toFixed(1)} y${m.obsolete ? ' (obsolete)' : ''}`}</td>
                  <td>{`${m.os}${m.osEndOfLife ? ' (end of life)' : ''}`}</td>
                  <td>{`${m.pendingPatches} (${m.pendingSecurity} security)`}</td>
                  <td>
                    {m.antivirus
                      .map(
                        (a) =>
                          `${a.product}${a.enabled === false ? ' off' : ''}${a.upToDate === false ? ' outdated' : ''}`,
                      )
                      .join(', ') || '—'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

export function ReportsPage(props: { kind: string | undefined }) {
  const clients = useSignal<Client[]>([]);
  const clientId = useSignal('');
  const error = useSignal<unknown>(null);
  const to = useSignal(day(Date.now() + 86_400_000));
  const from = useSignal(day(Date.now() - 29 * 86_400_000));
  useEffect(() => {
    Api.clients()
      .then((r) => {
        clients.value = r.clients;
        if (!clientId.value && r.clients[0]) clientId.value = r.clients[0].id;
      })
      .catch((err: unknown) => {
        error.value = err;
      });
  }, []);
  const kind = props.kind === 'perimeter' ? 'perimeter' : 'quality';
  return (
    <Layout>
      <h1>Reports</h1>
      <nav class="tabs" aria-label="Reports">
        <Link href="/reports/quality" class={kind === 'quality' ? 'active' : undefined}>
          Service quality
        </Link>
        <Link href="/reports/perimeter" class={kind === 'perimeter' ? 'active' : undefined}>
          Perimeter
        </Link>
      </nav>
      <ErrorLine error={error.value} />
      <div class="filters">
        <label>
          Client
          <select name="client" value={clientId.value} onChange={(e) => (clientId.value = e.currentTarget.value)}>
            {clients.value.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        {kind === 'quality' && (
          <>
            <label>
              From
              <input
                type="date"
                name="from"
                value={from.value}
                onChange={(e) => (from.value = e.currentTarget.value)}
              />
            </label>
            <label>
              To
              <input type="date" name="to" value={to.value} onChange={(e) => (to.value = e.currentTarget.value)} />
            </label>
          </>
        )}
      </div>
      {clientId.value &&
        (kind === 'quality' ? (
          <Quality clientId={clientId.value} from={from.value} to={to.value} />
        ) : (
          <Perimeter clientId={clientId.value} />
        ))}
    </Layout>
  );
}
