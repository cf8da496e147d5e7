// The /embed builder: a live preview and fresh snippets as options change.
// Without it the form still works (GET /embed?… renders both). The
// snippets come from the server (one source of truth): this fetches the
// page for the new options and copies its snippet fields.
(function () {
  "use strict";
  var form = document.getElementById("embed-form");
  var preview = document.getElementById("preview");
  var frame = document.getElementById("frame-preview");
  if (!form || !preview || !window.fetch || !window.DOMParser) return;
  var timer = 0, seq = 0;

  function update() {
    var fd = new FormData(form);
    var q = new URLSearchParams(fd).toString();
    history.replaceState(null, "", "?" + q);
    // The preview is the real widget: a new element, which it renders.
    var w = document.createElement("div");
    w.setAttribute("data-herald-feed", "");
    w.dataset.tags = fd.getAll("tags").join(",");
    ["limit", "layout", "theme", "lang", "images", "summaries", "subscribe"].forEach(function (k) {
      var v = fd.get(k);
      if (v !== null) w.dataset[k] = v;
    });
    preview.replaceChildren(w);
    var n = ++seq;
    fetch("/embed?" + q, { headers: { Accept: "text/html" } }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.text();
    }).then(function (html) {
      if (n !== seq) return;
      var doc = new DOMParser().parseFromString(html, "text/html");
      ["snippet-script", "snippet-iframe", "snippet-form"].forEach(function (id) {
        var from = doc.getElementById(id), to = document.getElementById(id);
        if (from && to) to.value = from.value;
      });
      var f = doc.getElementById("frame-preview");
      if (f && frame && frame.getAttribute("src") !== f.getAttribute("src")) frame.setAttribute("src", f.getAttribute("src"));
      form.setAttribute("data-updated", String(n));
    }).catch(function (err) {
      console.warn("embed builder: " + err.message);
    });
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(update, 150);
  }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    update();
  });
})();
