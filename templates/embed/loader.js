// Herald widget loader: tiny and revalidated every few minutes, so
// partners get a new widget soon after Herald updates. It loads the
// versioned bundle, which is cached for a year. Herald's origin comes from
// this script's own address, never from the partner's page.
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me || !me.src) return;
  var src = new URL("HERALD_BUNDLE", me.src).href;
  if (document.querySelector('script[src="' + src + '"]')) return;
  var s = document.createElement("script");
  s.src = src;
  s.async = true;
  (document.head || document.documentElement).appendChild(s);
})();
