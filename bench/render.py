"""Render speed: the sample digest against telegramify-markdown, and `check` at archive scale.

Run: python -m bench.render   (telegramify-markdown is needed only here:
pip install telegramify-markdown). Prints figures; asserts nothing.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import frontmatter

from bench.corpus import write_corpus
from bot.digest import load_digest
from bot.render import TEXT_LIMIT, render_digest
from tests.samples import SAMPLE

RUNS = 300
CHECK_COUNT = 10_000


def median_ms(work: Callable[[], object], runs: int = RUNS) -> float:
    for _ in range(10):
        work()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def ours() -> object:
    return render_digest(load_digest(SAMPLE))


def telegramify() -> Callable[[], object] | None:
    try:
        import telegramify_markdown
    except ImportError:
        return None

    def work() -> object:
        post = frontmatter.load(str(SAMPLE))
        text, entities = telegramify_markdown.convert(post.content)
        return telegramify_markdown.split_entities(text, entities, TEXT_LIMIT)

    return work


def check_at_scale(count: int) -> tuple[float, str]:
    with tempfile.TemporaryDirectory() as folder:
        write_corpus(Path(folder), count)
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "bot", "check", folder],
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - start
    return elapsed, done.stdout.strip().splitlines()[-1]


def main() -> None:
    rendering = ours()
    print(f"sample: {len(rendering.messages)} messages")  # type: ignore[attr-defined]
    mine = median_ms(ours)
    print(f"load + render sample, digest-bot:          {mine:7.3f} ms (median of {RUNS})")
    baseline = telegramify()
    if baseline is None:
        print("telegramify-markdown not installed: pip install telegramify-markdown")
    else:
        theirs = median_ms(baseline)
        print(f"load + convert + split, telegramify-markdown: {theirs:7.3f} ms (median of {RUNS})")
        print(f"ratio digest-bot / telegramify-markdown:    {mine / theirs:7.2f}x (target <= 1.5x)")
    count = int(sys.argv[1]) if len(sys.argv) > 1 else CHECK_COUNT
    elapsed, summary = check_at_scale(count)
    print(f"`digest-bot check` over {count:,} generated digests: {elapsed:.1f} s ({summary})")
    print(f"  per digest: {elapsed / count * 1000:.2f} ms (target: {CHECK_COUNT:,} under 60 s)")


if __name__ == "__main__":
    main()
