/*
 * outpost-svc: the pure part of the Windows service host (no Windows API), compiled into outpost-svc.exe with
 * mingw-w64 and into a native Linux test program (svc_core_test.c) so that its parsing is tested where it is built.
 * See docs/0008-packaging.md, "Installers".
 */
#ifndef OUTPOST_SVC_CORE_H
#define OUTPOST_SVC_CORE_H

#include <stddef.h>

#define SVC_VERSION_MAX 64
#define SVC_PATH_MAX 1024
#define SVC_CMDLINE_MAX 4096

/* Results of the parsers: 0 is success, anything else names what was wrong (svc_strerror). */
enum svc_status {
  SVC_OK = 0,
  SVC_E_JSON = 1,          /* current.json is not a JSON object of simple values */
  SVC_E_NO_VERSION = 2,    /* current.json has no "version" string */
  SVC_E_BAD_VERSION = 3,   /* the version is empty, too long or not [0-9A-Za-z._+-] (no path may hide in it) */
  SVC_E_TOO_LONG = 4,      /* a path or command line does not fit */
  SVC_E_USAGE = 5,         /* unknown flag or missing flag value */
};

/* What the command line asked for. */
enum svc_mode {
  SVC_MODE_SERVICE = 0,       /* no flags: hand the process to the Service Control Manager */
  SVC_MODE_CONSOLE = 1,       /* --console: run the agent in the foreground, Ctrl+C stops it (debugging) */
  SVC_MODE_PRINT_COMMAND = 2, /* --print-command: print the agent's command line and exit */
  SVC_MODE_VERSION = 3,       /* --version */
  SVC_MODE_HELP = 4,          /* --help */
};

struct svc_options {
  enum svc_mode mode;
  /* --dir: the installation directory (default: the directory of outpost-svc.exe). */
  const char *dir;
};

/* Parses argv (argv[0] is the program). */
int svc_parse_args(int argc, char **argv, struct svc_options *out);

/* Reads {"version": "…"} from current.json's bytes into version (NUL-terminated). */
int svc_parse_current(const char *json, size_t len, char *version, size_t cap);

/* A version usable as one path component: 1..SVC_VERSION_MAX chars of [0-9A-Za-z._+-], not "." or "..". */
int svc_valid_version(const char *version);

/* "<dir>\versions\<version>\outpost-agent.exe". */
int svc_agent_path(const char *dir, const char *version, char *out, size_t cap);

/*
 * The agent's command line: the quoted executable then `run`, quoted the way CommandLineToArgvW and the C runtime
 * split it (a path with spaces, as under "C:\Program Files", stays one argument).
 */
int svc_agent_command_line(const char *exe, char *out, size_t cap);

/* Appends one argument quoted for CommandLineToArgvW; returns SVC_E_TOO_LONG if it does not fit. */
int svc_quote_arg(const char *arg, char *out, size_t cap);

/*
 * Milliseconds to wait before restart number `failures` (1, 2, 4 … 60 s): an agent that ran at least
 * SVC_STABLE_MS counts as healthy and the caller resets `failures` to 0.
 */
unsigned svc_backoff_ms(unsigned failures);
#define SVC_STABLE_MS 60000u
/* How long a stopping agent gets before it is terminated. */
#define SVC_STOP_GRACE_MS 20000u

const char *svc_strerror(int status);

#endif
