import { spawn } from '@lydell/node-pty';
import { describe, expect, it } from 'vitest';
import { EchoProbe, secretFromStty } from './echo.js';

describe('secretFromStty', () => {
  it('is canonical mode without echo, from Linux stty -g', () => {
    // Captured from a real PTY: bash readline (raw, no echo), `read -s` (canonical, no echo), `cat` (both on).
    expect(
      secretFromStty('2c02:5:4bf:8a31:3:1c:7f:15:4:0:1:0:11:13:1a:ff:12:0:17:0:ff:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0'),
    ).toBe(false);
    expect(
      secretFromStty('2d02:5:4bf:8a13:3:1c:7f:15:4:0:1:0:11:13:1a:ff:12:f:17:16:ff:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0\n'),
    ).toBe(true);
    expect(
      secretFromStty('500:5:bf:8a3b:3:1c:7f:15:4:0:1:0:11:13:1a:0:12:f:17:16:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0'),
    ).toBe(false);
    expect(secretFromStty('gfmt1:cflag=4b00:iflag=6b02')).toBeUndefined();
  });
});

describe.runIf(process.platform === 'linux')('EchoProbe on a real PTY', () => {
  it('tells a password prompt (read -s) from a shell prompt and from a running command', async () => {
    const pty = spawn('/bin/bash', ['--norc', '--noprofile', '-i'], { cols: 80, rows: 24, encoding: null });
    let out = '';
    pty.onData((d) => {
      out += d.toString();
    });
    const until = async (re: RegExp) => {
      for (let i = 0; i < 200 && !re.test(out); i++) await new Promise((r) => setTimeout(r, 10));
      expect(out).toMatch(re);
    };
    try {
      const probe = new EchoProbe((pty as unknown as { fd: number }).fd);
      await until(/[$#] $/);
      expect(await probe.probe()).toBe(false); // readline: raw mode, no echo, but it echoes itself
      pty.write(`read -s -p "Password: " p; echo "len=\${#p}"\r`);
      await until(/Password: /);
      // bash prints the prompt before it switches the terminal off echo: give it that moment.
      await new Promise((r) => setTimeout(r, 50));
      expect(await probe.probe()).toBe(true);
      expect(probe.secret).toBe(true);
      pty.write('abc\r');
      await until(/len=3/);
      pty.write('cat\r');
      // cat prints nothing to wait for; the terminal mode changes when it has started.
      await new Promise((r) => setTimeout(r, 200));
      expect(await probe.probe()).toBe(false); // canonical mode with echo
      expect(probe.broken).toBeUndefined();
    } finally {
      pty.kill();
    }
  });
});
