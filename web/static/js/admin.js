// The organiser's page: events and their days, ticket types, tickets and join links, networking
// sessions and their rules, background images, pre-session media, and a live view of a running session.

import { ApiError, request } from "./api.js";
import { $, $$, copyText, fill, fmtClock, fmtDuration, h, toast, toEpoch } from "./dom.js";
import {
  downloadExport,
  loadEventTags,
  loadRatings,
  renderTagCount,
  saveEventTags,
  splitHeadline,
} from "./admin_followup.js";
import { loadModeration, removeButton, wireModeration } from "./admin_moderation.js";

const TOKEN_KEY = "speedmeet.adminToken";
const LIVE_POLL_MS = 2000;

const state = {
  token: sessionStorage.getItem(TOKEN_KEY) || "",
  events: [],
  event: null,
  types: [],
  tickets: [],
  sessions: [],
  assets: [],
  tab: "sessions",
  session: null, // the session whose media and live view are shown
  editing: null, // the session being edited (null: creating)
  livePoll: null,
  liveAbort: null,
  interestTags: [],
};

// Exposed for debugging and for the end-to-end tests (read-only use).
window.speedmeetAdmin = state;

// ---- API --------------------------------------------------------------------------------------

async function api(method, path, body) {
  try {
    return await request(method, path, { body, headers: { Authorization: `Bearer ${state.token}` } });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      signOut("The admin token was not accepted. Paste it again.");
    }
    throw err;
  }
}

/** Lists come either bare or wrapped ({"events": [...]}); accept both. */
function listOf(data, key) {
  if (Array.isArray(data)) return data;
  if (data && Array.isArray(data[key])) return data[key];
  if (data && Array.isArray(data.items)) return data.items;
  return [];
}

function flash(message, kind = "ok") {
  const el = fill($("#flash"), h("div", { class: `notice ${kind}` }, message));
  clearTimeout(flash.timer);
  flash.timer = setTimeout(() => el.replaceChildren(), kind === "error" ? 8000 : 4000);
}

/** Run an action, showing its error (the server's words) instead of failing silently. */
async function attempt(fn, errorPrefix = "") {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return undefined;
    flash(`${errorPrefix}${err.message}`, "error");
    return undefined;
  }
}

/** Submit handler wrapper: the form's buttons are disabled while its request runs (no double submits). */
function busyForm(form, handler) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const buttons = [...form.querySelectorAll("button")];
    buttons.forEach((b) => (b.disabled = true));
    form.setAttribute("aria-busy", "true");
    try {
      await handler(event);
    } finally {
      buttons.forEach((b) => (b.disabled = false));
      form.removeAttribute("aria-busy");
    }
  });
}

// ---- time zones ---------------------------------------------------------------------------------

function zoneOf() {
  return (state.event && state.event.timezone) || Intl.DateTimeFormat().resolvedOptions().timeZone;
}

