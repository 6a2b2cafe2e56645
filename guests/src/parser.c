/*
 * parser: reads one RREC file (a tiny record format) and prints a summary. The fuzzing
 * target of `wasm-rr fuzz`, with two planted bugs.
 *
 * Usage: parser [PATH]     (stdin when no PATH, or PATH is "-")
 *
 * Format:
 *   "RREC"                       magic
 *   u8 version                   must be 1
 *   records, each: u8 type, u8 len, len bytes of payload
 *     'N' name       len <= 31, printable
 *     'V' value      len == 4, u32 little-endian, added to the sum
 *     'D' divisor    len == 1: the sum is divided by it ("avg")
 *     'X' extension  up to EXT_MAX bytes, kept as hex
 *     'E' end        len == 1: the checksum, the sum of every byte before this record's type
 *                    byte, mod 256; nothing may follow
 *
 * Prints "name=<name> values=<n> sum=<sum> avg=<avg> ext=<hex>" and exits 0; a malformed file
 * is one line on stderr ("parser: <why> at byte <offset>") and exit status 1.
 *
 * The planted bugs, both reached only by well-formed prefixes:
 *   1. EXT_MAX (16) is not the size of the extension buffer (8): an 'X' record with 9..16 bytes
 *      overflows it, which the checked copy catches: `unreachable` in memcpy_chk (as a
 *      _FORTIFY_SOURCE build aborts in __memcpy_chk).
 *   2. A 'D' record with divisor 0 divides by zero: `integer divide by zero` in apply_divisor.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAX_INPUT 65536
#define EXT_MAX 16 /* bug 1: should be sizeof(ext), 8 */

static unsigned char input[MAX_INPUT];

struct summary {
    char name[32];
    unsigned values;
    uint32_t sum;
    uint32_t avg;
    unsigned char ext[8];
    size_t ext_len;
};

/* A fortified copy: traps instead of writing past the end of dst. */
__attribute__((noinline)) static void memcpy_chk(void *dst, const void *src, size_t n,
                                                 size_t dst_size) {
    if (n > dst_size) {
        __builtin_trap();
    }
    memcpy(dst, src, n);
}

__attribute__((noinline)) static uint32_t apply_divisor(uint32_t sum, uint32_t divisor) {
    return sum / divisor; /* bug 2: divisor 0 is not rejected */
}

static int fail(const char *why, size_t at) {
    fprintf(stderr, "parser: %s at byte %zu\n", why, at);
    return 1;
}

__attribute__((noinline)) static int parse(const unsigned char *p, size_t n, struct summary *s) {
    if (n < 5 || memcmp(p, "RREC", 4) != 0) {
        return fail("bad magic", 0);
    }
    if (p[4] != 1) {
        return fail("unsupported version", 4);
    }
    size_t at = 5;
    unsigned checksum = 0;
    for (size_t i = 0; i < at; i++) {
        checksum += p[i];
    }
    for (;;) {
        if (at == n) {
            return fail("missing end record", at);
        }
        if (n - at < 2) {
            return fail("truncated record header", at);
        }
        unsigned char type = p[at];
        size_t len = p[at + 1];
        const unsigned char *body = p + at + 2;
        if (n - at - 2 < len) {
            return fail("truncated record", at);
        }
        switch (type) {
        case 'N':
            if (len > 31) {
                return fail("name too long", at);
            }
            for (size_t i = 0; i < len; i++) {
                if (body[i] < 0x20 || body[i] > 0x7e) {
                    return fail("unprintable name", at + 2 + i);
                }
            }
            memcpy(s->name, body, len);
            s->name[len] = '\0';
            break;
        case 'V':
            if (len != 4) {
                return fail("value is not 4 bytes", at);
            }
            s->sum += (uint32_t)body[0] | (uint32_t)body[1] << 8 | (uint32_t)body[2] << 16 |
                      (uint32_t)body[3] << 24;
            s->values++;
            break;
        case 'D':
            if (len != 1) {
                return fail("divisor is not 1 byte", at);
            }
            s->avg = apply_divisor(s->sum, body[0]);
            break;
        case 'X':
            if (len > EXT_MAX) {
                return fail("extension too long", at);
            }
            memcpy_chk(s->ext, body, len, sizeof(s->ext));
            s->ext_len = len;
            break;
        case 'E':
            if (len != 1) {
                return fail("end record is not 1 byte", at);
            }
            if ((checksum & 0xff) != body[0]) {
                return fail("bad checksum", at);
            }
            if (at + 3 != n) {
                return fail("data after the end record", at + 3);
            }
            return 0;
        default:
            return fail("unknown record type", at);
        }
        for (size_t i = 0; i < len + 2; i++) {
            checksum += p[at + i];
        }
        at += len + 2;
    }
}

int main(int argc, char **argv) {
    int fd = 0;
    if (argc > 1 && strcmp(argv[1], "-") != 0) {
        fd = open(argv[1], O_RDONLY);
        if (fd < 0) {
            fprintf(stderr, "parser: cannot open %s\n", argv[1]);
            return 1;
        }
    }
    size_t n = 0;
    for (;;) {
        ssize_t got = read(fd, input + n, MAX_INPUT - n);
        if (got < 0) {
            fprintf(stderr, "parser: read error\n");
            return 1;
        }
        if (got == 0 || (n += (size_t)got) == MAX_INPUT) {
            break;
        }
    }
    struct summary s;
    memset(&s, 0, sizeof s);
    if (parse(input, n, &s) != 0) {
        return 1;
    }
    printf("name=%s values=%u sum=%u avg=%u ext=", s.name, s.values, s.sum, s.avg);
    for (size_t i = 0; i < s.ext_len; i++) {
        printf("%02x", s.ext[i]);
    }
    printf("\n");
    return 0;
}
