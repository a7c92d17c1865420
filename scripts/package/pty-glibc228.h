/*
 * Forced into node-pty's src/unix/pty.cc (`-include`) when scripts/package/pty-arm64.ts compiles the linux-arm64 PTY
 * addon, so that the addon needs no glibc symbol newer than 2.28 (RHEL 8, Debian 10, Ubuntu 20.04 on arm64).
 * See docs/0009-packaging.md, "glibc floor".
 *
 * The cross toolchain links against Debian 12's arm64 libc (2.36), where three functions node-pty calls carry a
 * newer default symbol version than they had on 2.28:
 *   - openpty, forkpty (and login_tty, which forkpty uses): in libutil.so.1 until 2.33, moved into libc.so.6 as
 *     GLIBC_2.34. Replaced below by equivalents over calls every glibc since 2.17 exports from libc.so.6 under their
 *     original version (posix_openpt, grantpt, unlockpt, ptsname_r, open, tcsetattr, ioctl, fork, setsid, dup2), so
 *     the addon needs neither libutil.so.1 nor the 2.34 symbols.
 *   - pthread_sigmask: in libpthread.so.0 until 2.31, moved into libc.so.6 as GLIBC_2.32. Replaced by sigprocmask
 *     (libc, GLIBC_2.17): on Linux, glibc's sigprocmask is the same rt_sigprocmask system call on the calling thread
 *     (and, like pthread_sigmask, it leaves glibc's internal SIGCANCEL/SIGSETXID unblocked), so in node-pty's two uses
 *     (block every signal of the calling thread around the fork, then restore it in parent and child) the effect is
 *     identical; in the forked child there is only one thread anyway.
 * The system headers are included first, then the names are redirected: the declarations in <pty.h> and <signal.h>
 * keep their own exception specifications and pty.cc's calls land on the functions here.
 */
#ifndef OUTPOST_PTY_GLIBC228_H
#define OUTPOST_PTY_GLIBC228_H

#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

/* openpty(3): a new master/slave pair, the slave set to `termp` and `winp` when given. */
static int outpost_openpty(int *amaster, int *aslave, char *name, const struct termios *termp,
                           const struct winsize *winp) {
  char path[128];
  int slave = -1;
  int master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master == -1) return -1;
  if (grantpt(master) == -1 || unlockpt(master) == -1 || ptsname_r(master, path, sizeof path) != 0) goto fail;
  slave = open(path, O_RDWR | O_NOCTTY);
  if (slave == -1) goto fail;
  if (termp != NULL && tcsetattr(slave, TCSAFLUSH, termp) == -1) goto fail;
  if (winp != NULL && ioctl(slave, TIOCSWINSZ, winp) == -1) goto fail;
  if (name != NULL) strcpy(name, path); /* openpty(3)'s contract: the caller's buffer is large enough */
  *amaster = master;
  *aslave = slave;
  return 0;
fail:
  if (slave != -1) close(slave);
  close(master);
  return -1;
}

/* login_tty(3): the calling process leads a new session whose controlling terminal is `fd`, on stdin/out/err. */
static int outpost_login_tty(int fd) {
  setsid();
  if (ioctl(fd, TIOCSCTTY, 0) == -1) return -1;
  for (int i = 0; i < 3; i++)
    if (dup2(fd, i) == -1) return -1;
  if (fd > 2) close(fd);
  return 0;
}

/* forkpty(3): fork with the child on a new terminal's slave side; the parent gets the master. */
static pid_t outpost_forkpty(int *amaster, char *name, const struct termios *termp, const struct winsize *winp) {
  int master, slave;
  if (outpost_openpty(&master, &slave, name, termp, winp) == -1) return -1;
  pid_t pid = fork();
  if (pid == -1) {
    close(master);
    close(slave);
    return -1;
  }
  if (pid == 0) {
    close(master);
    if (outpost_login_tty(slave) == -1) _exit(1);
    return 0;
  }
  close(slave);
  *amaster = master;
  return pid;
}

#define openpty outpost_openpty
#define forkpty outpost_forkpty
#define login_tty outpost_login_tty
#define pthread_sigmask sigprocmask

#endif
