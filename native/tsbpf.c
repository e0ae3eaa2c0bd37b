/*
 * tsbpf native addon: the only C in the project.
 *
 * It does what JavaScript cannot: raw system calls (bpf, perf_event_open,
 * ioctl, close), memory mappings of kernel ring buffers, draining those
 * buffers with the memory ordering the kernel's producer side expects, and
 * readiness notifications from file descriptors through libuv's poll handle
 * (so the kernel wakes Node's event loop; nothing busy-polls, nothing blocks).
 *
 * No policy lives here: attribute layouts, record parsing and error messages
 * are TypeScript. System calls return the kernel's result, or -errno.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define CHECK(call)                                                        \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      napi_throw_error(env, NULL, "tsbpf native: N-API call failed: " #call); \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

static napi_value make_int(napi_env env, int64_t v) {
  napi_value out;
  napi_create_int64(env, v, &out);
  return out;
}

static int get_i64(napi_env env, napi_value v, int64_t *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return -1;
  if (t == napi_bigint) {
    bool lossless;
    return napi_get_value_bigint_int64(env, v, out, &lossless) == napi_ok ? 0 : -1;
  }
  return napi_get_value_int64(env, v, out) == napi_ok ? 0 : -1;
}

static int get_bytes(napi_env env, napi_value v, void **data, size_t *len) {
  bool is;
  napi_is_typedarray(env, v, &is);
  if (is) {
    napi_typedarray_type type;
    size_t n, off;
    napi_value ab;
    void *p;
    if (napi_get_typedarray_info(env, v, &type, &n, &p, &ab, &off) != napi_ok) return -1;
    *data = p;
    *len = n; /* element count; callers only pass Uint8Array/Buffer */
    return 0;
  }
  napi_is_arraybuffer(env, v, &is);
  if (is) return napi_get_arraybuffer_info(env, v, data, len) == napi_ok ? 0 : -1;
  return -1;
}

/*
 * Pointer patches: the kernel's attribute structs hold user-space pointers
 * (key, value, instructions, log buffer, nested info arrays). JavaScript never
 * sees an address; it passes [target, offset, source] triples and we write the
 * address of `source` into `target` at `offset`, right before the system call,
 * so no address can go stale.
 */
static int apply_patches(napi_env env, napi_value patches) {
  bool is_array = false;
  if (patches == NULL) return 0;
  napi_valuetype t;
  napi_typeof(env, patches, &t);
  if (t == napi_undefined || t == napi_null) return 0;
  napi_is_array(env, patches, &is_array);
  if (!is_array) return -1;
  uint32_t n;
  napi_get_array_length(env, patches, &n);
  for (uint32_t i = 0; i < n; i++) {
    napi_value triple, vt, vo, vs;
    napi_get_element(env, patches, i, &triple);
    napi_get_element(env, triple, 0, &vt);
    napi_get_element(env, triple, 1, &vo);
    napi_get_element(env, triple, 2, &vs);
    void *target, *source;
    size_t tlen, slen;
    int64_t off;
    if (get_bytes(env, vt, &target, &tlen) || get_i64(env, vo, &off) ||
        get_bytes(env, vs, &source, &slen))
      return -1;
    if (off < 0 || (size_t)off + 8 > tlen) return -1;
    uint64_t addr = (uint64_t)(uintptr_t)source;
    memcpy((char *)target + off, &addr, 8);
  }
  return 0;
}

/* bpf(cmd, attr: Buffer, patches?) -> result or -errno */
static napi_value js_bpf(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3] = {NULL, NULL, NULL};
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int64_t cmd;
  void *attr;
  size_t len;
  if (argc < 2 || get_i64(env, argv[0], &cmd) || get_bytes(env, argv[1], &attr, &len)) {
    napi_throw_type_error(env, NULL, "bpf(cmd, attr[, patches])");
    return NULL;
  }
  if (apply_patches(env, argc > 2 ? argv[2] : NULL)) {
    napi_throw_type_error(env, NULL, "bpf: bad pointer patch list");
    return NULL;
  }
  long r = syscall(__NR_bpf, (int)cmd, attr, (unsigned int)len);
  return make_int(env, r < 0 ? -errno : r);
}

