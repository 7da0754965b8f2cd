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

  function writeHash() {
    var pairs = [["q", search.value]];
    filters.forEach(function (f) { pairs.push([f.key, f.element.value]); });
    window.tpHash.write(pairs);
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

  var initial = window.tpHash.read();
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
