/* outpost-svc: argument, current.json and command-line handling (pure C, no Windows API; see svc_core.h). */
#include "svc_core.h"

#include <string.h>

int svc_parse_args(int argc, char **argv, struct svc_options *out) {
  out->mode = SVC_MODE_SERVICE;
  out->dir = NULL;
  int modes = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--console") == 0) {
      out->mode = SVC_MODE_CONSOLE;
      modes++;
    } else if (strcmp(a, "--print-command") == 0) {
      out->mode = SVC_MODE_PRINT_COMMAND;
      modes++;
    } else if (strcmp(a, "--version") == 0) {
      out->mode = SVC_MODE_VERSION;
      modes++;
    } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 || strcmp(a, "/?") == 0) {
      out->mode = SVC_MODE_HELP;
      modes++;
    } else if (strcmp(a, "--dir") == 0) {
      if (i + 1 >= argc || argv[i + 1][0] == '\0') return SVC_E_USAGE;
      out->dir = argv[++i];
    } else {
      return SVC_E_USAGE;
    }
  }
  /* One mode at a time: `--console --print-command` is a typo, not a plan. */
  return modes > 1 ? SVC_E_USAGE : SVC_OK;
}

static int is_version_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' || c == '-' ||
         c == '_' || c == '+';
}

int svc_valid_version(const char *v) {
  size_t n = strlen(v);
  if (n == 0 || n > SVC_VERSION_MAX) return SVC_E_BAD_VERSION;
  if (strcmp(v, ".") == 0 || strcmp(v, "..") == 0) return SVC_E_BAD_VERSION;
  for (size_t i = 0; i < n; i++)
    if (!is_version_char(v[i])) return SVC_E_BAD_VERSION;
  return SVC_OK;
}

/* A tiny JSON reader: enough for one flat object whose values are strings, numbers, booleans or null. */
struct reader {
  const char *p, *end;
};

static void skip_ws(struct reader *r) {
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) r->p++;
}

/* Reads a string into buf (when buf is not NULL); escapes are accepted but only plain ASCII ones are decoded. */
static int read_string(struct reader *r, char *buf, size_t cap, int *truncated) {
  if (r->p >= r->end || *r->p != '"') return SVC_E_JSON;
  r->p++;
  size_t n = 0;
  *truncated = 0;
  while (r->p < r->end && *r->p != '"') {
    char c = *r->p++;
    if ((unsigned char)c < 0x20) return SVC_E_JSON;
    if (c == '\\') {
      if (r->p >= r->end) return SVC_E_JSON;
      char e = *r->p++;
      switch (e) {
        case '"': c = '"'; break;
        case '\\': c = '\\'; break;
        case '/': c = '/'; break;
        case 'n': c = '\n'; break;
        case 't': c = '\t'; break;
        case 'r': c = '\r'; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'u':
          /* \uXXXX is valid JSON; no version needs it, so it decodes to a character the validator refuses. */
          for (int k = 0; k < 4; k++) {
            if (r->p >= r->end) return SVC_E_JSON;
            char h = *r->p++;
            if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F'))) return SVC_E_JSON;
          }
          c = '?';
          break;
        default: return SVC_E_JSON;
      }
    }
    if (buf) {
      if (n + 1 < cap) buf[n++] = c;
      else *truncated = 1;
    }
  }
  if (r->p >= r->end) return SVC_E_JSON;
  r->p++;
  if (buf) buf[n] = '\0';
  return SVC_OK;
}

static int skip_scalar(struct reader *r) {
  const char *start = r->p;
  while (r->p < r->end && *r->p != ',' && *r->p != '}' && *r->p != ' ' && *r->p != '\t' && *r->p != '\n' &&
         *r->p != '\r') {
    char c = *r->p;
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-' || c == '+' || c == '.' || c == 'E'))
      return SVC_E_JSON;
    r->p++;
  }
  size_t n = (size_t)(r->p - start);
  if (n == 0) return SVC_E_JSON;
  if ((start[0] >= 'a' && start[0] <= 'z') &&
      !((n == 4 && memcmp(start, "true", 4) == 0) || (n == 5 && memcmp(start, "false", 5) == 0) ||
        (n == 4 && memcmp(start, "null", 4) == 0)))
    return SVC_E_JSON;
  return SVC_OK;
}

