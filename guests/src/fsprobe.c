/*
 * fsprobe: wasi_snapshot_preview1 file-system conformance probe.
 *
 * Calls the preview1 fd_* and path_* functions directly through the raw
 * imports in <wasi/api.h> (no libc file API, so wasi-libc makes no calls
 * of its own) and prints one line per call:
 *
 *     <call> -> <errno> [outputs]
 *
 * where <errno> is "0" on success, else "<number> <NAME>". Outputs are
 * only deterministic values: fd numbers, file types, flags, rights, sizes,
 * link counts, names, and timestamps that the probe itself set. No clock
 * readings, inode numbers or device ids are printed.
 *
 * Expected setup: fds 0/1/2 are stdio and fd 3 is the only preopen,
 * "/sandbox", holding the fixture built by tests/fsfixture.py:
 *
 *     a.txt ("hello\n"), d/, d/b.txt ("bee\n"), up -> .., abs -> /etc,
 *     loop1 -> loop2, loop2 -> loop1, ok -> a.txt, dlink -> d,
 *     dangle -> nothere
 *
 * The probe only writes to scratch names ending in ".tmp" (and "newdir",
 * "nothere"), removes them again, and finally restores the atime/mtime of
 * ".", "a.txt", "d" and "d/b.txt", so the fixture is left as it was found
 * (only ctimes change). A final section checks that the fixture's entries
 * are the same as at the start.
 *
 * The order of fd_readdir entries comes from the host OS and is not
 * portable, so every listing whose order depends on it is marked "(os
 * order)" and the same entries are also printed sorted by name.
 *
 * Output goes through raw fd_write(1), one call per line.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

#define PRE 3 /* the preopen */

/* Rights presets. */
#define R_RO                                                                          \
    (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL |          \
     __WASI_RIGHTS_FD_FILESTAT_GET | __WASI_RIGHTS_FD_ADVISE)
#define R_RW                                                                          \
    (R_RO | __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_DATASYNC | __WASI_RIGHTS_FD_SYNC | \
     __WASI_RIGHTS_FD_ALLOCATE | __WASI_RIGHTS_FD_FILESTAT_SET_SIZE |                  \
     __WASI_RIGHTS_FD_FILESTAT_SET_TIMES | __WASI_RIGHTS_FD_FDSTAT_SET_FLAGS)
#define R_WO (__WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL)
#define R_ALL ((__wasi_rights_t)0x3fffffff)
#define R_DIR                                                                         \
    (__WASI_RIGHTS_FD_READDIR | __WASI_RIGHTS_FD_FILESTAT_GET | __WASI_RIGHTS_PATH_OPEN | \
     __WASI_RIGHTS_PATH_FILESTAT_GET | __WASI_RIGHTS_PATH_READLINK)

#define FOLLOW __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW
#define NOFOLLOW 0

#define O_CREAT_ __WASI_OFLAGS_CREAT
#define O_DIR_ __WASI_OFLAGS_DIRECTORY
#define O_EXCL_ __WASI_OFLAGS_EXCL
#define O_TRUNC_ __WASI_OFLAGS_TRUNC

/* Fixed timestamps (ns since the epoch) that the probe sets and reads back. */
#define T_ATIM 1000000000123456789ULL
#define T_MTIM 1234567890987654321ULL
#define T_MTIM2 1300000000000000000ULL

/* ------------------------------------------------------------------ output */

static void out(const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    if ((size_t)n > sizeof line - 2) {
        n = (int)(sizeof line - 2);
    }
    line[n++] = '\n';
    __wasi_ciovec_t iov = {.buf = (const uint8_t *)line, .buf_len = (size_t)n};
    __wasi_size_t written;
    (void)__wasi_fd_write(1, &iov, 1, &written);
}

static unsigned long long u64(uint64_t v) { return (unsigned long long)v; }

static const char *const ERRNO_NAMES[] = {
    "SUCCESS", "2BIG", "ACCES", "ADDRINUSE", "ADDRNOTAVAIL", "AFNOSUPPORT", "AGAIN",
    "ALREADY", "BADF", "BADMSG", "BUSY", "CANCELED", "CHILD", "CONNABORTED",
    "CONNREFUSED", "CONNRESET", "DEADLK", "DESTADDRREQ", "DOM", "DQUOT", "EXIST",
    "FAULT", "FBIG", "HOSTUNREACH", "IDRM", "ILSEQ", "INPROGRESS", "INTR", "INVAL",
    "IO", "ISCONN", "ISDIR", "LOOP", "MFILE", "MLINK", "MSGSIZE", "MULTIHOP",
    "NAMETOOLONG", "NETDOWN", "NETRESET", "NETUNREACH", "NFILE", "NOBUFS", "NODEV",
    "NOENT", "NOEXEC", "NOLCK", "NOLINK", "NOMEM", "NOMSG", "NOPROTOOPT", "NOSPC",
    "NOSYS", "NOTCONN", "NOTDIR", "NOTEMPTY", "NOTRECOVERABLE", "NOTSOCK", "NOTSUP",
    "NOTTY", "NXIO", "OVERFLOW", "OWNERDEAD", "PERM", "PIPE", "PROTO",
    "PROTONOSUPPORT", "PROTOTYPE", "RANGE", "ROFS", "SPIPE", "SRCH", "STALE",
    "TIMEDOUT", "TXTBSY", "XDEV", "NOTCAPABLE",
};

/* "0" or "<n> E<NAME>"; uses one of 8 rotating static buffers. */
static const char *es(__wasi_errno_t e) {
    static char bufs[8][32];
    static unsigned next;
    char *b = bufs[next++ % 8];
    if (e == 0) {
        return "0";
    }
    if (e < sizeof ERRNO_NAMES / sizeof ERRNO_NAMES[0]) {
        snprintf(b, 32, "%u E%s", e, ERRNO_NAMES[e]);
    } else {
        snprintf(b, 32, "%u ?", e);
    }
    return b;
}

static const char *rname(__wasi_rights_t r) {
    static char b[32];
    if (r == R_RO) return "RO";
    if (r == R_RW) return "RW";
    if (r == R_WO) return "WO";
    if (r == R_ALL) return "ALL";
    if (r == R_DIR) return "DIR";
    if (r == 0) return "NONE";
    snprintf(b, sizeof b, "0x%llx", u64(r));
    return b;
}

static const char *oname(__wasi_oflags_t o) {
    static char b[48];
    if (o == 0) return "0";
    b[0] = 0;
    if (o & O_CREAT_) strcat(b, "|CREAT");
    if (o & O_DIR_) strcat(b, "|DIRECTORY");
    if (o & O_EXCL_) strcat(b, "|EXCL");
    if (o & O_TRUNC_) strcat(b, "|TRUNC");
    return b + 1;
}

static const char *fname(__wasi_fdflags_t f) {
    static char b[48];
    if (f == 0) return "0";
    b[0] = 0;
    if (f & __WASI_FDFLAGS_APPEND) strcat(b, "|APPEND");
    if (f & __WASI_FDFLAGS_DSYNC) strcat(b, "|DSYNC");
    if (f & __WASI_FDFLAGS_NONBLOCK) strcat(b, "|NONBLOCK");
    if (f & __WASI_FDFLAGS_RSYNC) strcat(b, "|RSYNC");
    if (f & __WASI_FDFLAGS_SYNC) strcat(b, "|SYNC");
    return b + 1;
}

