// transfer: moves money through a bank's HTTP API, then writes a receipt (the resume demo).
//
//   transfer URL FROM TO AMOUNT RECEIPT
//
// POSTs `from=FROM&to=TO&amount=AMOUNT` to URL (one effect that must happen once), prints the
// status and the bank's answer, then writes the answer to the file RECEIPT (inside a preopen,
// e.g. /out/receipt.txt) and prints `receipt: RECEIPT (N bytes)`. Exit 0 when the bank said
// 2xx and the receipt was written; 1 when the request failed or the bank refused; 2 on usage.
#define WASM_RR_HTTP_IMPLEMENTATION
#include "wasm_rr_http.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: transfer URL FROM TO AMOUNT RECEIPT\n");
        return 2;
    }
    const char *url = argv[1];
    char body[256];
    int n = snprintf(body, sizeof body, "from=%s&to=%s&amount=%s", argv[2], argv[3], argv[4]);
    if (n < 0 || (size_t)n >= sizeof body) {
        fprintf(stderr, "transfer: arguments too long\n");
        return 2;
    }
    wrr_http_field headers[1] = {
        {"content-type", 12, (const uint8_t *)"application/x-www-form-urlencoded", 33},
    };
    wrr_http_response resp;
    wrr_http_error err;
    printf("transfer: POST %s %s\n", url, body);
    fflush(stdout);
    if (wrr_http_send("POST", url, headers, 1, body, (size_t)n, 0, &resp, &err) != 0) {
        printf("transfer: failed: %.*s", (int)err.code_len, err.code);
        if (err.has_detail) printf(" (%.*s)", (int)err.detail_len, err.detail);
        printf("\n");
        wrr_http_error_free(&err);
        return 1;
    }
    printf("transfer: status %u: %.*s\n", resp.status, (int)resp.body.len,
           (const char *)resp.body.ptr);
    fflush(stdout);
    if (resp.status < 200 || resp.status > 299) {
        wrr_http_response_free(&resp);
        return 1;
    }
    FILE *f = fopen(argv[5], "w");
    if (f == NULL) {
        perror("transfer: cannot write the receipt");
        wrr_http_response_free(&resp);
        return 1;
    }
    size_t written = fwrite(resp.body.ptr, 1, resp.body.len, f);
    int closed = fclose(f);
    int ok = written == resp.body.len && closed == 0;
    printf("receipt: %s (%zu bytes)\n", argv[5], written);
    wrr_http_response_free(&resp);
    return ok ? 0 : 1;
}
