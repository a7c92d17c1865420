/*
 * outpost-svc.exe: the Windows service host of the Outpost agent. A Node single executable cannot answer the Service
 * Control Manager (it must call StartServiceCtrlDispatcher within ~30 s, error 1053 otherwise), so this small native
 * program is the service: it reads current.json beside itself ({"version": "…"}), runs
 * versions\<version>\outpost-agent.exe run, restarts it with backoff when it ends, and on STOP or SHUTDOWN asks it
 * to stop by writing "stop\n" to its standard input and closing it (the agent's stop channel,
 * agent/src/runtime/stop-channel.ts), terminating it after 20 s. The pointer is read again before every start, so
 * the updater switches versions by rewriting current.json and restarting the service. Logs (the host's lines and
 * the agent's stderr) go to %ProgramData%\Outpost\logs\agent.log, rotated at 10 MB. docs/0008-packaging.md.
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <shellapi.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "svc_core.h"

#ifndef OUTPOST_SVC_VERSION
#define OUTPOST_SVC_VERSION "0.0.0"
#endif

#define SERVICE_NAME L"OutpostAgent"
#define LOG_ROTATE_BYTES (10LL * 1024 * 1024)

static SERVICE_STATUS_HANDLE g_status_handle;
static SERVICE_STATUS g_status;
static HANDLE g_stop_event;
static char g_dir[SVC_PATH_MAX];     /* installation directory, UTF-8 */
static wchar_t g_log_path[SVC_PATH_MAX];
static int g_console;

static int to_wide(const char *s, wchar_t *out, int cap) {
  return MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, out, cap) > 0 ? 0 : -1;
}

static int to_utf8(const wchar_t *s, char *out, int cap) {
  return WideCharToMultiByte(CP_UTF8, 0, s, -1, out, cap, NULL, NULL) > 0 ? 0 : -1;
}

/* One JSON log line (level, name, msg) appended to the log file; the agent's own lines are pino's. */
static void log_line(const char *level, const char *msg) {
  char esc[2048];
  size_t n = 0;
  for (const char *p = msg; *p && n + 7 < sizeof esc; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '"' || c == '\\') {
      esc[n++] = '\\';
      esc[n++] = (char)c;
    } else if (c < 0x20) {
      n += (size_t)snprintf(esc + n, sizeof esc - n, "\\u%04x", c);
    } else {
      esc[n++] = (char)c;
    }
  }
  esc[n] = '\0';
  SYSTEMTIME t;
  GetSystemTime(&t);
  char line[2400];
  int len = snprintf(line, sizeof line,
                     "{\"level\":\"%s\",\"time\":\"%04u-%02u-%02uT%02u:%02u:%02u.%03uZ\",\"name\":\"outpost-svc\","
                     "\"msg\":\"%s\"}\r\n",
                     level, t.wYear, t.wMonth, t.wDay, t.wHour, t.wMinute, t.wSecond, t.wMilliseconds, esc);
  if (len < 0) return;
  if (g_console) fputs(line, stderr);
  HANDLE h = CreateFileW(g_log_path, FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                         OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
  if (h == INVALID_HANDLE_VALUE) return;
  DWORD written;
  WriteFile(h, line, (DWORD)strlen(line), &written, NULL);
  CloseHandle(h);
}

