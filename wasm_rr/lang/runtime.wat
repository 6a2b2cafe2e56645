;; The runtime library of the .tape language, linked into every compiled program: wasm_rr/lang/
;; runtime.py loads this file and links in the pieces (imports and functions) a program reaches.
;;
;; Values are pairs (tag i32, payload i64): nil (0, 0), bool (1, 0|1), int (2, the int),
;; str (3, address), bytes (4, address), list (5, address). A str or bytes object is
;; [len u32][bytes]; a list object is [len u32][cap u32][data u32] with data pointing at cap
;; 16-byte slots [tag u32][pad][payload u64]. Memory is a bump heap (no collector).
;;
;; Memory layout (addresses are fixed; the site register, runtime.SITE_ADDR, is the contract with
;; wasm-rr: every effect stores its site there before it calls the host):
;;
;;   0..15     runtime header; the i32 at 8 is the site register
;;   16..39    iovecs          40..47  i32 out-parameters    48..55  u64 out-parameter
;;   64..95    integer formatting
;;   96..143   poll_oneoff subscription   144..175 its event    176..183 prestat
;;   192..223  proc.run's result (result<output, error-code>, written by the host), and
;;             http.get / http.post's (result<response, error>, 24 bytes)
;;   256..511  the runtime error message buffer
;;   512..     static data (string literals and runtime strings), then the heap
;;
;; The file is a list of pieces, each an (import ...) or a (func ...) starting in column 0 and
;; ending at a blank line, a comment in column 0 or the next piece; the order of the pieces is
;; the order of the output. Comment lines (;;) are not part of a piece. Placeholders:
;;   {E:k}       raise error k of the operation whose runtime function this is
;;               ({E:$fn:k} names the function); errors are declared in builtins.py
;;   {M:k}       the address of that error's message
;;   {S:NAME}    the address of a static string (runtime.STATICS)
;;   {G:NAME}    text generated from builtins.py's tables when the file is loaded
;; The error functions ($tape_error_<kind>, one per error kind) follow these pieces, generated.

;; ---- imports: WASI preview 1 -----------------------------------------------------------
(import "wasi_snapshot_preview1" "fd_write" (func $wasi.fd_write (param i32 i32 i32 i32) (result i32)))
(import "wasi_snapshot_preview1" "fd_read" (func $wasi.fd_read (param i32 i32 i32 i32) (result i32)))
(import "wasi_snapshot_preview1" "fd_close" (func $wasi.fd_close (param i32) (result i32)))
(import "wasi_snapshot_preview1" "fd_prestat_get" (func $wasi.fd_prestat_get (param i32 i32) (result i32)))
(import "wasi_snapshot_preview1" "fd_prestat_dir_name" (func $wasi.fd_prestat_dir_name (param i32 i32 i32) (result i32)))
(import "wasi_snapshot_preview1" "path_open" (func $wasi.path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
(import "wasi_snapshot_preview1" "environ_sizes_get" (func $wasi.environ_sizes_get (param i32 i32) (result i32)))
(import "wasi_snapshot_preview1" "environ_get" (func $wasi.environ_get (param i32 i32) (result i32)))
(import "wasi_snapshot_preview1" "args_sizes_get" (func $wasi.args_sizes_get (param i32 i32) (result i32)))
(import "wasi_snapshot_preview1" "args_get" (func $wasi.args_get (param i32 i32) (result i32)))
(import "wasi_snapshot_preview1" "clock_time_get" (func $wasi.clock_time_get (param i32 i64 i32) (result i32)))
(import "wasi_snapshot_preview1" "random_get" (func $wasi.random_get (param i32 i32) (result i32)))
(import "wasi_snapshot_preview1" "poll_oneoff" (func $wasi.poll_oneoff (param i32 i32 i32 i32) (result i32)))
(import "wasi_snapshot_preview1" "proc_exit" (func $wasi.proc_exit (param i32)))

;; wasm-rr's process family (wit/process.wit): the canonical-ABI lowering of `run`. Params:
;; program, args ({ptr, len} pairs), cwd, env ({ptr, len} pairs), stdin (each ptr, len), the
;; timeout in ms, and the address where the host writes the 32-byte result<output, error-code>.
(import "wasm-rr:process/process@0.1.0" "run" (func $process.run (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i64 i32)))

;; wasm-rr's http family (wit/http.wit): the canonical-ABI lowering of `send`. Params: method,
;; url, headers ({name ptr, len, value ptr, len} elements), body (each ptr, len), the timeout in
;; ms, and the address where the host writes the 24-byte result<response, error> (at 192, like
;; proc.run's: one host call at a time).
(import "wasm-rr:http/client@0.1.0" "send" (func $http.send (param i32 i32 i32 i32 i32 i32 i32 i32 i64 i32)))

;; ---- errors ------------------------------------------------------------------------------
(func $rt.report (param $site i32) (param $msg i32)
  (local $n i32) (local $m i32)
  (local.set $n (i32.load (i32.const {S:PREFIX})))
  (memory.copy (i32.const 256) (i32.add (i32.const {S:PREFIX}) (i32.const 4))
    (local.get $n))
  (local.set $m (i32.load (local.get $msg)))
  (memory.copy (i32.add (i32.const 256) (local.get $n))
    (i32.add (local.get $msg) (i32.const 4)) (local.get $m))
  (local.set $n (i32.add (local.get $n) (local.get $m)))
  (i32.store8 (i32.add (i32.const 256) (local.get $n)) (i32.const 10))
  (drop (call $rt.write_all (i32.const 2) (i32.const 256)
    (i32.add (local.get $n) (i32.const 1)) (local.get $site))))

(func $tape_error_out_of_memory
  (call $rt.report (i32.const -1) (i32.const {S:OOM}))
  (unreachable))

;; ---- memory ------------------------------------------------------------------------------
(func $rt.ensure (param $end i64)
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
            (then (call $tape_error_out_of_memory))))))))

