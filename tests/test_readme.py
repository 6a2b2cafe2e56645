"""The README's "Use" block, run as a user types it: each paragraph in a fresh directory laid
out like the repository's top (``guests/``, ``examples/``, a git history), each line with bash,
and what the comments promise checked (a replay prints what its recording printed)."""

from __future__ import annotations

import functools
import http.server
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import ROOT

SERVER_PORT = "8765"
"""The port the README's HTTP example names; the test serves on a free one instead."""


@functools.cache
def paragraphs() -> list[list[str]]:
    """The Use block's paragraphs: lists of command lines (continuations joined, comments
    kept)."""
    text = (ROOT / "README.md").read_text()
    use = text[text.index("## Use\n") :]
    block = use[use.index("```sh\n") + len("```sh\n") :]
    block = block[: block.index("```")]
    found: list[list[str]] = [[]]
    for line in block.replace("\\\n", " ").splitlines():
        if line.strip():
            found[-1].append(line.strip())
        elif found[-1]:
            found.append([])
    return [p for p in found if p]


def command(line: str) -> str:
    """A line without its trailing comment (two spaces or more, then `#`)."""
    return re.split(r"\s{2,}#", line, maxsplit=1)[0].strip()


# What a line must end with, besides status 0: (a piece of the command, statuses, stdout has).
EXPECT: list[tuple[str, set[int], str]] = [
    ("record guests/build/flaky.wasm", {0, 1}, ""),  # fails one run in 32
    ("hunt guests/build/flaky.wasm", {0}, "found a failure after"),
    ("replay guests/build/greet.wasm", {0}, "hello, ann"),
    ("-t bad-run.cbor", {134}, ""),
    ("diff good-run.cbor bad-run.cbor", {1}, "first divergence at seq"),
    ("replay guests/build/wordcount.wasm", {0}, "words: 4"),
    ("run examples/hello.tape", {0}, "hello, ann"),
    ("run examples/gitlog.tape", {0}, "the first commit"),
    ("jq .kind", {0}, '"cli.args"'),
    ("run examples/weather.tape", {0}, ": status 200,"),
    ("wasm-rr fuzz", {1}, "distinct crash"),
    ("echo BUG |", {134}, ""),
    ("wasm-rr minimize", {0}, "same crash site"),
]


def expected(line: str) -> tuple[set[int], str]:
    for piece, statuses, out in EXPECT:
        if piece in command(line):
            return statuses, out
    return {0}, ""


def test_the_checks_name_lines_that_exist() -> None:
    lines = [command(line) for p in paragraphs() for line in p]
    for piece, _, _ in EXPECT:
        assert any(piece in line for line in lines), piece
    assert len(paragraphs()) >= 9


@pytest.fixture
def top(tmp_path: Path) -> Iterator[Path]:
    """A directory like the repository's top, and a `wasm-rr` on PATH running this checkout."""
    (tmp_path / "guests").symlink_to(ROOT / "guests")
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    git = {"GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@b", "GIT_COMMITTER_NAME": "a"}
    git_env = {**os.environ, **git, "GIT_COMMITTER_EMAIL": "a@b"}
    for args in (["init", "-q"], ["commit", "-q", "--allow-empty", "-m", "the first commit"]):
        subprocess.run(["git", *args], cwd=tmp_path, env=git_env, check=True)
    yield tmp_path


def bin_dir(tmp_path: Path) -> Path:
    """A `wasm-rr` script running this checkout's Python (as `make` installs into .venv/bin)."""
    where = tmp_path.parent / f"{tmp_path.name}-bin"
    where.mkdir()
    script = where / "wasm-rr"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m wasm_rr "$@"\n')
    script.chmod(0o755)
    return where


def serve(directory: Path) -> http.server.ThreadingHTTPServer:
    """What `python3 -m http.server` does, on a free port, in this process."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.parametrize(
    "paragraph", paragraphs(), ids=lambda p: " ".join(shlex.split(command(p[0]))[:3])
)
def test_the_readme_use_block_runs(top: Path, paragraph: list[str]) -> None:
    if shutil.which("jq") is None and any("| jq" in line for line in paragraph):
        pytest.skip("no jq")
    env = {k: v for k, v in os.environ.items() if k != "NAME"}
    env["PATH"] = f"{bin_dir(top)}:{env.get('PATH', '')}"
    server: http.server.ThreadingHTTPServer | None = None
    recorded: dict[str, tuple[int, str]] = {}
    try:
        for line in paragraph:
            cmd = command(line)
            if cmd.startswith("python3 -m http.server"):
                server = serve(top)
                continue
            if server is not None:
                cmd = cmd.replace(SERVER_PORT, str(server.server_address[1]))
            done = subprocess.run(
                ["bash", "-c", cmd], cwd=top, env=env, capture_output=True, text=True, timeout=120
            )
            statuses, out = expected(line)
            assert done.returncode in statuses, (cmd, done.returncode, done.stderr)
            assert out in done.stdout, (cmd, done.stdout)
            assert "Traceback" not in done.stderr, (cmd, done.stderr)
            words = shlex.split(cmd.split("|")[-1])
            verb = next((w for w in words if w in ("record", "run", "replay")), None)
            if verb in ("record", "run") and "-t" in words:
                recorded[words[words.index("-t") + 1]] = (done.returncode, done.stdout)
            if verb == "replay" and words[-1] in recorded:
                # A replay prints what its recording printed, and ends the same.
                assert (done.returncode, done.stdout) == recorded[words[-1]], cmd
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()


def test_the_readme_lists_every_doc() -> None:
    readme = (ROOT / "README.md").read_text()
    listed = readme[readme.index("## Documentation") :]
    docs = sorted(p.name for p in (ROOT / "docs").glob("*.md"))
    assert "http.md" in docs and "process.md" in docs
    for name in docs:
        assert f"[docs/{name}](docs/{name})" in listed, name
    use = " ".join(command(line) for p in paragraphs() for line in p)
    for option in ("--allow-run", "--allow-http", "--run-wasm", "--env", "--dir", "--embed-guest"):
        assert option in use, option


def test_the_docs_quote_one_speed_for_hunting() -> None:
    """docs/hunting.md and docs/library.md quote the figures of one benchmarks/hunt.py run."""

    def figures(name: str) -> tuple[str, str, str]:
        text = " ".join((ROOT / "docs" / name).read_text().split())
        per_second = re.search(r"about ([\d,]+) runs a second", text)
        per_run = re.search(r"([\d.]+) ms", text)
        loop = re.search(r"about (\d+) a second for a shell loop", text)
        assert per_second and per_run and loop, name
        return per_second[1], per_run[1], loop[1]

    assert figures("hunting.md") == figures("library.md")
