// The jobs dashboard: signs in as a PocketBase superuser, reads the jobs
// plugin's HTTP API (/api/jobs) and follows its realtime topic "jobs".
//
// Everything that comes from the server is put in the page as text
// (textContent, attributes), never as HTML.

import PocketBase, { LocalAuthStore } from "./vendor/pocketbase/pocketbase.es.js";

// The admin UI's own storage key: a browser signed in to /_/ is signed in
// here too, and signing out here signs it out there.
const AUTH_KEY = "__pb_superuser_auth__";
const SUPERUSERS = "_superusers";

// Jobs per page of the list.
const PAGE_SIZE = 20;
// Re-reads caused by realtime messages run at most once per this many ms.
const REFRESH_INTERVAL = 1000;
const STATUSES = ["pending", "processing", "completed", "failed", "cancelled"];

const pb = new PocketBase(location.origin, new LocalAuthStore(AUTH_KEY));
// Requests of one kind may overlap (a live re-read and a click): each
// reader keeps only its newest answer, so none is cancelled.
pb.autoCancellation(false);

const $ = (selector, root = document) => root.querySelector(selector);

const el = {
  loading: $("#loading"),
  login: $("#login"),
  loginForm: $("#login-form"),
  loginError: $("#login-error"),
  app: $("#app"),
  user: $("#user"),
  logout: $("#logout"),
  live: $("#live"),
  filterTopic: $("#filter-topic"),
  filterStatus: $("#filter-status"),
  jobsBody: $("#jobs tbody"),
  jobsEmpty: $("#jobs-empty"),
  pagePrev: $("#page-prev"),
  pageNext: $("#page-next"),
  pageInfo: $("#page-info"),
  topicsBody: $("#topics tbody"),
  topicsEmpty: $("#topics-empty"),
  topicNames: $("#topic-names"),
  schedulesBody: $("#schedules tbody"),
  schedulesEmpty: $("#schedules-empty"),
  enqueueForm: $("#enqueue-form"),
  enqueueError: $("#enqueue-error"),
  detail: $("#job-detail"),
  detailTitle: $("#job-detail-title"),
  detailClose: $("#job-close"),
  toast: $("#toast"),
};

// What the page shows: the list's filter and page, and the open job.
const view = {
  topic: "",
  status: "",
  offset: 0,
  total: 0,
  // jobs of the page shown, newest first
  jobs: [],
  // the open job, or null
  job: null,
  // whether the open job was deleted
  jobDeleted: false,
};

// ---------------------------------------------------------------------------
// Small helpers

// api sends a request to the HTTP API with the superuser's token.
function api(path, options = {}) {
  return pb.send(path, options);
}

// errorMessage is what the user is told about err: the API's own message
// when it gave one.
function errorMessage(err) {
  return err?.response?.message || err?.message || String(err);
}

// isAuthError tells whether err means the session is gone.
function isAuthError(err) {
  return err?.status === 401;
}

// latest wraps an async reader so that only the answer of its newest call is
// applied: apply runs with the result unless a newer call started meanwhile.
function latest(read, apply) {
  let seq = 0;
  return async (...args) => {
    const mine = ++seq;
    const result = await read(...args);
    if (mine === seq) {
      apply(result);
    }
  };
}

// setTime shows an RFC 3339 time in node as PocketBase's admin UI does: in
// UTC, here to the second. The node's title gets the local time.
function setTime(node, value) {
  if (!value) {
    node.textContent = "";
    node.removeAttribute("title");
    return;
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    node.textContent = value;
    return;
  }
  node.textContent = date.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
  node.title = date.toLocaleString();
}

// cell appends a td to tr and returns it.
function cell(tr, field) {
  const td = document.createElement("td");
  if (field) {
    td.dataset.field = field;
  }
  tr.append(td);
  return td;
}

// badge returns a span showing a status.
function badge(status, field) {
  const span = document.createElement("span");
  span.className = "badge";
  span.dataset.status = status;
  if (field) {
    span.dataset.field = field;
  }
  span.textContent = status;
  return span;
}

// replaceRows puts rows in tbody instead of its rows. Focus on a link or
// button of a row stays on the same kind of control of the same row (rows
// are told apart by their data-KEY attribute), so live updates do not take
// the keyboard's place away.
function replaceRows(tbody, rows, key) {
  const focused = document.activeElement;
  const row = tbody.contains(focused) ? focused.closest("tr") : null;
  const id = row?.dataset[key];
  const kind = focused?.tagName?.toLowerCase();
  tbody.replaceChildren(...rows);
  if (id !== undefined) {
    rows.find((r) => r.dataset[key] === id)?.querySelector(kind)?.focus();
  }
}