static void logf_line(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_line(const char *level, const char *fmt, ...) {
  char msg[1600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  log_line(level, msg);
}

/* %ProgramData%\Outpost\logs\agent.log; the directory's ACL (SYSTEM and Administrators) comes from the MSI. */
static void init_log_path(void) {
  wchar_t base[MAX_PATH];
  DWORD n = GetEnvironmentVariableW(L"ProgramData", base, MAX_PATH);
  if (n == 0 || n >= MAX_PATH) wcscpy(base, L"C:\\ProgramData");
  _snwprintf(g_log_path, SVC_PATH_MAX, L"%ls\\Outpost", base);
  CreateDirectoryW(g_log_path, NULL);
  _snwprintf(g_log_path, SVC_PATH_MAX, L"%ls\\Outpost\\logs", base);
  CreateDirectoryW(g_log_path, NULL);
  _snwprintf(g_log_path, SVC_PATH_MAX, L"%ls\\Outpost\\logs\\agent.log", base);
}

static void rotate_log(void) {
  WIN32_FILE_ATTRIBUTE_DATA a;
  if (!GetFileAttributesExW(g_log_path, GetFileExInfoStandard, &a)) return;
  LONGLONG size = ((LONGLONG)a.nFileSizeHigh << 32) | a.nFileSizeLow;
  if (size < LOG_ROTATE_BYTES) return;
  wchar_t old[SVC_PATH_MAX];
  _snwprintf(old, SVC_PATH_MAX, L"%ls.1", g_log_path);
  MoveFileExW(g_log_path, old, MOVEFILE_REPLACE_EXISTING);
}

/* The directory of outpost-svc.exe, UTF-8, without a trailing separator. */
static int exe_dir(char *out, int cap) {
  wchar_t w[SVC_PATH_MAX];
  DWORD n = GetModuleFileNameW(NULL, w, SVC_PATH_MAX);
  if (n == 0 || n >= SVC_PATH_MAX) return -1;
  wchar_t *slash = wcsrchr(w, L'\\');
  if (!slash) return -1;
  *slash = L'\0';
  return to_utf8(w, out, cap);
}

/* Reads current.json and returns the agent's executable path and command line (UTF-8). */
static int resolve_agent(char *exe, size_t exe_cap, char *cmdline, size_t cmd_cap) {
  char path[SVC_PATH_MAX];
  wchar_t wpath[SVC_PATH_MAX];
  snprintf(path, sizeof path, "%s\\current.json", g_dir);
  if (to_wide(path, wpath, SVC_PATH_MAX)) return SVC_E_TOO_LONG;
  HANDLE h = CreateFileW(wpath, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_DELETE, NULL, OPEN_EXISTING, 0, NULL);
  if (h == INVALID_HANDLE_VALUE) {
    logf_line("error", "cannot open %s (Windows error %lu)", path, (unsigned long)GetLastError());
    return SVC_E_JSON;
  }
  static char buf[65536];
  DWORD got = 0;
  BOOL ok = ReadFile(h, buf, sizeof buf, &got, NULL);
  CloseHandle(h);
  if (!ok) return SVC_E_JSON;
  char version[SVC_VERSION_MAX + 1];
  int s = svc_parse_current(buf, got, version, sizeof version);
  if (s) {
    logf_line("error", "%s: %s", path, svc_strerror(s));
    return s;
  }
  s = svc_agent_path(g_dir, version, exe, exe_cap);
  if (s) return s;
  return svc_agent_command_line(exe, cmdline, cmd_cap);
}

static void report(DWORD state, DWORD exit_code, DWORD wait_hint) {
  if (g_console) return;
  g_status.dwCurrentState = state;
  g_status.dwWin32ExitCode = exit_code;
  g_status.dwWaitHint = wait_hint;
  g_status.dwControlsAccepted = state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
  g_status.dwCheckPoint = (state == SERVICE_RUNNING || state == SERVICE_STOPPED) ? 0 : g_status.dwCheckPoint + 1;
  SetServiceStatus(g_status_handle, &g_status);
}

/* Asks the agent to stop through its standard input, then terminates it after the grace period. */
static void stop_agent(PROCESS_INFORMATION *pi, HANDLE stdin_write) {
  DWORD written;
  if (stdin_write) {
    WriteFile(stdin_write, "stop\n", 5, &written, NULL);
    CloseHandle(stdin_write);
  }
  for (DWORD waited = 0; waited < SVC_STOP_GRACE_MS; waited += 1000) {
    if (WaitForSingleObject(pi->hProcess, 1000) == WAIT_OBJECT_0) {
      log_line("info", "agent stopped");
      return;
    }
    report(SERVICE_STOP_PENDING, NO_ERROR, 3000);
  }
  log_line("warn", "agent did not stop within 20 s; terminating it");
  TerminateProcess(pi->hProcess, 1);
  WaitForSingleObject(pi->hProcess, 5000);
}

/* Runs the agent until the stop event, restarting it with backoff (1 s doubling to 60 s; reset after 60 s up). */
static void run_loop(void) {
  unsigned failures = 0;
  SetEnvironmentVariableW(L"OUTPOST_STOP_CHANNEL", L"stdin");
  for (;;) {
    if (failures > 0) {
      DWORD delay = svc_backoff_ms(failures);
      logf_line("info", "restarting the agent in %lu ms", (unsigned long)delay);
      if (WaitForSingleObject(g_stop_event, delay) == WAIT_OBJECT_0) return;
    } else if (WaitForSingleObject(g_stop_event, 0) == WAIT_OBJECT_0) {
      return;
    }
    char exe[SVC_PATH_MAX], cmdline[SVC_CMDLINE_MAX];
    wchar_t wexe[SVC_PATH_MAX], wcmd[SVC_CMDLINE_MAX];
    if (resolve_agent(exe, sizeof exe, cmdline, sizeof cmdline) || to_wide(exe, wexe, SVC_PATH_MAX) ||
        to_wide(cmdline, wcmd, SVC_CMDLINE_MAX)) {
      failures++;
      continue;
    }
    rotate_log();
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE in_read = NULL, in_write = NULL;
    if (!CreatePipe(&in_read, &in_write, &sa, 0)) {
      logf_line("error", "CreatePipe failed (Windows error %lu)", (unsigned long)GetLastError());
      failures++;
      continue;
    }
    SetHandleInformation(in_write, HANDLE_FLAG_INHERIT, 0); /* only the read end goes to the agent */
    HANDLE log = CreateFileW(g_log_path, FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                             &sa, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    STARTUPINFOW si;
    ZeroMemory(&si, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = in_read;
    si.hStdOutput = log;
    si.hStdError = log;
    PROCESS_INFORMATION pi;
    ZeroMemory(&pi, sizeof pi);
    /* Its own process group: a console Ctrl+C reaches the host, which forwards it as "stop". */
    BOOL ok = CreateProcessW(wexe, wcmd, NULL, NULL, TRUE, CREATE_NO_WINDOW | CREATE_NEW_PROCESS_GROUP, NULL, NULL,
                             &si, &pi);
    DWORD err = GetLastError();
    CloseHandle(in_read);
    if (log != INVALID_HANDLE_VALUE) CloseHandle(log);
    if (!ok) {
      CloseHandle(in_write);
      logf_line("error", "cannot start %s (Windows error %lu)", exe, (unsigned long)err);
      failures++;
      continue;
    }
    CloseHandle(pi.hThread);
    logf_line("info", "agent started: %s (pid %lu)", exe, (unsigned long)pi.dwProcessId);
    ULONGLONG started = GetTickCount64();
    HANDLE waits[2] = {pi.hProcess, g_stop_event};
    DWORD w = WaitForMultipleObjects(2, waits, FALSE, INFINITE);
    if (w == WAIT_OBJECT_0 + 1) {
      stop_agent(&pi, in_write);
      CloseHandle(pi.hProcess);
      return;
    }
    DWORD code = 0;
    GetExitCodeProcess(pi.hProcess, &code);
    CloseHandle(pi.hProcess);
    CloseHandle(in_write);
    logf_line("warn", "agent exited with code %lu", (unsigned long)code);
    if (GetTickCount64() - started >= SVC_STABLE_MS) failures = 0;
    failures++;
  }
}

static DWORD WINAPI control_handler(DWORD control, DWORD type, LPVOID data, LPVOID ctx) {
  (void)type;
  (void)data;
  (void)ctx;
  switch (control) {
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_SHUTDOWN:
      report(SERVICE_STOP_PENDING, NO_ERROR, SVC_STOP_GRACE_MS + 5000);
      SetEvent(g_stop_event);
      return NO_ERROR;
    case SERVICE_CONTROL_INTERROGATE:
      return NO_ERROR;
    default:
      return ERROR_CALL_NOT_IMPLEMENTED;
  }
}

static void WINAPI service_main(DWORD argc, LPWSTR *argv) {
  (void)argc;
  (void)argv;
  g_status_handle = RegisterServiceCtrlHandlerExW(SERVICE_NAME, control_handler, NULL);
  if (!g_status_handle) return;
  g_status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
  report(SERVICE_START_PENDING, NO_ERROR, 3000);
  report(SERVICE_RUNNING, NO_ERROR, 0);
  log_line("info", "service started");
  run_loop();
  log_line("info", "service stopped");
  report(SERVICE_STOPPED, NO_ERROR, 0);
}

static BOOL WINAPI console_handler(DWORD type) {
  if (type == CTRL_C_EVENT || type == CTRL_BREAK_EVENT || type == CTRL_CLOSE_EVENT) {
    SetEvent(g_stop_event);
    return TRUE;
  }
  return FALSE;
}

int main(void) {
  int wargc = 0;
  LPWSTR *wargv = CommandLineToArgvW(GetCommandLineW(), &wargc);
  static char storage[8][SVC_PATH_MAX];
  char *argv[8];
  if (!wargv || wargc > 8) {
    fprintf(stderr, "%s\n", svc_strerror(SVC_E_USAGE));
    return 1639; /* msiexec's "invalid command line", the code our installers use for bad arguments */
  }
  for (int i = 0; i < wargc; i++) {
    if (to_utf8(wargv[i], storage[i], SVC_PATH_MAX)) return 1639;
    argv[i] = storage[i];
  }
  LocalFree(wargv);
  struct svc_options opts;
  if (svc_parse_args(wargc, argv, &opts)) {
    fprintf(stderr, "%s\n", svc_strerror(SVC_E_USAGE));
    return 1639;
  }
  if (opts.mode == SVC_MODE_VERSION) {
    printf("outpost-svc %s\n", OUTPOST_SVC_VERSION);
    return 0;
  }
  if (opts.mode == SVC_MODE_HELP) {
    printf("%s\nWithout flags it runs as the OutpostAgent service (started by the Service Control Manager).\n",
           svc_strerror(SVC_E_USAGE));
    return 0;
  }
  if (opts.dir) snprintf(g_dir, sizeof g_dir, "%s", opts.dir);
  else if (exe_dir(g_dir, sizeof g_dir)) return 1603;
  size_t d = strlen(g_dir);
  while (d > 1 && (g_dir[d - 1] == '\\' || g_dir[d - 1] == '/')) g_dir[--d] = '\0';
  init_log_path();
  g_stop_event = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (opts.mode == SVC_MODE_PRINT_COMMAND) {
    g_console = 1;
    char exe[SVC_PATH_MAX], cmdline[SVC_CMDLINE_MAX];
    int s = resolve_agent(exe, sizeof exe, cmdline, sizeof cmdline);
    if (s) {
      fprintf(stderr, "%s\n", svc_strerror(s));
      return 1603;
    }
    printf("%s\n", cmdline);
    return 0;
  }
  if (opts.mode == SVC_MODE_CONSOLE) {
    g_console = 1;
    SetConsoleCtrlHandler(console_handler, TRUE);
    run_loop();
    return 0;
  }
  SERVICE_TABLE_ENTRYW table[] = {{(LPWSTR)SERVICE_NAME, service_main}, {NULL, NULL}};
  if (!StartServiceCtrlDispatcherW(table)) {
    DWORD err = GetLastError();
    if (err == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
      fprintf(stderr, "outpost-svc runs as the OutpostAgent service; use --console to run the agent in this window\n");
      return 1639;
    }
    return 1603;
  }
  return 0;
}