function zonedParts(ms, tz) {
  const fmt = new Intl.DateTimeFormat("en-CA", {
    timeZone: tz,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
  const parts = Object.fromEntries(fmt.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour) % 24,
    minute: Number(parts.minute),
    second: Number(parts.second),
  };
}

/** "2026-05-14T09:30" on the wall clock of `tz` -> epoch milliseconds. */
function wallToEpochMs(wall, tz) {
  const [date, time] = wall.split("T");
  const [y, mo, d] = date.split("-").map(Number);
  const [hh, mm] = (time || "00:00").split(":").map(Number);
  const guess = Date.UTC(y, mo - 1, d, hh, mm);
  let ts = guess;
  try {
    for (let i = 0; i < 3; i += 1) {
      const p = zonedParts(ts, tz);
      const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
      ts = guess - (asUtc - ts);
    }
  } catch {
    ts = new Date(wall).getTime(); // unknown zone name: the browser's own zone
  }
  return ts;
}

/** Epoch milliseconds -> "2026-05-14T09:30" on the wall clock of `tz` (for datetime-local inputs). */
function epochMsToWall(ms, tz) {
  let p;
  try {
    p = zonedParts(ms, tz);
  } catch {
    const d = new Date(ms);
    p = { year: d.getFullYear(), month: d.getMonth() + 1, day: d.getDate(), hour: d.getHours(), minute: d.getMinutes() };
  }
  const pad = (n) => String(n).padStart(2, "0");
  return `${p.year}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}`;
}

function fmtInZone(value, options = { dateStyle: "medium", timeStyle: "short" }) {
  const epoch = toEpoch(value);
  if (epoch === null) return "";
  try {
    return new Intl.DateTimeFormat(undefined, { ...options, timeZone: zoneOf() }).format(new Date(epoch * 1000));
  } catch {
    return new Date(epoch * 1000).toLocaleString();
  }
}

function parseDays(text) {
  return text
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

// ---- sign in -------------------------------------------------------------------------------------

function signOut(message) {
  state.token = "";
  sessionStorage.removeItem(TOKEN_KEY);
  stopLive();
  $("#workspace").hidden = true;
  $("#token-card").hidden = false;
  $("#signed-in").hidden = true;
  $("#btn-sign-out").hidden = true;
  if (message) flash(message, "error");
  $("#token-input").focus();
}

async function signIn(token) {
  state.token = token.trim();
  let events;
  try {
    events = await request("GET", "/api/admin/events", { headers: { Authorization: `Bearer ${state.token}` } });
  } catch (err) {
    signOut(err.status === 401 || err.status === 403 ? "That admin token is not valid." : err.message);
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, state.token);
  $("#token-card").hidden = true;
  $("#workspace").hidden = false;
  $("#signed-in").hidden = false;
  $("#btn-sign-out").hidden = false;
  state.events = listOf(events, "events");
  renderEvents();
  if (state.events.length && !state.event) await selectEvent(state.events[0].id);
}

// ---- events ------------------------------------------------------------------------------------

async function loadEvents() {
  const data = await api("GET", "/api/admin/events");
  state.events = listOf(data, "events");
  renderEvents();
}

function renderEvents() {
  fill(
    $("#event-list"),
    state.events.length
      ? state.events.map((ev) =>
          h(
            "li",
            {},
            h(
              "button",
              {
                type: "button",
                class: "list-item",
                "aria-current": state.event && state.event.id === ev.id ? "true" : "false",
                onclick: () => selectEvent(ev.id),
              },
              h("span", {}, ev.name),
              h("span", { class: "muted small" }, `${(ev.days || []).length} day${(ev.days || []).length === 1 ? "" : "s"}`),
            ),
          ),
        )
      : h("li", { class: "muted small" }, "No events yet: create one below."),
  );
  $("#new-event").open = !state.events.length;
}

async function selectEvent(eventId) {
  stopLive();
  const ev = await attempt(() => api("GET", `/api/admin/events/${eventId}`));
  if (!ev) return;
  const next = ev.event || ev;
  if (!state.event || state.event.id !== next.id) state.tagsShown = undefined; // another event's tags
  state.event = next;
  state.session = null;
  state.editing = null;
  renderEvents();
  $("#event-detail").hidden = false;
  $("#event-title").textContent = state.event.name;
  $("#event-meta").textContent = `${state.event.timezone} · ${(state.event.days || []).join(", ")}`;
  $("#e-name").value = state.event.name;
  $("#e-tz").value = state.event.timezone;
  $("#e-days").value = (state.event.days || []).join("\n");
  $("#session-form").hidden = true;
  $("#session-extra").hidden = true;
  await Promise.all([loadTypes(), loadTickets(), loadSessions(), loadAssets(), loadEventTags(state)]);
  selectTab(state.tab);
}

// ---- tabs -----------------------------------------------------------------------------------------

const TABS = ["sessions", "tickets", "types", "backgrounds", "interests", "event"];

function selectTab(name, focus = false) {
  state.tab = name;
  for (const tab of TABS) {
    const btn = $(`#tab-${tab}`);
    const selected = tab === name;
    btn.setAttribute("aria-selected", String(selected));
    btn.tabIndex = selected ? 0 : -1;
    $(`#pane-${tab}`).hidden = !selected;
  }
  if (focus) $(`#tab-${name}`).focus();
  if (name === "sessions" && state.session) startLive();
  else stopLive();
}

// ---- ticket types ---------------------------------------------------------------------------------

async function loadTypes() {
  const data = await attempt(() => api("GET", `/api/admin/events/${state.event.id}/ticket-types`));
  state.types = listOf(data, "ticket_types");
  renderTypes();
}

function renderTypes() {
  fill(
    $("#type-list"),
    state.types.length
      ? state.types.map((t) =>
          h(
            "li",
            { class: "list-item" },
            h("span", {}, t.name, " ", h("span", { class: "muted small" }, t.ticket_count !== undefined ? `${t.ticket_count} tickets` : "")),
            h(
              "button",
              {
                type: "button",
                class: "small",
                "aria-label": `Delete ticket type ${t.name}`,
                onclick: async () => {
                  if (!confirm(`Delete the ticket type "${t.name}"?`)) return;
                  const ok = await attempt(() => api("DELETE", `/api/admin/ticket-types/${t.id}`), "Not deleted: ");
                  if (ok !== undefined) await loadTypes();
                },
              },
              "Delete",
            ),
          ),
        )
      : h("li", { class: "muted small" }, "No ticket types yet. Add one (e.g. Attendee) before creating tickets."),
  );
  fill(
    $("#t-type"),
    state.types.map((t) => h("option", { value: t.name }, t.name)),
  );
}

// ---- tickets --------------------------------------------------------------------------------------

async function loadTickets() {
  const data = await attempt(() => api("GET", `/api/admin/events/${state.event.id}/tickets`));
  state.tickets = listOf(data, "tickets");
  renderTickets();
}

/** The join link of `ticket` for `sessionId`: from the server's join_links, else built from the secret. */
function joinLink(ticket, sessionId) {
  const links = ticket.join_links;
  let link = null;
  if (Array.isArray(links)) {
    const found = links.find((l) => String(l.session_id) === String(sessionId));
    link = found ? found.url || found.link : null;
  } else if (links && typeof links === "object") {
    link = links[sessionId] || links[String(sessionId)] || null;
  }
  if (!link && ticket.secret) link = `/s/${sessionId}?t=${encodeURIComponent(ticket.secret)}`;
  if (link && link.startsWith("/")) link = `${location.origin}${link}`;
  return link;
}

function renderTickets() {
  const select = $("#link-session");
  const previous = select.value;
  fill(
    select,
    state.sessions.map((s) => h("option", { value: String(s.id), selected: String(s.id) === previous }, s.title)),
  );
  $("#link-session-field").hidden = !state.sessions.length;
  const sessionId = select.value;
  fill(
    $("#ticket-rows"),
    state.tickets.map((t) => {
      const link = sessionId ? joinLink(t, sessionId) : null;
      return h(
        "tr",
        {},
        h("td", {}, t.name, t.is_admin ? h("span", { class: "badge after-text" }, "admin") : null),
        h("td", { class: "small" }, t.email),
        h("td", {}, t.ticket_type),
        h("td", { class: "small" }, [t.headline, t.company].filter(Boolean).join(" · ")),
        h(
          "td",
          {},
          link
            ? h(
                "div",
                { class: "actions" },
                h("a", { class: "join-link", href: link, target: "_blank", rel: "noopener", title: link }, link),
                h(
                  "button",
                  {
                    type: "button",
                    class: "small",
                    "aria-label": `Copy join link for ${t.name}`,
                    onclick: async () => toast((await copyText(link)) ? `Join link for ${t.name} copied` : "Copy failed: select the link and copy it"),
                  },
                  "Copy",
                ),
              )
            : h("span", { class: "muted small" }, "Create a session first"),
        ),
        h(
          "td",
          {},
          h(
            "button",
            {
              type: "button",
              class: "small",
              "aria-label": `Delete ticket of ${t.name}`,
              onclick: async () => {
                if (!confirm(`Delete the ticket of ${t.name}? Their join links stop working.`)) return;
                const ok = await attempt(() => api("DELETE", `/api/admin/tickets/${t.id}`), "Not deleted: ");
                if (ok !== undefined) await loadTickets();
              },
            },
            "Delete",
          ),
        ),
      );
    }),
  );
  if (!state.tickets.length) {
    fill($("#ticket-rows"), h("tr", {}, h("td", { colspan: "6", class: "muted small" }, "No tickets yet.")));
  }
}

/** Split one pasted line on commas, honouring "double quoted, fields". */
function splitCsvLine(line) {
  const out = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < line.length; i += 1) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i += 1;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === "," || ch === "\t" || ch === ";") {
      out.push(cur.trim());
      cur = "";
    } else cur += ch;
  }
  out.push(cur.trim());
  return out;
}

