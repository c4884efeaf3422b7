/*! Where should your state begin? embed widget v2. Paste:
 *  <div data-state-quiz data-partner="SLUG"></div><script src="https://HOST/embed.js" async></script>
 * Options on the div (README, "Embed the quiz"): data-state, data-role, data-title; the look:
 * data-accent, data-font ("inherit" or names), data-radius, data-scheme (light, dark, auto), or
 * the custom properties --statequiz-accent, --statequiz-font, --statequiz-radius and
 * --statequiz-scheme; data-compact, data-hide="whatif,retake", data-share-url, data-ref,
 * data-timeout (ms). The server checks every value and drops what is not valid.
 * Events on the div: statequiz:ready, statequiz:step, statequiz:completed, statequiz:result,
 * statequiz:whatif, statequiz:error {reason} and (kept from v1) statequiz:unavailable. */
(function () {
  "use strict";
  var VERSION = "2";
  var script = document.currentScript;
  if (!script || !window.URL) return;
  var base = new URL(script.src).origin;
  var n = 0;
  var sharedResult = new URLSearchParams(location.search).get("statequiz_result");
  if (!/^[A-Za-z0-9_-]{22}$/.test(sharedResult || "")) sharedResult = null;

  function option(box, name) {
    var value = box.getAttribute("data-" + name);
    if (value === null) value = getComputedStyle(box).getPropertyValue("--statequiz-" + name).trim();
    return value || "";
  }

  function font(box) {
    var value = option(box, "font");
    if (value !== "inherit") return value;
    // The host's own font stack (a frame does not inherit it); the server keeps up to four.
    return getComputedStyle(box).fontFamily.split(",").slice(0, 4).join(",");
  }

  function params(box) {
    var p = new URLSearchParams({ embed: "1", partner: box.getAttribute("data-partner") || "", parent_origin: location.origin });
    ["state", "role", "hide", "ref"].forEach(function (name) {
      var value = box.getAttribute("data-" + name);
      if (value) p.set(name, value);
    });
    ["accent", "radius", "scheme"].forEach(function (name) {
      var value = option(box, name);
      if (value) p.set(name, value);
    });
    var family = font(box);
    if (family) p.set("font", family);
    var compact = box.getAttribute("data-compact");
    if (compact !== null && compact !== "false") p.set("compact", "1");
    var share = box.getAttribute("data-share-url");
    if (share) p.set("share_url", new URL(share, location.href).href);
    return p;
  }

  function init(box) {
    if (box.getAttribute("data-state-quiz-ready")) return;
    box.setAttribute("data-state-quiz-ready", VERSION);
    var query = params(box);
    var frame = document.createElement("iframe");
    // A reader who followed a shared link to this page sees that result here.
    var path = "/quiz";
    if (sharedResult && box.getAttribute("data-share-url")) {
      path = "/results/" + sharedResult;
      sharedResult = null;
    }
    frame.src = base + path + "?" + query.toString();
    frame.title = box.getAttribute("data-title") || "Where should your state begin? A policy quiz";
    frame.id = "statequiz-frame-" + (++n);
    frame.setAttribute("scrolling", "no");
    frame.setAttribute("allow", "clipboard-write"); // "Copy link" inside the frame
    frame.style.cssText = "display:block;width:100%;min-height:480px;border:0;overflow:hidden";
    box.appendChild(frame);

    var spoke = false;
    var note = null;
    function emit(type, detail) {
      box.dispatchEvent(new CustomEvent(type, { detail: detail || {}, bubbles: true }));
    }
    function fail(reason) {
      if (spoke || note) return;
      // In place of a broken frame: a message and a way to the quiz, in the host's own styles.
      note = document.createElement("p");
      note.className = "statequiz-error";
      note.setAttribute("role", "status");
      note.appendChild(document.createTextNode("The quiz could not be loaded here. "));
      var link = document.createElement("a");
      link.href = base + "/quiz";
      link.target = "_blank";
      link.rel = "noopener";
      link.textContent = "Take it on its own site (opens in a new tab)";
      note.appendChild(link);
      frame.style.display = "none";
      box.appendChild(note);
      box.setAttribute("data-state-quiz-error", reason);
      emit("statequiz:error", { reason: reason });
    }
    var timeout = Number(box.getAttribute("data-timeout")) || 15000;
    var loaded = false;
    // Loaded but silent: an error page (the network, or this page's origin not registered).
    frame.addEventListener("load", function () {
      if (loaded) return;
      loaded = true;
      setTimeout(function () { fail("network"); }, 4000);
    });
    setTimeout(function () { fail(loaded ? "network" : "timeout"); }, timeout);

    window.addEventListener("message", function (event) {
      // Only this widget's own frame, from the quiz's own origin.
      if (event.origin !== base || event.source !== frame.contentWindow) return;
      var data = event.data;
      if (!data || typeof data.type !== "string" || data.type.indexOf("statequiz:") !== 0) return;
      spoke = true;
      if (note) { // it answered after all
        note.parentNode.removeChild(note);
        note = null;
        frame.style.display = "block";
        box.removeAttribute("data-state-quiz-error");
      }
      if (data.type === "statequiz:resize") {
        frame.style.height = Math.ceil(Number(data.detail && data.detail.height) || 0) + "px";
        frame.style.minHeight = "0";
        return;
      }
      if (data.type === "statequiz:unavailable") box.setAttribute("data-state-quiz-error", "unavailable");
      if (data.type === "statequiz:completed" && box.getBoundingClientRect().top < 0) box.scrollIntoView();
      emit(data.type, data.detail);
    });
  }

  function scan() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-state-quiz]"), init);
  }
  scan();
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", scan);
})();
