"""Every user-facing string, in Chinese and English, apart from the logic that uses them."""

from __future__ import annotations

from telegram import User

ZH, EN = "zh", "en"

# key: (Chinese, English). Values are plain text: they are sent with entities, never parsed.
_TEXTS: dict[str, tuple[str, str]] = {
    "about": (
        "我每天把最新的 AI 日报发到群里，也可以在这里翻阅往期。",
        "I post the daily AI digest to the group, and you can browse past issues here.",
    ),
    "commands_heading": ("命令", "Commands"),
    "help_text_search": (
        "直接发送文字，就能搜索往期日报。",
        "Send any words to search past digests.",
    ),
    "help_inline": (
        "在任意聊天里输入 @{bot} 关键词，就能分享某期日报。",
        "Type @{bot} and a few words in any chat to share a digest.",
    ),
    "admin_heading": ("管理员", "Admins"),
    "cmd_latest": ("最新一期日报", "the newest digest"),
    "cmd_archive": ("往期日报，可按月份或日期", "past digests, by month or date"),
    "cmd_tag": ("按标签查找", "digests by tag"),
    "cmd_search": ("全文搜索", "full-text search"),
    "cmd_help": ("帮助", "help"),
    "cmd_start": ("开始", "start"),
    "cmd_publish": ("立即发布日报", "publish a digest now"),
    "cmd_status": ("运行状态", "the bot's state"),
    "arg_archive": ("[2026-02 | 2026年2月 | 2026-02-21]", "[2026-02 | 2026/2 | 2026-02-21]"),
    "arg_tag": ("[标签]", "[tag]"),
    "arg_search": ("关键词", "words"),
    "arg_publish": ("[日期 | slug] [force | update]", "[date | slug] [force | update]"),
    "no_digest": ("还没有日报。", "There is no digest yet."),
    "digest_not_found": ("没有找到这期日报。", "That digest was not found."),
    "digest_unreadable": (
        "这期日报的文件暂时读不了，管理员会处理。",
        "That digest's file cannot be read right now; the admins will look into it.",
    ),
    "read_in_full": ("📖 阅读全文", "📖 Read in full"),
    "digests_too_fast": (
        "一分钟内打开的日报太多了，请 {seconds} 秒后再试。",
        "That is many digests in a minute; try again in {seconds} s.",
    ),
    "welcome": (
        "欢迎！发送 /help 看看还能按日期、标签和关键词翻阅往期。",
        "Welcome! Send /help to browse past digests by date, tag or words.",
    ),
    "text_search_hint": (
        "提示：直接发送文字就能搜索往期日报，/help 查看全部命令。",
        "Tip: send any words to search past digests; /help lists the commands.",
    ),
    "previous_digest": ("◀ 上一期", "◀ Older"),
    "next_digest": ("下一期 ▶", "Newer ▶"),
    "archive_button": ("往期", "Archive"),
    "back_to_tags": ("◀ 全部标签", "◀ All tags"),
    "posted_here": ("群内原帖", "the post in this group"),
    "archive_heading": ("往期日报", "Past digests"),
    "archive_month_heading": ("{month} 的日报", "Digests of {month}"),
    "page": ("第 {page}/{pages} 页，共 {total} 期", "page {page}/{pages}, {total} in all"),
    "page_of_many": ("第 {page} 页，共 {total}+ 期", "page {page}, {total}+ in all"),
    "archive_empty": ("{when} 没有日报。", "No digest for {when}."),
    "bad_date": (
        "日期格式不对：请用 2026-02 或 2026年2月（月份），或 2026-02-21（某一天）。",
        "That is not a date: use 2026-02 or 2026/2 (a month) or 2026-02-21 (a day).",
    ),
    "tags_heading": ("标签（共 {count} 个）", "Tags ({count})"),
    "tags_empty": ("还没有标签。", "No tags yet."),
    "tag_heading": ("标签 {tag}", "Tag {tag}"),
    "tag_none": ("没有带标签「{tag}」的日报。", "No digest is tagged “{tag}”."),
    "search_usage": ("用法：/search 关键词", "Usage: /search words"),
    "search_usage_example": (
        "用法：/search 关键词，例如 /search {example}",
        "Usage: /search words, e.g. /search {example}",
    ),
    "search_heading": ("搜索「{query}」", "Search “{query}”"),
    "search_none": ("没有找到「{query}」。", "Nothing found for “{query}”."),
    "too_long": (
        "太长了：最多 {limit} 个字符。",
        "That is too long: {limit} characters at most.",
    ),
    "more_results": (
        "结果较多，换个更具体的关键词试试。",
        "Many results: try more specific words.",
    ),
    "previous": ("◀ 上一页", "◀ Previous"),
    "next": ("下一页 ▶", "Next ▶"),
    "stale_button": (
        "这个按钮已经失效了，请重新发送命令。",
        "This button has expired; send the command again.",
    ),
    "unknown_command": (
        "没有这个命令。发送 /help 查看可用的命令。",
        "Unknown command. Send /help for the list.",
    ),
    "not_admin": ("抱歉，只有管理员可以这样做。", "Sorry, only admins can do that."),
    "publish_in_private": ("请在与我的私聊中发布。", "Admins publish from a private chat with me."),
    "publish_preview": ("将发布到 {target}：", "Will be posted to {target}:"),
    "preview_file": ("文件：", "file: "),
    "preview_notes": (
        "⚠️ 有 {count} 处内容不会原样发出（用 digest-bot check 查看详情）。",
        "⚠️ {count} thing(s) in the file will not be posted as written (see digest-bot check).",
    ),
    "future_date": (
        "⚠️ 这期的日期 {day} 还没到；现在发布就会提前发出。",
        "⚠️ This digest is dated {day}, which has not come yet; publishing now posts it early.",
    ),
    "not_due_old": (
        "⚠️ 这期的发布时段已过（{day}），不会自动发布；如需发布请确认。",
        "⚠️ This digest's day ({day}) has passed; it is never posted by itself. Confirm to post it.",
    ),
    "changed_since": (
        "文件在发布后改过：用 /publish {day} update 就地修改已发布的消息。",
        "The file changed since it was posted: /publish {day} update edits the posted messages.",
    ),
    "partly_published": (
        "上次只发出了 {sent}/{total} 条（✅ 为已在群里的）。",
        "Only {sent} of {total} messages went out last time (✅: already in the chat).",
    ),
    "resume_button": ("➡️ 发送其余 {count} 条", "➡️ Send the missing {count}"),
    "restart_button": ("🔁 从头再发一次", "🔁 Post again from the start"),
    "digest_unloadable": ("这期日报的文件读不了：", "This digest's file does not load: "),
    "publish_parts": ("共 {count} 条消息：", "{count} messages:"),
    "part_cover_photo": ("封面（图片）", "cover (photo)"),
    "part_text": ("{first}（{length} 字）", "{first} ({length} characters)"),
    "already_published": (
        "这期已经发布过了；加上 force 可以再发一次。",
        "This digest was already published; add force to post it again.",
    ),
    "will_force": ("这期已经发布过，将再发一次。", "Already published: it will be posted again."),
    "will_update": (
        "将就地修改已发布的消息，使其与文件一致。",
        "The posted messages will be edited in place to match the file.",
    ),
    "not_published_yet": (
        "这期还没有完整发布，无法修改；去掉 update 即可发布。",
        "This digest has not been fully published, so there is nothing to edit.",
    ),
    "update_button": ("✏️ 修改", "✏️ Edit"),
    "refused_incomplete": ("这期还没有完整发布", "it has not been published completely"),
    "refused_count": (
        "文件现在是 {now} 条消息，发布时是 {before} 条",
        "it is now {now} messages, not {before}",
    ),
    "refused_layout": ("封面图片或消息的排布变了", "its cover image or message layout changed"),
    "refused_telegram": ("Telegram 拒绝了修改（{error}）", "Telegram refused the edit ({error})"),
    "updated": ("已修改 {edited} 条消息。", "Edited {edited} message(s)."),
    "update_refused": (
        "无法就地修改：{reason}。如需重发，请用 /publish 日期 force。",
        "Cannot edit in place: {reason}. To post it again: /publish <date> force.",
    ),
    "publish_button": ("✅ 发布", "✅ Publish"),
    "force_button": ("✅ 再发一次", "✅ Post again"),
    "cancel_button": ("取消", "Cancel"),
    "publishing": ("正在发布…", "Publishing…"),
    "published": (
        "已发布：本次发出 {sent} 条，共 {total} 条。",
        "Published: {sent} sent now, {total} in all.",
    ),
    "published_title": ("《{title}》", "“{title}”"),
    "cover_link": ("封面：", "cover: "),
    "nothing_to_send": (
        "已经发布过了，没有重复发送。",
        "Already published; nothing was sent again.",
    ),
    "paused_at": (
        "发布暂停：已发出 {sent}/{total} 条，第 {part} 条没有发出去。原因（Telegram 的原话）：",
        "Publication paused: {sent} of {total} sent, part {part} did not go out. Reason "
        "(Telegram's words):",
    ),
    "paused_retry": ("稍后会自动重试。", "It will be retried automatically."),
    "cancelled": ("已取消。", "Cancelled."),
    "group_busy_here": (
        "{group} 里消息太多，暂时发不出去，所以回复发到了这里：",
        "{group} is too busy to answer right now, so here is your answer:",
    ),
    "slow_down": (
        "慢一点：每人 {seconds} 秒内最多三个命令，稍后再试。",
        "Slow down: three commands per {seconds} s each, please; try again in a moment.",
    ),
    "internal_error": (
        "抱歉，出了点问题，请稍后再试。",
        "Sorry, something went wrong; please try again later.",
    ),
    "status_heading": ("运行状态", "Status"),
    "status_database": (
        "⚠️ 数据库文件出问题了（{problem}）：重启前请把它找回来，否则发布记录会丢失。",
        "⚠️ {problem}: put it back before a restart, or the publication ledger is lost.",
    ),
    "status_version": ("版本：{version}", "version: {version}"),
    "status_target": (
        "发布到：{target}，每天 {time}（{zone}）",
        "posts to: {target}, daily at {time} ({zone})",
    ),
    "status_next": ("下次发布：{when}", "next run: {when}"),
    "status_none_scheduled": ("下次发布：未安排", "next run: not scheduled"),
    "status_indexed": ("已索引日报：{count} 期", "digests indexed: {count}"),
    "status_last": (
        "上次发布：{slug} → {target}，{state}，{parts}",
        "last publication: {slug} → {target}, {state}, {parts}",
    ),
    "status_never": ("上次发布：无", "last publication: none"),
    "state_done": ("已完成", "done"),
    "state_pending": (
        "未完成（{attempts} 次失败：{error}）",
        "pending ({attempts} failed tries: {error})",
    ),
    "status_failures": ("无法读取的文件（{count}）：", "files that failed to load ({count}):"),
    "status_never_posted": (
        "过了发布时段、从未发布（不会自动发布，可用 /publish 日期 发布）：",
        "past their day and never posted (never posted by themselves; /publish <date> posts one):",
    ),
}


def text(language: str, key: str, **values: object) -> str:
    zh, en = _TEXTS[key]
    template = en if language == EN else zh
    return template.format(**values) if values else template


def language_of(user: User | None, setting: str, *, private: bool = True) -> str:
    """`ui.language`; with "auto", in private chats English for users whose Telegram is
    in English, and in groups the group's language (Chinese), whoever asks."""
    if setting in (ZH, EN):
        return setting
    if not private:
        return ZH
    code = (user.language_code or "") if user else ""
    return EN if code.lower().startswith("en") else ZH
