/*
 * child: a wasm program meant to be run as a child of another guest through wasm-rr's process
 * family (`--run-wasm child=guests/build/child.wasm`, then `procdemo wasm ARG...`), though it
 * is an ordinary WASI program and runs on its own too.
 *
 * Usage: child [ARG...]; among the ARGs, `cat PATH` reads the file PATH (inside a preopen) and
 * `exit N` sets the exit status (0..255, default 0). Other ARGs are only printed.
 *
 * Effects exercised: args, getenv("GREETING"), stdin read to its end, 8 random bytes
 * (getentropy), the realtime clock, a file read, the exit status.
 *
 * Prints on stdout, one line each:
 *   child: args ["child", "ARG", ...]       (argv[0] included, strings in double quotes)
 *   child: GREETING=<value>                 (or `child: GREETING unset`)
 *   child: stdin N bytes
 *   child: random <16 hex digits>
 *   child: time <unix ms>
 *   child: cat PATH: N bytes "<escaped contents>"   (or `child: cat PATH: <strerror>`)
 *   child: exit N
 * and `child: bye` on stderr. Bytes are escaped as procdemo does (\n, \t, \\, \", \xNN), at
 * most 256 of them shown.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SHOW_MAX 256

static void print_escaped(const unsigned char *p, size_t n) {
    size_t shown = n < SHOW_MAX ? n : SHOW_MAX;
    putchar('"');
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = p[i];
        if (c == '\n') {
            fputs("\\n", stdout);
        } else if (c == '\t') {
            fputs("\\t", stdout);
        } else if (c == '\\' || c == '"') {
            printf("\\%c", c);
        } else if (c >= 0x20 && c < 0x7f) {
            putchar(c);
        } else {
            printf("\\x%02x", c);
        }
    }
    putchar('"');
    if (shown < n) {
        fputs("...", stdout);
    }
}

/* Read all of `f`; returns the bytes (malloc'd) and sets *len, or NULL on a read error. */
static unsigned char *read_all(FILE *f, size_t *len) {
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            break;
        }
    }
    if (ferror(f)) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

int main(int argc, char **argv) {
    printf("child: args [");
    for (int i = 0; i < argc; i++) {
        if (i > 0) {
            fputs(", ", stdout);
        }
        print_escaped((const unsigned char *)argv[i], strlen(argv[i]));
    }
    printf("]\n");

    const char *greeting = getenv("GREETING");
    if (greeting == NULL) {
        printf("child: GREETING unset\n");
    } else {
        printf("child: GREETING=%s\n", greeting);
    }

    size_t in_len = 0;
    unsigned char *in = read_all(stdin, &in_len);
    if (in == NULL) {
        printf("child: stdin unreadable: %s\n", strerror(errno));
    } else {
        printf("child: stdin %zu bytes\n", in_len);
        free(in);
    }

    unsigned char rnd[8] = {0};
    if (getentropy(rnd, sizeof rnd) != 0) {
        printf("child: random failed: %s\n", strerror(errno));
    } else {
        printf("child: random ");
        for (size_t i = 0; i < sizeof rnd; i++) {
            printf("%02x", rnd[i]);
        }
        printf("\n");
    }

    struct timespec ts = {0, 0};
    clock_gettime(CLOCK_REALTIME, &ts);
    printf("child: time %lld\n", (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);

    int status = 0;
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "cat") == 0) {
            const char *path = argv[++i];
            FILE *f = fopen(path, "rb");
            size_t len = 0;
            unsigned char *data = f ? read_all(f, &len) : NULL;
            if (data == NULL) {
                printf("child: cat %s: %s\n", path, strerror(errno));
            } else {
                printf("child: cat %s: %zu bytes ", path, len);
                print_escaped(data, len);
                putchar('\n');
                free(data);
            }
            if (f) {
                fclose(f);
            }
        } else if (strcmp(argv[i], "exit") == 0) {
            status = atoi(argv[++i]) & 0xff;
        }
    }
    printf("child: exit %d\n", status);
    fflush(stdout);
    fputs("child: bye\n", stderr);
    return status;
}
