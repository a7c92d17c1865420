/** The commands that change the caller's own credentials (password, e-mail, TOTP), and an admin's user switches. */
import { type Command, InvalidArgumentError } from 'commander';
import { api } from './api.js';
import { commandTarget as target } from './credentials.js';
import { printObject, say, sayErr } from './output.js';

const isJson = (cmd: Command) => cmd.optsWithGlobals<{ json?: boolean }>().json === true;

let stdinLines: string[] | undefined;

/**
 * A secret from its flag, else its environment variable, else the next line of standard input (a pipe may carry
 * several, one a line, in the order the command asks), else a prompt that does not echo.
 */
export async function readSecret(
  label: string,
  provided: string | undefined,
  envVar = 'OUTPOST_PASSWORD',
): Promise<string> {
  if (provided) return provided;
  const fromEnv = process.env[envVar];
  if (fromEnv) return fromEnv;
  if (!process.stdin.isTTY) {
    if (!stdinLines) {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      stdinLines = Buffer.concat(chunks).toString('utf8').split('\n');
    }
    return (stdinLines.shift() ?? '').trim();
  }
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => undefined;
  sayErr`${label}: `;
  const pw = await rl.question('');
  rl.close();
  sayErr`\n`;
  return pw;
}

/** The caller's password: `--password`, OUTPOST_PASSWORD, standard input, or a prompt. */
export async function readPassword(provided: string | undefined): Promise<string> {
  return readSecret('password', provided);
}

/** Adds the commands that change the caller's own credentials, and an admin's user switches. */
export function addCredentialCommands(program: Command, users: Command): void {
  addPasswordCommands(program);
  addTotpCommands(program);
  addUserSwitchCommands(users);
}

/** `passwd` and `set-email`: the caller's own login, each proven by the current password. */
function addPasswordCommands(program: Command): void {
  program
    .command('passwd')
    .description(
      "Change your password (asks for the current one, and a code when TOTP is on). Every other session and API token of yours ends, this CLI's too: log in again after.",
    )
    .option(
      '--current-password <password>',
      'current password (default: OUTPOST_PASSWORD, standard input, or a prompt)',
    )
    .option(
      '--new-password <password>',
      'new password (default: OUTPOST_NEW_PASSWORD, the next input line, or a prompt)',
    )
    .option('--totp <code>', 'current 6-digit code when TOTP is enabled')
    .action(async function (this: Command, o: { currentPassword?: string; newPassword?: string; totp?: string }) {
      const t = target(this);
      const currentPassword = await readSecret('current password', o.currentPassword);
      const newPassword = await readSecret('new password', o.newPassword, 'OUTPOST_NEW_PASSWORD');
      if (!o.newPassword && !process.env.OUTPOST_NEW_PASSWORD && process.stdin.isTTY) {
        const again = await readSecret('new password again', undefined, 'OUTPOST_NEW_PASSWORD_AGAIN');
        if (again !== newPassword) throw new InvalidArgumentError('the two new passwords differ');
      }
      const r = await api(t, 'POST /api/v1/auth/password', {
        body: { currentPassword, newPassword, ...(o.totp ? { totp: o.totp } : {}) },
      });
      if (isJson(this)) printObject(r, true);
      else
        say`password changed; ${r.endedTokens} session(s) and API token(s) ended, this CLI's included: run \`outpost login\` again\n`;
    });

  program
    .command('set-email <email>')
    .description('Change the e-mail you log in with (asks for your password, and a code when TOTP is on).')
    .option('--password <password>', 'your password (default: OUTPOST_PASSWORD, standard input, or a prompt)')
    .option('--totp <code>', 'current 6-digit code when TOTP is enabled')
    .action(async function (this: Command, email: string, o: { password?: string; totp?: string }) {
      const t = target(this);
      const password = await readPassword(o.password);
      printObject(
        await api(t, 'POST /api/v1/auth/email', { body: { email, password, ...(o.totp ? { totp: o.totp } : {}) } }),
        isJson(this),
      );
    });
}

/** `totp setup|enable|disable`: the caller's second factor. */
function addTotpCommands(program: Command): void {
  const totp = program.command('totp').description('Your second factor (an authenticator app).');
  totp
    .command('setup')
    .description(
      'Start setting up (or replacing) TOTP: prints a secret and an otpauth:// URI for the app. The current factor stays on until `outpost totp enable <code>` confirms the new one.',
    )
    .option('--password <password>', 'your password (default: OUTPOST_PASSWORD, standard input, or a prompt)')
    .option('--totp <code>', 'current 6-digit code when TOTP is already on')
    .action(async function (this: Command, o: { password?: string; totp?: string }) {
      const t = target(this);
      const password = await readPassword(o.password);
      const r = await api(t, 'POST /api/v1/auth/totp/setup', {
        body: { password, ...(o.totp ? { totp: o.totp } : {}) },
      });
      if (isJson(this)) printObject(r, true);
      else
        say`secret ${r.secret}\n${r.uri}\nadd it to your app, then run: outpost totp enable <code shown by the app>\n`;
    });
  totp
    .command('enable <code>')
    .description('Confirm the secret from `outpost totp setup` with a code from the app; login then needs a code.')
    .action(async function (this: Command, code: string) {
      await api(target(this), 'POST /api/v1/auth/totp/enable', { body: { code } });
      say`TOTP enabled: \`outpost login\` now needs --totp\n`;
    });
  totp
    .command('disable')
    .description('Switch TOTP off (needs your password and a current code).')
    .requiredOption('--totp <code>', 'current 6-digit code')
    .option('--password <password>', 'your password (default: OUTPOST_PASSWORD, standard input, or a prompt)')
    .action(async function (this: Command, o: { password?: string; totp: string }) {
      const t = target(this);
      const password = await readPassword(o.password);
      await api(t, 'POST /api/v1/auth/totp/disable', { body: { password, totp: o.totp } });
      say`TOTP disabled\n`;
    });
}

/** `users disable|enable` (admin). */
function addUserSwitchCommands(users: Command): void {
  for (const [verb, text] of [
    ['disable', 'Disable a user (admin): they cannot log in, and their sessions and API tokens end at once.'],
    ['enable', 'Enable a disabled user again (admin); they log in anew (their old tokens stay ended).'],
  ] as const) {
    users
      .command(`${verb} <userId>`)
      .description(text)
      .action(async function (this: Command, id: string) {
        printObject(
          await api(target(this), `POST /api/v1/users/:id/${verb}`, { params: { id }, body: {} }),
          isJson(this),
        );
      });
  }
}
