/*
 * A native (Linux) front end to svc_core.c, so the tests (test/package/installers.test.ts) drive the service host's
 * pure logic with real inputs where no Windows exists:
 *   svc_core_cli current FILE        → prints the version, or "error N: …" and exits N
 *   svc_core_cli args ARG…           → prints "mode=M dir=D", or the usage error
 *   svc_core_cli command DIR VERSION → prints the agent's command line
 *   svc_core_cli quote ARG           → prints ARG quoted for CommandLineToArgvW
 *   svc_core_cli backoff N           → prints the delay before restart N in milliseconds
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc_core.h"

static int fail(int status) {
  printf("error %d: %s\n", status, svc_strerror(status));
  return status;
}

int main(int argc, char **argv) {
  if (argc < 2) return fail(SVC_E_USAGE);
  const char *cmd = argv[1];
  if (strcmp(cmd, "current") == 0 && argc == 3) {
    static char buf[65536];
    FILE *f = fopen(argv[2], "rb");
    if (!f) return fail(SVC_E_JSON);
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    char version[SVC_VERSION_MAX + 1];
    int s = svc_parse_current(buf, n, version, sizeof version);
    if (s) return fail(s);
    printf("%s\n", version);
    return 0;
  }
  if (strcmp(cmd, "args") == 0) {
    struct svc_options o;
    /* argv[1] plays argv[0]: the flags start at argv[2]. */
    int s = svc_parse_args(argc - 1, argv + 1, &o);
    if (s) return fail(s);
    printf("mode=%d dir=%s\n", (int)o.mode, o.dir ? o.dir : "(exe dir)");
    return 0;
  }
  if (strcmp(cmd, "command") == 0 && argc == 4) {
    char exe[SVC_PATH_MAX], line[SVC_CMDLINE_MAX];
    int s = svc_agent_path(argv[2], argv[3], exe, sizeof exe);
    if (s) return fail(s);
    s = svc_agent_command_line(exe, line, sizeof line);
    if (s) return fail(s);
    printf("%s\n", line);
    return 0;
  }
  if (strcmp(cmd, "quote") == 0 && argc == 3) {
    char out[SVC_CMDLINE_MAX] = "";
    int s = svc_quote_arg(argv[2], out, sizeof out);
    if (s) return fail(s);
    printf("%s\n", out);
    return 0;
  }
  if (strcmp(cmd, "backoff") == 0 && argc == 3) {
    printf("%u\n", svc_backoff_ms((unsigned)strtoul(argv[2], NULL, 10)));
    return 0;
  }
  return fail(SVC_E_USAGE);
}
