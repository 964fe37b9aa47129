// The sandbox's chat view, and the renderer of `digest-bot preview --html`.
// Messages are drawn from their text and Bot API entities the way Telegram's clients do.
// Text only ever enters the page as text nodes: nothing a message says is parsed as HTML.
"use strict";

(() => {
  // --- entities -> DOM -------------------------------------------------------------------
  // Offsets and lengths are UTF-16 code units, which is what JS string indices count.

  // tdlib's order for entities on the same range: the lower number is the outer one.
  const PRIORITY = {
    blockquote: 0, expandable_blockquote: 0, pre: 11, code: 20, text_link: 49,
    text_mention: 49, bold: 90, italic: 91, underline: 92, strikethrough: 93, spoiler: 94,
    custom_emoji: 99,
  };

  const BLOCKS = new Set(["pre", "blockquote", "expandable_blockquote"]);

  function priority(entity) {
    if (entity.type === "pre" && entity.language) return 10;
    return PRIORITY[entity.type] ?? 50;
  }

  function byPosition(a, b) {
    return a.offset - b.offset || b.length - a.length || priority(a) - priority(b);
  }

  function insertSorted(queue, entity) {
    let i = 0;
    while (i < queue.length && byPosition(queue[i], entity) <= 0) i++;
    queue.splice(i, 0, entity);
  }

  function make(tag, className) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    return node;
  }

  /** The text with its entities as a DocumentFragment. */
  function renderText(text, entities, ctx) {
    const fragment = document.createDocumentFragment();
    const clean = (entities || [])
      .filter((e) => e.length > 0 && e.offset >= 0 && e.offset < text.length)
      .map((e) => ({ ...e, length: Math.min(e.length, text.length - e.offset) }))
      .sort(byPosition);
    fill(fragment, text, clean, 0, text.length, ctx);
    return fragment;
  }

  // Entities nest (one contains the other); one that crosses its parent's end is split
  // there and continues outside, the way Telegram's clients draw it.
  function fill(parent, text, entities, start, end, ctx) {
    const queue = entities.slice();
    let pos = start;
    while (queue.length) {
      let entity = queue.shift();
      if (entity.offset < pos) {
        const drawn = pos - entity.offset;
        if (drawn >= entity.length) continue;
        entity = { ...entity, offset: pos, length: entity.length - drawn };
      }
      const entityEnd = Math.min(entity.offset + entity.length, end);
      if (entity.offset > pos) parent.append(text.slice(pos, entity.offset));
      const inner = [];
      while (queue.length && queue[0].offset < entityEnd) {
        const child = queue.shift();
        const childEnd = child.offset + child.length;
        if (childEnd > entityEnd) {
          inner.push({ ...child, length: entityEnd - child.offset });
          insertSorted(queue, { ...child, offset: entityEnd, length: childEnd - entityEnd });
        } else {
          inner.push(child);
        }
      }
      const node = entityNode(entity, text.slice(entity.offset, entityEnd), ctx);
      parent.append(node.outer);
      fill(node.inner, text, inner, entity.offset, entityEnd, ctx);
      pos = entityEnd;
      // A block ends its line; the newline after it would draw an empty one.
      if (BLOCKS.has(entity.type) && pos < end && text[pos] === "\n") pos += 1;
    }
    if (pos < end) parent.append(text.slice(pos, end));
  }

  function entityNode(entity, content, ctx) {
    let node;
    switch (entity.type) {
      case "bold": node = make("b"); break;
      case "italic": node = make("i"); break;
      case "underline": node = make("u"); break;
      case "strikethrough": node = make("s"); break;
      case "spoiler":
        node = make("span", "spoiler");
        node.addEventListener("click", (event) => {
          if (node.classList.contains("revealed")) return;
          event.preventDefault();
          event.stopPropagation();
          node.classList.add("revealed");
        }, true);
        break;
      case "code": node = make("code"); break;
      case "pre": {
        const pre = make("pre");
        if (entity.language) {
          const label = make("div", "pre-language");
          label.textContent = entity.language;
          pre.append(label);
        }
        const code = make("code");
        if (entity.language) code.dataset.language = entity.language;
        pre.append(code);
        return { outer: pre, inner: code };
      }
      case "blockquote": node = make("blockquote"); break;
      case "expandable_blockquote":
        node = make("blockquote", "expandable collapsed");
        node.addEventListener("click", (event) => {
          if (event.target.closest("a")) return;
          node.classList.toggle("collapsed");
        });
        break;
      case "text_link": node = linkNode(entity.url, ctx); break;
      case "url": node = linkNode(content, ctx); break;
      case "mention": node = linkNode(`https://t.me/${content.slice(1)}`, ctx); break;
      case "email":
        node = make("a");
        node.href = `mailto:${content}`;
        break;
      case "hashtag":
      case "cashtag":
        node = make("a", "hashtag");
        node.href = "#";
        node.addEventListener("click", (event) => event.preventDefault());
        break;
      case "bot_command":
        node = make("a", "command");
        node.href = "#";
        node.addEventListener("click", (event) => {
          event.preventDefault();
          if (ctx.command) ctx.command(content);
        });
        break;
      default:
        node = make("span", `entity-${entity.type}`);
    }
    return { outer: node, inner: node };
  }

  /** http(s) and tg: links as they are, a bare host as http (Telegram's rule), else nothing. */
  function safeUrl(url) {
    if (typeof url !== "string" || !url) return null;
    if (/^(https?:\/\/|tg:)/i.test(url)) return url;
    if (/^[a-z][a-z0-9+.-]*:/i.test(url)) return null;
    return `http://${url}`;
  }

  /** The start payload of a t.me/<this bot> link ("" without one), or null for other links. */
  function deepLinkPayload(url, ctx) {
    if (!url || !ctx.botUsername) return null;
    let parsed;
    try { parsed = new URL(url); } catch { return null; }
    if (!/^https?:$/.test(parsed.protocol)) return null;
    if (!/^(www\.)?(t\.me|telegram\.me)$/i.test(parsed.hostname)) return null;
    const name = parsed.pathname.replace(/^\/+|\/+$/g, "");
    if (name.toLowerCase() !== ctx.botUsername.toLowerCase()) return null;
    return parsed.searchParams.get("start") ?? "";
  }

  function linkNode(url, ctx) {
    const link = make("a");
    const safe = safeUrl(url);
    if (safe) {
      link.href = safe;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
    }
    link.addEventListener("click", (event) => {
      const payload = deepLinkPayload(safe, ctx);
      if (payload !== null && ctx.deepLink) {
        event.preventDefault();
        ctx.deepLink(payload);
      }
    });
    return link;
  }

  // --- messages --------------------------------------------------------------------------

  const NAME_COLORS = ["#e17076", "#eda86c", "#a695e7", "#7bc862", "#6ec9cb", "#65aadd", "#ee7aae"];

  function nameColor(id) {
    return NAME_COLORS[Math.abs(Number(id)) % NAME_COLORS.length];
  }

  function avatar(name, id, className = "avatar") {
    const node = make("div", className);
    node.style.background = nameColor(id);
    node.textContent = Array.from(name || "?")[0].toUpperCase();
    return node;
  }

  function clock(seconds) {
    const date = new Date(seconds * 1000);
    return `${String(date.getHours()).padStart(2, "0")}:${String(date.getMinutes()).padStart(2, "0")}`;
  }

  function photoNode(url, onLoad) {
    const box = make("div", "photo");
    if (!/^(https?|file):\/\//i.test(url)) {
      box.append(photoPlaceholder(url));
      return box;
    }
    const image = make("img");
    image.alt = "";
    image.referrerPolicy = "no-referrer";
    image.addEventListener("error", () => image.replaceWith(photoPlaceholder(url)));
    image.addEventListener("load", () => onLoad && onLoad());
    image.src = url;
    box.append(image);
    return box;
  }

  function photoPlaceholder(url) {
    const box = make("div", "photo-missing");
    const icon = make("div", "photo-icon");
    icon.textContent = "🖼";
    const note = make("div", "photo-note");
    note.textContent = "Image could not be loaded";
    const where = make("div", "photo-url");
    where.textContent = url;
    box.append(icon, note, where);
    return box;
  }

  function buttonNode(button, message, ctx) {
    if (button.url) {
      const link = linkNode(button.url, ctx);
      link.classList.add("kb-button", "kb-url");
      link.append(button.text);
      link.append(make("span", "kb-corner"));
      return link;
    }
    const node = make("button", "kb-button");
    node.type = "button";
    node.textContent = button.text;
    if (typeof button.callback_data === "string" && ctx.press) {
      node.addEventListener("click", () => ctx.press(message, button.callback_data, node));
    } else {
      node.disabled = true;
    }
    return node;
  }

  /** One message as a Telegram client shows it: bubble, photo, text, time, keyboard. */
  function messageNode(message, ctx) {
    const row = make("div", `message ${message.out ? "out" : "in"}`);
    row.dataset.id = message.id;
    const column = make("div", "message-column");
    const bubble = make("div", "bubble");
    if (message.photo) bubble.classList.add("with-photo");
    if (ctx.showSenders && !message.out) {
      row.append(avatar(message.from.name, message.from.id));
      const name = make("div", "sender");
      name.style.color = nameColor(message.from.id);
      name.textContent = message.from.name;
      bubble.append(name);
    }
    if (message.photo) bubble.append(photoNode(message.photo, ctx.onImage));
    const text = make("div", "text");
    text.append(renderText(message.text || "", message.entities, ctx));
    const meta = make("span", "meta");
    meta.textContent = (message.edited ? "edited " : "") + clock(message.date);
    text.append(meta);
    bubble.append(text);
    column.append(bubble);
    if (message.keyboard && message.keyboard.length) {
      const keyboard = make("div", "keyboard");
      for (const buttons of message.keyboard) {
        const line = make("div", "kb-row");
        for (const button of buttons) line.append(buttonNode(button, message, ctx));
        keyboard.append(line);
      }
      column.append(keyboard);
    }
    row.append(column);
    return row;
  }

  // --- toasts and alerts (answerCallbackQuery) ------------------------------------------

  function toast(text) {
    const node = make("div", "toast");
    node.setAttribute("role", "status");
    node.textContent = text;
    document.body.append(node);
    setTimeout(() => node.classList.add("gone"), 2600);
    setTimeout(() => node.remove(), 3000);
  }

  function alertBox(text) {
    const backdrop = make("div", "alert-backdrop");
    const box = make("div", "alert");
    box.setAttribute("role", "alertdialog");
    const body = make("div", "alert-text");
    body.textContent = text;
    const ok = make("button", "alert-ok");
    ok.type = "button";
    ok.textContent = "OK";
    ok.addEventListener("click", () => backdrop.remove());
    box.append(body, ok);
    backdrop.append(box);
    document.body.append(backdrop);
    ok.focus();
  }

  // --- the page frame ---------------------------------------------------------------------

  function chatFrame() {
    const chat = make("main", "chat");
    const head = make("header", "chat-head");
    const headAvatar = make("div", "avatar");
    const titles = make("div", "chat-titles");
    const title = make("div", "chat-title");
    const subtitle = make("div", "chat-subtitle");
    titles.append(title, subtitle);
    head.append(headAvatar, titles);
    const scroller = make("div", "messages");
    const list = make("div", "message-list");
    scroller.append(list);
    chat.append(head, scroller);
    return { chat, head, headAvatar, title, subtitle, scroller, list };
  }

  // --- preview: one static page of what would be posted ----------------------------------

  function startPreview(data) {
    const frame = chatFrame();
    frame.title.textContent = data.title;
    frame.subtitle.textContent = `preview · ${data.messages.length} messages from ${data.bot.name}`;
    frame.headAvatar.replaceWith(avatar(data.bot.name, 0));
    for (const message of data.messages) frame.list.append(messageNode(message, {}));
    document.getElementById("app").append(frame.chat);
  }

  // --- live: the sandbox's chats ---------------------------------------------------------

  function startLive() {
    const app = document.getElementById("app");
    const sidebar = make("aside", "sidebar");
    const brand = make("div", "sidebar-head");
    brand.textContent = "Telegram sandbox";
    const chatList = make("nav", "chat-list");
    sidebar.append(brand, chatList);
    const frame = chatFrame();
    const composer = make("form", "composer");
    const sender = make("select", "composer-sender");
    sender.title = "Write as";
    const senderLabel = make("span", "composer-sender composer-sender-fixed");
    const input = make("textarea", "input");
    input.rows = 1;
    input.placeholder = "Write a message…";
    const send = make("button", "send");
    send.type = "submit";
    send.title = "Send";
    send.textContent = "➤";
    composer.append(sender, senderLabel, input, send);
    frame.chat.append(composer);
    app.append(sidebar, frame.chat);

    const view = {
      state: null,
      current: null,
      drawn: new Map(),
      seen: new Map(),
      groupSender: null,
    };

    function conversations() {
      const out = [];
      const state = view.state;
      const people = new Map(state.people.map((p) => [p.id, p]));
      for (const chat of state.chats) {
        if (chat.type !== "private" && chat.is_forum) {
          out.push({ key: `${chat.id}:general`, chat, thread: null, title: "General", group: chat.title });
          for (const topic of chat.topics) {
            out.push({ key: `${chat.id}:${topic.id}`, chat, thread: topic.id, title: topic.name, group: chat.title });
          }
        } else if (chat.type !== "private") {
          out.push({ key: `${chat.id}`, chat, thread: null, title: chat.title, group: null });
        }
      }
      for (const chat of state.chats) {
        const owner = people.get(chat.id);
        if (chat.type === "private" && owner) {
          out.push({ key: `${chat.id}`, chat, thread: null, title: state.bot.name, owner, group: null });
        }
      }
      return out;
    }

    function messagesOf(conversation) {
      const forum = conversation.chat.is_forum;
      return conversation.chat.messages.filter((m) => !forum || (m.thread ?? null) === conversation.thread);
    }

    function writer(conversation) {
      if (conversation.owner) return conversation.owner;
      return view.state.people.find((p) => p.id === view.groupSender) || view.state.people[0];
    }

    function open(key) {
      if (view.current !== key) {
        view.current = key;
        view.drawn.clear();
        frame.list.replaceChildren();
        if (location.hash.slice(1) !== key) history.replaceState(null, "", `#${key}`);
      }
      draw(true);
    }

    function privateChatOf(person) {
      return conversations().find((c) => c.owner && c.owner.id === person.id);
    }

    async function post(path, body) {
      const response = await fetch(path, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      const answer = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(answer.error || response.statusText);
      return answer;
    }

    async function write(conversation, person, text) {
      try {
        await post("/api/send", {
          chat_id: conversation.chat.id, thread_id: conversation.thread, user_id: person.id, text,
        });
      } catch (error) {
        toast(`Not sent: ${error.message}`);
      }
    }

    const ctx = {
      get botUsername() { return view.state && view.state.bot.username; },
      showSenders: false,
      onImage: () => stickToBottom(),
      command: (command) => {
        const conversation = currentConversation();
        if (conversation) write(conversation, writer(conversation), command);
      },
      deepLink: (payload) => {
        const conversation = currentConversation();
        const person = conversation ? writer(conversation) : view.state.people[0];
        const target = privateChatOf(person);
        if (!target) return;
        open(target.key);
        write(target, person, payload ? `/start ${payload}` : "/start");
      },
      press: async (message, data, node) => {
        const conversation = currentConversation();
        node.classList.add("pending");
        try {
          const answer = await post("/api/press", {
            chat_id: conversation.chat.id, message_id: message.id, data,
            user_id: writer(conversation).id,
          });
          if (answer.answered && answer.text) (answer.show_alert ? alertBox : toast)(answer.text);
        } catch (error) {
          toast(`Button failed: ${error.message}`);
        } finally {
          node.classList.remove("pending");
        }
      },
    };

    function currentConversation() {
      return conversations().find((c) => c.key === view.current);
    }

    let atBottom = true;
    frame.scroller.addEventListener("scroll", () => {
      const s = frame.scroller;
      atBottom = s.scrollHeight - s.scrollTop - s.clientHeight < 40;
    });

    function stickToBottom() {
      if (atBottom) frame.scroller.scrollTop = frame.scroller.scrollHeight;
    }

    function drawList(all) {
      const nodes = [];
      let lastGroup = null;
      for (const conversation of all) {
        if (conversation.group && conversation.group !== lastGroup) {
          const head = make("div", "chat-group");
          head.textContent = conversation.group;
          nodes.push(head);
        }
        if (!conversation.group && lastGroup !== "") {
          const head = make("div", "chat-group");
          head.textContent = "Private chats with the bot";
          nodes.push(head);
        }
        lastGroup = conversation.group || "";
        const item = make("a", "chat-item");
        item.href = `#${conversation.key}`;
        item.dataset.key = conversation.key;
        if (conversation.key === view.current) item.classList.add("active");
        item.addEventListener("click", (event) => {
          event.preventDefault();
          open(conversation.key);
        });
        const messages = messagesOf(conversation);
        const last = messages[messages.length - 1];
        const icon = conversation.group
          ? make("div", "avatar topic-icon")
          : avatar(conversation.title, conversation.chat.id);
        if (conversation.group) icon.textContent = "#";
        const body = make("div", "chat-item-body");
        const top = make("div", "chat-item-top");
        const name = make("span", "chat-item-title");
        name.textContent = conversation.title;
        top.append(name);
        if (conversation.owner) {
          const who = make("span", "chat-item-owner");
          who.textContent = `${conversation.owner.name} · ${conversation.owner.role}`;
          top.append(who);
        }
        const when = make("span", "chat-item-time");
        when.textContent = last ? clock(last.date) : "";
        top.append(when);
        const bottom = make("div", "chat-item-bottom");
        const preview = make("span", "chat-item-preview");
        preview.textContent = last ? `${last.photo ? "🖼 " : ""}${last.text.split("\n")[0]}` : "No messages yet";
        bottom.append(preview);
        const seen = view.seen.get(conversation.key) ?? 0;
        const unread = messages.filter((m) => m.id > seen).length;
        if (unread && conversation.key !== view.current) {
          const badge = make("span", "badge");
          badge.textContent = String(unread);
          bottom.append(badge);
        }
        body.append(top, bottom);
        item.append(icon, body);
        nodes.push(item);
      }
      chatList.replaceChildren(...nodes);
    }

    function drawHeader(conversation, person) {
      frame.title.textContent = conversation.owner ? view.state.bot.name : conversation.title;
      if (conversation.owner) {
        frame.subtitle.textContent = `bot · private chat of ${conversation.owner.name} (${conversation.owner.role})`;
      } else if (conversation.group) {
        frame.subtitle.textContent = `${conversation.group} · topic`;
      } else {
        frame.subtitle.textContent = "group";
      }
      const newAvatar = conversation.group
        ? make("div", "avatar topic-icon")
        : avatar(frame.title.textContent, conversation.chat.id);
      if (conversation.group) newAvatar.textContent = "#";
      frame.headAvatar.replaceWith(newAvatar);
      frame.headAvatar = newAvatar;
      if (conversation.owner) {
        sender.hidden = true;
        senderLabel.hidden = false;
        senderLabel.textContent = person.name;
      } else {
        sender.hidden = false;
        senderLabel.hidden = true;
        const options = view.state.people.map((p) => {
          const option = make("option");
          option.value = String(p.id);
          option.textContent = `${p.name} (${p.role})`;
          option.selected = p.id === person.id;
          return option;
        });
        sender.replaceChildren(...options);
      }
    }

    function draw(scroll) {
      const all = conversations();
      let conversation = all.find((c) => c.key === view.current);
      if (!conversation) {
        const wanted = all.find((c) => c.key === location.hash.slice(1));
        conversation = wanted || all.find((c) => c.thread !== null) || all[0];
        if (!conversation) return;
        view.current = conversation.key;
      }
      const person = writer(conversation);
      ctx.showSenders = conversation.chat.type !== "private";
      drawHeader(conversation, person);
      const messages = messagesOf(conversation);
      const keep = new Set();
      let previous = null;
      for (const message of messages) {
        const shown = { ...message, out: message.from.id === person.id };
        const signature = JSON.stringify([shown, ctx.showSenders]);
        keep.add(message.id);
        let entry = view.drawn.get(message.id);
        if (!entry || entry.signature !== signature) {
          const node = messageNode(shown, ctx);
          if (entry) entry.node.replaceWith(node);
          entry = { node, signature };
          view.drawn.set(message.id, entry);
        }
        if (previous ? previous.nextSibling !== entry.node : frame.list.firstChild !== entry.node) {
          if (previous) previous.after(entry.node); else frame.list.prepend(entry.node);
        }
        previous = entry.node;
      }
      for (const [id, entry] of view.drawn) {
        if (!keep.has(id)) {
          entry.node.remove();
          view.drawn.delete(id);
        }
      }
      const newest = messages.length ? messages[messages.length - 1].id : 0;
      view.seen.set(conversation.key, Math.max(view.seen.get(conversation.key) ?? 0, newest));
      drawList(all);
      if (scroll) atBottom = true;
      stickToBottom();
    }

    sender.addEventListener("change", () => {
      view.groupSender = Number(sender.value);
      view.drawn.clear();
      frame.list.replaceChildren();
      draw(true);
    });

    composer.addEventListener("submit", (event) => {
      event.preventDefault();
      const conversation = currentConversation();
      const text = input.value.trim();
      if (!conversation || !text) return;
      input.value = "";
      atBottom = true;
      write(conversation, writer(conversation), text);
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        composer.requestSubmit();
      }
    });

    async function poll() {
      let version = -1;
      for (;;) {
        try {
          const response = await fetch(`/api/state?after=${version}`);
          if (!response.ok) throw new Error(response.statusText);
          const state = await response.json();
          const first = view.state === null;
          view.state = state;
          if (first) {
            view.groupSender = state.people.length ? state.people[0].id : null;
            for (const c of conversations()) {
              const m = messagesOf(c);
              view.seen.set(c.key, m.length ? m[m.length - 1].id : 0);
            }
          }
          version = state.version;
          draw(first);
          document.body.dataset.version = String(version);
        } catch (error) {
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
      }
    }
    poll();
  }

  const preview = document.getElementById("preview-data");
  if (preview) startPreview(JSON.parse(preview.textContent));
  else startLive();
})();
