/*
 * bench_clock: N monotonic clock reads, one host call each.
 *
 * Effects exercised:
 *   - clock_time_get(MONOTONIC), called directly through the raw WASI
 *     import so each iteration is exactly one host call (no libc layer)
 *   - args_sizes_get / args_get (optional argv[1])
 *   - fd_write(stdout) once, for the summary line
 *
 * Usage: bench_clock [N]   (default N = 100000)
 * Prints: "bench_clock: n=<N> errors=<e> backwards=<b> xor=<hex>"
 * (xor of all readings; depends on the clock values by design).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <wasi/api.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
    if (n < 0) {
        n = 0;
    }
    uint64_t acc = 0;
    uint64_t prev = 0;
    long errors = 0;
    long backwards = 0;
    for (long i = 0; i < n; i++) {
        __wasi_timestamp_t t = 0;
        if (__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t) != 0) {
            errors++;
            continue;
        }
        if (t < prev) {
            backwards++;
        }
        prev = t;
        acc ^= t;
    }
    printf("bench_clock: n=%ld errors=%ld backwards=%ld xor=%016llx\n",
           n, errors, backwards, (unsigned long long)acc);
    return 0;
}