function parseBulk(text) {
  const tickets = [];
  const problems = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    const [name, email, type, ...rest] = splitCsvLine(line);
    if (!name || !email || !type) {
      problems.push(`line ${i + 1}: needs at least name, email and ticket type`);
      return;
    }
    const { headline, interests } = splitHeadline(rest, state.interestTags);
    tickets.push({ name, email, ticket_type: type, headline: headline || null, interests });
  });
  return { tickets, problems };
}

async function createTickets(tickets) {
  const result = await attempt(
    () => api("POST", `/api/admin/events/${state.event.id}/tickets`, { tickets }),
    "Tickets not added: ",
  );
  if (result === undefined) return false;
  const created = listOf(result, "tickets");
  flash(`${created.length || tickets.length} ticket${tickets.length === 1 ? "" : "s"} added.`);
  await loadTickets();
  await loadTypes();
  return true;
}

// ---- sessions -------------------------------------------------------------------------------------

async function loadSessions() {
  const data = await attempt(() => api("GET", `/api/admin/events/${state.event.id}/sessions`));
  state.sessions = listOf(data, "sessions");
  renderSessions();
  renderTickets();
}

function sessionStatus(s) {
  if (s.status) return s.status;
  const now = Date.now() / 1000;
  if (now < toEpoch(s.starts_at)) return "upcoming";
  if (now < toEpoch(s.ends_at)) return "live";
  return "ended";
}

