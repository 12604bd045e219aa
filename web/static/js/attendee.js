// The attendee's page: /s/{session_id}?t=<ticket secret>.
// The server is the source of truth: every screen is drawn from its state messages (docs/protocol.md),
// so a reload or a reconnect resumes exactly where the attendee was.

import { ApiError, request } from "./api.js";
import { $, $$, fill, fmtClock, fmtDateTime, fmtDuration, fmtTime, h, hydrateIcons, icon, toast } from "./dom.js";
import { LocalMedia, MediaProblem, PeerLink } from "./media.js";
import { chime, unlockAudio } from "./sound.js";
import { Signalling } from "./signalling.js";
import {
  loadRecords,
  matchExtras,
  offerNoteForm,
  openInterests,
  renderDownloads,
  renderInterestSummary,
  renderSharedInterests,
  saveAfterMeeting,
  setInterestsFromInfo,
  wireNoteForm,
} from "./followup.js";

const STILL_LOOKING_AFTER = 20; // seconds of waiting before the page says "still looking"

const app = {
  sessionId: null,
  ticket: null,
  info: null, // GET /api/sessions/{id}
  me: null,
  offset: 0, // server clock minus ours, in seconds
  state: "idle",
  meeting: null,
  extendWindow: 30, // seconds before the end when Extend becomes available
  extendClosed: false, // an offer was declined or lapsed: the button stays away for this meeting
  waiting: null,
  connections: new Map(), // ticket_id -> ConnectionInfo
  matches: [],
  sessionOver: false,
  background: { kind: "none" },
  preview: false,
  screen: "loading",
  signalling: null,
  peer: null,
  needOffer: false,
  local: new LocalMedia(),
  mediaProblem: null,
  partnerAway: null, // grace_until while the partner is disconnected
  lastMeetingNote: null,
  cameraReady: Promise.resolve(),
  cameraStarted: false,
  interests: null, // {mine, offered, max}
  records: [], // the meetings from the HTTP API: ids, private notes, shared interests
  afterMeeting: null, // the note form offered after the last meeting
};

// Exposed for debugging and for the end-to-end tests (read-only use).
window.speedmeet = app;

const serverNow = () => Date.now() / 1000 + app.offset;
const ticketQuery = () => `t=${encodeURIComponent(app.ticket)}`;

function announce(text) {
  const el = $("#announcer");
  el.textContent = "";
  // A fresh text node makes screen readers read it even when the text repeats.
  setTimeout(() => {
    el.textContent = text;
  }, 50);
}

// ---- screens -------------------------------------------------------------------------------

const SCREENS = ["loading", "error", "upcoming", "lobby", "waiting", "meeting", "over"];

function show(screen) {
  if (app.screen === screen) return;
  const previous = app.screen;
  app.screen = screen;
  for (const name of SCREENS) $(`#screen-${name}`).hidden = name !== screen;
  const live = !["loading", "error"].includes(screen);
  $("#btn-settings").hidden = !live;
  $("#btn-background").hidden = !live || screen === "over";
  $("#btn-view-matches").hidden = !live || screen === "upcoming";
  renderInterestSummary(app);
  attachVideos();
  // Move focus to the new screen's heading so keyboard and screen-reader users follow along.
  if (previous !== "loading" || screen === "error") {
    const heading = $(`#screen-${screen} h1, #screen-${screen} h2`);
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus({ preventScroll: true });
    }
  }
}

function showError(title, text) {
  $("#error-title").textContent = title;
  $("#error-text").textContent = text;
  document.title = `${title} · speedmeet`;
  show("error");
  stopEverything();
}

function stopEverything() {
  if (app.signalling) app.signalling.close();
  if (app.peer) app.peer.close();
  app.local.stop();
}

/** Draw the screen that the server's state calls for. */
function render() {
  if (app.screen === "error") return;
  if (app.state === "meeting" && app.meeting) {
    show("meeting");
    renderMeeting();
  } else if (app.sessionOver) {
    show("over");
    renderMatches($("#over-matches"));
  } else if (app.state === "ready") {
    show("waiting");
    renderWaiting();
  } else {
    show("lobby");
    renderLobby();
  }
  if ($("#dialog-matches").open) renderMatches($("#matches-list"));
  $("#btn-view-matches").textContent = app.matches.length ? `View Matches (${app.matches.length})` : "View Matches";
}

/** Point the video elements at the current streams (an empty stream would only hold up the page). */
function attachVideos() {
  const stream = app.local.stream.getTracks().length ? app.local.stream : null;
  for (const id of ["upcoming-self", "lobby-self", "waiting-self", "meeting-self", "settings-self"]) {
    const video = $(`#${id}`);
    if (video.srcObject !== stream) video.srcObject = stream;
  }
  const remote = app.peer && app.peer.remoteStream.getTracks().length ? app.peer.remoteStream : null;
  const partner = $("#partner-video");
  if (remote && partner.srcObject !== remote) partner.srcObject = remote;
  const preview = $("#background-preview");
  // The server sends the processed self-view on the same tracks while no meeting runs; in a meeting
  // those tracks carry the partner, so the panel shows the local camera instead.
  const want = app.state === "meeting" || !remote ? stream : remote;
  if (preview.srcObject !== want) preview.srcObject = want;
  $("#background-note").textContent =
    app.state === "meeting"
      ? "Your partner sees your video with this background (the preview of the processed video returns after the meeting)."
      : "This is how others see you: the background is applied on the server.";
}

// ---- lobby, waiting -------------------------------------------------------------------------

function renderLobby() {
  const seconds = app.info ? app.info.meeting_seconds : null;
  $("#lobby-length").textContent = seconds ? fmtDuration(seconds) : "short";
  const note = $("#last-meeting");
  note.hidden = !app.lastMeetingNote;
  note.textContent = app.lastMeetingNote || "";
  $("#btn-ready").disabled = !(app.signalling && app.signalling.isOpen);
}

