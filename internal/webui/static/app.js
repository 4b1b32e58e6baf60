// sdgo web UI: fills the form from /sdapi/v1 lists, submits jobs to the
// async API (/api/v1/jobs), follows their server-sent events and shows the
// images with their infotext.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { job: null, events: null, images: [], shown: -1 };

async function getJSON(url, opts) {
  const resp = await fetch(url, opts);
  const body = await resp.json().catch(() => null);
  if (!resp.ok) {
    const err = new Error((body && (body.detail || body.error)) || resp.statusText);
    err.fields = (body && body.fields) || [];
    throw err;
  }
  return body;
}

function showError(err) {
  const box = $("error");
  document.querySelectorAll(".invalid").forEach((el) => el.classList.remove("invalid"));
  if (!err) { box.hidden = true; return; }
  let msg = err.message || String(err);
  for (const f of err.fields || []) {
    const name = f.loc[f.loc.length - 1];
    const el = $(name);
    if (el) { el.classList.add("invalid"); if (msg === err.message) el.focus(); }
  }
  if (err.fields && err.fields.length) msg = err.fields.map((f) => f.loc.slice(1).join(".") + ": " + f.msg).join("\n");
  box.textContent = msg;
  box.hidden = false;
}

function fillSelect(sel, items, value) {
  sel.replaceChildren(...items.map(([v, label]) => new Option(label, v, false, v === value)));
}

async function loadLists() {
  const [samplers, schedulers, models, options] = await Promise.all([
    getJSON("/sdapi/v1/samplers"), getJSON("/sdapi/v1/schedulers"),
    getJSON("/sdapi/v1/sd-models"), getJSON("/sdapi/v1/options"),
  ]);
  fillSelect($("sampler_name"), samplers.map((s) => [s.name, s.name]), "DPM++ 2M");
  fillSelect($("scheduler"), schedulers.map((s) => [s.label, s.label]), "Automatic");
  fillSelect($("model"), models.map((m) => [m.title, m.title]), options.sd_model_checkpoint);
  $("model-status").textContent = models.length ? "" : "no checkpoint found: put one in the models folder";
}

function request() {
  const num = (id) => Number($(id).value);
  return {
    prompt: $("prompt").value, negative_prompt: $("negative_prompt").value,
    sampler_name: $("sampler_name").value, scheduler: $("scheduler").value,
    steps: num("steps"), width: num("width"), height: num("height"), cfg_scale: num("cfg_scale"),
    seed: num("seed"), n_iter: num("n_iter"), batch_size: num("batch_size"),
    override_settings: $("model").value ? { sd_model_checkpoint: $("model").value } : {},
  };
}

function setBusy(busy) {
  $("generate").disabled = busy;
  $("cancel").disabled = !busy;
  $("progress").hidden = !busy;
}

async function generate(ev) {
  if (ev) ev.preventDefault();
  if (state.job) return;
  showError(null);
  setBusy(true);
  $("bar").value = 0;
  $("progress-text").textContent = "queued";
  try {
    const job = await getJSON("/api/v1/jobs", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(request()),
    });
    state.job = job.id;
    follow(job.id);
  } catch (err) {
    setBusy(false);
    showError(err);
  }
}

function follow(id) {
  const es = new EventSource(`/api/v1/jobs/${id}/events?preview=1`);
  state.events = es;
  es.addEventListener("job", (e) => {
    const job = JSON.parse(e.data);
    onJob(job);
    if (["done", "failed", "cancelled"].includes(job.status)) { es.close(); finish(job); }
  });
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED && state.job === id) {
      getJSON(`/api/v1/jobs/${id}`).then(finish).catch((err) => { finish(null); showError(err); });
    }
  };
}

function onJob(job) {
  const p = job.progress;
  $("bar").value = p.fraction;
  if (job.status === "queued") {
    $("progress-text").textContent = `queued (${job.position} ahead)`;
  } else if (job.status === "running") {
    const eta = p.eta_seconds > 0 ? `, ${p.eta_seconds.toFixed(1)} s left` : "";
    $("progress-text").textContent = p.step ? `step ${p.step}/${p.total}${eta}` : "loading model";
  }
  if (job.preview) {
    const img = $("image");
    img.src = "data:image/png;base64," + job.preview;
    img.classList.add("preview");
    img.hidden = false;
    $("placeholder").hidden = true;
  }
}

function finish(job) {
  if (state.events) state.events.close();
  state.job = null;
  state.events = null;
  setBusy(false);
  if (!job) return;
  if (job.status === "failed") showError(new Error(job.error));
  if (job.status === "cancelled" && !job.images.length) $("progress-text").textContent = "cancelled";
  if (job.images.length) {
    state.images = job.images;
    renderGallery();
    show(0);
  }
}

function renderGallery() {
  $("gallery").replaceChildren(...state.images.map((im, i) => {
    const t = new Image();
    t.src = im.url;
    t.alt = `seed ${im.seed}`;
    t.title = `seed ${im.seed}`;
    t.addEventListener("click", () => show(i));
    return t;
  }));
}

function show(i) {
  const im = state.images[i];
  state.shown = i;
  const img = $("image");
  img.classList.remove("preview");
  img.src = im.url;
  img.alt = im.infotext;
  img.hidden = false;
  $("placeholder").hidden = true;
  $("infotext").textContent = im.infotext;
  $("infotext").hidden = false;
  [...$("gallery").children].forEach((c, k) => c.classList.toggle("selected", k === i));
}

async function cancel() {
  if (!state.job) return;
  try { await getJSON(`/api/v1/jobs/${state.job}`, { method: "DELETE" }); } catch (err) { showError(err); }
}

function init() {
  $("txt2img").addEventListener("submit", generate);
  $("cancel").addEventListener("click", cancel);
  $("dice").addEventListener("click", () => { $("seed").value = -1; });
  $("recycle").addEventListener("click", () => {
    if (state.shown >= 0) $("seed").value = state.images[state.shown].seed;
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) generate(e);
    if (e.key === "Escape" && state.job) cancel();
  });
  loadLists().catch(showError);
}

init();