function renderSessions() {
  $("#sessions-empty").hidden = state.sessions.length > 0;
  fill(
    $("#session-rows"),
    state.sessions.map((s) => {
      const status = sessionStatus(s);
      return h(
        "tr",
        { "aria-current": state.session && state.session.id === s.id ? "true" : null },
        h("td", {}, h("strong", {}, s.title)),
        h("td", { class: "small" }, `${fmtInZone(s.starts_at)} – ${fmtInZone(s.ends_at, { timeStyle: "short" })}`),
        h("td", { class: "small" }, `${fmtDuration(s.meeting_seconds)}${s.allow_rematch ? " · re-match on" : ""}`),
        h("td", {}, h("span", { class: `badge ${status}` }, status)),
        h(
          "td",
          {},
          h(
            "div",
            { class: "actions" },
            h(
              "button",
              {
                type: "button",
                class: "small",
                "aria-label": status === "live" ? `Live view of ${s.title}` : `Open ${s.title}`,
                onclick: () => openSession(s.id),
              },
              status === "live" ? "Live view" : "Open",
            ),
            h("button", { type: "button", class: "small", "aria-label": `Edit ${s.title}`, onclick: () => editSession(s) }, "Edit"),
            h(
              "button",
              {
                type: "button",
                class: "small",
                "aria-label": `Delete ${s.title}`,
                onclick: async () => {
                  if (!confirm(`Delete the session "${s.title}"?`)) return;
                  const ok = await attempt(() => api("DELETE", `/api/admin/sessions/${s.id}`), "Not deleted: ");
                  if (ok === undefined) return;
                  if (state.session && state.session.id === s.id) {
                    state.session = null;
                    $("#session-extra").hidden = true;
                    stopLive();
                  }
                  await loadSessions();
                },
              },
              "Delete",
            ),
          ),
        ),
      );
    }),
  );
}

function renderMatrix(allowedPairs) {
  const wrap = $("#matrix-wrap");
  const names = state.types.map((t) => t.name);
  const allowed = new Set((allowedPairs || []).map(([a, b]) => [a, b].sort().join("\u0000")));
  if (!names.length) {
    fill(wrap, h("p", { class: "muted small" }, "Add ticket types first."));
    return;
  }
  const key = (a, b) => [a, b].sort().join("\u0000");
  const table = h(
    "table",
    { class: "matrix", "aria-label": "Ticket types that may meet" },
    h("thead", {}, h("tr", {}, h("th", {}, h("span", { class: "visually-hidden" }, "Ticket type")), names.map((n) => h("th", { scope: "col" }, n)))),
    h(
      "tbody",
      {},
      names.map((a) =>
        h(
          "tr",
          {},
          h("th", { scope: "row" }, a),
          names.map((b) =>
            h(
              "td",
              {},
              h("input", {
                type: "checkbox",
                "aria-label": `${a} may meet ${b}`,
                dataset: { pair: key(a, b), a, b },
                checked: allowedPairs ? allowed.has(key(a, b)) : true,
                onchange: (event) => {
                  // The matrix is symmetric: A meeting B is B meeting A.
                  for (const box of $$("#matrix-wrap input[type=checkbox]")) {
                    if (box.dataset.pair === event.target.dataset.pair) box.checked = event.target.checked;
                  }
                },
              }),
            ),
          ),
        ),
      ),
    ),
  );
  fill(wrap, table, h("p", { class: "muted small" }, "Ticked: those two ticket types may be matched. The grid is symmetric."));
}

