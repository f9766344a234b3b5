// ivrbox owner's page: small progressive enhancements. Every page works without this
// file; the CSP forbids inline scripts, so all behaviour lives here.
"use strict";
(function () {
  const csrf = document.body.dataset.csrf || "";

  // First run: preselect the browser's time zone, if the list has it.
  const zone = document.querySelector("[data-browser-zone]");
  if (zone && Intl && Intl.DateTimeFormat) {
    const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (tz && !zone.dataset.touched && [...zone.options].some(o => o.value === tz)) {
      if (zone.value === "" || zone.selectedIndex <= 0) zone.value = tz;
    }
  }

  // Buttons that ask first (delete, roll back, restore).
  document.addEventListener("submit", ev => {
    const btn = ev.submitter;
    const ask = (btn && btn.dataset.confirm) || ev.target.dataset.confirm;
    if (ask && !window.confirm(ask)) ev.preventDefault();
  });

  // Dashboard: refresh the line states every few seconds (a card per line when several).
  const cards = document.querySelectorAll("[data-refresh-status]");
  if (cards.length) {
    setInterval(async () => {
      try {
        const r = await fetch("/api/status", { headers: { Accept: "application/json" } });
        if (!r.ok) return;
        const s = await r.json();
        cards.forEach(card => {
          const mine = (s.lines || []).find(l => l.name === card.dataset.line) || s.line;
          card.className = card.className.replace(/state-\S+/, "state-" + mine.state);
        });
      } catch (e) { /* offline for a moment: keep the last state */ }
    }, 5000);
  }

  // Voicemail: playing a new message marks it heard (the button still works without JS).
  document.querySelectorAll("audio[data-mark-heard]").forEach(a => {
    a.addEventListener("play", () => {
      const url = a.dataset.markHeard;
      if (!url) return;
      delete a.dataset.markHeard;
      fetch(url, { method: "POST", headers: { "X-CSRF-Token": csrf, Accept: "application/json" } })
        .then(r => { if (r.ok) { const m = a.closest(".msg"); if (m) m.classList.remove("new"); } })
        .catch(() => {});
    }, { once: true });
  });

  // Greetings: record in the browser (MediaRecorder), upload, go to the preview page.
  document.querySelectorAll("[data-record]").forEach(box => {
    if (!navigator.mediaDevices || !window.MediaRecorder) return;
    box.hidden = false;
    const start = box.querySelector("[data-rec-start]");
    const stop = box.querySelector("[data-rec-stop]");
    const status = box.querySelector("[data-rec-status]");
    let recorder = null, chunks = [];
    start.addEventListener("click", async () => {
      try {
        const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
        recorder = new MediaRecorder(stream);
        chunks = [];
        recorder.ondataavailable = e => chunks.push(e.data);
        recorder.onstop = async () => {
          stream.getTracks().forEach(tr => tr.stop());
          const blob = new Blob(chunks, { type: recorder.mimeType || "audio/webm" });
          const form = new FormData();
          form.append("file", blob, "recording." + (blob.type.includes("ogg") ? "ogg" : "webm"));
          status.textContent = "…";
          const r = await fetch(box.dataset.record, { method: "POST", body: form,
            headers: { "X-CSRF-Token": csrf, Accept: "application/json" } });
          const j = await r.json();
          if (r.ok) window.location = j.preview_url; else status.textContent = j.error;
        };
        recorder.start();
        start.hidden = true; stop.hidden = false; status.textContent = "";
      } catch (e) { status.textContent = String(e.message || e); }
    });
    stop.addEventListener("click", () => {
      if (recorder) recorder.stop();
      stop.hidden = true; start.hidden = false;
    });
  });

  // Menus: the diagram follows the step's form. The form is applied to a copy of the
  // draft on the server (nothing saved) and the new SVG and field problems come back.
  const centre = box => {
    const id = box.dataset.selected || box.dataset.focus;  // the step edited, else the entry
    const a = id && box.querySelector(`a[data-node="${CSS.escape(id)}"]`);
    if (!a) return;
    const r = a.getBoundingClientRect(), b = box.getBoundingClientRect();
    box.scrollLeft += (r.left + r.width / 2) - (b.left + b.width / 2);
  };
  document.querySelectorAll("[data-diagram][data-selected], [data-diagram][data-focus]").forEach(centre);
  document.querySelectorAll("form[data-live-diagram]").forEach(form => {
    const box = document.querySelector("[data-diagram]");
    let timer = null, seq = 0;
    const update = async () => {
      const mine = ++seq;
      try {
        const r = await fetch(form.dataset.liveDiagram, { method: "POST", body: new FormData(form),
          headers: { "X-CSRF-Token": csrf, Accept: "application/json" } });
        if (!r.ok || mine !== seq) return;
        const j = await r.json();
        if (box) { box.innerHTML = j.svg; centre(box); }
        form.querySelectorAll("[data-err]").forEach(el => {
          el.textContent = (j.fields[el.dataset.err] || []).join(" ");
        });
        form.dataset.previewed = String(mine);
      } catch (e) { /* offline for a moment: the saved form still works */ }
    };
    const later = () => { clearTimeout(timer); timer = setTimeout(update, 250); };
    form.addEventListener("input", later);
    form.addEventListener("change", later);
  });

  window.ivrbox = { csrf };
})();