function renderWaiting() {
  const w = app.waiting;
  const elapsed = w ? serverNow() - w.since : 0;
  $("#waiting-title").textContent =
    elapsed >= STILL_LOOKING_AFTER ? "Still looking for your next match…" : "Finding your next match…";
  $("#waiting-reason").textContent = w && w.reason ? w.reason : "You're in the queue.";
  if (w) {
    const parts = [];
    parts.push(
      w.eligible_waiting === 1 ? "1 person you can meet is waiting" : `${w.eligible_waiting} people you can meet are waiting`,
    );
    if (w.eligible_ending_soon) {
      parts.push(
        w.eligible_ending_soon === 1 ? "1 is finishing a meeting soon" : `${w.eligible_ending_soon} are finishing a meeting soon`,
      );
    }
    $("#waiting-counts").textContent = `${parts.join(", ")}.`;
    $("#waiting-estimate").textContent =
      w.estimated_wait_seconds === null || w.estimated_wait_seconds === undefined
        ? "We can't estimate the wait yet."
        : `Estimated wait: about ${fmtDuration(w.estimated_wait_seconds)}.`;
  } else {
    $("#waiting-counts").textContent = "";
    $("#waiting-estimate").textContent = "";
  }
  $("#waiting-elapsed").textContent = w ? `Waiting for ${fmtClock(elapsed)}` : "";
}

// ---- meeting --------------------------------------------------------------------------------

function partnerName() {
  return app.meeting ? app.meeting.partner.name : "your partner";
}

function renderMeeting() {
  const m = app.meeting;
  const p = m.partner;
  $("#partner-name").textContent = p.name;
  $("#partner-headline").textContent = [p.headline, p.company].filter(Boolean).join(" · ");
  $("#partner-type").textContent = p.ticket_type;
  $("#btn-block").textContent = `Block ${p.name}`;
  $("#btn-report").textContent = `Report ${p.name}`;
  $("#partner-video").setAttribute("aria-label", `Video of ${p.name}`);
  renderSharedInterests(m);
  renderConnectButton();
  tickMeeting();
}

function connectionWith(ticketId) {
  return app.connections.get(ticketId) || null;
}

/** Label, style and action of a Connect button for the attendee `ticketId`. */
function connectAction(ticketId, name) {
  const c = connectionWith(ticketId);
  if (c && c.state === "accepted") {
    return { label: "Connected", aria: `Connected with ${name}`, disabled: true, cls: "ok state" };
  }
  if (c && c.requested_by === "me") {
    return { label: "Requested", aria: `Connection requested from ${name}`, disabled: true, cls: "state" };
  }
  if (c && c.requested_by === "partner") {
    return { label: "Accept", aria: `Accept connection request from ${name}`, disabled: false, cls: "primary", send: "connect_accept" };
  }
  return { label: "Connect", aria: `Connect with ${name}`, disabled: false, cls: "", send: "connect_request" };
}

function renderConnectButton() {
  const m = app.meeting;
  if (!m) return;
  const btn = $("#btn-connect");
  const action = connectAction(m.partner.ticket_id, m.partner.name);
  btn.textContent = action.label;
  btn.setAttribute("aria-label", action.aria);
  btn.className = action.cls;
  btn.disabled = action.disabled;
  btn.dataset.send = action.send || "";
}

/** Timer, extension controls and the partner-away banner: redrawn four times a second. */
function tickMeeting() {
  const m = app.meeting;
  if (!m) return;
  const now = serverNow();
  const left = m.ends_at - now;
  const timer = $("#meeting-timer");
  timer.textContent = fmtClock(left);
  timer.classList.toggle("low", left <= 30);
  timer.setAttribute("aria-label", `Time left in this meeting: ${fmtClock(left)}`);

  const ext = m.extend;
  const offer = $("#btn-extend");
  const accept = $("#btn-extend-accept");
  const decline = $("#btn-extend-decline");
  const status = $("#extend-status");
  offer.hidden = accept.hidden = decline.hidden = status.hidden = true;
  if (ext.offered_by === "me") {
    status.hidden = false;
    status.textContent = "Extension requested";
  } else if (ext.offered_by === "partner") {
    accept.hidden = decline.hidden = false;
    accept.setAttribute("aria-label", `Accept: ${partnerName()} wants to extend the meeting`);
    decline.setAttribute("aria-label", "Decline extending the meeting");
  } else if (!app.extendClosed && ext.extensions_left > 0 && now >= ext.window_opens_at && left > 0) {
    offer.hidden = false;
    const extra = app.info ? fmtDuration(app.info.meeting_seconds / 2) : "more time";
    offer.setAttribute("aria-label", `Extend the meeting by ${extra}`);
  }

  const banner = $("#stage-banner");
  if (app.partnerAway) {
    banner.hidden = false;
    banner.textContent = `${partnerName()} lost the connection. Waiting ${fmtClock(app.partnerAway - now)} for them to come back…`;
  } else if (left <= 0) {
    banner.hidden = false;
    banner.textContent = "Time is up";
  } else if (ext.offered_by === "partner") {
    banner.hidden = false;
    const extra = app.info ? ` by ${fmtDuration(app.info.meeting_seconds / 2)}` : "";
    banner.textContent = `${partnerName()} would like to extend the meeting${extra}.`;
  } else {
    banner.hidden = true;
  }
}

function flashMatched() {
  const stage = $("#stage");
  stage.classList.remove("matched-flash");
  void stage.offsetWidth; // restart the animation
  stage.classList.add("matched-flash");
}

// ---- matches --------------------------------------------------------------------------------