/* perfEventOpen(attr: Buffer, pid, cpu, groupFd, flags, patches?) -> fd or -errno */
static napi_value js_perf_event_open(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6] = {NULL};
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *attr;
  size_t len;
  int64_t pid, cpu, group, flags;
  if (argc < 5 || get_bytes(env, argv[0], &attr, &len) || get_i64(env, argv[1], &pid) ||
      get_i64(env, argv[2], &cpu) || get_i64(env, argv[3], &group) || get_i64(env, argv[4], &flags)) {
    napi_throw_type_error(env, NULL, "perfEventOpen(attr, pid, cpu, groupFd, flags[, patches])");
    return NULL;
  }
  if (apply_patches(env, argc > 5 ? argv[5] : NULL)) {
    napi_throw_type_error(env, NULL, "perfEventOpen: bad pointer patch list");
    return NULL;
  }
  long r = syscall(__NR_perf_event_open, attr, (pid_t)pid, (int)cpu, (int)group, (unsigned long)flags);
  return make_int(env, r < 0 ? -errno : r);
}

/* ioctl(fd, request, arg: number | Buffer) -> result or -errno */
static napi_value js_ioctl(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3] = {NULL};
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int64_t fd, req, arg = 0;
  void *buf = NULL;
  size_t len;
  if (argc < 2 || get_i64(env, argv[0], &fd) || get_i64(env, argv[1], &req)) {
    napi_throw_type_error(env, NULL, "ioctl(fd, request[, arg])");
    return NULL;
  }
  if (argc > 2 && get_bytes(env, argv[2], &buf, &len) != 0) {
    buf = NULL;
    if (get_i64(env, argv[2], &arg)) arg = 0;
  }
  long r = buf ? ioctl((int)fd, (unsigned long)req, buf) : ioctl((int)fd, (unsigned long)req, (unsigned long)arg);
  return make_int(env, r < 0 ? -errno : r);
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int64_t fd;
  if (argc < 1 || get_i64(env, argv[0], &fd)) {
    napi_throw_type_error(env, NULL, "close(fd)");
    return NULL;
  }
  int r = close((int)fd);
  return make_int(env, r < 0 ? -errno : r);
}

/* clockNs(clockid) -> bigint nanoseconds (CLOCK_MONOTONIC=1, CLOCK_BOOTTIME=7, CLOCK_REALTIME=0) */
static napi_value js_clock_ns(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int64_t id = 1;
  if (argc > 0) get_i64(env, argv[0], &id);
  struct timespec ts;
  clock_gettime((clockid_t)id, &ts);
  napi_value out;
  napi_create_bigint_uint64(env, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec, &out);
  return out;
}

/* ------------------------------------------------------------------------ */
/* Ring readers: BPF ring buffer maps and perf event buffers.               */

enum ring_kind { RING_BPF = 1, RING_PERF = 2 };

struct ring {
  int kind;
  int fd;
  size_t page;
  /* BPF ring buffer: consumer page (rw), producer page + data mapped twice (ro) */
  void *cons_map;
  void *prod_map;
  size_t prod_len;
  size_t mask; /* data size - 1 */
  /* perf buffer: one mapping, metadata page first */
  void *perf_map;
  size_t perf_len;
  char *scratch; /* linearises perf records that wrap around */
  size_t scratch_len;
};

static void ring_unmap(struct ring *r) {
  if (r->cons_map) munmap(r->cons_map, r->page);
  if (r->prod_map) munmap(r->prod_map, r->prod_len);
  if (r->perf_map) munmap(r->perf_map, r->perf_len);
  free(r->scratch);
  r->cons_map = r->prod_map = r->perf_map = NULL;
  r->scratch = NULL;
}

static void ring_finalize(napi_env env, void *data, void *hint) {
  struct ring *r = data;
  ring_unmap(r);
  free(r);
}

static struct ring *get_ring(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || p == NULL) {
    napi_throw_type_error(env, NULL, "expected a ring handle");
    return NULL;
  }
  return p;
}

static napi_value wrap_ring(napi_env env, struct ring *r) {
  napi_value ext;
  if (napi_create_external(env, r, ring_finalize, NULL, &ext) != napi_ok) {
    ring_unmap(r);
    free(r);
    napi_throw_error(env, NULL, "cannot wrap ring");
    return NULL;
  }
  return ext;
}

