// Herald admin: the run page's status and counts follow the run while it
// sends, by polling /admin/runs/{id}/progress once a second. Without
// JavaScript a reload shows the same numbers.
(function () {
  "use strict";
  var box = document.getElementById("run-progress");
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute("data-progress");
  var bar = document.getElementById("run-bar");
  function set(name, value) {
    var el = box.querySelector('[data-field="' + name + '"]');
    if (el && el.textContent !== String(value)) { el.textContent = String(value); }
  }
  function show(p) {
    ["status", "settled", "recipients", "pending", "sending", "sent", "failed", "skipped", "bounced"].forEach(function (k) { set(k, p[k]); });
    bar.max = Math.max(p.recipients, 1);
    bar.value = p.settled;
    bar.textContent = p.settled + " of " + p.recipients;
    box.querySelectorAll("[data-when]").forEach(function (li) {
      li.hidden = li.getAttribute("data-when").split(" ").indexOf(p.status) < 0;
    });
  }
  var quiet = 0;
  function tick() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (p) {
        show(p);
        // A paused run may be resumed elsewhere: keep asking, less often.
        quiet = p.live ? 0 : quiet + 1;
        if (p.status === "paused" || quiet < 3) { setTimeout(tick, p.live ? 1000 : 3000); }
      })
      .catch(function () { setTimeout(tick, 5000); });
  }
  setTimeout(tick, 1000);
})();
