/**
 * The administration forms' scaffold, written once: a form named by its `aria-label` that submits without a page
 * load, and fields whose label wraps their control, so a person, a screen reader and the browser tests find each
 * field by its label text. A field is bound to a signal: typing writes it, the form reads it on submit.
 */
import type { Signal } from '@preact/signals';
import type { ComponentChildren } from 'preact';

/** A labelled form; `onSubmit` runs instead of the browser's submission. */
export function ActionForm(props: {
  label: string;
  /** CSS class: `filters` lays fields on a row, `stack` one under the other. */
  class: string;
  onSubmit(): unknown;
  children: ComponentChildren;
}) {
  return (
    <form
      class={props.class}
      aria-label={props.label}
      onSubmit={async (e) => {
        e.preventDefault();
        await props.onSubmit();
      }}
    >
      {props.children}
    </form>
  );
}

/** Attributes a field may pass through to its control. */
interface FieldProps {
  label: ComponentChildren;
  name: string;
  value: Signal<string>;
  required?: boolean;
  disabled?: boolean;
}

/** A text input (or e-mail, password, url, time, number) under its label. */
export function TextField(
  props: FieldProps & { type?: string; maxLength?: number; min?: number; max?: number; autocomplete?: string },
) {
  const { value } = props;
  return (
    <label>
      {props.label}
      <input
        type={props.type}
        name={props.name}
        autocomplete={props.autocomplete}
        required={props.required}
        disabled={props.disabled}
        maxLength={props.maxLength}
        min={props.min}
        max={props.max}
        value={value.value}
        onInput={(e) => (value.value = e.currentTarget.value)}
      />
    </label>
  );
}

/** A choice among `options` (value and the text shown) under its label. */
export function SelectField(props: FieldProps & { options: readonly { value: string; text: string }[] }) {
  const { value } = props;
  return (
    <label>
      {props.label}
      <select
        name={props.name}
        required={props.required}
        disabled={props.disabled}
        value={value.value}
        onChange={(e) => (value.value = e.currentTarget.value)}
      >
        {props.options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.text}
          </option>
        ))}
      </select>
    </label>
  );
}

/** Options for a client choice: the first entry (every client, or none chosen yet), then each client by name. */
export function clientOptions(first: string, clients: readonly { id: string; name: string }[]) {
  return [{ value: '', text: first }, ...clients.map((c) => ({ value: c.id, text: c.name }))];
}
