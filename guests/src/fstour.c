/*
 * fstour: a tour of the preview1 file-system API through ordinary
 * wasi-libc calls (open, read, lseek, pread, pwrite, fstat, ftruncate,
 * mkdir, opendir/readdir, rename, symlink, readlink, stat, lstat, link,
 * unlink, rmdir, fsync, fdatasync, posix_fadvise, utimensat, futimens).
 *
 * Usage: fstour <preopened scratch dir>      e.g. fstour /scratch
 *
 * Everything happens inside a work directory <scratch>/fstour that the
 * tour creates first and removes at the end, so the scratch directory may
 * hold other files and is left as it was found (reruns print the same
 * output). If <scratch>/fstour already exists, the tour stops with exit 1
 * rather than touch it.
 *
 * Each step prints one deterministic line: byte counts, offsets, contents,
 * sizes, file types, link counts, errno names, and only the timestamps
 * that the tour set itself. No clock values, inode or device numbers.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char W[256]; /* the work directory */

static const char *ename(int e) {
    switch (e) {
    case 0: return "ok";
    case EACCES: return "EACCES";
    case EBADF: return "EBADF";
    case EEXIST: return "EEXIST";
    case EINVAL: return "EINVAL";
    case EIO: return "EIO";
    case EISDIR: return "EISDIR";
    case ELOOP: return "ELOOP";
    case ENOENT: return "ENOENT";
    case ENOTDIR: return "ENOTDIR";
    case ENOTEMPTY: return "ENOTEMPTY";
    case ENOTSUP: return "ENOTSUP";
    case ENOTCAPABLE: return "ENOTCAPABLE";
    case EPERM: return "EPERM";
    case ESPIPE: return "ESPIPE";
    case EXDEV: return "EXDEV";
    default: {
        static char b[32];
        snprintf(b, sizeof b, "errno %d", e);
        return b;
    }
    }
}

/* Path inside the work directory (rotating buffers). */
static const char *P(const char *name) {
    static char bufs[4][320];
    static unsigned next;
    char *b = bufs[next++ % 4];
    snprintf(b, 320, "%s/%s", W, name);
    return b;
}

static void step(const char *what, int rc) {
    printf("%s: %s\n", what, rc == 0 ? "ok" : ename(errno));
}

static const char *mode_type(mode_t m) {
    if (S_ISREG(m)) return "regular";
    if (S_ISDIR(m)) return "directory";
    if (S_ISLNK(m)) return "symlink";
    if (S_ISCHR(m)) return "chardev";
    if (S_ISBLK(m)) return "blockdev";
    if (S_ISFIFO(m)) return "fifo";
    if (S_ISSOCK(m)) return "socket";
    return "unknown";
}

static const char *dt_name(unsigned char t) {
    switch (t) {
    case DT_REG: return "DT_REG";
    case DT_DIR: return "DT_DIR";
    case DT_LNK: return "DT_LNK";
    case DT_CHR: return "DT_CHR";
    case DT_BLK: return "DT_BLK";
    case DT_UNKNOWN: return "DT_UNKNOWN";
    default: return "DT_other";
    }
}

/* Printable contents: \n and non-printable bytes escaped. */
static const char *esc(const char *p, size_t n) {
    static char b[4 * 64 + 8];
    size_t j = 0;
    for (size_t i = 0; i < n && i < 64; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\n') {
            b[j++] = '\\';
            b[j++] = 'n';
        } else if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
            b[j++] = (char)c;
        } else {
            j += (size_t)snprintf(b + j, 5, "\\x%02x", c);
        }
    }
    b[j] = 0;
    return b;
}

static void show_stat(const char *label, const char *path, int follow) {
    struct stat st;
    int rc = follow ? stat(path, &st) : lstat(path, &st);
    if (rc != 0) {
        printf("%s: %s\n", label, ename(errno));
    } else if (S_ISDIR(st.st_mode)) {
        printf("%s: type=%s\n", label, mode_type(st.st_mode));
    } else {
        printf("%s: type=%s size=%lld nlink=%llu\n", label, mode_type(st.st_mode),
               (long long)st.st_size, (unsigned long long)st.st_nlink);
    }
}

