/*
 * calc: a word calculator (a tiny stack language) reading its program from stdin. The target
 * of `wasm-rr fuzz --dict`: its planted bug sits behind a keyword that blind mutation does not
 * find, and a dictionary of the language's words does.
 *
 * Usage: calc < PROGRAM
 *
 * A program is a sequence of words; anything that is not a letter or a digit separates them.
 * A run of digits pushes a number (u32, wrapping); a run of letters is a command:
 *   add sub mul    pop two values, push the result (wrapping)
 *   dup drop swap  the usual stack words
 *   print          pop a value and print it
 *   begin          open a transaction: save the stack (at most 8 open at once)
 *   commit         close the innermost transaction, keeping the stack as it is
 *   rollback       close the innermost transaction, putting back the stack it saved
 * The stack holds at most 64 values. At the end: "calc: N words, depth D" on stdout, exit 0.
 * An error (an unknown word, too few values, a full stack, commit outside a transaction...) is
 * "calc: <why> at byte <offset>" on stderr and exit status 1.
 *
 * The planted bug: `commit` checks that a transaction is open, `rollback` does not. A rollback
 * outside any transaction pops an empty savepoint stack, which the checked pop catches:
 * `unreachable` in savepoint_pop (as an assert would abort).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAX_INPUT 65536
#define STACK_MAX 64
#define SAVE_MAX 8

static unsigned char input[MAX_INPUT];

struct stack {
    uint32_t values[STACK_MAX];
    size_t depth;
};

static struct stack stack;
static struct stack saved[SAVE_MAX];
static size_t nsaved;

enum word { ADD, SUB, MUL, DUP, DROP, SWAP, PRINT, BEGIN, COMMIT, ROLLBACK, UNKNOWN };

static const char *const WORDS[] = {"add",   "sub",   "mul",    "dup",     "drop",
                                    "swap",  "print", "begin",  "commit",  "rollback"};

/* A checked pop of the savepoint stack: traps instead of reading before its start. */
__attribute__((noinline)) static struct stack *savepoint_pop(void) {
    if (nsaved == 0) {
        __builtin_trap();
    }
    return &saved[--nsaved];
}

static int fail(const char *why, size_t at) {
    fprintf(stderr, "calc: %s at byte %zu\n", why, at);
    return 1;
}

static enum word lookup(const unsigned char *w, size_t n) {
    for (size_t i = 0; i < sizeof WORDS / sizeof WORDS[0]; i++) {
        if (strlen(WORDS[i]) == n && memcmp(WORDS[i], w, n) == 0) {
            return (enum word)i;
        }
    }
    return UNKNOWN;
}

static int is_letter(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static int push(uint32_t v, size_t at) {
    if (stack.depth == STACK_MAX) {
        return fail("stack full", at);
    }
    stack.values[stack.depth++] = v;
    return 0;
}

/* Runs one command word; 0, or 1 after an error message. */
__attribute__((noinline)) static int command(enum word w, size_t at) {
    static const size_t needs[] = {2, 2, 2, 1, 1, 2, 1, 0, 0, 0};
    if (w == UNKNOWN) {
        return fail("unknown word", at);
    }
    if (stack.depth < needs[w]) {
        return fail("too few values", at);
    }
    uint32_t *top = stack.values + stack.depth;
    switch (w) {
    case ADD:
        top[-2] += top[-1];
        stack.depth--;
        break;
    case SUB:
        top[-2] -= top[-1];
        stack.depth--;
        break;
    case MUL:
        top[-2] *= top[-1];
        stack.depth--;
        break;
    case DUP:
        return push(top[-1], at);
    case DROP:
        stack.depth--;
        break;
    case SWAP: {
        uint32_t t = top[-1];
        top[-1] = top[-2];
        top[-2] = t;
        break;
    }
    case PRINT:
        printf("%u\n", top[-1]);
        stack.depth--;
        break;
    case BEGIN:
        if (nsaved == SAVE_MAX) {
            return fail("too many open transactions", at);
        }
        saved[nsaved++] = stack;
        break;
    case COMMIT:
        if (nsaved == 0) {
            return fail("commit outside a transaction", at);
        }
        nsaved--;
        break;
    case ROLLBACK:
        /* the bug: no check that a transaction is open, as commit has */
        stack = *savepoint_pop();
        break;
    case UNKNOWN:
        break;
    }
    return 0;
}

int main(void) {
    size_t n = 0;
    for (;;) {
        ssize_t got = read(0, input + n, MAX_INPUT - n);
        if (got < 0) {
            fprintf(stderr, "calc: read error\n");
            return 1;
        }
        if (got == 0 || (n += (size_t)got) == MAX_INPUT) {
            break;
        }
    }
    size_t words = 0;
    size_t at = 0;
    while (at < n) {
        size_t start = at;
        if (is_digit(input[at])) {
            uint32_t v = 0;
            while (at < n && is_digit(input[at])) {
                v = v * 10 + (uint32_t)(input[at++] - '0');
            }
            if (push(v, start) != 0) {
                return 1;
            }
            words++;
        } else if (is_letter(input[at])) {
            while (at < n && is_letter(input[at])) {
                at++;
            }
            if (command(lookup(input + start, at - start), start) != 0) {
                return 1;
            }
            words++;
        } else {
            at++;
        }
    }
    printf("calc: %zu words, depth %zu\n", words, stack.depth);
    return 0;
}
