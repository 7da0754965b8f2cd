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
  apply();
})();
