// Interests, private notes and downloads on the attendee's page.
// Interests are picked in a dialog (before or during the session); after each meeting a small form asks for
// a private note, a rating and "would meet again" without ever blocking "I'm Ready"; View Matches shows and
// edits them and offers the accepted connections as vCard and CSV. Notes go over HTTP only: the partner's
// page never hears of them.

import { request } from "./api.js";
import { $, fill, h, toast } from "./dom.js";

const MAX_NOTE = 1000;

function ticketHeaders(app) {
  return { headers: { "X-Ticket": app.ticket } };
}

function query(app) {
  return `t=${encodeURIComponent(app.ticket)}`;
}

function epoch(value) {
  if (typeof value === "number") return value;
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : t / 1000;
}

// ---- interests ----------------------------------------------------------------------------------------

/** The interests part of the session info: {interests, offered, max}. */
export function setInterestsFromInfo(app, info) {
  app.interests = {
    mine: info.interests || [],
    offered: info.offered_interests || [],
    max: info.max_interests || 5,
  };
  renderInterestSummary(app);
}

export function renderInterestSummary(app) {
  const it = app.interests;
  const offered = Boolean(it && it.offered.length);
  $("#btn-interests").hidden = !offered || ["loading", "error", "over"].includes(app.screen);
  for (const box of [$("#interests-summary"), $("#upcoming-interests")]) {
    if (!offered) {
      box.hidden = true;
      continue;
    }
    box.hidden = false;
    const edit = h(
      "button",
      { type: "button", class: "small", onclick: () => openInterests(app) },
      it.mine.length ? "Edit interests" : "Pick your interests",
    );
    fill(
      box,
      it.mine.length ? `Your interests: ${it.mine.join(" · ")} ` : "Pick up to 5 interests to meet people who share them. ",
      edit,
    );
  }
}

export function openInterests(app) {
  renderInterestOptions(app);
  $("#interests-status").textContent = "";
  $("#dialog-interests").showModal();
}

function renderInterestOptions(app) {
  const it = app.interests;
  const full = it.mine.length >= it.max;
  fill(
    $("#interest-options"),
    it.offered.map((tag) => {
      const on = it.mine.includes(tag);
      return h(
        "button",
        {
          type: "button",
          class: "chip",
          "aria-pressed": String(on),
          disabled: !on && full,
          onclick: () => toggleInterest(app, tag),
        },
        tag,
      );
    }),
  );
  $("#interests-help").textContent = full
    ? `You picked ${it.max}: remove one to pick another.`
    : `Pick up to ${it.max}. You are more likely to meet people who share them.`;
}

async function toggleInterest(app, tag) {
  const it = app.interests;
  const wanted = it.mine.includes(tag) ? it.mine.filter((t) => t !== tag) : [...it.mine, tag];
  const status = $("#interests-status");
  try {
    const saved = await request("PUT", `/api/me/interests?${query(app)}`, {
      body: { interests: wanted },
      ...ticketHeaders(app),
    });
    it.mine = saved.interests;
    status.textContent = "Saved.";
  } catch (err) {
    status.textContent = `Not saved: ${err.message}`;
  }
  renderInterestOptions(app);
  renderInterestSummary(app);
}

/** "You both: Climate · Health" on the partner card. */
export function renderSharedInterests(meeting) {
  const el = $("#partner-shared");
  const shared = (meeting && meeting.shared_interests) || [];
  el.hidden = !shared.length;
  el.textContent = shared.length ? `You both: ${shared.join(" · ")}` : "";
}

// ---- notes --------------------------------------------------------------------------------------------

/** The attendee's meetings from the HTTP API (their ids, notes and shared interests). */
export async function loadRecords(app) {
  try {
    const data = await request("GET", `/api/sessions/${app.sessionId}/matches?${query(app)}`, ticketHeaders(app));
    app.records = data.matches || [];
  } catch (err) {
    toast(`Your notes could not be loaded: ${err.message}`);
  }
  return app.records;
}

/** The stored meeting behind a match of the socket (same partner, same start). */
export function recordFor(app, match) {
  const start = epoch(match.started_at);
  let best = null;
  for (const r of app.records || []) {
    if (r.partner.ticket_id !== match.partner.ticket_id) continue;
    const gap = Math.abs(epoch(r.started_at) - start);
    if (gap < 5 && (!best || gap < best.gap)) best = { gap, record: r };
  }
  return best ? best.record : null;
}

function stars(rating) {
  return rating ? `${"★".repeat(rating)}${"☆".repeat(5 - rating)}` : "";
}

/** A note form: rating, would meet again, private note. `prefix` keeps element ids distinct. */
function noteFields(prefix, note) {
  const ratingName = `${prefix}-rating`;
  const againName = `${prefix}-again`;
  const rating = h(
    "fieldset",
    { class: "rating" },
    h("legend", { class: "field-label" }, "Rating"),
    [1, 2, 3, 4, 5].map((n) =>
      h(
        "label",
        { class: "check" },
        h("input", { type: "radio", name: ratingName, value: String(n), checked: note && note.rating === n }),
        ` ${n}`,
        h("span", { class: "visually-hidden" }, n === 1 ? " star" : " stars"),
      ),
    ),
  );
  const again = h(
    "fieldset",
    { class: "rating" },
    h("legend", { class: "field-label" }, "Would you meet again?"),
    h("label", { class: "check" }, h("input", { type: "radio", name: againName, value: "yes", checked: note && note.would_meet_again === true }), " Yes"),
    h("label", { class: "check" }, h("input", { type: "radio", name: againName, value: "no", checked: note && note.would_meet_again === false }), " No"),
  );
  const text = h("textarea", { id: `${prefix}-note`, maxlength: String(MAX_NOTE), rows: "3" });
  text.value = (note && note.note) || "";
  const label = h("label", { class: "field" }, h("span", {}, "Private note (only you see it)"), text);
  return [rating, again, label];
}

