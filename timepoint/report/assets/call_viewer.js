/* Filters the call viewer's rows; the filter is kept in the URL's hash so it can be shared. */
(function () {
  "use strict";
  var table = document.getElementById("tp-calls");
  if (!table) { return; }
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);
  var search = document.getElementById("tp-call-search");
  var count = document.getElementById("tp-call-count");
  var filters = ["action", "model", "outcome"].map(function (key) {
    return { key: key, element: document.getElementById("tp-call-" + key) };
  });

  function readHash() {
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

  function writeHash() {
    var parts = [];
    if (search.value) { parts.push("q=" + encodeURIComponent(search.value)); }
    filters.forEach(function (f) {
      if (f.element.value) { parts.push(f.key + "=" + encodeURIComponent(f.element.value)); }
    });
    var hash = parts.length ? "#" + parts.join("&") : "";
    if (hash !== window.location.hash) {
      window.history.replaceState(null, "", window.location.pathname + window.location.search + hash);
    }
  }

  function apply() {
    var needle = search.value.trim().toLowerCase();
    var shown = 0;
    rows.forEach(function (row) {
      var visible = !needle || row.dataset.text.indexOf(needle) !== -1;
      filters.forEach(function (f) {
        if (f.element.value && row.dataset[f.key] !== f.element.value) { visible = false; }
      });
      row.hidden = !visible;
      if (visible) { shown += 1; }
    });
    count.textContent = shown + " of " + rows.length + " calls";
    writeHash();
  }

  var initial = readHash();
  if (initial.q) { search.value = initial.q; }
  filters.forEach(function (f) {
    var value = initial[f.key];
    if (value && Array.prototype.some.call(f.element.options, function (o) { return o.value === value; })) {
      f.element.value = value;
    }
  });
  search.addEventListener("input", apply);
  filters.forEach(function (f) { f.element.addEventListener("change", apply); });
  apply();
})();