// whileBusy runs action once at a time for button: clicks while it runs are
// ignored. (A disabled button would lose the keyboard focus.)
async function whileBusy(button, action) {
  if (button.getAttribute("aria-busy") === "true") {
    return;
  }
  button.setAttribute("aria-busy", "true");
  try {
    await action();
  } finally {
    button.removeAttribute("aria-busy");
  }
}

let toastTimer = 0;

// toast shows message in #toast: kind "ok" or "error".
function toast(kind, message) {
  clearTimeout(toastTimer);
  el.toast.dataset.kind = kind;
  el.toast.textContent = message;
  el.toast.hidden = false;
  toastTimer = setTimeout(() => { el.toast.hidden = true; }, kind === "error" ? 8000 : 4000);
}

// failed reports an action or a read that the API refused.
function failed(err) {
  if (err?.isAbort) {
    return;
  }
  if (isAuthError(err)) {
    signedOut("Your session has ended: sign in again.");
    pb.authStore.clear();
    return;
  }
  toast("error", errorMessage(err));
}

// ---------------------------------------------------------------------------
// Session

// start shows the page for the session the browser has, if any.
async function start() {
  // Signing out in another tab, here or in the admin UI, signs out here.
  pb.authStore.onChange(() => {
    if (!isSuperuser()) {
      signedOut("");
    }
  });
  if (!isSuperuser()) {
    showLogin("");
    return;
  }
  try {
    await pb.collection(SUPERUSERS).authRefresh();
  } catch (err) {
    if (err?.status === 401 || err?.status === 403 || err?.status === 404) {
      pb.authStore.clear();
      showLogin("");
    } else {
      showLogin(errorMessage(err));
    }
    return;
  }
  signedIn();
}

// isSuperuser tells whether the stored session is a superuser's.
function isSuperuser() {
  return pb.authStore.isValid && pb.authStore.record?.collectionName === SUPERUSERS;
}

function showLogin(message) {
  el.loading.hidden = true;
  el.app.hidden = true;
  el.login.hidden = false;
  el.loginError.textContent = message;
  el.loginError.hidden = message === "";
  el.loginForm.elements.email.focus();
}

el.loginForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const form = el.loginForm.elements;
  whileBusy(el.loginForm.querySelector("button[type=submit]"), async () => {
    el.loginError.hidden = true;
    try {
      await pb.collection(SUPERUSERS).authWithPassword(form.email.value, form.password.value);
      form.password.value = "";
      signedIn();
    } catch (err) {
      el.loginError.textContent = errorMessage(err);
      el.loginError.hidden = false;
    }
  });
});

// Signing out clears the session shared with the admin UI (onChange then
// shows the sign-in form), as the admin UI's own sign-out does.
el.logout.addEventListener("click", () => pb.authStore.clear());

// signedIn shows the dashboard and starts following the jobs.
function signedIn() {
  el.loading.hidden = true;
  el.login.hidden = true;
  el.app.hidden = false;
  el.user.textContent = pb.authStore.record?.email || "";
  refreshNow(["stats", "topics", "list", "schedules"]);
  follow();
  const id = jobIdFromHash();
  if (id) {
    openJob(id, false);
  }
}

// signedOut stops following the jobs and shows the sign-in form with
// message; it does nothing when the dashboard is not shown.
function signedOut(message) {
  if (el.app.hidden) {
    return;
  }
  pb.realtime.onDisconnect = undefined;
  pb.realtime.unsubscribe().catch(() => {});
  closeJob(false);
  setLive("offline");
  showLogin(message);
}

// ---------------------------------------------------------------------------
// Realtime

function setLive(state) {
  el.live.dataset.state = state;
  el.live.textContent = { connecting: "Connecting…", live: "Live", offline: "Offline" }[state];
}

