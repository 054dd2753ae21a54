// The upload page: many photos, one job each (POST v1/jobs), progress from the event stream
// (GET v1/events), then the original with the regions found drawn over it, the result, and a
// download button. What the browser cannot show (JPEG 2000, TIFF) is shown through
// GET v1/jobs/{id}/preview (PNG).
"use strict";

const $ = (selector, root = document) => root.querySelector(selector);
const COLOURS = { face: "#ff00ff", license_plate: "#00e5ff" };
const OTHER_COLOUR = "#ff8c00";
const UPLOADS_AT_ONCE = 3;
const PROGRESS = { queued: 50, running: 75, succeeded: 100, failed: 100 };

const form = $("#upload"), picker = $("#files"), zone = $("#drop"), button = $("#submit");
let chosen = [], running = false;

function apiHeaders() {
  const key = $("#api_key").value.trim();
  return key ? { "X-API-Key": key } : {};
}

async function problem(reply) {
  const body = await reply.json().catch(() => ({ error: reply.status, detail: reply.statusText }));
  return new Error(`${reply.status} ${body.error}: ${body.detail}`);
}

async function api(path, asBlob = false) {
  const reply = await fetch(path, { headers: apiHeaders() });
  if (!reply.ok) throw await problem(reply);
  return asBlob ? reply.blob() : reply.json();
}

function choose(files) {
  chosen = [...files];
  $("#chosen").textContent = chosen.length ? chosen.map((file) => file.name).join(", ") : "No photo chosen";
  button.disabled = running || !chosen.length;
}

function requestFields() {
  const options = { blur_kind: $("#blur_kind").value };
  const classes = $("#blur_classes").value.trim();
  if (classes) options.blur_classes = classes;
  const fields = { priority: $("#priority").value, options: JSON.stringify(options) };
  if ($("#format").value) fields.format = $("#format").value;
  return fields;
}

// One row per file: its upload, its job's states, then what the job found.
class Row {
  constructor(file) {
    this.file = file;
    this.node = $("#job-row").content.firstElementChild.cloneNode(true);
    $(".name", this.node).textContent = file.name;
    $("#jobs").prepend(this.node);
    this.jobId = null;
    this.finished = false;
    this.shown = null;
  }

  say(state, text, progress) {
    this.node.dataset.state = state;
    $(".status", this.node).textContent = text;
    if (progress !== undefined) $("progress", this.node).value = progress;
  }

  upload(fields) {
    return new Promise((resolve) => {
      const body = new FormData();
      body.set("file", this.file);
      for (const [name, value] of Object.entries(fields)) body.set(name, value);
      const request = new XMLHttpRequest();
      request.open("POST", "v1/jobs");
      for (const [name, value] of Object.entries(apiHeaders())) request.setRequestHeader(name, value);
      request.responseType = "json";
      request.upload.onprogress = (event) => {
        const share = event.lengthComputable ? event.loaded / event.total : 0;
        this.say("uploading", `uploading ${Math.round(100 * share)} %`, 40 * share);
      };
      request.onload = () => {
        const reply = request.response || {};
        if (request.status === 202) {
          this.jobId = reply.job_id;
          this.node.dataset.jobId = reply.job_id;
          this.say("queued", "queued", PROGRESS.queued);
        } else {
          this.fail(`${request.status} ${reply.error}: ${reply.detail}`);
        }
        resolve();
      };
      request.onerror = () => { this.fail("the upload did not reach the gateway"); resolve(); };
      this.say("uploading", "uploading", 0);
      request.send(body);
    });
  }

  fail(text) {
    this.finished = true;
    this.say("failed", `failed: ${text}`, PROGRESS.failed);
  }

  // An event {job_id, status, error?} or a job record; a finished job is shown once.
  update(event) {
    if (this.finished) return;
    if (event.status === "failed" || event.status === "deleted") {
      this.fail(event.error ? `${event.error.error}: ${event.error.detail}` : event.status);
    } else if (event.status === "succeeded") {
      this.finished = true;
      this.say("loading", "done, loading the images", 90);
      this.shown = this.show().catch((error) => this.fail(error.message));
    } else {
      this.say(event.status, event.status, PROGRESS[event.status]);
    }
  }

  async show() {
    const job = await api(`v1/jobs/${this.jobId}`);
    const metadata = job.metadata || {};
    const result = await api(`v1/jobs/${this.jobId}/result`, true);
    await Promise.all([this.showImage(".result", result, "result"), this.showOriginal(metadata)]);
    const link = $(".download", this.node);
    link.href = URL.createObjectURL(result);
    link.download = downloadName(this.file.name, job.result.key);
    link.hidden = false;
    $(".metadata", this.node).textContent = JSON.stringify(metadata, null, 2);
    const found = regions(metadata);
    const count = (source) => found.filter((region) => region.source === source).length;
    this.say("succeeded", `done in ${Math.round(job.processing_ms || 0)} ms: ${count("face")} face(s), `
      + `${count("license_plate")} plate(s), ${(metadata.blurred || []).length} region(s) blurred, `
      + `${metadata.uncertain || 0} uncertain`, PROGRESS.succeeded);
  }

  // The image itself when the browser can decode it, else the server's PNG preview of it.
  async showImage(selector, blob, of) {
    const img = $(selector, this.node);
    if (!await load(img, blob).then(() => true, () => false)) {
      await load(img, await api(`v1/jobs/${this.jobId}/preview?of=${of}`, true));
    }
  }

