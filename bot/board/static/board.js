/* The Amanat web board (a Telegram Mini App): volunteers' cases, review queue and the memory book's
 * stories to moderate, administrators' charts.
 *
 * No build step and nothing from the network but the bot's own server: Chart.js is vendored
 * (static/vendor/), the strings come from /board/strings/<lang>.json (the gettext catalogs' board.*
 * messages), and Telegram's telegram-web-app.js is not needed: initData and themeParams are read from
 * window.Telegram.WebApp when present, else from the launch parameters Telegram puts in the URL's hash
 * (#tgWebAppData=…&tgWebAppThemeParams=…), which is also how the tests open the page.
 * Every request to /api/ carries "Authorization: tma <initData>", the stories' photos and PDFs too: they
 * are fetched with it and shown from blob: URLs (there is no public URL of a family's file). Data is put
 * in the page as text (textContent), never as HTML.
 */
"use strict";

(function () {
  const LANGS = ["ru", "kk", "en"];
  const POLL_MS = 5000; // what changes in the chat shows here within this
  const PAGE_SIZE = 50; // the API's page of cases
  const launch = new URLSearchParams(location.hash.slice(1));
  const query = new URLSearchParams(location.search);
  const webApp = (window.Telegram && window.Telegram.WebApp) || null;
  const initData = (webApp && webApp.initData) || launch.get("tgWebAppData") || query.get("tgWebAppData") || "";

  const state = {
    lang: "ru",
    strings: {},
    me: null,
    tab: "cases",
    filter: "open",
    view: null, // {kind: "list"} | {kind: "case", id} | {kind: "review"} | {kind: "stats"}
    charts: [],
    reviewAfter: null,
    storyAfter: null,
    blobs: [], // the object URLs of the shown story's files, revoked when the page changes
  };

  // ------------------------------------------------------------------ Telegram: theme and events

  function themeParams() {
    if (webApp && webApp.themeParams && Object.keys(webApp.themeParams).length) return webApp.themeParams;
    const raw = launch.get("tgWebAppThemeParams") || query.get("tgWebAppThemeParams");
    if (!raw) return {};
    try { return JSON.parse(raw); } catch (e) { return {}; }
  }

  function applyTheme(given) {
    const params = given || themeParams();
    const root = document.documentElement.style;
    for (const [key, value] of Object.entries(params)) {
      if (typeof value === "string" && /^#[0-9a-fA-F]{3,8}$/.test(value)) {
        root.setProperty("--tg-theme-" + key.replace(/_/g, "-"), value);
      }
    }
    const bg = params.bg_color || "#ffffff";
    document.documentElement.dataset.scheme = luminance(bg) < 0.4 ? "dark" : "light";
  }

  function luminance(hex) {
    const h = hex.replace("#", "");
    const full = h.length === 3 ? h.split("").map((c) => c + c).join("") : h.slice(0, 6);
    const [r, g, b] = [0, 2, 4].map((i) => parseInt(full.slice(i, i + 2), 16) / 255);
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }

  function postEvent(name, data) {
    // What telegram-web-app.js would do, for the two events the board needs (ready, expand).
    try {
      if (window.TelegramWebviewProxy) window.TelegramWebviewProxy.postEvent(name, JSON.stringify(data || {}));
      else if (window.external && "notify" in window.external) window.external.notify(JSON.stringify({ eventType: name, eventData: data || {} }));
      else if (window.parent !== window) window.parent.postMessage(JSON.stringify({ eventType: name, eventData: data || {} }), "*");
    } catch (e) { /* not inside Telegram */ }
  }

  function listenToTelegram() {
    // Telegram tells a Mini App of a new theme through window.Telegram.WebView.receiveEvent (the apps) or
    // a message to the frame (Telegram Web); telegram-web-app.js would do this, the board does it itself.
    const receive = (type, data) => {
      if (type === "theme_changed" && data && data.theme_params) {
        applyTheme(data.theme_params);
        if (state.view && state.view.kind === "stats") openStats(); // the charts take the new colours
      }
    };
    window.Telegram = window.Telegram || {};
    if (!window.Telegram.WebView) window.Telegram.WebView = { receiveEvent: receive };
    window.addEventListener("message", (event) => {
      try {
        const message = typeof event.data === "string" ? JSON.parse(event.data) : event.data;
        if (message && message.eventType) receive(message.eventType, message.eventData);
      } catch (e) { /* not Telegram's */ }
    });
    postEvent("web_app_request_theme");
  }

  // ------------------------------------------------------------------ strings

  function S(key, args) {
    const template = state.strings[key] || key;
    return template.replace(/\{(\w+)\}/g, (m, name) => (args && name in args ? String(args[name]) : m));
  }

  async function loadStrings(lang) {
    const response = await fetch("strings/" + lang + ".json");
    const body = await response.json();
    state.lang = lang;
    state.strings = body.strings;
    document.documentElement.lang = lang;
    document.getElementById("language").value = lang;
    document.getElementById("language-label").textContent = S("board.language");
    document.getElementById("title").textContent = S("board.title");
    document.title = S("board.title");
  }

  function launchLanguage() {
    try {
      const user = JSON.parse(new URLSearchParams(initData).get("user") || "{}");
      const code = (user.language_code || "").slice(0, 2);
      if (LANGS.includes(code)) return code;
    } catch (e) { /* no user */ }
    const browser = (navigator.language || "").slice(0, 2);
    return LANGS.includes(browser) ? browser : "ru";
  }

  // ------------------------------------------------------------------ DOM

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "on") for (const [event, fn] of Object.entries(value)) node.addEventListener(event, fn);
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function main() { return document.getElementById("main"); }

  function show(...nodes) {
    destroyCharts();
    for (const url of state.blobs) URL.revokeObjectURL(url);
    state.blobs = [];
    main().replaceChildren(...nodes);
  }

  let toastTimer = null;
  function toast(text) {
    const box = document.getElementById("toast");
    box.textContent = text;
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { box.hidden = true; }, 3500);
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return S("board.stats.none");
    const minutes = Math.max(Math.floor(seconds / 60), 1);
    if (minutes < 60) return S("board.unit.minutes", { n: minutes });
    const hours = Math.floor(minutes / 60);
    if (hours < 48) return S("board.unit.hours", { n: hours });
    return S("board.unit.days", { n: Math.floor(hours / 24) });
  }

  // ------------------------------------------------------------------ the API

  class ApiError extends Error {
    constructor(status, body) { super(body && body.error ? body.error : "network"); this.status = status; this.body = body || {}; }
  }

  async function api(method, path, body) {
    let response;
    try {
      response = await fetch(path, {
        method,
        headers: Object.assign({ Authorization: "tma " + initData }, body ? { "Content-Type": "application/json" } : {}),
        body: body ? JSON.stringify(body) : undefined,
        cache: "no-store",
      });
    } catch (e) {
      throw new ApiError(0, { error: "network" });
    }
    let data = null;
    if ((response.headers.get("Content-Type") || "").includes("application/json")) data = await response.json();
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  async function apiBlob(path) {
    const response = await fetch(path, { headers: { Authorization: "tma " + initData }, cache: "no-store" });
    if (!response.ok) throw new ApiError(response.status, null);
    const url = URL.createObjectURL(await response.blob());
    state.blobs.push(url);
    return url;
  }

  function errorText(error) {
    const code = (error && error.body && error.body.error) || "network";
    return S("board.error." + code, error && error.body);
  }

  // ------------------------------------------------------------------ tabs

  function tabs() {
    const list = [];
    if (state.me.volunteer) list.push("cases", "review", "stories");
    if (state.me.admin) list.push("stats");
    return list;
  }

  function renderTabs() {
    const nav = document.getElementById("tabs");
    nav.replaceChildren(
      ...tabs().map((tab) =>
        el("button", {
          role: "tab", "data-tab": tab, "aria-selected": String(state.tab === tab), text: S("board.tab." + tab),
          on: { click: () => { state.tab = tab; renderTabs(); openTab(); } },
        }),
      ),
    );
  }

  function openTab() {
    if (state.tab === "cases") return openList();
    if (state.tab === "review") return openReview();
    if (state.tab === "stories") return openStories();
    return openStats();
  }

  // ------------------------------------------------------------------ cases

  async function openList() {
    state.view = { kind: "list" };
    let data;
    try {
      data = await api("GET", "/api/cases?filter=" + state.filter);
    } catch (error) { return show(el("p", { class: "warn", text: errorText(error) })); }
    if (!state.view || state.view.kind !== "list") return;
    const filters = el("div", { class: "filters", role: "group" },
      ["open", "mine", "unclaimed", "waiting", "closed"].map((name) =>
        el("button", {
          class: "chip", "data-filter": name, "aria-pressed": String(state.filter === name),
          on: { click: () => { state.filter = name; openList(); } },
        }, S("board.filter." + name), el("span", { class: "count", text: data.counts[name] })),
      ),
    );
    const items = data.cases.map(caseCard);
    if (!items.length) return show(filters, el("p", { class: "hint", text: S("board.case.none") }));
    const list = el("div", { class: "cases" }, items);
    show(filters, list);
    if (data.cases.length === PAGE_SIZE) list.after(moreButton(list, PAGE_SIZE));
  }

  function moreButton(list, offset) {
    const button = el("button", { class: "btn secondary", "data-more": offset, on: { click: async () => {
      button.disabled = true;
      if (state.view) state.view.more = true; // polling would fold the extra pages away
      try {
        const data = await api("GET", "/api/cases?filter=" + state.filter + "&offset=" + offset);
        list.append(...data.cases.map(caseCard));
        button.replaceWith(...(data.cases.length === PAGE_SIZE ? [moreButton(list, offset + PAGE_SIZE)] : []));
      } catch (error) { toast(errorText(error)); button.disabled = false; }
    } } }, S("board.case.more"));
    return button;
  }

  function soldierName(soldier) {
    return ["surname", "name", "patronymic"].map((f) => soldier[f]).filter(Boolean).join(" ") || "?";
  }

  function statusBadge(c) {
    return el("span", { class: "badge " + c.status + (c.mine ? " mine" : ""), "data-status": c.status },
      c.mine && c.status !== "closed" ? S("board.case.yours") + " · " + S("board.status." + c.status) : S("board.status." + c.status));
  }

  function caseCard(c) {
    const who = c.claimed && !c.mine && c.status !== "closed" ? S("board.case.taken_by", { name: c.volunteer || "?" }) : null;
    return el("button", { class: "case", "data-case": c.id, on: { click: () => openCase(c.id) } },
      el("div", { class: "top" }, el("span", { class: "num", text: S("board.case.number", { id: c.id }) }), statusBadge(c)),
      el("div", { text: soldierName(c.soldier) + (c.soldier.birth_year ? ", " + c.soldier.birth_year : "") }),
      el("div", { class: "meta" },
        [S("board.case.from", { name: c.relative || "—" }), who,
          c.waited_seconds !== null ? S("board.case.waited", { time: duration(c.waited_seconds) }) : null].filter(Boolean).join(" · ")),
    );
  }

  async function openCase(id) {
    state.view = { kind: "case", id };
    let c;
    try { c = await api("GET", "/api/cases/" + id); } catch (error) { return show(el("p", { class: "warn", text: errorText(error) })); }
    if (!state.view || state.view.kind !== "case" || state.view.id !== id) return;
    renderCase(c);
  }

  function field(label, value) {
    return value ? [el("dt", { text: label }), el("dd", { text: value })] : [];
  }

  function renderCase(c) {
    const soldier = c.soldier;
    const parts = [
      el("button", { class: "back", on: { click: openList } }, "← " + S("board.action.back")),
      el("h2", {}, S("board.case.number", { id: c.id }), " ", statusBadge(c)),
      el("div", { class: "meta" }, [
        S("board.case.from", { name: c.relative || "—" }),
        c.claimed && !c.mine ? S("board.case.taken_by", { name: c.volunteer || "?" }) : null,
        c.waited_seconds !== null ? S("board.case.waited", { time: duration(c.waited_seconds) }) : null,
      ].filter(Boolean).join(" · ")),
      el("h3", { text: S("board.case.soldier") }),
      el("dl", {},
        field(S("board.field.name"), soldierName(soldier)),
        field(S("board.field.birth_year"), soldier.birth_year_to && soldier.birth_year_to !== soldier.birth_year ? soldier.birth_year + "–" + soldier.birth_year_to : soldier.birth_year),
        field(S("board.field.birthplace"), soldier.birthplace),
        field(S("board.field.draft_office"), soldier.draft_office)),
    ];
    if (c.results.length) {
      parts.push(el("h3", { text: S("board.case.results") }),
        el("ol", {}, c.results.map((r) => el("li", { text: (r.name || "?") + (r.year ? ", " + r.year : "") }))));
    }
    parts.push(el("h3", { text: S("board.case.conversation") }),
      el("div", { class: "messages" }, c.messages.map((m) =>
        el("div", { class: "bubble " + m.author, "data-author": m.author },
          el("span", { class: "who", text: m.author === "volunteer" ? S("board.case.volunteer") : (m.name || S("board.case.relative")) }),
          m.kind !== "text" ? S("board.case.file") + " " + m.text : m.text))));
    if (c.status !== "closed" && !c.relative_active) parts.push(el("p", { class: "warn", text: S("board.case.relative_blocked") }));
    parts.push(actions(c));
    parts.push(el("h3", { text: S("board.case.history") }),
      el("ul", { class: "meta" }, c.events.map((e) =>
        el("li", { text: e.at.slice(0, 16).replace("T", " ") + " UTC · " + S("board.status." + e.to) }))));
    show(el("section", { class: "detail", "data-case": c.id }, parts));
  }

  function actions(c) {
    const box = el("div", { class: "actions-box" });
    const act = async (action, body, done) => {
      for (const b of box.querySelectorAll("button")) b.disabled = true;
      try {
        const updated = await api("POST", "/api/cases/" + c.id + "/" + action, body);
        toast(S(done, { id: c.id }));
        renderCase(updated);
      } catch (error) {
        toast(errorText(error));
        openCase(c.id);
      }
    };
    if (c.status === "new") {
      box.append(el("div", { class: "actions" },
        el("button", { class: "btn", "data-action": "claim", on: { click: () => act("claim", null, "board.done.claimed") } }, S("board.action.claim")),
        el("button", { class: "btn danger", "data-action": "close", on: { click: () => act("close", { note: note.value }, "board.done.closed") } }, S("board.action.close"))));
      const note = el("input", { type: "text", placeholder: S("board.close.placeholder"), maxlength: "1000" });
      box.append(note);
    } else if (c.mine && c.status !== "closed") {
      const answer = el("textarea", { placeholder: S("board.answer.placeholder"), maxlength: "3500", "aria-label": S("board.answer.placeholder") });
      const note = el("input", { type: "text", placeholder: S("board.close.placeholder"), maxlength: "1000" });
      box.append(answer,
        el("div", { class: "actions" },
          el("button", { class: "btn", "data-action": "answer", on: { click: () => act("answer", { text: answer.value }, "board.done.answered") } }, S("board.action.answer")),
          el("button", { class: "btn secondary", "data-action": "release", on: { click: () => act("release", null, "board.done.released") } }, S("board.action.release")),
          el("button", { class: "btn danger", "data-action": "close", on: { click: () => act("close", { note: note.value }, "board.done.closed") } }, S("board.action.close"))),
        note);
    }
    return box;
  }

  // ------------------------------------------------------------------ review

  async function openReview() {
    state.view = { kind: "review" };
    let data;
    try {
      data = await api("GET", "/api/review" + (state.reviewAfter ? "?after=" + state.reviewAfter : ""));
    } catch (error) { return show(el("p", { class: "warn", text: errorText(error) })); }
    if (!state.view || state.view.kind !== "review") return;
    const head = el("p", { class: "meta", text: S("board.review.waiting", { n: data.waiting }) });
    const item = data.item;
    if (!item) return show(head, el("p", { class: "hint", text: S("board.review.empty") }));
    const search = item.search, reading = item.reading;
    const decide = async (verdict) => {
      try {
        await api("POST", "/api/review/" + item.match_id, { verdict });
        toast(S(verdict === "likely" ? "board.review.sent" : "board.review.hidden"));
      } catch (error) { toast(errorText(error)); }
      openReview();
    };
    show(head,
      el("div", { class: "pair", "data-match": item.match_id },
        el("div", { class: "panel" }, el("h3", { text: S("board.review.search") }),
          el("dl", { class: "detail" },
            field(S("board.field.name"), soldierName(search)),
            field(S("board.field.birth_year"), search.birth_year ? String(search.birth_year) : null),
            field(S("board.field.birthplace"), search.birthplace),
            field(S("board.field.draft_office"), search.draft_office))),
        el("div", { class: "panel" }, el("h3", { text: S("board.review.reading") }),
          el("dl", { class: "detail" },
            field(S("board.field.name"), soldierName(reading)),
            ["birth_year", "birthplace", "draft_office", "rank", "found_place", "found_date", "search_unit", "burial_place", "source"]
              .flatMap((f) => field(S("board.field." + f), reading[f]))))),
      el("p", { class: "meta", text: S("board.review.score", { score: Math.round(item.score) + " %" }) }),
      el("div", { class: "actions" },
        el("button", { class: "btn", on: { click: () => decide("likely") } }, S("board.review.likely")),
        el("button", { class: "btn danger", on: { click: () => decide("not") } }, S("board.review.not")),
        el("button", { class: "btn secondary", on: { click: () => { state.reviewAfter = item.match_id; openReview(); } } }, S("board.review.skip"))));
  }

  // ------------------------------------------------------------------ stories (the memory book's moderation)

  async function openStories() {
    state.view = { kind: "stories" };
    let data;
    try {
      data = await api("GET", "/api/stories" + (state.storyAfter ? "?after=" + state.storyAfter : ""));
    } catch (error) { return show(el("p", { class: "warn", text: errorText(error) })); }
    if (!state.view || state.view.kind !== "stories") return;
    const head = el("p", { class: "meta", "data-waiting": data.waiting, text: S("board.story.waiting", { n: data.waiting }) });
    const story = data.item;
    if (!story) {
      const again = state.storyAfter;
      state.storyAfter = null;
      return show(head, el("p", { class: "hint", id: "stories-empty", text: S(again ? "board.story.no_more" : "board.story.empty") }));
    }
    const who = story.reading || story.soldier;
    const reason = el("textarea", { "data-input": "reason", maxlength: "1000", placeholder: S("board.story.reason_placeholder"), "aria-label": S("board.story.reason_placeholder") });
    const question = el("textarea", { "data-input": "question", maxlength: "3500", placeholder: S("board.story.question_placeholder"), "aria-label": S("board.story.question_placeholder") });
    const section = el("section", { class: "detail story", "data-story": story.id });
    const decide = async (action, body, done) => {
      for (const b of section.querySelectorAll("button")) b.disabled = true;
      try {
        const result = await api("POST", "/api/stories/" + story.id + "/" + action, body);
        const key = action === "ask" && result.delivered === false ? "board.story.ask_blocked" : done;
        toast(S(key, { id: story.id, case: result.case }));
        if (action === "ask") return openStories();
        state.storyAfter = null;
      } catch (error) { toast(errorText(error)); }
      openStories();
    };
    const files = story.files.length
      ? el("div", { class: "files" }, story.files.map((file) => storyFile(story.id, file)))
      : el("p", { class: "hint", text: S("board.story.no_files") });
    section.append(
      head,
      el("h2", { text: S("board.story.number", { id: story.id }) }),
      el("dl", {},
        field(S("board.field.name"), soldierName(who)),
        ["birth_year", "birthplace", "draft_office", "rank", "found_place", "found_date", "search_unit", "burial_place"]
          .flatMap((f) => field(S("board.field." + f), who[f] ? String(who[f]) : null))),
      el("p", { class: "meta", text: story.reading ? S("board.story.reading", { reading: story.reading.reading_id }) : S("board.story.no_reading") }),
      el("p", { class: "meta", "data-consent": story.consent || "", text: S("board.story.consent", { consent: S("board.story.consent." + (story.consent || "units_only")) }) }),
      el("h3", { text: S("board.story.text") }),
      el("div", { class: "story-text", text: story.text }),
      el("h3", { text: S("board.story.files") }),
      files,
      el("div", { class: "actions" },
        el("button", { class: "btn", "data-action": "approve", on: { click: () => decide("approve", null, "board.story.approved") } }, S("board.story.approve")),
        el("button", { class: "btn secondary", "data-action": "skip", on: { click: () => { state.storyAfter = story.id; openStories(); } } }, S("board.story.skip"))),
      el("div", { class: "panel form" }, reason,
        el("button", { class: "btn danger", "data-action": "decline", on: { click: () => decide("decline", { reason: reason.value }, "board.story.declined") } }, S("board.story.decline"))),
      el("div", { class: "panel form" }, question,
        el("button", { class: "btn secondary", "data-action": "ask", on: { click: () => decide("ask", { question: question.value }, "board.story.asked") } }, S("board.story.ask"))),
    );
    show(section);
  }

  function storyFile(storyId, file) {
    const path = "/api/stories/" + storyId + "/files/" + file.id;
    const caption = file.caption ? el("figcaption", { text: file.caption }) : null;
    if (file.kind === "pdf") {
      const open = el("button", { class: "btn secondary", "data-file": file.id, on: { click: async () => {
        try { window.open(await apiBlob(path), "_blank", "noopener"); } catch (error) { toast(errorText(error)); }
      } } }, "📄 " + S("board.story.pdf"));
      return el("figure", { class: "file pdf" }, open, caption);
    }
    const image = el("img", { "data-file": file.id, alt: file.caption || "" });
    apiBlob(path).then((url) => { image.src = url; }, () => { image.alt = S("board.error.not_found"); });
    return el("figure", { class: "file" }, image, caption);
  }

  // ------------------------------------------------------------------ statistics

  function destroyCharts() {
    for (const chart of state.charts) chart.destroy();
    state.charts = [];
  }

  function palette() {
    const css = getComputedStyle(document.documentElement);
    const get = (name, fallback) => (css.getPropertyValue(name) || "").trim() || fallback;
    return {
      text: get("--tg-theme-text-color", "#1c1c1e"),
      hint: get("--tg-theme-hint-color", "#7d7d85"),
      series: [get("--tg-theme-button-color", "#2a7ab0"), "#e0902b", "#3fa45b", "#c0504d", "#8064a2"],
    };
  }

  function chart(canvas, config) {
    if (!window.Chart) return;
    const colors = palette();
    window.Chart.defaults.color = colors.hint;
    window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false,
      plugins: { legend: { labels: { color: colors.text, boxWidth: 12 } } } }, config.options || {});
    config.data.datasets.forEach((set, i) => {
      const color = colors.series[i % colors.series.length];
      set.backgroundColor = set.backgroundColor || color;
      set.borderColor = set.borderColor || color;
    });
    state.charts.push(new window.Chart(canvas, config));
  }

  function chartBox(title, name, tall) {
    const canvas = el("canvas", { "data-chart": name, role: "img", "aria-label": title });
    return [el("div", { class: "panel" }, el("h3", { text: title }), el("div", { class: "chart" + (tall ? " tall" : "") }, canvas)), canvas];
  }

  async function openStats() {
    state.view = { kind: "stats" };
    let s;
    try { s = await api("GET", "/api/stats"); } catch (error) { return show(el("p", { class: "warn", text: errorText(error) })); }
    if (!state.view || state.view.kind !== "stats") return;
    if (!s.as_of) { // the first snapshot is being made in the background: polling asks again
      state.view.waiting = true;
      return show(el("p", { class: "hint", id: "stats-waiting", text: S("board.stats.preparing") }));
    }
    const asOf = el("p", { class: "meta", id: "stats-as-of", "data-as-of": s.as_of,
      text: S("board.stats.as_of", { time: s.as_of.slice(0, 16).replace("T", " ") + " UTC" }) });
    const weeks = s.weeks.map((w) => w.slice(8, 10) + "." + w.slice(5, 7)); // each week's Monday, dd.mm
    const [weeklyBox, weeklyCanvas] = chartBox(S("board.stats.weekly"), "weekly");
    const [matchBox, matchCanvas] = chartBox(S("board.stats.matches"), "matches");
    const [casesBox, casesCanvas] = chartBox(S("board.stats.cases"), "cases");
    const [appealsBox, appealsCanvas] = chartBox(S("board.stats.appeals"), "appeals");
    const [regionsBox, regionsCanvas] = chartBox(S("board.stats.regions"), "regions", true);
    casesBox.append(
      el("p", { class: "meta", "data-median": "claim", text: S("board.stats.median_claim", { time: duration(s.median_claim_seconds) }) }),
      el("p", { class: "meta", "data-median": "answer", text: S("board.stats.median_answer", { time: duration(s.median_answer_seconds) }) }));
    show(asOf, el("div", { class: "stats-grid" }, weeklyBox, matchBox, casesBox, appealsBox, regionsBox));
    chart(weeklyCanvas, { type: "line", data: { labels: weeks, datasets: [
      { label: S("board.stats.new_users"), data: s.weekly.new_users, tension: 0.25 },
      { label: S("board.stats.searches"), data: s.weekly.searches, tension: 0.25 },
      { label: S("board.stats.saved_searches"), data: s.weekly.saved_searches, tension: 0.25 },
    ] }, options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } } });
    chart(matchCanvas, { type: "bar", data: { labels: weeks, datasets: [
      { label: S("board.stats.matches_found"), data: s.weekly.matches_found },
      { label: S("board.stats.matches_told"), data: s.weekly.matches_told },
    ] }, options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } } });
    const statuses = ["new", "claimed", "answered", "closed"];
    chart(casesCanvas, { type: "bar", data: { labels: statuses.map((x) => S("board.status." + x)), datasets: [
      { label: S("board.stats.cases"), data: statuses.map((x) => s.cases[x] || 0), backgroundColor: palette().series.slice(0, 4) },
    ] }, options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } } });
    const states = ["sent", "blocked", "failed", "left"];
    chart(appealsCanvas, { type: "bar", data: { labels: s.appeals.map((a) => S("board.stats.appeal", { id: a.id })),
      datasets: states.map((x) => ({ label: S("board.stats." + x), data: s.appeals.map((a) => (x === "left" ? a.left : a.counts[x] || 0)) })) },
      options: { indexAxis: "y", scales: { x: { stacked: true, beginAtZero: true, ticks: { precision: 0 } }, y: { stacked: true } } } });
    if (!s.appeals.length) appealsBox.append(el("p", { class: "hint", text: S("board.stats.no_data") }));
    chart(regionsCanvas, { type: "bar", data: { labels: s.regions.map((r) => r.label), datasets: [
      { label: S("board.stats.readings"), data: s.regions.map((r) => r.readings) },
      { label: S("board.stats.families"), data: s.regions.map((r) => r.families) },
    ] }, options: { indexAxis: "y", scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } } });
    if (!s.regions.length) regionsBox.append(el("p", { class: "hint", text: S("board.stats.no_data") }));
  }

  // ------------------------------------------------------------------ start

  function busy() {
    const active = document.activeElement;
    return active && (active.tagName === "TEXTAREA" || active.tagName === "INPUT") && active.value;
  }

  function poll() {
    if (document.hidden || busy() || !state.view) return;
    if (state.view.kind === "list" && !state.view.more) openList();
    else if (state.view.kind === "case") openCase(state.view.id);
    else if (state.view.kind === "stats" && state.view.waiting) openStats();
  }

  async function start() {
    applyTheme();
    listenToTelegram();
    postEvent("web_app_ready");
    postEvent("web_app_expand");
    document.getElementById("language").addEventListener("change", async (event) => {
      await loadStrings(event.target.value);
      try { localStorage.setItem("amanat.board.lang", state.lang); } catch (e) { /* no storage */ }
      if (state.me) { renderTabs(); openTab(); }
    });
    let saved = null;
    try { saved = localStorage.getItem("amanat.board.lang"); } catch (e) { /* no storage */ }
    await loadStrings(LANGS.includes(saved) ? saved : launchLanguage());
    if (!initData) return show(el("p", { class: "warn", id: "unauthorized", text: S("board.unauthorized") }));
    try {
      state.me = await api("GET", "/api/me");
    } catch (error) {
      return show(el("p", { class: "warn", id: "unauthorized", text: error.status === 401 ? S("board.unauthorized") : errorText(error) }));
    }
    if (!saved && LANGS.includes(state.me.language) && state.me.language !== state.lang) await loadStrings(state.me.language);
    const available = tabs();
    if (!available.length) return show(el("p", { class: "warn", id: "forbidden", text: S("board.forbidden") }));
    state.tab = available.includes(query.get("tab")) ? query.get("tab") : available[0];
    renderTabs();
    openTab();
    setInterval(poll, POLL_MS);
  }

  document.addEventListener("DOMContentLoaded", start);
})();
