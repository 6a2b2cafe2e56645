/*
 * entropy: print 16 random bytes as hex.
 *
 * Effects exercised:
 *   - random_get(16 bytes) via getentropy()   -> "entropy: <32 hex chars>"
 *   - fd_write(stdout)     via printf()
 */
#include <stdio.h>
#include <unistd.h>

int main(void) {
    unsigned char buf[16];
    if (getentropy(buf, sizeof buf) != 0) {
        fprintf(stderr, "entropy: getentropy failed\n");
        return 2;
    }
    char hex[2 * sizeof buf + 1];
    for (size_t i = 0; i < sizeof buf; i++) {
        snprintf(hex + 2 * i, 3, "%02x", buf[i]);
    }
    printf("entropy: %s\n", hex);
    return 0;
}
