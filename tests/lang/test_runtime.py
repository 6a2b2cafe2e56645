"""What compiled programs do: values, operators and builtins (run under wasmtime's WASI)."""

from __future__ import annotations

import pytest

from .helpers import run


def lines(source: str) -> list[str]:
    result = run(source)
    assert result.status == 0, result.err or result.trap
    return result.out.splitlines()


def test_ints_wrap_and_divide_like_wasm() -> None:
    assert lines(
        """
        print(7 / 2); print(-7 / 2); print(7 / -2); print(7 % 3); print(-7 % 3); print(7 % -3)
        let big = 9223372036854775807
        print(big + 1); print(-big - 1); print((-big - 1) / -1); print((-big - 1) % -1)
        print(big * 2); print(-(-big - 1)); print(3 - 5 * 2)
        """
    ) == [
        "3", "-3", "-3", "1", "-1", "1",
        "-9223372036854775808", "-9223372036854775808", "-9223372036854775808", "0",
        "-2", "-9223372036854775808", "-7",
    ]  # fmt: skip


def test_strings_and_str() -> None:
    assert lines(
        """
        print("a" + "b" + str(1) + str(true) + str(false))
        print(str([1, "two", [true, 3], []]))
        print(len("héllo")); print(str(-42)); print(str(""))
        let s = "x"; s = s + s; s = s + s; print(s)
        print("tab\\there \\"quoted\\" \\x41")
        print(str(print("side effect")))
        """
    ) == [
        "ab1truefalse",
        '[1, "two", [true, 3], []]',
        "6", "-42", "",
        "xxxx",
        'tab\there "quoted" A',
        "side effect",
        "nil",
    ]  # fmt: skip


def test_comparisons_and_equality() -> None:
    assert lines(
        """
        print(1 < 2); print(2 <= 2); print(3 > 4); print(4 >= 5)
        print("abc" < "abd"); print("ab" < "abc"); print("b" > "abc"); print("" == "")
        print(1 == "1"); print(1 != "1"); print([1, [2]] == [1, [2]]); print([1] == [2])
        print(true == true); print(true == 1); print("a" == "a"); print([] != [])
        """
    ) == [
        "true", "true", "false", "false",
        "true", "true", "true", "true",
        "false", "true", "true", "false",
        "true", "false", "true", "false",
    ]  # fmt: skip


def test_logic_short_circuits() -> None:
    assert lines(
        """
        fn loud(x) { print("called"); return x }
        print(false and loud(true)); print(true or loud(false))
        print(true and loud(false)); print(not (1 < 2) or loud(true))
        let t = true
        if t and not false { print("yes") }
        """
    ) == ["false", "true", "called", "false", "called", "true", "yes"]


def test_control_flow() -> None:
    assert lines(
        """
        let out = ""
        for i in 0..10 {
            if i == 2 { continue }
            if i == 6 { break }
            out = out + str(i)
        }
        print(out)
        for i in 5..2 { print("never") }
        let n = 3
        for i in 0..n { n = 0; io.write(i) }
        print("")
        let k = 0
        while true { k = k + 1; if k < 5 { continue } break }
        print(k)
        for i in 0..3 { i = 10; io.write(i) }
        print("")
        """
    ) == ["01345", "012", "5", "101010"]


def test_functions_recursion_and_globals() -> None:
    assert lines(
        """
        fn fib(k) { if k < 2 { return k } return fib(k - 1) + fib(k - 2) }
        fn bump() { counter = counter + 1 }
        fn nothing() { }
        fn even(n) { if n == 0 { return true } return odd(n - 1) }
        fn odd(n) { if n == 0 { return false } return even(n - 1) }
        fn early() { for i in 0..10 { if i == 3 { return i } } return -1 }
        let counter = 0
        bump(); bump()
        print(fib(20)); print(counter); print(nothing()); print(even(10)); print(early())
        """
    ) == ["6765", "2", "nil", "true", "3"]


