"""Generated digests shaped like the real one, for benchmarks at archive scale."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

TOPICS = ["模型", "融资", "芯片", "开源", "机器人", "监管", "Agent", "多模态", "推理", "数据中心"]
COMPANIES = ["OpenAI", "Anthropic", "Google", "Meta", "英伟达", "智谱", "DeepSeek", "xAI", "微软"]
TAGS = ["AI", "AI 日报", "大模型", "融资", "开源", "芯片", "机器人", "Agent", "多模态", "监管"]


def sentence(rng: random.Random) -> str:
    company, topic = rng.choice(COMPANIES), rng.choice(TOPICS)
    number = rng.randint(1, 999)
    return rng.choice(
        [
            f"{company} 发布新一代{topic}方案，性能提升 {number}%，成本下降一半。",
            f"据知情人士透露，{company} 正在推进 {number} 亿美元的{topic}项目 🚀。",
            f"**深度解读：** {company} 在{topic}领域的布局反映了行业的新趋势。",
            f"[{company} 官方博客](https://example.com/{number}) 表示，{topic}将在今年落地。",
        ]
    )


def digest_text(index: int, rng: random.Random) -> tuple[str, str]:
    """(file name, file text) of one digest."""
    date = dt.date(2000, 1, 1) + dt.timedelta(days=index)
    tags = rng.sample(TAGS, k=rng.randint(1, 4))
    summary = "\n".join(f"- {sentence(rng)}" for _ in range(rng.randint(3, 6)))
    sections = []
    for s in range(rng.randint(3, 5)):
        items = []
        for i in range(rng.randint(2, 4)):
            bullets = "\n".join(f"- {sentence(rng)}" for _ in range(rng.randint(0, 3)))
            paragraphs = " ".join(sentence(rng) for _ in range(rng.randint(2, 6)))
            heading = f"### {rng.choice(COMPANIES)} {rng.choice(TOPICS)} 动态 {i}"
            items.append(f"{heading}\n\n{paragraphs}\n\n{bullets}")
        sections.append(f"## 第 {s + 1} 部分：{rng.choice(TOPICS)}\n\n" + "\n\n---\n\n".join(items))
    title = f"{rng.choice(COMPANIES)} {rng.choice(TOPICS)}日报 #{index}"
    text = (
        "---\n"
        f"title: {json.dumps(title, ensure_ascii=False)}\n"
        f"date: {date.isoformat()}\n"
        "category: AI 日报\n"
        f"tags: {json.dumps(tags, ensure_ascii=False)}\n"
        f'coverImage: "https://example.com/covers/{index}.png"\n'
        f"summary: {json.dumps(summary, ensure_ascii=False)}\n"
        "---\n"
        f"# {title}\n\n" + "\n\n".join(sections) + "\n"
    )
    return f"{date.isoformat()}-digest-{index}.md", text


def write_corpus(folder: Path, count: int, *, seed: int = 1) -> list[Path]:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        name, text = digest_text(index, rng)
        path = folder / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths
