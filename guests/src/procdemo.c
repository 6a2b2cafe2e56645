/*
 * procdemo: run host programs through wasm-rr's process family (wit/process.wit, one recorded
 * import per run, see include/wasm_rr_process.h) and print what came back.
 *
 * Usage:
 *   procdemo                 the tour: echo, date, exit status, stdin, a signal, a denied
 *                            program (ls), stderr, a timeout. Allow echo, date, sh, cat and
 *                            sleep (and not ls).
 *   procdemo big N           `head -c N /dev/zero`: prints only the byte counts and the
 *                            FNV-1a 64 hash of stdout (for large outputs).
 *   procdemo run PROG [ARG...]   runs PROG with the ARGs, prints everything it got back.
 *   procdemo cwd DIR         runs `pwd` and `sh -c ls` in the guest directory DIR and compares
 *                            the listing with the guest's own readdir of DIR.
 *   procdemo wasm [ARG...]   runs the program `child` (give it as --run-wasm
 *                            child=guests/build/child.wasm) with the ARGs, env GREETING=hi and
 *                            stdin "to the child\n".
 *
 * Every run uses an empty environment unless said otherwise, cwd "" (the first preopen), no
 * stdin and no timeout. One run prints, in this order:
 *   == <label>
 *   error: <access|no-entry|not-directory|invalid|io>       (the run failed to start), or
 *   status: S signal: G timed-out: yes|no
 *   stdout: <N> bytes "<escaped>"
 *   stderr: <N> bytes "<escaped>"
 * Output bytes are escaped C-style (\n, \t, \\, \", \xNN for the rest outside 0x20..0x7e);
 * at most 1024 bytes of each are shown, then `...`.
 * Exit status: 0, or 1 when a run the mode depends on failed to start (big, run, cwd, wasm).
 */
#define WASM_RR_PROCESS_IMPLEMENTATION
#include "wasm_rr_process.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHOW_MAX 1024