// follow subscribes to the "jobs" topic. The SDK reconnects on its own
// after a disconnection; messages sent meanwhile are lost, so on each
// reconnection the page re-reads what it shows.
async function follow() {
  setLive("connecting");
  let connections = 0;
  pb.realtime.onDisconnect = () => setLive("offline");
  try {
    // PB_CONNECT comes once the subscriptions are (re)made.
    await pb.realtime.subscribe("PB_CONNECT", () => {
      setLive("live");
      if (++connections > 1) {
        requestRefresh(["stats", "topics", "list", "schedules", "job"]);
      }
    });
    await pb.realtime.subscribe("jobs", onMessage);
    setLive("live");
  } catch (err) {
    setLive("offline");
    failed(err);
  }
}

// onMessage applies one message of the "jobs" topic.
function onMessage(message) {
  if (message.action === "stats") {
    showStats(message.stats);
    requestRefresh(["topics", "list", "schedules", "job"]);
    return;
  }
  const job = message.job;
  if (!job?.id) {
    return;
  }
  requestRefresh(["stats", "topics"]);
  if (view.job?.id === job.id) {
    if (message.action === "delete") {
      showJobDeleted();
    } else {
      showJob(job);
    }
  }
  switch (message.action) {
    case "create":
      jobCreated(job);
      break;
    case "update":
      jobUpdated(job);
      break;
    case "delete":
      jobDeleted(job);
      break;
  }
}

// matchesFilter tells whether job belongs in the list as filtered.
function matchesFilter(job) {
  return (!view.topic || job.topic === view.topic) && (!view.status || job.status === view.status);
}

function jobCreated(job) {
  if (!matchesFilter(job) || view.jobs.some((j) => j.id === job.id)) {
    return;
  }
  if (view.offset > 0) {
    // Every page of older jobs moved by one.
    requestRefresh(["list"]);
    return;
  }
  view.jobs = [job, ...view.jobs].slice(0, PAGE_SIZE);
  view.total++;
  renderJobs();
}

function jobUpdated(job) {
  const index = view.jobs.findIndex((j) => j.id === job.id);
  const matches = matchesFilter(job);
  if (index >= 0 && matches) {
    view.jobs[index] = job;
    renderJobs();
    return;
  }
  // Only a status filter can let a job in or out of the list: re-read it
  // when the job left it, or joined it.
  if (view.status && (index >= 0) !== matches) {
    requestRefresh(["list"]);
  }
}

function jobDeleted(job) {
  const index = view.jobs.findIndex((j) => j.id === job.id);
  if (index < 0) {
    return;
  }
  view.jobs.splice(index, 1);
  view.total = Math.max(0, view.total - 1);
  renderJobs();
  requestRefresh(["list"]); // the next job moves up into the page
}

// ---------------------------------------------------------------------------
// Re-reads

// readers re-read one part of the page each.
const readers = {
  stats: latest(() => api("/api/jobs/stats"), showStats),
  topics: latest(() => api("/api/jobs/topics"), showTopics),
  schedules: latest(() => api("/api/jobs/schedules"), showSchedules),
  list: latest(() => api("/api/jobs", {
    query: { topic: view.topic, status: view.status, limit: PAGE_SIZE, offset: view.offset },
  }), showList),
  job: async () => {
    if (!view.job || view.jobDeleted) {
      return;
    }
    const id = view.job.id;
    try {
      const job = await api(`/api/jobs/${encodeURIComponent(id)}`);
      if (view.job?.id === id) {
        showJob(job);
      }
    } catch (err) {
      if (err?.status === 404 && view.job?.id === id) {
        showJobDeleted();
        return;
      }
      throw err;
    }
  },
};

// refreshNow re-reads parts of the page at once (after a click).
function refreshNow(parts) {
  for (const part of parts) {
    readers[part]().catch(failed);
  }
}

// The throttle of requestRefresh: parts asked for, and when the last run
// started.
const refresh = { pending: new Set(), timer: 0, running: false, last: 0 };

// requestRefresh re-reads parts of the page soon: at most once per
// REFRESH_INTERVAL, however many messages ask for it.
function requestRefresh(parts) {
  for (const part of parts) {
    refresh.pending.add(part);
  }
  if (refresh.timer || refresh.running) {
    return;
  }
  const wait = Math.max(0, refresh.last + REFRESH_INTERVAL - Date.now());
  refresh.timer = setTimeout(runRefresh, wait);
}

async function runRefresh() {
  refresh.timer = 0;
  refresh.running = true;
  refresh.last = Date.now();
  const parts = [...refresh.pending];
  refresh.pending.clear();
  try {
    await Promise.all(parts.map((part) => readers[part]().catch(failed)));
  } finally {
    refresh.running = false;
    if (refresh.pending.size > 0 && !el.app.hidden) {
      requestRefresh([]);
    }
  }
}

