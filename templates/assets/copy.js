// Progressive enhancement for /feeds: a copy button beside each feed URL.
// The page works without it: the URLs are in read-only fields.
document.querySelectorAll("[data-copy]").forEach(function (btn) {
  var label = btn.textContent;
  btn.hidden = false;
  btn.addEventListener("click", function () {
    var input = document.getElementById(btn.getAttribute("data-copy"));
    if (!input) return;
    var say = function (text) {
      btn.textContent = text;
      setTimeout(function () { btn.textContent = label; }, 2000);
    };
    var fallback = function () {
      input.focus();
      input.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) {}
      say(ok ? btn.getAttribute("data-done") || "Copied" : "Press Ctrl+C");
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(function () {
        say(btn.getAttribute("data-done") || "Copied");
      }, fallback);
    } else {
      fallback();
    }
  });
});
