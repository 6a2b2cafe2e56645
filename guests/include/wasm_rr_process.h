/*
 * wasm_rr_process.h: run a host program (or a wasm child) from a C guest through wasm-rr's
 * process family, one recorded call per run.
 *
 * The interface is wit/process.wit (package wasm-rr:process@0.1.0, interface `process`,
 * function `run`). A core module imports its canonical-ABI lowering directly:
 *
 *   (import "wasm-rr:process/process@0.1.0" "run"
 *     (func (param i32 i32   ;; program: ptr, len (UTF-8, no NUL)
 *                  i32 i32   ;; args: ptr to argc {ptr, len} string pairs (8 bytes each), argc
 *                  i32 i32   ;; cwd: ptr, len ("" = the first preopen)
 *                  i32 i32   ;; env: ptr to envc {ptr, len} "NAME=VALUE" pairs, envc
 *                  i32 i32   ;; stdin: ptr, len
 *                  i64       ;; timeout in milliseconds (0 = none)
 *                  i32)))    ;; retptr: where the host writes the 32-byte result
 *
 * The host writes `result<output, error-code>` at retptr (layout: struct wrr_run_result
 * below) and allocates the stdout and stderr buffers inside the guest by calling the guest's
 * exported `cabi_realloc(0, 0, 1, len)`; for an empty output it may store ptr 0 without
 * calling it. So a guest using this import MUST export `cabi_realloc`: define
 * WASM_RR_PROCESS_IMPLEMENTATION before including this header in exactly one source file to
 * get one (built on realloc, so wrr_output_free can free() the buffers), plus the bodies of
 * wrr_run and wrr_output_free.
 *
 * The same source builds as a WASI 0.2 component: embed the WIT world `imports` of
 * wit/process.wit into the core module (`wasm-tools component embed wit/process.wit --world
 * imports`) before `wasm-tools component new --adapt ...`; the component then imports
 * wasm-rr:process/process@0.1.0 next to wasi:*. guests/build.py does this for every guest
 * that includes this header.
 *
 * Usage:
 *
 *   #define WASM_RR_PROCESS_IMPLEMENTATION
 *   #include "wasm_rr_process.h"
 *
 *   const char *argv[] = {"hello", "world"};
 *   wrr_output out;
 *   int rc = wrr_run("echo", argv, 2, "", NULL, 0, NULL, 0, 0, &out);
 *   if (rc != WRR_OK) { printf("error: %s\n", wrr_error_name(rc)); }
 *   else { fwrite(out.out.ptr, 1, out.out.len, stdout); wrr_output_free(&out); }
 */
#ifndef WASM_RR_PROCESS_H
#define WASM_RR_PROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef __wasm32__
#error "wasm_rr_process.h is for wasm32 guests"
#endif

/* A string (or bytes) as the canonical ABI lays it out: {ptr, len}, 8 bytes. Not NUL-terminated. */
typedef struct wrr_string {
    const char *ptr;
    size_t len;
} wrr_string;

/* Bytes the host allocated in guest memory with cabi_realloc (ptr may be 0 when len is 0). */
typedef struct wrr_bytes {
    uint8_t *ptr;
    size_t len;
} wrr_bytes;

/* record output: what a finished program gave back. */
typedef struct wrr_output {
    int32_t status;   /* exit status 0..255; -1 when a signal ended it */
    uint32_t signal;  /* the signal that ended it (a timeout kills with 9); 0 when it exited */
    bool timed_out;   /* the timeout elapsed and the program was killed */
    wrr_bytes out;    /* its stdout */
    wrr_bytes err;    /* its stderr */
} wrr_output;

/* enum error-code, in WIT order. */
enum wrr_error_code {
    WRR_ERROR_ACCESS = 0,        /* not allowed (--allow-run / --run-wasm did not name it) */
    WRR_ERROR_NO_ENTRY = 1,      /* allowed, but not found on the host's PATH / not executable */
    WRR_ERROR_NOT_DIRECTORY = 2, /* cwd is not a directory inside a preopen */
    WRR_ERROR_INVALID = 3,       /* empty program, NUL in a string, env entry without '=' */
    WRR_ERROR_IO = 4,            /* any other failure to start the program */
};

/* result<output, error-code>: 32 bytes, align 4. */
typedef struct wrr_run_result {
    uint8_t is_err; /* 0: ok (val.ok), 1: err (val.err, an enum wrr_error_code) */
    union {
        wrr_output ok;
        uint8_t err;
    } val;
} wrr_run_result;

_Static_assert(sizeof(wrr_string) == 8, "string pair is {ptr, len}");
_Static_assert(sizeof(wrr_run_result) == 32, "result<output, error-code> is 32 bytes");
_Static_assert(_Alignof(wrr_run_result) == 4, "result<output, error-code> is 4-aligned");
_Static_assert(offsetof(wrr_run_result, is_err) == 0, "discriminant @0");
_Static_assert(offsetof(wrr_run_result, val.err) == 4, "error-code @4");
_Static_assert(offsetof(wrr_run_result, val.ok.status) == 4, "status @4");
_Static_assert(offsetof(wrr_run_result, val.ok.signal) == 8, "signal @8");
_Static_assert(offsetof(wrr_run_result, val.ok.timed_out) == 12, "timed-out @12");
_Static_assert(offsetof(wrr_run_result, val.ok.out.ptr) == 16, "stdout ptr @16");
_Static_assert(offsetof(wrr_run_result, val.ok.out.len) == 20, "stdout len @20");
_Static_assert(offsetof(wrr_run_result, val.ok.err.ptr) == 24, "stderr ptr @24");
_Static_assert(offsetof(wrr_run_result, val.ok.err.len) == 28, "stderr len @28");

