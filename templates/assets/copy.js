// Progressive enhancement for /feeds and /embed: a copy button beside
// each feed URL or snippet. The page works without it: the text is in
// read-only fields. The button's words come from the page (data-done,
// data-manual), in the reader's language.
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
      say(ok ? btn.getAttribute("data-done") || "Copied" : btn.getAttribute("data-manual") || "Press Ctrl+C");
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
