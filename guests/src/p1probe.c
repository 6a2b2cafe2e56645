/*
 * p1probe: wasi_snapshot_preview1 conformance probe.
 *
 * Calls preview1 functions directly through the raw imports in
 * <wasi/api.h>, with valid and invalid arguments, and prints one line per
 * call: "<call> -> <errno>" followed by any outputs that are deterministic
 * (types, flags, rights, counts, sizes). Clock readings and random bytes
 * are never printed, so two conforming hosts give identical output.
 *
 * Effects exercised: args_sizes_get, environ_sizes_get, clock_res_get,
 * clock_time_get, random_get, sched_yield, poll_oneoff, fd_write, fd_read,
 * fd_close, fd_seek, fd_tell, fd_sync, fd_datasync, fd_advise, fd_allocate,
 * fd_fdstat_get, fd_fdstat_set_flags, fd_filestat_get, fd_prestat_get,
 * fd_prestat_dir_name, fd_renumber, path_open.
 *
 * Output goes through raw fd_write(1) (one call per line, no stdio
 * buffering), so the probe's own writes interleave correctly with the
 * fd_write calls under test. main() takes no arguments and getenv() is
 * never used, so wasi-libc makes no args/environ calls of its own.
 *
 * Expected fd layout: 0/1/2 = stdio, nothing preopened (fd 3 is unused).
 *
 * Deliberately NOT probed: out-of-range enum/flag values (e.g. clock id 99,
 * whence 9, unknown fdflags bits) and out-of-bounds pointers. wasmtime's
 * built-in WASI does not return an errno for those; it aborts the guest
 * with a host error ("Invalid enum value Clockid", "Pointer out of
 * bounds"), and this probe must always run to completion.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

static void out(const char *fmt, ...) {
    char line[256];
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

static void probe_sizes(void) {
    __wasi_size_t count = 0, bytes = 0;
    __wasi_errno_t e = __wasi_args_sizes_get(&count, &bytes);
    out("args_sizes_get -> %u argc=%u argv_buf_size=%u", e, count, bytes);

    count = bytes = 0;
    e = __wasi_environ_sizes_get(&count, &bytes);
    out("environ_sizes_get -> %u count=%u buf_size=%u", e, count, bytes);
}

static void probe_clocks(void) {
    for (__wasi_clockid_t id = 0; id <= 3; id++) {
        __wasi_timestamp_t res = 0;
        __wasi_errno_t e = __wasi_clock_res_get(id, &res);
        if (e == 0) {
            out("clock_res_get(%u) -> %u res_nonzero=%d", id, e, res != 0);
        } else {
            out("clock_res_get(%u) -> %u", id, e);
        }
    }

    for (__wasi_clockid_t id = 0; id <= 3; id++) {
        __wasi_timestamp_t t = 0;
        out("clock_time_get(%u) -> %u", id, __wasi_clock_time_get(id, 1, &t));
    }
}

static void probe_random_sched(void) {
    uint8_t buf[16];
    out("random_get(buf, 0) -> %u", __wasi_random_get(buf, 0));
    out("random_get(buf, 16) -> %u", __wasi_random_get(buf, sizeof buf));
    out("sched_yield -> %u", __wasi_sched_yield());
}

static void probe_poll(void) {
    __wasi_subscription_t sub;
    memset(&sub, 0, sizeof sub);
    sub.userdata = 0x1234abcd;
    sub.u.tag = __WASI_EVENTTYPE_CLOCK;
    sub.u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    sub.u.u.clock.timeout = 1000000; /* 1 ms, relative */
    sub.u.u.clock.precision = 0;
    sub.u.u.clock.flags = 0;

    __wasi_event_t ev;
    memset(&ev, 0xff, sizeof ev);
    __wasi_size_t nevents = 0;
    __wasi_errno_t e = __wasi_poll_oneoff(&sub, &ev, 1, &nevents);
    if (e == 0 && nevents == 1) {
        out("poll_oneoff(clock 1ms) -> %u nevents=%u userdata=0x%llx error=%u type=%u",
            e, nevents, u64(ev.userdata), ev.error, ev.type);
    } else {
        out("poll_oneoff(clock 1ms) -> %u nevents=%u", e, nevents);
    }

    nevents = 0;
    e = __wasi_poll_oneoff(&sub, &ev, 0, &nevents);
    out("poll_oneoff(nsubscriptions=0) -> %u nevents=%u", e, nevents);

    sub.u.tag = 9; /* not an eventtype */
    nevents = 0;
    e = __wasi_poll_oneoff(&sub, &ev, 1, &nevents);
    out("poll_oneoff(tag=9) -> %u nevents=%u", e, nevents);
}

