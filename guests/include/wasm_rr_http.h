/*
 * wasm_rr_http.h: send an HTTP request from a C guest through wasm-rr's http family, one
 * recorded call per request.
 *
 * The interface is wit/http.wit (package wasm-rr:http@0.1.0, interface `client`, function
 * `send`). A core module imports its canonical-ABI lowering directly:
 *
 *   (import "wasm-rr:http/client@0.1.0" "send"
 *     (func (param i32 i32   ;; method: ptr, len (UTF-8)
 *                  i32 i32   ;; url: ptr, len (UTF-8)
 *                  i32 i32   ;; headers: ptr to n 16-byte {name ptr, name len, value ptr,
 *                            ;;   value len} elements, n
 *                  i32 i32   ;; body: ptr, len
 *                  i64       ;; timeout in milliseconds (0 = the host's defaults)
 *                  i32)))    ;; retptr: where the host writes the 24-byte result
 *
 * The host writes `result<response, error>` at retptr (layout: struct wrr_http_result below)
 * and allocates every string and list of the answer (header array, names, values, body, error
 * code and detail) inside the guest by calling the guest's exported `cabi_realloc`; an empty
 * one may be ptr 0. So a guest using this import MUST export `cabi_realloc`: define
 * WASM_RR_HTTP_IMPLEMENTATION before including this header in exactly one source file to get
 * one (unless WASM_RR_PROCESS_IMPLEMENTATION already gave one), plus wrr_http_send and
 * wrr_http_response_free.
 *
 * The same source builds as a WASI 0.2 component: guests/build.py embeds the WIT world
 * `imports` of wit/http.wit before `wasm-tools component new --adapt ...`.
 */
#ifndef WASM_RR_HTTP_H
#define WASM_RR_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef __wasm32__
#error "wasm_rr_http.h is for wasm32 guests"
#endif

typedef struct wrr_http_bytes {
    uint8_t *ptr;
    size_t len;
} wrr_http_bytes;

/* tuple<string, list<u8>>: 16 bytes. */
typedef struct wrr_http_field {
    const char *name;
    size_t name_len;
    const uint8_t *value;
    size_t value_len;
} wrr_http_field;

/* record response. */
typedef struct wrr_http_response {
    uint16_t status;
    wrr_http_field *headers;
    size_t headers_len;
    wrr_http_bytes body;
} wrr_http_response;

/* record error { code: string, detail: option<string> }. */
typedef struct wrr_http_error {
    const char *code;
    size_t code_len;
    uint8_t has_detail;
    const char *detail;
    size_t detail_len;
} wrr_http_error;

/* result<response, error>: 24 bytes, align 4. */
typedef struct wrr_http_result {
    uint8_t is_err;
    union {
        wrr_http_response ok;
        wrr_http_error err;
    } val;
} wrr_http_result;

_Static_assert(sizeof(wrr_http_field) == 16, "field is {name ptr, len, value ptr, len}");
_Static_assert(sizeof(wrr_http_result) == 24, "result<response, error> is 24 bytes");
_Static_assert(_Alignof(wrr_http_result) == 4, "result<response, error> is 4-aligned");
_Static_assert(offsetof(wrr_http_result, val.ok.status) == 4, "status @4");
_Static_assert(offsetof(wrr_http_result, val.ok.headers) == 8, "headers @8");
_Static_assert(offsetof(wrr_http_result, val.ok.body) == 16, "body @16");
_Static_assert(offsetof(wrr_http_result, val.err.code) == 4, "code @4");
_Static_assert(offsetof(wrr_http_result, val.err.has_detail) == 12, "detail tag @12");
_Static_assert(offsetof(wrr_http_result, val.err.detail) == 16, "detail @16");

__attribute__((import_module("wasm-rr:http/client@0.1.0"), import_name("send")))
void wrr_http_send_raw(const char *method, size_t method_len, const char *url, size_t url_len,
                       const wrr_http_field *headers, size_t headers_len, const uint8_t *body,
                       size_t body_len, uint64_t timeout_ms, wrr_http_result *ret);

/* Send a request (NUL-terminated method and url; headers as given; body may be NULL when
 * body_len is 0). Returns 0 and fills *out (free with wrr_http_response_free), or -1 and fills
 * *err (its strings are the host's allocations; free with wrr_http_error_free). */
int wrr_http_send(const char *method, const char *url, const wrr_http_field *headers,
                  size_t headers_len, const void *body, size_t body_len, uint64_t timeout_ms,
                  wrr_http_response *out, wrr_http_error *err);
void wrr_http_response_free(wrr_http_response *resp);
void wrr_http_error_free(wrr_http_error *err);

#ifdef WASM_RR_HTTP_IMPLEMENTATION

#include <stdlib.h>
#include <string.h>

#ifndef WASM_RR_PROCESS_IMPLEMENTATION
__attribute__((export_name("cabi_realloc")))
void *cabi_realloc(void *old_ptr, size_t old_size, size_t align, size_t new_size) {
    (void)old_size;
    if (new_size == 0) {
        return (void *)align;
    }
    void *p = realloc(old_ptr, new_size);
    if (p == NULL) {
        abort();
    }
    return p;
}
#endif

int wrr_http_send(const char *method, const char *url, const wrr_http_field *headers,
                  size_t headers_len, const void *body, size_t body_len, uint64_t timeout_ms,
                  wrr_http_response *out, wrr_http_error *err) {
    wrr_http_result ret;
    memset(&ret, 0, sizeof ret);
    wrr_http_send_raw(method, strlen(method), url, strlen(url), headers, headers_len,
                      (const uint8_t *)body, body_len, timeout_ms, &ret);
    if (ret.is_err) {
        memset(out, 0, sizeof *out);
        *err = ret.val.err;
        return -1;
    }
    *out = ret.val.ok;
    return 0;
}

void wrr_http_response_free(wrr_http_response *resp) {
    for (size_t i = 0; i < resp->headers_len; i++) {
        if (resp->headers[i].name_len) free((void *)resp->headers[i].name);
        if (resp->headers[i].value_len) free((void *)resp->headers[i].value);
    }
    if (resp->headers_len) free(resp->headers);
    if (resp->body.len) free(resp->body.ptr);
    memset(resp, 0, sizeof *resp);
}

void wrr_http_error_free(wrr_http_error *err) {
    if (err->code_len) free((void *)err->code);
    if (err->has_detail && err->detail_len) free((void *)err->detail);
    memset(err, 0, sizeof *err);
}

#endif /* WASM_RR_HTTP_IMPLEMENTATION */

#endif /* WASM_RR_HTTP_H */