function readMatrix() {
  if ($("#s-everyone").checked) return null;
  const pairs = new Map();
  for (const box of $$("#matrix-wrap input[type=checkbox]")) {
    if (box.checked) pairs.set(box.dataset.pair, [box.dataset.a, box.dataset.b].sort());
  }
  return [...pairs.values()];
}

function defaultTimes() {
  // Next quarter hour on the first event day that is today or later, in the event's time zone.
  const tz = zoneOf();
  const now = Date.now();
  const today = epochMsToWall(now, tz).slice(0, 10);
  const days = (state.event.days || []).slice().sort();
  const day = days.find((d) => d >= today) || days[days.length - 1] || today;
  let start;
  if (day === today) {
    const q = 15 * 60 * 1000;
    start = epochMsToWall(Math.ceil((now + 60 * 1000) / q) * q, tz);
  } else {
    start = `${day}T10:00`;
  }
  const end = epochMsToWall(wallToEpochMs(start, tz) + 60 * 60 * 1000, tz);
  return { start, end };
}

function newSession() {
  state.editing = null;
  $("#session-form-title").textContent = "New session";
  $("#btn-save-session").textContent = "Create session";
  $("#s-title").value = "";
  const { start, end } = defaultTimes();
  $("#s-starts").value = start;
  $("#s-ends").value = end;
  $("#s-seconds").value = "300";
  $("#s-cooldown").value = "300";
  $("#s-max-ext").value = "1";
  $("#s-rematch").checked = false;
  $("#s-interests").checked = true;
  $("#s-everyone").checked = true;
  $("#matrix-wrap").hidden = true;
  renderMatrix(null);
  showSessionForm();
}

function editSession(s) {
  state.editing = s;
  const tz = zoneOf();
  $("#session-form-title").textContent = `Edit ${s.title}`;
  $("#btn-save-session").textContent = "Save session";
  $("#s-title").value = s.title;
  $("#s-starts").value = epochMsToWall(toEpoch(s.starts_at) * 1000, tz);
  $("#s-ends").value = epochMsToWall(toEpoch(s.ends_at) * 1000, tz);
  $("#s-seconds").value = String(s.meeting_seconds);
  $("#s-cooldown").value = String(s.rematch_cooldown_seconds ?? 300);
  $("#s-max-ext").value = String(s.max_extensions ?? 1);
  $("#s-rematch").checked = Boolean(s.allow_rematch);
  $("#s-interests").checked = s.interest_weighting !== false;
  const pairs = s.allowed_pairs || null;
  $("#s-everyone").checked = !pairs;
  $("#matrix-wrap").hidden = !pairs;
  renderMatrix(pairs);
  showSessionForm();
}

function showSessionForm() {
  const tz = zoneOf();
  $("#s-starts-label").textContent = `Starts (${tz})`;
  $("#s-ends-label").textContent = `Ends (${tz})`;
  $("#session-form-error").hidden = true;
  $("#session-form").hidden = false;
  $("#s-title").focus();
}

function withSeconds(wall) {
  return wall.length === 16 ? `${wall}:00` : wall;
}

async function saveSession() {
  const body = {
    title: $("#s-title").value.trim(),
    // Wall-clock times without an offset: the server reads them in the event's time zone.
    starts_at: withSeconds($("#s-starts").value),
    ends_at: withSeconds($("#s-ends").value),
    meeting_seconds: Number($("#s-seconds").value),
    allow_rematch: $("#s-rematch").checked,
    rematch_cooldown_seconds: Number($("#s-cooldown").value),
    max_extensions: Number($("#s-max-ext").value),
    allowed_pairs: readMatrix(),
    interest_weighting: $("#s-interests").checked,
  };
  const errorBox = $("#session-form-error");
  try {
    const saved = state.editing
      ? await api("PATCH", `/api/admin/sessions/${state.editing.id}`, body)
      : await api("POST", `/api/admin/events/${state.event.id}/sessions`, body);
    const session = (saved && (saved.session || saved)) || null;
    $("#session-form").hidden = true;
    flash(state.editing ? `Session "${body.title}" saved.` : `Session "${body.title}" created.`);
    state.editing = null;
    await loadSessions();
    if (session && session.id) await openSession(session.id);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    errorBox.textContent = err.message;
    errorBox.hidden = false;
  }
}