function renderMatches(container) {
  if (!app.matches.length) {
    fill(container, h("p", { class: "muted" }, "No matches yet. Press I'm Ready to meet someone."));
    return;
  }
  const items = [...app.matches].sort((a, b) => a.started_at - b.started_at);
  fill(
    container,
    h(
      "ul",
      { class: "plain", "aria-label": "People you met" },
      items.map((m) => {
        const p = m.partner;
        const action = connectAction(p.ticket_id, p.name);
        const btn = h(
          "button",
          {
            type: "button",
            class: `small ${action.cls}`,
            disabled: action.disabled,
            "aria-label": action.aria,
            onclick: () => sendConnect(action.send, p.ticket_id),
          },
          action.label,
        );
        const met = `Met at ${fmtTime(m.started_at)} for ${fmtDuration(m.seconds)}`;
        return h(
          "li",
          { class: "match" },
          h(
            "div",
            { class: "who" },
            h("div", { class: "name" }, p.name),
            h("div", { class: "small" }, [p.headline, p.company].filter(Boolean).join(" · ")),
            h("div", { class: "muted small" }, `${p.ticket_type} · ${met}`),
            matchExtras(app, m, () => renderMatches(container)),
          ),
          btn,
        );
      }),
    ),
  );
}

function upsertMatch(item) {
  const i = app.matches.findIndex((m) => m.partner.ticket_id === item.partner.ticket_id && m.started_at === item.started_at);
  if (i >= 0) app.matches[i] = item;
  else app.matches.push(item);
  if (item.connection) app.connections.set(item.partner.ticket_id, item.connection);
}

async function sendConnect(kind, ticketId) {
  if (!kind) return;
  if (app.signalling && app.signalling.isOpen) {
    app.signalling.send({ type: kind, ticket_id: ticketId });
    return;
  }
  // After the session the socket is closed: the HTTP API takes the request.
  try {
    const result = await request("POST", `/api/me/connections/${ticketId}?${ticketQuery()}`, {
      headers: { "X-Ticket": app.ticket },
    });
    const conn = normaliseConnection(result, ticketId);
    if (conn) app.connections.set(ticketId, conn);
    toast(kind === "connect_accept" ? "Connected" : "Connection request sent");
    render();
  } catch (err) {
    toast(err.message);
  }
}

/** Connection objects from the HTTP API into the protocol's ConnectionInfo shape. */
function normaliseConnection(c, ticketId) {
  if (!c) return null;
  const inner = c.connection && typeof c.connection === "object" ? c.connection : c;
  const stateName = typeof inner === "string" ? inner : inner.state;
  if (!stateName) return null;
  let requestedBy = inner.requested_by;
  if (typeof inner.requested_by_me === "boolean") requestedBy = inner.requested_by_me ? "me" : "partner";
  if (typeof requestedBy === "number") requestedBy = app.me && requestedBy === app.me.ticket_id ? "me" : "partner";
  const other = inner.ticket_id ?? (inner.person && inner.person.ticket_id) ?? ticketId;
  return { ticket_id: other, state: stateName, requested_by: requestedBy || "me" };
}

/** Matches from the HTTP API (used once the session is over and the socket is closed). */
async function loadMatchesOverHttp() {
  try {
    const data = await request("GET", `/api/sessions/${app.sessionId}/matches?${ticketQuery()}`, {
      headers: { "X-Ticket": app.ticket },
    });
    const list = Array.isArray(data) ? data : data.matches || [];
    app.matches = [];
    for (const raw of list) {
      const partner = raw.partner || {
        ticket_id: raw.partner_ticket_id ?? raw.ticket_id,
        name: raw.partner_name ?? raw.name,
        headline: raw.partner_headline ?? raw.headline ?? null,
        company: raw.partner_company ?? raw.company ?? null,
        ticket_type: raw.partner_ticket_type ?? raw.ticket_type ?? "",
      };
      let conn = null;
      if (raw.connection && typeof raw.connection === "object") conn = normaliseConnection(raw.connection, partner.ticket_id);
      else if (typeof raw.connection === "string") {
        conn = {
          ticket_id: partner.ticket_id,
          state: raw.connection,
          requested_by: raw.connection_requested_by_me ? "me" : "partner",
        };
      }
      upsertMatch({
        partner,
        started_at: toSeconds(raw.started_at),
        ended_at: toSeconds(raw.ended_at),
        seconds: raw.seconds ?? (toSeconds(raw.ended_at) || serverNow()) - toSeconds(raw.started_at),
        extensions: raw.extensions ?? 0,
        end_reason: raw.end_reason ?? raw.reason ?? null,
        connection: conn,
      });
    }
  } catch (err) {
    toast(`Your matches could not be loaded: ${err.message}`);
  }
}

function toSeconds(value) {
  if (typeof value === "number") return value;
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : t / 1000;
}

// ---- server messages ------------------------------------------------------------------------

const ENDED_TEXT = {
  timeout: "Time is up",
  left: "The meeting was ended",
  partner_left: "Your partner lost the connection",
  blocked: "The meeting was ended",
  session_closed: "The session closed",
};

