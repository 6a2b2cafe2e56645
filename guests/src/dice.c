/*
 * dice: roll a six-sided die.
 *
 * Effects exercised:
 *   - clock_time_get(REALTIME)  via clock_gettime()  -> "time: <unix ms>"
 *   - random_get(1 byte)        via getentropy()     -> "roll: <1..6>"
 *   - fd_write(stdout)          via printf() (buffered; flushed at exit)
 *
 * Output is a pure function of the clock reading and the random byte.
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
        fprintf(stderr, "dice: clock_gettime failed\n");
        return 2;
    }
    unsigned char byte;
    if (getentropy(&byte, 1) != 0) {
        fprintf(stderr, "dice: getentropy failed\n");
        return 2;
    }
    long long ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    printf("time: %lld\n", ms);
    printf("roll: %d\n", byte % 6 + 1);
    return 0;
}
