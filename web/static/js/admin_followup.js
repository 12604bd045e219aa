// The organiser's side of interests and follow-up: the event's interest tags, the ratings attendees gave
// after a session's meetings (aggregates only: no note is ever shown), and the session's CSV exports.

import { ApiError, request } from "./api.js";
import { $, fill, h } from "./dom.js";

const MAX_TAGS = 50;

function auth(state) {
  return { Authorization: `Bearer ${state.token}` };
}

/** The event's tags into the Interests tab. */
export async function loadEventTags(state) {
  try {
    const data = await request("GET", `/api/admin/events/${state.event.id}/interests`, { headers: auth(state) });
    state.interestTags = data.tags || [];
  } catch (err) {
    state.interestTags = [];
    $("#interests-status").textContent = `Interest tags could not be loaded: ${err.message}`;
  }
  showTags(state);
  renderTagCount();
}

/** Put the event's tags in the editor, unless the organiser has changed what was there (a load that
 * finishes late must not overwrite their typing). */
function showTags(state) {
  const editor = $("#interest-tags");
  if (state.tagsShown !== undefined && editor.value !== state.tagsShown) return;
  editor.value = state.interestTags.join("\n");
  state.tagsShown = editor.value;
}

export function renderTagCount() {
  const count = parseTags($("#interest-tags").value).length;
  const el = $("#interest-count");
  el.textContent = `${count} of at most ${MAX_TAGS}`;
  el.classList.toggle("error-text", count > MAX_TAGS);
}

function parseTags(text) {
  return text
    .split(/\r?\n|,/)
    .map((t) => t.trim())
    .filter(Boolean);
}

export async function saveEventTags(state) {
  const status = $("#interests-status");
  try {
    const saved = await request("PUT", `/api/admin/events/${state.event.id}/interests`, {
      body: { tags: parseTags($("#interest-tags").value) },
      headers: auth(state),
    });
    state.interestTags = saved.tags;
    $("#interest-tags").value = saved.tags.join("\n");
    state.tagsShown = $("#interest-tags").value;
    status.textContent = `Saved ${saved.tags.length} interest tag${saved.tags.length === 1 ? "" : "s"}.`;
  } catch (err) {
    const details = err instanceof ApiError && err.body && err.body.details;
    status.textContent = `Not saved: ${err.message}${details ? ` (${details.map((d) => d.msg).join("; ")})` : ""}`;
  }
  renderTagCount();
}

/**
 * Bulk lines: fields after the headline are interests when they read as the event's tags ("AI|Health");
 * anything else stays part of the headline, as before.
 */
export function splitHeadline(rest, tags) {
  const known = new Set((tags || []).map((t) => t.toLowerCase()));
  const isInterests = (field) =>
    field.includes("|") || (known.size > 0 && field.split("|").every((t) => known.has(t.trim().toLowerCase())));
  const parts = [...rest];
  let interests = [];
  if (parts.length > 1 && isInterests(parts[parts.length - 1])) {
    interests = parts
      .pop()
      .split("|")
      .map((t) => t.trim())
      .filter(Boolean);
  }
  return { headline: parts.join(", ").trim(), interests };
}

// ---- a session's ratings and exports ------------------------------------------------------------------

export async function loadRatings(state) {
  const s = state.session;
  const box = $("#ratings-stats");
  if (!s) return;
  let data;
  try {
    data = await request("GET", `/api/admin/sessions/${s.id}/ratings`, { headers: auth(state) });
  } catch (err) {
    fill(box, h("p", { class: "muted small" }, `Ratings unavailable: ${err.message}`));
    return;
  }
  if (state.session !== s) return;
  const share = data.would_meet_again_share;
  const stat = (key, value, label) =>
    h("div", { class: "stat" }, h("div", { class: "value", dataset: { stat: key } }, value), h("div", { class: "label" }, label));
  fill(
    box,
    stat("ratings", String(data.ratings), "Ratings given"),
    stat("average_rating", data.average_rating === null ? "–" : data.average_rating.toFixed(1), "Average rating (1–5)"),
    stat(
      "would_meet_again_share",
      share === null ? "–" : `${Math.round(share * 100)} %`,
      `Would meet again (${data.would_meet_again} of ${data.answers})`,
    ),
  );
}

/** Fetch a CSV export with the admin token and hand it to the browser as a download. */
export async function downloadExport(state, name) {
  const s = state.session;
  const status = $("#ratings-note");
  try {
    const response = await fetch(`/api/admin/sessions/${s.id}/${name}.csv`, { headers: auth(state) });
    if (!response.ok) {
      const body = await response.json().catch(() => null);
      throw new Error((body && body.error) || `${response.status} ${response.statusText}`);
    }
    const blob = await response.blob();
    const disposition = response.headers.get("Content-Disposition") || "";
    const match = disposition.match(/filename="([^"]+)"/);
    const link = h("a", { href: URL.createObjectURL(blob), download: match ? match[1] : `${name}.csv`, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    status.textContent = "";
  } catch (err) {
    status.textContent = `Download failed: ${err.message}`;
  }
}