const handlers = {
  welcome(msg) {
    app.offset = msg.server_time - Date.now() / 1000;
    app.me = msg.me;
    app.info = { ...(app.info || {}), ...msg.session };
    app.state = msg.state;
    app.waiting = msg.waiting;
    app.connections = new Map(msg.connections.map((c) => [c.ticket_id, c]));
    app.matches = [];
    for (const m of msg.matches) upsertMatch(m);
    app.background = msg.background;
    app.preview = msg.preview;
    app.sessionOver = msg.session_over;
    setMeeting(msg.meeting);
    $("#session-title").textContent = msg.session.title;
    // A welcome also comes mid-meeting (a reconnect, the organiser editing the session): the tab keeps
    // naming the partner then.
    document.title = app.meeting
      ? `Meeting ${app.meeting.partner.name} · speedmeet`
      : `${msg.session.title} · speedmeet`;
    renderStatus(msg.session_over ? "ended" : "live");
    if (app.needOffer) {
      app.needOffer = false;
      startPeer(msg.ice_servers);
    }
    // A background preview left on (a reload with the panel open) is switched off unless the panel is open.
    if (app.preview && $("#panel-background").hidden) app.signalling.send({ type: "preview", on: false });
    renderBackgroundOptions();
    render();
  },
  answer(msg) {
    if (app.peer) app.peer.handleAnswer(msg.sdp).catch((err) => console.error("speedmeet: answer", err));
  },
  state(msg) {
    app.state = msg.state;
    if (msg.state !== "meeting") setMeeting(null);
    if (msg.state !== "ready") app.waiting = null;
    render();
  },
  waiting(msg) {
    app.waiting = msg.waiting;
    if (app.state === "ready") renderWaiting();
  },
  matched(msg) {
    setMeeting(msg.meeting);
    app.state = "meeting";
    app.lastMeetingNote = null;
    render();
    chime();
    flashMatched();
    const p = msg.meeting.partner;
    announce(`You're matched with ${p.name}${p.headline ? `, ${p.headline}` : ""}.`);
    document.title = `Meeting ${p.name} · speedmeet`;
  },
  meeting_deadline(msg) {
    if (app.meeting && app.meeting.meeting_id === msg.meeting_id) {
      app.meeting.ends_at = msg.ends_at;
      app.meeting.extend.window_opens_at = msg.ends_at - app.extendWindow;
      tickMeeting();
    }
  },
  extend_offered(msg) {
    if (!sameMeeting(msg)) return;
    app.meeting.extend.offered_by = msg.by;
    tickMeeting();
    if (msg.by === "partner") announce(`${partnerName()} wants to extend the meeting. Accept?`);
  },
  extend_accepted(msg) {
    if (!sameMeeting(msg)) return;
    const ext = app.meeting.extend;
    ext.offered_by = null;
    ext.extensions_left = msg.extensions_left;
    app.meeting.ends_at = msg.ends_at;
    ext.window_opens_at = msg.ends_at - app.extendWindow;
    tickMeeting();
    toast(`Meeting extended: ${fmtClock(msg.ends_at - serverNow())} left`);
  },
  extend_declined(msg) {
    if (!sameMeeting(msg)) return;
    app.meeting.extend.offered_by = null;
    app.extendClosed = true;
    tickMeeting();
    if (msg.by === "partner") toast(`${partnerName()} declined the extension`);
  },
  connection(msg) {
    const c = msg.connection;
    app.connections.set(c.ticket_id, c);
    if (app.meeting && app.meeting.partner.ticket_id === c.ticket_id) app.meeting.connection = c;
    for (const m of app.matches) if (m.partner.ticket_id === c.ticket_id) m.connection = c;
    const name = msg.partner ? msg.partner.name : "Your partner";
    if (c.state === "accepted") announce(`You're connected with ${name}.`);
    else if (c.requested_by === "partner") announce(`${name} would like to connect.`);
    renderConnectButton();
    if (app.screen === "over") renderMatches($("#over-matches"));
    if ($("#dialog-matches").open) renderMatches($("#matches-list"));
  },
  meeting_ended(msg) {
    const name = partnerName();
    if (msg.match) upsertMatch(msg.match);
    let note = `${ENDED_TEXT[msg.reason] || "The meeting ended"}: your meeting with ${name} is over.`;
    if (msg.reason === "left") note = msg.left_by === "me" ? `You left the meeting with ${name}.` : `${name} left the meeting.`;
    if (msg.reason === "blocked") note = `The meeting with ${name} was ended.`;
    app.lastMeetingNote = note;
    setMeeting(null);
    app.state = "idle";
    render();
    if (msg.match) offerNoteForm(app, msg.match);
    announce(note);
    document.title = `${app.info ? app.info.title : "Networking session"} · speedmeet`;
  },
  partner_disconnected(msg) {
    if (!sameMeeting(msg)) return;
    app.partnerAway = msg.grace_until;
    tickMeeting();
    announce(`${partnerName()} lost the connection.`);
  },
  partner_reconnected(msg) {
    if (!sameMeeting(msg)) return;
    app.partnerAway = null;
    tickMeeting();
    announce(`${partnerName()} is back.`);
  },
  session_ended(msg) {
    app.sessionOver = true;
    app.matches = [];
    for (const m of msg.matches) upsertMatch(m);
    renderStatus("ended");
    render();
    announce("The session is over.");
    loadRecords(app).then(render);
  },
  background(msg) {
    app.background = msg.background;
    app.preview = msg.preview;
    renderBackgroundOptions();
  },
  blocked() {
    toast("Blocked. You won't be matched with them again.");
  },
  reported() {
    toast("Thank you. Your report was sent to the organisers.");
  },
  error(msg) {
    if (msg.fatal) return; // the close that follows decides what to show
    console.warn("speedmeet: server error", msg);
    toast(msg.message);
  },
  pong(msg) {
    if (msg.id && pings.has(msg.id)) {
      const sent = pings.get(msg.id);
      pings.delete(msg.id);
      const rtt = Date.now() / 1000 - sent;
      app.offset = msg.server_time + rtt / 2 - Date.now() / 1000;
    }
  },
};

const pings = new Map();

function sameMeeting(msg) {
  return app.meeting && app.meeting.meeting_id === msg.meeting_id;
}

function setMeeting(meeting) {
  const fresh = meeting && (!app.meeting || app.meeting.meeting_id !== meeting.meeting_id);
  app.meeting = meeting ? structuredClone(meeting) : null;
  if (!meeting) {
    app.partnerAway = null;
    return;
  }
  if (fresh) app.extendClosed = false;
  app.extendWindow = Math.max(0, meeting.ends_at - meeting.extend.window_opens_at);
  app.partnerAway = meeting.partner_connected ? null : meeting.partner_grace_until;
  if (meeting.connection) app.connections.set(meeting.partner.ticket_id, meeting.connection);
}

