"""CJK-friendly emphasis: the amendment's own examples, as markdown-it-cjk-friendly renders them.

Inputs are the paragraphs of `testcases/*.md` and the expected HTML the lines of
`packages/markdown-it-cjk-friendly/test/__snapshots__/markdownIt.spec.ts.snap` in
https://github.com/tats-u/markdown-cjk-friendly (MIT).
"""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt

from bot.render import render_markdown
from bot.render.cjk import cjk_friendly_emphasis
from tests.unit.test_render import assert_valid, spans

AMENDMENT_EXAMPLES = [
    (
        "これは**私のやりたかったこと。**だからするの。",
        "<p>これは<strong>私のやりたかったこと。</strong>だからするの。</p>",
    ),  # strong.md
    (
        "**[製品ほげ](./product-foo)**と**[製品ふが](./product-bar)**をお試しください",
        '<p><strong><a href="./product-foo">製品ほげ</a></strong>と<strong><a href="./product-bar">製品ふが</a></strong>をお試しください</p>',  # noqa: E501
    ),  # strong.md
    (
        "単語と**[単語と](word-and)**単語",
        '<p>単語と<strong><a href="word-and">単語と</a></strong>単語</p>',
    ),  # strong.md
    (
        "**これは太字になりません。**ご注意ください。",
        "<p><strong>これは太字になりません。</strong>ご注意ください。</p>",
    ),  # strong.md
    (
        "カッコに注意**（太字にならない）**文が続く場合に要警戒。",
        "<p>カッコに注意<strong>（太字にならない）</strong>文が続く場合に要警戒。</p>",
    ),  # strong.md
    (
        "**[リンク](https://example.com)**も注意。（画像も同様）",
        '<p><strong><a href="https://example.com">リンク</a></strong>も注意。（画像も同様）</p>',
    ),  # strong.md
    (
        "先頭の**\\`コード\\`も注意。**",
        "<p>先頭の<strong>`コード`も注意。</strong></p>",
    ),  # strong.md
    (
        "**末尾の\\`コード\\`**も注意。",
        "<p><strong>末尾の`コード`</strong>も注意。</p>",
    ),  # strong.md
    (
        "税込**¥10,000**で入手できます。",
        "<p>税込<strong>¥10,000</strong>で入手できます。</p>",
    ),  # strong.md
    ("正解は**④**です。", "<p>正解は<strong>④</strong>です。</p>"),  # strong.md
    (
        "太郎は**「こんにちわ」**といった",
        "<p>太郎は<strong>「こんにちわ」</strong>といった</p>",
    ),  # strong.md
    (
        '太郎は**"こんにちわ"**といった',
        "<p>太郎は<strong>&quot;こんにちわ&quot;</strong>といった</p>",
    ),  # strong.md
    (
        "太郎は**こんにちわ**といった",
        "<p>太郎は<strong>こんにちわ</strong>といった</p>",
    ),  # strong.md
    ("太郎は**「Hello」**といった", "<p>太郎は<strong>「Hello」</strong>といった</p>"),  # strong.md
    (
        '太郎は**"Hello"**といった',
        "<p>太郎は<strong>&quot;Hello&quot;</strong>といった</p>",
    ),  # strong.md
    ("太郎は**Hello**といった", "<p>太郎は<strong>Hello</strong>といった</p>"),  # strong.md
    (
        "太郎は**「Oh my god」**といった",
        "<p>太郎は<strong>「Oh my god」</strong>といった</p>",
    ),  # strong.md
    (
        '太郎は**"Oh my god"**といった',
        "<p>太郎は<strong>&quot;Oh my god&quot;</strong>といった</p>",
    ),  # strong.md
    ("太郎は**Oh my god**といった", "<p>太郎は<strong>Oh my god</strong>といった</p>"),  # strong.md
    (
        "**C#**や**F#**は**「.NET」**というプラットフォーム上で動作します。",
        "<p><strong>C#</strong>や<strong>F#</strong>は<strong>「.NET」</strong>というプラットフォーム上で動作します。</p>",
    ),  # strong.md
    ("IDが**001号**になります。", "<p>IDが<strong>001号</strong>になります。</p>"),  # strong.md
    (
        "IDが**００１号**になります。",
        "<p>IDが<strong>００１号</strong>になります。</p>",
    ),  # strong.md
    (
        "Go**「初心者」**を対象とした記事です。",
        "<p>Go<strong>「初心者」</strong>を対象とした記事です。</p>",
    ),  # strong.md
    (
        "**[リンク](https://example.com)**も注意。",
        '<p><strong><a href="https://example.com">リンク</a></strong>も注意。</p>',
    ),  # strong.md
    ("**⻲田太郎**と申します", "<p><strong>⻲田太郎</strong>と申します</p>"),  # strong.md
    ("・**㋐**:選択肢１つ目", "<p>・<strong>㋐</strong>:選択肢１つ目</p>"),  # strong.md
    ("**真，**她", "<p><strong>真，</strong>她</p>"),  # strong.md
    ("**真。**她", "<p><strong>真。</strong>她</p>"),  # strong.md
    ("**真、**她", "<p><strong>真、</strong>她</p>"),  # strong.md
    ("**真；**她", "<p><strong>真；</strong>她</p>"),  # strong.md
    ("**真：**她", "<p><strong>真：</strong>她</p>"),  # strong.md
    ("**真？**她", "<p><strong>真？</strong>她</p>"),  # strong.md
    ("**真！**她", "<p><strong>真！</strong>她</p>"),  # strong.md
    ("**真“**她", "<p><strong>真“</strong>她</p>"),  # strong.md
    ("**真”**她", "<p><strong>真”</strong>她</p>"),  # strong.md
    ("**真‘**她", "<p><strong>真‘</strong>她</p>"),  # strong.md
    ("**真’**她", "<p><strong>真’</strong>她</p>"),  # strong.md
    ("**真（**她", "<p><strong>真（</strong>她</p>"),  # strong.md
    ("真**（她**", "<p>真<strong>（她</strong></p>"),  # strong.md
    ("**真）**她", "<p><strong>真）</strong>她</p>"),  # strong.md
    ("**真【**她", "<p><strong>真【</strong>她</p>"),  # strong.md
    ("真**【她**", "<p>真<strong>【她</strong></p>"),  # strong.md
    ("**真】**她", "<p><strong>真】</strong>她</p>"),  # strong.md
    ("**真《**她", "<p><strong>真《</strong>她</p>"),  # strong.md
    ("真**《她**", "<p>真<strong>《她</strong></p>"),  # strong.md
    ("**真》**她", "<p><strong>真》</strong>她</p>"),  # strong.md
    ("**真—**她", "<p><strong>真—</strong>她</p>"),  # strong.md
    ("**真～**她", "<p><strong>真～</strong>她</p>"),  # strong.md
    ("**真…**她", "<p><strong>真…</strong>她</p>"),  # strong.md
    ("**真·**她", "<p><strong>真·</strong>她</p>"),  # strong.md
    ("**真〃**她", "<p><strong>真〃</strong>她</p>"),  # strong.md
    ("**真-**她", "<p><strong>真-</strong>她</p>"),  # strong.md
    ("**真々**她", "<p><strong>真々</strong>她</p>"),  # strong.md
    ("**真**她", "<p><strong>真</strong>她</p>"),  # strong.md
    ("**真，** 她", "<p><strong>真，</strong> 她</p>"),  # strong.md
    ("**真**，她", "<p><strong>真</strong>，她</p>"),  # strong.md
    ("**真，**&ZeroWidthSpace;她", "<p><strong>真，</strong>​她</p>"),  # strong.md
    ("私は**⻲田太郎**と申します", "<p>私は<strong>⻲田太郎</strong>と申します</p>"),  # strong.md
    ("選択肢**㋐**: 1つ目の選択肢", "<p>選択肢<strong>㋐</strong>: 1つ目の選択肢</p>"),  # strong.md
    (
        "**さようなら︙**と太郎はいった。",
        "<p><strong>さようなら︙</strong>と太郎はいった。</p>",
    ),  # strong.md
    (
        ".NET**（.NET Frameworkは不可）**では、",
        "<p>.NET<strong>（.NET Frameworkは不可）</strong>では、</p>",
    ),  # strong.md
    (
        "「禰󠄀」の偏は示ではなく**礻**です。",
        "<p>「禰󠄀」の偏は示ではなく<strong>礻</strong>です。</p>",
    ),  # strong.md
    ("Git**（注：不是GitHub）**", "<p>Git<strong>（注：不是GitHub）</strong></p>"),  # strong.md
    (
        "太郎は**「こんにちわ」**といった。",
        "<p>太郎は<strong>「こんにちわ」</strong>といった。</p>",
    ),  # strong.md
    ("𰻞𰻞**（ビャンビャン）**麺", "<p>𰻞𰻞<strong>（ビャンビャン）</strong>麺</p>"),  # strong.md
    ("𰻞𰻞**(ビャンビャン)**麺", "<p>𰻞𰻞<strong>(ビャンビャン)</strong>麺</p>"),  # strong.md
    (
        "ハイパーテキストコーヒーポット制御プロトコル**(HTCPCP)**",
        "<p>ハイパーテキストコーヒーポット制御プロトコル<strong>(HTCPCP)</strong></p>",
    ),  # strong.md
    ("﨑**(崎)**", "<p>﨑<strong>(崎)</strong></p>"),  # strong.md
    (
        "国際規格**[ECMA-262](https://tc39.es/ecma262/)**",
        '<p>国際規格<strong><a href="https://tc39.es/ecma262/">ECMA-262</a></strong></p>',
    ),  # strong.md
    ("㐧**(第の俗字)**", "<p>㐧<strong>(第の俗字)</strong></p>"),  # strong.md
    ("𠮟**(こちらが正式表記)**", "<p>𠮟<strong>(こちらが正式表記)</strong></p>"),  # strong.md
    ("𪜈**(トモの合略仮名)**", "<p>𪜈<strong>(トモの合略仮名)</strong></p>"),  # strong.md
    ("𫠉**(馬の俗字)**", "<p>𫠉<strong>(馬の俗字)</strong></p>"),  # strong.md
    ("谺𬤲**(こだま)**石神社", "<p>谺𬤲<strong>(こだま)</strong>石神社</p>"),  # strong.md
    ("石𮧟**(いしただら)**", "<p>石𮧟<strong>(いしただら)</strong></p>"),  # strong.md
    (
        "**推荐几个框架：**React、Vue等前端框架。",
        "<p><strong>推荐几个框架：</strong>React、Vue等前端框架。</p>",
    ),  # strong.md
    (
        "葛󠄀**(こちらが正式表記)**城市",
        "<p>葛󠄀<strong>(こちらが正式表記)</strong>城市</p>",
    ),  # strong.md
    (
        "禰󠄀**(こちらが正式表記)**豆子",
        "<p>禰󠄀<strong>(こちらが正式表記)</strong>豆子</p>",
    ),  # strong.md
    ("𱟛**(U+317DB)**", "<p>𱟛<strong>(U+317DB)</strong></p>"),  # strong.md
    (
        "阿寒湖アイヌシアターイコㇿ**(Akanko Ainu Theater Ikor)**",
        "<p>阿寒湖アイヌシアターイコㇿ<strong>(Akanko Ainu Theater Ikor)</strong></p>",
    ),  # strong.md
    ("あ𛀙**(か)**よろし", "<p>あ𛀙<strong>(か)</strong>よろし</p>"),  # strong.md
    (
        "𮹝**(simplified form of 龘 in China)**",
        "<p>𮹝<strong>(simplified form of 龘 in China)</strong></p>",
    ),  # strong.md
    (
        "大塚︀**(U+585A U+FE00)** 大塚**(U+FA10)**",
        "<p>大塚︀<strong>(U+585A U+FE00)</strong> 大塚<strong>(U+FA10)</strong></p>",
    ),  # strong.md
    ("〽︎**(庵点)**は、", "<p>〽︎<strong>(庵点)</strong>は、</p>"),  # strong.md
    ("**“︁Git”︁**Hub", "<p><strong>“︁Git”︁</strong>Hub</p>"),  # strong.md
    (
        "**이 [링크](https://example.kr/)**만을 강조하고 싶다.",
        '<p><strong>이 <a href="https://example.kr/">링크</a></strong>만을 강조하고 싶다.</p>',
    ),  # korean.md
    ("**스크립트(script)**라고", "<p><strong>스크립트(script)</strong>라고</p>"),  # korean.md
    (
        "패키지를 발행하려면 **`npm publish`**를 실행하십시오.",
        "<p>패키지를 발행하려면 <strong><code>npm publish</code></strong>를 실행하십시오.</p>",
    ),  # korean.md
    ("**안녕(hello)**하세요.", "<p><strong>안녕(hello)</strong>하세요.</p>"),  # korean.md
    ("ᅡ**(a)**", "<p>ᅡ<strong>(a)</strong></p>"),  # korean.md
    ("**(k)**ᄏ", "<p><strong>(k)</strong>ᄏ</p>"),  # korean.md
    ("a**〰**a", "<p>a<strong>〰</strong>a</p>"),  # pseudo-emoji.md
    ("a**〽**a", "<p>a<strong>〽</strong>a</p>"),  # pseudo-emoji.md
    ("a**🈂**a", "<p>a<strong>🈂</strong>a</p>"),  # pseudo-emoji.md
    ("a**🈷**a", "<p>a<strong>🈷</strong>a</p>"),  # pseudo-emoji.md
    ("a**㊗**a", "<p>a<strong>㊗</strong>a</p>"),  # pseudo-emoji.md
    ("a**㊙**a", "<p>a<strong>㊙</strong>a</p>"),  # pseudo-emoji.md
    ("__注意__：注意事項", "<p><strong>注意</strong>：注意事項</p>"),  # underscore-cjk-punct.md
    ("注意：__注意事項__", "<p>注意：<strong>注意事項</strong></p>"),  # underscore-cjk-punct.md
    ("正體字。︁_Traditional._", "<p>正體字。︁<em>Traditional.</em></p>"),  # underscore-cjk-punct.md
    (
        "正體字。︁__Hong Kong and Taiwan.__",
        "<p>正體字。︁<strong>Hong Kong and Taiwan.</strong></p>",
    ),  # underscore-cjk-punct.md
    (
        "简体字 / 新字体。︀_Simplified._",
        "<p>简体字 / 新字体。︀<em>Simplified.</em></p>",
    ),  # underscore-cjk-punct.md
    (
        "简体字 / 新字体。︀__Mainland China or Japan.__",
        "<p>简体字 / 新字体。︀<strong>Mainland China or Japan.</strong></p>",
    ),  # underscore-cjk-punct.md
    ("“︁Git”︁__Hub__", "<p>“︁Git”︁<strong>Hub</strong></p>"),  # underscore-cjk-punct.md
    ("a**a«**a", "<p>a**a«**a</p>"),  # non-bmp.md
    ("a**»a**a", "<p>a**»a**a</p>"),  # non-bmp.md
    ("a**a∇**a", "<p>a**a∇**a</p>"),  # non-bmp.md
    ("a**∇a**a", "<p>a**∇a**a</p>"),  # non-bmp.md
    ("a**a𝜵**a", "<p>a**a𝜵**a</p>"),  # non-bmp.md
    ("a**𝜵a**a", "<p>a**𝜵a**a</p>"),  # non-bmp.md
    ("a**𐬻a**a", "<p>a**𐬻a**a</p>"),  # non-bmp.md
    ("a**a𐬻**a", "<p>a**a𐬻**a</p>"),  # non-bmp.md
]


@pytest.mark.parametrize(("markdown", "html"), AMENDMENT_EXAMPLES)
def test_amendment_examples(markdown: str, html: str) -> None:
    md = MarkdownIt("commonmark").use(cjk_friendly_emphasis)
    assert md.render(markdown).strip() == html


def test_plain_commonmark_is_unchanged_around_latin_text() -> None:
    md = MarkdownIt("commonmark").use(cjk_friendly_emphasis)
    plain = MarkdownIt("commonmark")
    for text in ["a**b**c", "**a**", "a ** b ** c", "*a*b", "foo*bar*", "__a__b", 'a**"b"**c']:
        assert md.render(text) == plain.render(text), text


def test_chinese_bold_after_punctuation_renders_bold() -> None:
    (message,) = render_markdown("其中，**检索增强生成（RAG）**技术")
    assert_valid(message)
    assert message.text == "其中，检索增强生成（RAG）技术"
    assert spans(message) == [("bold", "检索增强生成（RAG）")]
