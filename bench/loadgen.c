/*
 * Load generator and resource meter for the tsbpf benchmarks.
 *
 *   loadgen SYSCALL N [--wait]
 *       Performs exactly N calls of SYSCALL (getppid, umask, chdir, openat, close),
 *       then prints "calls=N ns=ELAPSED" on stdout. Each call goes through
 *       syscall(2) so libc caching can never skip the kernel. With --wait it
 *       prints "ready" and waits for one byte on stdin first, so a tracer can
 *       be attached (and told our pid) before the first call.
 *
 *   loadgen rusage OUTFILE CMD [ARGS...]
 *       Runs CMD, forwards SIGINT/SIGTERM to it, and when it exits writes
 *       "wall_ns utime_us stime_us maxrss_kb status" to OUTFILE. Used instead
 *       of /usr/bin/time because it forwards signals (a tracer is stopped
 *       with SIGINT) and reports microseconds rather than centiseconds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static volatile pid_t child_pid;

static void forward(int sig) {
  if (child_pid > 0) kill(child_pid, sig);
}

static int rusage_main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: loadgen rusage OUTFILE CMD [ARGS...]\n");
    return 2;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = forward;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  long long t0 = now_ns();
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return 2;
  }
  if (pid == 0) {
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    execvp(argv[3], argv + 3);
    fprintf(stderr, "loadgen: cannot run %s: %s\n", argv[3], strerror(errno));
    _exit(127);
  }
  child_pid = pid;
  int status = 0;
  struct rusage ru;
  while (wait4(pid, &status, 0, &ru) < 0) {
    if (errno != EINTR) {
      perror("wait4");
      return 2;
    }
  }
  long long wall = now_ns() - t0;
  FILE *f = fopen(argv[2], "w");
  if (!f) {
    perror(argv[2]);
    return 2;
  }
  long long ut = (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec;
  long long st = (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  fprintf(f, "%lld %lld %lld %ld %d\n", wall, ut, st, ru.ru_maxrss, code);
  fclose(f);
  return code;
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "rusage") == 0) return rusage_main(argc, argv);
  if (argc < 3) {
    fprintf(stderr, "usage: loadgen getppid|umask|chdir|openat|close N [--wait]\n       loadgen rusage OUTFILE CMD [ARGS...]\n");
    return 2;
  }
  const char *which = argv[1];
  long long n = atoll(argv[2]);
  if (argc >= 4 && strcmp(argv[3], "--wait") == 0) {
    char c;
    printf("ready\n");
    fflush(stdout);
    if (read(0, &c, 1) != 1) return 3;
  }
  long long t0 = now_ns();
  if (strcmp(which, "getppid") == 0) {
    for (long long i = 0; i < n; i++) syscall(SYS_getppid);
  } else if (strcmp(which, "umask") == 0) {
    /* Varying values give hist() and sum() several buckets and real work. */
    for (long long i = 0; i < n; i++) syscall(SYS_umask, (unsigned)(i & 0777));
    syscall(SYS_umask, 022);
  } else if (strcmp(which, "chdir") == 0) {
    /* A path that cannot exist: the kernel fails fast with ENOENT. */
    for (long long i = 0; i < n; i++) syscall(SYS_chdir, "/nonexistent-tsbpf-bench/dir");
  } else if (strcmp(which, "openat") == 0) {
    for (long long i = 0; i < n; i++) syscall(SYS_openat, AT_FDCWD, "/nonexistent-tsbpf-bench/file", O_RDONLY);
  } else if (strcmp(which, "close") == 0) {
    for (long long i = 0; i < n; i++) syscall(SYS_close, 100000 + (int)(i & 63));
  } else {
    fprintf(stderr, "loadgen: unknown syscall %s\n", which);
    return 2;
  }
  long long dt = now_ns() - t0;
  printf("calls=%lld ns=%lld\n", n, dt);
  return 0;
}