/* The import itself: the canonical-ABI lowering of `run`. */
__attribute__((import_module("wasm-rr:process/process@0.1.0"), import_name("run")))
void wrr_process_run(const char *program, size_t program_len, const wrr_string *args,
                     size_t args_len, const char *cwd, size_t cwd_len, const wrr_string *env,
                     size_t env_len, const uint8_t *stdin_data, size_t stdin_len,
                     uint64_t timeout_ms, wrr_run_result *ret);

/* wrr_run's return values: WRR_OK, or an error code + 1. */
#define WRR_OK 0
#define WRR_ERR(code) ((code) + 1)

/* Run `program` with argv[0..argc) (without the program name), in the guest directory `cwd`
 * (NULL or "" = the first preopen), with exactly the environment env[0..envc) ("NAME=VALUE"),
 * `stdin_data` as its whole standard input, and a timeout in ms (0 = none).
 * Returns WRR_OK and fills *out (free it with wrr_output_free), or WRR_ERR(code) for an
 * enum wrr_error_code (*out is then zeroed). Strings must be NUL-terminated. */
int wrr_run(const char *program, const char *const *argv, size_t argc, const char *cwd,
            const char *const *env, size_t envc, const void *stdin_data, size_t stdin_len,
            uint64_t timeout_ms, wrr_output *out);

/* Free the stdout/stderr buffers of an output filled by wrr_run. */
void wrr_output_free(wrr_output *out);

/* "access", "no-entry", "not-directory", "invalid", "io" for a wrr_run return value
 * (WRR_ERR(code)); "ok" for WRR_OK; "unknown" otherwise. */
static inline const char *wrr_error_name(int rc) {
    switch (rc) {
    case WRR_OK:
        return "ok";
    case WRR_ERR(WRR_ERROR_ACCESS):
        return "access";
    case WRR_ERR(WRR_ERROR_NO_ENTRY):
        return "no-entry";
    case WRR_ERR(WRR_ERROR_NOT_DIRECTORY):
        return "not-directory";
    case WRR_ERR(WRR_ERROR_INVALID):
        return "invalid";
    case WRR_ERR(WRR_ERROR_IO):
        return "io";
    default:
        return "unknown";
    }
}

#ifdef WASM_RR_PROCESS_IMPLEMENTATION

#include <stdlib.h>
#include <string.h>

/* The canonical ABI's allocator, called by the host to place stdout/stderr in guest memory.
 * malloc's 16-byte alignment covers every `align` the ABI asks for. */
__attribute__((export_name("cabi_realloc")))
void *cabi_realloc(void *old_ptr, size_t old_size, size_t align, size_t new_size) {
    (void)old_size;
    if (new_size == 0) {
        return (void *)align; /* a non-null, aligned pointer for an empty list */
    }
    void *p = realloc(old_ptr, new_size);
    if (p == NULL) {
        abort();
    }
    return p;
}

static wrr_string *wrr__strings(const char *const *items, size_t n) {
    if (n == 0) {
        return NULL;
    }
    wrr_string *pairs = malloc(n * sizeof *pairs);
    if (pairs == NULL) {
        abort();
    }
    for (size_t i = 0; i < n; i++) {
        pairs[i].ptr = items[i];
        pairs[i].len = strlen(items[i]);
    }
    return pairs;
}

int wrr_run(const char *program, const char *const *argv, size_t argc, const char *cwd,
            const char *const *env, size_t envc, const void *stdin_data, size_t stdin_len,
            uint64_t timeout_ms, wrr_output *out) {
    wrr_string *args = wrr__strings(argv, argc);
    wrr_string *envs = wrr__strings(env, envc);
    if (cwd == NULL) {
        cwd = "";
    }
    wrr_run_result ret;
    memset(&ret, 0, sizeof ret);
    wrr_process_run(program, strlen(program), args, argc, cwd, strlen(cwd), envs, envc,
                    (const uint8_t *)stdin_data, stdin_len, timeout_ms, &ret);
    free(args);
    free(envs);
    if (ret.is_err) {
        memset(out, 0, sizeof *out);
        return WRR_ERR((int)ret.val.err);
    }
    *out = ret.val.ok;
    return WRR_OK;
}

void wrr_output_free(wrr_output *out) {
    if (out->out.len != 0) {
        free(out->out.ptr);
    }
    if (out->err.len != 0) {
        free(out->err.ptr);
    }
    out->out.ptr = NULL;
    out->out.len = 0;
    out->err.ptr = NULL;
    out->err.len = 0;
}

#endif /* WASM_RR_PROCESS_IMPLEMENTATION */

#endif /* WASM_RR_PROCESS_H */