(func $rt.alloc (param $n i32) (result i32)
  (local $p i32) (local $end i64)
  (local.set $p (global.get $rt.heap))
  (local.set $end (i64.and (i64.add (i64.add (i64.extend_i32_u (local.get $p))
    (i64.extend_i32_u (local.get $n))) (i64.const 7)) (i64.const -8)))
  (call $rt.ensure (local.get $end))
  (global.set $rt.heap (i32.wrap_i64 (local.get $end)))
  (local.get $p))

(func $rt.str_new (param $len i32) (result i32)
  (local $p i32)
  (local.set $p (call $rt.alloc (i32.add (local.get $len) (i32.const 4))))
  (i32.store (local.get $p) (local.get $len))
  (local.get $p))

(func $rt.mem_eq (param $a i32) (param $b i32) (param $n i32) (result i32)
  (local $i i32)
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (if (i32.ne (i32.load8_u (i32.add (local.get $a) (local.get $i)))
                  (i32.load8_u (i32.add (local.get $b) (local.get $i))))
        (then (return (i32.const 0))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
  (i32.const 1))

(func $rt.cstr_keep (param $v i32) (param $mark i32) (result i32)
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
  (local.get $mark))

;; ---- strings -----------------------------------------------------------------------------
(func $rt.concat (param $a i32) (param $b i32) (result i32)
  (local $la i32) (local $lb i32) (local $p i32)
  (local.set $la (i32.load (local.get $a)))
  (local.set $lb (i32.load (local.get $b)))
  (local.set $p (call $rt.str_new (i32.add (local.get $la) (local.get $lb))))
  (memory.copy (i32.add (local.get $p) (i32.const 4)) (i32.add (local.get $a) (i32.const 4))
    (local.get $la))
  (memory.copy (i32.add (i32.add (local.get $p) (i32.const 4)) (local.get $la))
    (i32.add (local.get $b) (i32.const 4)) (local.get $lb))
  (local.get $p))

(func $rt.itoa (param $v i64) (result i32)
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
  (local.get $p))

(func $rt.to_str (param $t i32) (param $p i64) (result i32)
  (if (i32.eq (local.get $t) (i32.const 2)) (then (return (call $rt.itoa (local.get $p)))))
  (if (i32.or (i32.eq (local.get $t) (i32.const 3)) (i32.eq (local.get $t) (i32.const 4)))
    (then (return (i32.wrap_i64 (local.get $p)))))
  (if (i32.eq (local.get $t) (i32.const 5))
    (then (return (call $rt.list_repr (i32.wrap_i64 (local.get $p))))))
  (if (i32.eq (local.get $t) (i32.const 1))
    (then (return (select (i32.const {S:TRUE}) (i32.const {S:FALSE})
      (i32.wrap_i64 (local.get $p))))))
  (i32.const {S:NIL}))

(func $rt.repr (param $t i32) (param $p i64) (result i32)
  (if (i32.eq (local.get $t) (i32.const 3))
    (then (return (call $rt.concat (call $rt.concat (i32.const {S:QUOTE})
      (i32.wrap_i64 (local.get $p))) (i32.const {S:QUOTE})))))
  (if (i32.eq (local.get $t) (i32.const 4))
    (then (return (call $rt.concat (call $rt.concat (i32.const {S:BQUOTE})
      (i32.wrap_i64 (local.get $p))) (i32.const {S:QUOTE})))))
  (call $rt.to_str (local.get $t) (local.get $p)))

(func $rt.list_repr (param $l i32) (result i32)
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
  (local.get $out))

(func $rt.str_cmp (param $a i32) (param $b i32) (result i32)
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
    (i32.lt_u (local.get $la) (local.get $lb))))

;; ---- equality and comparison -------------------------------------------------------------
(func $rt.eq (param $at i32) (param $a i64) (param $bt i32) (param $b i64) (result i32)
  (if (i32.ne (local.get $at) (local.get $bt)) (then (return (i32.const 0))))
  (if (i32.or (i32.eq (local.get $at) (i32.const 3)) (i32.eq (local.get $at) (i32.const 4)))
    (then (return (i32.eqz (call $rt.str_cmp (i32.wrap_i64 (local.get $a))
      (i32.wrap_i64 (local.get $b)))))))
  (if (i32.eq (local.get $at) (i32.const 5))
    (then (return (call $rt.list_eq (i32.wrap_i64 (local.get $a))
      (i32.wrap_i64 (local.get $b))))))
  (i64.eq (local.get $a) (local.get $b)))

(func $rt.list_eq (param $a i32) (param $b i32) (result i32)
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
  (i32.const 1))

(func $rt.cmp (param $at i32) (param $a i64) (param $bt i32) (param $b i64) (param $site i32) (param $msg i32) (result i32)
  (if (i32.ne (local.get $at) (local.get $bt))
    (then (call $tape_error_type_error (local.get $site) (local.get $msg))))
  (if (i32.eq (local.get $at) (i32.const 2))
    (then (return (i32.sub (i64.gt_s (local.get $a) (local.get $b))
      (i64.lt_s (local.get $a) (local.get $b))))))
  (if (i32.or (i32.eq (local.get $at) (i32.const 3)) (i32.eq (local.get $at) (i32.const 4)))
    (then (return (call $rt.str_cmp (i32.wrap_i64 (local.get $a))
      (i32.wrap_i64 (local.get $b))))))
  (call $tape_error_type_error (local.get $site) (local.get $msg))
  (unreachable))

(func $rt.lt (param $at i32) (param $a i64) (param $bt i32) (param $b i64) (param $site i32) (result i32)
  (i32.lt_s (call $rt.cmp (local.get $at) (local.get $a) (local.get $bt) (local.get $b)
    (local.get $site) (i32.const {M:0})) (i32.const 0)))

(func $rt.le (param $at i32) (param $a i64) (param $bt i32) (param $b i64) (param $site i32) (result i32)
  (i32.le_s (call $rt.cmp (local.get $at) (local.get $a) (local.get $bt) (local.get $b)
    (local.get $site) (i32.const {M:0})) (i32.const 0)))

(func $rt.gt (param $at i32) (param $a i64) (param $bt i32) (param $b i64) (param $site i32) (result i32)
  (i32.gt_s (call $rt.cmp (local.get $at) (local.get $a) (local.get $bt) (local.get $b)
    (local.get $site) (i32.const {M:0})) (i32.const 0)))

(func $rt.ge (param $at i32) (param $a i64) (param $bt i32) (param $b i64) (param $site i32) (result i32)
  (i32.ge_s (call $rt.cmp (local.get $at) (local.get $a) (local.get $bt) (local.get $b)
    (local.get $site) (i32.const {M:0})) (i32.const 0)))

(func $rt.cond (param $t i32) (param $p i64) (param $site i32) (result i32)
  (if (i32.ne (local.get $t) (i32.const 1)) (then {E:0}))
  (i32.wrap_i64 (local.get $p)))

(func $rt.cond_and (param $t i32) (param $p i64) (param $site i32) (result i32)
  (if (i32.ne (local.get $t) (i32.const 1)) (then {E:0}))
  (i32.wrap_i64 (local.get $p)))

(func $rt.cond_or (param $t i32) (param $p i64) (param $site i32) (result i32)
  (if (i32.ne (local.get $t) (i32.const 1)) (then {E:0}))
  (i32.wrap_i64 (local.get $p)))

(func $rt.cond_not (param $t i32) (param $p i64) (param $site i32) (result i32)
  (if (i32.ne (local.get $t) (i32.const 1)) (then {E:0}))
  (i32.wrap_i64 (local.get $p)))

(func $rt.range_check (param $at i32) (param $bt i32) (param $site i32)
  (if (i32.or (i32.ne (local.get $at) (i32.const 2)) (i32.ne (local.get $bt) (i32.const 2)))
    (then {E:0})))

;; ---- arithmetic --------------------------------------------------------------------------
(func $rt.add (param $at i32) (param $a i64) (param $bt i32) (param $b i64) (param $site i32) (result i32 i64)
  (if (i32.ne (local.get $at) (local.get $bt)) (then {E:0}))
  (if (i32.eq (local.get $at) (i32.const 2))
    (then (return (i32.const 2) (i64.add (local.get $a) (local.get $b)))))
  (if (i32.or (i32.eq (local.get $at) (i32.const 3)) (i32.eq (local.get $at) (i32.const 4)))
    (then (return (local.get $at) (i64.extend_i32_u (call $rt.concat
      (i32.wrap_i64 (local.get $a)) (i32.wrap_i64 (local.get $b)))))))
  {E:0}
  (unreachable))

(func $rt.sub (param $at i32) (param $a i64) (param $bt i32) (param $b i64) (param $site i32) (result i32 i64)
  (if (i32.or (i32.ne (local.get $at) (i32.const 2)) (i32.ne (local.get $bt) (i32.const 2))) (then {E:0}))
  (i32.const 2) (i64.sub (local.get $a) (local.get $b)))

(func $rt.mul (param $at i32) (param $a i64) (param $bt i32) (param $b i64) (param $site i32) (result i32 i64)
  (if (i32.or (i32.ne (local.get $at) (i32.const 2)) (i32.ne (local.get $bt) (i32.const 2))) (then {E:0}))
  (i32.const 2) (i64.mul (local.get $a) (local.get $b)))

(func $rt.div (param $at i32) (param $a i64) (param $bt i32) (param $b i64) (param $site i32) (result i32 i64)
  (if (i32.or (i32.ne (local.get $at) (i32.const 2)) (i32.ne (local.get $bt) (i32.const 2))) (then {E:0}))
  (if (i64.eqz (local.get $b)) (then {E:1}))
  (if (i64.eq (local.get $b) (i64.const -1))
    (then (return (i32.const 2) (i64.sub (i64.const 0) (local.get $a)))))
  (i32.const 2) (i64.div_s (local.get $a) (local.get $b)))

(func $rt.mod (param $at i32) (param $a i64) (param $bt i32) (param $b i64) (param $site i32) (result i32 i64)
  (if (i32.or (i32.ne (local.get $at) (i32.const 2)) (i32.ne (local.get $bt) (i32.const 2))) (then {E:0}))
  (if (i64.eqz (local.get $b)) (then {E:1}))
  (if (i64.eq (local.get $b) (i64.const -1)) (then (return (i32.const 2) (i64.const 0))))
  (i32.const 2) (i64.rem_s (local.get $a) (local.get $b)))

(func $rt.neg (param $at i32) (param $a i64) (param $site i32) (result i32 i64)
  (if (i32.ne (local.get $at) (i32.const 2)) (then {E:0}))
  (i32.const 2) (i64.sub (i64.const 0) (local.get $a)))

;; ---- lists -------------------------------------------------------------------------------
(func $rt.list_new (param $cap i32) (result i32)
  (local $l i32)
  (if (i32.lt_u (local.get $cap) (i32.const 4)) (then (local.set $cap (i32.const 4))))
  (local.set $l (call $rt.alloc (i32.const 12)))
  (i32.store (local.get $l) (i32.const 0))
  (i32.store offset=4 (local.get $l) (local.get $cap))
  (i32.store offset=8 (local.get $l) (call $rt.alloc (i32.shl (local.get $cap) (i32.const 4))))
  (local.get $l))

(func $rt.list_append (param $l i32) (param $t i32) (param $v i64)
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
  (i32.store (local.get $l) (i32.add (local.get $n) (i32.const 1))))

(func $rt.index (param $lt i32) (param $l i64) (param $it i32) (param $i i64)
  (param $site i32) (result i32 i64)
  (local $p i32) (local $e i32)
  (if (i32.or (i32.ne (local.get $lt) (i32.const 5)) (i32.ne (local.get $it) (i32.const 2)))
    (then {E:0}))
  (local.set $p (i32.wrap_i64 (local.get $l)))
  (if (i64.ge_u (local.get $i) (i64.extend_i32_u (i32.load (local.get $p)))) (then {E:1}))
  (local.set $e (i32.add (i32.load offset=8 (local.get $p))
    (i32.shl (i32.wrap_i64 (local.get $i)) (i32.const 4))))
  (i32.load (local.get $e)) (i64.load offset=8 (local.get $e)))

(func $rt.index_set (param $lt i32) (param $l i64) (param $it i32) (param $i i64)
  (param $t i32) (param $v i64) (param $site i32)
  (local $p i32) (local $e i32)
  (if (i32.or (i32.ne (local.get $lt) (i32.const 5)) (i32.ne (local.get $it) (i32.const 2)))
    (then {E:0}))
  (local.set $p (i32.wrap_i64 (local.get $l)))
  (if (i64.ge_u (local.get $i) (i64.extend_i32_u (i32.load (local.get $p)))) (then {E:1}))
  (local.set $e (i32.add (i32.load offset=8 (local.get $p))
    (i32.shl (i32.wrap_i64 (local.get $i)) (i32.const 4))))
  (i32.store (local.get $e) (local.get $t))
  (i64.store offset=8 (local.get $e) (local.get $v)))

;; ---- builtin functions -------------------------------------------------------------------
(func $rt.str (param $t i32) (param $p i64) (result i32 i64)
  (i32.const 3) (i64.extend_i32_u (call $rt.to_str (local.get $t) (local.get $p))))

(func $rt.len (param $t i32) (param $p i64) (param $site i32) (result i32 i64)
  (if (i32.or (i32.lt_u (local.get $t) (i32.const 3)) (i32.gt_u (local.get $t) (i32.const 5)))
    (then {E:0}))
  (i32.const 2) (i64.extend_i32_u (i32.load (i32.wrap_i64 (local.get $p)))))

(func $rt.byte_at (param $st i32) (param $s i64) (param $it i32) (param $i i64)
  (param $site i32) (result i32 i64)
  (local $p i32)
  (if (i32.or (i32.or (i32.lt_u (local.get $st) (i32.const 3)) (i32.gt_u (local.get $st)
    (i32.const 4))) (i32.ne (local.get $it) (i32.const 2))) (then {E:0}))
  (local.set $p (i32.wrap_i64 (local.get $s)))
  (if (i64.ge_u (local.get $i) (i64.extend_i32_u (i32.load (local.get $p)))) (then {E:1}))
  (i32.const 2)
  (i64.load8_u offset=4 (i32.add (local.get $p) (i32.wrap_i64 (local.get $i)))))

(func $rt.push (param $lt i32) (param $l i64) (param $t i32) (param $v i64) (param $site i32)
  (result i32 i64)
  (if (i32.ne (local.get $lt) (i32.const 5)) (then {E:0}))
  (call $rt.list_append (i32.wrap_i64 (local.get $l)) (local.get $t) (local.get $v))
  (i32.const 0) (i64.const 0))

(func $rt.is_space (param $c i32) (result i32)
  (i32.or (i32.eq (local.get $c) (i32.const 32))
    (i32.lt_u (i32.sub (local.get $c) (i32.const 9)) (i32.const 5))))

(func $rt.int (param $t i32) (param $p i64) (param $site i32) (result i32 i64)
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
  (select (i64.sub (i64.const 0) (local.get $acc)) (local.get $acc) (local.get $neg)))

;; ---- effects -----------------------------------------------------------------------------
(func $rt.write_all (param $fd i32) (param $buf i32) (param $len i32) (param $site i32)
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
  (local.get $e))

(func $rt.print (param $t i32) (param $p i64) (param $site i32) (result i32 i64)
  (local $mark i32) (local $s i32)
  (local.set $mark (global.get $rt.heap))
  (local.set $s (call $rt.concat (call $rt.to_str (local.get $t) (local.get $p))
    (i32.const {S:NL})))
  (drop (call $rt.write_all (i32.const 1) (i32.add (local.get $s) (i32.const 4))
    (i32.load (local.get $s)) (local.get $site)))
  (global.set $rt.heap (local.get $mark))
  (i32.const 0) (i64.const 0))

(func $rt.write (param $t i32) (param $p i64) (param $site i32) (result i32 i64)
  (local $mark i32) (local $s i32)
  (local.set $mark (global.get $rt.heap))
  (local.set $s (call $rt.to_str (local.get $t) (local.get $p)))
  (drop (call $rt.write_all (i32.const 1) (i32.add (local.get $s) (i32.const 4))
    (i32.load (local.get $s)) (local.get $site)))
  (global.set $rt.heap (local.get $mark))
  (i32.const 0) (i64.const 0))

(func $rt.env_get (param $t i32) (param $p i64) (param $site i32) (result i32 i64)
  (local $name i32) (local $nlen i32) (local $count i32) (local $ptrs i32) (local $buf i32)
  (local $mark i32) (local $i i32) (local $e i32)
  (if (i32.ne (local.get $t) (i32.const 3)) (then {E:0}))
  (local.set $name (i32.wrap_i64 (local.get $p)))
  (local.set $nlen (i32.load (local.get $name)))
  (i32.store (i32.const 8) (local.get $site))
  (if (call $wasi.environ_sizes_get (i32.const 40) (i32.const 44))
    (then (return (i32.const 3) (i64.const {S:EMPTY}))))
  (local.set $count (i32.load (i32.const 40)))
  (local.set $mark (global.get $rt.heap))
  (local.set $ptrs (call $rt.alloc (i32.add (i32.shl (local.get $count) (i32.const 2))
    (i32.const 4))))
  (local.set $buf (call $rt.alloc (i32.load (i32.const 44))))
  (i32.store (i32.const 8) (local.get $site))
  (if (call $wasi.environ_get (local.get $ptrs) (local.get $buf))
    (then
      (global.set $rt.heap (local.get $mark))
      (return (i32.const 3) (i64.const {S:EMPTY}))))
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
  (i32.const 3) (i64.const {S:EMPTY}))

(func $rt.args_get (param $t i32) (param $p i64) (param $site i32) (result i32 i64)
  (local $count i32) (local $ptrs i32) (local $buf i32) (local $mark i32)
  (if (i32.ne (local.get $t) (i32.const 2)) (then {E:0}))
  (i32.store (i32.const 8) (local.get $site))
  (if (call $wasi.args_sizes_get (i32.const 40) (i32.const 44))
    (then (return (i32.const 3) (i64.const {S:EMPTY}))))
  (local.set $count (i32.load (i32.const 40)))
  (if (i64.ge_u (local.get $p) (i64.extend_i32_u (local.get $count)))
    (then (return (i32.const 3) (i64.const {S:EMPTY}))))
  (local.set $mark (global.get $rt.heap))
  (local.set $ptrs (call $rt.alloc (i32.add (i32.shl (local.get $count) (i32.const 2))
    (i32.const 4))))
  (local.set $buf (call $rt.alloc (i32.load (i32.const 44))))
  (i32.store (i32.const 8) (local.get $site))
  (if (call $wasi.args_get (local.get $ptrs) (local.get $buf))
    (then
      (global.set $rt.heap (local.get $mark))
      (return (i32.const 3) (i64.const {S:EMPTY}))))
  (i32.const 3)
  (i64.extend_i32_u (call $rt.cstr_keep (i32.load (i32.add (local.get $ptrs)
    (i32.shl (i32.wrap_i64 (local.get $p)) (i32.const 2)))) (local.get $mark))))

(func $rt.args_count (param $site i32) (result i32 i64)
  (i32.store (i32.const 40) (i32.const 0))
  (i32.store (i32.const 8) (local.get $site))
  (drop (call $wasi.args_sizes_get (i32.const 40) (i32.const 44)))
  (i32.const 2) (i64.extend_i32_u (i32.load (i32.const 40))))

(func $rt.clock_now (param $site i32) (result i32 i64)
  (i64.store (i32.const 48) (i64.const 0))
  (i32.store (i32.const 8) (local.get $site))
  (drop (call $wasi.clock_time_get (i32.const 0) (i64.const 1) (i32.const 48)))
  (i32.const 2) (i64.div_u (i64.load (i32.const 48)) (i64.const 1000000)))

(func $rt.random_bits (param $t i32) (param $p i64) (param $site i32) (result i32 i64)
  (if (i32.ne (local.get $t) (i32.const 2)) (then {E:0}))
  (if (i64.gt_u (i64.sub (local.get $p) (i64.const 1)) (i64.const 61)) (then {E:1}))
  (i64.store (i32.const 48) (i64.const 0))
  (i32.store (i32.const 8) (local.get $site))
  (drop (call $wasi.random_get (i32.const 48) (i32.const 8)))
  (i32.const 2)
  (i64.and (i64.load (i32.const 48))
    (i64.sub (i64.shl (i64.const 1) (local.get $p)) (i64.const 1))))

(func $rt.sleep (param $t i32) (param $p i64) (param $site i32) (result i32 i64)
  (if (i32.ne (local.get $t) (i32.const 2)) (then {E:0}))
  (if (i64.lt_s (local.get $p) (i64.const 0)) (then (local.set $p (i64.const 0))))
  (if (i64.gt_s (local.get $p) (i64.const 9223372036854))
    (then (local.set $p (i64.const 9223372036854))))
  (memory.fill (i32.const 96) (i32.const 0) (i32.const 48))
  (i32.store (i32.const 112) (i32.const 1))
  (i64.store (i32.const 120) (i64.mul (local.get $p) (i64.const 1000000)))
  (i32.store (i32.const 8) (local.get $site))
  (drop (call $wasi.poll_oneoff (i32.const 96) (i32.const 144) (i32.const 1) (i32.const 40)))
  (i32.const 0) (i64.const 0))

(func $rt.preopen_match (param $p i32) (param $plen i32) (param $name i32) (param $nlen i32)
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
  (i32.const -1))

(func $rt.find_preopen (param $path i32) (param $site i32) (result i32 i32 i32)
  (local $fd i32) (local $best i32) (local $best_len i32) (local $m i32) (local $name i32)
  (local $nlen i32) (local $mark i32) (local $e i32) (local $rel i32) (local $rlen i32)
  (local.set $best (i32.const -1))
  (local.set $best_len (i32.const -1))
  (local.set $fd (i32.const 3))
  (local.set $mark (global.get $rt.heap))
  (block $done
    (loop $next
      (i32.store (i32.const 8) (local.get $site))
      (local.set $e (call $wasi.fd_prestat_get (local.get $fd) (i32.const 176)))
      (br_if $done (i32.eq (local.get $e) (i32.const 8)))
      (if (i32.and (i32.eqz (local.get $e)) (i32.eqz (i32.load8_u (i32.const 176))))
        (then
          (local.set $nlen (i32.load (i32.const 180)))
          (local.set $name (call $rt.alloc (local.get $nlen)))
          (i32.store (i32.const 8) (local.get $site))
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
  (if (i32.lt_s (local.get $best) (i32.const 0)) (then {E:$rt.fs_read:1}))
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
      (local.set $rel (i32.add (i32.const {S:DOT}) (i32.const 4)))
      (local.set $rlen (i32.const 1))))
  (local.get $best) (local.get $rel) (local.get $rlen))

(func $rt.fs_read (param $t i32) (param $p i64) (param $site i32) (result i32 i64)
  (local $dir i32) (local $rel i32) (local $rlen i32) (local $e i32) (local $fd i32)
  (local $obj i32) (local $len i32) (local $n i32)
  (if (i32.ne (local.get $t) (i32.const 3)) (then {E:0}))
  (call $rt.find_preopen (i32.wrap_i64 (local.get $p)) (local.get $site))
  (local.set $rlen)
  (local.set $rel)
  (local.set $dir)
  (i32.store (i32.const 8) (local.get $site))
  (local.set $e (call $wasi.path_open (local.get $dir) (i32.const 1) (local.get $rel)
    (local.get $rlen) (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 40)))
  (if (i32.eq (local.get $e) (i32.const 44)) (then {E:2}))
  (if (local.get $e) (then {E:3}))
  (local.set $fd (i32.load (i32.const 40)))
  (local.set $obj (global.get $rt.heap))
  (block $eof
    (loop $more
      (call $rt.ensure (i64.add (i64.extend_i32_u (i32.add (local.get $obj) (i32.const 4)))
        (i64.add (i64.extend_i32_u (local.get $len)) (i64.const 65536))))
      (i32.store (i32.const 16) (i32.add (i32.add (local.get $obj) (i32.const 4)) (local.get $len)))
      (i32.store (i32.const 20) (i32.const 65536))
      (i32.store (i32.const 8) (local.get $site))
      (if (call $wasi.fd_read (local.get $fd) (i32.const 16) (i32.const 1) (i32.const 40))
        (then {E:3}))
      (local.set $n (i32.load (i32.const 40)))
      (br_if $eof (i32.eqz (local.get $n)))
      (local.set $len (i32.add (local.get $len) (local.get $n)))
      (br $more)))
  (i32.store (local.get $obj) (local.get $len))
  (global.set $rt.heap (i32.and (i32.add (i32.add (local.get $obj) (local.get $len))
    (i32.const 11)) (i32.const -8)))
  (i32.store (i32.const 8) (local.get $site))
  (drop (call $wasi.fd_close (local.get $fd)))
  (i32.const 4) (i64.extend_i32_u (local.get $obj)))

(func $rt.fs_write (param $pt i32) (param $p i64) (param $dt i32) (param $d i64)
  (param $site i32) (result i32 i64)
  (local $dir i32) (local $rel i32) (local $rlen i32) (local $e i32) (local $fd i32) (local $s i32)
  (if (i32.or (i32.ne (local.get $pt) (i32.const 3)) (i32.and (i32.ne (local.get $dt)
    (i32.const 3)) (i32.ne (local.get $dt) (i32.const 4)))) (then {E:0}))
  (call $rt.find_preopen (i32.wrap_i64 (local.get $p)) (local.get $site))
  (local.set $rlen)
  (local.set $rel)
  (local.set $dir)
  (i32.store (i32.const 8) (local.get $site))
  (local.set $e (call $wasi.path_open (local.get $dir) (i32.const 1) (local.get $rel)
    (local.get $rlen) (i32.const 9) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 40)))
  (if (i32.eq (local.get $e) (i32.const 44)) (then {E:2}))
  (if (local.get $e) (then {E:3}))
  (local.set $fd (i32.load (i32.const 40)))
  (local.set $s (i32.wrap_i64 (local.get $d)))
  (if (call $rt.write_all (local.get $fd) (i32.add (local.get $s) (i32.const 4))
        (i32.load (local.get $s)) (local.get $site))
    (then {E:3}))
  (i32.store (i32.const 8) (local.get $site))
  (drop (call $wasi.fd_close (local.get $fd)))
  (i32.const 0) (i64.const 0))

;; ---- processes ---------------------------------------------------------------------------
;; The host places stdout and stderr in guest memory with cabi_realloc (exported only by
;; programs that use proc.run). It allocates a str object and returns the address of its
;; bytes, so the output is already a str: rt.proc_str finds the header 4 bytes before.
(func $rt.cabi_realloc (export "cabi_realloc") (param $old i32) (param $old_size i32)
  (param $align i32) (param $size i32) (result i32)
  (local $p i32)
  (local.set $p (if (result i32) (i32.gt_u (local.get $align) (i32.const 4))
    (then (call $rt.alloc (local.get $size)))
    (else (i32.add (call $rt.str_new (local.get $size)) (i32.const 4)))))
  (if (local.get $old)
    (then (memory.copy (local.get $p) (local.get $old) (select (local.get $old_size)
      (local.get $size) (i32.lt_u (local.get $old_size) (local.get $size))))))
  (local.get $p))

(func $rt.proc_str (param $ptr i32) (param $len i32) (result i32)
  (local $p i32)
  (if (i32.eqz (local.get $len)) (then (return (i32.const {S:EMPTY}))))
  (if (i32.ge_u (local.get $ptr) (i32.const 4))
    (then
      (if (i32.eq (i32.load (i32.sub (local.get $ptr) (i32.const 4))) (local.get $len))
        (then (return (i32.sub (local.get $ptr) (i32.const 4)))))))
  (local.set $p (call $rt.str_new (local.get $len)))
  (memory.copy (i32.add (local.get $p) (i32.const 4)) (local.get $ptr) (local.get $len))
  (local.get $p))

(func $rt.proc_run (param $pt i32) (param $p i64) (param $at i32) (param $a i64)
  (param $site i32) (result i32 i64)
  (local $l i32) (local $n i32) (local $i i32) (local $e i32) (local $s i32) (local $pairs i32)
  (local $q i32) (local $prog i32) (local $code i32) (local $sig i32) (local $out i32)
  (if (i32.or (i32.ne (local.get $pt) (i32.const 3)) (i32.ne (local.get $at) (i32.const 5)))
    (then {E:0}))
  (local.set $l (i32.wrap_i64 (local.get $a)))
  (local.set $n (i32.load (local.get $l)))
  (local.set $pairs (call $rt.alloc (i32.shl (local.get $n) (i32.const 3))))
  (block $done
    (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $e (i32.add (i32.load offset=8 (local.get $l))
        (i32.shl (local.get $i) (i32.const 4))))
      (if (i32.ne (i32.load (local.get $e)) (i32.const 3)) (then {E:0}))
      (local.set $s (i32.wrap_i64 (i64.load offset=8 (local.get $e))))
      (local.set $q (i32.add (local.get $pairs) (i32.shl (local.get $i) (i32.const 3))))
      (i32.store (local.get $q) (i32.add (local.get $s) (i32.const 4)))
      (i32.store offset=4 (local.get $q) (i32.load (local.get $s)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
  (local.set $prog (i32.wrap_i64 (local.get $p)))
  (memory.fill (i32.const 192) (i32.const 0) (i32.const 32))
  (i32.store (i32.const 8) (local.get $site))
  (call $process.run (i32.add (local.get $prog) (i32.const 4)) (i32.load (local.get $prog))
    (local.get $pairs) (local.get $n) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
    (i32.const 0) (i32.const 0) (i64.const 0) (i32.const 192))
  (if (i32.load8_u (i32.const 192))
    (then
      (local.set $code (i32.load8_u offset=4 (i32.const 192)))
      (if (i32.eqz (local.get $code)) (then {E:1}))
      (if (i32.eq (local.get $code) (i32.const 1)) (then {E:2}))
      (if (i32.eq (local.get $code) (i32.const 2)) (then {E:3}))
      (if (i32.eq (local.get $code) (i32.const 3)) (then {E:4}))
      {E:5}))
  (local.set $sig (i32.load offset=8 (i32.const 192)))
  (local.set $out (call $rt.list_new (i32.const 3)))
  (call $rt.list_append (local.get $out) (i32.const 2)
    (select (i64.sub (i64.const 0) (i64.extend_i32_u (local.get $sig)))
      (i64.extend_i32_s (i32.load offset=4 (i32.const 192))) (local.get $sig)))
  (call $rt.list_append (local.get $out) (i32.const 3) (i64.extend_i32_u (call $rt.proc_str
    (i32.load offset=16 (i32.const 192)) (i32.load offset=20 (i32.const 192)))))
  (call $rt.list_append (local.get $out) (i32.const 3) (i64.extend_i32_u (call $rt.proc_str
    (i32.load offset=24 (i32.const 192)) (i32.load offset=28 (i32.const 192)))))
  (i32.const 5) (i64.extend_i32_u (local.get $out)))

;; ---- http --------------------------------------------------------------------------------
(func $rt.bytes_are (param $p i32) (param $n i32) (param $s i32) (result i32)
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
  (i32.const 1))

(func $rt.http_get (param $ut i32) (param $u i64) (param $site i32) (result i32 i64)
  (local $url i32) (local $cp i32) (local $cn i32) (local $out i32)
  (if (i32.ne (local.get $ut) (i32.const 3)) (then {E:0}))
  (local.set $url (i32.wrap_i64 (local.get $u)))
  (memory.fill (i32.const 192) (i32.const 0) (i32.const 24))
  (i32.store (i32.const 8) (local.get $site))
  (call $http.send (i32.add (i32.const {S:GET}) (i32.const 4)) (i32.const 3)
    (i32.add (local.get $url) (i32.const 4)) (i32.load (local.get $url))
    (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i64.const 0) (i32.const 192))
  (if (i32.load8_u (i32.const 192))
    (then
      (local.set $cp (i32.load offset=4 (i32.const 192)))
      (local.set $cn (i32.load offset=8 (i32.const 192)))
      ;; one test per code of builtins.HTTP_ERROR_CODES, then the error for any other
      {G:HTTP_ERRORS}))
  (local.set $out (call $rt.list_new (i32.const 2)))
  (call $rt.list_append (local.get $out) (i32.const 2)
    (i64.extend_i32_u (i32.load16_u offset=4 (i32.const 192))))
  (call $rt.list_append (local.get $out) (i32.const 3) (i64.extend_i32_u (call $rt.proc_str
    (i32.load offset=16 (i32.const 192)) (i32.load offset=20 (i32.const 192)))))
  (i32.const 5) (i64.extend_i32_u (local.get $out)))

(func $rt.http_post (param $ut i32) (param $u i64) (param $bt i32) (param $b i64) (param $site i32) (result i32 i64)
  (local $url i32) (local $cp i32) (local $cn i32) (local $out i32)
  (if (i32.or (i32.ne (local.get $ut) (i32.const 3)) (i32.and (i32.ne (local.get $bt) (i32.const 3)) (i32.ne (local.get $bt) (i32.const 4)))) (then {E:0}))
  (local.set $url (i32.wrap_i64 (local.get $u)))
  (memory.fill (i32.const 192) (i32.const 0) (i32.const 24))
  (i32.store (i32.const 8) (local.get $site))
  (call $http.send (i32.add (i32.const {S:POST}) (i32.const 4)) (i32.const 4)
    (i32.add (local.get $url) (i32.const 4)) (i32.load (local.get $url))
    (i32.const 0) (i32.const 0) (i32.add (i32.wrap_i64 (local.get $b)) (i32.const 4)) (i32.load (i32.wrap_i64 (local.get $b))) (i64.const 0) (i32.const 192))
  (if (i32.load8_u (i32.const 192))
    (then
      (local.set $cp (i32.load offset=4 (i32.const 192)))
      (local.set $cn (i32.load offset=8 (i32.const 192)))
      ;; one test per code of builtins.HTTP_ERROR_CODES, then the error for any other
      {G:HTTP_ERRORS}))
  (local.set $out (call $rt.list_new (i32.const 2)))
  (call $rt.list_append (local.get $out) (i32.const 2)
    (i64.extend_i32_u (i32.load16_u offset=4 (i32.const 192))))
  (call $rt.list_append (local.get $out) (i32.const 3) (i64.extend_i32_u (call $rt.proc_str
    (i32.load offset=16 (i32.const 192)) (i32.load offset=20 (i32.const 192)))))
  (i32.const 5) (i64.extend_i32_u (local.get $out)))

(func $rt.exit (param $t i32) (param $p i64) (param $site i32) (result i32 i64)
  (if (i32.ne (local.get $t) (i32.const 2)) (then {E:0}))
  (if (i64.gt_u (local.get $p) (i64.const 125)) (then {E:1}))
  (i32.store (i32.const 8) (local.get $site))
  (call $wasi.proc_exit (i32.wrap_i64 (local.get $p)))
  (unreachable))