function renderStatus(status) {
  const badge = $("#session-status");
  badge.hidden = false;
  badge.className = `badge ${status}`;
  badge.textContent = { upcoming: "Starts soon", live: "Live", ended: "Ended" }[status] || status;
}

// ---- connection lifecycle -------------------------------------------------------------------

function connect() {
  if (app.signalling) app.signalling.close();
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const url = `${proto}//${location.host}/api/sessions/${app.sessionId}/ws?${ticketQuery()}`;
  const sig = new Signalling(url);
  app.signalling = sig;
  sig.addEventListener("open", () => {
    app.needOffer = true;
    $("#connection-banner").hidden = true;
    if (app.screen === "lobby") renderLobby();
  });
  sig.addEventListener("message", (event) => {
    const msg = event.detail;
    const handler = handlers[msg.type];
    if (handler) {
      try {
        handler(msg);
      } catch (err) {
        console.error("speedmeet: handling", msg.type, err);
      }
    }
  });
  sig.addEventListener("down", (event) => onSocketDown(event.detail));
  sig.connect();
}

function onSocketDown({ code, error, final }) {
  if (app.screen === "lobby") renderLobby();
  const banner = $("#connection-banner");
  const reason = error ? error.code : null;
  if (reason === "bad_ticket" || code === 4001) {
    showError("This ticket link is not valid", "The ticket in this link is unknown or was withdrawn.");
  } else if (reason === "wrong_event" || code === 4003) {
    showError("This ticket is for another event", "Your ticket does not give access to this session.");
  } else if (reason === "session_not_found" || code === 4004) {
    showError("This session does not exist", "Check the link in your invitation.");
  } else if (reason === "removed_from_session" || code === 4012) {
    showError("You were removed from this session", "The organiser removed you from this session.");
  } else if (reason === "replaced" || code === 4010) {
    fill(
      banner,
      "This session is open in another tab or window. ",
      h("button", { type: "button", class: "small", onclick: () => connect() }, "Use it here"),
    );
    banner.hidden = false;
    if (app.peer) app.peer.close();
  } else if (reason === "session_not_live" || code === 4009) {
    const starts = app.info ? toSeconds(app.info.starts_at) : null;
    if (starts && serverNow() < starts + 5 && !app.sessionOver) {
      // Our clock ran slightly ahead of the server's: try again in a moment.
      app.signalling.scheduleRetry(1000);
    } else {
      app.signalling.close();
      if (app.peer) app.peer.close();
      app.sessionOver = true;
      app.state = "idle";
      setMeeting(null);
      renderStatus("ended");
      Promise.all([loadMatchesOverHttp(), loadRecords(app)]).then(render);
    }
  } else if (!final) {
    banner.textContent = "Connection lost. Reconnecting…";
    banner.hidden = false;
  } else {
    banner.textContent = error ? error.message : "The connection to the server was closed.";
    banner.hidden = false;
  }
}

// How long the media path may stay "disconnected", or silent, before the page offers a fresh peer
// connection: well inside the server's grace period (10 s), so that a meeting survives a blip. The
// browser itself takes several seconds to call a path "disconnected"; the server always sends packets
// (the slate or the partner, and audio), so silence is the quicker sign of a peer connection the server
// dropped.
const MEDIA_RETRY_MS = 1500;
const MEDIA_SILENCE_MS = 4000;

/** Start the camera once (the page asks for it when the session is upcoming or live, or a meeting runs). */
function ensureCamera() {
  if (!app.cameraStarted) {
    app.cameraStarted = true;
    app.cameraReady = startCamera();
  }
  return app.cameraReady;
}

async function startPeer(iceServers) {
  await ensureCamera(); // offer with the camera's tracks when there are any
  if (app.peer) app.peer.close();
  const peer = new PeerLink(app.signalling, app.local, iceServers);
  app.peer = peer;
  let retry = null;
  const renegotiate = () => {
    if (app.peer !== peer || !app.signalling || !app.signalling.isOpen) return;
    // A broken media path (network change, lost consent): offer again on the same socket; the server
    // replaces the peer connection and the meeting goes on.
    peer.start().catch((err) => console.error("speedmeet: renegotiation", err));
  };
  peer.addEventListener("remote", () => attachVideos());
  let lastPackets = -1;
  let lastChange = Date.now();
  const watchdog = setInterval(async () => {
    if (app.peer !== peer) {
      clearInterval(watchdog);
      return;
    }
    if (peer.state !== "connected") {
      lastChange = Date.now();
      return;
    }
    const packets = await peer.packetsReceived().catch(() => lastPackets);
    if (packets !== lastPackets) {
      lastPackets = packets;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > MEDIA_SILENCE_MS) {
      console.info("speedmeet: no media from the server for a while: offering a fresh connection");
      lastChange = Date.now();
      renegotiate();
    }
  }, 1000);
  peer.addEventListener("state", (event) => {
    if (app.peer !== peer) return;
    clearTimeout(retry);
    const state = event.detail;
    const banner = $("#connection-banner");
    if (state === "failed") {
      renegotiate();
    } else if (state === "disconnected") {
      retry = setTimeout(() => {
        if (["disconnected", "failed"].includes(peer.state)) renegotiate();
      }, MEDIA_RETRY_MS);
    }
    if (["disconnected", "failed"].includes(state)) {
      banner.textContent = "Video connection interrupted. Reconnecting…";
      banner.hidden = false;
    } else if (state === "connected" && banner.textContent.startsWith("Video connection")) {
      banner.hidden = true;
    }
  });
  peer.start().catch((err) => console.error("speedmeet: offer", err));
  attachVideos();
}

// ---- camera and microphone --------------------------------------------------------------------

