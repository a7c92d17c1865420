/**
 * The ticket actions beyond the queue's: pause / resume the SLA clock (waiting on the customer), de-escalate one
 * tier, close a resolved ticket, reopen a resolved or closed one. Each is offered only from the states the API
 * accepts (incidents/model.ts `ALLOWED`); the API still decides (the reopen window, an already-open twin), and its
 * refusal shows with its code.
 */
import { useSignal } from '@preact/signals';
import { Api } from '../../api/client.js';
import type { Incident } from '../../api/types.js';
import { ErrorLine } from '../../components/Layout.js';

/** An action that needs a reason: a button, then a small form. */
function WithReason(props: { id: string; label: string; run(reason: string): Promise<void> }) {
  const open = useSignal(false);
  const reason = useSignal('');
  if (!open.value)
    return (
      <button type="button" onClick={() => (open.value = true)}>
        {`${props.label}…`}
      </button>
    );
  return (
    <form
      class="resolve"
      aria-label={props.label}
      onSubmit={async (e) => {
        e.preventDefault();
        await props.run(reason.value.trim());
        open.value = false;
        reason.value = '';
      }}
    >
      <label for={props.id}>{`${props.label}: reason`}</label>
      <input
        id={props.id}
        required
        maxLength={2000}
        value={reason.value}
        onInput={(e) => (reason.value = e.currentTarget.value)}
      />
      <button type="submit">{props.label}</button>
      <button type="button" class="link" onClick={() => (open.value = false)}>
        Cancel
      </button>
    </form>
  );
}

export function TicketActions(props: { incident: Incident; onChange(i: Incident): void }) {
  const error = useSignal<unknown>(null);
  const i = props.incident;
  const act = async (run: () => Promise<Incident>) => {
    try {
      props.onChange(await run());
      error.value = null;
    } catch (err) {
      error.value = err;
    }
  };
  const live = i.status === 'open' || i.status === 'acknowledged';
  const done = i.status === 'resolved' || i.status === 'closed';
  return (
    <section class="ticket-actions" aria-label="Ticket actions">
      <div class="filters">
        {live && !i.paused && (
          <WithReason id="pause-reason" label="Pause SLA" run={(r) => act(() => Api.pause(i.id, r))} />
        )}
        {live && i.paused && (
          <button type="button" onClick={() => act(() => Api.resume(i.id))}>
            Resume SLA
          </button>
        )}
        {live && i.tier > 1 && (
          <WithReason id="deescalate-reason" label="De-escalate" run={(r) => act(() => Api.deescalate(i.id, r))} />
        )}
        {i.status === 'resolved' && (
          <button type="button" onClick={() => act(() => Api.close(i.id))}>
            Close
          </button>
        )}
        {done && <WithReason id="reopen-reason" label="Reopen" run={(r) => act(() => Api.reopen(i.id, r))} />}
      </div>
      <ErrorLine error={error.value} />
    </section>
  );
}
