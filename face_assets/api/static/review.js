// The review page's script, served by the app itself (no CDN): name suggestions while typing,
// face boxes on a photo and a box drawn by hand (mouse or finger), and the "Is this X?" queue
// answered with buttons or y / n / s / u. Every write is a POST carrying the session's CSRF
// token; every string from the server is set as text, never as HTML.
"use strict";
(function () {
  const csrf = document.querySelector("meta[name=csrf-token]").content;

  // --- names suggested while typing one -----------------------------------------------------
  const names = document.getElementById("person-names");
  let timer = null;
  for (const input of document.querySelectorAll("input[data-names]")) {
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const multi = input.hasAttribute("data-multi");
        const parts = input.value.split(",");
        const typed = (multi ? parts[parts.length - 1] : input.value).trim();
        if (!typed || !names) return;
        const response = await fetch("/review/names?q=" + encodeURIComponent(typed), { credentials: "same-origin" });
        if (!response.ok) return;
        const found = await response.json();
        const prefix = multi && parts.length > 1 ? parts.slice(0, -1).join(",") + ", " : "";
        names.replaceChildren(...found.map((n) => { const o = document.createElement("option"); o.value = prefix + n; return o; }));
      }, 150);
    });
  }

  // --- a photo: its faces boxed, and a face drawn by hand -----------------------------------
  const photo = document.getElementById("photo");
  if (photo) {
    const width = Number(photo.dataset.width), height = Number(photo.dataset.height);
    const place = (el, x, y, w, h) => {
      el.style.left = (100 * x / width) + "%";
      el.style.top = (100 * y / height) + "%";
      el.style.width = (100 * w / width) + "%";
      el.style.height = (100 * h / height) + "%";
    };
    for (const box of photo.querySelectorAll(".box[data-x]")) {
      place(box, Number(box.dataset.x), Number(box.dataset.y), Number(box.dataset.w), Number(box.dataset.h));
    }
    const img = photo.querySelector("img");
    const draft = document.getElementById("drawn");
    const form = document.getElementById("draw-form");
    let start = null;
    const point = (event) => {
      const r = img.getBoundingClientRect();
      const x = Math.min(Math.max(event.clientX - r.left, 0), r.width) * width / r.width;
      const y = Math.min(Math.max(event.clientY - r.top, 0), r.height) * height / r.height;
      return [x, y];
    };
    const current = (event) => {
      const [x, y] = point(event);
      return [Math.min(start[0], x), Math.min(start[1], y), Math.abs(x - start[0]), Math.abs(y - start[1])];
    };
    photo.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      event.preventDefault();
      start = point(event);
      photo.setPointerCapture(event.pointerId);
      draft.hidden = false;
      place(draft, start[0], start[1], 0, 0);
    });
    photo.addEventListener("pointermove", (event) => {
      if (!start) return;
      place(draft, ...current(event));
    });
    photo.addEventListener("pointerup", (event) => {
      if (!start) return;
      const [x, y, w, h] = current(event);
      start = null;
      if (w < 8 || h < 8) { draft.hidden = true; return; }
      place(draft, x, y, w, h);
      for (const [key, value] of Object.entries({ x, y, w, h })) form.elements[key].value = value.toFixed(1);
      form.hidden = false;
      form.elements.name.focus();
    });
  }

  // --- the "Is this X?" queue -----------------------------------------------------------------
  const box = document.getElementById("question");
  if (!box) return;
  const statusLine = document.getElementById("status");
  const left = document.getElementById("left");
  const undoButton = document.getElementById("undo");
  const QUEUE_SIZE = 50;
  let items = [];
  let index = 0;
  let busy = false;
  let last = null;  // the last answer that can be undone
  const skipped = new Set();

  function key(q) {
    if (q.kind === "face") return "f" + q.faceId;
    if (q.kind === "persons") return "p" + q.personId + "_" + q.otherPersonId;
    if (q.kind === "track") return "t" + q.trackId;
    return "c" + q.clusterId;
  }

  function thumbs(ids, linked) {
    const div = document.createElement("div");
    div.className = "thumbs";
    for (const id of ids) {
      const img = document.createElement("img");
      img.src = "/thumb/" + Number(id);
      img.alt = "face " + Number(id);
      if (linked) {
        const a = document.createElement("a");
        a.href = "/review/faces/" + Number(id) + "/photo";
        a.title = "see the whole photo";
        a.appendChild(img);
        div.appendChild(a);
      } else div.appendChild(img);
    }
    return div;
  }

  function column(title, ids, linked) {
    const div = document.createElement("div");
    const p = document.createElement("p");
    p.textContent = title;
    div.append(p, thumbs(ids, linked));
    return div;
  }

  function trackColumn(q) {
    // A whole video track, shown once by its best frame, with the clip and the time in it.
    const div = document.createElement("div");
    const p = document.createElement("p");
    p.textContent = "This video track (" + q.trackFaces + " frames, named as a whole)";
    const img = document.createElement("img");
    img.src = "/thumb/track/" + Number(q.trackId);
    img.alt = "video track " + Number(q.trackId);
    const caption = document.createElement("p");
    caption.className = "meta when";
    caption.textContent = q.caption || "";
    const thumbs = document.createElement("div");
    thumbs.className = "thumbs";
    thumbs.appendChild(img);
    div.append(p, thumbs, caption);
    return div;
  }

  function show() {
    box.replaceChildren();
    box.dataset.key = "";
    const remaining = items.length - index;
    const many = items.length >= QUEUE_SIZE && index === 0;
    left.textContent = remaining > 0 ? (many ? QUEUE_SIZE + "+" : remaining) + (many || remaining > 1 ? " questions left" : " question left") : "";
    const q = items[index];
    for (const id of ["yes", "no", "skip"]) document.getElementById(id).disabled = !q;
    if (!q) {
      const p = document.createElement("p");
      p.textContent = "No more questions. New ones come when faces are named or a run finds new faces.";
      box.appendChild(p);
      box.dataset.state = "empty";
      return;
    }
    box.dataset.state = "question";
    box.dataset.key = key(q);
    const h = document.createElement("h2");
    h.className = "prompt";
    const row = document.createElement("div");
    row.className = "row";
    if (q.kind === "persons") {
      h.textContent = "Are " + q.personName + " and " + q.otherPersonName + " the same person?";
      row.append(column(q.personName, q.personFaceIds, true), column(q.otherPersonName, q.otherFaceIds, true));
    } else if (q.kind === "track") {
      h.textContent = "Is this " + q.personName + "?";
      row.append(trackColumn(q), column(q.personName, q.personFaceIds, true));
    } else if (q.kind === "face") {
      h.textContent = "Is this " + q.personName + "?";
      row.append(column("This face (open it for the whole photo)", [q.faceId], true), column(q.personName, q.personFaceIds, true));
    } else {
      h.textContent = "Is this cluster " + q.personName + "?";
      row.append(column("Cluster of " + q.clusterSize + " faces", q.sampleFaceIds, true), column(q.personName, q.personFaceIds, true));
    }
    const meta = document.createElement("p");
    meta.className = "meta";
    meta.textContent = "similarity " + q.similarity.toFixed(2) + (q.assigned ? " (assigned automatically now)" : "");
    box.append(h, row, meta);
  }

  async function load() {
    const response = await fetch("/api/v1/faces/review/queue?limit=" + QUEUE_SIZE, { credentials: "same-origin" });
    if (!response.ok) { statusLine.textContent = "Could not load the questions (" + response.status + ")"; return; }
    const body = await response.json();
    items = body.items.filter((q) => !skipped.has(key(q)));
    index = 0;
    show();
  }

  function said(q, kind) {
    if (q.kind === "persons") return kind === "yes" ? "Merged " + q.otherPersonName + " and " + q.personName + "." : "Kept " + q.personName + " and " + q.otherPersonName + " apart; not asked again.";
    if (q.kind === "cluster") return kind === "yes" ? "Named the cluster " + q.personName + "." : "The cluster is not " + q.personName + "; not asked again.";
    if (q.kind === "track") return kind === "yes" ? "Named the whole video track " + q.personName + "." : "The video track is not " + q.personName + "; not asked again.";
    return kind === "yes" ? "Named the face " + q.personName + "." : "The face is not " + q.personName + "; not asked again.";
  }

  async function post(url, payload) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(payload),
    });
    return [response, await response.json().catch(() => ({}))];
  }

  function payloadOf(q, kind) {
    const payload = { answer: kind, personId: q.personId };
    if (q.kind === "face") payload.faceId = q.faceId;
    else if (q.kind === "persons") payload.otherPersonId = q.otherPersonId;
    else if (q.kind === "track") payload.trackId = q.trackId;
    else payload.clusterId = q.clusterId;
    return payload;
  }

  async function answer(kind) {
    const q = items[index];
    if (busy) return;
    if (kind === "undo") return undo();
    if (!q) return;
    if (kind === "skip") { skipped.add(key(q)); index += 1; statusLine.textContent = "Skipped."; show(); return; }
    busy = true;
    try {
      const payload = payloadOf(q, kind);
      const [response, body] = await post("/api/v1/faces/review/answer", payload);
      if (!response.ok) { statusLine.textContent = "Not done: " + (body.detail || response.status); index += 1; show(); return; }
      statusLine.textContent = said(q, kind);
      const undoable = q.kind === "face" || q.kind === "track" || (q.kind === "persons" && kind === "no");
      last = undoable ? payload : null;
      undoButton.hidden = !undoable;
      await load();  // the answer may have settled other questions (a cluster, a merge)
      // Counted once the page takes the next key: while load() runs, a key is dropped (busy).
      statusLine.dataset.answered = String(Number(statusLine.dataset.answered || 0) + 1);
    } finally {
      busy = false;
    }
  }

  async function undo() {
    if (!last) return;
    busy = true;
    try {
      const [response, body] = await post("/api/v1/faces/review/undo", last);
      statusLine.textContent = response.ok ? (body.undone ? "Undone." : "Nothing left to undo.") : "Not undone: " + (body.detail || response.status);
      last = null;
      undoButton.hidden = true;
      await load();
    } finally {
      busy = false;
    }
  }

  document.getElementById("yes").addEventListener("click", () => answer("yes"));
  document.getElementById("no").addEventListener("click", () => answer("no"));
  document.getElementById("skip").addEventListener("click", () => answer("skip"));
  undoButton.addEventListener("click", () => answer("undo"));
  document.addEventListener("keydown", (event) => {
    if (event.target instanceof HTMLInputElement || event.ctrlKey || event.metaKey || event.altKey) return;
    const map = { y: "yes", n: "no", s: "skip", u: "undo" };
    const kind = map[event.key.toLowerCase()];
    if (kind) { event.preventDefault(); answer(kind); }
  });
  load();
})();