int svc_parse_current(const char *json, size_t len, char *version, size_t cap) {
  struct reader r = {json, json + len};
  /* A UTF-8 byte order mark, as Notepad writes it. */
  if (len >= 3 && (unsigned char)json[0] == 0xEF && (unsigned char)json[1] == 0xBB && (unsigned char)json[2] == 0xBF)
    r.p += 3;
  int found = 0, truncated = 0;
  skip_ws(&r);
  if (r.p >= r.end || *r.p != '{') return SVC_E_JSON;
  r.p++;
  skip_ws(&r);
  if (r.p < r.end && *r.p == '}') {
    r.p++;
  } else {
    for (;;) {
      char key[32];
      int key_truncated = 0;
      skip_ws(&r);
      if (read_string(&r, key, sizeof key, &key_truncated) != SVC_OK) return SVC_E_JSON;
      skip_ws(&r);
      if (r.p >= r.end || *r.p != ':') return SVC_E_JSON;
      r.p++;
      skip_ws(&r);
      int is_version = !key_truncated && strcmp(key, "version") == 0;
      if (r.p < r.end && *r.p == '"') {
        if (is_version) {
          if (read_string(&r, version, cap, &truncated) != SVC_OK) return SVC_E_JSON;
          found = 1;
        } else if (read_string(&r, NULL, 0, &key_truncated) != SVC_OK) {
          return SVC_E_JSON;
        }
      } else {
        if (skip_scalar(&r) != SVC_OK) return SVC_E_JSON;
        if (is_version) return SVC_E_NO_VERSION; /* "version": 3 is not a version string */
      }
      skip_ws(&r);
      if (r.p < r.end && *r.p == ',') {
        r.p++;
        continue;
      }
      if (r.p < r.end && *r.p == '}') {
        r.p++;
        break;
      }
      return SVC_E_JSON;
    }
  }
  skip_ws(&r);
  if (r.p != r.end) return SVC_E_JSON;
  if (!found) return SVC_E_NO_VERSION;
  if (truncated) return SVC_E_BAD_VERSION;
  return svc_valid_version(version);
}

static int append(char *out, size_t cap, size_t *n, const char *s, size_t len) {
  if (*n + len + 1 > cap) return SVC_E_TOO_LONG;
  memcpy(out + *n, s, len);
  *n += len;
  out[*n] = '\0';
  return SVC_OK;
}

int svc_agent_path(const char *dir, const char *version, char *out, size_t cap) {
  if (svc_valid_version(version) != SVC_OK) return SVC_E_BAD_VERSION;
  size_t n = 0, d = strlen(dir);
  out[0] = '\0';
  if (cap == 0) return SVC_E_TOO_LONG;
  /* Drop trailing separators so "C:\Outpost\" and "C:\Outpost" give one path. */
  while (d > 1 && (dir[d - 1] == '\\' || dir[d - 1] == '/')) d--;
  if (append(out, cap, &n, dir, d) || append(out, cap, &n, "\\versions\\", 10) ||
      append(out, cap, &n, version, strlen(version)) || append(out, cap, &n, "\\outpost-agent.exe", 18))
    return SVC_E_TOO_LONG;
  return SVC_OK;
}

int svc_quote_arg(const char *arg, char *out, size_t cap) {
  size_t n = strlen(out);
  size_t len = strlen(arg);
  if (len > 0 && strpbrk(arg, " \t\n\v\"") == NULL) return append(out, cap, &n, arg, len);
  /* The rules of CommandLineToArgvW: backslashes are literal unless they precede a quote. */
  if (append(out, cap, &n, "\"", 1)) return SVC_E_TOO_LONG;
  for (size_t i = 0;; i++) {
    size_t slashes = 0;
    while (i < len && arg[i] == '\\') {
      i++;
      slashes++;
    }
    if (i == len) {
      for (size_t k = 0; k < slashes * 2; k++)
        if (append(out, cap, &n, "\\", 1)) return SVC_E_TOO_LONG;
      break;
    }
    if (arg[i] == '"') {
      for (size_t k = 0; k < slashes * 2 + 1; k++)
        if (append(out, cap, &n, "\\", 1)) return SVC_E_TOO_LONG;
    } else {
      for (size_t k = 0; k < slashes; k++)
        if (append(out, cap, &n, "\\", 1)) return SVC_E_TOO_LONG;
    }
    if (append(out, cap, &n, &arg[i], 1)) return SVC_E_TOO_LONG;
  }
  return append(out, cap, &n, "\"", 1);
}

int svc_agent_command_line(const char *exe, char *out, size_t cap) {
  if (cap == 0) return SVC_E_TOO_LONG;
  out[0] = '\0';
  size_t n;
  if (svc_quote_arg(exe, out, cap)) return SVC_E_TOO_LONG;
  n = strlen(out);
  return append(out, cap, &n, " run", 4);
}

unsigned svc_backoff_ms(unsigned failures) {
  if (failures == 0) return 0;
  if (failures > 7) return 60000u;
  unsigned ms = 1000u << (failures - 1); /* 1, 2, 4, 8, 16, 32, 64 → capped */
  return ms > 60000u ? 60000u : ms;
}

const char *svc_strerror(int status) {
  switch (status) {
    case SVC_OK: return "ok";
    case SVC_E_JSON: return "current.json is not a JSON object of simple values";
    case SVC_E_NO_VERSION: return "current.json has no \"version\" string";
    case SVC_E_BAD_VERSION: return "the version in current.json is empty, too long or has characters other than 0-9 A-Z a-z . _ + -";
    case SVC_E_TOO_LONG: return "a path or command line is too long";
    case SVC_E_USAGE: return "usage: outpost-svc [--console | --print-command | --version | --help] [--dir DIR]";
    default: return "unknown error";
  }
}