// ---------------------------------------------------------------------------
// Stats and topics

function showStats(stats) {
  for (const key of [...STATUSES, "total"]) {
    const node = $(`[data-stat="${key}"]`);
    node.textContent = String(stats?.[key] ?? 0);
  }
}

// topicNames are the topics the filter and the enqueue form offer.
let topicNames = [];

function showTopics(topics) {
  const rows = topics.map(topicRow);
  replaceRows(el.topicsBody, rows, "topic");
  el.topicsEmpty.hidden = rows.length > 0;

  // The topic filter and the enqueue form offer the known topics; a
  // selected topic stays even when it has no jobs left. They are only
  // rebuilt when the names change, not to disturb an open select.
  const names = topics.map((t) => t.topic);
  if (view.topic && !names.includes(view.topic)) {
    names.push(view.topic);
  }
  if (names.join("\n") === topicNames.join("\n")) {
    return;
  }
  topicNames = names;
  const options = names.map((name) => {
    const option = document.createElement("option");
    option.value = name;
    option.textContent = name;
    return option;
  });
  const all = document.createElement("option");
  all.value = "";
  all.textContent = "All topics";
  el.filterTopic.replaceChildren(all, ...options);
  el.filterTopic.value = view.topic;
  el.topicNames.replaceChildren(...names.map((name) => {
    const option = document.createElement("option");
    option.value = name;
    return option;
  }));
}

function topicRow(info) {
  const tr = document.createElement("tr");
  tr.dataset.topic = info.topic;
  const name = cell(tr, "topic");
  name.className = "mono";
  name.textContent = info.topic;
  const paused = cell(tr, "paused");
  paused.textContent = info.paused ? "paused" : "active";
  paused.className = info.paused ? "state-paused" : "state-active";
  cell(tr, "handler").textContent = info.has_handler ? "yes" : "no";
  for (const status of STATUSES) {
    const count = cell(tr, status);
    count.className = "num";
    count.textContent = String(info[status] ?? 0);
  }
  const action = info.paused ? "resume" : "pause";
  const button = document.createElement("button");
  button.type = "button";
  button.className = "btn btn-secondary btn-sm";
  button.dataset.action = action;
  button.textContent = info.paused ? "Resume" : "Pause";
  button.setAttribute("aria-label", `${button.textContent} topic ${info.topic}`);
  button.addEventListener("click", () => whileBusy(button, () => setPaused(info.topic, action)));
  cell(tr).append(button);
  return tr;
}

// setPaused pauses or resumes (action) topic, and shows its new state.
async function setPaused(topic, action) {
  try {
    const info = await api(`/api/jobs/topics/${encodeURIComponent(topic)}/${action}`, { method: "POST" });
    const row = el.topicsBody.querySelector(`tr[data-topic="${CSS.escape(topic)}"]`);
    if (row) {
      const rows = [...el.topicsBody.children].map((r) => (r === row ? topicRow(info) : r));
      replaceRows(el.topicsBody, rows, "topic");
    }
    toast("ok", `Topic ${topic} ${action === "pause" ? "paused" : "resumed"}.`);
  } catch (err) {
    failed(err);
  }
}

// ---------------------------------------------------------------------------
// Jobs list

function showList(list) {
  view.jobs = list.items || [];
  view.total = list.total || 0;
  if (view.jobs.length === 0 && view.offset > 0 && view.offset >= view.total) {
    // The page emptied (jobs deleted): go to the last page that has jobs.
    view.offset = Math.max(0, Math.floor((view.total - 1) / PAGE_SIZE) * PAGE_SIZE);
    readers.list().catch(failed);
    return;
  }
  renderJobs();
}

function renderJobs() {
  replaceRows(el.jobsBody, view.jobs.map(jobRow), "jobId");
  el.jobsEmpty.hidden = view.jobs.length > 0;
  const page = Math.floor(view.offset / PAGE_SIZE) + 1;
  const pages = Math.max(1, Math.ceil(view.total / PAGE_SIZE));
  el.pageInfo.textContent = `Page ${page} of ${pages} · ${view.total} ${view.total === 1 ? "job" : "jobs"}`;
  el.pagePrev.disabled = view.offset === 0;
  el.pageNext.disabled = view.offset + PAGE_SIZE >= view.total;
}

