/*
 * bench_random: N 8-byte random reads, one host call each.
 *
 * Effects exercised:
 *   - random_get(8 bytes), called directly through the raw WASI import so
 *     each iteration is exactly one host call (no libc layer)
 *   - args_sizes_get / args_get (optional argv[1])
 *   - fd_write(stdout) once, for the summary line
 *
 * Usage: bench_random [N]   (default N = 100000)
 * Prints: "bench_random: n=<N> errors=<e> xor=<hex>"
 * (xor of all 8-byte words; depends on the random bytes by design).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
    if (n < 0) {
        n = 0;
    }
    uint64_t acc = 0;
    long errors = 0;
    for (long i = 0; i < n; i++) {
        uint8_t buf[8];
        if (__wasi_random_get(buf, sizeof buf) != 0) {
            errors++;
            continue;
        }
        uint64_t word;
        memcpy(&word, buf, sizeof word);
        acc ^= word;
    }
    printf("bench_random: n=%ld errors=%ld xor=%016llx\n",
           n, errors, (unsigned long long)acc);
    return 0;
}