async function startCamera() {
  try {
    await app.local.start();
    app.mediaProblem = null;
    $("#media-problem").hidden = true;
  } catch (err) {
    app.mediaProblem = err instanceof MediaProblem ? err : new MediaProblem("other", String(err));
    $("#media-problem-title").textContent =
      app.mediaProblem.kind === "denied" ? "Camera and microphone are blocked." : "Your camera or microphone isn't working.";
    $("#media-problem-text").textContent = app.mediaProblem.message;
    $("#media-problem").hidden = false;
  }
  attachVideos();
  updateMediaButtons();
}

async function retryCamera() {
  await startCamera();
  if (!app.mediaProblem && app.peer) {
    await app.peer.replaceTrack("audio", app.local.audioTrack);
    await app.peer.replaceTrack("video", app.local.videoTrack);
  }
}

function updateMediaButtons() {
  const mic = $("#btn-mic");
  const cam = $("#btn-cam");
  fill(mic, icon(app.local.micEnabled ? "mic" : "micOff"));
  fill(cam, icon(app.local.camEnabled ? "cam" : "camOff"));
  mic.setAttribute("aria-label", app.local.micEnabled ? "Mute microphone" : "Unmute microphone");
  mic.setAttribute("aria-pressed", String(!app.local.micEnabled));
  cam.setAttribute("aria-label", app.local.camEnabled ? "Turn camera off" : "Turn camera on");
  cam.setAttribute("aria-pressed", String(!app.local.camEnabled));
  mic.disabled = !app.local.audioTrack;
  cam.disabled = !app.local.videoTrack;
}

async function fillDeviceSelects() {
  let devices;
  try {
    devices = await app.local.devices();
  } catch {
    return;
  }
  const fillSelect = (select, list, current, fallback) => {
    fill(
      select,
      list.map((d, i) => h("option", { value: d.deviceId, selected: d.deviceId === current }, d.label || `${fallback} ${i + 1}`)),
    );
    select.disabled = list.length < 2;
  };
  fillSelect($("#select-camera"), devices.cameras, app.local.currentDeviceId("video"), "Camera");
  fillSelect($("#select-mic"), devices.mics, app.local.currentDeviceId("audio"), "Microphone");
  const canSink = "setSinkId" in HTMLMediaElement.prototype;
  $("#field-speaker").hidden = !canSink || !devices.speakers.length;
  $("#speaker-note").hidden = canSink && devices.speakers.length > 0;
  if (canSink) fillSelect($("#select-speaker"), devices.speakers, $("#partner-video").sinkId || "default", "Speaker");
}

async function switchDevice(kind, deviceId) {
  try {
    const track = await app.local.switchDevice(kind, deviceId);
    if (app.peer) await app.peer.replaceTrack(kind, track);
    attachVideos();
    toast(kind === "video" ? "Camera switched" : "Microphone switched");
  } catch (err) {
    toast(err.message);
  }
}

// ---- panels, menus, dialogs -------------------------------------------------------------------

let panelOpener = null;

function openPanel(id, opener) {
  for (const other of ["panel-settings", "panel-background"]) if (other !== id) closePanel(other);
  const panel = $(`#${id}`);
  panel.hidden = false;
  opener.setAttribute("aria-expanded", "true");
  panelOpener = opener;
  const first = panel.querySelector("select, input, button:not([data-close])") || panel.querySelector("button");
  if (first) first.focus();
}

function closePanel(id) {
  const panel = $(`#${id}`);
  if (panel.hidden) return;
  panel.hidden = true;
  const opener = id === "panel-settings" ? $("#btn-settings") : $("#btn-background");
  opener.setAttribute("aria-expanded", "false");
  if (id === "panel-background" && app.signalling) app.signalling.send({ type: "preview", on: false });
  if (panelOpener === opener) opener.focus();
}

function toggleMenu(open) {
  const menu = $("#more-menu");
  const btn = $("#btn-more");
  menu.hidden = !open;
  btn.setAttribute("aria-expanded", String(open));
  if (open) $("#more-menu [role=menuitem]").focus();
}

// ---- backgrounds --------------------------------------------------------------------------------

let backgroundAssets = [];

async function loadBackgrounds() {
  try {
    const data = await request("GET", `/api/sessions/${app.sessionId}/backgrounds?${ticketQuery()}`, {
      headers: { "X-Ticket": app.ticket },
    });
    const list = Array.isArray(data) ? data : data.backgrounds || data.assets || data.items || [];
    let mine = 0;
    let theirs = 0;
    backgroundAssets = list
      .filter((a) => !a.kind || a.kind === "image")
      .map((a) => {
        const isMine = a.owner === "me";
        const n = isMine ? (mine += 1) : (theirs += 1);
        return { id: a.id, url: a.url, mine: isMine, name: isMine ? `My image ${n}` : `Image ${n}` };
      });
  } catch (err) {
    backgroundAssets = [];
    $("#bg-status").textContent = `Background images could not be loaded: ${err.message}`;
  }
  renderBackgroundOptions();
}

