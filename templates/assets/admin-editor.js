// Herald admin editor: live preview, a progressive enhancement. Without
// it the form's Preview button does the same on the server.
(function () {
  "use strict";
  var form = document.getElementById("article-form");
  var pane = document.getElementById("preview");
  if (!form || !pane || !window.fetch) { return; }
  var timer = null, seq = 0;
  function update() {
    var data = new URLSearchParams();
    new FormData(form).forEach(function (v, k) {
      if (typeof v === "string") { data.append(k, v); } // never the file
    });
    var mine = ++seq;
    fetch(form.getAttribute("action") + "/preview", {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (r) {
      if (!r.ok) { throw new Error("preview " + r.status); }
      return r.json();
    }).then(function (p) {
      if (mine !== seq) { return; } // a newer preview is on its way
      // p.html is the server's sanitised rendering, the feeds' own.
      pane.innerHTML = p.html;
      pane.setAttribute("data-updated", String(mine));
    }).catch(function () {
      pane.setAttribute("data-failed", "true");
    });
  }
  form.addEventListener("input", function (ev) {
    if (ev.target && ev.target.type === "file") { return; }
    clearTimeout(timer);
    timer = setTimeout(update, 400);
  });
  if (document.getElementById("body").value) { update(); }
})();
