/*
 * counter: print "count: 1" .. "count: 5".
 *
 * Effects exercised:
 *   - fd_write(stdout) five times, one host call per line (write(2) is
 *     unbuffered, so each line is its own fd_write).
 *
 * No clock or randomness: output is fully deterministic.
 */
#include <stdio.h>
#include <unistd.h>

int main(void) {
    for (int i = 1; i <= 5; i++) {
        char line[32];
        int n = snprintf(line, sizeof line, "count: %d\n", i);
        if (write(1, line, (size_t)n) != n) {
            return 2;
        }
    }
    return 0;
}
