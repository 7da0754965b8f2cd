/* Filters the call viewer's rows; the filter is kept in the URL's hash so it can be shared
   (the run page links to #subject=<id> to show the calls of one timepoint or dialog). */
(function () {
  "use strict";
  var table = document.getElementById("tp-calls");
  if (!table) { return; }
  var rows = Array.prototype.filter.call(table.tBodies[0].rows, function (row) {
    return row.classList.contains("tp-call");
  });
  var search = document.getElementById("tp-call-search");
  var count = document.getElementById("tp-call-count");
  var note = document.getElementById("tp-call-subject-note");
  var filters = ["action", "model", "outcome", "subject"].map(function (key) {
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
      var visible = window.tpHash.shows(row, needle, filters);
      row.hidden = !visible;
      var texts = row.nextElementSibling;
      if (texts && texts.classList.contains("tp-call-texts")) { texts.hidden = !visible; }
      if (visible) { shown += 1; }
    });
    count.textContent = shown + " of " + rows.length + " calls";
    writeHash();
  }

  function hasOption(select, value) {
    return Array.prototype.some.call(select.options, function (o) { return o.value === value; });
  }

  var initial = window.tpHash.read();
  if (initial.q) { search.value = initial.q; }
  filters.forEach(function (f) {
    var value = initial[f.key];
    if (!value) { return; }
    if (!hasOption(f.element, value) && f.key === "subject") {
      /* a link to something no recorded call was made for (runs stored before calls kept it) */
      var option = document.createElement("option");
      option.value = value;
      option.textContent = value;
      f.element.appendChild(option);
      note.textContent = "No call of this run is recorded for " + value +
        ": runs stored before calls recorded what they were for show all their calls " +
        "under \u201call subjects\u201d.";
      note.hidden = false;
    }
    if (hasOption(f.element, value)) { f.element.value = value; }
  });
  search.addEventListener("input", apply);
  filters.forEach(function (f) { f.element.addEventListener("change", apply); });
  apply();
})();
