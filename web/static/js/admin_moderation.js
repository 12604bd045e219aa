// The organiser's moderation of a session: removing an attendee from it (and letting them back), and the
// session's reports with what the organiser did about each.

import { request } from "./api.js";
import { $, fill, h } from "./dom.js";

export const REPORT_ACTIONS = [
  ["", "Not handled"],
  ["dismissed", "Dismissed"],
  ["warned", "Warned"],
  ["removed", "Removed"],
];

function auth(state) {
  return { Authorization: `Bearer ${state.token}` };
}

function note(message) {
  $("#moderation-note").textContent = message;
}

/** A "Remove from session" button for one person of a running meeting (see `wireModeration`). */
export function removeButton(person) {
  return h(
    "button",
    {
      type: "button",
      class: "small danger",
      dataset: { removeTicket: String(person.ticket_id), removeName: person.name },
      "aria-label": `Remove ${person.name} from the session`,
    },
    `Remove ${person.name}`,
  );
}

/** The session's reports and removals into the moderation card. */
export async function loadModeration(state) {
  const s = state.session;
  if (!s) return;
  let reports;
  let removals;
  try {
    const base = `/api/admin/sessions/${s.id}`;
    [reports, removals] = await Promise.all([
      request("GET", `${base}/reports`, { headers: auth(state) }),
      request("GET", `${base}/removals`, { headers: auth(state) }),
    ]);
  } catch (err) {
    note(`Reports unavailable: ${err.message}`);
    return;
  }
  if (state.session !== s) return;
  renderReports(reports.reports || []);
  renderRemovals(removals.removals || []);
}

function renderReports(reports) {
  fill(
    $("#reports-body"),
    reports.length
      ? reports.map((r) =>
          h(
            "tr",
            {},
            h("td", {}, r.by_name),
            h("td", {}, r.reported_name),
            h("td", { class: "mono small" }, new Date(r.created_at).toLocaleString()),
            h("td", { class: "report-reason" }, r.reason),
            h(
              "td",
              {},
              h(
                "select",
                { dataset: { report: String(r.id) }, "aria-label": `Action on ${r.by_name}'s report of ${r.reported_name}` },
                ...REPORT_ACTIONS.map(([value, label]) => {
                  const option = h("option", { value }, label);
                  option.selected = (r.action || "") === value;
                  return option;
                }),
              ),
            ),
          ),
        )
      : h("tr", {}, h("td", { colspan: "5", class: "muted small" }, "No reports.")),
  );
}

function renderRemovals(removals) {
  fill(
    $("#removals-list"),
    removals.length
      ? removals.map((r) =>
          h(
            "li",
            {},
            `${r.name} `,
            h(
              "button",
              { type: "button", class: "small", dataset: { restoreTicket: String(r.ticket_id) } },
              "Let back in",
            ),
          ),
        )
      : h("li", { class: "muted small" }, "Nobody is removed from this session."),
  );
}

async function remove(state, ticketId, name) {
  const s = state.session;
  if (!s || !window.confirm(`Remove ${name} from “${s.title}”? Their meeting ends and they cannot rejoin.`)) return;
  try {
    await request("POST", `/api/admin/sessions/${s.id}/removals`, {
      body: { ticket_id: ticketId },
      headers: auth(state),
    });
    note(`${name} was removed from the session.`);
  } catch (err) {
    note(`Could not remove ${name}: ${err.message}`);
  }
  await loadModeration(state);
}

async function restore(state, ticketId) {
  const s = state.session;
  if (!s) return;
  try {
    await request("DELETE", `/api/admin/sessions/${s.id}/removals/${ticketId}`, { headers: auth(state) });
    note("Let back into the session.");
  } catch (err) {
    note(`Could not let them back: ${err.message}`);
  }
  await loadModeration(state);
}

async function setAction(state, reportId, action) {
  try {
    await request("PATCH", `/api/admin/reports/${reportId}`, {
      body: { action: action || null },
      headers: auth(state),
    });
    note("Action saved.");
  } catch (err) {
    note(`Could not save the action: ${err.message}`);
    await loadModeration(state);
  }
}

/** One listener per container (the rows are redrawn on every poll). */
export function wireModeration(state) {
  $("#live-meetings").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-remove-ticket]");
    if (button) remove(state, Number(button.dataset.removeTicket), button.dataset.removeName);
  });
  $("#removals-list").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-restore-ticket]");
    if (button) restore(state, Number(button.dataset.restoreTicket));
  });
  $("#reports-body").addEventListener("change", (event) => {
    const select = event.target.closest("select[data-report]");
    if (select) setAction(state, Number(select.dataset.report), select.value);
  });
  $("#btn-moderation-refresh").addEventListener("click", () => loadModeration(state));
}
