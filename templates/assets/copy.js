// Progressive enhancement for /feeds: a copy button beside each feed URL.
// The page works without it: the URLs are in read-only fields.
document.querySelectorAll("[data-copy]").forEach(function (btn) {
  btn.hidden = false;
  btn.addEventListener("click", function () {
    var input = document.getElementById(btn.getAttribute("data-copy"));
    if (!input) return;
    var done = function () {
      var old = btn.textContent;
      btn.textContent = btn.getAttribute("data-done") || "Copied";
      setTimeout(function () { btn.textContent = old; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () { input.select(); });
    } else {
      input.select();
      try { document.execCommand("copy"); done(); } catch (e) {}
    }
  });
});
