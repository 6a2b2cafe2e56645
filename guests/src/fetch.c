// fetch: sends HTTP requests through wasm-rr's http family (wit/http.wit) and prints, per URL,
// the status, a few headers, the body length and an FNV-1a checksum of the body.
//
//   fetch URL...                     GET each URL
//   fetch --post BODY URL...         POST BODY to each URL
//   fetch --header NAME:VALUE ...    send this header too (repeatable)
//   fetch --timeout MS ...           timeout in milliseconds (0: the host's defaults)
//   fetch --print ...                print the body too
#define WASM_RR_HTTP_IMPLEMENTATION
#include "wasm_rr_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_HEADERS 16

static const char *SHOWN[] = {"content-type", "location", "x-test", "x-method"};

static uint32_t fnv1a(const uint8_t *p, size_t n) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

int main(int argc, char **argv) {
    const char *method = "GET";
    const char *body = NULL;
    uint64_t timeout_ms = 0;
    int print_body = 0;
    wrr_http_field headers[MAX_HEADERS];
    size_t nheaders = 0;
    int failures = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--post") == 0 && i + 1 < argc) {
            method = "POST";
            body = argv[++i];
        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            timeout_ms = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--print") == 0) {
            print_body = 1;
        } else if (strcmp(argv[i], "--header") == 0 && i + 1 < argc && nheaders < MAX_HEADERS) {
            char *h = argv[++i];
            char *colon = strchr(h, ':');
            if (colon == NULL) {
                fprintf(stderr, "fetch: --header %s: expected NAME:VALUE\n", h);
                return 2;
            }
            const char *value = colon + 1;
            while (*value == ' ') value++;
            headers[nheaders].name = h;
            headers[nheaders].name_len = (size_t)(colon - h);
            headers[nheaders].value = (const uint8_t *)value;
            headers[nheaders].value_len = strlen(value);
            nheaders++;
        } else {
            const char *url = argv[i];
            wrr_http_response resp;
            wrr_http_error err;
            size_t body_len = body ? strlen(body) : 0;
            printf("== %s %s\n", method, url);
            if (wrr_http_send(method, url, headers, nheaders, body, body_len, timeout_ms, &resp,
                              &err) != 0) {
                printf("error: %.*s", (int)err.code_len, err.code);
                if (err.has_detail) printf(" (%.*s)", (int)err.detail_len, err.detail);
                printf("\n");
                wrr_http_error_free(&err);
                failures++;
                continue;
            }
            printf("status: %u\n", resp.status);
            for (size_t k = 0; k < resp.headers_len; k++) {
                for (size_t s = 0; s < sizeof SHOWN / sizeof *SHOWN; s++) {
                    if (resp.headers[k].name_len == strlen(SHOWN[s]) &&
                        strncasecmp(resp.headers[k].name, SHOWN[s], resp.headers[k].name_len) == 0) {
                        printf("%s: %.*s\n", SHOWN[s], (int)resp.headers[k].value_len,
                               (const char *)resp.headers[k].value);
                    }
                }
            }
            printf("body: %zu bytes, fnv1a %08x\n", resp.body.len, fnv1a(resp.body.ptr, resp.body.len));
            if (print_body) {
                fwrite(resp.body.ptr, 1, resp.body.len, stdout);
            }
            wrr_http_response_free(&resp);
        }
    }
    return failures ? 1 : 0;
}
