/** The fleet's column chooser and saved views (kept per user in the browser: views.ts says why). */
import { type Signal, useSignal } from '@preact/signals';
import { navigate, route } from '../../router.js';
import { FLEET_COLUMNS, type FleetColumn, type FleetView, saveViews } from './views.js';

/** Columns, "save view" and the saved views of `userId`. */
export function FleetViews({
  userId,
  columns,
  setColumns,
  views,
}: {
  userId: string;
  columns: FleetColumn[];
  setColumns: (next: FleetColumn[]) => void;
  views: Signal<FleetView[]>;
}) {
  const viewName = useSignal('');
  const saveAll = (next: FleetView[]) => {
    views.value = next;
    saveViews(userId, next);
  };
  return (
    <div class="filters">
      <ColumnPicker columns={columns} setColumns={setColumns} />
      <form
        class="filters"
        aria-label="Save view"
        onSubmit={(e) => {
          e.preventDefault();
          const name = viewName.value.trim();
          if (!name) return;
          const query = route.value.search.replace(/^\?/, '').replace(/(^|&)offset=\d+/, '');
          saveAll([...views.value.filter((v) => v.name !== name), { name, query, columns }]);
          viewName.value = '';
        }}
      >
        <label>
          View name
          <input
            name="view-name"
            maxLength={100}
            value={viewName.value}
            onInput={(e) => (viewName.value = e.currentTarget.value)}
          />
        </label>
        <button type="submit">Save view</button>
      </form>
      {views.value.length > 0 && (
        <ul class="views" aria-label="Saved views">
          {views.value.map((v) => (
            <li key={v.name}>
              <button
                type="button"
                class="link"
                onClick={() => {
                  setColumns(v.columns);
                  navigate(v.query ? `/fleet?${v.query}` : '/fleet');
                }}
              >
                {v.name}
              </button>
              <button
                type="button"
                class="link"
                aria-label={`Delete view ${v.name}`}
                onClick={() => saveAll(views.value.filter((x) => x.name !== v.name))}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** The columns shown; the hostname (the link to the machine) always stays. */
function ColumnPicker({ columns, setColumns }: { columns: FleetColumn[]; setColumns(next: FleetColumn[]): void }) {
  return (
    <details class="columns">
      <summary>Columns</summary>
      <fieldset>
        <legend class="visually-hidden">Columns shown</legend>
        {FLEET_COLUMNS.map((c) => (
          <label key={c.key}>
            <input
              type="checkbox"
              name={`col-${c.key}`}
              checked={columns.includes(c.key)}
              // The hostname links to the machine: it always stays.
              disabled={c.key === 'hostname'}
              onChange={(e) =>
                setColumns(
                  e.currentTarget.checked
                    ? FLEET_COLUMNS.map((x) => x.key).filter((k) => k === c.key || columns.includes(k))
                    : columns.filter((k) => k !== c.key),
                )
              }
            />{' '}
            {c.label}
          </label>
        ))}
      </fieldset>
    </details>
  );
}
