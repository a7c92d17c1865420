/**
 * Support contracts and their coverage calendars, read by every technician (`contracts.read`) and edited by admins
 * (`contracts.manage`, checked by the collector): a calendar is 24/7 or business hours on chosen weekdays in a time
 * zone, with holidays; a client's contract names a calendar and the response / resolution targets per criticality
 * (a criticality left empty has no SLA). Saving replaces the whole object, as `outpost contracts set` does.
 */
import { type Signal, useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { Api } from '../../api/client.js';
import type { CalendarInfo, ContractInfo, SlaTarget } from '../../api/types.js';
import { holds } from '../../can.js';
import { ActionForm, clientOptions, SelectField, TextField } from '../../components/Form.js';
import { ErrorLine } from '../../components/Layout.js';
import { currentUser } from '../../session.js';
import { useList } from './load.js';

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const PRIORITIES = ['P1', 'P2', 'P3', 'P4'] as const;
const COVERAGE = [
  { value: 'hours', text: 'Business hours' },
  { value: '24x7', text: '24/7' },
];

/** "Mon–Fri 08:00–18:00"-style summary of a calendar's hours. */
function hoursText(c: CalendarInfo): string {
  if (c.kind === '24x7') return '24/7';
  return DAYS.filter((d) => c.hours[d]?.length)
    .map((d) => `${d} ${(c.hours[d] ?? []).map(([a, b]) => `${a}–${b}`).join(', ')}`)
    .join('; ');
}

/** The same span of hours on each chosen day. */
function weekHours(days: ReadonlySet<string>, from: string, to: string): Record<string, [string, string][]> {
  return Object.fromEntries(DAYS.filter((d) => days.has(d)).map((d) => [d, [[from, to]]]));
}

/** The calendar form: create (id null) or replace. */
function CalendarForm(props: {
  calendar: CalendarInfo | null;
  clients: readonly { id: string; name: string }[];
  onSave(id: string | null, body: Omit<CalendarInfo, 'id'>): Promise<boolean>;
}) {
  const c = props.calendar;
  const name = useSignal(c?.name ?? '');
  const clientId = useSignal(c?.clientId ?? props.clients[0]?.id ?? '');
  const timezone = useSignal(c?.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone);
  const kind = useSignal(c?.kind ?? 'hours');
  const firstDay = c ? DAYS.find((d) => c.hours[d]?.length) : undefined;
  const days = useSignal<ReadonlySet<string>>(
    new Set(c ? DAYS.filter((d) => c.hours[d]?.length) : ['mon', 'tue', 'wed', 'thu', 'fri']),
  );
  const from = useSignal(firstDay ? c!.hours[firstDay]![0]![0] : '08:00');
  const to = useSignal(firstDay ? c!.hours[firstDay]![0]![1] : '18:00');
  const holidays = useSignal((c?.holidays ?? []).join(', '));
  const label = c ? `Edit calendar ${c.name}` : 'New calendar';
  const save = async () => {
    const ok = await props.onSave(c?.id ?? null, {
      name: name.value.trim(),
      clientId: clientId.value || null,
      timezone: timezone.value.trim(),
      kind: kind.value,
      hours: kind.value === 'hours' ? weekHours(days.value, from.value, to.value) : {},
      holidays: holidays.value
        .split(/[\s,]+/)
        .map((h) => h.trim())
        .filter(Boolean),
    });
    if (ok && !c) name.value = '';
  };
  return (
    <ActionForm class="stack" label={label} onSubmit={save}>
      <h4>{label}</h4>
      <TextField label="Name" name="calendar-name" required maxLength={100} value={name} />
      <SelectField
        label="Client"
        name="calendar-client"
        value={clientId}
        options={clientOptions('Every client (shared)', props.clients)}
      />
      <TextField label="Time zone" name="calendar-timezone" required value={timezone} />
      <SelectField label="Coverage" name="calendar-kind" value={kind} options={COVERAGE} />
      {kind.value === 'hours' && <DaysAndHours days={days} from={from} to={to} />}
      <TextField label="Holidays (YYYY-MM-DD, comma-separated)" name="calendar-holidays" value={holidays} />
      <button type="submit">{c ? 'Save calendar' : 'Create calendar'}</button>
    </ActionForm>
  );
}

/** Targets as typed: minutes per priority, as text ('' = no SLA for that priority). */
type Targets = Record<string, { response: string; resolution: string }>;

/** A client's contract, read (a missing one is an empty form) and its form fields filled from it. */
function useContract(clientId: string, calendars: readonly CalendarInfo[]) {
  const contract = useSignal<ContractInfo | null | undefined>(undefined);
  const error = useSignal<unknown>(null);
  const name = useSignal('');
  const calendarId = useSignal('');
  const targets = useSignal<Targets>({});
  const saved = useSignal('');
  const fill = (c: ContractInfo | null) => {
    contract.value = c;
    name.value = c?.name ?? '';
    calendarId.value = c?.calendarId ?? calendars[0]?.id ?? '';
    targets.value = Object.fromEntries(
      PRIORITIES.map((p) => {
        const t = c?.targets[p];
        return [p, { response: t ? String(t.responseMinutes) : '', resolution: t ? String(t.resolutionMinutes) : '' }];
      }),
    );
  };
  useEffect(() => {
    saved.value = '';
    Api.contract(clientId)
      .then(fill)
      .catch((err: unknown) => {
        // No contract yet is a 404: an empty form, not an error.
        if ((err as { status?: number }).status === 404) fill(null);
        else error.value = err;
      });
  }, [clientId]);
  // A new or deleted calendar must not re-read the contract: that would throw away what the admin is typing. It only
  // fills the default when the list arrives after the contract.
  useEffect(() => {
    if (contract.value !== undefined && !calendarId.value && calendars[0]) calendarId.value = calendars[0].id;
  }, [calendars.length, contract.value]);
  return { contract, error, name, calendarId, targets, saved, fill };
}

/** A client's contract: shown, and edited by admins. */
function ContractPanel(props: { clientId: string; calendars: readonly CalendarInfo[]; admin: boolean }) {
  const { contract, error, name, calendarId, targets, saved, fill } = useContract(props.clientId, props.calendars);
  if (contract.value === undefined) return <ErrorLine error={error.value} />;
  const setTarget = (p: string, k: 'response' | 'resolution', v: string) =>
    (targets.value = { ...targets.value, [p]: { ...targets.value[p]!, [k]: v } });
  const save = async () => {
    error.value = null;
    const t: Partial<Record<string, SlaTarget>> = {};
    for (const p of PRIORITIES) {
      const x = targets.value[p]!;
      if (x.response && x.resolution)
        t[p] = { responseMinutes: Number(x.response), resolutionMinutes: Number(x.resolution) };
    }
    try {
      fill(
        await Api.setContract(props.clientId, { name: name.value.trim(), calendarId: calendarId.value, targets: t }),
      );
      saved.value = 'Contract saved.';
    } catch (err) {
      error.value = err;
    }
  };
  return (
    <ActionForm class="stack" label="Contract" onSubmit={save}>
      <p class="muted" data-testid="contract-state">
        {contract.value ? `Contract ${contract.value.name}` : 'No contract: tickets of this client have no SLA.'}
      </p>
      <TextField label="Contract name" name="contract-name" required disabled={!props.admin} value={name} />
      <SelectField
        label="Coverage calendar"
        name="contract-calendar"
        required
        disabled={!props.admin}
        value={calendarId}
        options={props.calendars.map((c) => ({ value: c.id, text: `${c.name} (${hoursText(c)}, ${c.timezone})` }))}
      />
      <TargetsTable targets={targets.value} admin={props.admin} setTarget={setTarget} />
      {props.admin && <button type="submit">Save contract</button>}
      {saved.value && <p role="status">{saved.value}</p>}
      <ErrorLine error={error.value} />
    </ActionForm>
  );
}

/** Business-hours days and the one span of hours they share. */
function DaysAndHours({
  days,
  from,
  to,
}: {
  days: Signal<ReadonlySet<string>>;
  from: Signal<string>;
  to: Signal<string>;
}) {
  return (
    <fieldset class="filters">
      <legend>Days and hours</legend>
      {DAYS.map((d) => (
        <label key={d}>
          <input
            type="checkbox"
            name={`day-${d}`}
            checked={days.value.has(d)}
            onChange={(e) => {
              const next = new Set(days.value);
              if (e.currentTarget.checked) next.add(d);
              else next.delete(d);
              days.value = next;
            }}
          />{' '}
          {d}
        </label>
      ))}
      <TextField label="From" name="hours-from" type="time" required value={from} />
      <TextField label="To" name="hours-to" type="time" required value={to} />
    </fieldset>
  );
}

/** Response and resolution minutes per priority. */
function TargetsTable(props: {
  targets: Targets;
  admin: boolean;
  setTarget(p: string, k: 'response' | 'resolution', v: string): void;
}) {
  return (
    <table class="grid" aria-label="SLA targets (minutes)">
      <thead>
        <tr>
          <th scope="col">Priority</th>
          <th scope="col">Response (min)</th>
          <th scope="col">Resolution (min)</th>
        </tr>
      </thead>
      <tbody>
        {PRIORITIES.map((p) => (
          <tr key={p}>
            <th scope="row">{p}</th>
            {(['response', 'resolution'] as const).map((k) => (
              <td key={k}>
                <input
                  name={`${p}-${k}`}
                  aria-label={`${p} ${k} minutes`}
                  type="number"
                  min={1}
                  disabled={!props.admin}
                  value={props.targets[p]?.[k] ?? ''}
                  onInput={(e) => props.setTarget(p, k, e.currentTarget.value)}
                />
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function ContractsSection() {
  const admin = holds(currentUser.value, 'admin');
  const calendars = useList(() => Api.calendars().then((r) => r.calendars));
  const clients = useList(() => Api.clients().then((r) => r.clients));
  const clientId = useSignal('');
  const editing = useSignal<string | null>(null);
  const list = clients.data.value ?? [];
  const chosen = clientId.value || list[0]?.id || '';
  const clientName = (id: string | null) =>
    id === null ? 'every client' : (list.find((c) => c.id === id)?.name ?? id);
  const save = (id: string | null, body: Omit<CalendarInfo, 'id'>) =>
    calendars.act(async () => {
      await Api.saveCalendar(id, body);
      editing.value = null;
    });
  return (
    <>
      <ErrorLine error={calendars.error.value ?? clients.error.value} />
      <h3>Coverage calendars</h3>
      <table class="grid" aria-label="Calendars">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Client</th>
            <th scope="col">Time zone</th>
            <th scope="col">Hours</th>
            <th scope="col">Holidays</th>
            {admin && <th scope="col">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {calendars.data.value?.map((c) => (
            <tr key={c.id} data-calendar={c.name}>
              <td>{c.name}</td>
              <td>{clientName(c.clientId)}</td>
              <td>{c.timezone}</td>
              <td data-testid="hours">{hoursText(c)}</td>
              <td>{c.holidays.join(', ') || '—'}</td>
              {admin && (
                <td>
                  <button type="button" aria-label={`Edit calendar ${c.name}`} onClick={() => (editing.value = c.id)}>
                    Edit
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {admin && (
        <CalendarForm
          key={editing.value ?? 'new'}
          calendar={calendars.data.value?.find((c) => c.id === editing.value) ?? null}
          clients={list}
          onSave={save}
        />
      )}
      <h3>Contract</h3>
      <label>
        Client
        <select name="contract-client" value={chosen} onChange={(e) => (clientId.value = e.currentTarget.value)}>
          {list.map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
        </select>
      </label>
      {chosen && calendars.data.value && (
        <ContractPanel key={chosen} clientId={chosen} calendars={calendars.data.value} admin={admin} />
      )}
    </>
  );
}
