// sdgo web UI: fills the form from /sdapi/v1 lists, submits txt2img and
// img2img jobs to the async API (/api/v1/jobs), follows their server-sent
// events and shows the images with their infotext. "Send to img2img" and
// the PNG info tab read an image's parameters back with /sdapi/v1/png-info.
// img2img has a mask painter (a canvas over the init image) for
// inpainting; the settings tab reads and sets /sdapi/v1/options.
"use strict";

const $ = (id) => document.getElementById(id);
const TABS = ["txt2img", "img2img", "pnginfo", "settings"];
const state = {
  tab: "txt2img", job: null, events: null, images: [], shown: -1,
  init: null, // img2img's init image as a data: URL
  png: null, // the PNG info tab's image: {data, parameters}
  stroke: null, // the mask painter's stroke in progress: {id, x, y}
};

async function getJSON(url, opts) {
  const resp = await fetch(url, opts);
  const body = await resp.json().catch(() => null);
  if (!resp.ok) {
    const err = new Error((body && (body.detail || body.error)) || resp.statusText || `HTTP ${resp.status}`);
    err.fields = (body && body.fields) || [];
    throw err;
  }
  return body;
}

const postJSON = (url, data) => getJSON(url, {
  method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(data),
});

// fieldElement is the element that shows a request field (loc's last part,
// "init_images.0" included).
function fieldElement(name) {
  const base = String(name).split(".")[0];
  const ids = {
    init_images: "init-drop", mask: "init-drop", sd_vae: "opt-vae", CLIP_stop_at_last_layers: "opt-clip-skip",
    sd_model_checkpoint: state.tab === "settings" ? "opt-checkpoint" : "model",
  };
  return $(ids[base] || base);
}

// showErrorIn shows err in an error box (none hides it), marking and
// focusing the fields the server named.
function showErrorIn(box, err) {
  document.querySelectorAll(".invalid").forEach((el) => el.classList.remove("invalid"));
  if (!err) { box.hidden = true; return; }
  let msg = err.message || String(err);
  const fields = err.fields || [];
  fields.forEach((f, i) => {
    const el = fieldElement(f.loc[f.loc.length - 1]);
    if (el) { el.classList.add("invalid"); if (i === 0) el.focus(); }
  });
  if (fields.length) msg = fields.map((f) => (f.loc.slice(1).join(".") || "request") + ": " + f.msg).join("\n");
  box.textContent = msg;
  box.hidden = false;
}

const showError = (err) => showErrorIn($("error"), err);

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

function selectTab(name) {
  if (!TABS.includes(name)) name = "txt2img";
  state.tab = name;
  document.querySelectorAll("[role=tab]").forEach((b) => b.setAttribute("aria-selected", String(b.dataset.tab === name)));
  $("txt2img").hidden = name === "pnginfo" || name === "settings";
  $("pnginfo").hidden = name !== "pnginfo";
  $("settings").hidden = name !== "settings";
  $("img2img-fields").hidden = name !== "img2img";
  $("hires-fields").hidden = name !== "txt2img";
  if (location.hash !== "#" + name) history.replaceState(null, "", "#" + name);
}

function request() {
  const num = (id) => Number($(id).value);
  const r = {
    prompt: $("prompt").value, negative_prompt: $("negative_prompt").value,
    sampler_name: $("sampler_name").value, scheduler: $("scheduler").value,
    steps: num("steps"), width: num("width"), height: num("height"), cfg_scale: num("cfg_scale"),
    seed: num("seed"), n_iter: num("n_iter"), batch_size: num("batch_size"),
    override_settings: $("model").value ? { sd_model_checkpoint: $("model").value } : {},
  };
  if (state.tab === "txt2img" && $("enable_hr").checked) {
    r.enable_hr = true;
    r.hr_upscaler = $("hr_upscaler").value;
    r.hr_second_pass_steps = num("hr_second_pass_steps");
    r.denoising_strength = num("hr_denoising_strength");
    r.hr_scale = num("hr_scale");
  }
  if (state.tab === "img2img") {
    r.init_images = [state.init];
    r.denoising_strength = num("denoising_strength");
    r.resize_mode = num("resize_mode");
    if (maskPainted()) {
      r.mask = maskDataURL();
      r.mask_blur = num("mask_blur");
      r.inpainting_fill = num("inpainting_fill");
      r.inpaint_full_res = $("inpaint_full_res").checked;
      r.inpaint_full_res_padding = num("inpaint_full_res_padding");
      r.inpainting_mask_invert = $("inpainting_mask_invert").checked ? 1 : 0;
    }
  }
  return r;
}