  // The regions found are drawn over the original (its preview may be missing: an original is
  // not kept with GATEWAY_KEEP_ORIGINALS_S=0).
  async showOriginal(metadata) {
    try {
      await this.showImage(".original", this.file, "original");
      drawBoxes($(".original", this.node).parentElement, metadata);
    } catch (error) {
      $(".original-caption", this.node).textContent = `Original not shown: ${error.message}`;
    }
  }
}

function load(img, blob) {
  return new Promise((resolve, reject) => {
    img.onload = resolve;
    img.onerror = () => reject(new Error(`the browser cannot show ${blob.type || "this image"}`));
    img.src = URL.createObjectURL(blob);
  });
}

// The original file's name with the result's extension (the stored result's key ends with it).
function downloadName(original, resultKey) {
  const stem = original.includes(".") ? original.slice(0, original.lastIndexOf(".")) : original;
  return `${stem || "photo"}.${resultKey.split(".").pop()}`;
}

// What the detectors found: faces, detections (plates, classes) and what verify found on a second look.
function regions(metadata) {
  return [
    ...(metadata.faces || []).map((face) => ({ ...face, source: "face" })),
    ...(metadata.detections || []).map((found) => ({ ...found, source: found.class_name })),
    ...(metadata.blurred || []).filter((region) => region.residual)
      .map((region) => ({ ...region, box: region.detected_box || region.box, residual: true })),
  ];
}

function drawBoxes(frame, metadata) {
  const width = metadata.width, height = metadata.height;
  for (const region of regions(metadata)) {
    const [x1, y1, x2, y2] = region.box;
    const box = document.createElement("div");
    box.className = region.uncertain ? "box uncertain" : "box";
    box.dataset.source = region.source;
    box.style.setProperty("--colour", colour(region.source));
    Object.assign(box.style, {
      left: `${100 * x1 / width}%`, top: `${100 * y1 / height}%`,
      width: `${100 * (x2 - x1) / width}%`, height: `${100 * (y2 - y1) / height}%`,
    });
    const label = document.createElement("span");
    const score = region.score === undefined ? "" : ` ${region.score.toFixed(2)}`;
    label.textContent = `${region.source}${score}${region.uncertain ? " uncertain" : ""}${region.residual ? " residual" : ""}`;
    box.append(label);
    box.hidden = !toggle(region.source).checked;
    frame.append(box);
  }
}

function colour(source) {
  return COLOURS[source] || OTHER_COLOUR;
}

// The checkbox showing or hiding every box of one source, made when the source is first seen.
function toggle(source) {
  const existing = $(`#toggles input[value="${CSS.escape(source)}"]`);
  if (existing) return existing;
  const label = document.createElement("label");
  const input = Object.assign(document.createElement("input"), { type: "checkbox", value: source, checked: true });
  const swatch = document.createElement("span");
  swatch.className = "swatch";
  swatch.style.setProperty("--colour", colour(source));
  label.append(input, swatch, source);
  $("#toggles").append(label);
  input.addEventListener("change", () => {
    for (const box of document.querySelectorAll(`.box[data-source="${CSS.escape(source)}"]`)) box.hidden = !input.checked;
  });
  return input;
}

// Server-sent events from a fetch body (EventSource cannot send the X-API-Key header).
async function* serverSentEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replaceAll("\r\n", "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const data = [];
      for (const line of block.split("\n")) {
        const colon = line.indexOf(":");
        if (colon === 0) continue;  // a comment
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") name = text;
        else if (field === "data") data.push(text);
      }
      if (data.length) yield { event: name, data: data.join("\n") };
    }
  }
}

// Every row's job followed on one stream; whatever is unfinished when it ends is long-polled.
async function follow(rows) {
  const byId = new Map(rows.map((row) => [row.jobId, row]));
  const unfinished = () => rows.filter((row) => !row.finished);
  const stream = new AbortController();
  try {
    const reply = await fetch(`v1/events?job_id=${[...byId.keys()].join(",")}`, { headers: apiHeaders(), signal: stream.signal });
    if (!reply.ok) throw await problem(reply);
    for await (const event of serverSentEvents(reply.body)) {
      if (event.event !== "job") continue;
      const change = JSON.parse(event.data);
      if (byId.has(change.job_id)) byId.get(change.job_id).update(change);
      if (!unfinished().length) break;
    }
  } catch (error) {
    console.warn("event stream ended:", error.message);
  } finally {
    stream.abort();
  }
  for (const row of unfinished()) {
    while (!row.finished) row.update(await api(`v1/jobs/${row.jobId}?wait=30`).catch((error) => ({ status: "failed", error: { error: "lost", detail: error.message } })));
  }
}

async function run(files, fields) {
  running = true;
  button.disabled = true;
  try {
    const rows = files.map((file) => new Row(file));
    const waiting = [...rows];
    const uploader = async () => { while (waiting.length) await waiting.shift().upload(fields); };
    await Promise.all(Array.from({ length: UPLOADS_AT_ONCE }, uploader));
    const accepted = rows.filter((row) => row.jobId);
    if (accepted.length) await follow(accepted);
    await Promise.all(rows.map((row) => row.shown));
  } finally {
    running = false;
    button.disabled = !chosen.length;
  }
}

picker.addEventListener("change", () => choose(picker.files));
for (const name of ["dragenter", "dragover"]) {
  zone.addEventListener(name, (event) => { event.preventDefault(); zone.classList.add("over"); });
}
zone.addEventListener("dragleave", () => zone.classList.remove("over"));
zone.addEventListener("drop", (event) => {
  event.preventDefault();
  zone.classList.remove("over");
  choose(event.dataTransfer.files);
});
form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (!running && chosen.length) run(chosen, requestFields());
});
toggle("face");
toggle("license_plate");