async function openSession(sessionId) {
  const s = state.sessions.find((x) => x.id === sessionId);
  if (!s) return;
  state.session = s;
  renderSessions();
  $("#session-extra").hidden = false;
  $("#session-extra-title").textContent = s.title;
  renderPreMedia();
  startLive();
  loadRatings(state);
  loadModeration(state);
  $("#session-extra-title").setAttribute("tabindex", "-1");
  $("#session-extra-title").focus();
}

function preMediaUrl(s) {
  return s.pre_session_media_url || (s.pre_session_media && s.pre_session_media.url) || null;
}

function renderPreMedia() {
  const s = state.session;
  const url = preMediaUrl(s);
  const box = $("#pre-media-current");
  if (!url) {
    fill(box, h("span", { class: "muted" }, "Nothing yet: attendees see the title and a countdown."));
  } else if (/video|\.mp4|\.webm/i.test(`${(s.pre_session_media && s.pre_session_media.kind) || ""} ${url}`)) {
    fill(box, h("video", { src: url, controls: true, muted: true, class: "media-preview", "aria-label": "Pre-session video" }));
  } else {
    fill(box, h("img", { src: url, alt: "Pre-session image", class: "media-preview" }));
  }
  $("#btn-pre-media-remove").hidden = !url;
}

async function uploadPreMedia(file) {
  if (!file || !state.session) return;
  const form = new FormData();
  form.append("file", file, file.name);
  const result = await attempt(() => api("PUT", `/api/admin/sessions/${state.session.id}/pre-session-media`, form), "Upload failed: ");
  if (result === undefined) return;
  flash("Pre-session media uploaded.");
  await refreshSession();
}

async function refreshSession() {
  const id = state.session.id;
  await loadSessions();
  state.session = state.sessions.find((x) => x.id === id) || state.session;
  renderPreMedia();
}

// ---- live view --------------------------------------------------------------------------------------

const LIVE_STATS = [
  ["waiting", "Waiting"],
  ["in_meetings", "In meetings"],
  ["meetings_running", "Meetings in progress"],
  ["meetings_started", "Meetings so far"],
  ["extensions", "Extensions"],
  ["connections_requested", "Connection requests"],
  ["connections_accepted", "Connections made"],
  ["connected", "Connected now"],
];

function startLive() {
  stopLive();
  if (!state.session) return;
  pollLive();
  state.livePoll = setInterval(pollLive, LIVE_POLL_MS);
}

function stopLive() {
  clearInterval(state.livePoll);
  state.livePoll = null;
  if (state.liveAbort) state.liveAbort.abort();
  state.liveAbort = null;
}

async function pollLive() {
  const s = state.session;
  if (!s || document.hidden) return;
  if (state.liveAbort) state.liveAbort.abort();
  const abort = new AbortController();
  state.liveAbort = abort;
  let data;
  try {
    data = await request("GET", `/api/admin/sessions/${s.id}/live`, {
      headers: { Authorization: `Bearer ${state.token}` },
      signal: abort.signal,
    });
  } catch (err) {
    if (err.name === "AbortError") return;
    if (err.status === 401) {
      signOut("The admin token was not accepted. Paste it again.");
      return;
    }
    $("#live-note").textContent = `Live data unavailable: ${err.message}`;
    return;
  }
  if (state.session !== s) return;
  renderLive(data);
}

