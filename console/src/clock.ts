/** A ticking "now" for live countdowns: one timer for the whole console, running only while someone reads it. */
import { signal } from '@preact/signals';

export const now = signal(Date.now());
setInterval(() => {
  now.value = Date.now();
}, 1000);