/* ringbufOpen(mapFd, maxEntries) -> handle, or -errno */
static napi_value js_ringbuf_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int64_t fd, size;
  if (argc < 2 || get_i64(env, argv[0], &fd) || get_i64(env, argv[1], &size) || size <= 0 ||
      (size & (size - 1))) {
    napi_throw_type_error(env, NULL, "ringbufOpen(mapFd, powerOfTwoSize)");
    return NULL;
  }
  struct ring *r = calloc(1, sizeof(*r));
  r->kind = RING_BPF;
  r->fd = (int)fd;
  r->page = (size_t)sysconf(_SC_PAGESIZE);
  r->mask = (size_t)size - 1;
  r->cons_map = mmap(NULL, r->page, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
  if (r->cons_map == MAP_FAILED) {
    int e = errno;
    r->cons_map = NULL;
    free(r);
    return make_int(env, -e);
  }
  /* The data area is mapped twice back to back by the kernel, so a record
   * that wraps around the end can be read as one contiguous span. */
  r->prod_len = r->page + 2 * (size_t)size;
  r->prod_map = mmap(NULL, r->prod_len, PROT_READ, MAP_SHARED, r->fd, (off_t)r->page);
  if (r->prod_map == MAP_FAILED) {
    int e = errno;
    r->prod_map = NULL;
    ring_unmap(r);
    free(r);
    return make_int(env, -e);
  }
  return wrap_ring(env, r);
}

#define RINGBUF_BUSY_BIT (1u << 31)
#define RINGBUF_DISCARD_BIT (1u << 30)
#define RINGBUF_HDR_SZ 8

/*
 * Drains every committed record into one buffer of [u32 length][bytes][pad
 * to 4] entries. Returns undefined when there is nothing to read. `limit`
 * bounds the bytes copied in one call so the event loop stays responsive.
 */
static napi_value drain_bpf(napi_env env, struct ring *r, size_t limit) {
  volatile uint64_t *cons_pos = r->cons_map;
  volatile uint64_t *prod_pos = r->prod_map;
  const char *data = (const char *)r->prod_map + r->page;
  uint64_t cons = __atomic_load_n(cons_pos, __ATOMIC_ACQUIRE);
  uint64_t prod = __atomic_load_n(prod_pos, __ATOMIC_ACQUIRE);
  if (cons >= prod) return NULL;
  size_t avail = (size_t)(prod - cons);
  size_t cap = avail < limit ? avail : limit;
  if (cap < 64) cap = 64;
  char *out = malloc(cap + 16);
  size_t used = 0;
  while (cons < prod) {
    const uint32_t *hdr = (const uint32_t *)(data + (cons & r->mask));
    uint32_t len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
    if (len & RINGBUF_BUSY_BIT) break; /* producer has not committed yet */
    uint32_t body = len & ~(RINGBUF_BUSY_BIT | RINGBUF_DISCARD_BIT);
    size_t need = 4 + ((body + 3) & ~3u);
    if (!(len & RINGBUF_DISCARD_BIT)) {
      if (used + need > cap) {
        if (used > 0) break; /* next call continues here */
        cap = need;
        out = realloc(out, cap + 16);
      }
      memcpy(out + used, &body, 4);
      memcpy(out + used + 4, (const char *)hdr + RINGBUF_HDR_SZ, body);
      used += need;
    }
    cons += (RINGBUF_HDR_SZ + body + 7) & ~7ull;
    /* release: the kernel may reuse the space once it sees the new position */
    __atomic_store_n(cons_pos, cons, __ATOMIC_RELEASE);
  }
  if (used == 0) {
    free(out);
    return NULL;
  }
  napi_value buf;
  void *dst;
  napi_create_buffer(env, used, &dst, &buf);
  memcpy(dst, out, used);
  free(out);
  return buf;
}

/* perfbufOpen(perfFd, dataPages) -> handle, or -errno. dataPages: power of two */
static napi_value js_perfbuf_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int64_t fd, pages;
  if (argc < 2 || get_i64(env, argv[0], &fd) || get_i64(env, argv[1], &pages) || pages <= 0 ||
      (pages & (pages - 1))) {
    napi_throw_type_error(env, NULL, "perfbufOpen(perfFd, powerOfTwoPages)");
    return NULL;
  }
  struct ring *r = calloc(1, sizeof(*r));
  r->kind = RING_PERF;
  r->fd = (int)fd;
  r->page = (size_t)sysconf(_SC_PAGESIZE);
  r->perf_len = r->page * (size_t)(pages + 1);
  r->perf_map = mmap(NULL, r->perf_len, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
  if (r->perf_map == MAP_FAILED) {
    int e = errno;
    r->perf_map = NULL;
    free(r);
    return make_int(env, -e);
  }
  return wrap_ring(env, r);
}

