/* The run browser: searches, filters and sorts the index's rows. It is inlined in the page
   before the site's scripts, so it starts once the page is parsed (site.js has run by then). */
(function () {
  "use strict";
  function start() {
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
    var numeric = { cost: true, duration: true, tokens: true, seed: true };

    /* The view's state lives in the URL's hash (window.tpHash, from site.js). */
    function writeHash() {
      var pairs = [["q", search.value]];
      filters.forEach(function (f) { pairs.push([f.key, f.element.value]); });
      if (sortSelect.value !== sortSelect.options[0].value) { pairs.push(["sort", sortSelect.value]); }
      window.tpHash.write(pairs);
    }

    function choose(select, value) {
      var known = Array.prototype.some.call(select.options, function (o) { return o.value === value; });
      if (known) { select.value = value; }
    }

    function apply() {
      var needle = search.value.trim().toLowerCase();
      var shown = 0;
      rows.forEach(function (row) {
        var visible = window.tpHash.shows(row, needle, filters);
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
    var initial = window.tpHash.read();
    if (initial.q) { search.value = initial.q; }
    filters.forEach(function (f) { if (initial[f.key]) { choose(f.element, initial[f.key]); } });
    if (initial.sort) {
      choose(sortSelect, initial.sort);
      var order = sortSelect.value.split(":");
      sortBy(order[0], order[1]);
    }
    apply();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