function setBusy(busy) {
  $("generate").disabled = busy;
  $("cancel").disabled = !busy;
  $("progress").hidden = !busy;
}

async function generate(ev) {
  if (ev) ev.preventDefault();
  if (state.job || state.tab === "pnginfo" || state.tab === "settings") return;
  showError(null);
  if (state.tab === "img2img" && !state.init) {
    const err = new Error("img2img needs an init image");
    err.fields = [{ loc: ["body", "init_images"], msg: "drop or choose an image, or use “Send to img2img” on a result" }];
    showError(err);
    return;
  }
  setBusy(true);
  $("bar").value = 0;
  $("progress-text").textContent = "queued";
  try {
    const job = await postJSON("/api/v1/jobs", request());
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
  } else if (state.shown >= 0) {
    show(state.shown); // put back the last result over the preview
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
  $("image-actions").hidden = false;
  showErrorIn($("image-error"), null);
  [...$("gallery").children].forEach((c, k) => c.classList.toggle("selected", k === i));
}

async function cancel() {
  if (!state.job) return;
  try { await getJSON(`/api/v1/jobs/${state.job}`, { method: "DELETE" }); } catch (err) { showError(err); }
}

// readDataURL reads a file or blob as a data: URL.
function readDataURL(blob) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(r.result);
    r.onerror = () => reject(r.error || new Error("could not read the file"));
    r.readAsDataURL(blob);
  });
}