/*
 * Copies whole perf records (struct perf_event_header + body), linearised,
 * into one buffer. JavaScript parses PERF_RECORD_SAMPLE / PERF_RECORD_LOST.
 */
static napi_value drain_perf(napi_env env, struct ring *r, size_t limit) {
  struct perf_event_mmap_page *meta = r->perf_map;
  uint64_t data_size = meta->data_size ? meta->data_size : r->perf_len - r->page;
  uint64_t data_off = meta->data_offset ? meta->data_offset : r->page;
  const char *base = (const char *)r->perf_map + data_off;
  uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
  uint64_t tail = meta->data_tail;
  if (tail >= head) return NULL;
  size_t avail = (size_t)(head - tail);
  size_t cap = avail < limit ? avail : limit;
  char *out = malloc(cap + 16);
  size_t used = 0;
  while (tail < head) {
    struct perf_event_header hdr;
    size_t off = (size_t)(tail % data_size);
    if (off + sizeof(hdr) <= data_size) {
      memcpy(&hdr, base + off, sizeof(hdr));
    } else {
      size_t first = data_size - off;
      memcpy(&hdr, base + off, first);
      memcpy((char *)&hdr + first, base, sizeof(hdr) - first);
    }
    if (hdr.size < sizeof(hdr)) break; /* corrupt; stop rather than spin */
    if (used + hdr.size > cap) {
      if (used > 0) break;
      cap = hdr.size;
      out = realloc(out, cap + 16);
    }
    if (off + hdr.size <= data_size) {
      memcpy(out + used, base + off, hdr.size);
    } else {
      size_t first = data_size - off;
      memcpy(out + used, base + off, first);
      memcpy(out + used + first, base, hdr.size - first);
    }
    used += hdr.size;
    tail += hdr.size;
  }
  __atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
  if (used == 0) {
    free(out);
    return NULL;
  }
  napi_value buf;
  void *dst;
  napi_create_buffer(env, used, &dst, &buf);
  memcpy(dst, out, used);
  free(out);
  return buf;
}

/* ringDrain(handle, limitBytes?) -> Buffer | undefined */
static napi_value js_ring_drain(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2] = {NULL, NULL};
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct ring *r = get_ring(env, argv[0]);
  if (!r) return NULL;
  int64_t limit = 4 << 20;
  if (argc > 1) get_i64(env, argv[1], &limit);
  if (limit < 64) limit = 64;
  if (r->kind == RING_BPF && r->prod_map) return drain_bpf(env, r, (size_t)limit);
  if (r->kind == RING_PERF && r->perf_map) return drain_perf(env, r, (size_t)limit);
  return NULL;
}

/* ringPending(handle) -> bytes committed but not consumed (for diagnostics) */
static napi_value js_ring_pending(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct ring *r = get_ring(env, argv[0]);
  if (!r) return NULL;
  if (r->kind == RING_BPF && r->prod_map) {
    uint64_t c = __atomic_load_n((uint64_t *)r->cons_map, __ATOMIC_ACQUIRE);
    uint64_t p = __atomic_load_n((uint64_t *)r->prod_map, __ATOMIC_ACQUIRE);
    return make_int(env, (int64_t)(p - c));
  }
  if (r->kind == RING_PERF && r->perf_map) {
    struct perf_event_mmap_page *m = r->perf_map;
    return make_int(env, (int64_t)(__atomic_load_n(&m->data_head, __ATOMIC_ACQUIRE) - m->data_tail));
  }
  return make_int(env, 0);
}

static napi_value js_ring_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct ring *r = get_ring(env, argv[0]);
  if (!r) return NULL;
  ring_unmap(r);
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* Readiness: libuv poll handles on kernel file descriptors.                */

struct watch {
  uv_poll_t poll;
  napi_env env;
  napi_ref callback;
  napi_async_context async;
  int closed;
};

static void watch_closed(uv_handle_t *h) {
  struct watch *w = h->data;
  free(w);
}

