"""Render speed: the sample digest against telegramify-markdown, `check` at archive scale,
and how render time grows with the size of a body (it should be at most linear).

Run: python -m bench.render   (telegramify-markdown is needed only here:
pip install telegramify-markdown). Prints figures; asserts nothing.
"""

from __future__ import annotations

import gc
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import frontmatter

from bench.corpus import write_corpus
from bot.digest import Digest, load_digest
from bot.render import TEXT_LIMIT, render_digest
from tests.samples import SAMPLE

RUNS = 300
CHECK_COUNT = 10_000
GROWTH_SIZES = (10_000, 100_000, 1_000_000)  # bytes of body


def median_ms(work: Callable[[], object], runs: int = RUNS, warmup: int = 10) -> float:
    for _ in range(warmup):
        work()
    gc.collect()  # garbage of earlier figures must not be collected inside these
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


def body_of(size: int) -> str:
    """A body of about `size` bytes shaped like real dailies: Markdown, HTML and tables."""
    block = (
        "## 第{n}部分\n\n### 条目 {n}\n\n谷歌正式推出 **Gemini 3.1 Pro**，"
        "其中，**检索增强生成（RAG）**技术 [链接](https://example.com/{n}) 性能翻倍。\n\n"
        "- 要点一\n- 要点二 `code`\n\n"
        "| 项目 | 说明 |\n|---|---|\n| [a/b](https://github.com/a/b) | **快** |\n\n"
        '<ul>\n<li><a href="https://e.com/{n}">HTML 链接</a></li>\n<li><b>粗</b></li>\n</ul>\n\n'
    )
    parts, total, n = [], 0, 0
    while total < size:
        part = block.format(n=n)
        parts.append(part)
        total += len(part.encode())
        n += 1
    return "".join(parts)


def growth() -> list[tuple[int, float]]:
    """(body bytes, render ms) for each size; the message cap is lifted to render them all."""
    sample = load_digest(SAMPLE)
    figures = []
    for size in GROWTH_SIZES:
        digest = Digest(**{**_fields(sample), "body": body_of(size)})
        runs = max(5, 30 * GROWTH_SIZES[0] // size)
        work = partial(render_digest, digest, max_messages=1_000_000)
        ms = median_ms(work, runs=runs, warmup=1)
        figures.append((size, ms))
    return figures


def _fields(digest: Digest) -> dict[str, object]:
    return {name: getattr(digest, name) for name in Digest.__dataclass_fields__}


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
    previous = None
    for size, ms in growth():
        ratio = (
            f"  x{ms / previous[1]:.1f} for x{size / previous[0]:.0f} the size" if previous else ""
        )
        print(f"render a {size // 1000:>5,} KB body: {ms:9.1f} ms{ratio}")
        previous = (size, ms)
    count = int(sys.argv[1]) if len(sys.argv) > 1 else CHECK_COUNT
    elapsed, summary = check_at_scale(count)
    print(f"`digest-bot check` over {count:,} generated digests: {elapsed:.1f} s ({summary})")
    print(f"  per digest: {elapsed / count * 1000:.2f} ms (target: {CHECK_COUNT:,} under 60 s)")


if __name__ == "__main__":
    main()
