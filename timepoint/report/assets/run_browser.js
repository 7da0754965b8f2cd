(function () {
  "use strict";
  var table = document.getElementById("tp-runs");
  if (!table) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var search = document.getElementById("tp-search");
  var filters = ["scenario", "mode", "status"].map(function (key) {
    return { key: key, element: document.getElementById("tp-" + key) };
  });
  var sortSelect = document.getElementById("tp-sort");
  var count = document.getElementById("tp-count");
  var numeric = { cost: true, duration: true, tokens: true };

  /* The view's state lives in the URL's hash (#q=...&scenario=...&sort=cost:desc), so a
     filtered view can be bookmarked and shared. */
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
    if (sortSelect.value !== sortSelect.options[0].value) {
      parts.push("sort=" + encodeURIComponent(sortSelect.value));
    }
    var hash = parts.length ? "#" + parts.join("&") : "";
    if (hash !== window.location.hash) {
      window.history.replaceState(null, "", window.location.pathname + window.location.search + hash);
    }
  }

  function choose(select, value) {
    var known = Array.prototype.some.call(select.options, function (o) { return o.value === value; });
    if (known) { select.value = value; }
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
    count.textContent = shown + " of " + rows.length + " runs";
    writeHash();
  }

  function sortBy(key, direction) {
    var sign = direction === "asc" ? 1 : -1;
    rows.sort(function (a, b) {
      var x = a.dataset[key], y = b.dataset[key];
      if (numeric[key]) { x = parseFloat(x) || 0; y = parseFloat(y) || 0; }
      return x < y ? -sign : x > y ? sign : 0;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  search.addEventListener("input", apply);
  filters.forEach(function (f) { f.element.addEventListener("change", apply); });
  sortSelect.addEventListener("change", function () {
    var parts = sortSelect.value.split(":");
    sortBy(parts[0], parts[1]);
    writeHash();
  });
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) {
    var key = cell.dataset.key;
    if (!key) { return; }
    cell.addEventListener("click", function () {
      var direction = cell.dataset.direction === "asc" ? "desc" : "asc";
      cell.dataset.direction = direction;
      sortBy(key, direction);
    });
  });
  var initial = readHash();
  if (initial.q) { search.value = initial.q; }
  filters.forEach(function (f) { if (initial[f.key]) { choose(f.element, initial[f.key]); } });
  if (initial.sort) {
    choose(sortSelect, initial.sort);
    var order = sortSelect.value.split(":");
    sortBy(order[0], order[1]);
  }
  apply();
})();