static void watch_fire(uv_poll_t *p, int status, int events) {
  struct watch *w = p->data;
  if (w->closed) return;
  napi_env env = w->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value cb, recv, result;
  napi_get_reference_value(env, w->callback, &cb);
  /* napi_make_callback converts the receiver to an object: `undefined`
   * would throw and leave a pending exception behind, so use the global. */
  napi_get_global(env, &recv);
  napi_value arg = make_int(env, status);
  /* make_callback runs microtasks like any Node callback; an exception thrown
   * by the callback is re-raised as an uncaught exception, never left pending. */
  if (napi_make_callback(env, w->async, recv, cb, 1, &arg, &result) == napi_pending_exception) {
    napi_value err;
    if (napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
  }
  napi_close_handle_scope(env, scope);
}

static void watch_finalize(napi_env env, void *data, void *hint) {
  /* The JS handle is gone; if the watch is still open we must keep the poll
   * handle alive until uv_close completes. Closing is explicit (unwatch). */
}

/* watch(fd, callback) -> handle. The callback runs when fd becomes readable. */
static napi_value js_watch(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int64_t fd;
  napi_valuetype t;
  if (argc < 2 || get_i64(env, argv[0], &fd) || napi_typeof(env, argv[1], &t) != napi_ok ||
      t != napi_function) {
    napi_throw_type_error(env, NULL, "watch(fd, callback)");
    return NULL;
  }
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  struct watch *w = calloc(1, sizeof(*w));
  w->env = env;
  if (uv_poll_init(loop, &w->poll, (int)fd) != 0) {
    free(w);
    napi_throw_error(env, NULL, "watch: uv_poll_init failed");
    return NULL;
  }
  w->poll.data = w;
  napi_create_reference(env, argv[1], 1, &w->callback);
  napi_value name;
  napi_create_string_utf8(env, "tsbpf.watch", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &w->async);
  uv_poll_start(&w->poll, UV_READABLE, watch_fire);
  napi_value ext;
  napi_create_external(env, w, watch_finalize, NULL, &ext);
  return ext;
}

/* unwatch(handle): stops and releases the poll handle (idempotent). */
static napi_value js_unwatch(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct watch *w = NULL;
  if (napi_get_value_external(env, argv[0], (void **)&w) != napi_ok || !w) return NULL;
  if (w->closed) return NULL;
  w->closed = 1;
  uv_poll_stop(&w->poll);
  napi_delete_reference(env, w->callback);
  napi_async_destroy(env, w->async);
  uv_close((uv_handle_t *)&w->poll, watch_closed);
  return NULL;
}

/* ref(handle, bool): whether a watch keeps the event loop alive. */
static napi_value js_watch_ref(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct watch *w = NULL;
  bool on = true;
  if (napi_get_value_external(env, argv[0], (void **)&w) != napi_ok || !w || w->closed) return NULL;
  napi_get_value_bool(env, argv[1], &on);
  if (on)
    uv_ref((uv_handle_t *)&w->poll);
  else
    uv_unref((uv_handle_t *)&w->poll);
  return NULL;
}

/*
 * unixDgramSend(address, message): one datagram to an AF_UNIX socket (Node has
 * no datagram unix sockets). For systemd's $NOTIFY_SOCKET readiness protocol;
 * `address` is a path, or starts with NUL for the abstract namespace.
 */
static napi_value js_unix_dgram_send(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *addr, *msg;
  size_t alen, mlen;
  struct sockaddr_un sa;
  if (argc < 2 || get_bytes(env, argv[0], &addr, &alen) || get_bytes(env, argv[1], &msg, &mlen) ||
      alen == 0 || alen >= sizeof(sa.sun_path)) {
    napi_throw_type_error(env, NULL, "unixDgramSend(address, message): an address of 1..107 bytes and a message");
    return NULL;
  }
  memset(&sa, 0, sizeof(sa));
  sa.sun_family = AF_UNIX;
  memcpy(sa.sun_path, addr, alen);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_int(env, -errno);
  ssize_t n = sendto(fd, msg, mlen, MSG_NOSIGNAL, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + alen));
  int err = n < 0 ? -errno : 0;
  close(fd);
  return make_int(env, err);
}

