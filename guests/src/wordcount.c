/*
 * wordcount: count lines, words and bytes of one file (the tape demo).
 *
 * Usage: wordcount [PATH]      (or env FILE=PATH when no argument)
 *
 * Prints "lines: L", "words: W", "chars: C" (chars = bytes, lines = number
 * of '\n', words = maximal runs of non-whitespace in the C locale, as `wc`
 * counts them). The file is read with read(fd, buf, 65536) into a static
 * 64 KiB buffer: exactly one fd_read host call per 64 KiB chunk, plus the
 * final one that returns 0. If the file cannot be opened, a message goes
 * to stderr and the exit status is 1; with neither PATH nor FILE it is 2.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK 65536

static unsigned char buf[CHUNK];

static int is_space(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : getenv("FILE");
    if (path == NULL || path[0] == '\0') {
        fprintf(stderr, "usage: wordcount PATH (or set FILE)\n");
        return 2;
    }
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        fprintf(stderr, "wordcount: cannot open %s: %s\n", path, strerror(errno));
        return 1;
    }
    unsigned long long lines = 0, words = 0, chars = 0;
    int in_word = 0;
    for (;;) {
        ssize_t n = read(fd, buf, CHUNK);
        if (n < 0) {
            fprintf(stderr, "wordcount: cannot read %s: %s\n", path, strerror(errno));
            close(fd);
            return 1;
        }
        if (n == 0) {
            break;
        }
        chars += (unsigned long long)n;
        for (ssize_t i = 0; i < n; i++) {
            unsigned char c = buf[i];
            if (c == '\n') {
                lines++;
            }
            if (is_space(c)) {
                in_word = 0;
            } else if (!in_word) {
                in_word = 1;
                words++;
            }
        }
    }
    close(fd);
    printf("lines: %llu\n", lines);
    printf("words: %llu\n", words);
    printf("chars: %llu\n", chars);
    return 0;
}
