/** The fields of a bulk action that depend on its kind: the script, the patch scope, the packages, the version. */
import type { Signal } from '@preact/signals';
import type { ScriptInfo } from '../../api/types.js';

/** What the bulk panel runs. */
export type Kind = 'script' | 'patch' | 'software' | 'update';

/** The panel's form state, one signal per field. */
export interface BulkForm {
  kind: Signal<Kind>;
  scripts: Signal<ScriptInfo[]>;
  script: Signal<string>;
  scope: Signal<'all' | 'security'>;
  swAction: Signal<'install' | 'remove'>;
  packages: Signal<string>;
  version: Signal<string>;
  versions: Signal<string[]>;
}

/** The fields for the chosen kind. */
export function BulkFields({ f }: { f: BulkForm }) {
  const kind = f.kind.value;
  if (kind === 'script')
    return (
      <label>
        Script
        <select
          name="script"
          required
          value={f.script.value}
          onChange={(e) => (f.script.value = e.currentTarget.value)}
        >
          {f.scripts.value.length === 0 && <option value="">No scripts in the library</option>}
          {f.scripts.value.map((s) => (
            <option key={s.id} value={s.id}>
              {`${s.name} v${s.version}${s.signed ? ' (signed)' : ''}`}
            </option>
          ))}
        </select>
      </label>
    );
  if (kind === 'patch')
    return (
      <label>
        Patches
        <select
          name="patch-scope"
          value={f.scope.value}
          onChange={(e) => (f.scope.value = e.currentTarget.value as 'all' | 'security')}
        >
          <option value="security">Security updates</option>
          <option value="all">All updates</option>
        </select>
      </label>
    );
  if (kind === 'software')
    return (
      <>
        <label>
          Software
          <select
            name="software-action"
            value={f.swAction.value}
            onChange={(e) => (f.swAction.value = e.currentTarget.value as 'install' | 'remove')}
          >
            <option value="install">Install</option>
            <option value="remove">Remove</option>
          </select>
        </label>
        <label>
          Packages
          <input
            name="packages"
            required
            placeholder="htop, curl"
            value={f.packages.value}
            onInput={(e) => (f.packages.value = e.currentTarget.value)}
          />
        </label>
      </>
    );
  return (
    <label>
      Version
      <input
        name="version"
        required
        list="release-versions"
        placeholder="1.4.0"
        value={f.version.value}
        onInput={(e) => (f.version.value = e.currentTarget.value)}
      />
      <datalist id="release-versions">
        {f.versions.value.map((v) => (
          <option key={v} value={v} />
        ))}
      </datalist>
    </label>
  );
}