/* ------------------------------------------------------------------------ */
/* Shared objects generated at run time (USDT providers, src/ebpf/usdt-provider.ts): */
/* dlopen, look up a symbol, call a function with up to six integer or string */
/* arguments, and view a variable (a USDT semaphore) as an ArrayBuffer so     */
/* JavaScript can test it without a native call.                             */

#include <dlfcn.h>

struct dl_lib {
  void *handle; /* NULL once closed */
  int refs;     /* the library's JS handle + one per symbol handle */
};

struct dl_sym {
  struct dl_lib *lib;
  void *addr;
};

static void dl_lib_unref(struct dl_lib *l) {
  if (--l->refs == 0) {
    if (l->handle) dlclose(l->handle);
    free(l);
  }
}

static void dl_lib_finalize(napi_env env, void *data, void *hint) { dl_lib_unref(data); }

static void dl_sym_finalize(napi_env env, void *data, void *hint) {
  struct dl_sym *s = data;
  dl_lib_unref(s->lib);
  free(s);
}

/* dlopen(path) -> library handle, or the dlerror() message as a string */
static napi_value js_dlopen(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char path[4096];
  size_t len;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], path, sizeof(path), &len) != napi_ok ||
      len >= sizeof(path) - 1) {
    napi_throw_type_error(env, NULL, "dlopen(path)");
    return NULL;
  }
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  napi_value out;
  if (!h) {
    const char *e = dlerror();
    napi_create_string_utf8(env, e ? e : "dlopen failed", NAPI_AUTO_LENGTH, &out);
    return out;
  }
  struct dl_lib *l = calloc(1, sizeof(*l));
  l->handle = h;
  l->refs = 1;
  CHECK(napi_create_external(env, l, dl_lib_finalize, NULL, &out));
  return out;
}

static struct dl_lib *get_lib(napi_env env, napi_value v) {
  struct dl_lib *l = NULL;
  if (napi_get_value_external(env, v, (void **)&l) != napi_ok || !l) {
    napi_throw_type_error(env, NULL, "expected a library handle");
    return NULL;
  }
  return l;
}

static struct dl_sym *get_sym(napi_env env, napi_value v) {
  struct dl_sym *s = NULL;
  if (napi_get_value_external(env, v, (void **)&s) != napi_ok || !s) {
    napi_throw_type_error(env, NULL, "expected a symbol handle");
    return NULL;
  }
  if (!s->lib->handle) {
    napi_throw_error(env, NULL, "the library of this symbol is closed");
    return NULL;
  }
  return s;
}

/* dlsym(lib, name) -> symbol handle, or undefined when absent */
static napi_value js_dlsym(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct dl_lib *l = argc > 0 ? get_lib(env, argv[0]) : NULL;
  if (!l) return NULL;
  char name[512];
  size_t len;
  if (argc < 2 || napi_get_value_string_utf8(env, argv[1], name, sizeof(name), &len) != napi_ok ||
      len >= sizeof(name) - 1) {
    napi_throw_type_error(env, NULL, "dlsym(lib, name)");
    return NULL;
  }
  if (!l->handle) {
    napi_throw_error(env, NULL, "dlsym: the library is closed");
    return NULL;
  }
  void *addr = dlsym(l->handle, name);
  if (!addr) return NULL;
  struct dl_sym *s = calloc(1, sizeof(*s));
  s->lib = l;
  s->addr = addr;
  l->refs++;
  napi_value out;
  CHECK(napi_create_external(env, s, dl_sym_finalize, NULL, &out));
  return out;
}

/* dlclose(lib): unmaps the library; its symbol handles then refuse to work. */
static napi_value js_dlclose(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct dl_lib *l = argc > 0 ? get_lib(env, argv[0]) : NULL;
  if (!l) return NULL;
  if (l->handle) dlclose(l->handle);
  l->handle = NULL;
  return NULL;
}

#define CALL_MAX_ARGS 6
#define CALL_INLINE_STR 256

/*
 * symCall(sym, ...args): calls the function with up to six arguments in the
 * integer registers: a number or bigint as a 64-bit integer, a string as a
 * pointer to a NUL-terminated UTF-8 copy that lives until the call returns.
 */