static void print_escaped(const uint8_t *p, size_t n) {
    size_t shown = n < SHOW_MAX ? n : SHOW_MAX;
    putchar('"');
    for (size_t i = 0; i < shown; i++) {
        uint8_t c = p[i];
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
    putchar('\n');
}

static void print_output(const wrr_output *o) {
    printf("status: %d signal: %u timed-out: %s\n", (int)o->status, (unsigned)o->signal,
           o->timed_out ? "yes" : "no");
    printf("stdout: %zu bytes ", o->out.len);
    print_escaped(o->out.ptr, o->out.len);
    printf("stderr: %zu bytes ", o->err.len);
    print_escaped(o->err.ptr, o->err.len);
}

/* Run one program and print the result; returns wrr_run's result. */
static int show(const char *label, const char *program, const char *const *argv, size_t argc,
                const char *cwd, const char *const *env, size_t envc, const char *in,
                uint64_t timeout_ms) {
    wrr_output out;
    printf("== %s\n", label);
    int rc = wrr_run(program, argv, argc, cwd, env, envc, in, in ? strlen(in) : 0, timeout_ms,
                     &out);
    if (rc != WRR_OK) {
        printf("error: %s\n", wrr_error_name(rc));
        return rc;
    }
    print_output(&out);
    wrr_output_free(&out);
    return rc;
}

static int tour(void) {
    const char *echo_args[] = {"hello", "world"};
    show("echo hello world", "echo", echo_args, 2, "", NULL, 0, NULL, 0);
    const char *date_args[] = {"+%Y"};
    show("date +%Y", "date", date_args, 1, "", NULL, 0, NULL, 0);
    const char *exit_args[] = {"-c", "exit 3"};
    show("sh -c 'exit 3'", "sh", exit_args, 2, "", NULL, 0, NULL, 0);
    show("cat < \"fed through stdin\\n\"", "cat", NULL, 0, "", NULL, 0, "fed through stdin\n", 0);
    const char *kill_args[] = {"-c", "kill -9 $$"};
    show("sh -c 'kill -9 $$'", "sh", kill_args, 2, "", NULL, 0, NULL, 0);
    show("ls (not allowed)", "ls", NULL, 0, "", NULL, 0, NULL, 0);
    const char *err_args[] = {"-c", "echo err >&2"};
    show("sh -c 'echo err >&2'", "sh", err_args, 2, "", NULL, 0, NULL, 0);
    const char *sleep_args[] = {"5"};
    show("sleep 5 (timeout 300 ms)", "sleep", sleep_args, 1, "", NULL, 0, NULL, 300);
    return 0;
}

/* FNV-1a, 64 bits. */
static uint64_t fnv1a64(const uint8_t *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static int big(const char *n) {
    const char *args[] = {"-c", n, "/dev/zero"};
    wrr_output out;
    printf("== head -c %s /dev/zero\n", n);
    int rc = wrr_run("head", args, 3, "", NULL, 0, NULL, 0, 0, &out);
    if (rc != WRR_OK) {
        printf("error: %s\n", wrr_error_name(rc));
        return 1;
    }
    printf("status: %d signal: %u timed-out: %s\n", (int)out.status, (unsigned)out.signal,
           out.timed_out ? "yes" : "no");
    printf("stdout: %zu bytes fnv1a64 %016llx\n", out.out.len,
           (unsigned long long)fnv1a64(out.out.ptr, out.out.len));
    printf("stderr: %zu bytes\n", out.err.len);
    wrr_output_free(&out);
    return 0;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in DIR that `ls` shows (no dot files), sorted bytewise, one per line. */
static char *guest_listing(const char *dir) {
    DIR *d = opendir(dir);
    if (d == NULL) {
        return NULL;
    }
    char **names = NULL;
    size_t n = 0, total = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        names = realloc(names, (n + 1) * sizeof *names);
        names[n] = strdup(e->d_name);
        total += strlen(e->d_name) + 1;
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    char *out = malloc(total + 1);
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        memcpy(out + pos, names[i], len);
        out[pos + len] = '\n';
        pos += len + 1;
        free(names[i]);
    }
    out[pos] = '\0';
    free(names);
    return out;
}

static int cwd_mode(const char *dir) {
    wrr_output out;
    printf("== pwd in %s\n", dir);
    int rc = wrr_run("pwd", NULL, 0, dir, NULL, 0, NULL, 0, 0, &out);
    if (rc != WRR_OK) {
        printf("error: %s\n", wrr_error_name(rc));
        return 1;
    }
    /* pwd prints the host path: show only that it printed one absolute path. */
    int one_path = out.out.len > 1 && out.out.ptr[0] == '/' &&
                   memchr(out.out.ptr, '\n', out.out.len) == out.out.ptr + out.out.len - 1;
    printf("status: %d printed an absolute path: %s\n", (int)out.status, one_path ? "yes" : "no");
    wrr_output_free(&out);

    const char *ls_args[] = {"-c", "ls"};
    printf("== sh -c ls in %s\n", dir);
    rc = wrr_run("sh", ls_args, 2, dir, NULL, 0, NULL, 0, 0, &out);
    if (rc != WRR_OK) {
        printf("error: %s\n", wrr_error_name(rc));
        return 1;
    }
    print_output(&out);
    char *mine = guest_listing(dir);
    if (mine == NULL) {
        printf("guest listing of %s: cannot open it\n", dir);
    } else {
        int same = strlen(mine) == out.out.len && memcmp(mine, out.out.ptr, out.out.len) == 0;
        printf("same as the guest's listing of %s: %s\n", dir, same ? "yes" : "no");
        free(mine);
    }
    wrr_output_free(&out);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        return tour();
    }
    const char *mode = argv[1];
    if (strcmp(mode, "big") == 0 && argc == 3) {
        return big(argv[2]);
    }
    if (strcmp(mode, "run") == 0 && argc >= 3) {
        char label[256];
        snprintf(label, sizeof label, "run %s (%d args)", argv[2], argc - 3);
        int rc = show(label, argv[2], (const char *const *)argv + 3, (size_t)(argc - 3), "",
                      NULL, 0, NULL, 0);
        return rc == WRR_OK ? 0 : 1;
    }
    if (strcmp(mode, "cwd") == 0 && argc == 3) {
        return cwd_mode(argv[2]);
    }
    if (strcmp(mode, "wasm") == 0) {
        const char *env[] = {"GREETING=hi"};
        char label[64];
        snprintf(label, sizeof label, "child (%d args)", argc - 2);
        int rc = show(label, "child", (const char *const *)argv + 2, (size_t)(argc - 2), "", env,
                      1, "to the child\n", 0);
        return rc == WRR_OK ? 0 : 1;
    }
    fprintf(stderr,
            "usage: procdemo | procdemo big N | procdemo run PROG [ARG...] | procdemo cwd DIR"
            " | procdemo wasm [ARG...]\n");
    return 2;
}
