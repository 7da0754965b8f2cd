/* Draws every <div class="tp-chart" data-spec="..."> with the bundled vega-embed.
   Expressions are interpreted (no eval), so the site's Content-Security-Policy holds. */
(function () {
  "use strict";
  if (typeof vegaEmbed !== "function" || typeof vega === "undefined") { return; }
  var options = {
    renderer: "svg",
    actions: false,
    ast: true,
    expr: vega.expressionInterpreter,
    tooltip: { theme: "light" }
  };
  Array.prototype.forEach.call(document.querySelectorAll(".tp-chart[data-spec]"), function (box) {
    var spec;
    try { spec = JSON.parse(box.getAttribute("data-spec")); } catch (e) { return; }
    var target = document.createElement("div");
    target.className = "tp-live";
    box.appendChild(target);
    vegaEmbed(target, spec, options).then(function () {
      box.classList.add("tp-drawn");
    }).catch(function () {
      box.removeChild(target);
    });
  });
})();
