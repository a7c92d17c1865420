/** A list a section shows: loaded on mount, reloaded after each change, its error kept for the page. */
import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';

export function useList<T>(fetcher: () => Promise<T>) {
  const data = useSignal<T | null>(null);
  const error = useSignal<unknown>(null);
  const reload = () =>
    fetcher()
      .then((d) => {
        data.value = d;
        error.value = null;
      })
      .catch((err: unknown) => {
        error.value = err;
      });
  useEffect(() => {
    void reload();
  }, []);
  /** Runs a change, then reloads; a refusal shows as the section's error. */
  const act = async (fn: () => Promise<unknown>) => {
    try {
      await fn();
      error.value = null;
      await reload();
      return true;
    } catch (err) {
      error.value = err;
      return false;
    }
  };
  return { data, error, reload, act };
}