function hexToRgb(hex) {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function rgbToHex(rgb) {
  return `#${rgb.map((v) => v.toString(16).padStart(2, "0")).join("")}`;
}

function chooseBackground(background) {
  if (!app.signalling || !app.signalling.send({ type: "set_background", background, preview: true })) {
    toast("Not connected: the background will be set once the connection is back.");
    return;
  }
  app.background = background;
  renderBackgroundOptions();
}

function renderBackgroundOptions() {
  const current = app.background || { kind: "none" };
  const option = (label, bg, pressed, ...extra) =>
    h(
      "button",
      { type: "button", class: "bg-option", "aria-pressed": String(pressed), onclick: () => chooseBackground(bg) },
      ...extra,
      label,
    );
  const options = [
    option("None", { kind: "none" }, current.kind === "none"),
    option("Blur", { kind: "blur", strength: 0.6 }, current.kind === "blur"),
    option("Colour", { kind: "color", rgb: hexToRgb($("#bg-color").value) }, current.kind === "color"),
  ];
  for (const asset of backgroundAssets) {
    options.push(
      option(asset.name, { kind: "image", asset_id: asset.id }, current.kind === "image" && current.asset_id === asset.id, h("img", { src: asset.url, alt: "" })),
    );
  }
  fill($("#bg-options"), options);
  // aria-labels so that every image option has a distinct accessible name.
  $$("#bg-options .bg-option").forEach((el, i) => {
    if (i >= 3) el.setAttribute("aria-label", `Background image: ${backgroundAssets[i - 3].name}`);
  });
  if (current.kind === "color" && current.rgb) $("#bg-color").value = rgbToHex(current.rgb);
}

async function uploadBackground(file) {
  if (!file) return;
  const status = $("#bg-status");
  status.textContent = "Uploading…";
  const form = new FormData();
  form.append("file", file);
  try {
    const asset = await request("POST", `/api/me/backgrounds?${ticketQuery()}`, {
      body: form,
      headers: { "X-Ticket": app.ticket },
    });
    status.textContent = "Uploaded.";
    await loadBackgrounds();
    const id = asset && (asset.id ?? (asset.asset && asset.asset.id));
    if (id) chooseBackground({ kind: "image", asset_id: id });
  } catch (err) {
    status.textContent = err instanceof ApiError ? `Upload failed: ${err.message}` : "Upload failed.";
  }
}

// ---- before the start -------------------------------------------------------------------------

function showUpcoming() {
  const info = app.info;
  $("#upcoming-title").textContent = info.title;
  $("#upcoming-when").textContent = `${fmtDateTime(info.starts_at)} – ${fmtTime(info.ends_at)}`;
  const media = info.pre_session_media || null;
  const url = info.pre_session_media_url || (media && media.url) || null;
  if (url) {
    const type = (media && (media.content_type || media.kind)) || info.pre_session_media_type || "";
    const isVideo = /video|mp4|webm/i.test(type) || /\.(mp4|webm)(\?|$)/i.test(url);
    const img = $("#pre-image");
    const video = $("#pre-video");
    if (isVideo) {
      video.src = url;
      video.hidden = false;
      video.setAttribute("aria-label", "Video from the organisers");
      video.play().catch(() => {});
    } else {
      img.src = url;
      img.alt = `Picture for ${info.title}`;
      img.hidden = false;
    }
  }
  renderStatus("upcoming");
  show("upcoming");
  tickUpcoming();
}

function tickUpcoming() {
  if (app.screen !== "upcoming") return;
  const left = toSeconds(app.info.starts_at) - serverNow();
  $("#upcoming-countdown").textContent = left > 0 ? fmtClock(left) : "Starting…";
  if (left <= 0 && !app.signalling) {
    renderStatus("live");
    connect();
  }
}

// ---- start-up ---------------------------------------------------------------------------------

function parseLocation() {
  const match = location.pathname.match(/\/s\/(\d+)/);
  const params = new URLSearchParams(location.search);
  return { sessionId: match ? Number(match[1]) : null, ticket: params.get("t") };
}

async function loadSessionInfo() {
  for (let attempt = 0; ; attempt += 1) {
    try {
      const started = Date.now();
      const response = await fetch(`/api/sessions/${app.sessionId}?${ticketQuery()}`, {
        headers: { Accept: "application/json", "X-Ticket": app.ticket },
      });
      const body = await response.json().catch(() => null);
      if (!response.ok) throw new ApiError(response.status, (body && body.error) || response.statusText, body);
      // A first clock correction from the HTTP Date header (1 s resolution; the socket refines it).
      const date = Date.parse(response.headers.get("Date") || "");
      if (!Number.isNaN(date)) app.offset = date / 1000 + 0.5 - (started + Date.now()) / 2000;
      const serverTime = body ? toSeconds(body.server_time) : null;
      if (serverTime) app.offset = serverTime - (started + Date.now()) / 2000;
      return body;
    } catch (err) {
      if (err instanceof ApiError) throw err;
      if (attempt >= 4) throw new ApiError(0, "The server cannot be reached.", null);
      await new Promise((resolve) => setTimeout(resolve, 1000 * (attempt + 1)));
    }
  }
}

function wireControls() {
  $("#btn-ready").addEventListener("click", () => {
    unlockAudio();
    if (!app.signalling || !app.signalling.send({ type: "ready" })) toast("Not connected yet. Try again in a moment.");
    saveAfterMeeting(app); // what was entered in the note form, if anything, without holding up the match
  });
  $("#btn-interests").addEventListener("click", () => openInterests(app));
  wireNoteForm(app);
  $("#btn-unready").addEventListener("click", () => app.signalling && app.signalling.send({ type: "unready" }));
  $("#btn-extend").addEventListener("click", () => app.signalling.send({ type: "extend_offer" }));
  $("#btn-extend-accept").addEventListener("click", () => app.signalling.send({ type: "extend_accept" }));
  $("#btn-extend-decline").addEventListener("click", () => app.signalling.send({ type: "extend_decline" }));
  $("#btn-connect").addEventListener("click", (event) => {
    const kind = event.currentTarget.dataset.send;
    if (kind && app.meeting) sendConnect(kind, app.meeting.partner.ticket_id);
  });
  const leave = () => app.signalling && app.signalling.send({ type: "leave" });
  $("#btn-hangup").addEventListener("click", leave);
  $("#btn-leave").addEventListener("click", leave);
  $("#btn-mic").addEventListener("click", () => {
    app.local.setMicEnabled(!app.local.micEnabled);
    updateMediaButtons();
  });
  $("#btn-cam").addEventListener("click", () => {
    app.local.setCamEnabled(!app.local.camEnabled);
    updateMediaButtons();
  });

  // More options menu (block / report).
  $("#btn-more").addEventListener("click", () => toggleMenu($("#more-menu").hidden));
  $("#more-menu").addEventListener("keydown", (event) => {
    const items = $$("#more-menu [role=menuitem]");
    const i = items.indexOf(document.activeElement);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const next = (i + (event.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
      items[next].focus();
    } else if (event.key === "Escape") {
      toggleMenu(false);
      $("#btn-more").focus();
    }
  });
  $("#btn-block").addEventListener("click", () => {
    toggleMenu(false);
    if (!app.meeting) return;
    $("#block-title").textContent = `Block ${app.meeting.partner.name}?`;
    $("#dialog-block").dataset.ticket = String(app.meeting.partner.ticket_id);
    $("#dialog-block").showModal();
  });
  $("#dialog-block").addEventListener("close", () => {
    const dialog = $("#dialog-block");
    if (dialog.returnValue === "block") app.signalling.send({ type: "block", ticket_id: Number(dialog.dataset.ticket) });
  });
  $("#btn-report").addEventListener("click", () => {
    toggleMenu(false);
    if (!app.meeting) return;
    $("#report-title").textContent = `Report ${app.meeting.partner.name} to the organisers`;
    $("#dialog-report").dataset.ticket = String(app.meeting.partner.ticket_id);
    $("#report-reason").value = "";
    $("#report-block").checked = false;
    $("#dialog-report").showModal();
  });
  $("#dialog-report").addEventListener("close", () => {
    const dialog = $("#dialog-report");
    const reason = $("#report-reason").value.trim();
    if (dialog.returnValue !== "report" || !reason) return;
    const ticketId = Number(dialog.dataset.ticket);
    app.signalling.send({ type: "report", ticket_id: ticketId, reason });
    if ($("#report-block").checked) app.signalling.send({ type: "block", ticket_id: ticketId });
  });

  // Panels.
  $("#btn-settings").addEventListener("click", (event) => {
    if ($("#panel-settings").hidden) {
      fillDeviceSelects();
      openPanel("panel-settings", event.currentTarget);
    } else closePanel("panel-settings");
  });
  $("#btn-background").addEventListener("click", (event) => {
    if ($("#panel-background").hidden) {
      openPanel("panel-background", event.currentTarget);
      if (app.signalling) app.signalling.send({ type: "preview", on: true });
      loadBackgrounds();
    } else closePanel("panel-background");
  });
  for (const btn of $$("[data-close]")) {
    btn.addEventListener("click", () => {
      const panel = btn.closest(".panel, dialog");
      if (panel.tagName === "DIALOG") panel.close();
      else closePanel(panel.id);
    });
  }
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    if (!$("#more-menu").hidden) toggleMenu(false);
    for (const id of ["panel-settings", "panel-background"]) closePanel(id);
  });
  document.addEventListener("click", (event) => {
    if (!$("#more-menu").hidden && !event.target.closest(".menu")) toggleMenu(false);
  });
  $("#select-camera").addEventListener("change", (event) => switchDevice("video", event.target.value));
  $("#select-mic").addEventListener("change", (event) => switchDevice("audio", event.target.value));
  $("#select-speaker").addEventListener("change", async (event) => {
    try {
      await $("#partner-video").setSinkId(event.target.value);
      toast("Speaker switched");
    } catch (err) {
      toast(`The speaker could not be switched: ${err.message}`);
    }
  });
  $("#bg-color").addEventListener("change", (event) => chooseBackground({ kind: "color", rgb: hexToRgb(event.target.value) }));
  $("#bg-upload").addEventListener("change", (event) => uploadBackground(event.target.files[0]));

  // Matches.
  $("#btn-view-matches").addEventListener("click", async () => {
    renderDownloads(app);
    renderMatches($("#matches-list"));
    $("#dialog-matches").showModal();
    await loadRecords(app);
    renderMatches($("#matches-list"));
  });

  // Camera problems.
  $("#btn-media-retry").addEventListener("click", retryCamera);
  $("#btn-media-dismiss").addEventListener("click", () => {
    $("#media-problem").hidden = true;
  });
}

