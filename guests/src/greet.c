/*
 * greet: print "hello, <NAME>".
 *
 * Effects exercised:
 *   - environ_sizes_get / environ_get via getenv("NAME")
 *   - fd_write(stdout) via printf()
 *
 * NAME unset or empty -> "hello, world".
 */
#include <stdio.h>
#include <stdlib.h>

int main(void) {
    const char *name = getenv("NAME");
    if (name == NULL || name[0] == '\0') {
        name = "world";
    }
    printf("hello, %s\n", name);
    return 0;
}