static void show_fstat(const char *label, int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0) {
        printf("%s: %s\n", label, ename(errno));
    } else if (S_ISDIR(st.st_mode)) {
        /* A directory's size depends on the host file system: not printed. */
        printf("%s: type=%s\n", label, mode_type(st.st_mode));
    } else {
        printf("%s: type=%s size=%lld\n", label, mode_type(st.st_mode), (long long)st.st_size);
    }
}

static void do_read(const char *label, int fd, size_t n) {
    char buf[64];
    if (n > sizeof buf) n = sizeof buf;
    ssize_t r = read(fd, buf, n);
    if (r < 0) {
        printf("%s: %s\n", label, ename(errno));
    } else {
        printf("%s: %zd bytes \"%s\"\n", label, r, esc(buf, (size_t)r));
    }
}

static void do_lseek(const char *label, int fd, off_t off, int whence) {
    off_t r = lseek(fd, off, whence);
    if (r < 0) {
        printf("%s: %s\n", label, ename(errno));
    } else {
        printf("%s: %lld\n", label, (long long)r);
    }
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_dir(const char *label, const char *path) {
    DIR *d = opendir(path);
    if (d == NULL) {
        printf("%s: opendir %s\n", label, ename(errno));
        return;
    }
    char *lines[64];
    int n = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL && n < 64) {
        char line[300];
        snprintf(line, sizeof line, "%s %s", e->d_name, dt_name(e->d_type));
        lines[n++] = strdup(line);
    }
    int err = errno;
    closedir(d);
    qsort(lines, (size_t)n, sizeof lines[0], cmp_str);
    printf("%s: %d entries%s%s (sorted by fstour)\n", label, n, err ? ", then " : "",
           err ? ename(err) : "");
    for (int i = 0; i < n; i++) {
        printf("  %s\n", lines[i]);
        free(lines[i]);
    }
}

