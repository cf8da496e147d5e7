// Herald news widget. Renders every element with data-herald-feed into an
// open shadow root, so neither the partner's CSS nor ours crosses over.
// No dependencies, no eval, no innerHTML: feed text is set with
// textContent, links and images are checked to be http(s). Styles are a
// constructed stylesheet (adoptedStyleSheets), which a partner's strict
// style-src allows. The last good data of each feed URL is kept in
// localStorage and shown when Herald cannot be reached.
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me || !me.src) return;
  // Herald's origin is where this script came from, not the partner page.
  var origin = new URL(me.src).origin;
  var CSS = HERALD_CSS;
  // The catalogues' widget messages by language (templates/locales).
  var I18N = HERALD_I18N;
  function tr(lang, k) {
    var b = String(lang).toLowerCase().split("-")[0];
    if (b === "no" || b === "nn") b = "nb";
    var en = I18N.en || {}, m = I18N[b] || en;
    return m[k] || en[k] || k;
  }
  var sheet = null;
  var KEEP = ["id", "url", "title", "summary", "image", "date_published"];

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }

  // safeURL returns u resolved against Herald when it is http(s), else "".
  function safeURL(u) {
    if (typeof u !== "string" || !u) return "";
    try {
      var p = new URL(u, origin);
      return p.protocol === "https:" || p.protocol === "http:" ? p.href : "";
    } catch (e) {
      return "";
    }
  }

  function options(host) {
    var d = host.dataset;
    var n = parseInt(d.limit, 10);
    return {
      tags: (d.tags || "").split(",").map(function (t) { return t.trim(); }).filter(Boolean).join(","),
      limit: n > 0 ? Math.min(n, 100) : 5,
      layout: d.layout === "cards" ? "cards" : "list",
      theme: /^(light|dark|auto)$/.test(d.theme || "") ? d.theme : "auto",
      lang: d.lang || document.documentElement.lang || navigator.language || "en",
      images: d.images !== "off",
      summaries: d.summaries !== "off",
      subscribe: d.subscribe === "on",
      newsletters: (d.newsletters || "").split(",").map(function (t) { return t.trim(); }).filter(Boolean)
    };
  }

  // dateLocale is dateLocale in internal/web/embed.go: for the languages
  // the iframe knows, the widget asks Intl for the locale the iframe
  // writes, so both show one date alike; others go to Intl as they are.
  var EN_MONTH_FIRST = ["", "us", "ca", "ph", "as", "gu", "mh", "mp", "pr", "um", "vi"];
  function dateLocale(lang) {
    var parts = String(lang).toLowerCase().split("-"), base = parts[0];
    if (base === "nb" || base === "no" || base === "nn") return "nb";
    if (/^(sv|da|fi|de|nl|fr)$/.test(base)) return base;
    if (base !== "en") return lang;
    var region = "";
    for (var i = 1; i < parts.length; i++) {
      if (parts[i].length === 4) continue;
      if (/^([a-z0-9]{2}|[0-9][a-z0-9]{2})$/.test(parts[i])) region = parts[i];
      break;
    }
    return EN_MONTH_FIRST.indexOf(region) >= 0 ? "en" : "en-GB";
  }

  // The month as the catalogue writes it: a name, or a number (Finnish).
  function dateFormat(lang) {
    var o = { year: "numeric", month: tr(lang, "date.month") === "numeric" ? "numeric" : "long", day: "numeric" };
    try {
      return new Intl.DateTimeFormat(dateLocale(lang), o);
    } catch (e) {
      return new Intl.DateTimeFormat("en", o);
    }
  }

  function adopt(root) {
    if (root.adoptedStyleSheets !== undefined && typeof CSSStyleSheet === "function") {
      try {
        if (!sheet) {
          sheet = new CSSStyleSheet();
          sheet.replaceSync(CSS);
        }
        root.adoptedStyleSheets = [sheet];
        return;
      } catch (e) {}
    }
    // Older browsers: a style element (needs style-src to allow it).
    root.appendChild(el("style", "", CSS));
  }

  function subscribeForm(o, lang) {
    var f = el("form", "subscribe");
    var id = "herald-email-" + Math.random().toString(36).slice(2);
    var label = el("label", "", tr(lang, "widget.label"));
    label.htmlFor = id;
    var row = el("div", "row");
    var input = el("input");
    input.type = "email";
    input.name = "email";
    input.id = id;
    input.required = true;
    input.autocomplete = "email";
    input.placeholder = "you@example.org";
    var hp = el("input", "hp");
    hp.name = "HONEYPOT";
    hp.tabIndex = -1;
    hp.autocomplete = "off";
    hp.setAttribute("aria-hidden", "true");
    var button = el("button", "", tr(lang, "subscribe.button"));
    button.type = "submit";
    var msg = el("p", "msg");
    msg.setAttribute("role", "status");
    msg.setAttribute("aria-live", "polite");
    row.append(input, button);
    f.append(label, row, hp, msg);
    f.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var body = { email: input.value, newsletters: o.newsletters, tags: o.tags ? o.tags.split(",") : [], language: lang };
      body.HONEYPOT = hp.value;
      button.disabled = true;
      msg.textContent = "…";
      fetch(origin + "/subscribe", {
        method: "POST", body: JSON.stringify(body), credentials: "omit",
        headers: { "Content-Type": "application/json", Accept: "application/json", "Accept-Language": lang }
      }).then(function (r) {
        return r.json().then(function (j) { return { ok: r.ok, j: j || {} }; });
      }).then(function (res) {
        var text = res.j.message || res.j.error;
        msg.textContent = typeof text === "string" && text ? text :
          res.ok ? tr(lang, "widget.thanks") : tr(lang, "widget.check");
        if (res.ok) input.value = "";
      }).catch(function () {
        msg.textContent = tr(lang, "widget.failed");
      }).then(function () { button.disabled = false; });
    });
    f.lang = lang;
    return f;
  }

  function render(host, o, items, state) {
    var root = host.shadowRoot;
    if (!root) {
      root = host.attachShadow({ mode: "open" });
      adopt(root);
    }
    Array.prototype.slice.call(root.childNodes).forEach(function (n) {
      if (n.nodeName !== "STYLE") root.removeChild(n);
    });
    var wrap = el("div", "herald " + o.layout);
    wrap.setAttribute("data-theme", o.theme);
    wrap.lang = o.lang;
    var fmt = dateFormat(o.lang);
    var list = el("ul", "items");
    items.slice(0, o.limit).forEach(function (it) {
      if (!it || typeof it.title !== "string") return;
      var li = el("li", "item");
      var img = o.images && safeURL(it.image);
      // Only images Herald serves: no request to anyone else.
      if (img && new URL(img).origin === origin) {
        var im = el("img", "image");
        im.src = img;
        im.alt = "";
        im.loading = "lazy";
        im.decoding = "async";
        im.addEventListener("error", function () { im.remove(); });
        li.appendChild(im);
      }
      var href = safeURL(it.url);
      var a = el(href ? "a" : "span", "title", it.title);
      if (href) a.href = href;
      li.appendChild(a);
      var d = new Date(it.date_published);
      if (!isNaN(d)) {
        var t = el("time", "date", fmt.format(d));
        t.dateTime = d.toISOString();
        li.appendChild(t);
      }
      if (o.summaries && typeof it.summary === "string" && it.summary) {
        li.appendChild(el("p", "summary", it.summary));
      }
      list.appendChild(li);
    });
    if (list.firstChild) wrap.appendChild(list);
    else wrap.appendChild(el("p", "empty", tr(o.lang, "embed.empty")));
    if (o.subscribe) wrap.appendChild(subscribeForm(o, o.lang));
    root.appendChild(wrap);
    host.setAttribute("data-herald-state", state);
  }

  function load(key) {
    try {
      var v = JSON.parse(localStorage.getItem(key) || "null");
      return v && Array.isArray(v.items) ? v.items : null;
    } catch (e) {
      return null;
    }
  }

  function save(key, items) {
    try {
      localStorage.setItem(key, JSON.stringify({ saved: Date.now(), items: items }));
    } catch (e) {}
  }

  function start(host) {
    if (host.shadowRoot || host.hasAttribute("data-herald-state")) return;
    host.setAttribute("data-herald-state", "loading");
    var o = options(host);
    var url = origin + "/feed.json?" + (o.tags ? "tags=" + encodeURIComponent(o.tags) + "&" : "") + "limit=" + o.limit;
    var key = "herald:" + url;
    var cached = load(key);
    fetch(url, { credentials: "omit", headers: { Accept: "application/feed+json, application/json" } }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    }).then(function (feed) {
      if (!feed || !Array.isArray(feed.items)) throw new Error("not a JSON Feed");
      var items = feed.items.map(function (it) {
        var k = {};
        KEEP.forEach(function (f) { if (it && typeof it[f] === "string") k[f] = it[f]; });
        return k;
      });
      save(key, items);
      render(host, o, items, "live");
    }).catch(function (err) {
      if (cached) {
        render(host, o, cached, "cached");
      } else {
        // Nothing to show: no error text on a partner's page.
        host.setAttribute("data-herald-state", "unavailable");
        console.warn("Herald widget: " + url + " is unavailable (" + err.message + ")");
      }
    });
  }

  function scan(node) {
    if (node.nodeType !== 1) return;
    if (node.hasAttribute("data-herald-feed")) start(node);
    Array.prototype.forEach.call(node.querySelectorAll("[data-herald-feed]"), start);
  }

  function init() {
    scan(document.documentElement);
    // Widgets added later (single-page sites, the builder's preview).
    new MutationObserver(function (records) {
      records.forEach(function (r) { Array.prototype.forEach.call(r.addedNodes, scan); });
    }).observe(document.documentElement, { childList: true, subtree: true });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