/* Printable form of up to 40 bytes: escapes \n, \0 and non-ASCII. */
static const char *esc(const uint8_t *p, size_t n) {
    static char b[4 * 40 + 8];
    size_t j = 0;
    for (size_t i = 0; i < n && i < 40; i++) {
        uint8_t c = p[i];
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

/* --------------------------------------------------------------- helpers */

/* fd_filestat_get with a compact printout (no times for these). */
static void show_fstat(const char *label, __wasi_fd_t fd) {
    __wasi_filestat_t st;
    memset(&st, 0, sizeof st);
    __wasi_errno_t e = __wasi_fd_filestat_get(fd, &st);
    if (e != 0) {
        out("%s fd_filestat_get(%u) -> %s", label, fd, es(e));
    } else if (st.filetype == __WASI_FILETYPE_DIRECTORY) {
        out("%s fd_filestat_get(%u) -> 0 filetype=%u", label, fd, st.filetype);
    } else {
        out("%s fd_filestat_get(%u) -> 0 filetype=%u nlink=%llu size=%llu", label, fd,
            st.filetype, u64(st.nlink), u64(st.size));
    }
}

static void show_times_fd(const char *label, __wasi_fd_t fd) {
    __wasi_filestat_t st;
    memset(&st, 0, sizeof st);
    __wasi_errno_t e = __wasi_fd_filestat_get(fd, &st);
    if (e != 0) {
        out("%s fd_filestat_get(%u) -> %s", label, fd, es(e));
    } else {
        out("%s fd_filestat_get(%u) -> 0 atim=%llu mtim=%llu", label, fd, u64(st.atim),
            u64(st.mtim));
    }
}

static void show_times_path(const char *label, __wasi_lookupflags_t lk, const char *path) {
    __wasi_filestat_t st;
    memset(&st, 0, sizeof st);
    __wasi_errno_t e = __wasi_path_filestat_get(PRE, lk, path, &st);
    if (e != 0) {
        out("%s path_filestat_get(\"%s\", %s) -> %s", label, path, lk ? "follow" : "nofollow",
            es(e));
    } else {
        out("%s path_filestat_get(\"%s\", %s) -> 0 filetype=%u atim=%llu mtim=%llu", label,
            path, lk ? "follow" : "nofollow", st.filetype, u64(st.atim), u64(st.mtim));
    }
}

static void pstat(__wasi_lookupflags_t lk, const char *path) {
    __wasi_filestat_t st;
    memset(&st, 0, sizeof st);
    __wasi_errno_t e = __wasi_path_filestat_get(PRE, lk, path, &st);
    const char *how = lk ? "follow" : "nofollow";
    if (e != 0) {
        out("path_filestat_get(3, \"%s\", %s) -> %s", path, how, es(e));
    } else if (st.filetype == __WASI_FILETYPE_DIRECTORY) {
        out("path_filestat_get(3, \"%s\", %s) -> 0 filetype=%u", path, how, st.filetype);
    } else {
        out("path_filestat_get(3, \"%s\", %s) -> 0 filetype=%u nlink=%llu size=%llu", path,
            how, st.filetype, u64(st.nlink), u64(st.size));
    }
}

static void closefd(__wasi_fd_t fd) {
    __wasi_errno_t e = __wasi_fd_close(fd);
    if (e != 0) {
        out("  fd_close(%u) -> %s", fd, es(e));
    }
}

/*
 * path_open with a printout. On success prints the new fd and, via
 * fd_filestat_get, what it refers to. Returns the fd, or -1.
 */
static int popen_(__wasi_fd_t dir, __wasi_lookupflags_t lk, const char *path,
                  __wasi_oflags_t of, __wasi_rights_t rb, __wasi_rights_t ri,
                  __wasi_fdflags_t ff) {
    __wasi_fd_t fd = 0xffffffffu;
    __wasi_errno_t e = __wasi_path_open(dir, lk, path, of, rb, ri, ff, &fd);
    char label[160];
    snprintf(label, sizeof label, "path_open(%u, \"%s\", %s, oflags=%s, rights=%s/%s, fdflags=%s)",
             dir, path, lk ? "follow" : "nofollow", oname(of), rname(rb), rname(ri), fname(ff));
    if (e != 0) {
        out("%s -> %s", label, es(e));
        return -1;
    }
    __wasi_filestat_t st;
    memset(&st, 0, sizeof st);
    __wasi_errno_t e2 = __wasi_fd_filestat_get(fd, &st);
    if (e2 != 0) {
        out("%s -> 0 fd=%u (fd_filestat_get -> %s)", label, fd, es(e2));
    } else if (st.filetype == __WASI_FILETYPE_DIRECTORY) {
        out("%s -> 0 fd=%u filetype=%u", label, fd, st.filetype);
    } else {
        out("%s -> 0 fd=%u filetype=%u size=%llu", label, fd, st.filetype, u64(st.size));
    }
    return (int)fd;
}

/* Open, print, close. */
static void try_open(__wasi_lookupflags_t lk, const char *path, __wasi_oflags_t of,
                     __wasi_rights_t rb, __wasi_fdflags_t ff) {
    int fd = popen_(PRE, lk, path, of, rb, rb, ff);
    if (fd >= 0) {
        closefd((__wasi_fd_t)fd);
    }
}

/* Create scratch file `name` holding `data` (via raw calls). */
static void mkfile(const char *name, const char *data) {
    __wasi_fd_t fd;
    __wasi_errno_t e =
        __wasi_path_open(PRE, 0, name, O_CREAT_ | O_TRUNC_, R_RW, 0, 0, &fd);
    if (e != 0) {
        out("setup: create %s -> %s", name, es(e));
        return;
    }
    __wasi_ciovec_t iov = {.buf = (const uint8_t *)data, .buf_len = strlen(data)};
    __wasi_size_t n = 0;
    e = __wasi_fd_write(fd, &iov, 1, &n);
    if (e != 0 || n != strlen(data)) {
        out("setup: write %s -> %s n=%u", name, es(e), n);
    }
    closefd(fd);
}

static void rmfile(const char *name) {
    out("path_unlink_file(3, \"%s\") -> %s", name, es(__wasi_path_unlink_file(PRE, name)));
}

static __wasi_fd_t must_open(const char *path, __wasi_oflags_t of, __wasi_rights_t rb,
                             __wasi_fdflags_t ff) {
    __wasi_fd_t fd = 0;
    __wasi_errno_t e = __wasi_path_open(PRE, FOLLOW, path, of, rb, rb, ff, &fd);
    if (e != 0) {
        out("FATAL: path_open(\"%s\") -> %s", path, es(e));
        __wasi_proc_exit(1);
    }
    return fd;
}

static __wasi_fd_t must_open_dir(const char *path, __wasi_rights_t rb) {
    __wasi_fd_t fd = 0;
    __wasi_errno_t e = __wasi_path_open(PRE, FOLLOW, path, O_DIR_, rb, R_ALL, 0, &fd);
    if (e != 0) {
        out("FATAL: path_open(\"%s\", DIRECTORY) -> %s", path, es(e));
        __wasi_proc_exit(1);
    }
    return fd;
}

static void do_read(const char *label, __wasi_fd_t fd, size_t len) {
    uint8_t buf[64];
    if (len > sizeof buf) len = sizeof buf;
    __wasi_iovec_t iov = {.buf = buf, .buf_len = len};
    __wasi_size_t n = 0;
    __wasi_errno_t e = __wasi_fd_read(fd, &iov, 1, &n);
    if (e != 0) {
        out("%s fd_read(%u, %zu) -> %s", label, fd, len, es(e));
    } else {
        out("%s fd_read(%u, %zu) -> 0 nread=%u data=\"%s\"", label, fd, len, n, esc(buf, n));
    }
}

static void do_write(const char *label, __wasi_fd_t fd, const char *data) {
    __wasi_ciovec_t iov = {.buf = (const uint8_t *)data, .buf_len = strlen(data)};
    __wasi_size_t n = 0;
    __wasi_errno_t e = __wasi_fd_write(fd, &iov, 1, &n);
    if (e != 0) {
        out("%s fd_write(%u, \"%s\") -> %s", label, fd, data, es(e));
    } else {
        out("%s fd_write(%u, \"%s\") -> 0 nwritten=%u", label, fd, data, n);
    }
}

static void do_tell(const char *label, __wasi_fd_t fd) {
    __wasi_filesize_t pos = 0;
    __wasi_errno_t e = __wasi_fd_tell(fd, &pos);
    if (e != 0) {
        out("%s fd_tell(%u) -> %s", label, fd, es(e));
    } else {
        out("%s fd_tell(%u) -> 0 pos=%llu", label, fd, u64(pos));
    }
}

static void do_seek(const char *label, __wasi_fd_t fd, int64_t off, __wasi_whence_t wh) {
    static const char *const W[] = {"SET", "CUR", "END"};
    __wasi_filesize_t pos = 12345;
    __wasi_errno_t e = __wasi_fd_seek(fd, off, wh, &pos);
    if (e != 0) {
        out("%s fd_seek(%u, %lld, %s) -> %s", label, fd, (long long)off, W[wh], es(e));
    } else {
        out("%s fd_seek(%u, %lld, %s) -> 0 pos=%llu", label, fd, (long long)off, W[wh],
            u64(pos));
    }
}

static void show_fdstat(const char *label, __wasi_fd_t fd) {
    __wasi_fdstat_t st;
    memset(&st, 0, sizeof st);
    __wasi_errno_t e = __wasi_fd_fdstat_get(fd, &st);
    if (e != 0) {
        out("%s fd_fdstat_get(%u) -> %s", label, fd, es(e));
    } else {
        out("%s fd_fdstat_get(%u) -> 0 filetype=%u flags=0x%x rights_base=0x%llx "
            "rights_inheriting=0x%llx",
            label, fd, st.fs_filetype, st.fs_flags, u64(st.fs_rights_base),
            u64(st.fs_rights_inheriting));
    }
}

/* ---------------------------------------------------------------- readdir */

#define MAXENT 64

typedef struct {
    char name[64];
    uint8_t type;
    uint32_t namlen;
    uint64_t next;
} ent_t;

static int ent_cmp(const void *a, const void *b) {
    return strcmp(((const ent_t *)a)->name, ((const ent_t *)b)->name);
}

/*
 * Parse the entries in buf[0..used). Prints them when `print`. Appends
 * complete entries to ents. Returns the number of complete entries and
 * sets *last_next to the d_next of the last complete one.
 */
static int parse_dirents(const uint8_t *buf, size_t used, int print, ent_t *ents, int *nents,
                         uint64_t *last_next) {
    size_t pos = 0;
    int count = 0;
    while (pos < used) {
        if (pos + sizeof(__wasi_dirent_t) > used) {
            if (print) out("  (partial dirent header: %zu bytes) (os order)", used - pos);
            break;
        }
        __wasi_dirent_t d;
        memcpy(&d, buf + pos, sizeof d);
        size_t namepos = pos + sizeof d;
        if (namepos + d.d_namlen > used) {
            if (print)
                out("  (truncated entry: d_next=%llu d_type=%u d_namlen=%u, %zu name bytes "
                    "present) (os order)",
                    u64(d.d_next), d.d_type, d.d_namlen, used - namepos);
            break;
        }
        if (print)
            out("  d_next=%llu d_type=%u d_namlen=%u name=\"%s\" (os order)", u64(d.d_next),
                d.d_type, d.d_namlen, esc(buf + namepos, d.d_namlen));
        if (ents && *nents < MAXENT) {
            ent_t *en = &ents[(*nents)++];
            size_t l = d.d_namlen < sizeof en->name - 1 ? d.d_namlen : sizeof en->name - 1;
            memcpy(en->name, buf + namepos, l);
            en->name[l] = 0;
            en->type = d.d_type;
            en->namlen = d.d_namlen;
            en->next = d.d_next;
        }
        *last_next = d.d_next;
        count++;
        pos = namepos + d.d_namlen;
    }
    return count;
}

/* Read a whole directory with one large buffer; fills ents (os order). */
static int read_all(__wasi_fd_t fd, ent_t *ents, int *nents, int print_call) {
    static uint8_t big[4096];
    __wasi_size_t used = 0;
    __wasi_errno_t e = __wasi_fd_readdir(fd, big, sizeof big, 0, &used);
    *nents = 0;
    uint64_t last = 0;
    int n = e == 0 ? parse_dirents(big, used, 0, ents, nents, &last) : 0;
    if (print_call) {
        out("fd_readdir(%u, buf=4096, cookie=0) -> %s bufused=%u entries=%d", fd, es(e), used, n);
    }
    return e == 0 ? 0 : -1;
}

static void print_sorted(ent_t *ents, int n) {
    qsort(ents, (size_t)n, sizeof *ents, ent_cmp);
    for (int i = 0; i < n; i++) {
        out("  sorted: name=\"%s\" d_type=%u d_namlen=%u", ents[i].name, ents[i].type,
            ents[i].namlen);
    }
}

static int same_entries(const ent_t *a, int na, const ent_t *b, int nb) {
    if (na != nb) return 0;
    for (int i = 0; i < na; i++) {
        if (strcmp(a[i].name, b[i].name) != 0 || a[i].type != b[i].type ||
            a[i].next != b[i].next)
            return 0;
    }
    return 1;
}

/*
 * Walk fd's entries with a small buffer, restarting each call at the last
 * complete entry's d_next. Prints every call and entry (os order) and
 * collects the entries into ents.
 */
static void walk_small(__wasi_fd_t fd, __wasi_size_t bufsize, ent_t *ents, int *nents) {
    uint8_t buf[256];
    uint64_t cookie = 0;
    *nents = 0;
    for (int call = 0; call < 40; call++) {
        __wasi_size_t used = 0;
        __wasi_errno_t e = __wasi_fd_readdir(fd, buf, bufsize, cookie, &used);
        out("fd_readdir(%u, buf=%u, cookie=%llu) -> %s bufused=%u (os order)", fd, bufsize,
            u64(cookie), es(e), used);
        if (e != 0) {
            return;
        }
        uint64_t last = cookie;
        int n = parse_dirents(buf, used, 1, ents, nents, &last);
        if (used < bufsize) {
            return; /* end of directory */
        }
        if (n == 0) {
            out("  (no complete entry fits in %u bytes; stopping)", bufsize);
            return;
        }
        cookie = last;
    }
    out("  (too many calls; stopping)");
}

/*
 * Small-buffer walk, one large read, the sorted listing, and a restart at
 * every d_next value compared with the tail of the large read.
 */
static void readdir_all_ways(__wasi_fd_t fd) {
    static ent_t walked[MAXENT], full[MAXENT], sorted[MAXENT], tail[MAXENT];
    static uint8_t big[4096];
    int nw = 0, nf = 0;
    walk_small(fd, 64, walked, &nw);
    if (read_all(fd, full, &nf, 1) != 0) {
        return;
    }
    memcpy(sorted, full, sizeof full);
    print_sorted(sorted, nf);
    out("  64-byte walk returned the same entries and d_next values as one 4096-byte read: %s",
        same_entries(walked, nw, full, nf) ? "yes" : "NO");
    for (int i = 0; i < nf; i++) {
        __wasi_size_t used = 0;
        __wasi_errno_t e = __wasi_fd_readdir(fd, big, sizeof big, full[i].next, &used);
        int nt = 0;
        uint64_t last = 0;
        if (e == 0) (void)parse_dirents(big, used, 0, tail, &nt, &last);
        out("fd_readdir(%u, buf=4096, cookie=d_next of entry %d=%llu) -> %s entries=%d, "
            "same as the rest of the full read: %s",
            fd, i, u64(full[i].next), es(e), nt,
            same_entries(tail, nt, full + i + 1, nf - i - 1) ? "yes" : "NO");
    }
}

/* --------------------------------------------------------------- sections */

static void sec(const char *name) { out("== %s", name); }

static void probe_prestat(void) {
    sec("prestat");
    __wasi_prestat_t ps;
    memset(&ps, 0, sizeof ps);
    __wasi_errno_t e = __wasi_fd_prestat_get(PRE, &ps);
    if (e == 0) {
        out("fd_prestat_get(3) -> 0 tag=%u name_len=%u", ps.tag, ps.u.dir.pr_name_len);
    } else {
        out("fd_prestat_get(3) -> %s", es(e));
    }
    uint8_t name[64];
    memset(name, 0, sizeof name);
    e = __wasi_fd_prestat_dir_name(PRE, name, sizeof name);
    out("fd_prestat_dir_name(3, len=64) -> %s name=\"%s\"", es(e), esc(name, strlen((char *)name)));
    memset(name, 0, sizeof name);
    e = __wasi_fd_prestat_dir_name(PRE, name, 3);
    out("fd_prestat_dir_name(3, len=3) -> %s buf=\"%s\"", es(e), esc(name, strlen((char *)name)));
    out("fd_prestat_get(4) -> %s", es(__wasi_fd_prestat_get(4, &ps)));
    out("fd_prestat_get(0) -> %s", es(__wasi_fd_prestat_get(0, &ps)));
    show_fdstat("preopen", PRE);
    show_fstat("preopen", PRE);
}

static void probe_open(void) {
    sec("path_open: resolution");
    try_open(FOLLOW, "a.txt", 0, R_RO, 0);
    try_open(FOLLOW, "d", O_DIR_, R_DIR, 0);
    try_open(FOLLOW, "d", 0, R_RO, 0);
    try_open(FOLLOW, "d", 0, R_RW, 0);
    try_open(FOLLOW, "d/b.txt", 0, R_RO, 0);
    try_open(FOLLOW, ".", O_DIR_, R_DIR, 0);
    try_open(FOLLOW, "", 0, R_RO, 0);
    try_open(FOLLOW, "../x", 0, R_RO, 0);
    try_open(FOLLOW, "..", O_DIR_, R_DIR, 0);
    try_open(FOLLOW, "/etc/passwd", 0, R_RO, 0);
    try_open(FOLLOW, "/a.txt", 0, R_RO, 0);
    try_open(FOLLOW, "up/x", 0, R_RO, 0);
    try_open(FOLLOW, "up", O_DIR_, R_DIR, 0);
    try_open(NOFOLLOW, "up", 0, R_RO, 0);
    try_open(FOLLOW, "abs/passwd", 0, R_RO, 0);
    try_open(FOLLOW, "abs", O_DIR_, R_DIR, 0);
    try_open(FOLLOW, "loop1", 0, R_RO, 0);
    try_open(NOFOLLOW, "loop1", 0, R_RO, 0);
    try_open(FOLLOW, "loop1/x", 0, R_RO, 0);
    try_open(FOLLOW, "ok", 0, R_RO, 0);
    try_open(NOFOLLOW, "ok", 0, R_RO, 0);
    try_open(FOLLOW, "dlink/b.txt", 0, R_RO, 0);
    try_open(NOFOLLOW, "dlink/b.txt", 0, R_RO, 0);
    try_open(FOLLOW, "dlink", O_DIR_, R_DIR, 0);
    try_open(NOFOLLOW, "dlink", O_DIR_, R_DIR, 0);
    try_open(FOLLOW, "dangle", 0, R_RO, 0);
    try_open(NOFOLLOW, "dangle", 0, R_RO, 0);
    try_open(FOLLOW, "d/../a.txt", 0, R_RO, 0);
    try_open(FOLLOW, "d/../../x", 0, R_RO, 0);
    try_open(FOLLOW, "d/./b.txt", 0, R_RO, 0);
    try_open(FOLLOW, "d//b.txt", 0, R_RO, 0);
    try_open(FOLLOW, "a.txt/", 0, R_RO, 0);
    try_open(FOLLOW, "a.txt/.", 0, R_RO, 0);
    try_open(FOLLOW, "d/", 0, R_RO, 0);
    try_open(FOLLOW, "nothere", 0, R_RO, 0);
    try_open(FOLLOW, "nothere/x", O_CREAT_, R_RW, 0);
    {
        /* Not UTF-8: 'a', 0xff. */
        static const char bad[] = {'a', (char)0xff, 0};
        __wasi_fd_t fd;
        out("path_open(3, \"a\\xff\" (not UTF-8)) -> %s",
            es(__wasi_path_open(PRE, FOLLOW, bad, 0, R_RO, 0, 0, &fd)));
    }

    sec("path_open: flags");
    try_open(FOLLOW, "nothere", O_CREAT_, R_RW, 0);
    pstat(NOFOLLOW, "nothere");
    rmfile("nothere");
    try_open(FOLLOW, "a.txt", O_DIR_, R_RO, 0);
    try_open(FOLLOW, "ok", O_DIR_, R_RO, 0);
    try_open(FOLLOW, "a.txt", O_CREAT_ | O_EXCL_, R_RW, 0);
    try_open(FOLLOW, "d", O_CREAT_ | O_EXCL_, R_RW, 0);
    try_open(FOLLOW, "d", O_CREAT_, R_RW, 0);
    try_open(FOLLOW, "ok", O_CREAT_ | O_EXCL_, R_RW, 0);
    try_open(NOFOLLOW, "dangle", O_CREAT_ | O_EXCL_, R_RW, 0);
    try_open(FOLLOW, "new.tmp", O_CREAT_ | O_DIR_, R_RW, 0);
    pstat(NOFOLLOW, "new.tmp");
    try_open(FOLLOW, "x.tmp", O_CREAT_ | O_EXCL_, R_RW, 0);
    try_open(FOLLOW, "x.tmp", O_CREAT_ | O_EXCL_, R_RW, 0);
    rmfile("x.tmp");

    /* O_TRUNC with read-only rights, on a scratch file. */
    mkfile("t.tmp", "0123456789");
    try_open(FOLLOW, "t.tmp", O_TRUNC_, R_RO, 0);
    pstat(FOLLOW, "t.tmp");
    mkfile("t.tmp", "0123456789");
    try_open(FOLLOW, "t.tmp", O_TRUNC_, R_RW, 0);
    pstat(FOLLOW, "t.tmp");
    rmfile("t.tmp");

    /* A dangling symlink with O_CREAT (follow): does it create the target? */
    try_open(FOLLOW, "dangle", O_CREAT_, R_RW, 0);
    pstat(NOFOLLOW, "nothere");
    __wasi_filestat_t st;
    if (__wasi_path_filestat_get(PRE, 0, "nothere", &st) == 0) {
        rmfile("nothere");
    }

    /* fdflags on open */
    try_open(FOLLOW, "a.txt", 0, R_RO, __WASI_FDFLAGS_APPEND);
    try_open(FOLLOW, "a.txt", 0, R_RO, __WASI_FDFLAGS_NONBLOCK);
    try_open(FOLLOW, "a.txt", 0, R_RO, __WASI_FDFLAGS_DSYNC);
    try_open(FOLLOW, "a.txt", 0, R_RO, __WASI_FDFLAGS_SYNC);
    try_open(FOLLOW, "a.txt", 0, R_RO, __WASI_FDFLAGS_RSYNC);
    try_open(FOLLOW, "a.txt", 0, 0, 0);
    try_open(FOLLOW, "a.txt", 0, R_ALL, 0);

    sec("path_open: bad base fds");
    __wasi_fd_t fd;
    out("path_open(99, \"a.txt\") -> %s",
        es(__wasi_path_open(99, FOLLOW, "a.txt", 0, R_RO, 0, 0, &fd)));
    out("path_open(1, \"a.txt\") -> %s",
        es(__wasi_path_open(1, FOLLOW, "a.txt", 0, R_RO, 0, 0, &fd)));
    int f = popen_(PRE, FOLLOW, "a.txt", 0, R_RO, 0, 0);
    if (f >= 0) {
        popen_((__wasi_fd_t)f, FOLLOW, "x", 0, R_RO, 0, 0);
        closefd((__wasi_fd_t)f);
    }
    int dd = popen_(PRE, FOLLOW, "d", O_DIR_, R_DIR, R_ALL, 0);
    if (dd >= 0) {
        int g = popen_((__wasi_fd_t)dd, FOLLOW, "b.txt", 0, R_RO, 0, 0);
        if (g >= 0) closefd((__wasi_fd_t)g);
        popen_((__wasi_fd_t)dd, FOLLOW, "../a.txt", 0, R_RO, 0, 0);
        closefd((__wasi_fd_t)dd);
    }
}

static int open_q(const char *path) {
    __wasi_fd_t fd = 0;
    __wasi_errno_t e = __wasi_path_open(PRE, FOLLOW, path, 0, R_RO, 0, 0, &fd);
    if (e != 0) {
        out("path_open(3, \"%s\") -> %s", path, es(e));
        return -1;
    }
    return (int)fd;
}

static void close_p(int fd) {
    if (fd >= 0) out("fd_close(%d) -> %s", fd, es(__wasi_fd_close((__wasi_fd_t)fd)));
}

static void probe_fd_alloc(void) {
    /* All fds above 3 are closed here; the history of earlier closes matters. */
    sec("fd allocation");
    int a = open_q("a.txt");
    int b = open_q("d/b.txt");
    int c = open_q("ok");
    out("opened a.txt, d/b.txt, ok -> fds %d %d %d", a, b, c);
    close_p(a);
    int d = open_q("a.txt");
    out("closed the first, opened another -> fd %d", d);
    close_p(b);
    close_p(d);
    int e = open_q("a.txt");
    int f = open_q("a.txt");
    int g = open_q("a.txt");
    out("closed %d then %d, opened three -> fds %d %d %d", b, d, e, f, g);
    close_p(g);
    close_p(e);
    int h = open_q("a.txt");
    int i = open_q("a.txt");
    int j = open_q("a.txt");
    out("closed %d then %d, opened three -> fds %d %d %d", g, e, h, i, j);
    int all[] = {c, f, h, i, j};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) close_p(all[k]);
    int z = open_q("a.txt");
    out("all closed, opened one -> fd %d", z);
    if (z >= 0) {
        close_p(z);
        out("fd_close(%d) again -> %s", z, es(__wasi_fd_close((__wasi_fd_t)z)));
    }
}

static void probe_stat(void) {
    sec("fdstat / filestat");
    __wasi_fd_t f = must_open("a.txt", 0, R_RO, 0);
    show_fdstat("file(RO)", f);
    show_fstat("file(RO)", f);
    closefd(f);
    f = must_open("a.txt", 0, R_ALL, 0);
    show_fdstat("file(ALL)", f);
    closefd(f);
    f = must_open("a.txt", 0, 0, 0);
    show_fdstat("file(NONE)", f);
    do_read("file(NONE)", f, 16);
    closefd(f);
    __wasi_fd_t d = must_open_dir("d", R_DIR);
    show_fdstat("dir", d);
    show_fstat("dir", d);
    closefd(d);
    int da = popen_(PRE, FOLLOW, "d", O_DIR_, R_ALL, R_ALL, 0);
    if (da >= 0) {
        show_fdstat("dir(ALL)", (__wasi_fd_t)da);
        closefd((__wasi_fd_t)da);
    }
    int dw = popen_(PRE, FOLLOW, "d", O_DIR_, R_DIR | __WASI_RIGHTS_FD_WRITE, R_ALL, 0);
    if (dw >= 0) closefd((__wasi_fd_t)dw);
    int dn = popen_(PRE, FOLLOW, "d", O_DIR_, 0, 0, 0);
    if (dn >= 0) {
        show_fdstat("dir(NONE)", (__wasi_fd_t)dn);
        closefd((__wasi_fd_t)dn);
    }

    pstat(FOLLOW, "a.txt");
    pstat(FOLLOW, "ok");
    pstat(NOFOLLOW, "ok");
    pstat(FOLLOW, "dangle");
    pstat(NOFOLLOW, "dangle");
    pstat(FOLLOW, "loop1");
    pstat(NOFOLLOW, "loop1");
    pstat(FOLLOW, "abs");
    pstat(NOFOLLOW, "abs");
    pstat(FOLLOW, "up");
    pstat(NOFOLLOW, "up");
    pstat(FOLLOW, "dlink");
    pstat(NOFOLLOW, "dlink");
    pstat(FOLLOW, "d");
    pstat(FOLLOW, "d/b.txt");
    pstat(FOLLOW, ".");
    pstat(FOLLOW, "nothere");
    pstat(FOLLOW, "a.txt/");
    pstat(FOLLOW, "../x");
}

static void probe_readdir(void) {
    sec("fd_readdir");
    /* The preopen itself. */
    readdir_all_ways(PRE);
    uint8_t small[64];
    __wasi_size_t used = 12345;
    __wasi_errno_t e = __wasi_fd_readdir(PRE, small, sizeof small, 1000, &used);
    out("fd_readdir(3, buf=64, cookie=1000) -> %s bufused=%u", es(e), used);
    used = 12345;
    e = __wasi_fd_readdir(PRE, small, 0, 0, &used);
    out("fd_readdir(3, buf=0, cookie=0) -> %s bufused=%u", es(e), used);
    used = 12345;
    memset(small, 0xee, sizeof small);
    e = __wasi_fd_readdir(PRE, small, 10, 0, &used);
    /* Bytes 8..9 are the start of d_ino: not printed. */
    out("fd_readdir(3, buf=10, cookie=0) -> %s bufused=%u first 8 bytes (d_next)=\"%s\"", es(e),
        used, esc(small, 8));
    used = 12345;
    e = __wasi_fd_readdir(PRE, small, 26, 0, &used);
    out("fd_readdir(3, buf=26, cookie=0) -> %s bufused=%u", es(e), used);

    /* A subdirectory opened with path_open. */
    __wasi_fd_t d = must_open_dir("d", R_DIR);
    readdir_all_ways(d);
    static ent_t ents[MAXENT];
    int n = 0;
    walk_small(d, 40, ents, &n);
    closefd(d);

    /* Not a directory. */
    __wasi_fd_t f = must_open("a.txt", 0, R_RO, 0);
    out("fd_readdir(file) -> %s", es(__wasi_fd_readdir(f, small, sizeof small, 0, &used)));
    closefd(f);
    out("fd_readdir(99) -> %s", es(__wasi_fd_readdir(99, small, sizeof small, 0, &used)));
}

static void probe_dirfd_io(void) {
    sec("I/O on a directory fd and on wrong-mode fds");
    __wasi_fd_t d = must_open_dir("d", R_DIR);
    do_seek("dir", d, 0, __WASI_WHENCE_SET);
    do_seek("dir", d, 0, __WASI_WHENCE_CUR);
    do_tell("dir", d);
    do_read("dir", d, 16);
    do_write("dir", d, "x");
    out("dir fd_filestat_set_size(%u, 0) -> %s", d, es(__wasi_fd_filestat_set_size(d, 0)));
    out("dir fd_sync(%u) -> %s", d, es(__wasi_fd_sync(d)));
    out("dir fd_datasync(%u) -> %s", d, es(__wasi_fd_datasync(d)));
    out("dir fd_advise(%u) -> %s", d, es(__wasi_fd_advise(d, 0, 0, __WASI_ADVICE_NORMAL)));
    out("dir fd_allocate(%u, 0, 1) -> %s", d, es(__wasi_fd_allocate(d, 0, 1)));
    closefd(d);

    do_seek("preopen", PRE, 0, __WASI_WHENCE_CUR);
    do_read("preopen", PRE, 16);

    mkfile("w.tmp", "data");
    __wasi_fd_t f = must_open("w.tmp", 0, R_RO, 0);
    do_write("file(RO)", f, "zz");
    out("file(RO) fd_filestat_set_size(%u, 1) -> %s", f, es(__wasi_fd_filestat_set_size(f, 1)));
    out("file(RO) fd_allocate(%u, 0, 100) -> %s", f, es(__wasi_fd_allocate(f, 0, 100)));
    out("file(RO) fd_sync(%u) -> %s", f, es(__wasi_fd_sync(f)));
    out("file(RO) fd_datasync(%u) -> %s", f, es(__wasi_fd_datasync(f)));
    do_read("file(RO)", f, 16);
    closefd(f);
    f = must_open("w.tmp", 0, R_WO, 0);
    do_read("file(WO)", f, 16);
    do_write("file(WO)", f, "DA");
    closefd(f);
    pstat(FOLLOW, "w.tmp");
    rmfile("w.tmp");
}

static void probe_file_io(void) {
    sec("file I/O: seek, tell, pread, pwrite, append");
    mkfile("io.tmp", "0123456789");
    __wasi_fd_t f = must_open("io.tmp", 0, R_RW, 0);
    do_tell("rw", f);
    do_read("rw", f, 4);
    do_tell("rw", f);
    do_seek("rw", f, 2, __WASI_WHENCE_SET);
    do_seek("rw", f, 3, __WASI_WHENCE_CUR);
    do_seek("rw", f, -1, __WASI_WHENCE_CUR);
    do_seek("rw", f, -3, __WASI_WHENCE_END);
    do_read("rw", f, 16);
    do_read("rw", f, 16);
    do_seek("rw", f, 20, __WASI_WHENCE_SET);
    do_read("rw", f, 16);
    do_seek("rw", f, -1, __WASI_WHENCE_SET);
    do_seek("rw", f, -20, __WASI_WHENCE_END);
    do_tell("rw", f);
    do_seek("rw", f, (int64_t)1 << 62, __WASI_WHENCE_SET);
    do_seek("rw", f, 0, __WASI_WHENCE_END);
    do_write("rw", f, "AB");
    do_tell("rw", f);

    uint8_t buf[32];
    __wasi_size_t n = 0;
    __wasi_iovec_t iov = {.buf = buf, .buf_len = 5};
    __wasi_errno_t e = __wasi_fd_pread(f, &iov, 1, 3, &n);
    out("rw fd_pread(%u, 5, off=3) -> %s nread=%u data=\"%s\"", f, es(e), n, esc(buf, e ? 0 : n));
    do_tell("rw", f);
    iov.buf_len = 8;
    n = 12345;
    e = __wasi_fd_pread(f, &iov, 1, 100, &n);
    out("rw fd_pread(%u, 8, off=100) -> %s nread=%u", f, es(e), n);

    __wasi_ciovec_t c = {.buf = (const uint8_t *)"xy", .buf_len = 2};
    n = 0;
    e = __wasi_fd_pwrite(f, &c, 1, 4, &n);
    out("rw fd_pwrite(%u, \"xy\", off=4) -> %s nwritten=%u", f, es(e), n);
    do_tell("rw", f);
    n = 0;
    e = __wasi_fd_pwrite(f, &c, 1, 15, &n);
    out("rw fd_pwrite(%u, \"xy\", off=15) -> %s nwritten=%u", f, es(e), n);
    iov.buf_len = 32;
    n = 0;
    e = __wasi_fd_pread(f, &iov, 1, 0, &n);
    out("rw fd_pread(%u, 32, off=0) -> %s nread=%u data=\"%s\"", f, es(e), n, esc(buf, e ? 0 : n));

    /* Vectored: two iovecs. */
    uint8_t b1[3], b2[4];
    __wasi_iovec_t two[2] = {{.buf = b1, .buf_len = 3}, {.buf = b2, .buf_len = 4}};
    do_seek("rw", f, 0, __WASI_WHENCE_SET);
    n = 0;
    e = __wasi_fd_read(f, two, 2, &n);
    out("rw fd_read(%u, iovs=[3,4]) -> %s nread=%u a=\"%s\"", f, es(e), n, esc(b1, 3));
    out("  b=\"%s\"", esc(b2, 4));
    __wasi_ciovec_t w2[2] = {{.buf = (const uint8_t *)"PQ", .buf_len = 2},
                             {.buf = (const uint8_t *)"RS", .buf_len = 2}};
    n = 0;
    e = __wasi_fd_write(f, w2, 2, &n);
    out("rw fd_write(%u, iovs=[\"PQ\",\"RS\"]) -> %s nwritten=%u", f, es(e), n);
    do_tell("rw", f);

    /* fd_fdstat_set_flags(APPEND), then write and tell. */
    out("rw fd_fdstat_set_flags(%u, APPEND) -> %s", f,
        es(__wasi_fd_fdstat_set_flags(f, __WASI_FDFLAGS_APPEND)));
    show_fdstat("rw", f);
    do_seek("rw", f, 0, __WASI_WHENCE_SET);
    do_write("rw(append)", f, "Z");
    do_tell("rw(append)", f);
    n = 0;
    e = __wasi_fd_pwrite(f, &c, 1, 0, &n);
    out("rw(append) fd_pwrite(%u, \"xy\", off=0) -> %s nwritten=%u", f, es(e), n);
    do_tell("rw(append)", f);
    out("rw fd_fdstat_set_flags(%u, 0) -> %s", f, es(__wasi_fd_fdstat_set_flags(f, 0)));
    show_fdstat("rw", f);
    out("rw fd_fdstat_set_flags(%u, NONBLOCK) -> %s", f,
        es(__wasi_fd_fdstat_set_flags(f, __WASI_FDFLAGS_NONBLOCK)));
    out("rw fd_fdstat_set_flags(%u, SYNC) -> %s", f,
        es(__wasi_fd_fdstat_set_flags(f, __WASI_FDFLAGS_SYNC)));
    show_fdstat("rw", f);
    out("rw fd_fdstat_set_flags(%u, 0) -> %s", f, es(__wasi_fd_fdstat_set_flags(f, 0)));
    iov.buf_len = 32;
    n = 0;
    e = __wasi_fd_pread(f, &iov, 1, 0, &n);
    out("rw fd_pread(%u, 32, off=0) -> %s nread=%u data=\"%s\"", f, es(e), n, esc(buf, e ? 0 : n));

    sec("sync, advise, allocate, set_size");
    out("rw fd_sync(%u) -> %s", f, es(__wasi_fd_sync(f)));
    out("rw fd_datasync(%u) -> %s", f, es(__wasi_fd_datasync(f)));
    out("rw fd_advise(%u, 0, 0, NORMAL) -> %s", f,
        es(__wasi_fd_advise(f, 0, 0, __WASI_ADVICE_NORMAL)));
    out("rw fd_advise(%u, 0, 100, SEQUENTIAL) -> %s", f,
        es(__wasi_fd_advise(f, 0, 100, __WASI_ADVICE_SEQUENTIAL)));
    out("rw fd_advise(%u, 0, 0, DONTNEED) -> %s", f,
        es(__wasi_fd_advise(f, 0, 0, __WASI_ADVICE_DONTNEED)));
    out("rw fd_advise(%u, 0, 0, NOREUSE) -> %s", f,
        es(__wasi_fd_advise(f, 0, 0, __WASI_ADVICE_NOREUSE)));
    out("rw fd_allocate(%u, 0, 100) -> %s", f, es(__wasi_fd_allocate(f, 0, 100)));
    show_fstat("rw", f);
    out("rw fd_filestat_set_size(%u, 30) -> %s", f, es(__wasi_fd_filestat_set_size(f, 30)));
    show_fstat("rw", f);
    out("rw fd_filestat_set_size(%u, 3) -> %s", f, es(__wasi_fd_filestat_set_size(f, 3)));
    show_fstat("rw", f);
    do_tell("rw", f);
    do_seek("rw", f, 0, __WASI_WHENCE_SET);
    do_read("rw", f, 16);
    out("rw fd_fdstat_set_rights(%u, RO, 0) -> %s", f,
        es(__wasi_fd_fdstat_set_rights(f, R_RO, 0)));
    show_fdstat("rw", f);
    closefd(f);
    f = must_open("io.tmp", 0, R_RW, 0);
    out("rw fd_filestat_set_size(%u, 2^63) -> %s", f,
        es(__wasi_fd_filestat_set_size(f, (__wasi_filesize_t)1 << 63)));
    closefd(f);
    out("fd_filestat_set_size(99, 0) -> %s", es(__wasi_fd_filestat_set_size(99, 0)));
    rmfile("io.tmp");
}

static void probe_times(void) {
    sec("timestamps (fixed values)");
    mkfile("tm.tmp", "t");
    __wasi_fd_t f = must_open("tm.tmp", 0, R_RW, 0);
    out("fd_filestat_set_times(%u, atim=%llu, mtim=%llu, ATIM|MTIM) -> %s", f, u64(T_ATIM),
        u64(T_MTIM),
        es(__wasi_fd_filestat_set_times(f, T_ATIM, T_MTIM,
                                        __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM)));
    show_times_fd("  ", f);
    out("fd_filestat_set_times(%u, mtim=%llu, MTIM) -> %s", f, u64(T_MTIM2),
        es(__wasi_fd_filestat_set_times(f, 0, T_MTIM2, __WASI_FSTFLAGS_MTIM)));
    show_times_fd("  ", f);
    out("fd_filestat_set_times(%u, 0, 0, 0) -> %s", f,
        es(__wasi_fd_filestat_set_times(f, 0, 0, 0)));
    show_times_fd("  ", f);
    out("fd_filestat_set_times(%u, ATIM|ATIM_NOW) -> %s", f,
        es(__wasi_fd_filestat_set_times(f, T_ATIM, 0,
                                        __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_ATIM_NOW)));
    out("fd_filestat_set_times(%u, MTIM|MTIM_NOW) -> %s", f,
        es(__wasi_fd_filestat_set_times(f, 0, T_MTIM,
                                        __WASI_FSTFLAGS_MTIM | __WASI_FSTFLAGS_MTIM_NOW)));
    show_times_fd("  ", f);
    __wasi_errno_t e = __wasi_fd_filestat_set_times(f, 0, 0, __WASI_FSTFLAGS_MTIM_NOW);
    __wasi_filestat_t st;
    memset(&st, 0, sizeof st);
    __wasi_errno_t e2 = __wasi_fd_filestat_get(f, &st);
    out("fd_filestat_set_times(%u, MTIM_NOW) -> %s; then atim_unchanged=%d mtim_changed=%d "
        "(filestat -> %s)",
        f, es(e), st.atim == T_ATIM, st.mtim != T_MTIM2, es(e2));
    closefd(f);
    f = must_open("tm.tmp", 0, R_RO, 0);
    out("file(RO) fd_filestat_set_times(%u, ATIM|MTIM) -> %s", f,
        es(__wasi_fd_filestat_set_times(f, T_ATIM, T_MTIM,
                                        __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM)));
    show_times_fd("  ", f);
    closefd(f);

    out("path_filestat_set_times(3, follow, \"tm.tmp\", atim=%llu, mtim=%llu) -> %s",
        u64(T_MTIM), u64(T_ATIM),
        es(__wasi_path_filestat_set_times(PRE, FOLLOW, "tm.tmp", T_MTIM, T_ATIM,
                                          __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM)));
    show_times_path("  ", FOLLOW, "tm.tmp");

    /* Through a scratch symlink: follow sets the target, nofollow the link. */
    out("path_symlink(\"tm.tmp\", 3, \"tl.tmp\") -> %s",
        es(__wasi_path_symlink("tm.tmp", PRE, "tl.tmp")));
    out("path_filestat_set_times(3, follow, \"tl.tmp\", atim=%llu, mtim=%llu) -> %s",
        u64(T_ATIM), u64(T_MTIM),
        es(__wasi_path_filestat_set_times(PRE, FOLLOW, "tl.tmp", T_ATIM, T_MTIM,
                                          __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM)));
    show_times_path("  ", NOFOLLOW, "tm.tmp");
    out("path_filestat_set_times(3, nofollow, \"tl.tmp\", atim=%llu, mtim=%llu) -> %s",
        u64(T_MTIM2), u64(T_MTIM2),
        es(__wasi_path_filestat_set_times(PRE, NOFOLLOW, "tl.tmp", T_MTIM2, T_MTIM2,
                                          __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM)));
    show_times_path("  ", NOFOLLOW, "tl.tmp");
    show_times_path("  ", NOFOLLOW, "tm.tmp");
    out("path_filestat_set_times(3, follow, \"nothere\") -> %s",
        es(__wasi_path_filestat_set_times(PRE, FOLLOW, "nothere", T_ATIM, T_MTIM,
                                          __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM)));
    out("path_filestat_set_times(3, follow, \"../x\") -> %s",
        es(__wasi_path_filestat_set_times(PRE, FOLLOW, "../x", T_ATIM, T_MTIM,
                                          __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM)));
    out("path_filestat_set_times(3, follow, \"tm.tmp\", ATIM|ATIM_NOW) -> %s",
        es(__wasi_path_filestat_set_times(PRE, FOLLOW, "tm.tmp", T_ATIM, 0,
                                          __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_ATIM_NOW)));
    rmfile("tl.tmp");
    rmfile("tm.tmp");
}

static void probe_dirs(void) {
    sec("path_create_directory / path_remove_directory");
    out("path_create_directory(3, \"d\") -> %s", es(__wasi_path_create_directory(PRE, "d")));
    out("path_create_directory(3, \"a.txt\") -> %s", es(__wasi_path_create_directory(PRE, "a.txt")));
    out("path_create_directory(3, \"dangle\") -> %s",
        es(__wasi_path_create_directory(PRE, "dangle")));
    out("path_create_directory(3, \"nothere/x\") -> %s",
        es(__wasi_path_create_directory(PRE, "nothere/x")));
    out("path_create_directory(3, \"../x\") -> %s", es(__wasi_path_create_directory(PRE, "../x")));
    out("path_create_directory(3, \"\") -> %s", es(__wasi_path_create_directory(PRE, "")));
    out("path_create_directory(3, \"newdir\") -> %s",
        es(__wasi_path_create_directory(PRE, "newdir")));
    pstat(NOFOLLOW, "newdir");
    out("path_create_directory(3, \"newdir/sub/\") -> %s",
        es(__wasi_path_create_directory(PRE, "newdir/sub/")));
    out("path_remove_directory(3, \"newdir\") -> %s",
        es(__wasi_path_remove_directory(PRE, "newdir")));
    out("path_remove_directory(3, \"newdir/sub\") -> %s",
        es(__wasi_path_remove_directory(PRE, "newdir/sub")));
    out("path_remove_directory(3, \"newdir\") -> %s",
        es(__wasi_path_remove_directory(PRE, "newdir")));
    pstat(NOFOLLOW, "newdir");
    out("path_remove_directory(3, \"a.txt\") -> %s",
        es(__wasi_path_remove_directory(PRE, "a.txt")));
    out("path_remove_directory(3, \"d\") -> %s", es(__wasi_path_remove_directory(PRE, "d")));
    out("path_remove_directory(3, \"dlink\") -> %s",
        es(__wasi_path_remove_directory(PRE, "dlink")));
    out("path_remove_directory(3, \"nothere\") -> %s",
        es(__wasi_path_remove_directory(PRE, "nothere")));
    out("path_remove_directory(3, \".\") -> %s", es(__wasi_path_remove_directory(PRE, ".")));
    out("path_remove_directory(3, \"../x\") -> %s",
        es(__wasi_path_remove_directory(PRE, "../x")));

    sec("path_unlink_file");
    out("path_unlink_file(3, \"d\") -> %s", es(__wasi_path_unlink_file(PRE, "d")));
    out("path_unlink_file(3, \"nothere\") -> %s", es(__wasi_path_unlink_file(PRE, "nothere")));
    out("path_unlink_file(3, \"a.txt/\") -> %s", es(__wasi_path_unlink_file(PRE, "a.txt/")));
    out("path_unlink_file(3, \"../x\") -> %s", es(__wasi_path_unlink_file(PRE, "../x")));
    out("path_unlink_file(3, \"\") -> %s", es(__wasi_path_unlink_file(PRE, "")));
}

static void probe_rename_link(void) {
    sec("path_rename");
    mkfile("r1.tmp", "one");
    mkfile("r2.tmp", "two");
    out("path_create_directory(3, \"rd.tmp\") -> %s", es(__wasi_path_create_directory(PRE, "rd.tmp")));
    out("path_rename(3, \"r1.tmp\", 3, \"d\") -> %s", es(__wasi_path_rename(PRE, "r1.tmp", PRE, "d")));
    out("path_rename(3, \"rd.tmp\", 3, \"r1.tmp\") -> %s",
        es(__wasi_path_rename(PRE, "rd.tmp", PRE, "r1.tmp")));
    out("path_rename(3, \"rd.tmp\", 3, \"d\") -> %s", es(__wasi_path_rename(PRE, "rd.tmp", PRE, "d")));
    out("path_rename(3, \"rd.tmp\", 3, \"rd.tmp/sub\") -> %s",
        es(__wasi_path_rename(PRE, "rd.tmp", PRE, "rd.tmp/sub")));
    out("path_rename(3, \"nothere\", 3, \"r3.tmp\") -> %s",
        es(__wasi_path_rename(PRE, "nothere", PRE, "r3.tmp")));
    out("path_rename(3, \"r1.tmp\", 3, \"../r\") -> %s",
        es(__wasi_path_rename(PRE, "r1.tmp", PRE, "../r")));
    out("path_rename(3, \"r1.tmp\", 3, \"r1.tmp\") -> %s",
        es(__wasi_path_rename(PRE, "r1.tmp", PRE, "r1.tmp")));
    out("path_rename(3, \"r1.tmp\", 3, \"r2.tmp\") -> %s",
        es(__wasi_path_rename(PRE, "r1.tmp", PRE, "r2.tmp")));
    pstat(NOFOLLOW, "r1.tmp");
    pstat(NOFOLLOW, "r2.tmp");
    out("path_rename(3, \"r2.tmp\", 3, \"rd.tmp/r.tmp\") -> %s",
        es(__wasi_path_rename(PRE, "r2.tmp", PRE, "rd.tmp/r.tmp")));
    pstat(NOFOLLOW, "rd.tmp/r.tmp");
    __wasi_fd_t d = must_open_dir("rd.tmp", R_DIR | __WASI_RIGHTS_PATH_RENAME_SOURCE);
    out("path_rename(%u, \"r.tmp\", 3, \"r4.tmp\") -> %s", d,
        es(__wasi_path_rename(d, "r.tmp", PRE, "r4.tmp")));
    closefd(d);
    out("path_rename(3, \"rd.tmp\", 3, \"rd2.tmp\") -> %s",
        es(__wasi_path_rename(PRE, "rd.tmp", PRE, "rd2.tmp")));
    out("path_rename(3, \"r4.tmp\", 99, \"x\") -> %s", es(__wasi_path_rename(PRE, "r4.tmp", 99, "x")));
    out("path_remove_directory(3, \"rd2.tmp\") -> %s",
        es(__wasi_path_remove_directory(PRE, "rd2.tmp")));
    rmfile("r4.tmp");

    sec("path_link");
    out("path_link(3, nofollow, \"a.txt\", 3, \"h.tmp\") -> %s",
        es(__wasi_path_link(PRE, 0, "a.txt", PRE, "h.tmp")));
    pstat(NOFOLLOW, "a.txt");
    pstat(NOFOLLOW, "h.tmp");
    out("path_link(3, nofollow, \"a.txt\", 3, \"ok\") -> %s",
        es(__wasi_path_link(PRE, 0, "a.txt", PRE, "ok")));
    out("path_link(3, nofollow, \"d\", 3, \"dl.tmp\") -> %s",
        es(__wasi_path_link(PRE, 0, "d", PRE, "dl.tmp")));
    out("path_link(3, nofollow, \"nothere\", 3, \"n.tmp\") -> %s",
        es(__wasi_path_link(PRE, 0, "nothere", PRE, "n.tmp")));
    out("path_link(3, nofollow, \"a.txt\", 3, \"../h\") -> %s",
        es(__wasi_path_link(PRE, 0, "a.txt", PRE, "../h")));
    out("path_link(3, nofollow, \"ok\", 3, \"hl.tmp\") -> %s",
        es(__wasi_path_link(PRE, 0, "ok", PRE, "hl.tmp")));
    pstat(NOFOLLOW, "hl.tmp");
    __wasi_filestat_t st;
    if (__wasi_path_filestat_get(PRE, 0, "hl.tmp", &st) == 0) rmfile("hl.tmp");
    out("path_link(3, follow, \"ok\", 3, \"hf.tmp\") -> %s",
        es(__wasi_path_link(PRE, FOLLOW, "ok", PRE, "hf.tmp")));
    pstat(NOFOLLOW, "hf.tmp");
    if (__wasi_path_filestat_get(PRE, 0, "hf.tmp", &st) == 0) rmfile("hf.tmp");
    rmfile("h.tmp");
    pstat(NOFOLLOW, "a.txt");

    sec("path_symlink / path_readlink");
    out("path_symlink(\"/etc/passwd\", 3, \"sa.tmp\") -> %s",
        es(__wasi_path_symlink("/etc/passwd", PRE, "sa.tmp")));
    if (__wasi_path_filestat_get(PRE, 0, "sa.tmp", &st) == 0) {
        pstat(NOFOLLOW, "sa.tmp");
        rmfile("sa.tmp");
    }
    out("path_symlink(\"../outside\", 3, \"su.tmp\") -> %s",
        es(__wasi_path_symlink("../outside", PRE, "su.tmp")));
    if (__wasi_path_filestat_get(PRE, 0, "su.tmp", &st) == 0) {
        pstat(NOFOLLOW, "su.tmp");
        rmfile("su.tmp");
    }
    out("path_symlink(\"a.txt\", 3, \"s.tmp\") -> %s", es(__wasi_path_symlink("a.txt", PRE, "s.tmp")));
    pstat(NOFOLLOW, "s.tmp");
    pstat(FOLLOW, "s.tmp");
    out("path_symlink(\"a.txt\", 3, \"ok\") -> %s", es(__wasi_path_symlink("a.txt", PRE, "ok")));
    out("path_symlink(\"a.txt\", 3, \"../s\") -> %s", es(__wasi_path_symlink("a.txt", PRE, "../s")));
    out("path_symlink(\"\", 3, \"se.tmp\") -> %s", es(__wasi_path_symlink("", PRE, "se.tmp")));
    if (__wasi_path_filestat_get(PRE, 0, "se.tmp", &st) == 0) rmfile("se.tmp");

    const struct {
        const char *path;
        __wasi_size_t len;
    } rl[] = {{"ok", 64},     {"ok", 5},   {"ok", 3},      {"ok", 0},      {"abs", 64},
              {"up", 64},     {"loop1", 64}, {"dangle", 64}, {"dlink", 64}, {"s.tmp", 64},
              {"a.txt", 64},  {"d", 64},   {"nothere", 64}, {"dlink/b.txt", 64},
              {"../x", 64}};
    for (size_t i = 0; i < sizeof rl / sizeof rl[0]; i++) {
        uint8_t buf[64];
        memset(buf, 0, sizeof buf);
        __wasi_size_t used = 12345;
        __wasi_errno_t e = __wasi_path_readlink(PRE, rl[i].path, buf, rl[i].len, &used);
        if (e == 0) {
            out("path_readlink(3, \"%s\", len=%u) -> 0 bufused=%u buf=\"%s\"", rl[i].path,
                rl[i].len, used, esc(buf, used <= 64 ? used : 64));
        } else {
            out("path_readlink(3, \"%s\", len=%u) -> %s", rl[i].path, rl[i].len, es(e));
        }
    }
    rmfile("s.tmp");
}

static void probe_renumber_close(void) {
    sec("fd_renumber / fd_close");
    __wasi_fd_t a = must_open("a.txt", 0, R_RO, 0);
    __wasi_fd_t b = must_open("d/b.txt", 0, R_RO, 0);
    out("opened a.txt as %u, d/b.txt as %u", a, b);
    out("fd_renumber(%u, %u) -> %s", a, b, es(__wasi_fd_renumber(a, b)));
    show_fstat("after renumber", b);
    do_read("after renumber", b, 16);
    out("fd_close(%u) (the renumbered-from fd) -> %s", a, es(__wasi_fd_close(a)));
    out("fd_renumber(%u, %u) (same fd) -> %s", b, b, es(__wasi_fd_renumber(b, b)));
    out("fd_renumber(%u, 20) (target not open) -> %s", b, es(__wasi_fd_renumber(b, 20)));
    out("fd_renumber(99, %u) -> %s", b, es(__wasi_fd_renumber(99, b)));
    show_fstat("still", b);
    __wasi_fd_t c = must_open("a.txt", 0, R_RO, 0);
    out("opened a.txt as %u", c);
    out("fd_close(%u) -> %s", c, es(__wasi_fd_close(c)));
    out("fd_close(%u) -> %s", c, es(__wasi_fd_close(c)));
    out("fd_close(%u) -> %s", b, es(__wasi_fd_close(b)));
    out("fd_close(%u) -> %s", b, es(__wasi_fd_close(b)));
}

/* ------------------------------------------------------- fixture handling */

typedef struct {
    char path[80];
    __wasi_timestamp_t atim, mtim;
} saved_t;

static saved_t SAVED[MAXENT];
static int NSAVED;
static ent_t START[MAXENT];
static int NSTART;

static void save_one(const char *path) {
    __wasi_filestat_t st;
    if (NSAVED < MAXENT && __wasi_path_filestat_get(PRE, 0, path, &st) == 0) {
        saved_t *s = &SAVED[NSAVED++];
        snprintf(s->path, sizeof s->path, "%s", path);
        s->atim = st.atim;
        s->mtim = st.mtim;
    }
}

/* Remember the entries of "/sandbox" and "d", and the times of everything. */
static void save_fixture(void) {
    static ent_t sub[MAXENT];
    int nsub = 0;
    if (read_all(PRE, START, &NSTART, 0) == 0) {
        qsort(START, (size_t)NSTART, sizeof *START, ent_cmp);
    }
    __wasi_fd_t d;
    if (__wasi_path_open(PRE, 0, "d", O_DIR_, R_DIR, R_DIR, 0, &d) == 0) {
        (void)read_all(d, sub, &nsub, 0);
        closefd(d);
    }
    for (int i = 0; i < nsub; i++) {
        if (strcmp(sub[i].name, ".") == 0 || strcmp(sub[i].name, "..") == 0) continue;
        char p[80];
        snprintf(p, sizeof p, "d/%s", sub[i].name);
        save_one(p);
    }
    for (int i = 0; i < NSTART; i++) {
        if (strcmp(START[i].name, ".") == 0 || strcmp(START[i].name, "..") == 0) continue;
        save_one(START[i].name);
    }
    save_one(".");
}

static void restore_fixture(void) {
    sec("check and restore the fixture");
    static ent_t now[MAXENT];
    int n = 0;
    int same = read_all(PRE, now, &n, 0) == 0 && n == NSTART;
    if (same) {
        qsort(now, (size_t)n, sizeof *now, ent_cmp);
        for (int i = 0; i < n; i++) {
            if (strcmp(now[i].name, START[i].name) != 0 || now[i].type != START[i].type) same = 0;
        }
    }
    out("fixture entries unchanged: %s (%d entries)", same ? "yes" : "NO", n);
    /* Children first, "." last (it was saved last). Nothing is printed per
       entry except failures, so the output does not depend on readdir order. */
    int ok = 0;
    for (int i = 0; i < NSAVED; i++) {
        __wasi_errno_t e = __wasi_path_filestat_set_times(
            PRE, 0, SAVED[i].path, SAVED[i].atim, SAVED[i].mtim,
            __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM);
        if (e == 0) {
            ok++;
        } else {
            out("restore times of \"%s\" (path_filestat_set_times nofollow) -> %s",
                SAVED[i].path, es(e));
        }
    }
    out("restored atime/mtime of %d of %d fixture paths (path_filestat_set_times nofollow)", ok,
        NSAVED);
}

/* Runs last: may take the preopen away. */
static void probe_preopen_last(void) {
    sec("renumber onto and close the preopen (last)");
    __wasi_fd_t f = must_open("a.txt", 0, R_RO, 0);
    out("opened a.txt as %u", f);
    out("fd_renumber(%u, 3) -> %s", f, es(__wasi_fd_renumber(f, PRE)));
    show_fstat("fd 3 now", PRE);
    out("fd_close(%u) -> %s", f, es(__wasi_fd_close(f)));
    out("fd_close(3) -> %s", es(__wasi_fd_close(PRE)));
    __wasi_prestat_t ps;
    out("fd_prestat_get(3) -> %s", es(__wasi_fd_prestat_get(PRE, &ps)));
    __wasi_fd_t fd;
    out("path_open(3, \"a.txt\") -> %s",
        es(__wasi_path_open(PRE, FOLLOW, "a.txt", 0, R_RO, 0, 0, &fd)));
}

int main(void) {
    out("fsprobe: start");
    save_fixture();
    probe_prestat();
    probe_open();
    probe_fd_alloc();
    probe_stat();
    probe_readdir();
    probe_dirfd_io();
    probe_file_io();
    probe_times();
    probe_dirs();
    probe_rename_link();
    probe_renumber_close();
    restore_fixture();
    probe_preopen_last();
    out("fsprobe: done");
    return 0;
}