function jobRow(job) {
  const tr = document.createElement("tr");
  tr.dataset.jobId = job.id;
  const link = document.createElement("a");
  link.href = `#job/${encodeURIComponent(job.id)}`;
  link.className = "mono";
  link.dataset.openJob = "";
  link.textContent = job.id;
  link.setAttribute("aria-label", `Open job ${job.id}`);
  cell(tr, "id").append(link);
  const topic = cell(tr, "topic");
  topic.className = "mono";
  topic.textContent = job.topic;
  cell(tr).append(badge(job.status, "status"));
  const attempts = cell(tr, "attempts");
  attempts.className = "num";
  attempts.textContent = String(job.attempts);
  const priority = cell(tr, "priority");
  priority.className = "num";
  priority.textContent = String(job.priority ?? 0);
  setTime(cell(tr, "run_at"), job.run_at);
  setTime(cell(tr, "created"), job.created);
  if (view.job?.id === job.id) {
    tr.classList.add("selected");
  }
  return tr;
}

el.jobsBody.addEventListener("click", (event) => {
  const row = event.target.closest("tr[data-job-id]");
  if (!row) {
    return;
  }
  event.preventDefault();
  openJob(row.dataset.jobId, true);
});

function filterChanged() {
  view.topic = el.filterTopic.value;
  view.status = el.filterStatus.value;
  view.offset = 0;
  refreshNow(["list"]);
}
el.filterTopic.addEventListener("change", filterChanged);
el.filterStatus.addEventListener("change", filterChanged);

el.pagePrev.addEventListener("click", () => {
  view.offset = Math.max(0, view.offset - PAGE_SIZE);
  refreshNow(["list"]);
});
el.pageNext.addEventListener("click", () => {
  view.offset += PAGE_SIZE;
  refreshNow(["list"]);
});

// ---------------------------------------------------------------------------
// One job

function jobIdFromHash() {
  const match = /^#job\/(.+)$/.exec(location.hash);
  return match ? decodeURIComponent(match[1]) : "";
}

// openJob shows the job with id, read from the API; focus moves to the
// panel when the user opened it.
async function openJob(id, focus) {
  view.job = { id };
  view.jobDeleted = false;
  history.replaceState(null, "", `#job/${encodeURIComponent(id)}`);
  el.detail.dataset.jobId = id;
  el.detail.hidden = false;
  clearJob(id);
  markSelected();
  if (focus) {
    el.detailTitle.focus();
  }
  try {
    await readers.job();
  } catch (err) {
    failed(err);
  }
}

// clearJob empties the panel while the job with id loads.
function clearJob(id) {
  for (const node of el.detail.querySelectorAll("[data-field]")) {
    node.textContent = "";
  }
  $("[data-field=id]", el.detail).textContent = id;
  setNote("");
}

function setNote(text) {
  const note = $("[data-field=note]", el.detail);
  note.textContent = text;
  note.hidden = text === "";
}

function showJob(job) {
  view.job = job;
  const field = (name) => $(`[data-field="${name}"]`, el.detail);
  field("id").textContent = job.id;
  field("topic").textContent = job.topic;
  const status = field("status");
  status.textContent = job.status;
  status.dataset.status = job.status;
  for (const name of ["attempts", "retries", "max_retries", "priority"]) {
    field(name).textContent = String(job[name] ?? 0);
  }
  field("unique_key").textContent = job.unique_key || "";
  for (const name of ["run_at", "locked_until", "created", "updated"]) {
    setTime(field(name), job[name]);
  }
  field("payload").textContent = JSON.stringify(job.payload ?? null, null, 2);
  field("last_error").textContent = job.last_error || "";
}

function showJobDeleted() {
  view.jobDeleted = true;
  setNote("This job no longer exists: it was deleted.");
}

// closeJob hides the panel; focus goes back to the job's row when the user
// closed it.
function closeJob(focus) {
  const id = view.job?.id;
  view.job = null;
  view.jobDeleted = false;
  el.detail.hidden = true;
  delete el.detail.dataset.jobId;
  if (location.hash) {
    history.replaceState(null, "", location.pathname + location.search);
  }
  markSelected();
  if (focus && id) {
    el.jobsBody.querySelector(`tr[data-job-id="${CSS.escape(id)}"] a[data-open-job]`)?.focus();
  }
}