static napi_value js_sym_call(napi_env env, napi_callback_info info) {
  size_t argc = 1 + CALL_MAX_ARGS;
  napi_value argv[1 + CALL_MAX_ARGS];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct dl_sym *s = argc > 0 ? get_sym(env, argv[0]) : NULL;
  if (!s) return NULL;
  uint64_t a[CALL_MAX_ARGS] = {0};
  char inline_str[CALL_MAX_ARGS][CALL_INLINE_STR];
  char *heap_str[CALL_MAX_ARGS] = {NULL};
  int bad = 0;
  for (size_t i = 0; i + 1 < argc && i < CALL_MAX_ARGS && !bad; i++) {
    napi_value v = argv[i + 1];
    napi_valuetype t;
    napi_typeof(env, v, &t);
    if (t == napi_string) {
      size_t n;
      napi_get_value_string_utf8(env, v, NULL, 0, &n);
      char *buf = inline_str[i];
      if (n + 1 > CALL_INLINE_STR) buf = heap_str[i] = malloc(n + 1);
      if (!buf) {
        bad = 1;
        break;
      }
      napi_get_value_string_utf8(env, v, buf, n + 1, &n);
      a[i] = (uint64_t)(uintptr_t)buf;
    } else {
      int64_t x;
      if (get_i64(env, v, &x)) bad = 1;
      a[i] = (uint64_t)x;
    }
  }
  if (!bad) {
    void (*fn)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) =
        (void (*)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t))s->addr;
    fn(a[0], a[1], a[2], a[3], a[4], a[5]);
  }
  for (int i = 0; i < CALL_MAX_ARGS; i++) free(heap_str[i]);
  if (bad) napi_throw_type_error(env, NULL, "symCall(sym, ...args): arguments are integers, bigints or strings");
  return NULL;
}

/*
 * symView(sym, bytes) -> an ArrayBuffer over the symbol's memory (no copy).
 * The caller drops it before closing the library.
 */
static napi_value js_sym_view(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct dl_sym *s = argc > 0 ? get_sym(env, argv[0]) : NULL;
  if (!s) return NULL;
  int64_t bytes;
  if (argc < 2 || get_i64(env, argv[1], &bytes) || bytes <= 0 || bytes > 4096) {
    napi_throw_type_error(env, NULL, "symView(sym, bytes)");
    return NULL;
  }
  napi_value out;
  if (napi_create_external_arraybuffer(env, s->addr, (size_t)bytes, NULL, NULL, &out) != napi_ok) {
    napi_throw_error(env, NULL, "symView: this Node.js does not allow external ArrayBuffers");
    return NULL;
  }
  return out;
}

/* ------------------------------------------------------------------------ */
/* BTF: the first pass over a type section.                                 */

static int get_typed_array(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *count) {
  bool is;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return -1;
  napi_typedarray_type type;
  size_t off;
  napi_value ab;
  if (napi_get_typedarray_info(env, v, &type, count, data, &ab, &off) != napi_ok || type != want) return -1;
  return 0;
}

/* btfScan(buf, start, end, extraFixed: Int32Array(32), extraPerMember: Int32Array(32),
 *         offsets: Uint32Array, nameOffs: Uint32Array) -> number of types, or -1.
 * Records where each type of buf[start, end) starts and its name offset: the walk
 * the Btf constructor otherwise does in JavaScript over vmlinux's ~130k types at
 * every tool's start-up (~10 ms of CPU there, well under 1 ms here). The record
 * sizes come from the caller's tables, so the kinds are defined once (btf.ts).
 * -1 for anything unusual (a truncated record, an unknown kind, more types than
 * the arrays hold, an unaligned buffer): the caller then walks in JavaScript,
 * which grows its arrays and reports the error precisely. */
