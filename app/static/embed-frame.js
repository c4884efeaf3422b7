// Inside a partner's iframe: tell the partner's page (and only that origin, which the server
// checked against the partner's registered origins) our height and what the respondent did.
// On the page for an unknown partner the origin is unchecked, and all it is told is that.
(function () {
  var origin = document.body.getAttribute("data-parent-origin");
  if (!origin || window.parent === window) return;
  function post(type, detail) {
    window.parent.postMessage({ type: type, detail: detail || {} }, origin);
  }
  var last = 0;
  function resize() {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height !== last) { last = height; post("statequiz:resize", { height: height }); }
  }
  if (window.ResizeObserver) new ResizeObserver(resize).observe(document.documentElement);
  window.addEventListener("load", resize);
  resize();
  document.addEventListener("statequiz-step", function (event) { post("statequiz:step", event.detail); });
  function data(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }
  var unavailable = document.getElementById("statequiz-unavailable");
  var completed = data("statequiz-completed");
  var result = data("statequiz-result");
  var whatif = document.getElementById("whatif-comparison");
  if (unavailable) {
    post("statequiz:unavailable", { reason: "partner" }); // kept for pages written before v2
    post("statequiz:error", { reason: unavailable.getAttribute("data-reason") || "unknown_partner" });
  } else if (document.getElementById("quiz-form")) post("statequiz:ready", {});
  else if (whatif) post("statequiz:whatif", { id: whatif.getAttribute("data-response-id") });
  if (completed) post("statequiz:completed", completed);
  if (result) post("statequiz:result", result);
})();