async function main() {
  hydrateIcons();
  wireControls();
  const { sessionId, ticket } = parseLocation();
  app.sessionId = sessionId;
  app.ticket = ticket;
  if (!sessionId) {
    showError("This session does not exist", "The link is incomplete: it has no session number.");
    return;
  }
  if (!ticket) {
    showError("You need a ticket to join", "This link has no ticket in it.");
    return;
  }
  let info;
  try {
    info = await loadSessionInfo();
  } catch (err) {
    if (err.status === 401 || err.status === 403) {
      showError("This ticket link is not valid", err.message);
    } else if (err.status === 404) {
      showError("This session does not exist", err.message);
    } else {
      showError("The session could not be loaded", err.message);
    }
    return;
  }
  app.info = info;
  app.me = info.me || null;
  setInterestsFromInfo(app, info);
  $("#session-title").textContent = info.title;
  document.title = `${info.title} · speedmeet`;
  setInterval(() => {
    if (app.screen === "meeting") tickMeeting();
    else if (app.screen === "waiting") renderWaiting();
    else if (app.screen === "upcoming") tickUpcoming();
  }, 250);
  setInterval(() => {
    if (app.signalling && app.signalling.isOpen) {
      const id = `p-${Date.now()}`;
      pings.set(id, Date.now() / 1000);
      app.signalling.send({ type: "ping", id });
    }
  }, 20000);

  if (info.status === "ended") {
    renderStatus("ended");
    app.sessionOver = true;
    await Promise.all([loadMatchesOverHttp(), loadRecords(app)]);
    render();
    // A meeting still running past the end can be rejoined; the server says so if there is one.
    connect();
    return;
  }
  ensureCamera();
  if (info.status === "upcoming") {
    showUpcoming();
    return;
  }
  renderStatus("live");
  connect();
}

window.addEventListener("pagehide", () => stopEverything());

main();