function renderLive(data) {
  const live = (data && data.live) || {};
  const counts = live;
  fill(
    $("#live-stats"),
    LIVE_STATS.filter(([key]) => counts[key] !== undefined).map(([key, label]) =>
      h("div", { class: "stat" }, h("div", { class: "value", dataset: { stat: key } }, String(counts[key])), h("div", { class: "label" }, label)),
    ),
  );
  const meetings = live.meetings || [];
  const serverNow = typeof live.server_time === "number" ? live.server_time : Date.now() / 1000;
  fill(
    $("#live-meetings"),
    meetings.length
      ? meetings.map((m) => {
          const names = m.a && m.b ? `${nameOf(m.a)} & ${nameOf(m.b)}` : m.names ? m.names.join(" & ") : m.meeting_id;
          const left = toEpoch(m.ends_at) - serverNow;
          const remove = m.a && m.b ? [removeButton(m.a), removeButton(m.b)] : [];
          return h(
            "tr",
            {},
            h("td", {}, names),
            h("td", { class: "mono" }, fmtClock(left)),
            h("td", {}, String(m.extensions ?? 0)),
            h("td", { class: "remove-cell" }, ...remove),
          );
        })
      : h("tr", {}, h("td", { colspan: "4", class: "muted small" }, "No meetings in progress.")),
  );
  const status = (data && data.status) || sessionStatus(state.session);
  const notes = [];
  if (status === "upcoming") notes.push("The session has not started yet.");
  else if (data && data.running === false && status === "live") notes.push("Nobody has joined yet.");
  if (live.session_ended || status === "ended") notes.push("The session has ended: no new matches.");
  $("#live-note").textContent = notes.join(" ");
  $("#live-updated").textContent = `Updated ${new Date().toLocaleTimeString()}`;
}

function nameOf(who) {
  if (who && typeof who === "object") return who.name || `#${who.ticket_id}`;
  const ticket = state.tickets.find((t) => String(t.id) === String(who));
  return ticket ? ticket.name : `#${who}`;
}

// ---- backgrounds ------------------------------------------------------------------------------------

async function loadAssets() {
  const data = await attempt(() => api("GET", `/api/admin/events/${state.event.id}/assets`));
  state.assets = listOf(data, "assets").filter((a) => !a.purpose || a.purpose === "background");
  renderAssets();
}

function renderAssets() {
  fill(
    $("#asset-list"),
    state.assets.length
      ? state.assets.map((a) =>
          h(
            "div",
            { class: "thumb", role: "listitem" },
            h("img", { src: a.url, alt: `Background ${a.id}` }),
            h(
              "button",
              {
                type: "button",
                class: "small space-above-xs",
                "aria-label": `Delete background ${a.id}`,
                onclick: async () => {
                  const ok = await attempt(() => api("DELETE", `/api/admin/assets/${a.id}`), "Not deleted: ");
                  if (ok !== undefined) await loadAssets();
                },
              },
              "Delete",
            ),
          ),
        )
      : h("p", { class: "muted small" }, "No background images yet."),
  );
}

async function uploadAssets(files) {
  let done = 0;
  for (const file of files) {
    const form = new FormData();
    form.append("file", file, file.name);
    form.append("purpose", "background");
    const result = await attempt(() => api("POST", `/api/admin/events/${state.event.id}/assets`, form), `${file.name}: `);
    if (result !== undefined) done += 1;
  }
  if (done) flash(`${done} background image${done === 1 ? "" : "s"} uploaded.`);
  await loadAssets();
}

// ---- wiring -------------------------------------------------------------------------------------------