static void show_times(const char *label, const char *path, int follow) {
    struct stat st;
    if ((follow ? stat(path, &st) : lstat(path, &st)) != 0) {
        printf("%s: %s\n", label, ename(errno));
        return;
    }
    printf("%s: atime=%lld.%09ld mtime=%lld.%09ld\n", label, (long long)st.st_atim.tv_sec,
           st.st_atim.tv_nsec, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: fstour <preopened scratch dir>\n");
        return 2;
    }
    snprintf(W, sizeof W, "%s/fstour", argv[1]);
    struct stat st;
    if (lstat(W, &st) == 0) {
        fprintf(stderr, "fstour: %s already exists; remove it first\n", W);
        return 1;
    }
    printf("fstour: start\n");
    step("mkdir fstour", mkdir(W, 0755));

    /* 1. create + write + close */
    int fd = open(P("hello.txt"), O_CREAT | O_TRUNC | O_WRONLY, 0644);
    printf("open hello.txt O_CREAT|O_TRUNC|O_WRONLY: %s\n", fd >= 0 ? "ok" : ename(errno));
    if (fd < 0) return 1;
    printf("write: %zd\n", write(fd, "hello, world\n", 13));
    printf("write: %zd\n", write(fd, "second line\n", 12));
    do_read("read on O_WRONLY fd", fd, 4);
    step("close", close(fd));

    /* 2. reopen for reading; read, lseek, pread */
    fd = open(P("hello.txt"), O_RDONLY);
    printf("open hello.txt O_RDONLY: %s\n", fd >= 0 ? "ok" : ename(errno));
    if (fd < 0) return 1;
    do_read("read 64", fd, 64);
    do_read("read at EOF", fd, 64);
    do_lseek("lseek(7, SEEK_SET)", fd, 7, SEEK_SET);
    do_read("read 5", fd, 5);
    do_lseek("lseek(-5, SEEK_CUR)", fd, -5, SEEK_CUR);
    do_lseek("lseek(-5, SEEK_END)", fd, -5, SEEK_END);
    do_read("read 64", fd, 64);
    do_lseek("lseek(-1, SEEK_SET)", fd, -1, SEEK_SET);
    {
        char buf[8];
        ssize_t r = pread(fd, buf, 5, 0);
        printf("pread(5, off 0): %zd \"%s\"\n", r, r >= 0 ? esc(buf, (size_t)r) : ename(errno));
    }
    do_lseek("lseek(0, SEEK_CUR) after pread", fd, 0, SEEK_CUR);
    printf("write on O_RDONLY fd: %s\n", write(fd, "x", 1) < 0 ? ename(errno) : "wrote?!");
    show_fstat("fstat", fd);
    step("close", close(fd));

    /* 3. read-write: pwrite, ftruncate, sync, fadvise */
    fd = open(P("hello.txt"), O_RDWR);
    printf("open hello.txt O_RDWR: %s\n", fd >= 0 ? "ok" : ename(errno));
    if (fd < 0) return 1;
    printf("pwrite(\"HELLO\", off 0): %zd\n", pwrite(fd, "HELLO", 5, 0));
    do_lseek("lseek(0, SEEK_CUR) after pwrite", fd, 0, SEEK_CUR);
    do_read("read 64", fd, 64);
    step("ftruncate(5)", ftruncate(fd, 5));
    show_fstat("fstat", fd);
    step("ftruncate(8)", ftruncate(fd, 8));
    show_fstat("fstat", fd);
    {
        char buf[16];
        ssize_t r = pread(fd, buf, sizeof buf, 0);
        printf("pread(16, off 0): %zd \"%s\"\n", r, r >= 0 ? esc(buf, (size_t)r) : ename(errno));
    }
    step("fsync", fsync(fd));
    step("fdatasync", fdatasync(fd));
    {
        int r = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        printf("posix_fadvise(SEQUENTIAL): %s\n", r == 0 ? "ok" : ename(r));
        r = posix_fadvise(fd, 0, 8, POSIX_FADV_DONTNEED);
        printf("posix_fadvise(DONTNEED): %s\n", r == 0 ? "ok" : ename(r));
    }
    step("close", close(fd));

    /* 4. O_APPEND */
    fd = open(P("hello.txt"), O_WRONLY | O_APPEND);
    printf("open hello.txt O_WRONLY|O_APPEND: %s\n", fd >= 0 ? "ok" : ename(errno));
    if (fd < 0) return 1;
    do_lseek("lseek(0, SEEK_SET)", fd, 0, SEEK_SET);
    printf("write \"!\\n\": %zd\n", write(fd, "!\n", 2));
    do_lseek("lseek(0, SEEK_CUR) after append", fd, 0, SEEK_CUR);
    step("close", close(fd));

    /* 5. directories and readdir */
    step("mkdir sub", mkdir(P("sub"), 0755));
    fd = open(P("sub/inner.txt"), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    printf("create sub/inner.txt: %s\n", fd >= 0 ? "ok" : ename(errno));
    if (fd >= 0) {
        printf("write: %zd\n", write(fd, "inner\n", 6));
        close(fd);
    }
    list_dir("readdir fstour", W);

    /* 6. rename */
    step("rename hello.txt -> renamed.txt", rename(P("hello.txt"), P("renamed.txt")));
    show_stat("stat hello.txt", P("hello.txt"), 1);
    show_stat("stat renamed.txt", P("renamed.txt"), 1);

    /* 7. symlinks */
    step("symlink link -> renamed.txt", symlink("renamed.txt", P("link")));
    {
        char buf[64];
        ssize_t r = readlink(P("link"), buf, sizeof buf);
        printf("readlink link: %s%s%s\n", r >= 0 ? "\"" : ename(errno),
               r >= 0 ? esc(buf, (size_t)r) : "", r >= 0 ? "\"" : "");
        r = readlink(P("link"), buf, 4);
        printf("readlink link (bufsize 4): %zd \"%s\"\n", r, r >= 0 ? esc(buf, (size_t)r) : "");
        r = readlink(P("renamed.txt"), buf, sizeof buf);
        printf("readlink renamed.txt: %s\n", r >= 0 ? "ok?!" : ename(errno));
    }
    show_stat("stat link (follow)", P("link"), 1);
    show_stat("lstat link (nofollow)", P("link"), 0);
    step("symlink dangling -> nowhere", symlink("nowhere", P("dangling")));
    show_stat("stat dangling", P("dangling"), 1);
    show_stat("lstat dangling", P("dangling"), 0);
    list_dir("readdir fstour", W);

    /* 8. hard link */
    step("link renamed.txt -> hard.txt", link(P("renamed.txt"), P("hard.txt")));
    show_stat("stat renamed.txt", P("renamed.txt"), 1);
    show_stat("stat hard.txt", P("hard.txt"), 1);

    /* 9. fixed timestamps */
    {
        struct timespec ts[2] = {{.tv_sec = 1000000000, .tv_nsec = 500000000},
                                 {.tv_sec = 1234567890, .tv_nsec = 250000000}};
        step("utimensat renamed.txt {1000000000.5, 1234567890.25}",
             utimensat(AT_FDCWD, P("renamed.txt"), ts, 0));
        show_times("stat renamed.txt", P("renamed.txt"), 1);
        show_times("stat hard.txt (same inode)", P("hard.txt"), 1);
        struct timespec ts2[2] = {{.tv_sec = 0, .tv_nsec = UTIME_OMIT},
                                  {.tv_sec = 1500000000, .tv_nsec = 0}};
        fd = open(P("renamed.txt"), O_RDONLY);
        step("futimens renamed.txt {UTIME_OMIT, 1500000000}", futimens(fd, ts2));
        close(fd);
        show_times("stat renamed.txt", P("renamed.txt"), 1);
        struct timespec ts3[2] = {{.tv_sec = 2000000000, .tv_nsec = 0},
                                  {.tv_sec = 2000000000, .tv_nsec = 0}};
        step("utimensat link AT_SYMLINK_NOFOLLOW {2000000000, 2000000000}",
             utimensat(AT_FDCWD, P("link"), ts3, AT_SYMLINK_NOFOLLOW));
        show_times("lstat link (nofollow)", P("link"), 0);
        show_times("stat link (follow)", P("link"), 1);
    }

    /* 10. expected errors */
    fd = open(P("missing.txt"), O_RDONLY);
    printf("open missing.txt O_RDONLY: %s\n", fd >= 0 ? "ok?!" : ename(errno));
    fd = open(P("renamed.txt"), O_CREAT | O_EXCL | O_WRONLY, 0644);
    printf("open renamed.txt O_CREAT|O_EXCL: %s\n", fd >= 0 ? "ok?!" : ename(errno));
    step("mkdir sub (exists)", mkdir(P("sub"), 0755));
    step("rmdir sub (not empty)", rmdir(P("sub")));
    step("rmdir renamed.txt (a file)", rmdir(P("renamed.txt")));
    step("unlink sub (a directory)", unlink(P("sub")));
    step("rename renamed.txt -> sub (a directory)", rename(P("renamed.txt"), P("sub")));
    fd = open(P("sub"), O_RDONLY);
    printf("open sub O_RDONLY: %s\n", fd >= 0 ? "ok" : ename(errno));
    if (fd >= 0) {
        do_read("read on a directory fd", fd, 16);
        show_fstat("fstat directory fd", fd);
        close(fd);
    }
    fd = open(P("sub"), O_WRONLY);
    printf("open sub O_WRONLY: %s\n", fd >= 0 ? "ok?!" : ename(errno));
    fd = open(P("renamed.txt/x"), O_RDONLY);
    printf("open renamed.txt/x: %s\n", fd >= 0 ? "ok?!" : ename(errno));
    fd = open(P("renamed.txt"), O_RDONLY | O_DIRECTORY);
    printf("open renamed.txt O_DIRECTORY: %s\n", fd >= 0 ? "ok?!" : ename(errno));
    fd = open(P("link"), O_RDONLY | O_NOFOLLOW);
    printf("open link O_NOFOLLOW: %s\n", fd >= 0 ? "ok?!" : ename(errno));
    fd = open(P("../../outside"), O_RDONLY);
    printf("open ../../outside: %s\n", fd >= 0 ? "ok?!" : ename(errno));
    step("symlink abs -> /etc/passwd", symlink("/etc/passwd", P("abs")));
    step("access renamed.txt R_OK", access(P("renamed.txt"), R_OK));
    step("access missing.txt F_OK", access(P("missing.txt"), F_OK));

    /* 11. clean up */
    step("unlink hard.txt", unlink(P("hard.txt")));
    show_stat("stat renamed.txt", P("renamed.txt"), 1);
    step("unlink link", unlink(P("link")));
    step("unlink dangling", unlink(P("dangling")));
    if (lstat(P("abs"), &st) == 0) {
        step("unlink abs", unlink(P("abs")));
    }
    step("unlink renamed.txt", unlink(P("renamed.txt")));
    step("unlink sub/inner.txt", unlink(P("sub/inner.txt")));
    step("rmdir sub", rmdir(P("sub")));
    list_dir("readdir fstour", W);
    step("rmdir fstour", rmdir(W));
    show_stat("stat fstour", W, 0);
    printf("fstour: done\n");
    return 0;
}