// imageFile checks that a dropped or chosen file is an image.
function imageFile(file) {
  if (!file) throw new Error("no file");
  if (!/^image\//.test(file.type)) throw new Error(`${file.name} is not an image (${file.type || "unknown type"})`);
  return file;
}

// dropZone makes el take a dropped image file (and open the chooser input
// when clicked or on Enter), calling onFile with it.
function dropZone(el, input, onFile) {
  const take = (file) => { if (file) onFile(file); };
  el.addEventListener("dragover", (e) => { e.preventDefault(); el.classList.add("over"); });
  el.addEventListener("dragleave", () => el.classList.remove("over"));
  el.addEventListener("drop", (e) => {
    e.preventDefault();
    el.classList.remove("over");
    take(e.dataTransfer.files[0]);
  });
  el.addEventListener("click", () => input.click());
  el.addEventListener("keydown", (e) => { if (e.key === "Enter" && !e.ctrlKey && !e.metaKey) input.click(); });
  input.addEventListener("change", () => { take(input.files[0]); input.value = ""; });
}

function setInit(data) {
  state.init = data;
  clearMask();
  $("init-image").src = data;
  $("paint").hidden = false;
  $("mask-tools").hidden = false;
  $("init-empty").hidden = true;
  $("init-drop").classList.remove("invalid");
}

// The mask painter: a canvas at the init image's size over it. Painted
// pixels are opaque white; the request's mask is white on black.

// sizeMask gives the canvas the init image's size (which clears it).
function sizeMask() {
  const c = $("mask-canvas"), img = $("init-image");
  c.width = img.naturalWidth;
  c.height = img.naturalHeight;
  updateMaskStatus();
}

function clearMask() {
  const c = $("mask-canvas");
  c.getContext("2d").clearRect(0, 0, c.width, c.height);
  updateMaskStatus();
}

// maskPainted reports whether any pixel of the mask is painted.
function maskPainted() {
  const c = $("mask-canvas");
  if (!state.init || !c.width || !c.height) return false;
  const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  for (let i = 3; i < px.length; i += 4) if (px[i]) return true;
  return false;
}

// maskDataURL is the mask as webui wants it: a PNG at the init image's
// size, white where painted, black elsewhere.
function maskDataURL() {
  const c = $("mask-canvas"), out = document.createElement("canvas");
  out.width = c.width;
  out.height = c.height;
  const ctx = out.getContext("2d");
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.drawImage(c, 0, 0);
  return out.toDataURL("image/png");
}

function updateMaskStatus() {
  const painted = maskPainted();
  $("mask-status").textContent = painted ? "(mask painted: only it is repainted)" : "(paint on the image to inpaint)";
  $("inpaint-options").classList.toggle("active", painted);
}

// maskPoint maps a pointer event to the canvas's pixels.
function maskPoint(e) {
  const c = $("mask-canvas"), r = c.getBoundingClientRect();
  return { x: (e.clientX - r.left) * c.width / r.width, y: (e.clientY - r.top) * c.height / r.height };
}

// paintTo paints (or erases) from the stroke's last point to p.
function paintTo(p) {
  const ctx = $("mask-canvas").getContext("2d"), size = Number($("brush-size").value);
  ctx.globalCompositeOperation = $("tool-eraser").checked ? "destination-out" : "source-over";
  ctx.fillStyle = ctx.strokeStyle = "#fff";
  ctx.lineWidth = size;
  ctx.lineCap = ctx.lineJoin = "round";
  const from = state.stroke;
  if (from.x === p.x && from.y === p.y) {
    ctx.beginPath();
    ctx.arc(p.x, p.y, size / 2, 0, 2 * Math.PI);
    ctx.fill();
  } else {
    ctx.beginPath();
    ctx.moveTo(from.x, from.y);
    ctx.lineTo(p.x, p.y);
    ctx.stroke();
  }
  state.stroke.x = p.x;
  state.stroke.y = p.y;
}

function initMaskPainter() {
  const c = $("mask-canvas");
  $("init-image").addEventListener("load", sizeMask);
  // Painting must not open the drop zone's file chooser.
  c.addEventListener("click", (e) => e.stopPropagation());
  c.addEventListener("pointerdown", (e) => {
    if (e.button !== 0) return;
    e.preventDefault();
    e.stopPropagation();
    try { c.setPointerCapture(e.pointerId); } catch (_) { /* synthetic pointer */ }
    const p = maskPoint(e);
    state.stroke = { id: e.pointerId, x: p.x, y: p.y };
    paintTo(p);
  });
  c.addEventListener("pointermove", (e) => {
    if (!state.stroke || state.stroke.id !== e.pointerId) return;
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
    (events.length ? events : [e]).forEach((ev) => paintTo(maskPoint(ev)));
  });
  const end = (e) => {
    if (!state.stroke || state.stroke.id !== e.pointerId) return;
    state.stroke = null;
    updateMaskStatus();
  };
  c.addEventListener("pointerup", end);
  c.addEventListener("pointercancel", end);
  $("brush-size").addEventListener("input", () => { $("brush-value").textContent = $("brush-size").value; });
  $("mask-clear").addEventListener("click", clearMask);
}

// The settings tab: checkpoint, VAE and clip skip, server-wide.
async function loadSettings() {
  const box = $("settings-error");
  try {
    const [models, vaes, options] = await Promise.all([
      getJSON("/sdapi/v1/sd-models"), getJSON("/sdapi/v1/sd-vae"), getJSON("/sdapi/v1/options"),
    ]);
    const ck = options.sd_model_checkpoint, vae = options.sd_vae || "Automatic";
    const models2 = models.map((m) => [m.title, m.title]);
    if (ck && !models2.some(([v]) => v === ck)) models2.unshift([ck, ck]);
    fillSelect($("opt-checkpoint"), models2, ck);
    const vaeNames = ["Automatic", "None", ...vaes.map((v) => v.model_name)];
    if (!vaeNames.includes(vae)) vaeNames.push(vae);
    fillSelect($("opt-vae"), vaeNames.map((v) => [v, v]), vae);
    $("opt-clip-skip").value = options.CLIP_stop_at_last_layers || 1;
    $("settings-status").textContent = `Now: ${ck || "no checkpoint"}, VAE ${vae}, clip skip ${$("opt-clip-skip").value}`;
    showErrorIn(box, null);
    return options;
  } catch (err) {
    showErrorIn(box, err);
    return null;
  }
}

async function applySettings(ev) {
  if (ev) ev.preventDefault();
  const box = $("settings-error");
  showErrorIn(box, null);
  $("settings-apply").disabled = true;
  $("settings-status").textContent = "Applying (loading the model)…";
  try {
    await postJSON("/sdapi/v1/options", {
      sd_model_checkpoint: $("opt-checkpoint").value, sd_vae: $("opt-vae").value,
      CLIP_stop_at_last_layers: Number($("opt-clip-skip").value),
    });
    const options = await loadSettings();
    if (options && [...$("model").options].some((o) => o.value === options.sd_model_checkpoint)) {
      $("model").value = options.sd_model_checkpoint;
    }
    if (options) $("settings-status").textContent = "Applied. " + $("settings-status").textContent;
  } catch (err) {
    $("settings-status").textContent = "";
    showErrorIn(box, err);
  } finally {
    $("settings-apply").disabled = false;
  }
}

function setDenoising(v) {
  $("denoising_strength").value = v;
  $("denoising-value").textContent = $("denoising_strength").value;
}

// applyParameters fills the form from png-info's parameters (webui's
// infotext keys); fields the infotext lacks keep their values.
function applyParameters(p) {
  $("prompt").value = p["Prompt"] || "";
  $("negative_prompt").value = p["Negative prompt"] || "";
  const set = (id, v) => { if (v !== undefined && v !== null && v !== "") $(id).value = v; };
  set("steps", p["Steps"]);
  set("cfg_scale", p["CFG scale"]);
  set("seed", p["Seed"]);
  set("width", p["Size-1"]);
  set("height", p["Size-2"]);
  const choose = (id, v) => {
    if ([...$(id).options].some((o) => o.value === v)) $(id).value = v;
  };
  choose("sampler_name", p["Sampler"]);
  choose("scheduler", p["Schedule type"]);
  if (p["Denoising strength"] !== undefined) setDenoising(p["Denoising strength"]);
  // Hires fix: png-info fills webui's defaults for the other Hires keys, so
  // only the fields written when it is on say it was used.
  $("enable_hr").checked = ["Hires upscale", "Hires steps", "Hires upscaler"].some((k) => p[k] !== undefined) ||
    Number(p["Hires resize-1"]) > 0;
  if ($("enable_hr").checked) {
    set("hr_scale", p["Hires upscale"]);
    set("hr_second_pass_steps", p["Hires steps"]);
    set("hr_denoising_strength", p["Denoising strength"]);
    choose("hr_upscaler", p["Hires upscaler"]);
  }
}

const pngInfo = (data) => postJSON("/sdapi/v1/png-info", { image: data });

// sendResult sends the shown image's parameters to a tab (and the image
// itself to img2img).
async function sendResult(tab) {
  const im = state.images[state.shown];
  if (!im) return;
  showErrorIn($("image-error"), null);
  try {
    const resp = await fetch(im.url);
    if (!resp.ok) throw new Error(`the server no longer has this image (${resp.status}): generate it again`);
    const data = await readDataURL(await resp.blob());
    applyParameters((await pngInfo(data)).parameters);
    if (tab === "img2img") setInit(data);
    selectTab(tab);
    $("prompt").focus();
  } catch (err) {
    showErrorIn($("image-error"), err);
  }
}

async function loadPNG(file) {
  const box = $("png-error");
  showErrorIn(box, null);
  state.png = null;
  $("png-to-txt2img").disabled = $("png-to-img2img").disabled = true;
  try {
    const data = await readDataURL(imageFile(file));
    $("png-image").src = data;
    $("png-image").hidden = false;
    $("png-empty").hidden = true;
    const info = await pngInfo(data);
    const other = Object.entries(info.items || {}).map(([k, v]) => `${k}: ${v}`).join("\n");
    $("png-text").textContent = info.info || other || "This image has no generation parameters.";
    $("png-text").hidden = false;
    state.png = { data, parameters: info.parameters };
    $("png-to-txt2img").disabled = !info.info;
    $("png-to-img2img").disabled = false;
  } catch (err) {
    showErrorIn(box, err);
  }
}

function sendPNG(tab) {
  if (!state.png) return;
  if (state.png.parameters && state.png.parameters["Prompt"] !== undefined) applyParameters(state.png.parameters);
  if (tab === "img2img") setInit(state.png.data);
  selectTab(tab);
  $("prompt").focus();
}

function init() {
  $("txt2img").addEventListener("submit", generate);
  $("cancel").addEventListener("click", cancel);
  $("dice").addEventListener("click", () => { $("seed").value = -1; });
  $("recycle").addEventListener("click", () => {
    if (state.shown >= 0) $("seed").value = state.images[state.shown].seed;
  });
  document.querySelectorAll("[role=tab]").forEach((b) => b.addEventListener("click", () => selectTab(b.dataset.tab)));
  $("denoising_strength").addEventListener("input", () => setDenoising($("denoising_strength").value));
  $("send-img2img").addEventListener("click", () => sendResult("img2img"));
  $("send-txt2img").addEventListener("click", () => sendResult("txt2img"));
  $("png-to-txt2img").addEventListener("click", () => sendPNG("txt2img"));
  $("png-to-img2img").addEventListener("click", () => sendPNG("img2img"));
  dropZone($("init-drop"), $("init-file"), (file) => {
    try { imageFile(file); } catch (err) { showError(err); return; }
    readDataURL(file).then(setInit).catch(showError);
  });
  dropZone($("png-drop"), $("png-file"), loadPNG);
  initMaskPainter();
  $("settings-form").addEventListener("submit", applySettings);
  $("settings-reload").addEventListener("click", loadSettings);
  $("tab-settings").addEventListener("click", loadSettings);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) generate(e);
    if (e.key === "Escape" && state.job) cancel();
  });
  selectTab(location.hash.slice(1));
  loadLists().catch(showError);
  if (state.tab === "settings") loadSettings();
}

init();
