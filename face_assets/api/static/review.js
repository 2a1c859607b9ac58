// The "Is this X?" queue: one question at a time, answered with y / n / s.
// Served by the app itself (no CDN); every answer is a POST to the REST API carrying the
// session's CSRF token, and every string from the server is set as text, never as HTML.
"use strict";
(function () {
  const box = document.getElementById("question");
  if (!box) return;
  const csrf = document.querySelector("meta[name=csrf-token]").content;
  const statusLine = document.getElementById("status");
  let items = [];
  let index = 0;
  let busy = false;
  const skipped = new Set();

  function key(q) { return q.kind === "face" ? "f" + q.faceId : "c" + q.clusterId; }

  function thumbs(ids) {
    const div = document.createElement("div");
    div.className = "thumbs";
    for (const id of ids) {
      const img = document.createElement("img");
      img.src = "/thumb/" + Number(id);
      img.alt = "face " + Number(id);
      div.appendChild(img);
    }
    return div;
  }

  function show() {
    box.replaceChildren();
    box.dataset.key = "";
    const q = items[index];
    if (!q) {
      const p = document.createElement("p");
      p.textContent = "No more questions.";
      box.appendChild(p);
      box.dataset.state = "empty";
      return;
    }
    box.dataset.state = "question";
    box.dataset.key = key(q);
    const h = document.createElement("h2");
    h.className = "prompt";
    h.textContent = (q.kind === "face" ? "Is this " : "Is this cluster ") + q.personName + "?";
    const row = document.createElement("div");
    row.className = "row";
    const left = document.createElement("div");
    const leftTitle = document.createElement("p");
    leftTitle.textContent = q.kind === "face" ? "This face" : "Cluster of " + q.clusterSize + " faces";
    left.append(leftTitle, thumbs(q.kind === "face" ? [q.faceId] : q.sampleFaceIds));
    const right = document.createElement("div");
    const rightTitle = document.createElement("p");
    rightTitle.textContent = q.personName;
    right.append(rightTitle, thumbs(q.personFaceIds));
    row.append(left, right);
    const meta = document.createElement("p");
    meta.className = "meta";
    meta.textContent = "similarity " + q.similarity.toFixed(3) + (q.assigned ? " (assigned automatically)" : "");
    box.append(h, row, meta);
  }

  async function load() {
    const response = await fetch("/api/v1/faces/review/queue?limit=50", { credentials: "same-origin" });
    if (!response.ok) { statusLine.textContent = "Could not load the queue (" + response.status + ")"; return; }
    const body = await response.json();
    items = body.items.filter((q) => !skipped.has(key(q)));
    index = 0;
    show();
  }

  async function answer(kind) {
    const q = items[index];
    if (!q || busy) return;
    if (kind === "skip") { skipped.add(key(q)); index += 1; statusLine.textContent = "Skipped."; show(); return; }
    busy = true;
    const payload = { answer: kind, personId: q.personId };
    if (q.kind === "face") payload.faceId = q.faceId; else payload.clusterId = q.clusterId;
    try {
      const response = await fetch("/api/v1/faces/review/answer", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(payload),
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) { statusLine.textContent = "Not done: " + (body.detail || response.status); index += 1; show(); return; }
      statusLine.textContent = "Done: " + body.operation + " (" + body.faces + " faces)";
      statusLine.dataset.answered = String(Number(statusLine.dataset.answered || 0) + 1);
      await load();  // the answer may have settled other questions (a cluster, a merge)
    } finally {
      busy = false;
    }
  }

  document.getElementById("yes").addEventListener("click", () => answer("yes"));
  document.getElementById("no").addEventListener("click", () => answer("no"));
  document.getElementById("skip").addEventListener("click", () => answer("skip"));
  document.addEventListener("keydown", (event) => {
    if (event.target instanceof HTMLInputElement || event.ctrlKey || event.metaKey || event.altKey) return;
    const map = { y: "yes", n: "no", s: "skip" };
    const kind = map[event.key.toLowerCase()];
    if (kind) { event.preventDefault(); answer(kind); }
  });
  load();
})();