def test_lists() -> None:
    assert lines(
        """
        let xs = [1, 2, 3]; push(xs, 4); print(len(xs)); print(xs[0]); print(xs[3])
        xs[1] = "two"; print(xs)
        let ys = xs; push(ys, 5); print(len(xs))
        let grid = [[0, 0], [0, 0]]; grid[1][0] = 7; print(grid)
        let big = []
        for i in 0..1000 { push(big, i * i) }
        print(len(big)); print(big[999])
        let nested = [[1, [2]], "s"]; print(nested[0][1][0])
        """
    ) == ["4", "1", "4", '[1, "two", 3, 4]', "5", "[[0, 0], [7, 0]]", "1000", "998001", "2"]


def test_int_parsing() -> None:
    assert lines(
        """
        print(int("42")); print(int("-17")); print(int("+5")); print(int("  12\\n"))
        print(int("9223372036854775807")); print(int("-9223372036854775808"))
        print(int(7)); print(int(true)); print(int(false))
        """
    ) == ["42", "-17", "5", "12", "9223372036854775807", "-9223372036854775808", "7", "1", "0"]


def test_args_and_env() -> None:
    result = run(
        """
        print(args.count()); print(args.get(0)); print(args.get(1)); print(args.get(2) == "")
        print(args.get(-1) == ""); print(env.get("A")); print(env.get("AB"))
        print(env.get("B") == "")
        """,
        args=["first"],
        env={"AB": "2", "A": "1=x"},
    )
    assert result.out.splitlines() == [
        "2",
        "prog.wasm",
        "first",
        "true",
        "true",
        "1=x",
        "2",
        "true",
    ]


def test_random_clock_and_sleep() -> None:
    result = run(
        """
        let ok = true
        for i in 0..200 {
            let r = random.bits(3)
            if r < 0 or r > 7 { ok = false }
        }
        let big = random.bits(62)
        print(ok); print(big >= 0)
        let t0 = clock.now()
        time.sleep(20)
        time.sleep(-5)
        print(clock.now() - t0 >= 20)
        print(t0 > 1600000000000)
        """
    )
    assert result.out.splitlines() == ["true", "true", "true", "true"]


def test_exit() -> None:
    result = run('print("before"); exit(3); print("after")')
    assert (result.status, result.out) == (3, "before\n")
    result = run('if true { exit(0) } print("after")')
    assert (result.status, result.out) == (0, "")
    assert run("exit(125)").status == 125


def test_files(tmp_path: pytest.TempPathFactory) -> None:
    from pathlib import Path

    root = Path(str(tmp_path))
    (root / "in.txt").write_bytes(b"abc\xff\n")
    result = run(
        """
        let data = fs.read("/data/in.txt")
        print(len(data)); print(byte_at(data, 3)); print(byte_at("A", 0))
        fs.write("/data/out.txt", "copy: " + str(data))
        fs.write("/data/bytes.bin", data + data)
        fs.write("/data/empty.txt", "")
        print(fs.read("/data/out.txt") == fs.read("/data/out.txt"))
        print(str(fs.read("/data/empty.txt")) == "")
        """,
        preopens=[(root, "/data")],
    )
    assert result.status == 0, result.err
    assert result.out.splitlines() == ["5", "255", "65", "true", "true"]
    assert (root / "out.txt").read_bytes() == b"copy: abc\xff\n"
    assert (root / "bytes.bin").read_bytes() == b"abc\xff\n" * 2
    assert (root / "empty.txt").read_bytes() == b""


def test_large_file(tmp_path: pytest.TempPathFactory) -> None:
    from pathlib import Path

    root = Path(str(tmp_path))
    blob = bytes(range(256)) * 1200  # 300 KiB: several reads and a memory.grow
    (root / "big.bin").write_bytes(blob)
    result = run(
        """
        let d = fs.read("big.bin")
        print(len(d)); print(byte_at(d, 307199))
        fs.write("copy.bin", d)
        """,
        preopens=[(root, ".")],
    )
    assert result.out.splitlines() == ["307200", "255"]
    assert (root / "copy.bin").read_bytes() == blob


def test_printing_in_a_loop_does_not_grow_memory() -> None:
    # print(x) and io.write(x) free what they allocate (str(x) and the line); there is no
    # collector for what the program itself allocates.
    result = run("for i in 0..20000 { print(i); io.write(-i) }")
    assert result.status == 0 and result.out.count("\n") == 20000
    assert result.pages == 1