function readNote(form, prefix) {
  const rating = form.querySelector(`input[name="${prefix}-rating"]:checked`);
  const again = form.querySelector(`input[name="${prefix}-again"]:checked`);
  const text = form.querySelector(`#${prefix}-note`).value;
  return {
    note: text.trim() ? text : null,
    rating: rating ? Number(rating.value) : null,
    would_meet_again: again ? again.value === "yes" : null,
  };
}

async function saveNote(app, meetingId, body) {
  const saved = await request("PUT", `/api/me/meetings/${meetingId}/note?${query(app)}`, { body, ...ticketHeaders(app) });
  for (const r of app.records || []) if (r.meeting_id === meetingId) r.note = saved;
  return saved;
}

/** After a meeting: the optional form in the lobby (the page stays usable, "I'm Ready" included). */
export async function offerNoteForm(app, match) {
  const form = $("#after-meeting");
  const partner = match.partner;
  app.afterMeeting = { match, meetingId: null, dirty: false };
  $("#after-name").textContent = partner.name;
  fill($("#after-fields"), noteFields("after", null));
  $("#after-status").textContent = "";
  form.hidden = false;
  await loadRecords(app);
  const record = recordFor(app, match);
  if (app.afterMeeting && app.afterMeeting.match === match) app.afterMeeting.meetingId = record ? record.meeting_id : null;
}

export function wireNoteForm(app) {
  const form = $("#after-meeting");
  form.addEventListener("input", () => {
    if (app.afterMeeting) app.afterMeeting.dirty = true;
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    await saveAfterMeeting(app, true);
  });
  $("#btn-after-skip").addEventListener("click", () => {
    app.afterMeeting = null;
    form.hidden = true;
  });
}

/** Save the after-meeting form; with `always` false only when something was entered ("I'm Ready"). */
export async function saveAfterMeeting(app, always = false) {
  const pending = app.afterMeeting;
  const form = $("#after-meeting");
  if (!pending || (!always && !pending.dirty)) return;
  const status = $("#after-status");
  if (!pending.meetingId) {
    await loadRecords(app);
    const record = recordFor(app, pending.match);
    pending.meetingId = record ? record.meeting_id : null;
  }
  if (!pending.meetingId) {
    status.textContent = "This meeting is not saved yet: try again in a moment.";
    return;
  }
  try {
    await saveNote(app, pending.meetingId, readNote(form, "after"));
    app.afterMeeting = null;
    form.hidden = true;
    toast(`Saved your note on ${pending.match.partner.name}`);
  } catch (err) {
    status.textContent = `Not saved: ${err.message}`;
  }
}

/** Under a match in View Matches: the interests both have, the private note, and a way to edit it. */
export function matchExtras(app, match, onChange) {
  const record = recordFor(app, match);
  if (!record) return [];
  const parts = [];
  if (record.shared_interests && record.shared_interests.length) {
    parts.push(h("div", { class: "small shared" }, `You both: ${record.shared_interests.join(" · ")}`));
  }
  const note = record.note;
  const summary = [];
  if (note && note.rating) summary.push(h("span", { "aria-label": `Rated ${note.rating} of 5` }, stars(note.rating)));
  if (note && note.would_meet_again !== null) summary.push(note.would_meet_again ? "Would meet again" : "Would not meet again");
  const text = note && note.note ? h("div", { class: "small note-text" }, note.note) : null;
  const prefix = `m${record.meeting_id}`;
  // The list is drawn again whenever the session's state changes: a note being edited stays open, with
  // what was typed so far.
  const open = app.openNote === record.meeting_id;
  const form = h("form", { class: "note-form", hidden: true, "aria-label": `Note on ${match.partner.name}` });
  form.hidden = !open;
  const editButton = h(
    "button",
    {
      type: "button",
      class: "small",
      "aria-expanded": String(open),
      "aria-label": `${note ? "Edit" : "Add"} note on ${match.partner.name}`,
      onclick: () => {
        form.hidden = !form.hidden;
        editButton.setAttribute("aria-expanded", String(!form.hidden));
        app.openNote = form.hidden ? null : record.meeting_id;
        app.noteDraft = null;
      },
    },
    note ? "Edit note" : "Add note",
  );
  form.addEventListener("input", () => {
    app.noteDraft = readNote(form, prefix);
  });
  fill(
    form,
    noteFields(prefix, open && app.noteDraft ? app.noteDraft : note),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary small" }, "Save note")),
    h("p", { class: "small", role: "status" }),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await saveNote(app, record.meeting_id, readNote(form, prefix));
      app.openNote = null;
      app.noteDraft = null;
      toast(`Saved your note on ${match.partner.name}`);
      onChange();
    } catch (err) {
      form.querySelector("[role=status]").textContent = `Not saved: ${err.message}`;
    }
  });
  parts.push(
    h("div", { class: "small note-summary" }, summary.length ? summary.flatMap((x, i) => (i ? [" · ", x] : [x])) : null, " ", editButton),
    text,
    form,
  );
  return parts;
}

/** Download links for the accepted connections (the ticket in the link is the attendee's own). */
export function renderDownloads(app) {
  const q = query(app);
  $("#dl-vcard").href = `/api/me/connections.vcf?${q}`;
  $("#dl-csv").href = `/api/me/connections.csv?${q}`;
}
