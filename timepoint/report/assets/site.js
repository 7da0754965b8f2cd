/* The state of a filtered view (run browser, call viewer) lives in the URL's hash
   (#q=...&scenario=...&sort=cost:desc), so a view can be bookmarked and shared.
   window.tpHash.read() gives the hash as an object; window.tpHash.write(pairs) sets it from
   [key, value] pairs, leaving out empty values, without adding a history entry.
   window.tpHash.shows(row, needle, filters) says whether a table row passes a view's search text
   (matched against its data-text) and its select filters ({key, element}, matched against its
   data-<key>). */
(function () {
  "use strict";

  function read() {
    var state = {};
    window.location.hash.replace(/^#/, "").split("&").forEach(function (pair) {
      var cut = pair.indexOf("=");
      if (cut > 0) {
        try {
          state[decodeURIComponent(pair.slice(0, cut))] = decodeURIComponent(pair.slice(cut + 1));
        } catch (e) { /* a malformed hash is ignored */ }
      }
    });
    return state;
  }

  function write(pairs) {
    var parts = [];
    pairs.forEach(function (pair) {
      if (pair[1]) { parts.push(pair[0] + "=" + encodeURIComponent(pair[1])); }
    });
    var hash = parts.length ? "#" + parts.join("&") : "";
    if (hash !== window.location.hash) {
      window.history.replaceState(null, "", window.location.pathname + window.location.search + hash);
    }
  }

  function shows(row, needle, filters) {
    if (needle && row.dataset.text.indexOf(needle) === -1) { return false; }
    return filters.every(function (f) {
      return !f.element.value || row.dataset[f.key] === f.element.value;
    });
  }

  window.tpHash = { read: read, write: write, shows: shows };
})();

/* Site-wide search over the prebuilt index (assets/search-index.js, which sets
   window.tpSearchIndex): run titles and ids, scenarios, entity names, batches. Offline. */
(function () {
  "use strict";
  var input = document.getElementById("tp-site-search");
  var box = document.getElementById("tp-site-results");
  var entries = window.tpSearchIndex || [];
  if (!input || !box) { return; }
  var root = input.getAttribute("data-root") || "";

  function matches(needle) {
    var words = needle.toLowerCase().split(/\s+/).filter(Boolean);
    return entries.filter(function (entry) {
      return words.every(function (w) { return entry.text.indexOf(w) !== -1; });
    }).slice(0, 12);
  }

  function show() {
    var needle = input.value.trim();
    while (box.firstChild) { box.removeChild(box.firstChild); }
    if (!needle) { box.hidden = true; return; }
    var found = matches(needle);
    if (!found.length) {
      var none = document.createElement("span");
      none.className = "tp-none";
      none.textContent = "nothing found";
      box.appendChild(none);
    }
    found.forEach(function (entry) {
      var a = document.createElement("a");
      a.href = root + entry.href;
      a.textContent = entry.title;
      var detail = document.createElement("small");
      detail.textContent = entry.detail;
      a.appendChild(detail);
      box.appendChild(a);
    });
    box.hidden = false;
  }

  input.addEventListener("input", show);
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      var first = box.querySelector("a");
      if (first) { window.location.href = first.href; }
    } else if (event.key === "Escape") {
      input.value = "";
      show();
    }
  });
})();
