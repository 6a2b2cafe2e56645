/*
 * flaky: a "test" that fails one run in 32.
 *
 * Effects exercised:
 *   - random_get(1 byte) via getentropy()  -> roll in 0..255
 *   - fd_write(stdout)   via printf()
 *   - proc_exit(1)       when the roll is bad (roll % 32 == 7)
 *
 * Bad roll:  prints "FAIL: expected the answer to be 42, got 7", exits 1.
 * Otherwise: prints "ok: roll was <roll>", exits 0.
 */
#include <stdio.h>
#include <unistd.h>

int main(void) {
    unsigned char roll;
    if (getentropy(&roll, 1) != 0) {
        fprintf(stderr, "flaky: getentropy failed\n");
        return 2;
    }
    if (roll % 32 == 7) {
        printf("FAIL: expected the answer to be 42, got 7\n");
        return 1;
    }
    printf("ok: roll was %d\n", roll);
    return 0;
}