static napi_value js_btf_scan(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *buf, *fixed, *per, *offs, *names;
  size_t blen, nfixed, nper, noffs, nnames;
  int64_t start, end;
  if (argc < 7 || get_bytes(env, argv[0], &buf, &blen) || get_i64(env, argv[1], &start) ||
      get_i64(env, argv[2], &end) || get_typed_array(env, argv[3], napi_int32_array, &fixed, &nfixed) ||
      get_typed_array(env, argv[4], napi_int32_array, &per, &nper) ||
      get_typed_array(env, argv[5], napi_uint32_array, &offs, &noffs) ||
      get_typed_array(env, argv[6], napi_uint32_array, &names, &nnames) || nfixed < 32 || nper < 32) {
    napi_throw_type_error(env, NULL, "btfScan(buf, start, end, extraFixed, extraPerMember, offsets, nameOffs)");
    return NULL;
  }
  if (start < 0 || end < start || (uint64_t)end > blen || ((uintptr_t)buf + start) % 4 != 0) return make_int(env, -1);
  const unsigned char *b = buf;
  const int32_t *fx = fixed, *pm = per;
  uint32_t *o = offs, *nm = names;
  size_t cap = noffs < nnames ? noffs : nnames, n = 0;
  int64_t p = start;
  while (p < end) {
    if (p + 12 > end || n == cap) return make_int(env, -1);
    const uint32_t *w = (const uint32_t *)(b + p);
    uint32_t kind = (w[1] >> 24) & 0x1f;
    if (fx[kind] < 0) return make_int(env, -1);
    nm[n] = w[0];
    o[n++] = (uint32_t)p;
    p += 12 + fx[kind] + (int64_t)pm[kind] * (w[1] & 0xffff);
  }
  return make_int(env, (int64_t)n);
}

/* mapReadOnly(path) -> ArrayBuffer over the whole file mapped PROT_READ/MAP_PRIVATE, or
 * the errno (a number) when it cannot be mapped. For /sys/kernel/btf/vmlinux (mmap-able
 * since Linux 6.16): the kernel's own pages are mapped, so the 5.5 MB are neither
 * copied nor faulted into fresh memory at every tool's start-up. The mapping is
 * read-only: a write through the buffer would fault, and the BTF reader never writes.
 * It is unmapped when the ArrayBuffer is collected. */
static void unmap_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  munmap(data, (size_t)(uintptr_t)hint);
}

static napi_value js_map_read_only(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char path[4096];
  size_t len;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], path, sizeof(path), &len) != napi_ok || len >= sizeof(path) - 1) {
    napi_throw_type_error(env, NULL, "mapReadOnly(path)");
    return NULL;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_int(env, errno);
  struct stat st;
  int bad = fstat(fd, &st) != 0 ? errno : (!S_ISREG(st.st_mode) || st.st_size <= 0) ? EINVAL : 0;
  if (bad) {
    int e = bad;
    close(fd);
    return make_int(env, e);
  }
  void *addr = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  int e = errno;
  close(fd);
  if (addr == MAP_FAILED) return make_int(env, e);
  napi_value out;
  if (napi_create_external_arraybuffer(env, addr, (size_t)st.st_size, unmap_finalize, (void *)(uintptr_t)st.st_size, &out) != napi_ok) {
    munmap(addr, (size_t)st.st_size);
    return make_int(env, ENOTSUP);
  }
  return out;
}

#define EXPORT(name, fn)                                                   \
  do {                                                                     \
    napi_value f;                                                          \
    napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f);       \
    napi_set_named_property(env, exports, name, f);                        \
  } while (0)

static napi_value init(napi_env env, napi_value exports) {
  EXPORT("bpf", js_bpf);
  EXPORT("perfEventOpen", js_perf_event_open);
  EXPORT("ioctl", js_ioctl);
  EXPORT("close", js_close);
  EXPORT("clockNs", js_clock_ns);
  EXPORT("ringbufOpen", js_ringbuf_open);
  EXPORT("perfbufOpen", js_perfbuf_open);
  EXPORT("ringDrain", js_ring_drain);
  EXPORT("ringPending", js_ring_pending);
  EXPORT("ringClose", js_ring_close);
  EXPORT("watch", js_watch);
  EXPORT("unwatch", js_unwatch);
  EXPORT("watchRef", js_watch_ref);
  EXPORT("unixDgramSend", js_unix_dgram_send);
  EXPORT("dlopen", js_dlopen);
  EXPORT("dlsym", js_dlsym);
  EXPORT("dlclose", js_dlclose);
  EXPORT("symCall", js_sym_call);
  EXPORT("symView", js_sym_view);
  EXPORT("btfScan", js_btf_scan);
  EXPORT("mapReadOnly", js_map_read_only);
  napi_value page;
  napi_create_int64(env, sysconf(_SC_PAGESIZE), &page);
  napi_set_named_property(env, exports, "pageSize", page);
  napi_value ncpu;
  napi_create_int64(env, sysconf(_SC_NPROCESSORS_CONF), &ncpu);
  napi_set_named_property(env, exports, "possibleCpusHint", ncpu);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
