"""The runtime library, in WebAssembly text, linked into every compiled program.

Values are pairs ``(tag i32, payload i64)``: nil (0, 0), bool (1, 0|1), int (2, the int),
str (3, address), bytes (4, address), list (5, address). A str or bytes object is
``[len u32][bytes]``; a list object is ``[len u32][cap u32][data u32]`` with ``data`` pointing
at ``cap`` 16-byte slots ``[tag u32][pad][payload u64]``. Memory is a bump heap (no collector).

Memory layout (addresses are fixed; ``SITE_ADDR`` is the contract with wasm-rr)::

    0..15     runtime header; the i32 at 8 is the site register
    16..39    iovecs          40..47  i32 out-parameters    48..55  u64 out-parameter
    64..95    integer formatting
    96..143   poll_oneoff subscription   144..175 its event    176..183 prestat
    192..223  proc.run's result (result<output, error-code>, written by the host), and
              http.get / http.post's (result<response, error>, 24 bytes)
    256..511  the runtime error message buffer
    512..     static data (string literals and runtime strings), then the heap

Templates use three placeholders, expanded by :func:`assemble`:
``{E:k}`` raise error *k* of the operation whose runtime function this is (``{E:$fn:k}`` names
the function), ``{M:k}`` the address of that error's message, ``{S:NAME}`` a static string.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from .builtins import FUNCTIONS, HTTP_ERROR_CODES, MODULES, OPERATORS, Op

SITE_ADDR = 8
DATA_START = 512
_REPORT_BUF = 256
PROC_RESULT = 192
_REPORT_MAX = 256

TAG_NIL, TAG_BOOL, TAG_INT, TAG_STR, TAG_BYTES, TAG_LIST = range(6)

STATICS: dict[str, bytes] = {
    "EMPTY": b"",
    "NL": b"\n",
    "TRUE": b"true",
    "FALSE": b"false",
    "NIL": b"nil",
    "EMPTY_LIST": b"[]",
    "QUOTE": b'"',
    "BQUOTE": b'b"',
    "DOT": b".",
    "PREFIX": b"tape: runtime error: ",
    "OOM": b"out of memory",
    "GET": b"GET",
    "POST": b"POST",
    **{f"HTTP_{k}": code.encode() for k, code in enumerate(HTTP_ERROR_CODES)},
}

OPS_BY_FUNC: dict[str, Op] = {
    op.func: op
    for op in [*FUNCTIONS.values(), *OPERATORS.values()]
    + [op for m in MODULES.values() for op in m.values()]
}

# The fs functions share $rt.find_preopen, which raises fs.read's error 1 (the same error, at
# the same offset, as fs.write's).
assert MODULES["fs"]["read"].errors[1] is MODULES["fs"]["write"].errors[1]

_W = "wasi_snapshot_preview1"

# ---- the pieces, in output order: imports first --------------------------------------------------

_IMPORTS = [
    ("fd_write", "i32 i32 i32 i32", "i32"),
    ("fd_read", "i32 i32 i32 i32", "i32"),
    ("fd_close", "i32", "i32"),
    ("fd_prestat_get", "i32 i32", "i32"),
    ("fd_prestat_dir_name", "i32 i32 i32", "i32"),
    ("path_open", "i32 i32 i32 i32 i32 i64 i64 i32 i32", "i32"),
    ("environ_sizes_get", "i32 i32", "i32"),
    ("environ_get", "i32 i32", "i32"),
    ("args_sizes_get", "i32 i32", "i32"),
    ("args_get", "i32 i32", "i32"),
    ("clock_time_get", "i32 i64 i32", "i32"),
    ("random_get", "i32 i32", "i32"),
    ("poll_oneoff", "i32 i32 i32 i32", "i32"),
    ("proc_exit", "i32", ""),
]

IMPORTS = [
    f'(import "{_W}" "{name}" (func $wasi.{name} (param {params})'
    + (f" (result {result})" if result else "")
    + "))"
    for name, params, result in _IMPORTS
]

# wasm-rr's process family (wit/process.wit): the canonical-ABI lowering of `run`. Params:
# program, args ({ptr, len} pairs), cwd, env ({ptr, len} pairs), stdin (each ptr, len), the
# timeout in ms, and the address where the host writes the 32-byte result<output, error-code>.
PROCESS_MODULE = "wasm-rr:process/process@0.1.0"
_RUN_PARAMS = " ".join(["i32"] * 10 + ["i64", "i32"])
IMPORTS.append(f'(import "{PROCESS_MODULE}" "run" (func $process.run (param {_RUN_PARAMS})))')

# wasm-rr's http family (wit/http.wit): the canonical-ABI lowering of `send`. Params: method,
# url, headers ({name ptr, len, value ptr, len} elements), body (each ptr, len), the timeout in
# ms, and the address where the host writes the 24-byte result<response, error>.
HTTP_MODULE = "wasm-rr:http/client@0.1.0"
_SEND_PARAMS = " ".join(["i32"] * 8 + ["i64", "i32"])
IMPORTS.append(f'(import "{HTTP_MODULE}" "send" (func $http.send (param {_SEND_PARAMS})))')
HTTP_RESULT = PROC_RESULT  # 24 of its 32 bytes; one host call at a time

_V2 = "(param $at i32) (param $a i64) (param $bt i32) (param $b i64)"
_INTS = (
    "(if (i32.or (i32.ne (local.get $at) (i32.const 2)) (i32.ne (local.get $bt) (i32.const 2)))"
    " (then {E:0}))"
)
_SITE = "(i32.store (i32.const 8) (local.get $site))"


def _arith(name: str, body: str) -> str:
    return f"""(func $rt.{name} {_V2} (param $site i32) (result i32 i64)
  {_INTS}
  {body})"""


def _compare(name: str, test: str) -> str:
    return f"""(func $rt.{name} {_V2} (param $site i32) (result i32)
  ({test} (call $rt.cmp (local.get $at) (local.get $a) (local.get $bt) (local.get $b)
    (local.get $site) (i32.const {{M:0}})) (i32.const 0)))"""


def _cond(name: str) -> str:
    return f"""(func $rt.{name} (param $t i32) (param $p i64) (param $site i32) (result i32)
  (if (i32.ne (local.get $t) (i32.const 1)) (then {{E:0}}))
  (i32.wrap_i64 (local.get $p)))"""


def _http(op: str) -> str:
    """``$rt.http_get`` (url) / ``$rt.http_post`` (url, body): send, then ``[status, body]``;
    an error raises the runtime error naming its code."""
    post = op == "post"
    params = "(param $ut i32) (param $u i64)" + (" (param $bt i32) (param $b i64)" if post else "")
    check = "(i32.ne (local.get $ut) (i32.const 3))"
    if post:
        check = (
            f"(i32.or {check} (i32.and (i32.ne (local.get $bt) (i32.const 3))"
            " (i32.ne (local.get $bt) (i32.const 4))))"
        )
    body = (
        "(i32.add (i32.wrap_i64 (local.get $b)) (i32.const 4))"
        " (i32.load (i32.wrap_i64 (local.get $b)))"
        if post
        else "(i32.const 0) (i32.const 0)"
    )
    n = len(HTTP_ERROR_CODES)
    tests = "\n      ".join(
        f"(if (call $rt.bytes_are (local.get $cp) (local.get $cn) (i32.const {{S:HTTP_{k}}}))"
        f" (then {{E:{k + 1}}}))"
        for k in range(n)
    )
    method = "POST" if post else "GET"
    return f"""(func $rt.http_{op} {params} (param $site i32) (result i32 i64)
  (local $url i32) (local $cp i32) (local $cn i32) (local $out i32)
  (if {check} (then {{E:0}}))
  (local.set $url (i32.wrap_i64 (local.get $u)))
  (memory.fill (i32.const {HTTP_RESULT}) (i32.const 0) (i32.const 24))
  {_SITE}
  (call $http.send (i32.add (i32.const {{S:{method}}}) (i32.const 4)) (i32.const {len(method)})
    (i32.add (local.get $url) (i32.const 4)) (i32.load (local.get $url))
    (i32.const 0) (i32.const 0) {body} (i64.const 0) (i32.const {HTTP_RESULT}))
  (if (i32.load8_u (i32.const {HTTP_RESULT}))
    (then
      (local.set $cp (i32.load offset=4 (i32.const {HTTP_RESULT})))
      (local.set $cn (i32.load offset=8 (i32.const {HTTP_RESULT})))
      {tests}
      {{E:{n + 1}}}))
  (local.set $out (call $rt.list_new (i32.const 2)))
  (call $rt.list_append (local.get $out) (i32.const 2)
    (i64.extend_i32_u (i32.load16_u offset=4 (i32.const {HTTP_RESULT}))))
  (call $rt.list_append (local.get $out) (i32.const 3) (i64.extend_i32_u (call $rt.proc_str
    (i32.load offset=16 (i32.const {HTTP_RESULT})) (i32.load offset=20 (i32.const {HTTP_RESULT})))))
  (i32.const 5) (i64.extend_i32_u (local.get $out)))"""


FUNCS: list[str] = [
    # ---- errors ----------------------------------------------------------------------------
    f"""(func $rt.report (param $site i32) (param $msg i32)
  (local $n i32) (local $m i32)
  (local.set $n (i32.load (i32.const {{S:PREFIX}})))
  (memory.copy (i32.const {_REPORT_BUF}) (i32.add (i32.const {{S:PREFIX}}) (i32.const 4))
    (local.get $n))
  (local.set $m (i32.load (local.get $msg)))
  (memory.copy (i32.add (i32.const {_REPORT_BUF}) (local.get $n))
    (i32.add (local.get $msg) (i32.const 4)) (local.get $m))
  (local.set $n (i32.add (local.get $n) (local.get $m)))
  (i32.store8 (i32.add (i32.const {_REPORT_BUF}) (local.get $n)) (i32.const 10))
  (drop (call $rt.write_all (i32.const 2) (i32.const {_REPORT_BUF})
    (i32.add (local.get $n) (i32.const 1)) (local.get $site))))""",
    """(func $tape_error_out_of_memory
  (call $rt.report (i32.const -1) (i32.const {S:OOM}))
  (unreachable))""",
    # ---- memory ----------------------------------------------------------------------------
    """(func $rt.ensure (param $end i64)
  (local $need i32) (local $have i32) (local $grow i32)
  (if (i64.gt_u (local.get $end) (i64.const 0xFFFF0000)) (then (call $tape_error_out_of_memory)))
  (local.set $need (i32.wrap_i64 (i64.shr_u (i64.add (local.get $end) (i64.const 0xFFFF))
    (i64.const 16))))
  (local.set $have (memory.size))
  (if (i32.gt_u (local.get $need) (local.get $have))
    (then
      (local.set $grow (i32.sub (local.get $need) (local.get $have)))
      (if (i32.lt_u (local.get $grow) (i32.shr_u (local.get $have) (i32.const 1)))
        (then (local.set $grow (i32.shr_u (local.get $have) (i32.const 1)))))
      (if (i32.eq (memory.grow (local.get $grow)) (i32.const -1))
        (then
          (if (i32.eq (memory.grow (i32.sub (local.get $need) (local.get $have))) (i32.const -1))
            (then (call $tape_error_out_of_memory))))))))""",
    """(func $rt.alloc (param $n i32) (result i32)
  (local $p i32) (local $end i64)
  (local.set $p (global.get $rt.heap))
  (local.set $end (i64.and (i64.add (i64.add (i64.extend_i32_u (local.get $p))
    (i64.extend_i32_u (local.get $n))) (i64.const 7)) (i64.const -8)))
  (call $rt.ensure (local.get $end))
  (global.set $rt.heap (i32.wrap_i64 (local.get $end)))
  (local.get $p))""",
    """(func $rt.str_new (param $len i32) (result i32)
  (local $p i32)
  (local.set $p (call $rt.alloc (i32.add (local.get $len) (i32.const 4))))
  (i32.store (local.get $p) (local.get $len))
  (local.get $p))""",
    """(func $rt.mem_eq (param $a i32) (param $b i32) (param $n i32) (result i32)
  (local $i i32)
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (if (i32.ne (i32.load8_u (i32.add (local.get $a) (local.get $i)))
                  (i32.load8_u (i32.add (local.get $b) (local.get $i))))
        (then (return (i32.const 0))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
  (i32.const 1))""",
    """(func $rt.cstr_keep (param $v i32) (param $mark i32) (result i32)
  (local $n i32)
  (block $done
    (loop $next
      (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $v) (local.get $n)))))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $next)))
  (memory.copy (i32.add (local.get $mark) (i32.const 4)) (local.get $v) (local.get $n))
  (i32.store (local.get $mark) (local.get $n))
  (global.set $rt.heap (i32.and (i32.add (i32.add (local.get $mark) (local.get $n))
    (i32.const 11)) (i32.const -8)))
  (local.get $mark))""",
    # ---- strings ---------------------------------------------------------------------------
    """(func $rt.concat (param $a i32) (param $b i32) (result i32)
  (local $la i32) (local $lb i32) (local $p i32)
  (local.set $la (i32.load (local.get $a)))
  (local.set $lb (i32.load (local.get $b)))
  (local.set $p (call $rt.str_new (i32.add (local.get $la) (local.get $lb))))
  (memory.copy (i32.add (local.get $p) (i32.const 4)) (i32.add (local.get $a) (i32.const 4))
    (local.get $la))
  (memory.copy (i32.add (i32.add (local.get $p) (i32.const 4)) (local.get $la))
    (i32.add (local.get $b) (i32.const 4)) (local.get $lb))
  (local.get $p))""",
    """(func $rt.itoa (param $v i64) (result i32)
  (local $u i64) (local $pos i32) (local $n i32) (local $p i32)
  (local.set $u (select (i64.sub (i64.const 0) (local.get $v)) (local.get $v)
    (i64.lt_s (local.get $v) (i64.const 0))))
  (local.set $pos (i32.const 96))
  (loop $digit
    (local.set $pos (i32.sub (local.get $pos) (i32.const 1)))
    (i32.store8 (local.get $pos)
      (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $u) (i64.const 10)))))
    (local.set $u (i64.div_u (local.get $u) (i64.const 10)))
    (br_if $digit (i64.ne (local.get $u) (i64.const 0))))
  (if (i64.lt_s (local.get $v) (i64.const 0))
    (then
      (local.set $pos (i32.sub (local.get $pos) (i32.const 1)))
      (i32.store8 (local.get $pos) (i32.const 45))))
  (local.set $n (i32.sub (i32.const 96) (local.get $pos)))
  (local.set $p (call $rt.str_new (local.get $n)))
  (memory.copy (i32.add (local.get $p) (i32.const 4)) (local.get $pos) (local.get $n))
  (local.get $p))""",
    """(func $rt.to_str (param $t i32) (param $p i64) (result i32)
  (if (i32.eq (local.get $t) (i32.const 2)) (then (return (call $rt.itoa (local.get $p)))))
  (if (i32.or (i32.eq (local.get $t) (i32.const 3)) (i32.eq (local.get $t) (i32.const 4)))
    (then (return (i32.wrap_i64 (local.get $p)))))
  (if (i32.eq (local.get $t) (i32.const 5))
    (then (return (call $rt.list_repr (i32.wrap_i64 (local.get $p))))))
  (if (i32.eq (local.get $t) (i32.const 1))
    (then (return (select (i32.const {S:TRUE}) (i32.const {S:FALSE})
      (i32.wrap_i64 (local.get $p))))))
  (i32.const {S:NIL}))""",
    """(func $rt.repr (param $t i32) (param $p i64) (result i32)
  (if (i32.eq (local.get $t) (i32.const 3))
    (then (return (call $rt.concat (call $rt.concat (i32.const {S:QUOTE})
      (i32.wrap_i64 (local.get $p))) (i32.const {S:QUOTE})))))
  (if (i32.eq (local.get $t) (i32.const 4))
    (then (return (call $rt.concat (call $rt.concat (i32.const {S:BQUOTE})
      (i32.wrap_i64 (local.get $p))) (i32.const {S:QUOTE})))))
  (call $rt.to_str (local.get $t) (local.get $p)))""",
    """(func $rt.list_repr (param $l i32) (result i32)
  (local $n i32) (local $tmp i32) (local $i i32) (local $total i32) (local $out i32)
  (local $pos i32) (local $s i32) (local $e i32) (local $k i32)
  (local.set $n (i32.load (local.get $l)))
  (if (i32.eqz (local.get $n)) (then (return (i32.const {S:EMPTY_LIST}))))
  (local.set $tmp (call $rt.alloc (i32.shl (local.get $n) (i32.const 2))))
  (local.set $total (i32.shl (local.get $n) (i32.const 1)))
  (loop $each
    (local.set $e (i32.add (i32.load offset=8 (local.get $l))
      (i32.shl (local.get $i) (i32.const 4))))
    (local.set $s (call $rt.repr (i32.load (local.get $e)) (i64.load offset=8 (local.get $e))))
    (i32.store (i32.add (local.get $tmp) (i32.shl (local.get $i) (i32.const 2))) (local.get $s))
    (local.set $total (i32.add (local.get $total) (i32.load (local.get $s))))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br_if $each (i32.lt_u (local.get $i) (local.get $n))))
  (local.set $out (call $rt.str_new (local.get $total)))
  (local.set $pos (i32.add (local.get $out) (i32.const 4)))
  (i32.store8 (local.get $pos) (i32.const 91))
  (local.set $pos (i32.add (local.get $pos) (i32.const 1)))
  (local.set $i (i32.const 0))
  (loop $each
    (if (local.get $i)
      (then
        (i32.store16 (local.get $pos) (i32.const 0x202C))
        (local.set $pos (i32.add (local.get $pos) (i32.const 2)))))
    (local.set $s (i32.load (i32.add (local.get $tmp) (i32.shl (local.get $i) (i32.const 2)))))
    (local.set $k (i32.load (local.get $s)))
    (memory.copy (local.get $pos) (i32.add (local.get $s) (i32.const 4)) (local.get $k))
    (local.set $pos (i32.add (local.get $pos) (local.get $k)))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br_if $each (i32.lt_u (local.get $i) (local.get $n))))
  (i32.store8 (local.get $pos) (i32.const 93))
  (local.get $out))""",
    """(func $rt.str_cmp (param $a i32) (param $b i32) (result i32)
  (local $la i32) (local $lb i32) (local $n i32) (local $i i32) (local $x i32) (local $y i32)
  (local.set $la (i32.load (local.get $a)))
  (local.set $lb (i32.load (local.get $b)))
  (local.set $n (select (local.get $la) (local.get $lb)
    (i32.lt_u (local.get $la) (local.get $lb))))
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $x (i32.load8_u offset=4 (i32.add (local.get $a) (local.get $i))))
      (local.set $y (i32.load8_u offset=4 (i32.add (local.get $b) (local.get $i))))
      (if (i32.ne (local.get $x) (local.get $y))
        (then (return (select (i32.const -1) (i32.const 1)
          (i32.lt_u (local.get $x) (local.get $y))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
  (i32.sub (i32.gt_u (local.get $la) (local.get $lb))
    (i32.lt_u (local.get $la) (local.get $lb))))""",
    # ---- equality and comparison -----------------------------------------------------------
    """(func $rt.eq (param $at i32) (param $a i64) (param $bt i32) (param $b i64) (result i32)
  (if (i32.ne (local.get $at) (local.get $bt)) (then (return (i32.const 0))))
  (if (i32.or (i32.eq (local.get $at) (i32.const 3)) (i32.eq (local.get $at) (i32.const 4)))
    (then (return (i32.eqz (call $rt.str_cmp (i32.wrap_i64 (local.get $a))
      (i32.wrap_i64 (local.get $b)))))))
  (if (i32.eq (local.get $at) (i32.const 5))
    (then (return (call $rt.list_eq (i32.wrap_i64 (local.get $a))
      (i32.wrap_i64 (local.get $b))))))
  (i64.eq (local.get $a) (local.get $b)))""",
    """(func $rt.list_eq (param $a i32) (param $b i32) (result i32)
  (local $n i32) (local $i i32) (local $x i32) (local $y i32)
  (if (i32.eq (local.get $a) (local.get $b)) (then (return (i32.const 1))))
  (local.set $n (i32.load (local.get $a)))
  (if (i32.ne (local.get $n) (i32.load (local.get $b))) (then (return (i32.const 0))))
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $x (i32.add (i32.load offset=8 (local.get $a))
        (i32.shl (local.get $i) (i32.const 4))))
      (local.set $y (i32.add (i32.load offset=8 (local.get $b))
        (i32.shl (local.get $i) (i32.const 4))))
      (if (i32.eqz (call $rt.eq (i32.load (local.get $x)) (i64.load offset=8 (local.get $x))
                                (i32.load (local.get $y)) (i64.load offset=8 (local.get $y))))
        (then (return (i32.const 0))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
  (i32.const 1))""",
    f"""(func $rt.cmp {_V2} (param $site i32) (param $msg i32) (result i32)
  (if (i32.ne (local.get $at) (local.get $bt))
    (then (call $tape_error_type_error (local.get $site) (local.get $msg))))
  (if (i32.eq (local.get $at) (i32.const 2))
    (then (return (i32.sub (i64.gt_s (local.get $a) (local.get $b))
      (i64.lt_s (local.get $a) (local.get $b))))))
  (if (i32.or (i32.eq (local.get $at) (i32.const 3)) (i32.eq (local.get $at) (i32.const 4)))
    (then (return (call $rt.str_cmp (i32.wrap_i64 (local.get $a))
      (i32.wrap_i64 (local.get $b))))))
  (call $tape_error_type_error (local.get $site) (local.get $msg))
  (unreachable))""",
    _compare("lt", "i32.lt_s"),
    _compare("le", "i32.le_s"),
    _compare("gt", "i32.gt_s"),
    _compare("ge", "i32.ge_s"),
    _cond("cond"),
    _cond("cond_and"),
    _cond("cond_or"),
    _cond("cond_not"),
    """(func $rt.range_check (param $at i32) (param $bt i32) (param $site i32)
  (if (i32.or (i32.ne (local.get $at) (i32.const 2)) (i32.ne (local.get $bt) (i32.const 2)))
    (then {E:0})))""",
    # ---- arithmetic ------------------------------------------------------------------------
    f"""(func $rt.add {_V2} (param $site i32) (result i32 i64)
  (if (i32.ne (local.get $at) (local.get $bt)) (then {{E:0}}))
  (if (i32.eq (local.get $at) (i32.const 2))
    (then (return (i32.const 2) (i64.add (local.get $a) (local.get $b)))))
  (if (i32.or (i32.eq (local.get $at) (i32.const 3)) (i32.eq (local.get $at) (i32.const 4)))
    (then (return (local.get $at) (i64.extend_i32_u (call $rt.concat
      (i32.wrap_i64 (local.get $a)) (i32.wrap_i64 (local.get $b)))))))
  {{E:0}}
  (unreachable))""",
    _arith("sub", "(i32.const 2) (i64.sub (local.get $a) (local.get $b))"),
    _arith("mul", "(i32.const 2) (i64.mul (local.get $a) (local.get $b))"),
    _arith(
        "div",
        """(if (i64.eqz (local.get $b)) (then {E:1}))
  (if (i64.eq (local.get $b) (i64.const -1))
    (then (return (i32.const 2) (i64.sub (i64.const 0) (local.get $a)))))
  (i32.const 2) (i64.div_s (local.get $a) (local.get $b))""",
    ),
    _arith(
        "mod",
        """(if (i64.eqz (local.get $b)) (then {E:1}))
  (if (i64.eq (local.get $b) (i64.const -1)) (then (return (i32.const 2) (i64.const 0))))
  (i32.const 2) (i64.rem_s (local.get $a) (local.get $b))""",
    ),
    """(func $rt.neg (param $at i32) (param $a i64) (param $site i32) (result i32 i64)
  (if (i32.ne (local.get $at) (i32.const 2)) (then {E:0}))
  (i32.const 2) (i64.sub (i64.const 0) (local.get $a)))""",
    # ---- lists -----------------------------------------------------------------------------
    """(func $rt.list_new (param $cap i32) (result i32)
  (local $l i32)
  (if (i32.lt_u (local.get $cap) (i32.const 4)) (then (local.set $cap (i32.const 4))))
  (local.set $l (call $rt.alloc (i32.const 12)))
  (i32.store (local.get $l) (i32.const 0))
  (i32.store offset=4 (local.get $l) (local.get $cap))
  (i32.store offset=8 (local.get $l) (call $rt.alloc (i32.shl (local.get $cap) (i32.const 4))))
  (local.get $l))""",
    """(func $rt.list_append (param $l i32) (param $t i32) (param $v i64)
  (local $n i32) (local $data i32) (local $e i32)
  (local.set $n (i32.load (local.get $l)))
  (if (i32.eq (local.get $n) (i32.load offset=4 (local.get $l)))
    (then
      (local.set $data (call $rt.alloc (i32.shl (local.get $n) (i32.const 5))))
      (memory.copy (local.get $data) (i32.load offset=8 (local.get $l))
        (i32.shl (local.get $n) (i32.const 4)))
      (i32.store offset=4 (local.get $l) (i32.shl (local.get $n) (i32.const 1)))
      (i32.store offset=8 (local.get $l) (local.get $data))))
  (local.set $e (i32.add (i32.load offset=8 (local.get $l)) (i32.shl (local.get $n) (i32.const 4))))
  (i32.store (local.get $e) (local.get $t))
  (i64.store offset=8 (local.get $e) (local.get $v))
  (i32.store (local.get $l) (i32.add (local.get $n) (i32.const 1))))""",
    """(func $rt.index (param $lt i32) (param $l i64) (param $it i32) (param $i i64)
  (param $site i32) (result i32 i64)
  (local $p i32) (local $e i32)
  (if (i32.or (i32.ne (local.get $lt) (i32.const 5)) (i32.ne (local.get $it) (i32.const 2)))
    (then {E:0}))
  (local.set $p (i32.wrap_i64 (local.get $l)))
  (if (i64.ge_u (local.get $i) (i64.extend_i32_u (i32.load (local.get $p)))) (then {E:1}))
  (local.set $e (i32.add (i32.load offset=8 (local.get $p))
    (i32.shl (i32.wrap_i64 (local.get $i)) (i32.const 4))))
  (i32.load (local.get $e)) (i64.load offset=8 (local.get $e)))""",
    """(func $rt.index_set (param $lt i32) (param $l i64) (param $it i32) (param $i i64)
  (param $t i32) (param $v i64) (param $site i32)
  (local $p i32) (local $e i32)
  (if (i32.or (i32.ne (local.get $lt) (i32.const 5)) (i32.ne (local.get $it) (i32.const 2)))
    (then {E:0}))
  (local.set $p (i32.wrap_i64 (local.get $l)))
  (if (i64.ge_u (local.get $i) (i64.extend_i32_u (i32.load (local.get $p)))) (then {E:1}))
  (local.set $e (i32.add (i32.load offset=8 (local.get $p))
    (i32.shl (i32.wrap_i64 (local.get $i)) (i32.const 4))))
  (i32.store (local.get $e) (local.get $t))
  (i64.store offset=8 (local.get $e) (local.get $v)))""",
    # ---- builtin functions -----------------------------------------------------------------
    """(func $rt.str (param $t i32) (param $p i64) (result i32 i64)
  (i32.const 3) (i64.extend_i32_u (call $rt.to_str (local.get $t) (local.get $p))))""",
    """(func $rt.len (param $t i32) (param $p i64) (param $site i32) (result i32 i64)
  (if (i32.or (i32.lt_u (local.get $t) (i32.const 3)) (i32.gt_u (local.get $t) (i32.const 5)))
    (then {E:0}))
  (i32.const 2) (i64.extend_i32_u (i32.load (i32.wrap_i64 (local.get $p)))))""",
    """(func $rt.byte_at (param $st i32) (param $s i64) (param $it i32) (param $i i64)
  (param $site i32) (result i32 i64)
  (local $p i32)
  (if (i32.or (i32.or (i32.lt_u (local.get $st) (i32.const 3)) (i32.gt_u (local.get $st)
    (i32.const 4))) (i32.ne (local.get $it) (i32.const 2))) (then {E:0}))
  (local.set $p (i32.wrap_i64 (local.get $s)))
  (if (i64.ge_u (local.get $i) (i64.extend_i32_u (i32.load (local.get $p)))) (then {E:1}))
  (i32.const 2)
  (i64.load8_u offset=4 (i32.add (local.get $p) (i32.wrap_i64 (local.get $i)))))""",
    """(func $rt.push (param $lt i32) (param $l i64) (param $t i32) (param $v i64) (param $site i32)
  (result i32 i64)
  (if (i32.ne (local.get $lt) (i32.const 5)) (then {E:0}))
  (call $rt.list_append (i32.wrap_i64 (local.get $l)) (local.get $t) (local.get $v))
  (i32.const 0) (i64.const 0))""",
    """(func $rt.is_space (param $c i32) (result i32)
  (i32.or (i32.eq (local.get $c) (i32.const 32))
    (i32.lt_u (i32.sub (local.get $c) (i32.const 9)) (i32.const 5))))""",
    """(func $rt.int (param $t i32) (param $p i64) (param $site i32) (result i32 i64)
  (local $s i32) (local $n i32) (local $i i32) (local $neg i32) (local $c i32)
  (local $acc i64) (local $d i64) (local $limit i64)
  (if (i32.or (i32.eq (local.get $t) (i32.const 1)) (i32.eq (local.get $t) (i32.const 2)))
    (then (return (i32.const 2) (local.get $p))))
  (if (i32.or (i32.lt_u (local.get $t) (i32.const 3)) (i32.gt_u (local.get $t) (i32.const 4)))
    (then {E:0}))
  (local.set $s (i32.add (i32.wrap_i64 (local.get $p)) (i32.const 4)))
  (local.set $n (i32.load (i32.wrap_i64 (local.get $p))))
  (block $done
    (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      (br_if $done (i32.eqz (call $rt.is_space (i32.load8_u (local.get $s)))))
      (local.set $s (i32.add (local.get $s) (i32.const 1)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
  (block $done
    (loop $next
      (br_if $done (i32.eqz (local.get $n)))
      (br_if $done (i32.eqz (call $rt.is_space (i32.load8_u
        (i32.add (local.get $s) (i32.sub (local.get $n) (i32.const 1)))))))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $next)))
  (if (local.get $n)
    (then
      (local.set $c (i32.load8_u (local.get $s)))
      (if (i32.eq (local.get $c) (i32.const 45))
        (then (local.set $neg (i32.const 1)) (local.set $i (i32.const 1))))
      (if (i32.eq (local.get $c) (i32.const 43)) (then (local.set $i (i32.const 1))))))
  (if (i32.ge_u (local.get $i) (local.get $n)) (then {E:1}))
  (local.set $limit (i64.add (i64.const 0x7FFFFFFFFFFFFFFF) (i64.extend_i32_u (local.get $neg))))
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $d (i64.extend_i32_u (i32.sub (i32.load8_u (i32.add (local.get $s)
        (local.get $i))) (i32.const 48))))
      (if (i64.gt_u (local.get $d) (i64.const 9)) (then {E:1}))
      (if (i64.gt_u (local.get $acc) (i64.div_u (i64.sub (local.get $limit) (local.get $d))
        (i64.const 10))) (then {E:1}))
      (local.set $acc (i64.add (i64.mul (local.get $acc) (i64.const 10)) (local.get $d)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
  (i32.const 2)
  (select (i64.sub (i64.const 0) (local.get $acc)) (local.get $acc) (local.get $neg)))""",
    # ---- effects ---------------------------------------------------------------------------
    """(func $rt.write_all (param $fd i32) (param $buf i32) (param $len i32) (param $site i32)
  (result i32)
  (local $e i32) (local $n i32)
  (block $done
    (loop $more
      (br_if $done (i32.eqz (local.get $len)))
      (i32.store (i32.const 16) (local.get $buf))
      (i32.store (i32.const 20) (local.get $len))
      (i32.store (i32.const 8) (local.get $site))
      (local.set $e (call $wasi.fd_write (local.get $fd) (i32.const 16) (i32.const 1)
        (i32.const 40)))
      (br_if $done (local.get $e))
      (local.set $n (i32.load (i32.const 40)))
      (if (i32.eqz (local.get $n)) (then (local.set $e (i32.const 29)) (br $done)))
      (local.set $buf (i32.add (local.get $buf) (local.get $n)))
      (local.set $len (i32.sub (local.get $len) (local.get $n)))
      (br $more)))
  (local.get $e))""",
    """(func $rt.print (param $t i32) (param $p i64) (param $site i32) (result i32 i64)
  (local $mark i32) (local $s i32)
  (local.set $mark (global.get $rt.heap))
  (local.set $s (call $rt.concat (call $rt.to_str (local.get $t) (local.get $p))
    (i32.const {S:NL})))
  (drop (call $rt.write_all (i32.const 1) (i32.add (local.get $s) (i32.const 4))
    (i32.load (local.get $s)) (local.get $site)))
  (global.set $rt.heap (local.get $mark))
  (i32.const 0) (i64.const 0))""",
    """(func $rt.write (param $t i32) (param $p i64) (param $site i32) (result i32 i64)
  (local $mark i32) (local $s i32)
  (local.set $mark (global.get $rt.heap))
  (local.set $s (call $rt.to_str (local.get $t) (local.get $p)))
  (drop (call $rt.write_all (i32.const 1) (i32.add (local.get $s) (i32.const 4))
    (i32.load (local.get $s)) (local.get $site)))
  (global.set $rt.heap (local.get $mark))
  (i32.const 0) (i64.const 0))""",
    f"""(func $rt.env_get (param $t i32) (param $p i64) (param $site i32) (result i32 i64)
  (local $name i32) (local $nlen i32) (local $count i32) (local $ptrs i32) (local $buf i32)
  (local $mark i32) (local $i i32) (local $e i32)
  (if (i32.ne (local.get $t) (i32.const 3)) (then {{E:0}}))
  (local.set $name (i32.wrap_i64 (local.get $p)))
  (local.set $nlen (i32.load (local.get $name)))
  {_SITE}
  (if (call $wasi.environ_sizes_get (i32.const 40) (i32.const 44))
    (then (return (i32.const 3) (i64.const {{S:EMPTY}}))))
  (local.set $count (i32.load (i32.const 40)))
  (local.set $mark (global.get $rt.heap))
  (local.set $ptrs (call $rt.alloc (i32.add (i32.shl (local.get $count) (i32.const 2))
    (i32.const 4))))
  (local.set $buf (call $rt.alloc (i32.load (i32.const 44))))
  {_SITE}
  (if (call $wasi.environ_get (local.get $ptrs) (local.get $buf))
    (then
      (global.set $rt.heap (local.get $mark))
      (return (i32.const 3) (i64.const {{S:EMPTY}}))))
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
      (local.set $e (i32.load (i32.add (local.get $ptrs) (i32.shl (local.get $i) (i32.const 2)))))
      (if (call $rt.mem_eq (local.get $e) (i32.add (local.get $name) (i32.const 4))
            (local.get $nlen))
        (then
          (if (i32.eq (i32.load8_u (i32.add (local.get $e) (local.get $nlen))) (i32.const 61))
            (then (return (i32.const 3) (i64.extend_i32_u (call $rt.cstr_keep
              (i32.add (i32.add (local.get $e) (local.get $nlen)) (i32.const 1))
              (local.get $mark))))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
  (global.set $rt.heap (local.get $mark))
  (i32.const 3) (i64.const {{S:EMPTY}}))""",
    f"""(func $rt.args_get (param $t i32) (param $p i64) (param $site i32) (result i32 i64)
  (local $count i32) (local $ptrs i32) (local $buf i32) (local $mark i32)
  (if (i32.ne (local.get $t) (i32.const 2)) (then {{E:0}}))
  {_SITE}
  (if (call $wasi.args_sizes_get (i32.const 40) (i32.const 44))
    (then (return (i32.const 3) (i64.const {{S:EMPTY}}))))
  (local.set $count (i32.load (i32.const 40)))
  (if (i64.ge_u (local.get $p) (i64.extend_i32_u (local.get $count)))
    (then (return (i32.const 3) (i64.const {{S:EMPTY}}))))
  (local.set $mark (global.get $rt.heap))
  (local.set $ptrs (call $rt.alloc (i32.add (i32.shl (local.get $count) (i32.const 2))
    (i32.const 4))))
  (local.set $buf (call $rt.alloc (i32.load (i32.const 44))))
  {_SITE}
  (if (call $wasi.args_get (local.get $ptrs) (local.get $buf))
    (then
      (global.set $rt.heap (local.get $mark))
      (return (i32.const 3) (i64.const {{S:EMPTY}}))))
  (i32.const 3)
  (i64.extend_i32_u (call $rt.cstr_keep (i32.load (i32.add (local.get $ptrs)
    (i32.shl (i32.wrap_i64 (local.get $p)) (i32.const 2)))) (local.get $mark))))""",
    f"""(func $rt.args_count (param $site i32) (result i32 i64)
  (i32.store (i32.const 40) (i32.const 0))
  {_SITE}
  (drop (call $wasi.args_sizes_get (i32.const 40) (i32.const 44)))
  (i32.const 2) (i64.extend_i32_u (i32.load (i32.const 40))))""",
    f"""(func $rt.clock_now (param $site i32) (result i32 i64)
  (i64.store (i32.const 48) (i64.const 0))
  {_SITE}
  (drop (call $wasi.clock_time_get (i32.const 0) (i64.const 1) (i32.const 48)))
  (i32.const 2) (i64.div_u (i64.load (i32.const 48)) (i64.const 1000000)))""",
    f"""(func $rt.random_bits (param $t i32) (param $p i64) (param $site i32) (result i32 i64)
  (if (i32.ne (local.get $t) (i32.const 2)) (then {{E:0}}))
  (if (i64.gt_u (i64.sub (local.get $p) (i64.const 1)) (i64.const 61)) (then {{E:1}}))
  (i64.store (i32.const 48) (i64.const 0))
  {_SITE}
  (drop (call $wasi.random_get (i32.const 48) (i32.const 8)))
  (i32.const 2)
  (i64.and (i64.load (i32.const 48))
    (i64.sub (i64.shl (i64.const 1) (local.get $p)) (i64.const 1))))""",
    f"""(func $rt.sleep (param $t i32) (param $p i64) (param $site i32) (result i32 i64)
  (if (i32.ne (local.get $t) (i32.const 2)) (then {{E:0}}))
  (if (i64.lt_s (local.get $p) (i64.const 0)) (then (local.set $p (i64.const 0))))
  (if (i64.gt_s (local.get $p) (i64.const 9223372036854))
    (then (local.set $p (i64.const 9223372036854))))
  (memory.fill (i32.const 96) (i32.const 0) (i32.const 48))
  (i32.store (i32.const 112) (i32.const 1))
  (i64.store (i32.const 120) (i64.mul (local.get $p) (i64.const 1000000)))
  {_SITE}
  (drop (call $wasi.poll_oneoff (i32.const 96) (i32.const 144) (i32.const 1) (i32.const 40)))
  (i32.const 0) (i64.const 0))""",
    """(func $rt.preopen_match (param $p i32) (param $plen i32) (param $name i32) (param $nlen i32)
  (result i32)
  (local $c i32) (local $abs i32)
  (local.set $abs (i32.and (i32.ne (local.get $plen) (i32.const 0))
    (i32.eq (i32.load8_u (local.get $p)) (i32.const 47))))
  (block $done
    (loop $next
      (br_if $done (i32.le_u (local.get $nlen) (i32.const 1)))
      (br_if $done (i32.ne (i32.load8_u (i32.add (local.get $name)
        (i32.sub (local.get $nlen) (i32.const 1)))) (i32.const 47)))
      (local.set $nlen (i32.sub (local.get $nlen) (i32.const 1)))
      (br $next)))
  (if (i32.eq (local.get $nlen) (i32.const 1))
    (then
      (local.set $c (i32.load8_u (local.get $name)))
      (if (i32.eq (local.get $c) (i32.const 46))
        (then (return (select (i32.const -1) (i32.const 0) (local.get $abs)))))
      (if (i32.eq (local.get $c) (i32.const 47))
        (then (return (select (i32.const 1) (i32.const -1) (local.get $abs)))))))
  (if (i32.gt_u (local.get $nlen) (local.get $plen)) (then (return (i32.const -1))))
  (if (i32.eqz (call $rt.mem_eq (local.get $p) (local.get $name) (local.get $nlen)))
    (then (return (i32.const -1))))
  (if (i32.eq (local.get $nlen) (local.get $plen)) (then (return (local.get $nlen))))
  (if (i32.eq (i32.load8_u (i32.add (local.get $p) (local.get $nlen))) (i32.const 47))
    (then (return (local.get $nlen))))
  (i32.const -1))""",
    f"""(func $rt.find_preopen (param $path i32) (param $site i32) (result i32 i32 i32)
  (local $fd i32) (local $best i32) (local $best_len i32) (local $m i32) (local $name i32)
  (local $nlen i32) (local $mark i32) (local $e i32) (local $rel i32) (local $rlen i32)
  (local.set $best (i32.const -1))
  (local.set $best_len (i32.const -1))
  (local.set $fd (i32.const 3))
  (local.set $mark (global.get $rt.heap))
  (block $done
    (loop $next
      {_SITE}
      (local.set $e (call $wasi.fd_prestat_get (local.get $fd) (i32.const 176)))
      (br_if $done (i32.eq (local.get $e) (i32.const 8)))
      (if (i32.and (i32.eqz (local.get $e)) (i32.eqz (i32.load8_u (i32.const 176))))
        (then
          (local.set $nlen (i32.load (i32.const 180)))
          (local.set $name (call $rt.alloc (local.get $nlen)))
          {_SITE}
          (if (i32.eqz (call $wasi.fd_prestat_dir_name (local.get $fd) (local.get $name)
                (local.get $nlen)))
            (then
              (local.set $m (call $rt.preopen_match (i32.add (local.get $path) (i32.const 4))
                (i32.load (local.get $path)) (local.get $name) (local.get $nlen)))
              (if (i32.gt_s (local.get $m) (local.get $best_len))
                (then (local.set $best (local.get $fd)) (local.set $best_len (local.get $m))))))
          (global.set $rt.heap (local.get $mark))))
      (local.set $fd (i32.add (local.get $fd) (i32.const 1)))
      (br $next)))
  (if (i32.lt_s (local.get $best) (i32.const 0)) (then {{E:$rt.fs_read:1}}))
  (local.set $rel (i32.add (i32.add (local.get $path) (i32.const 4)) (local.get $best_len)))
  (local.set $rlen (i32.sub (i32.load (local.get $path)) (local.get $best_len)))
  (block $done
    (loop $next
      (br_if $done (i32.eqz (local.get $rlen)))
      (br_if $done (i32.ne (i32.load8_u (local.get $rel)) (i32.const 47)))
      (local.set $rel (i32.add (local.get $rel) (i32.const 1)))
      (local.set $rlen (i32.sub (local.get $rlen) (i32.const 1)))
      (br $next)))
  (if (i32.eqz (local.get $rlen))
    (then
      (local.set $rel (i32.add (i32.const {{S:DOT}}) (i32.const 4)))
      (local.set $rlen (i32.const 1))))
  (local.get $best) (local.get $rel) (local.get $rlen))""",
    f"""(func $rt.fs_read (param $t i32) (param $p i64) (param $site i32) (result i32 i64)
  (local $dir i32) (local $rel i32) (local $rlen i32) (local $e i32) (local $fd i32)
  (local $obj i32) (local $len i32) (local $n i32)
  (if (i32.ne (local.get $t) (i32.const 3)) (then {{E:0}}))
  (call $rt.find_preopen (i32.wrap_i64 (local.get $p)) (local.get $site))
  (local.set $rlen)
  (local.set $rel)
  (local.set $dir)
  {_SITE}
  (local.set $e (call $wasi.path_open (local.get $dir) (i32.const 1) (local.get $rel)
    (local.get $rlen) (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 40)))
  (if (i32.eq (local.get $e) (i32.const 44)) (then {{E:2}}))
  (if (local.get $e) (then {{E:3}}))
  (local.set $fd (i32.load (i32.const 40)))
  (local.set $obj (global.get $rt.heap))
  (block $eof
    (loop $more
      (call $rt.ensure (i64.add (i64.extend_i32_u (i32.add (local.get $obj) (i32.const 4)))
        (i64.add (i64.extend_i32_u (local.get $len)) (i64.const 65536))))
      (i32.store (i32.const 16) (i32.add (i32.add (local.get $obj) (i32.const 4)) (local.get $len)))
      (i32.store (i32.const 20) (i32.const 65536))
      {_SITE}
      (if (call $wasi.fd_read (local.get $fd) (i32.const 16) (i32.const 1) (i32.const 40))
        (then {{E:3}}))
      (local.set $n (i32.load (i32.const 40)))
      (br_if $eof (i32.eqz (local.get $n)))
      (local.set $len (i32.add (local.get $len) (local.get $n)))
      (br $more)))
  (i32.store (local.get $obj) (local.get $len))
  (global.set $rt.heap (i32.and (i32.add (i32.add (local.get $obj) (local.get $len))
    (i32.const 11)) (i32.const -8)))
  {_SITE}
  (drop (call $wasi.fd_close (local.get $fd)))
  (i32.const 4) (i64.extend_i32_u (local.get $obj)))""",
    f"""(func $rt.fs_write (param $pt i32) (param $p i64) (param $dt i32) (param $d i64)
  (param $site i32) (result i32 i64)
  (local $dir i32) (local $rel i32) (local $rlen i32) (local $e i32) (local $fd i32) (local $s i32)
  (if (i32.or (i32.ne (local.get $pt) (i32.const 3)) (i32.and (i32.ne (local.get $dt)
    (i32.const 3)) (i32.ne (local.get $dt) (i32.const 4)))) (then {{E:0}}))
  (call $rt.find_preopen (i32.wrap_i64 (local.get $p)) (local.get $site))
  (local.set $rlen)
  (local.set $rel)
  (local.set $dir)
  {_SITE}
  (local.set $e (call $wasi.path_open (local.get $dir) (i32.const 1) (local.get $rel)
    (local.get $rlen) (i32.const 9) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 40)))
  (if (i32.eq (local.get $e) (i32.const 44)) (then {{E:2}}))
  (if (local.get $e) (then {{E:3}}))
  (local.set $fd (i32.load (i32.const 40)))
  (local.set $s (i32.wrap_i64 (local.get $d)))
  (if (call $rt.write_all (local.get $fd) (i32.add (local.get $s) (i32.const 4))
        (i32.load (local.get $s)) (local.get $site))
    (then {{E:3}}))
  {_SITE}
  (drop (call $wasi.fd_close (local.get $fd)))
  (i32.const 0) (i64.const 0))""",
    # ---- processes -------------------------------------------------------------------------
    # The host places stdout and stderr in guest memory with cabi_realloc (exported only by
    # programs that use proc.run). It allocates a str object and returns the address of its
    # bytes, so the output is already a str: $rt.proc_str finds the header 4 bytes before.
    """(func $rt.cabi_realloc (export "cabi_realloc") (param $old i32) (param $old_size i32)
  (param $align i32) (param $size i32) (result i32)
  (local $p i32)
  (local.set $p (if (result i32) (i32.gt_u (local.get $align) (i32.const 4))
    (then (call $rt.alloc (local.get $size)))
    (else (i32.add (call $rt.str_new (local.get $size)) (i32.const 4)))))
  (if (local.get $old)
    (then (memory.copy (local.get $p) (local.get $old) (select (local.get $old_size)
      (local.get $size) (i32.lt_u (local.get $old_size) (local.get $size))))))
  (local.get $p))""",
    """(func $rt.proc_str (param $ptr i32) (param $len i32) (result i32)
  (local $p i32)
  (if (i32.eqz (local.get $len)) (then (return (i32.const {S:EMPTY}))))
  (if (i32.ge_u (local.get $ptr) (i32.const 4))
    (then
      (if (i32.eq (i32.load (i32.sub (local.get $ptr) (i32.const 4))) (local.get $len))
        (then (return (i32.sub (local.get $ptr) (i32.const 4)))))))
  (local.set $p (call $rt.str_new (local.get $len)))
  (memory.copy (i32.add (local.get $p) (i32.const 4)) (local.get $ptr) (local.get $len))
  (local.get $p))""",
    f"""(func $rt.proc_run (param $pt i32) (param $p i64) (param $at i32) (param $a i64)
  (param $site i32) (result i32 i64)
  (local $l i32) (local $n i32) (local $i i32) (local $e i32) (local $s i32) (local $pairs i32)
  (local $q i32) (local $prog i32) (local $code i32) (local $sig i32) (local $out i32)
  (if (i32.or (i32.ne (local.get $pt) (i32.const 3)) (i32.ne (local.get $at) (i32.const 5)))
    (then {{E:0}}))
  (local.set $l (i32.wrap_i64 (local.get $a)))
  (local.set $n (i32.load (local.get $l)))
  (local.set $pairs (call $rt.alloc (i32.shl (local.get $n) (i32.const 3))))
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $e (i32.add (i32.load offset=8 (local.get $l))
        (i32.shl (local.get $i) (i32.const 4))))
      (if (i32.ne (i32.load (local.get $e)) (i32.const 3)) (then {{E:0}}))
      (local.set $s (i32.wrap_i64 (i64.load offset=8 (local.get $e))))
      (local.set $q (i32.add (local.get $pairs) (i32.shl (local.get $i) (i32.const 3))))
      (i32.store (local.get $q) (i32.add (local.get $s) (i32.const 4)))
      (i32.store offset=4 (local.get $q) (i32.load (local.get $s)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
  (local.set $prog (i32.wrap_i64 (local.get $p)))
  (memory.fill (i32.const {PROC_RESULT}) (i32.const 0) (i32.const 32))
  {_SITE}
  (call $process.run (i32.add (local.get $prog) (i32.const 4)) (i32.load (local.get $prog))
    (local.get $pairs) (local.get $n) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
    (i32.const 0) (i32.const 0) (i64.const 0) (i32.const {PROC_RESULT}))
  (if (i32.load8_u (i32.const {PROC_RESULT}))
    (then
      (local.set $code (i32.load8_u offset=4 (i32.const {PROC_RESULT})))
      (if (i32.eqz (local.get $code)) (then {{E:1}}))
      (if (i32.eq (local.get $code) (i32.const 1)) (then {{E:2}}))
      (if (i32.eq (local.get $code) (i32.const 2)) (then {{E:3}}))
      (if (i32.eq (local.get $code) (i32.const 3)) (then {{E:4}}))
      {{E:5}}))
  (local.set $sig (i32.load offset=8 (i32.const {PROC_RESULT})))
  (local.set $out (call $rt.list_new (i32.const 3)))
  (call $rt.list_append (local.get $out) (i32.const 2)
    (select (i64.sub (i64.const 0) (i64.extend_i32_u (local.get $sig)))
      (i64.extend_i32_s (i32.load offset=4 (i32.const {PROC_RESULT}))) (local.get $sig)))
  (call $rt.list_append (local.get $out) (i32.const 3) (i64.extend_i32_u (call $rt.proc_str
    (i32.load offset=16 (i32.const {PROC_RESULT})) (i32.load offset=20 (i32.const {PROC_RESULT})))))
  (call $rt.list_append (local.get $out) (i32.const 3) (i64.extend_i32_u (call $rt.proc_str
    (i32.load offset=24 (i32.const {PROC_RESULT})) (i32.load offset=28 (i32.const {PROC_RESULT})))))
  (i32.const 5) (i64.extend_i32_u (local.get $out)))""",
    # ---- http ------------------------------------------------------------------------------
    """(func $rt.bytes_are (param $p i32) (param $n i32) (param $s i32) (result i32)
  (local $i i32)
  (if (i32.ne (local.get $n) (i32.load (local.get $s))) (then (return (i32.const 0))))
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (if (i32.ne (i32.load8_u (i32.add (local.get $p) (local.get $i)))
            (i32.load8_u (i32.add (i32.add (local.get $s) (i32.const 4)) (local.get $i))))
        (then (return (i32.const 0))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
  (i32.const 1))""",
    _http("get"),
    _http("post"),
    f"""(func $rt.exit (param $t i32) (param $p i64) (param $site i32) (result i32 i64)
  (if (i32.ne (local.get $t) (i32.const 2)) (then {{E:0}}))
  (if (i64.gt_u (local.get $p) (i64.const 125)) (then {{E:1}}))
  {_SITE}
  (call $wasi.proc_exit (i32.wrap_i64 (local.get $p)))
  (unreachable))""",
]

KINDS: list[str] = sorted(
    {e.kind for op in OPS_BY_FUNC.values() for e in op.errors} - {"out_of_memory"}
)
FUNCS += [
    f"""(func $tape_error_{kind} (param $site i32) (param $msg i32)
  (call $rt.report (local.get $site) (local.get $msg))
  (unreachable))"""
    for kind in KINDS
]

_NAME = re.compile(r"\(func (\$[\w.]+)")
_REF = re.compile(r"\$(?:rt|wasi|process|http|tape_error)[\w.]*")

DEPS: dict[str, tuple[str, ...]] = {
    "$rt.proc_run": ("$rt.cabi_realloc",),
    "$rt.http_get": ("$rt.cabi_realloc",),
    "$rt.http_post": ("$rt.cabi_realloc",),
}
"""Pieces a piece needs without calling them: proc.run's and http's hosts call back
cabi_realloc."""
_PLACEHOLDER = re.compile(r"\{([EMS]):([^}]*)\}")


def _pieces() -> dict[str, str]:
    out: dict[str, str] = {}
    for text in IMPORTS + FUNCS:
        m = _NAME.search(text)
        assert m is not None, text
        out[m.group(1)] = text
    return out


PIECES = _pieces()


def _expand_errors(name: str, text: str, intern: Callable[[bytes], int]) -> str:
    def sub(m: re.Match[str]) -> str:
        what, arg = m.group(1), m.group(2)
        if what == "S":
            return str(intern(STATICS[arg]))
        func, _, k = arg.rpartition(":")
        op = OPS_BY_FUNC[func or name]
        index = int(k)
        err = op.errors[index]
        msg = intern(err.message.encode())
        if what == "M":
            return str(msg)
        offset = index + (1 if op.effect else 0)
        return (
            f"(call $tape_error_{err.kind} (i32.add (local.get $site) (i32.const {offset}))"
            f" (i32.const {msg}))"
        )

    return _PLACEHOLDER.sub(sub, text)


def assemble(roots: Iterable[str], intern: Callable[[bytes], int]) -> tuple[list[str], list[str]]:
    """The imports and functions reachable from ``roots`` (runtime names called by the program),
    in a fixed order, with placeholders expanded (static strings interned with ``intern``)."""
    wanted: set[str] = set()
    stack = [r for r in roots if r in PIECES]
    expanded: dict[str, str] = {}
    while stack:
        name = stack.pop()
        if name in wanted:
            continue
        wanted.add(name)
        text = PIECES[name]
        # Error calls name their kind function only once expanded: expand with a dry intern.
        refs = set(_REF.findall(_expand_errors(name, text, lambda _b: 0)))
        refs.update(DEPS.get(name, ()))
        stack.extend(r for r in refs if r in PIECES and r not in wanted)
    imports: list[str] = []
    funcs: list[str] = []
    for name, text in PIECES.items():  # definition order: deterministic
        if name in wanted:
            expanded[name] = _expand_errors(name, text, intern)
            is_import = name.startswith(("$wasi.", "$process.", "$http."))
            (imports if is_import else funcs).append(expanded[name])
    return imports, funcs


def check_messages() -> None:
    """Every runtime error message fits the report buffer (checked by the tests)."""
    for op in OPS_BY_FUNC.values():
        for e in op.errors:
            assert len(STATICS["PREFIX"]) + len(e.message.encode()) + 1 <= _REPORT_MAX, e