static void probe_fdstat(void) {
    const __wasi_fd_t fds[] = {0, 1, 2, 3, 99};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
        __wasi_fdstat_t st;
        memset(&st, 0, sizeof st);
        __wasi_errno_t e = __wasi_fd_fdstat_get(fds[i], &st);
        if (e == 0) {
            out("fd_fdstat_get(%u) -> %u filetype=%u flags=0x%x rights_base=0x%llx rights_inheriting=0x%llx",
                fds[i], e, st.fs_filetype, st.fs_flags,
                u64(st.fs_rights_base), u64(st.fs_rights_inheriting));
        } else {
            out("fd_fdstat_get(%u) -> %u", fds[i], e);
        }
    }
    out("fd_fdstat_set_flags(1, 0) -> %u", __wasi_fd_fdstat_set_flags(1, 0));
    out("fd_fdstat_set_flags(99, 0) -> %u", __wasi_fd_fdstat_set_flags(99, 0));

    __wasi_filestat_t fs;
    memset(&fs, 0, sizeof fs);
    __wasi_errno_t e = __wasi_fd_filestat_get(1, &fs);
    if (e == 0) {
        /* Timestamps deliberately not printed. */
        out("fd_filestat_get(1) -> %u filetype=%u nlink=%llu size=%llu",
            e, fs.filetype, u64(fs.nlink), u64(fs.size));
    } else {
        out("fd_filestat_get(1) -> %u", e);
    }
    out("fd_filestat_get(99) -> %u", __wasi_fd_filestat_get(99, &fs));
}

static void probe_prestat(void) {
    __wasi_prestat_t ps;
    memset(&ps, 0, sizeof ps);
    __wasi_errno_t e = __wasi_fd_prestat_get(3, &ps);
    if (e == 0) {
        out("fd_prestat_get(3) -> %u tag=%u name_len=%u", e, ps.tag,
            ps.u.dir.pr_name_len);
    } else {
        out("fd_prestat_get(3) -> %u", e);
    }
    uint8_t name[64];
    out("fd_prestat_dir_name(3) -> %u",
        __wasi_fd_prestat_dir_name(3, name, sizeof name));
}

static void probe_io(void) {
    static const char msg[] = "fd_write payload\n";
    __wasi_ciovec_t ciov = {.buf = (const uint8_t *)msg, .buf_len = sizeof msg - 1};
    __wasi_size_t n = 12345;
    __wasi_errno_t e = __wasi_fd_write(1, &ciov, 1, &n);
    out("fd_write(1, 1 iovec of %u bytes) -> %u nwritten=%u",
        (unsigned)(sizeof msg - 1), e, n);

    n = 12345;
    e = __wasi_fd_write(1, &ciov, 0, &n);
    out("fd_write(1, 0 iovecs) -> %u nwritten=%u", e, n);

    n = 12345;
    out("fd_write(9, ...) -> %u", __wasi_fd_write(9, &ciov, 1, &n));

    uint8_t buf[8];
    __wasi_iovec_t iov = {.buf = buf, .buf_len = sizeof buf};
    out("fd_read(9, ...) -> %u", __wasi_fd_read(9, &iov, 1, &n));
    out("fd_read(1, ...) -> %u", __wasi_fd_read(1, &iov, 1, &n));
}

static void probe_fd_ops(void) {
    __wasi_filesize_t pos = 0;
    out("fd_seek(1, 0, CUR) -> %u", __wasi_fd_seek(1, 0, __WASI_WHENCE_CUR, &pos));
    out("fd_seek(99, 0, SET) -> %u", __wasi_fd_seek(99, 0, __WASI_WHENCE_SET, &pos));
    out("fd_tell(1) -> %u", __wasi_fd_tell(1, &pos));
    out("fd_tell(99) -> %u", __wasi_fd_tell(99, &pos));
    out("fd_sync(1) -> %u", __wasi_fd_sync(1));
    out("fd_datasync(1) -> %u", __wasi_fd_datasync(1));
    out("fd_advise(1, 0, 0, NORMAL) -> %u",
        __wasi_fd_advise(1, 0, 0, __WASI_ADVICE_NORMAL));
    out("fd_allocate(1, 0, 1) -> %u", __wasi_fd_allocate(1, 0, 1));
    out("fd_close(99) -> %u", __wasi_fd_close(99));
    out("fd_renumber(99, 98) -> %u", __wasi_fd_renumber(99, 98));

    __wasi_fd_t opened = 12345;
    out("path_open(3, \"x\") -> %u",
        __wasi_path_open(3, 0, "x", 0, __WASI_RIGHTS_FD_READ, 0, 0, &opened));
    out("path_open(1, \"x\") -> %u",
        __wasi_path_open(1, 0, "x", 0, __WASI_RIGHTS_FD_READ, 0, 0, &opened));
}

int main(void) {
    out("p1probe: start");
    probe_sizes();
    probe_clocks();
    probe_random_sched();
    probe_poll();
    probe_fdstat();
    probe_prestat();
    probe_io();
    probe_fd_ops();
    out("p1probe: done");
    return 0;
}
