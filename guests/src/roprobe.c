/*
 * roprobe: what a program may do to the files of a directory, through wasi-libc.
 *
 * Usage: roprobe DIR
 *
 * DIR is a preopened directory holding a regular file "f" and a directory
 * "d" (read-only or not: the point is to compare hosts on both). For every
 * open(2) access mode (O_RDONLY, O_WRONLY, O_RDWR) combined with nothing,
 * O_APPEND, O_CREAT, O_TRUNC and O_APPEND|O_CREAT, the probe opens DIR/f
 * and prints what open answered; when it opened, it tries each operation
 * that reads or changes the file and prints what each answered:
 *
 *     open O_WRONLY|O_APPEND -> ok
 *       write -> ok 1
 *       pwrite -> Bad file descriptor
 *       ...
 *
 * Then the same for fopen(3) modes and for opening the directory DIR/d with
 * O_APPEND and with write access, and fcntl(F_SETFL) on what it opened.
 *
 * Only errno texts, byte counts and the file's size are printed: no times,
 * inodes or devices, so conforming hosts print the same. The file's content
 * changes in a writable DIR (the same changes under every host).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *dir;

static void answer(const char *what, long result) {
    if (result < 0)
        printf("  %s -> %s\n", what, strerror(errno));
    else
        printf("  %s -> ok %ld\n", what, result);
}

static void operations(int fd) {
    char c = 0;
    struct stat st;
    errno = 0;
    answer("write", (long)write(fd, "x", 1));
    answer("pwrite", (long)pwrite(fd, "y", 1, 0));
    answer("read", (long)pread(fd, &c, 1, 0));
    answer("ftruncate", (long)ftruncate(fd, 3));
    answer("futimens", (long)futimens(fd, NULL));
    answer("fsync", (long)fsync(fd));
    answer("fdatasync", (long)fdatasync(fd));
    int flags = fcntl(fd, F_GETFL);
    answer("fcntl F_GETFL", (long)flags);
    answer("fcntl F_SETFL O_APPEND", (long)fcntl(fd, F_SETFL, O_APPEND));
    answer("write after F_SETFL", (long)write(fd, "z", 1));
    answer("fcntl F_SETFL 0", (long)fcntl(fd, F_SETFL, 0));
    if (fstat(fd, &st) == 0)
        printf("  size %lld\n", (long long)st.st_size);
    else
        printf("  fstat -> %s\n", strerror(errno));
}

static void probe_open(const char *name, const char *label, int flags) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    errno = 0;
    int fd = open(path, flags, 0644);
    if (fd < 0) {
        printf("open %s %s -> %s\n", name, label, strerror(errno));
        return;
    }
    printf("open %s %s -> ok\n", name, label);
    operations(fd);
    close(fd);
}

static void probe_fopen(const char *mode) {
    char path[256];
    snprintf(path, sizeof path, "%s/f", dir);
    errno = 0;
    FILE *f = fopen(path, mode);
    if (f == NULL) {
        printf("fopen \"%s\" -> %s\n", mode, strerror(errno));
        return;
    }
    errno = 0;
    int put = fputc('w', f);
    int flushed = fflush(f);
    printf("fopen \"%s\" -> ok; fputc %s; fflush %s\n", mode, put == EOF ? "EOF" : "ok",
           flushed == 0 ? "ok" : strerror(errno));
    fclose(f);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: roprobe DIR\n");
        return 2;
    }
    dir = argv[1];
    static const struct {
        const char *label;
        int flags;
    } access[] = {{"O_RDONLY", O_RDONLY}, {"O_WRONLY", O_WRONLY}, {"O_RDWR", O_RDWR}};
    static const struct {
        const char *label;
        int flags;
    } extra[] = {{"", 0},
                 {"|O_APPEND", O_APPEND},
                 {"|O_CREAT", O_CREAT},
                 {"|O_TRUNC", O_TRUNC},
                 {"|O_APPEND|O_CREAT", O_APPEND | O_CREAT}};
    for (unsigned a = 0; a < sizeof access / sizeof access[0]; a++) {
        for (unsigned e = 0; e < sizeof extra / sizeof extra[0]; e++) {
            char label[64];
            snprintf(label, sizeof label, "%s%s", access[a].label, extra[e].label);
            probe_open("f", label, access[a].flags | extra[e].flags);
        }
    }
    static const char *modes[] = {"r", "r+", "w", "w+", "a", "a+"};
    for (unsigned m = 0; m < sizeof modes / sizeof modes[0]; m++)
        probe_fopen(modes[m]);
    probe_open("d", "O_RDONLY|O_DIRECTORY", O_RDONLY | O_DIRECTORY);
    probe_open("d", "O_RDONLY|O_APPEND", O_RDONLY | O_APPEND);
    probe_open("d", "O_WRONLY", O_WRONLY);
    probe_open("new", "O_RDONLY|O_CREAT", O_RDONLY | O_CREAT);
    probe_open("new", "O_RDONLY|O_APPEND", O_RDONLY | O_APPEND);
    printf("roprobe: done\n");
    return 0;
}
