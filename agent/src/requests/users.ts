/** The account name of a uid, from the operating system (never from what the caller says). */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';

/** `name` for the uid from /etc/passwd, else `id -nu` (directory services on macOS), else `uid <n>`. */
export async function userName(uid: number): Promise<string> {
  try {
    for (const line of (await readFile('/etc/passwd', 'utf8')).split('\n')) {
      const [name, , id] = line.split(':');
      if (name && id === String(uid)) return name;
    }
  } catch {
    // No /etc/passwd (or unreadable): ask `id` below.
  }
  const viaId = await new Promise<string | undefined>((resolve) =>
    execFile('id', ['-nu', String(uid)], { timeout: 2000 }, (err, out) =>
      resolve(err ? undefined : out.trim() || undefined),
    ),
  );
  return viaId ?? `uid ${uid}`;
}
