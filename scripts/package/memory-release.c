/*
 * memory.node: gives back the memory an idle agent holds only because it was touched once, at start-up
 * (docs/0009-packaging.md, "Footprint"). One N-API function, release(), which
 *
 *  - asks the kernel to page out the single executable's own read-only file mappings (its code, V8's start-up
 *    snapshot, ICU's data, the SEA blob), madvise(MADV_PAGEOUT): clean pages, so nothing is written anywhere; a page
 *    the agent needs again faults back in from the file. Pages another process also maps are left alone by the
 *    kernel, and so are all file pages when the process neither owns nor may write the executable (Linux >= 5.4);
 *  - returns malloc's free memory to the kernel, malloc_trim(0) (glibc).
 *
 * Plain C against node_api.h only, and only symbols old enough for the targets' glibc floor (2.28): no stdio, no
 * scanf or strtoul (glibc >= 2.38 redirects them to __isoc23_* under _GNU_SOURCE), no stat (GLIBC_2.33).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

/* /proc/self/maps is read whole; a Node process has a few hundred mappings (~40 KB). Allocated per call (above
   malloc's mmap threshold, so freeing it unmaps it): nothing of it stays resident between releases. */
#define MAPS_MAX (1 << 20)

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Parses a hexadecimal number at *p, advancing past it. */
static uintptr_t parse_hex(const char **p) {
  uintptr_t v = 0;
  int d;
  while ((d = hex_value(**p)) >= 0) {
    v = (v << 4) | (uintptr_t)d;
    (*p)++;
  }
  return v;
}

struct outcome {
  double mappings;
  double bytes;
  int error;
};

/* Pages out every private, non-writable mapping of the file /proc/self/exe names. */
static struct outcome page_out_executable(void) {
  struct outcome o = {0, 0, 0};
  char exe[4096];
  ssize_t exe_len = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (exe_len <= 0) {
    o.error = errno;
    return o;
  }
  exe[exe_len] = '\0';
  char *maps = malloc(MAPS_MAX);
  if (!maps) {
    o.error = ENOMEM;
    return o;
  }
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    o.error = errno;
    free(maps);
    return o;
  }
  size_t len = 0;
  for (;;) {
    ssize_t n = read(fd, maps + len, MAPS_MAX - 1 - len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    len += (size_t)n;
  }
  close(fd);
  maps[len] = '\0';
  /* Each line: start-end perms offset dev inode [path] */
  for (char *line = maps; *line;) {
    char *eol = strchr(line, '\n');
    if (eol) *eol = '\0';
    const char *p = line;
    uintptr_t start = parse_hex(&p);
    if (*p == '-') p++;
    uintptr_t end = parse_hex(&p);
    while (*p == ' ') p++;
    const char *perms = p;
    const char *path = strchr(p, '/');
    if (strlen(perms) > 4 && perms[1] != 'w' && perms[3] == 'p' && path && strcmp(path, exe) == 0 && end > start) {
      if (madvise((void *)start, end - start, MADV_PAGEOUT) == 0) {
        o.mappings += 1;
        o.bytes += (double)(end - start);
      } else if (o.error == 0) {
        o.error = errno;
      }
    }
    if (!eol) break;
    line = eol + 1;
  }
  free(maps);
  return o;
}

static void set_number(napi_env env, napi_value obj, const char *key, double v) {
  napi_value n;
  if (napi_create_double(env, v, &n) == napi_ok) napi_set_named_property(env, obj, key, n);
}

/* release() -> { mappings, bytes, error, trimmed }: error is the errno of the first refused madvise (0: none). */
static napi_value release(napi_env env, napi_callback_info info) {
  (void)info;
  struct outcome o = page_out_executable();
  int trimmed = malloc_trim(0);
  napi_value result;
  if (napi_create_object(env, &result) != napi_ok) return NULL;
  set_number(env, result, "mappings", o.mappings);
  set_number(env, result, "bytes", o.bytes);
  set_number(env, result, "error", (double)o.error);
  set_number(env, result, "trimmed", (double)trimmed);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "release", NAPI_AUTO_LENGTH, release, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "release", fn) != napi_ok) return NULL;
  return exports;
}
