/*
 * timebomb: traps when the current UTC minute is 37.
 *
 * Effects exercised:
 *   - clock_time_get(REALTIME) via clock_gettime()
 *   - args_sizes_get / args_get (optional argv[1])
 *   - a wasm trap (`unreachable`) raised inside the function `detonate`
 *   - fd_write(stdout) via printf() when it does not explode
 *
 * Usage: timebomb [OFFSET_MINUTES]
 *   OFFSET_MINUTES (default 0, may be negative) is added to the clock
 *   reading, so a test can pick an offset that lands on minute 37.
 *
 * Minute != 37: prints "tick: <HH:MM> (safe)" (UTC, after offset), exits 0.
 * Minute == 37: calls detonate(), which executes `unreachable`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Kept out of line so the trap's backtrace names this frame. */
__attribute__((noinline, noreturn)) static void detonate(void) {
    __builtin_trap();
}

int main(int argc, char **argv) {
    long long offset_min = argc > 1 ? strtoll(argv[1], NULL, 10) : 0;

    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
        fprintf(stderr, "timebomb: clock_gettime failed\n");
        return 2;
    }
    long long minutes = (long long)ts.tv_sec / 60 + offset_min;
    long long of_day = ((minutes % 1440) + 1440) % 1440;
    int hh = (int)(of_day / 60);
    int mm = (int)(of_day % 60);

    if (mm == 37) {
        detonate();
    }
    printf("tick: %02d:%02d (safe)\n", hh, mm);
    return 0;
}
