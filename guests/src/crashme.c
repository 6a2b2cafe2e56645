/*
 * crashme: a guest with planted crashes, for `wasm-rr minimize` and its tests.
 *
 * Usage: crashme [ARG...]
 *
 * Reads all of stdin (4 KiB per read), then looks at each ARG:
 *   - an ARG containing "BOOM" traps in crash_arg (unreachable);
 *   - an ARG "@PATH" names a file (inside a preopen) that is read whole; if it
 *     contains "BUG" the guest traps in crash_file (unreachable).
 * Then, if stdin contains "BUG", it traps in crash_stdin (unreachable).
 * Otherwise it prints "crashme: N bytes of stdin, M args, ok" and exits 0;
 * a file that cannot be opened gives a message on stderr and exit 1.
 * Each crash has its own function, so each has its own crash site.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned char *read_all(int fd, size_t *len) {
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap);
    for (;;) {
        if (cap - n < 4096) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
        ssize_t got = read(fd, buf + n, 4096);
        if (got <= 0) {
            break;
        }
        n += (size_t)got;
    }
    *len = n;
    return buf;
}

static int contains(const unsigned char *buf, size_t len, const char *pattern) {
    size_t m = strlen(pattern);
    for (size_t i = 0; i + m <= len; i++) {
        if (memcmp(buf + i, pattern, m) == 0) {
            return 1;
        }
    }
    return 0;
}

__attribute__((noinline)) static void crash_stdin(void) { __builtin_trap(); }
__attribute__((noinline)) static void crash_arg(void) { __builtin_trap(); }
__attribute__((noinline)) static void crash_file(void) { __builtin_trap(); }

int main(int argc, char **argv) {
    size_t n = 0;
    unsigned char *in = read_all(0, &n);
    for (int i = 1; i < argc; i++) {
        if (strstr(argv[i], "BOOM") != NULL) {
            crash_arg();
        }
        if (argv[i][0] == '@') {
            int fd = open(argv[i] + 1, O_RDONLY);
            if (fd < 0) {
                fprintf(stderr, "crashme: cannot open %s\n", argv[i] + 1);
                return 1;
            }
            size_t flen = 0;
            unsigned char *data = read_all(fd, &flen);
            close(fd);
            if (contains(data, flen, "BUG")) {
                crash_file();
            }
            free(data);
        }
    }
    if (contains(in, n, "BUG")) {
        crash_stdin();
    }
    printf("crashme: %zu bytes of stdin, %d args, ok\n", n, argc - 1);
    free(in);
    return 0;
}
