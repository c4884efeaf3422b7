/*! Where should your state begin? embed widget v1. Paste:
 *  <div data-state-quiz data-partner="SLUG"></div><script src="https://HOST/embed.js" async></script>
 * Optional: data-state="OH" data-role="state-agency". Events on the div: statequiz:ready,
 * statequiz:step, statequiz:completed (detail: {id, result_url, stages, top}), and
 * statequiz:unavailable when the quiz cannot be embedded for this data-partner (mistyped or
 * revoked: the frame then shows why, and the div gets data-state-quiz-error="unavailable"). */
(function () {
  "use strict";
  var VERSION = "1";
  var script = document.currentScript;
  if (!script || !window.URL) return;
  var base = new URL(script.src).origin;
  var n = 0;

  function init(box) {
    if (box.getAttribute("data-state-quiz-ready")) return;
    box.setAttribute("data-state-quiz-ready", VERSION);
    var params = new URLSearchParams({ embed: "1", partner: box.getAttribute("data-partner") || "", parent_origin: location.origin });
    ["state", "role"].forEach(function (name) {
      var value = box.getAttribute("data-" + name);
      if (value) params.set(name, value);
    });
    var frame = document.createElement("iframe");
    frame.src = base + "/quiz?" + params.toString();
    frame.title = box.getAttribute("data-title") || "Where should your state begin? A policy quiz";
    frame.id = "statequiz-frame-" + (++n);
    frame.setAttribute("scrolling", "no");
    frame.style.cssText = "display:block;width:100%;min-height:480px;border:0;overflow:hidden";
    box.appendChild(frame);
    window.addEventListener("message", function (event) {
      // Only this widget's own frame, from the quiz's own origin.
      if (event.origin !== base || event.source !== frame.contentWindow) return;
      var data = event.data;
      if (!data || typeof data.type !== "string" || data.type.indexOf("statequiz:") !== 0) return;
      if (data.type === "statequiz:resize") {
        frame.style.height = Math.ceil(Number(data.detail && data.detail.height) || 0) + "px";
        frame.style.minHeight = "0";
        return;
      }
      if (data.type === "statequiz:unavailable") box.setAttribute("data-state-quiz-error", "unavailable");
      if (data.type === "statequiz:completed" || data.type === "statequiz:ready") {
        var top = box.getBoundingClientRect().top;
        if (top < 0 && data.type === "statequiz:completed") box.scrollIntoView();
      }
      box.dispatchEvent(new CustomEvent(data.type, { detail: data.detail || {}, bubbles: true }));
    });
  }

  function scan() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-state-quiz]"), init);
  }
  scan();
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", scan);
})();