function markSelected() {
  for (const row of el.jobsBody.querySelectorAll("tr[data-job-id]")) {
    row.classList.toggle("selected", row.dataset.jobId === view.job?.id);
  }
}

el.detailClose.addEventListener("click", () => closeJob(true));
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && !el.detail.hidden) {
    closeJob(true);
  }
});

// jobAction runs a requeue, cancel or delete of the open job.
async function jobAction(action) {
  const id = view.job?.id;
  if (!id) {
    return;
  }
  if (action === "delete" && !confirm(`Delete job ${id}?`)) {
    return;
  }
  const path = `/api/jobs/${encodeURIComponent(id)}`;
  try {
    if (action === "delete") {
      await api(path, { method: "DELETE" });
      toast("ok", `Job ${id} deleted.`);
      closeJob(false);
      jobDeleted({ id });
    } else {
      const job = await api(`${path}/${action}`, { method: "POST" });
      toast("ok", `Job ${id} ${action === "cancel" ? "cancelled" : "requeued"}.`);
      if (view.job?.id === id) {
        showJob(job);
      }
      jobUpdated(job);
    }
    refreshNow(["stats", "topics"]);
  } catch (err) {
    failed(err);
  }
}

for (const button of el.detail.querySelectorAll(".detail-actions [data-action]")) {
  button.addEventListener("click", () => whileBusy(button, () => jobAction(button.dataset.action)));
}

// ---------------------------------------------------------------------------
// Enqueue

// enqueueBody reads the enqueue form into the body of POST
// /api/jobs/enqueue; it throws an Error naming what is wrong.
function enqueueBody(form) {
  const body = { topic: form.topic.value.trim() };
  if (!body.topic) {
    throw new Error("The topic is required.");
  }
  const payload = form.payload.value.trim();
  if (payload) {
    try {
      body.payload = JSON.parse(payload);
    } catch (err) {
      throw new Error(`The payload is not valid JSON: ${err.message}`);
    }
  }
  if (form.run_at.value) {
    // datetime-local is the browser's local time; the API takes RFC 3339.
    const runAt = new Date(form.run_at.value);
    if (Number.isNaN(runAt.getTime())) {
      throw new Error("Run at is not a valid date.");
    }
    body.run_at = runAt.toISOString();
  }
  for (const name of ["max_retries", "priority"]) {
    const value = form[name].value.trim();
    if (value !== "") {
      if (!/^-?\d+$/.test(value)) {
        throw new Error(`${name} must be an integer.`);
      }
      body[name] = Number(value);
    }
  }
  if (form.unique_key.value !== "") {
    body.unique_key = form.unique_key.value;
  }
  return body;
}

el.enqueueForm.addEventListener("submit", (event) => {
  event.preventDefault();
  let body;
  try {
    body = enqueueBody(el.enqueueForm.elements);
  } catch (err) {
    el.enqueueError.textContent = err.message;
    el.enqueueError.hidden = false;
    toast("error", err.message);
    return;
  }
  el.enqueueError.hidden = true;
  whileBusy(el.enqueueForm.querySelector("button[type=submit]"), () => enqueue(body));
});

// enqueue posts body to the enqueue route and shows the job it answers.
async function enqueue(body) {
  try {
    const job = await api("/api/jobs/enqueue", { method: "POST", body });
    toast("ok", job.duplicate
      ? `Job ${job.id} of the same unique key is already in flight: nothing added.`
      : `Job ${job.id} enqueued.`);
    if (!job.duplicate) {
      jobCreated(job);
    }
    refreshNow(["stats", "topics"]);
  } catch (err) {
    failed(err);
  }
}

// ---------------------------------------------------------------------------
// Schedules

function showSchedules(schedules) {
  const rows = schedules.map((schedule) => {
    const tr = document.createElement("tr");
    tr.dataset.schedule = schedule.name;
    cell(tr, "name").textContent = schedule.name;
    const cron = cell(tr, "cron");
    cron.className = "mono";
    cron.textContent = schedule.cron;
    const topic = cell(tr, "topic");
    topic.className = "mono";
    topic.textContent = schedule.topic;
    setTime(cell(tr, "next_run"), schedule.next_run);
    setTime(cell(tr, "last_run"), schedule.last_run);
    return tr;
  });
  el.schedulesBody.replaceChildren(...rows);
  el.schedulesEmpty.hidden = rows.length > 0;
}

start();