function fillTimeZones() {
  let zones = [];
  try {
    zones = Intl.supportedValuesOf("timeZone");
  } catch {
    zones = ["UTC", "Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles", "Asia/Tokyo"];
  }
  fill($("#tz-list"), zones.map((z) => h("option", { value: z })));
  $("#event-tz").value = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

function wire() {
  $("#token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    signIn($("#token-input").value);
    $("#token-input").value = "";
  });
  $("#btn-sign-out").addEventListener("click", () => signOut());

  busyForm($("#event-form"), async () => {
    const body = { name: $("#event-name").value.trim(), timezone: $("#event-tz").value.trim(), days: parseDays($("#event-days").value) };
    const created = await attempt(() => api("POST", "/api/admin/events", body), "Event not created: ");
    if (created === undefined) return;
    flash(`Event "${body.name}" created.`);
    $("#event-form").reset();
    fillTimeZones();
    await loadEvents();
    const ev = created.event || created;
    if (ev && ev.id) await selectEvent(ev.id);
  });
  busyForm($("#event-edit-form"), async () => {
    const body = { name: $("#e-name").value.trim(), timezone: $("#e-tz").value.trim(), days: parseDays($("#e-days").value) };
    const saved = await attempt(() => api("PATCH", `/api/admin/events/${state.event.id}`, body), "Event not saved: ");
    if (saved === undefined) return;
    flash("Event saved.");
    await loadEvents();
    await selectEvent(state.event.id);
  });
  $("#btn-delete-event").addEventListener("click", async () => {
    if (!confirm(`Delete the event "${state.event.name}" with all its tickets and sessions?`)) return;
    const ok = await attempt(() => api("DELETE", `/api/admin/events/${state.event.id}`), "Not deleted: ");
    if (ok === undefined) return;
    state.event = null;
    $("#event-detail").hidden = true;
    await loadEvents();
  });

  // Tabs: click, and arrow keys between tabs (WAI-ARIA tabs pattern).
  for (const name of TABS) $(`#tab-${name}`).addEventListener("click", () => selectTab(name));
  $(".tabs").addEventListener("keydown", (event) => {
    const focused = event.target.closest("[role=tab]");
    const i = focused ? TABS.indexOf(focused.id.replace("tab-", "")) : TABS.indexOf(state.tab);
    if (event.key === "ArrowRight") selectTab(TABS[(i + 1) % TABS.length], true);
    else if (event.key === "ArrowLeft") selectTab(TABS[(i + TABS.length - 1) % TABS.length], true);
    else if (event.key === "Home") selectTab(TABS[0], true);
    else if (event.key === "End") selectTab(TABS[TABS.length - 1], true);
    else return;
    event.preventDefault();
  });

  busyForm($("#type-form"), async () => {
    const name = $("#type-name").value.trim();
    const created = await attempt(() => api("POST", `/api/admin/events/${state.event.id}/ticket-types`, { name }), "Not added: ");
    if (created === undefined) return;
    $("#type-name").value = "";
    flash(`Ticket type "${name}" added.`);
    await loadTypes();
  });

  busyForm($("#ticket-form"), async () => {
    const ticket = {
      name: $("#t-name").value.trim(),
      email: $("#t-email").value.trim(),
      ticket_type: $("#t-type").value,
      headline: $("#t-headline").value.trim() || null,
      company: $("#t-company").value.trim() || null,
      is_admin: $("#t-admin").checked,
    };
    if (await createTickets([ticket])) $("#ticket-form").reset();
  });
  busyForm($("#bulk-form"), async () => {
    const { tickets, problems } = parseBulk($("#bulk-lines").value);
    if (problems.length) {
      flash(`Nothing added. Fix ${problems.join("; ")}.`, "error");
      return;
    }
    if (!tickets.length) return;
    if (await createTickets(tickets)) $("#bulk-lines").value = "";
  });
  $("#link-session").addEventListener("change", renderTickets);

  $("#btn-new-session").addEventListener("click", newSession);
  $("#btn-cancel-session").addEventListener("click", () => {
    $("#session-form").hidden = true;
    state.editing = null;
  });
  busyForm($("#session-form"), saveSession);
  $("#s-everyone").addEventListener("change", (event) => {
    $("#matrix-wrap").hidden = event.target.checked;
  });

  for (const btn of $$("[data-file]")) btn.addEventListener("click", () => $(`#${btn.dataset.file}`).click());
  $("#pre-media-file").addEventListener("change", async (event) => {
    await uploadPreMedia(event.target.files[0]);
    event.target.value = "";
  });
  $("#btn-pre-media-remove").addEventListener("click", async () => {
    const ok = await attempt(() => api("DELETE", `/api/admin/sessions/${state.session.id}/pre-session-media`), "Not removed: ");
    if (ok === undefined) return;
    flash("Pre-session media removed.");
    await refreshSession();
  });
  busyForm($("#interests-form"), () => saveEventTags(state));
  $("#interest-tags").addEventListener("input", renderTagCount);
  $("#btn-export-meetings").addEventListener("click", () => downloadExport(state, "meetings"));
  $("#btn-export-connections").addEventListener("click", () => downloadExport(state, "connections"));
  $("#btn-ratings-refresh").addEventListener("click", () => loadRatings(state));
  wireModeration(state);
  $("#asset-file").addEventListener("change", async (event) => {
    await uploadAssets([...event.target.files]);
    event.target.value = "";
  });
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && state.livePoll) pollLive();
  });
}

function main() {
  fillTimeZones();
  wire();
  if (state.token) signIn(state.token);
  else signOut();
}

main();
